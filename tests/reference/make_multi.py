#!/usr/bin/env python3
"""Deterministic synthetic data for btl's multi-feed fixtures (tests/data/multi/).

Writes, from a fixed seed:

* ``minute.csv``: 1-minute bars of a US stock's regular session, 09:30..15:59
  (390 bars a day) in America/New_York LOCAL time, written as naive local
  timestamps ``2024-03-01 09:30:00``; header ``datetime,open,high,low,close,volume``.
  Weekdays 2024-02-26 .. 2024-03-29 (so the US DST change of Sunday 2024-03-10
  lies inside: 09:30 local is 14:30 UTC before it and 13:30 UTC after it),
  except the "holiday" 2024-03-13 (missing); 2024-03-15 is a half day (09:30..12:59,
  210 bars). 24 trading days, 9,180 bars. The close follows a geometric random
  walk whose per-minute drift is a slowly varying AR(1) process (so SMA(10)/SMA(30)
  crossings come in runs of a few dozen to a few hundred minutes instead of every
  few bars) plus multi-day drift regimes (so the close is above/below its daily
  SMA(5) for several days at a time).
* ``minute_daily.csv``: the daily bars of ``minute.csv`` by local calendar date
  (open = first open, high = max high, low = min low, close = last close,
  volume = sum); header ``date,open,high,low,close,volume``. Computed from the
  4-decimal strings written to ``minute.csv``, so it is exactly what a reader of
  that file gets.
* ``pair_a.csv``, ``pair_b.csv``: 600 daily bars on Monday-Friday dates from
  2015-01-02 (no holiday calendar); ``log B = c + log A + u`` with ``u`` a
  mean-reverting AR(1) (phi 0.85, stationary sd ~0.035), so a 20-day z-score of
  ``log A - log B`` crosses +-2 and +-0.5 many times. Open = previous close times
  a small gap (the first open = the first close times a gap), high/low outside
  open and close.
* ``pair_b_gaps.csv``: ``pair_b.csv`` with 30 of its 600 days (5%) removed: never
  the first 2 rows or the last row; contains one run of 3 and one run of 2
  consecutive missing days, the rest single days apart from each other.

All prices have 4 decimals, volumes are integers, and
``low <= min(open, close) <= max(open, close) <= high`` holds on every row.
Only ``random.Random(seed).random()`` is used (normals via Box-Muller), so the
files are byte-for-byte reproducible with any Python 3.

Usage (from the repo root):
    python3 tests/reference/make_multi.py
"""

import datetime as dt
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_data  # noqa: E402  (the shared generator and calendar)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.normpath(os.path.join(HERE, "..", "data", "multi"))

MINUTE_SEED = 20240226
PAIR_SEED = 20150102

FIRST_DAY = dt.date(2024, 2, 26)
LAST_DAY = dt.date(2024, 3, 29)
HOLIDAY = dt.date(2024, 3, 13)
HALF_DAY = dt.date(2024, 3, 15)

PAIR_START = dt.date(2015, 1, 2)
PAIR_BARS = 600
PAIR_GAPS = 30


class Rng(make_data.Rng):
    """make_data's generator, with integers drawn from random() only."""

    def randint(self, lo, hi):
        # inclusive, from random() only
        return lo + int(self._r.random() * (hi - lo + 1))


def f4(x):
    return f"{x:.4f}"


def ohlc_row(o, c, rng, wick):
    """Rounds open/close to 4 decimals and puts high/low outside them."""
    o = round(o, 4)
    c = round(c, 4)
    h = max(o, c) * (1 + abs(rng.normal()) * wick)
    l = min(o, c) * (1 - abs(rng.normal()) * wick)
    h = max(round(h, 4), o, c)
    l = min(round(l, 4), o, c)
    return o, h, l, c


# ---------------------------------------------------------------- minute bars

def trading_days():
    d = FIRST_DAY
    out = []
    while d <= LAST_DAY:
        if d.weekday() < 5 and d != HOLIDAY:
            out.append(d)
        d += dt.timedelta(days=1)
    return out


def make_minute():
    rng = Rng(MINUTE_SEED)
    days = trading_days()
    # multi-day drift regimes (per-minute log drift), one value per trading day
    regime = []
    while len(regime) < len(days):
        n = rng.randint(3, 6)
        mu = rng.normal() * 4e-5
        regime.extend([mu] * n)
    rows = []
    price = 100.0
    slow = 0.0  # AR(1) per-minute drift: trends lasting tens of minutes
    for di, day in enumerate(days):
        end = dt.time(12, 59) if day == HALF_DAY else dt.time(15, 59)
        t = dt.datetime.combine(day, dt.time(9, 30))
        # overnight gap
        o = price * (1 + rng.normal() * 0.003)
        first = True
        while t.time() <= end:
            if not first:
                o = price
            first = False
            slow = 0.97 * slow + rng.normal() * 0.00005
            c = o * math.exp(regime[di] + slow + rng.normal() * 0.0003)
            o4, h4, l4, c4 = ohlc_row(o, c, rng, 0.0003)
            v = rng.randint(200, 20000)
            rows.append((t.strftime("%Y-%m-%d %H:%M:%S"), f4(o4), f4(h4), f4(l4), f4(c4), v))
            price = c4
            t += dt.timedelta(minutes=1)
    return rows


