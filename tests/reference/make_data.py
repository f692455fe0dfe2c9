#!/usr/bin/env python3
"""Deterministic synthetic OHLCV generator for btl's reference fixtures.

Writes daily bars as CSV with header ``date,open,high,low,close,volume``:

* dates: ISO ``YYYY-MM-DD``, Monday-Friday business days starting 1980-01-02
  (no holiday calendar),
* prices: 4 decimals, a geometric random walk on the close starting at 100
  with ~1.5% daily volatility and drift regimes (random length 30-250 bars,
  random annualised drift) so that moving-average crossovers actually trade.
  A weak pull of the log price towards log(100) keeps the series roughly in
  the 20..600 range over 12,000 bars, so that 100 shares always fit into the
  backtrader test's 100,000 cash (no margin rejections from price level alone),
* open = previous close times a small gap (sd 0.3%); the very first open is 100,
* high >= max(open, close), low <= min(open, close), low > 0,
* volume: positive integer.

Only Python's ``random.Random`` is used, and only its ``random()`` method,
whose output for a given seed is guaranteed stable across Python versions;
normal deviates are made here with Box-Muller. Output is therefore byte-for-
byte reproducible independent of numpy / Python version.

Usage (from the repo root):
    python3 tests/reference/make_data.py
which (re)writes tests/data/ohlcv_500.csv and tests/data/ohlcv_12000.csv.
"""

import datetime
import math
import os
import random

SEED = 20240601
START_DATE = datetime.date(1980, 1, 2)
START_PRICE = 100.0
DAILY_VOL = 0.015


class Rng:
    def __init__(self, seed):
        self._r = random.Random(seed)
        self._spare = None

    def uniform(self):
        return self._r.random()

    def normal(self):
        # Box-Muller on random() only (stable across Python versions).
        if self._spare is not None:
            z, self._spare = self._spare, None
            return z
        u1 = self._r.random()
        while u1 <= 1e-300:
            u1 = self._r.random()
        u2 = self._r.random()
        rad = math.sqrt(-2.0 * math.log(u1))
        self._spare = rad * math.sin(2.0 * math.pi * u2)
        return rad * math.cos(2.0 * math.pi * u2)


def business_days(start, n):
    d = start
    out = []
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d += datetime.timedelta(days=1)
    return out


def generate(n, seed=SEED):
    rng = Rng(seed)
    dates = business_days(START_DATE, n)
    rows = []
    log_p = math.log(START_PRICE)
    prev_close = START_PRICE
    regime_left = 0
    drift = 0.0
    for i in range(n):
        if regime_left <= 0:
            regime_left = 30 + int(rng.uniform() * 220)
            # annualised drift between roughly -60% and +60%
            drift = (rng.uniform() * 2.0 - 1.0) * 0.6 / 252.0
        regime_left -= 1
        # weak mean reversion of the log price towards log(100)
        pull = -0.002 * (log_p - math.log(START_PRICE))
        ret = drift + pull + DAILY_VOL * rng.normal()
        log_p += ret
        close = round(math.exp(log_p), 4)

        if i == 0:
            open_ = START_PRICE
        else:
            open_ = round(prev_close * math.exp(0.003 * rng.normal()), 4)
        top = max(open_, close)
        bot = min(open_, close)
        high = round(top * math.exp(abs(0.006 * rng.normal())), 4)
        low = round(bot * math.exp(-abs(0.006 * rng.normal())), 4)
        # rounding is monotonic so these hold already; keep them explicit
        high = max(high, top)
        low = min(low, bot)
        assert low > 0.0
        volume = int(1_000_000 * math.exp(0.4 * rng.normal()) * (1.0 + 20.0 * abs(ret)))
        volume = max(volume, 1)
        rows.append((dates[i].isoformat(), open_, high, low, close, volume))
        prev_close = close
    return rows


def write_csv(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="\n") as f:
        f.write("date,open,high,low,close,volume\n")
        for d, o, h, l, c, v in rows:
            f.write(f"{d},{o:.4f},{h:.4f},{l:.4f},{c:.4f},{v}\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    data_dir = os.path.normpath(os.path.join(here, "..", "data"))
    # The 500-bar file is the first 500 bars of the same stream.
    rows = generate(12000)
    write_csv(os.path.join(data_dir, "ohlcv_500.csv"), rows[:500])
    write_csv(os.path.join(data_dir, "ohlcv_12000.csv"), rows)
    closes = [r[4] for r in rows]
    print(f"wrote {data_dir}/ohlcv_500.csv and ohlcv_12000.csv; "
          f"close range {min(closes):.4f}..{max(closes):.4f}, last date {rows[-1][0]}")


if __name__ == "__main__":
    main()
