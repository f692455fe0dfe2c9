#!/usr/bin/env python3
"""Reference values for the session indicators of stdlib/sessions.btl, written plainly from their
definitions in pure Python: the VWAP anchored to each UTC day (and to each day and its noon), the
previous day's high, low and close, and classic, Fibonacci and Camarilla pivot points.

Usage: python3 tests/reference/sessions_reference.py tests/data/intraday_5m.csv \
           tests/reference/sessions_intraday.csv
The output has a `bar` column and one column per output, `nan` for missing.
"""
import csv
import datetime as dt
import math
import sys

NAN = float("nan")


def vwap_anchored(resets, src, vol):
    out, pv, v = [], NAN, NAN
    for reset, x, w in zip(resets, src, vol):
        if reset:
            pv, v = x * w, w
        else:
            pv, v = pv + x * w, v + w
        out.append(pv / v if v > 0 else NAN)
    return out


def prior_day(days, h, l, c):
    """The previous day's high, low and close on every bar (NaN during the first day)."""
    ph, pl, pc = [], [], []
    cur_h = cur_l = NAN
    prev = (NAN, NAN, NAN)
    for t in range(len(days)):
        if t == 0 or days[t] != days[t - 1]:
            if t > 0:
                prev = (cur_h, cur_l, c[t - 1])
            cur_h, cur_l = h[t], l[t]
        else:
            cur_h, cur_l = max(cur_h, h[t]), min(cur_l, l[t])
        ph.append(prev[0])
        pl.append(prev[1])
        pc.append(prev[2])
    return ph, pl, pc


def main():
    data, out_path = sys.argv[1], sys.argv[2]
    with open(data) as f:
        rows = list(csv.DictReader(f))
    times = [dt.datetime.strptime(r["datetime"], "%Y-%m-%d %H:%M:%S") for r in rows]
    h, l, c, v = ([float(r[k]) for r in rows] for k in ("high", "low", "close", "volume"))
    days = [t.date() for t in times]
    first = [t == 0 or days[t] != days[t - 1] for t in range(len(days))]
    typical = [(a + b + x) / 3 for a, b, x in zip(h, l, c)]
    out = {}
    out["vwap_day"] = vwap_anchored(first, typical, v)
    noon = [f or (t.hour, t.minute) == (12, 0) for f, t in zip(first, times)]
    out["vwap_noon"] = vwap_anchored(noon, c, v)
    ph, pl, pc = prior_day(days, h, l, c)
    out["pdh"], out["pdl"], out["pdc"] = ph, pl, pc
    p = [(a + b + x) / 3 for a, b, x in zip(ph, pl, pc)]
    rng = [a - b for a, b in zip(ph, pl)]
    out["pc_p"] = p
    out["pc_r1"] = [2 * q - b for q, b in zip(p, pl)]
    out["pc_r2"] = [q + r for q, r in zip(p, rng)]
    out["pc_r3"] = [a + 2 * (q - b) for a, b, q in zip(ph, pl, p)]
    out["pc_s1"] = [2 * q - a for q, a in zip(p, ph)]
    out["pc_s2"] = [q - r for q, r in zip(p, rng)]
    out["pc_s3"] = [b - 2 * (a - q) for a, b, q in zip(ph, pl, p)]
    for name, k in (("r1", 0.382), ("r2", 0.618), ("r3", 1.0)):
        out["pf_" + name] = [q + k * r for q, r in zip(p, rng)]
    for name, k in (("s1", 0.382), ("s2", 0.618), ("s3", 1.0)):
        out["pf_" + name] = [q - k * r for q, r in zip(p, rng)]
    for i, d in enumerate((12, 6, 4, 2)):
        out[f"cam_r{i + 1}"] = [x + r * 1.1 / d for x, r in zip(pc, rng)]
    for i, d in enumerate((12, 6, 4, 2)):
        out[f"cam_s{i + 1}"] = [x - r * 1.1 / d for x, r in zip(pc, rng)]
    names = list(out)
    with open(out_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["bar"] + names)
        for t in range(len(rows)):
            w.writerow([t] + ["nan" if math.isnan(out[k][t]) else repr(float(out[k][t])) for k in names])


if __name__ == "__main__":
    main()
