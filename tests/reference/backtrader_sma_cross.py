#!/usr/bin/env python3
"""Reference SMA(10)/SMA(30) crossover backtest from backtrader.

Runs backtrader on tests/data/ohlcv_12000.csv and writes
tests/reference/sma_cross_backtrader.json.

Strategy (long only, fixed 100 shares):
    fast = SMA(close, 10), slow = SMA(close, 30)
    next():
      if not in position and fast[0] > slow[0] and fast[-1] <= slow[-1]: buy(size=100)
      elif position.size > 0 and fast[0] < slow[0] and fast[-1] >= slow[-1]: close()
Broker: cash 100000, setcommission(commission=0.001) (0.1% of traded value,
charged on both entry and exit), market orders (filled at the NEXT bar's open),
default checksubmit=True (cash check when the order is submitted to the broker).

Bar index convention used in the JSON (0-based, like the CSV's row order):
    bar index i  <=>  the (i+1)-th data row  <=>  len(data) == i + 1 while
    backtrader processes that bar.
``entry_bar`` / ``exit_bar`` are the bars on which the orders were FILLED
(signal bar + 1, at that bar's open), not the signal bars. backtrader's
``trade.baropen`` / ``trade.barclose`` hold ``len(data)`` at fill time, i.e.
1-based, so entry_bar = trade.baropen - 1 and exit_bar = trade.barclose - 1.
As a cross-check the script also maps trade.dtopen / trade.dtclose (the fill
bars' datetimes) back to row indices and asserts both agree.

Usage (from the repo root):
    tests/reference/.venv/bin/python tests/reference/backtrader_sma_cross.py
"""

import csv
import datetime
import json
import os
import sys

import backtrader as bt

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "data", "ohlcv_12000.csv"))
OUT = os.path.join(HERE, "sma_cross_backtrader.json")

QTY = 100


class SmaCross(bt.Strategy):
    params = dict(fast=10, slow=30)

    def __init__(self):
        self.fast = bt.indicators.SMA(self.data.close, period=self.p.fast)
        self.slow = bt.indicators.SMA(self.data.close, period=self.p.slow)
        self.closed_trades = []
        self.rejected_orders = 0
        self.order_log = []          # every order status change, for debugging
        self.last_exit_price = None  # executed price of the latest completed sell
        self.first_next_len = None
        self.next_calls = 0
        self.signal_log = []         # (signal bar index, 'buy'/'close')
        self.open_trade = None

    def next(self):
        if self.first_next_len is None:
            self.first_next_len = len(self.data)
        self.next_calls += 1
        f0, f1 = self.fast[0], self.fast[-1]
        s0, s1 = self.slow[0], self.slow[-1]
        bar = len(self.data) - 1
        if not self.position and f0 > s0 and f1 <= s1:
            self.buy(size=QTY)
            self.signal_log.append((bar, "buy"))
        elif self.position.size > 0 and f0 < s0 and f1 >= s1:
            self.close()
            self.signal_log.append((bar, "close"))

    def notify_order(self, order):
        bar = len(self.data) - 1
        self.order_log.append((bar, order.ref, order.getstatusname(),
                               "buy" if order.isbuy() else "sell"))
        if order.status in (order.Margin, order.Rejected):
            self.rejected_orders += 1
        elif order.status == order.Completed and order.issell():
            # notify_order for an execution is delivered before the
            # notify_trade it causes (Strategy._notify handles orders first)
            self.last_exit_price = order.executed.price

    def notify_trade(self, trade):
        if trade.justopened:
            # remembered for "open_position" if the run ends with it open
            self.open_trade = dict(entry_bar=trade.baropen - 1, entry_price=trade.price)
        if not trade.isclosed:
            return
        self.open_trade = None
        self.closed_trades.append(dict(
            baropen=trade.baropen,
            barclose=trade.barclose,
            dtopen=trade.open_datetime().date(),
            dtclose=trade.close_datetime().date(),
            # trade.size is 0 once closed; the opening size is in history
            # only with tradehistory=True, so use the fixed QTY and check it
            # against the pnl below.
            qty=QTY,
            entry_price=trade.price,
            exit_price=self.last_exit_price,
            pnl=trade.pnl,
            pnl_net=trade.pnlcomm,
        ))


