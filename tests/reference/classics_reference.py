#!/work/main/tests/reference/.venv/bin/python
"""Reference values for the classic indicators of indicators.btl, written plainly from their
textbook / Pine Script v5 definitions with numpy (no indicator library).

Every function takes numpy float arrays (NaN = missing) and returns an array of the same length,
NaN until the indicator's first value. EMAs and RMAs are seeded with the SMA of their first n
values, as TradingView's ta.ema / ta.rma start.

Usage: classics_reference.py DATA.csv OUT.csv
OUT.csv has a `bar` column and one column per output (the names of cases.txt), `nan` for missing.
"""
import csv
import math
import sys

import numpy as np

NAN = float("nan")


def isnan(x):
    return x != x


# ---- building blocks ----

def shift(x, k):
    """x[k]: the value k bars ago (NaN before the first bar)."""
    out = np.full(len(x), NAN)
    out[k:] = x[: len(x) - k] if k else x
    return out


def window_apply(x, n, f):
    """f(window) over each window of the last n values (oldest first); NaN if one is missing."""
    out = np.full(len(x), NAN)
    for t in range(n - 1, len(x)):
        w = x[t - n + 1 : t + 1]
        if not np.isnan(w).any():
            out[t] = f(w)
    return out


def sma(x, n):
    return window_apply(x, n, np.mean)


def wma(x, n):
    weights = np.arange(1, n + 1, dtype=float)  # 1 for the oldest, n for the newest
    return window_apply(x, n, lambda w: np.dot(w, weights) / weights.sum())


def highest(x, n):
    return window_apply(x, n, np.max)


def lowest(x, n):
    return window_apply(x, n, np.min)


def rolling_sum(x, n):
    return window_apply(x, n, np.sum)


def stdev(x, n):
    """Population standard deviation (Pine's ta.stdev, biased)."""
    return window_apply(x, n, lambda w: np.sqrt(np.mean((w - w.mean()) ** 2)))


def exp_average(x, n, alpha):
    """Recursive average seeded with the SMA of the first n present values."""
    out = np.full(len(x), NAN)
    seed = sma(x, n)
    prev = NAN
    for t in range(len(x)):
        if isnan(prev):
            prev = seed[t]
        else:
            prev = alpha * x[t] + (1 - alpha) * prev
        out[t] = prev
    return out


def ema(x, n):
    return exp_average(x, n, 2.0 / (n + 1))


def rma(x, n):
    return exp_average(x, n, 1.0 / n)


def true_range(h, l, c, first_bar_range=False):
    """max(h - l, |h - c[1]|, |l - c[1]|); on the first bar NaN, or h - l (Pine's ta.tr(true))."""
    pc = shift(c, 1)
    tr = np.maximum(h - l, np.maximum(np.abs(h - pc), np.abs(l - pc)))
    if first_bar_range:
        tr[0] = h[0] - l[0]
    return tr


def rsi(x, n):
    """Wilder's RSI: 100 * up / (up + down) with rma averages; 0 when nothing moved."""
    ch = x - shift(x, 1)
    up = rma(np.where(np.isnan(ch), NAN, np.maximum(ch, 0.0)), n)
    down = rma(np.where(np.isnan(ch), NAN, np.maximum(-ch, 0.0)), n)
    out = np.full(len(x), NAN)
    for t in range(len(x)):
        if not isnan(up[t]) and not isnan(down[t]):
            out[t] = 0.0 if up[t] + down[t] == 0 else 100 * up[t] / (up[t] + down[t])
    return out


# ---- the indicators ----

