#!/usr/bin/env python3
"""Reference backtest of examples/macd_atr_stop.btl from backtrader.

Runs backtrader on tests/data/ohlcv_12000.csv twice and writes
    tests/reference/macd_atr_stop_backtrader.json               (checksubmit=True, the default)
    tests/reference/macd_atr_stop_backtrader_nochecksubmit.json (checksubmit=False)
The two runs differ only in the broker's checksubmit; see the note below.

Strategy (long only, fixed 100 shares), btl's body in backtrader terms:
    line, signal = talib.MACD(close, 12, 26, 9)[:2]    (precomputed, see below)
    range        = talib.ATR(high, low, close, 14)      (precomputed)
    next() on bar t (0-based), only from btl's warm-up bar 34 on:
      1. if position == 0 and crossover(line, signal): buy(size=100)      -> "entry"
      2. if the "entry" order was reported Completed (notify_order) before
         this next(): sell(size=100, exectype=Stop,
                           price=entry fill price - 2.0 * range[t])       -> "stop"
      3. if position > 0 and crossunder(line, signal):
           cancel the "stop" order if it is alive; close()                -> "exit"
    crossover(a, b):  a[t] > b[t] and a[t-1] <= b[t-1]
    crossunder(a, b): a[t] < b[t] and a[t-1] >= b[t-1]   (NaN anywhere -> false)
Broker: cash 100000, setcommission(commission=0.001), market orders fill at the
next bar's open, stops by BackBroker's rules (sell stop: at the open if the
open is at or below the stop, else at the stop if the low reaches it), default
checksubmit=True (False in the second run).

MACD / ATR: btl's stdlib `macd` and `atr` match TA-Lib, whose MACD seeds the
fast EMA differently from bt.indicators.MACD, so the indicator values are
computed with TA-Lib on the CSV columns up front (as Python floats, the same
values backtrader's GenericCSVData parses) and looked up by bar index in
next(); the crossings are computed by hand, not with bt.indicators.CrossOver.

Conventions as in backtrader_sma_cross.py: bar i is the CSV's i-th data row
(0-based; len(data) == i + 1 while backtrader processes it); entry_bar /
exit_bar are the FILL bars (trade.baropen - 1 / trade.barclose - 1, cross-
checked against the trade's datetimes); entry_price is trade.price, exit_price
the closing order's executed.price; pnl_net is trade.pnlcomm. Every order's
role ("entry", "stop", "exit") is kept in a dict by order.ref, so each closed
trade says which order closed it.

backtrader detail that matters here (see README.md): with checksubmit=True an
order placed in next() stays in the broker's `submitted` queue until the next
bar, and BackBroker.cancel() only removes orders from `pending`, so cancelling
the stop on the very bar it was placed (the entry filled and MACD crossed under
on the same bar) is a silent no-op: the stop stays alive, is accepted on the
next bar and may fill after the position was closed, opening a short that this
strategy never closes. The script prints the bars where that happened. With
checksubmit=False orders go straight to `pending`, so the same-bar cancel
works; that is the only difference between the two fixtures (neither run has a
rejected order, so the cash check at submission decides nothing here).

Usage (from the repo root):
    tests/reference/.venv/bin/python tests/reference/backtrader_macd_atr_stop.py
For experiments, one run on other data / to another file:
    tests/reference/.venv/bin/python tests/reference/backtrader_macd_atr_stop.py \
        [--no-checksubmit] DATA_CSV OUT_JSON
"""

import csv
import datetime
import json
import math
import os
import sys

import backtrader as bt
import numpy as np
import talib

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "data", "ohlcv_12000.csv"))
OUT = os.path.join(HERE, "macd_atr_stop_backtrader.json")
OUT_NO_CHECKSUBMIT = os.path.join(HERE, "macd_atr_stop_backtrader_nochecksubmit.json")

QTY = 100
MULT = 2.0
WARMUP_BAR = 34  # btl's warm-up bar for this strategy (`btl run` reports it)


def crossover(a, b, t):
    # NaN comparisons are false, so any NaN makes this false
    return a[t] > b[t] and a[t - 1] <= b[t - 1]


def crossunder(a, b, t):
    return a[t] < b[t] and a[t - 1] >= b[t - 1]


