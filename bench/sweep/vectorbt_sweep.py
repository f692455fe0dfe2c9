#!/usr/bin/env python3
"""SMA-cross parameter sweep in vectorbt, the peer of `btl sweep examples/sma_cross.btl`.

Pinned: vectorbt==1.2.0 (numba 0.68.1, numpy 2.4.6, pandas 3.1.1), Python 3.11. Setup: see
bench/sweep/README.md. Engine: numba (vectorbt's default) unless VBT_ENGINE=rust (needs
vectorbt-rust==1.2.0) or VBT_ENGINE=auto (rust where vectorbt-rust is installed and supports
the call).

Usage: vectorbt_sweep.py CSV FAST_LIST SLOW_LIST OUT.json

  CSV        date,open,high,low,close,volume (bench/sweep/gen_bars.py, examples/data/prices.csv)
  FAST_LIST  window list: "A..B" (inclusive, step 1), "A..B:STEP" (inclusive), or "a,b,c"
  SLOW_LIST  same; every FAST x SLOW pair is run (also pairs with fast >= slow, if any)

Semantics (those of examples/sma_cross.btl and tests/reference/backtrader_sma_cross.py):
  fast = SMA(close, f), slow = SMA(close, s)
  entry signal on bar i: fast crosses above slow; exit signal: fast crosses below slow
  (vbt.MA's ma_crossed_above / ma_crossed_below)
  the signal fills at bar i+1's open: both signal arrays are shifted one bar forward and
  price=open (a signal on the last bar never fills)
  long only, 100 units, an entry only when flat and an exit only when long (from_signals'
  defaults: accumulate=False, direction='longonly'), fees=0.001 of traded value on both
  sides, init_cash=100000, allow_partial=False (an order that does not fit is rejected, as
  in backtrader and btl, instead of being shrunk)
  final_value = cash + position * last close (an open position is marked to market).

Output JSON:
  results: [{fast, slow, final_value, trades, open_trades}], trades = closed trades
  bars, combinations, load_s (CSV read), warmup_s (numba JIT / cache load: the
  same grid on the first max(2000, 4 * max slow) bars),
  compute_s (MA + signals + Portfolio.from_signals + final_value + trade counts: the timed
  part; compute_cpu_s is its process CPU time, user + system), loadavg_1min (the machine's
  load when it ended: other work inflates wall times), total_s (whole process so far), peak_rss_kib (ru_maxrss of the process, KiB),
  versions.
  On a MemoryError (e.g. under `ulimit -v`) it writes {error, failed_after_s, warmup_s,
  peak_rss_kib, ...} instead and exits non-zero.
"""

import itertools
import json
import os
import resource
import sys
import time

T_PROCESS = time.perf_counter()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import vectorbt as vbt  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from windows import parse_list  # noqa: E402

ENGINE = os.environ.get("VBT_ENGINE", "numba")
vbt.settings["engine"] = ENGINE

QTY = 100
FEES = 0.001
CASH = 100_000.0




def sweep(open_, close, fast, slow):
    pairs = list(itertools.product(fast, slow))
    fast_w = [f for f, _ in pairs]
    slow_w = [s for _, s in pairs]
    # one column per pair; run_unique computes each distinct window once
    fast_ma = vbt.MA.run(close, window=fast_w, short_name="fast", run_unique=True)
    slow_ma = vbt.MA.run(close, window=slow_w, short_name="slow", run_unique=True)
    entries = fast_ma.ma_crossed_above(slow_ma)
    exits = fast_ma.ma_crossed_below(slow_ma)
    # a signal on bar i is an order filled at bar i+1's open
    entries = entries.shift(1, fill_value=False)
    exits = exits.shift(1, fill_value=False)
    pf = vbt.Portfolio.from_signals(
        close,
        entries,
        exits,
        size=QTY,
        price=open_,
        fees=FEES,
        init_cash=CASH,
        allow_partial=False,
        direction="longonly",
        accumulate=False,
    )
    final = pf.final_value()
    trades = pf.trades
    closed = trades.closed.count()
    opened = trades.open.count()
    # (a single combination comes back as scalars)
    return pairs, *(np.atleast_1d(np.asarray(x)) for x in (final, closed, opened))


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    csv, fast_s, slow_s, out = sys.argv[1:]
    fast, slow = parse_list(fast_s), parse_list(slow_s)

    t0 = time.perf_counter()
    df = pd.read_csv(csv, usecols=["open", "close"], dtype={"open": np.float64, "close": np.float64})
    open_ = df["open"]
    close = df["close"]
    load_s = time.perf_counter() - t0

    # JIT-compile (or load numba's on-disk cache) outside the timed part: the same grid on a
    # short prefix, so that numba sees the same array types and layouts as in the timed run
    t0 = time.perf_counter()
    w = min(len(close), max(2_000, max(slow) * 4))
    sweep(open_.iloc[:w], close.iloc[:w], fast, slow)
    warmup_s = time.perf_counter() - t0

    t0, c0 = time.perf_counter(), time.process_time()
    try:
        pairs, final, closed, opened = sweep(open_, close, fast, slow)
    except MemoryError as e:  # numpy's _ArrayMemoryError is one; e.g. under `ulimit -v`
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with open(out, "w") as fh:
            json.dump({"tool": "vectorbt", "csv": csv, "bars": len(close), "fast": fast, "slow": slow,
                       "combinations": len(fast) * len(slow), "error": f"MemoryError: {e}",
                       "failed_after_s": round(time.perf_counter() - t0, 3),
                       "warmup_s": round(warmup_s, 3), "peak_rss_kib": peak}, fh, indent=1)
            fh.write("\n")
        sys.exit(f"vectorbt: out of memory after {time.perf_counter() - t0:.1f} s "
                 f"(peak RSS {peak / 1024:.0f} MiB): {e}")
    compute_s = time.perf_counter() - t0
    compute_cpu_s = time.process_time() - c0

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {
        "tool": "vectorbt",
        "csv": csv,
        "bars": len(close),
        "fast": fast,
        "slow": slow,
        "combinations": len(pairs),
        "load_s": round(load_s, 3),
        "warmup_s": round(warmup_s, 3),
        "compute_s": round(compute_s, 3),
        "compute_cpu_s": round(compute_cpu_s, 3),
        "loadavg_1min": os.getloadavg()[0],
        "total_s": round(time.perf_counter() - T_PROCESS, 3),
        "peak_rss_kib": peak,
        "engine": ENGINE,
        "versions": {"vectorbt": vbt.__version__, "numpy": np.__version__, "pandas": pd.__version__,
                     "python": sys.version.split()[0]},
        "results": [
            {"fast": f, "slow": s, "final_value": float(v), "trades": int(c), "open_trades": int(o)}
            for (f, s), v, c, o in zip(pairs, final, closed, opened)
        ],
    }
    with open(out, "w") as fh:
        json.dump(result, fh, indent=1)
        fh.write("\n")
    print(f"vectorbt {vbt.__version__} ({ENGINE}): {len(close)} bars x {len(pairs)} combinations: "
          f"compute {compute_s:.2f} s (load {load_s:.2f} s, warm-up {warmup_s:.2f} s), "
          f"peak RSS {peak / 1024:.0f} MiB -> {out}")


if __name__ == "__main__":
    main()
