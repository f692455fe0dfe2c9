#!/usr/bin/env python3
"""Deterministic OHLCV CSV for the parameter-sweep benchmark.

Usage: gen_bars.py N OUT.csv [SEED]

Writes N daily bars with the header ``date,open,high,low,close,volume`` (the format of
examples/data/prices.csv and tests/data/*.csv, which ``btl run --data`` reads): Monday-Friday
ISO dates from 1980-01-02, 4-decimal prices, integer volume.

The bars come from tests/reference/make_data.py (standard library only, byte-for-byte
reproducible): a geometric random walk with drift regimes and a weak pull towards 100, so
100 shares always fit into 100,000 cash and no order is ever rejected for cash, which keeps
btl, backtrader and vectorbt comparable. With the default seed the first 12,000 rows are
exactly tests/data/ohlcv_12000.csv.

bench/btl_bench.rs's own 1M-bar walk (xorshift, floor at 1.0, not mean-reverting) is not
used here: over 1M bars it can drift to prices where 100 shares no longer fit into the cash,
and the three tools reject (btl, backtrader) or shrink (vectorbt, allow_partial) such orders
differently.

1,000,000 business days run to the year ~5813. That is fine for btl and Python's datetime;
pandas' datetime64[ns] stops at 2262, so bench/sweep/vectorbt_sweep.py does not parse the
dates (it only needs the bar order).
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "..", "tests", "reference")))

import make_data  # noqa: E402


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    n = int(sys.argv[1])
    out = sys.argv[2]
    seed = int(sys.argv[3]) if len(sys.argv) == 4 else make_data.SEED
    t0 = time.perf_counter()
    rows = make_data.generate(n, seed)
    with open(out, "w", newline="\n") as f:
        f.write("date,open,high,low,close,volume\n")
        f.writelines(f"{d},{o:.4f},{h:.4f},{l:.4f},{c:.4f},{v}\n" for d, o, h, l, c, v in rows)
    closes = [r[4] for r in rows]
    print(f"wrote {out}: {n} bars, seed {seed}, close {min(closes):.4f}..{max(closes):.4f}, "
          f"last date {rows[-1][0]}, {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
