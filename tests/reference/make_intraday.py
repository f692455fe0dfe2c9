#!/usr/bin/env python3
"""Writes tests/data/intraday_5m.csv: 5-minute bars, 09:30 to 15:55 (78 a day), over 15 weekdays
of January 2024 with one weekday missing (2024-01-10) and a half day (2024-01-12, 09:30 to
12:55): a seeded random walk with 4-decimal prices and integer volumes. The fixture of the
session indicators (stdlib/sessions.btl); sessions_reference.py computes their reference values.

Usage: python3 tests/reference/make_intraday.py
"""
import datetime as dt
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "data", "intraday_5m.csv"))


def main():
    rng = random.Random(20240102)
    price = 100.0
    rows = []
    day = dt.date(2024, 1, 2)
    days = 0
    while days < 15:
        if day.weekday() < 5 and day != dt.date(2024, 1, 10):
            end = dt.time(12, 55) if day == dt.date(2024, 1, 12) else dt.time(15, 55)
            t = dt.datetime.combine(day, dt.time(9, 30))
            while t.time() <= end:
                o = price
                c = max(1.0, o * (1 + rng.gauss(0, 0.002)))
                h = max(o, c) * (1 + abs(rng.gauss(0, 0.0008)))
                l = min(o, c) * (1 - abs(rng.gauss(0, 0.0008)))
                v = rng.randint(100, 5000)
                rows.append((t.strftime("%Y-%m-%d %H:%M:%S"), o, h, l, c, v))
                price = c
                t += dt.timedelta(minutes=5)
            days += 1
        day += dt.timedelta(days=1)
    with open(OUT, "w") as f:
        f.write("datetime,open,high,low,close,volume\n")
        for t, o, h, l, c, v in rows:
            f.write(f"{t},{o:.4f},{h:.4f},{l:.4f},{c:.4f},{v}\n")


if __name__ == "__main__":
    main()
