#!/usr/bin/env python3
"""Reference indicator values from TA-Lib for btl's indicator tests.

Reads tests/data/ohlcv_500.csv and writes tests/reference/talib_500.csv with
columns ``bar`` (0-based bar index) and one column per indicator output.
Values are written with ``repr(float)`` (shortest string that round-trips to
the same f64); warm-up values (TA-Lib's NaN) are written as ``nan``.

All TA-Lib functions are called with TA-Lib's defaults for anything not
listed (in particular the default "unstable period" of 0 and the default
compatibility mode, where EMA is seeded with the SMA of its first `period`
values).

``rma_14`` and ``change_1`` are NOT TA-Lib functions (TA-Lib has no plain
Wilder-smoothing or 1-bar-difference function); they are computed in pure
Python below and documented next to their code.

Usage (from the repo root):
    tests/reference/.venv/bin/python tests/reference/talib_reference.py
"""

import csv
import math
import os

import numpy as np
import talib

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "data", "ohlcv_500.csv"))
OUT = os.path.join(HERE, "talib_500.csv")


def load(path):
    cols = {"open": [], "high": [], "low": [], "close": [], "volume": []}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            for k in cols:
                cols[k].append(float(row[k]))
    return {k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}


def rma(values, n):
    """Wilder's smoothing (RMA / SMMA), pure Python; not in TA-Lib.

    Seed: at bar n-1 the value is the simple mean of the first n values.
    Afterwards r[t] = (r[t-1] * (n - 1) + x[t]) / n. Bars before n-1 are NaN.
    """
    out = [math.nan] * len(values)
    if len(values) < n:
        return out
    r = sum(float(v) for v in values[:n]) / n
    out[n - 1] = r
    for t in range(n, len(values)):
        r = (r * (n - 1) + float(values[t])) / n
        out[t] = r
    return out


def change(values, k=1):
    """x[t] - x[t-k], pure Python; not a TA-Lib function (TA-Lib's MOM is the
    same thing, but change_1 is spelled out independently here). NaN for
    t < k."""
    return [math.nan if t < k else float(values[t]) - float(values[t - k])
            for t in range(len(values))]


def nan_before(values, k):
    """`values` as floats, nan on the first k bars (a lookback TA-Lib fills with 0)."""
    out = np.asarray(values, dtype=float).copy()
    out[:k] = np.nan
    return out