def main():
    global DATA, OUT
    # optional: backtrader_sma_cross.py [DATA_CSV OUT_JSON] (for experiments)
    if len(sys.argv) == 3:
        DATA, OUT = sys.argv[1], sys.argv[2]
    with open(DATA, newline="") as f:
        rows = list(csv.DictReader(f))
    n_rows = len(rows)
    date_to_bar = {datetime.date.fromisoformat(r["date"]): i for i, r in enumerate(rows)}
    opens = [float(r["open"]) for r in rows]

    cerebro = bt.Cerebro(stdstats=False)
    data = bt.feeds.GenericCSVData(
        dataname=DATA,
        dtformat="%Y-%m-%d",
        datetime=0, open=1, high=2, low=3, close=4, volume=5,
        openinterest=-1,
        timeframe=bt.TimeFrame.Days,
    )
    cerebro.adddata(data)
    cerebro.addstrategy(SmaCross)
    cerebro.broker.setcash(100000.0)
    cerebro.broker.setcommission(commission=0.001)
    strat = cerebro.run()[0]

    bars = len(strat.data)
    assert bars == n_rows, f"backtrader saw {bars} bars, CSV has {n_rows}"

    trades = []
    for t in strat.closed_trades:
        entry_bar = t["baropen"] - 1
        exit_bar = t["barclose"] - 1
        assert date_to_bar[t["dtopen"]] == entry_bar, t
        assert date_to_bar[t["dtclose"]] == exit_bar, t
        # Market orders fill at the fill bar's open, no slippage. But both
        # recorded prices are running averages and can be 1 ulp off the open:
        # order.executed.price (exit) is (0*0 + (-100)*open)/(-100), and
        # trade.price (entry)
        # is backtrader's running average (oldsize*price + size*fill)/newsize
        # = (100*open)/100, which can differ from the open by 1 ulp
        # (e.g. 94.58840000000001 for 94.5884); trade.pnl is computed from
        # that trade.price, so it carries the same tiny error.
        assert abs(t["entry_price"] - opens[entry_bar]) < 1e-9, t
        assert abs(t["exit_price"] - opens[exit_bar]) < 1e-9, t
        assert abs(t["pnl"] - QTY * (t["exit_price"] - t["entry_price"])) < 1e-6, t
        trades.append({
            "entry_bar": entry_bar,
            "exit_bar": exit_bar,
            "qty": t["qty"],
            "entry_price": t["entry_price"],
            "exit_price": t["exit_price"],
            "pnl": t["pnl"],
            "pnl_net": t["pnl_net"],
        })

    pos = strat.position
    if pos.size:
        # (position.datetime is NOT the entry time: the broker overwrites it
        # on every bar while a position is held, so use the trade instead)
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
        "closed_trades": trades,
        "open_position": open_position,
    }
    with open(OUT, "w") as f:
        # json.dump writes floats with repr(), i.e. full round-trip precision
        json.dump(result, f, indent=1)
        f.write("\n")

    wins = sum(1 for t in trades if t["pnl_net"] > 0)
    print(f"wrote {OUT}")
    print(f"bars={bars} first next() at len(data)={strat.first_next_len} "
          f"(bar {strat.first_next_len - 1}), next() calls={strat.next_calls}")
    print(f"signals={len(strat.signal_log)} closed trades={len(trades)} wins={wins} "
          f"rejected={strat.rejected_orders} open_position={open_position}")
    print(f"final value={result['final_value']!r} final cash={result['final_cash']!r}")
    print(f"sum pnl_net={sum(t['pnl_net'] for t in trades)!r}")
    for t in trades[:3] + trades[-2:]:
        print("  ", t)
    print("first signals:", strat.signal_log[:4])


if __name__ == "__main__":
    main()