def daily_from_minute(rows):
    out = []
    for t, o, h, l, c, v in rows:
        d = t[:10]
        if out and out[-1][0] == d:
            r = out[-1]
            r[2] = max(r[2], float(h))
            r[3] = min(r[3], float(l))
            r[4] = c
            r[5] += v
        else:
            out.append([d, o, float(h), float(l), c, v])
    return [(d, o, f4(h), f4(l), c, v) for d, o, h, l, c, v in out]


# ---------------------------------------------------------------- pairs

business_days = make_data.business_days


def make_pairs():
    rng = Rng(PAIR_SEED)
    dates = business_days(PAIR_START, PAIR_BARS)
    c_log = math.log(0.8)  # B trades at ~0.8 x A
    log_a = math.log(60.0)
    u = 0.0
    prev_a = prev_b = None
    a_rows, b_rows = [], []
    for i, d in enumerate(dates):
        log_a += 0.0002 + rng.normal() * 0.015
        u = 0.85 * u + rng.normal() * 0.018
        ca = math.exp(log_a)
        cb = math.exp(c_log + log_a + u)
        oa = (prev_a if prev_a is not None else ca) * (1 + rng.normal() * 0.003)
        ob = (prev_b if prev_b is not None else cb) * (1 + rng.normal() * 0.003)
        oa, ha, la, ca = ohlc_row(oa, ca, rng, 0.006)
        ob, hb, lb, cb = ohlc_row(ob, cb, rng, 0.006)
        ds = d.isoformat()
        a_rows.append((ds, f4(oa), f4(ha), f4(la), f4(ca), rng.randint(100000, 900000)))
        b_rows.append((ds, f4(ob), f4(hb), f4(lb), f4(cb), rng.randint(100000, 900000)))
        prev_a, prev_b = ca, cb
    return a_rows, b_rows


def gap_indices(n, rng):
    """30 row indices to drop, within 2..n-2, including a run of 3 and a run of 2."""
    drop = set()
    # one run of 3 and one run of 2 at fixed, documented places
    drop.update({150, 151, 152})
    drop.update({400, 401})
    while len(drop) < PAIR_GAPS:
        i = rng.randint(2, n - 2)
        # keep the other removed days isolated (neighbours kept)
        if i in drop or (i - 1) in drop or (i + 1) in drop:
            continue
        drop.add(i)
    return sorted(drop)


# ---------------------------------------------------------------- output

def write(path, header, rows):
    with open(path, "w") as f:
        f.write(header + "\n")
        for r in rows:
            f.write(",".join(str(x) for x in r) + "\n")


def check_ohlc(rows):
    for r in rows:
        o, h, l, c = (float(x) for x in r[1:5])
        assert 0 < l <= min(o, c) and max(o, c) <= h, r


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    minute = make_minute()
    daily = daily_from_minute(minute)
    check_ohlc(minute)
    check_ohlc(daily)
    write(os.path.join(OUT_DIR, "minute.csv"), "datetime,open,high,low,close,volume", minute)
    write(os.path.join(OUT_DIR, "minute_daily.csv"), "date,open,high,low,close,volume", daily)

    a_rows, b_rows = make_pairs()
    check_ohlc(a_rows)
    check_ohlc(b_rows)
    write(os.path.join(OUT_DIR, "pair_a.csv"), "date,open,high,low,close,volume", a_rows)
    write(os.path.join(OUT_DIR, "pair_b.csv"), "date,open,high,low,close,volume", b_rows)
    drop = set(gap_indices(len(b_rows), Rng(PAIR_SEED + 1)))
    gaps = [r for i, r in enumerate(b_rows) if i not in drop]
    write(os.path.join(OUT_DIR, "pair_b_gaps.csv"), "date,open,high,low,close,volume", gaps)
    print(f"minute.csv {len(minute)} bars over {len(daily)} days; "
          f"pair_a/pair_b {len(a_rows)} bars; pair_b_gaps {len(gaps)} bars "
          f"(removed rows {sorted(drop)})")


if __name__ == "__main__":
    main()