def main():
    d = load(DATA)
    o, h, l, c = d["open"], d["high"], d["low"], d["close"]
    v = d["volume"]
    n = len(c)
    SMA = talib.MA_Type.SMA

    macd, macdsig, macdhist = talib.MACD(c, fastperiod=12, slowperiod=26, signalperiod=9)
    bbu, bbm, bbl = talib.BBANDS(c, timeperiod=20, nbdevup=2, nbdevdn=2, matype=SMA)
    sk, sd = talib.STOCH(h, l, c, fastk_period=14, slowk_period=3, slowk_matype=SMA,
                         slowd_period=3, slowd_matype=SMA)

    columns = [
        ("sma_10", talib.SMA(c, timeperiod=10)),
        ("sma_30", talib.SMA(c, timeperiod=30)),
        ("ema_10", talib.EMA(c, timeperiod=10)),
        ("ema_30", talib.EMA(c, timeperiod=30)),
        ("wma_10", talib.WMA(c, timeperiod=10)),
        ("max_20", talib.MAX(c, timeperiod=20)),
        ("min_20", talib.MIN(c, timeperiod=20)),
        # TA-Lib STDDEV is the population standard deviation (divides by n)
        ("stddev_20", talib.STDDEV(c, timeperiod=20, nbdev=1)),
        ("rsi_14", talib.RSI(c, timeperiod=14)),
        ("macd_12_26_9", macd),
        ("macdsignal_12_26_9", macdsig),
        ("macdhist_12_26_9", macdhist),
        ("bb_upper_20_2", bbu),
        ("bb_middle_20_2", bbm),
        ("bb_lower_20_2", bbl),
        ("trange", talib.TRANGE(h, l, c)),
        ("atr_14", talib.ATR(h, l, c, timeperiod=14)),
        ("stoch_k_14_3_3", sk),
        ("stoch_d_14_3_3", sd),
        ("roc_10", talib.ROC(c, timeperiod=10)),
        ("mom_10", talib.MOM(c, timeperiod=10)),
        # --- not TA-Lib: pure Python, see rma() / change() above ---
        ("rma_14", rma(c, 14)),
        ("change_1", change(c, 1)),
        # --- TA-Lib again; appended last so the earlier columns keep their
        # positions. Parabolic SAR: first value at bar 1 (bar 0 only seeds
        # the direction and the initial SAR/EP).
        ("sar_002_02", talib.SAR(h, l, acceleration=0.02, maximum=0.2)),
        # --- Directional movement (Wilder), appended after SAR for the same
        # reason. +DI/-DI/DX: first value at bar 14 (the smoothed +DM/-DM/TR
        # are seeded with the plain SUM of the one-bar values at bars 1..13,
        # then smoothed as s - s/14 + x from bar 14 on). ADX: first value at
        # bar 27 (mean of DX at bars 14..27, then (adx*13 + dx)/14).
        ("plus_di_14", talib.PLUS_DI(h, l, c, timeperiod=14)),
        ("minus_di_14", talib.MINUS_DI(h, l, c, timeperiod=14)),
        ("dx_14", talib.DX(h, l, c, timeperiod=14)),
        ("adx_14", talib.ADX(h, l, c, timeperiod=14)),
        # Overlap studies and oscillators (stdlib/overlap.btl, oscillators.btl, trend.btl).
        # TA-Lib 0.8.1's Python wrapper defaults APO/PPO to EMA: SMA is asked for here.
        ("dema_10", talib.DEMA(c, 10)),
        ("tema_10", talib.TEMA(c, 10)),
        ("trima_10", talib.TRIMA(c, 10)),
        ("kama_10", talib.KAMA(c, 10)),
        ("t3_5_07", talib.T3(c, 5, 0.7)),
        ("midpoint_14", talib.MIDPOINT(c, 14)),
        ("midprice_14", talib.MIDPRICE(h, l, 14)),
        ("cci_14", talib.CCI(h, l, c, 14)),
        ("willr_14", talib.WILLR(h, l, c, 14)),
        ("mfi_14", talib.MFI(h, l, c, v, 14)),
        ("cmo_14", talib.CMO(c, 14)),
        ("ppo_12_26_sma", talib.PPO(c, 12, 26, matype=0)),
        ("apo_12_26_sma", talib.APO(c, 12, 26, matype=0)),
        ("trix_15", talib.TRIX(c, 15)),
        ("rocp_10", talib.ROCP(c, 10)),
        ("rocr_10", talib.ROCR(c, 10)),
        ("rocr100_10", talib.ROCR100(c, 10)),
        ("aroon_down_14", talib.AROON(h, l, 14)[0]),
        ("aroon_up_14", talib.AROON(h, l, 14)[1]),
        ("aroonosc_14", talib.AROONOSC(h, l, 14)),
        ("ultosc_7_14_28", talib.ULTOSC(h, l, c, 7, 14, 28)),
        ("bop", talib.BOP(o, h, l, c)),
        # Volume, statistics, price transforms, fast stochastics (stdlib/volume.btl,
        # statistics.btl, price.btl, oscillators.btl). MAXINDEX/MININDEX give 0 on their
        # lookback bars: written as nan there, as btl has no value before its warm-up.
        ("obv", talib.OBV(c, v)),
        ("ad", talib.AD(h, l, c, v)),
        ("adosc_3_10", talib.ADOSC(h, l, c, v, fastperiod=3, slowperiod=10)),
        ("natr_14", talib.NATR(h, l, c, timeperiod=14)),
        ("var_5", talib.VAR(c, timeperiod=5, nbdev=1)),
        ("linreg_14", talib.LINEARREG(c, timeperiod=14)),
        ("linreg_slope_14", talib.LINEARREG_SLOPE(c, timeperiod=14)),
        ("linreg_intercept_14", talib.LINEARREG_INTERCEPT(c, timeperiod=14)),
        ("linreg_angle_14", talib.LINEARREG_ANGLE(c, timeperiod=14)),
        ("tsf_14", talib.TSF(c, timeperiod=14)),
        ("correl_30", talib.CORREL(h, l, timeperiod=30)),
        ("beta_5", talib.BETA(h, l, timeperiod=5)),
        ("sum_10", talib.SUM(c, timeperiod=10)),
        ("maxindex_14", nan_before(talib.MAXINDEX(c, timeperiod=14), 13)),
        ("minindex_14", nan_before(talib.MININDEX(c, timeperiod=14), 13)),
        ("avgprice", talib.AVGPRICE(o, h, l, c)),
        ("medprice", talib.MEDPRICE(h, l)),
        ("typprice", talib.TYPPRICE(h, l, c)),
        ("wclprice", talib.WCLPRICE(h, l, c)),
        ("stochf_k_5_3", talib.STOCHF(h, l, c, fastk_period=5, fastd_period=3, fastd_matype=0)[0]),
        ("stochf_d_5_3", talib.STOCHF(h, l, c, fastk_period=5, fastd_period=3, fastd_matype=0)[1]),
        ("stochrsi_k_14_5_3", talib.STOCHRSI(c, timeperiod=14, fastk_period=5, fastd_period=3, fastd_matype=0)[0]),
        ("stochrsi_d_14_5_3", talib.STOCHRSI(c, timeperiod=14, fastk_period=5, fastd_period=3, fastd_matype=0)[1]),
        # ±DM, ADXR, MACDFIX, SAREXT (trend.btl, momentum.btl), the Hilbert transform family and
        # MAMA (cycle.btl). HT_TRENDMODE gives 0 over its 63-bar lookback: nan there.
        ("plus_dm", talib.PLUS_DM(h, l, 14)),
        ("minus_dm", talib.MINUS_DM(h, l, 14)),
        ("adxr", talib.ADXR(h, l, c, 14)),
        ("macdfix_line", talib.MACDFIX(c, 9)[0]),
        ("macdfix_signal", talib.MACDFIX(c, 9)[1]),
        ("macdfix_hist", talib.MACDFIX(c, 9)[2]),
        ("ht_dcperiod", talib.HT_DCPERIOD(c)),
        ("ht_trendline", talib.HT_TRENDLINE(c)),
        ("ht_dcphase", talib.HT_DCPHASE(c)),
        ("ht_phasor_inphase", talib.HT_PHASOR(c)[0]),
        ("ht_phasor_quad", talib.HT_PHASOR(c)[1]),
        ("ht_sine_sine", talib.HT_SINE(c)[0]),
        ("ht_sine_lead", talib.HT_SINE(c)[1]),
        ("ht_trendmode", np.where(np.arange(len(c)) < 63, np.nan, talib.HT_TRENDMODE(c))),
        ("mama_mama", talib.MAMA(c, 0.5, 0.05)[0]),
        ("mama_fama", talib.MAMA(c, 0.5, 0.05)[1]),
        ("sarext", talib.SAREXT(h, l)),
    ]
    # MA with every MA type (0 SMA ... 8 T3), and MACDEXT over several mixes of types, one of
    # them with slow < fast (TA-Lib swaps the two).
    for k in range(9):
        columns.append((f"ma_10_t{k}", talib.MA(c, timeperiod=10, matype=k)))
    for fast, fk, slow, sk, sig, gk in [(12, 1, 26, 1, 9, 1), (12, 0, 26, 0, 9, 0),
                                        (5, 3, 20, 6, 9, 2), (26, 4, 12, 8, 9, 5),
                                        (12, 7, 26, 1, 9, 0)]:
        name = f"macdext_{fast}_{fk}_{slow}_{sk}_{sig}_{gk}"
        line, signal, hist = talib.MACDEXT(c, fastperiod=fast, fastmatype=fk, slowperiod=slow,
                                           slowmatype=sk, signalperiod=sig, signalmatype=gk)
        columns += [(name + "_line", line), (name + "_signal", signal), (name + "_hist", hist)]
    for name, vals in columns:
        assert len(vals) == n, name

    with open(OUT, "w", newline="\n") as f:
        f.write(",".join(["bar"] + [name for name, _ in columns]) + "\n")
        for t in range(n):
            cells = [str(t)]
            for _, vals in columns:
                v = float(vals[t])  # np.float64 -> float so repr() is plain
                cells.append("nan" if math.isnan(v) else repr(v))
            f.write(",".join(cells) + "\n")

    # Summary: first non-NaN bar per column (= the indicator's lookback).
    print(f"wrote {OUT} ({n} rows)")
    for name, vals in columns:
        first = next((t for t in range(n) if not math.isnan(float(vals[t]))), None)
        print(f"  {name:20s} first valid bar {first}")


if __name__ == "__main__":
    main()