class MacdAtrStop(bt.Strategy):
    params = dict(line=None, signal=None, atr=None)

    def __init__(self):
        self.roles = {}              # order.ref -> "entry" | "stop" | "exit"
        self.entry_order = None
        self.stop_order = None
        self.entry_fill = None       # (bar, executed price) of the latest entry fill
        self.closing_role = None     # role of the order that last reduced the position
        self.closed_trades = []
        self.open_trade = None
        self.rejected_orders = 0
        self.cancelled_orders = 0
        self.cancel_noops = []       # bars where cancel(stop) left the stop alive
        self.short_fills = []        # (bar, role) of sells that left the position short
        self.order_log = []          # (bar, ref, role, status), for debugging
        self.next_calls = 0
        self.first_next_bar = None

    def notify_order(self, order):
        bar = len(self.data) - 1
        role = self.roles.get(order.ref, "?")
        self.order_log.append((bar, order.ref, role, order.getstatusname()))
        if order.status in (order.Margin, order.Rejected):
            self.rejected_orders += 1
        elif order.status == order.Canceled:
            self.cancelled_orders += 1
        elif order.status == order.Completed:
            if role == "entry":
                self.entry_fill = (bar, order.executed.price)
            else:
                # notify_order for an execution is delivered before the
                # notify_trade it causes (Strategy._notify: orders first)
                self.closing_role = role
                self.closing_price = order.executed.price
                if self.broker.getposition(self.data).size < 0:
                    self.short_fills.append((bar, role))

    def notify_trade(self, trade):
        if trade.justopened:
            self.open_trade = dict(entry_bar=trade.baropen - 1, entry_price=trade.price)
        if not trade.isclosed:
            return
        self.open_trade = None
        self.closed_trades.append(dict(
            baropen=trade.baropen,
            barclose=trade.barclose,
            dtopen=trade.open_datetime().date(),
            dtclose=trade.close_datetime().date(),
            qty=QTY,
            entry_price=trade.price,
            exit_price=self.closing_price,
            pnl=trade.pnl,
            pnl_net=trade.pnlcomm,
            exit_order=self.closing_role,
        ))

    def next(self):
        bar = len(self.data) - 1
        if self.first_next_bar is None:
            self.first_next_bar = bar
        self.next_calls += 1
        if bar < WARMUP_BAR:
            return
        line, signal, atr = self.p.line, self.p.signal, self.p.atr

        # 1. entry
        if self.position.size == 0 and crossover(line, signal, bar):
            self.entry_order = self.buy(size=QTY)
            self.roles[self.entry_order.ref] = "entry"

        # 2. protective stop when the entry filled on this bar
        if self.entry_fill is not None and self.entry_fill[0] == bar:
            stop_price = self.entry_fill[1] - MULT * atr[bar]
            self.stop_order = self.sell(size=QTY, exectype=bt.Order.Stop, price=stop_price)
            self.roles[self.stop_order.ref] = "stop"

        # 3. exit on the cross down
        if self.position.size > 0 and crossunder(line, signal, bar):
            if self.stop_order is not None and self.stop_order.alive():
                self.cancel(self.stop_order)
                if self.stop_order.alive():
                    self.cancel_noops.append(bar)
            o = self.close()
            self.roles[o.ref] = "exit"