def hma(x, n):
    return wma(2 * wma(x, n // 2) - wma(x, n), int(math.floor(math.sqrt(n))))


def zlema(x, n):
    lag = (n - 1) // 2
    return ema(x + (x - shift(x, lag)), n)


def vwma(x, v, n):
    return sma(x * v, n) / sma(v, n)


def alma(x, n, offset, sigma):
    m = offset * (n - 1)
    s = n / sigma
    weights = np.array([math.exp(-((i - m) ** 2) / (2 * s * s)) for i in range(n)])  # oldest first
    return window_apply(x, n, lambda w: np.dot(w, weights) / weights.sum())


def donchian(h, l, n):
    upper, lower = highest(h, n), lowest(l, n)
    return upper, (upper + lower) / 2, lower


def keltner(h, l, c, n, mult):
    middle = ema(c, n)
    width = mult * rma(true_range(h, l, c), n)
    return middle + width, middle, middle - width


def supertrend(h, l, c, factor, n):
    """Pine's ta.supertrend, from the first bar with an ATR on."""
    atr = rma(true_range(h, l, c, first_bar_range=True), n)
    mid = (h + l) / 2
    line = np.full(len(c), NAN)
    direction = np.full(len(c), NAN)
    lower_prev = upper_prev = NAN
    for t in range(len(c)):
        if isnan(atr[t]):
            continue
        lower = mid[t] - factor * atr[t]
        upper = mid[t] + factor * atr[t]
        if not isnan(lower_prev) and not (lower > lower_prev or c[t - 1] < lower_prev):
            lower = lower_prev
        if not isnan(upper_prev) and not (upper < upper_prev or c[t - 1] > upper_prev):
            upper = upper_prev
        if isnan(atr[t - 1]) if t > 0 else True:
            d = 1
        elif line[t - 1] == upper_prev:
            d = -1 if c[t] > upper else 1
        else:
            d = 1 if c[t] < lower else -1
        direction[t] = d
        line[t] = lower if d == -1 else upper
        lower_prev, upper_prev = lower, upper
    return line, direction


def heikin_ashi(o, h, l, c):
    ha_close = (o + h + l + c) / 4
    ha_open = np.full(len(c), NAN)
    for t in range(len(c)):
        ha_open[t] = (o[t] + c[t]) / 2 if t == 0 else (ha_open[t - 1] + ha_close[t - 1]) / 2
    ha_high = np.maximum(h, np.maximum(ha_open, ha_close))
    ha_low = np.minimum(l, np.minimum(ha_open, ha_close))
    return ha_open, ha_high, ha_low, ha_close


def ichimoku(h, l, conv, base, span_b):
    conversion = (highest(h, conv) + lowest(l, conv)) / 2
    base_line = (highest(h, base) + lowest(l, base)) / 2
    return conversion, base_line, (conversion + base_line) / 2, (highest(h, span_b) + lowest(l, span_b)) / 2


def vortex(h, l, c, n):
    tr_sum = rolling_sum(true_range(h, l, c), n)
    plus = rolling_sum(np.abs(h - shift(l, 1)), n) / tr_sum
    minus = rolling_sum(np.abs(l - shift(h, 1)), n) / tr_sum
    return plus, minus


def tsi(x, long, short):
    ch = x - shift(x, 1)
    return 100 * ema(ema(ch, long), short) / ema(ema(np.abs(ch), long), short)


def awesome(h, l):
    median = (h + l) / 2
    return sma(median, 5) - sma(median, 34)


def elder_ray(h, l, c, n):
    value = ema(c, n)
    return h - value, l - value


def pine_roc(x, n):
    return 100 * (x - shift(x, n)) / shift(x, n)


def kst(x, rocs=(10, 15, 20, 30), smas=(10, 10, 10, 15), sig=9):
    line = sum(k * sma(pine_roc(x, r), s) for k, r, s in zip((1, 2, 3, 4), rocs, smas))
    return line, sma(line, sig)


def percent_rank(x, n):
    """Share (in %) of the previous n values that are <= the current one (Pine's ta.percentrank)."""
    out = np.full(len(x), NAN)
    for t in range(n, len(x)):
        prev = x[t - n : t]
        if not np.isnan(prev).any() and not isnan(x[t]):
            out[t] = 100.0 * np.count_nonzero(prev <= x[t]) / n
    return out


def zscore(x, n):
    return (x - sma(x, n)) / stdev(x, n)


def bars_since(cond):
    out = np.full(len(cond), NAN)
    last = None
    for t in range(len(cond)):
        if cond[t]:
            last = t
        if last is not None:
            out[t] = t - last
    return out


def value_when(cond, x):
    out = np.full(len(cond), NAN)
    for t in range(len(cond)):
        out[t] = x[t] if cond[t] else (out[t - 1] if t > 0 else NAN)
    return out


def extreme_bars(x, n, pick):
    """-(bars ago) of the highest (pick=np.argmax) or lowest value of the last n; newest wins ties."""
    out = np.full(len(x), NAN)
    for t in range(n - 1, len(x)):
        newest_first = x[t - n + 1 : t + 1][::-1]
        out[t] = -float(pick(newest_first))
    return out


def streak(x):
    out = np.full(len(x), NAN)
    for t in range(1, len(x)):
        prev = 0.0 if isnan(out[t - 1]) else out[t - 1]
        if x[t] == x[t - 1]:
            out[t] = 0
        elif x[t] > x[t - 1]:
            out[t] = 1 if prev <= 0 else prev + 1
        else:
            out[t] = -1 if prev >= 0 else prev - 1
    return out


def connors_rsi(x, rsi_n, streak_n, rank_n):
    return (rsi(x, rsi_n) + rsi(streak(x), streak_n) + percent_rank(pine_roc(x, 1), rank_n)) / 3


def main():
    data_path, out_path = sys.argv[1], sys.argv[2]
    with open(data_path) as f:
        rows = list(csv.DictReader(f))
    col = lambda k: np.array([float(r[k]) for r in rows], dtype=float)
    o, h, l, c, v = col("open"), col("high"), col("low"), col("close"), col("volume")

    out = {}
    out["hma_9"] = hma(c, 9)
    out["hma_16"] = hma(c, 16)
    out["zlema_20"] = zlema(c, 20)
    out["zlema_9"] = zlema(c, 9)
    out["vwma_20"] = vwma(c, v, 20)
    out["alma_9"] = alma(c, 9, 0.85, 6.0)
    out["alma_20"] = alma(c, 20, 0.5, 4.0)
    out["dc_upper"], out["dc_middle"], out["dc_lower"] = donchian(h, l, 20)
    out["kc_upper"], out["kc_middle"], out["kc_lower"] = keltner(h, l, c, 20, 2.0)
    out["st_line"], out["st_dir"] = supertrend(h, l, c, 3.0, 10)
    out["ha_open"], out["ha_high"], out["ha_low"], out["ha_close"] = heikin_ashi(o, h, l, c)
    (out["ichi_conv"], out["ichi_base"], out["ichi_span_a"],
     out["ichi_span_b"]) = ichimoku(h, l, 9, 26, 52)
    out["vortex_plus"], out["vortex_minus"] = vortex(h, l, c, 14)
    out["tsi_25_13"] = tsi(c, 25, 13)
    out["awesome"] = awesome(h, l)
    out["elder_bull"], out["elder_bear"] = elder_ray(h, l, c, 13)
    out["kst_line"], out["kst_signal"] = kst(c)
    out["pct_rank_20"] = percent_rank(c, 20)
    out["pct_rank_5"] = percent_rank(c, 5)
    out["zscore_20"] = zscore(c, 20)
    down = c < o
    out["bars_since_down"] = bars_since(down)
    out["value_when_down"] = value_when(down, c)
    out["bars_since_gap"] = bars_since(down | (l > shift(h, 1)))  # NaN > x is False
    out["highest_bars_14"] = extreme_bars(h, 14, np.argmax)
    out["lowest_bars_14"] = extreme_bars(l, 14, np.argmin)
    out["connors_rsi"] = connors_rsi(c, 3, 2, 100)

    names = list(out)
    with open(out_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["bar"] + names)
        for t in range(len(c)):
            w.writerow([t] + ["nan" if isnan(out[k][t]) else repr(float(out[k][t])) for k in names])


if __name__ == "__main__":
    main()
