#!/usr/bin/env python3
"""SMA-cross parameter sweep in backtrader (cerebro.optstrategy), the peer of
`btl sweep examples/sma_cross.btl`.

Pinned: backtrader==1.9.78.123, Python 3.11. Setup: see bench/sweep/README.md.

Usage: backtrader_opt.py CSV FAST_LIST SLOW_LIST OUT.json

  CSV        date,open,high,low,close,volume with YYYY-MM-DD dates
  FAST_LIST  "A..B" (inclusive), "A..B:STEP" (inclusive) or "a,b,c"; SLOW_LIST the same;
             every FAST x SLOW pair is run

The strategy is tests/reference/backtrader_sma_cross.py's SmaCross (imported, not copied):
buy 100 at the next bar's open when flat and SMA(fast) crosses above SMA(slow), close at the
next open on the cross below; cash 100,000, commission 0.1% of traded value, default
checksubmit. One process (maxcpus=1), data preloaded once and shared by every run
(optdatas=True, backtrader's default).

Output JSON: results: [{fast, slow, final_value, trades, open_trades, rejected, seconds}]
(trades = closed trades; seconds = wall time of that combination, from the end of the
previous one, so the first one also carries the one-off CSV load), bars, combinations,
total_s (cerebro.run), per_combination_s (total_s / combinations), total_cpu_s (its process
CPU time), loadavg_1min (the machine's load at the end: other work inflates wall times),
peak_rss_kib, versions.
"""

import itertools
import json
import os
import resource
import sys
import time

import backtrader as bt

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "..", "tests", "reference")))

from backtrader_sma_cross import SmaCross  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from windows import parse_list  # noqa: E402

RESULTS = []




class SweepSmaCross(SmaCross):
    def stop(self):
        RESULTS.append({
            "fast": self.p.fast,
            "slow": self.p.slow,
            "final_value": self.broker.getvalue(),
            "trades": len(self.closed_trades),
            "open_trades": 1 if self.position.size else 0,
            "rejected": self.rejected_orders,
            "bars": len(self.data),
        })


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    csv, fast_s, slow_s, out = sys.argv[1:]
    fast, slow = parse_list(fast_s), parse_list(slow_s)

    cerebro = bt.Cerebro(stdstats=False, maxcpus=1)
    cerebro.adddata(bt.feeds.GenericCSVData(
        dataname=csv,
        dtformat="%Y-%m-%d",
        datetime=0, open=1, high=2, low=3, close=4, volume=5,
        openinterest=-1,
        timeframe=bt.TimeFrame.Days,
    ))
    cerebro.optstrategy(SweepSmaCross, fast=fast, slow=slow)
    cerebro.broker.setcash(100000.0)
    cerebro.broker.setcommission(commission=0.001)

    marks = []
    cerebro.optcallback(lambda strats: marks.append(time.perf_counter()))
    t0, c0 = time.perf_counter(), time.process_time()
    cerebro.run()
    total_s = time.perf_counter() - t0
    total_cpu_s = time.process_time() - c0

    prev = t0
    for r, m in zip(RESULTS, marks):
        r["seconds"] = round(m - prev, 4)
        prev = m
    assert len(RESULTS) == len(fast) * len(slow)
    bars = RESULTS[0].pop("bars")
    for r in RESULTS[1:]:
        assert r.pop("bars") == bars
    order = {p: i for i, p in enumerate(itertools.product(fast, slow))}
    RESULTS.sort(key=lambda r: order[(r["fast"], r["slow"])])

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {
        "tool": "backtrader",
        "csv": csv,
        "bars": bars,
        "fast": fast,
        "slow": slow,
        "combinations": len(RESULTS),
        "total_s": round(total_s, 3),
        "per_combination_s": round(total_s / len(RESULTS), 4),
        "total_cpu_s": round(total_cpu_s, 3),
        "loadavg_1min": os.getloadavg()[0],
        "peak_rss_kib": peak,
        "versions": {"backtrader": bt.__version__, "python": sys.version.split()[0]},
        "results": RESULTS,
    }
    with open(out, "w") as fh:
        json.dump(result, fh, indent=1)
        fh.write("\n")
    print(f"backtrader {bt.__version__}: {bars} bars x {len(RESULTS)} combinations: "
          f"{total_s:.2f} s, {total_s / len(RESULTS):.3f} s per combination, "
          f"peak RSS {peak / 1024:.0f} MiB -> {out}")


if __name__ == "__main__":
    main()