def run(data_path, out_path, checksubmit):
    """Runs the backtest on `data_path`, writes the JSON to `out_path`."""
    with open(data_path, newline="") as f:
        rows = list(csv.DictReader(f))
    n_rows = len(rows)
    date_to_bar = {datetime.date.fromisoformat(r["date"]): i for i, r in enumerate(rows)}
    col = {k: np.array([float(r[k]) for r in rows]) for k in ("open", "high", "low", "close")}
    line, signal, _hist = talib.MACD(col["close"], fastperiod=12, slowperiod=26, signalperiod=9)
    atr = talib.ATR(col["high"], col["low"], col["close"], timeperiod=14)
    line, signal, atr = line.tolist(), signal.tolist(), atr.tolist()
    # both MACD outputs start at bar 33, so bar 34 is the first possible cross
    assert all(math.isnan(x) for x in line[:33] + signal[:33])
    assert not math.isnan(line[33]) and not math.isnan(signal[33])
    assert all(math.isnan(x) for x in atr[:14]) and not math.isnan(atr[14])

    cerebro = bt.Cerebro(stdstats=False)
    data = bt.feeds.GenericCSVData(
        dataname=data_path,
        dtformat="%Y-%m-%d",
        datetime=0, open=1, high=2, low=3, close=4, volume=5,
        openinterest=-1,
        timeframe=bt.TimeFrame.Days,
    )
    cerebro.adddata(data)
    cerebro.addstrategy(MacdAtrStop, line=line, signal=signal, atr=atr)
    cerebro.broker.setcash(100000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.broker.set_checksubmit(checksubmit)
    strat = cerebro.run()[0]

    bars = len(strat.data)
    assert bars == n_rows, f"backtrader saw {bars} bars, CSV has {n_rows}"
    # backtrader parsed the same floats the indicators were computed from
    assert list(strat.data.close.array) == col["close"].tolist()

    trades = []
    for t in strat.closed_trades:
        entry_bar = t["baropen"] - 1
        exit_bar = t["barclose"] - 1
        assert date_to_bar[t["dtopen"]] == entry_bar, t
        assert date_to_bar[t["dtclose"]] == exit_bar, t
        # market entries fill at the open (trade.price may be 1 ulp off it);
        # "exit" (close()) fills at the open, "stop" at the open if it gapped
        # below the stop, else at the stop price, within the bar's range
        assert abs(t["entry_price"] - col["open"][entry_bar]) < 1e-9, t
        if t["exit_order"] == "exit":
            assert abs(t["exit_price"] - col["open"][exit_bar]) < 1e-9, t
        else:
            assert t["exit_order"] == "stop", t
            assert (col["low"][exit_bar] - 1e-9 <= t["exit_price"]
                    <= col["open"][exit_bar] + 1e-9), t
        assert abs(t["pnl"] - QTY * (t["exit_price"] - t["entry_price"])) < 1e-6, t
        trades.append({
            "entry_bar": entry_bar,
            "exit_bar": exit_bar,
            "qty": t["qty"],
            "entry_price": t["entry_price"],
            "exit_price": t["exit_price"],
            "pnl": t["pnl"],
            "pnl_net": t["pnl_net"],
            "exit_order": t["exit_order"],
        })

    pos = strat.position
    if pos.size:
        # (position.datetime is NOT the entry time; use the opening trade)
        ot = strat.open_trade
        assert ot is not None and abs(ot["entry_price"] - pos.price) < 1e-9
        open_position = {"qty": pos.size, "entry_bar": ot["entry_bar"],
                         "entry_price": ot["entry_price"]}
    else:
        open_position = None

    result = {
        "bars": bars,
        "final_value": cerebro.broker.getvalue(),
        "final_cash": cerebro.broker.getcash(),
        "rejected_orders": strat.rejected_orders,
        "cancelled_orders": strat.cancelled_orders,
        "closed_trades": trades,
        "open_position": open_position,
    }
    with open(out_path, "w") as f:
        # json.dump writes floats with repr(), i.e. full round-trip precision
        json.dump(result, f, indent=1)
        f.write("\n")

    by_role = {r: sum(1 for t in trades if t["exit_order"] == r) for r in ("stop", "exit")}
    wins = sum(1 for t in trades if t["pnl_net"] > 0)
    print(f"wrote {out_path} (checksubmit={checksubmit})")
    print(f"  bars={bars} next() calls={strat.next_calls} (first at bar {strat.first_next_bar})")
    print(f"  closed trades={len(trades)} closed by stop={by_role['stop']} by exit={by_role['exit']} "
          f"wins={wins} cancelled={strat.cancelled_orders} rejected={strat.rejected_orders}")
    print(f"  open_position={open_position}")
    print(f"  final value={result['final_value']!r} final cash={result['final_cash']!r}")
    print(f"  sum pnl_net={sum(t['pnl_net'] for t in trades)!r}")
    print(f"  cancel(stop) left the stop alive on bars {strat.cancel_noops}")
    print(f"  sells that left the position short: {strat.short_fills}")
    return result


def main():
    args = sys.argv[1:]
    if args:
        # experiments: [--no-checksubmit] DATA_CSV OUT_JSON
        checksubmit = "--no-checksubmit" not in args
        args = [a for a in args if a != "--no-checksubmit"]
        assert len(args) == 2, __doc__
        run(args[0], args[1], checksubmit)
        return
    run(DATA, OUT, True)
    run(DATA, OUT_NO_CHECKSUBMIT, False)


if __name__ == "__main__":
    main()
