#!/usr/bin/env python3
"""Reference pairs-trading backtest on two daily feeds from backtrader.

Runs backtrader twice and writes
    tests/reference/pairs_backtrader.json       data0 = pair_a.csv, data1 = pair_b.csv
    tests/reference/pairs_gaps_backtrader.json  data0 = pair_a.csv, data1 = pair_b_gaps.csv
(from tests/data/multi/).

Strategy, in next() (called once per date on which either feed has a bar):
    spread = log(data0.close[0]) - log(data1.close[0])
    append it to a list of the last 20 spreads (one per next() call)
    once 20 are known:
        mean = sum(window) / 20             (plain left-to-right sum)
        sd   = sqrt(sum((x - mean)**2) / 20)  (population sd, ddof = 0)
        z    = (spread - mean) / sd
        flat = no position in data0 AND none in data1
        if flat and z > 2:    sell(data0, 100); buy(data1, 100)
        elif flat and z < -2: buy(data0, 100);  sell(data1, 100)
        elif not flat and |z| < 0.5: close(data0); close(data1)
Pending (not yet filled) orders do not count as a position.

Broker as backtrader_sma_cross.py: cash 100000 (100 shares of either leg cost
at most ~6,200, so no order can be refused for cash), setcommission(
commission=0.001) (0.1% of traded value on every fill, shorts included),
market orders filled at the NEXT bar's open of the order's own data, default
checksubmit=True. Short selling is allowed (backtrader's default).

With gaps in data1 backtrader still calls next() on every date of data0; on a
date missing from data1, data1.close[0] is its last bar's close (len(data1)
does not grow). A market order for data1 fills at the open of data1's next
actual bar, which may be several data0 bars later.

Pending (not yet filled) orders are ignored by the rules above, and
backtrader's close(data) sizes its order from the position at the time of the
call. So when a close() of data1 is still waiting for data1's next bar and
next() signals "close" again, a second closing order is placed: in the gaps
case the close signalled on 2016-07-20 fills A on 07-21, B's leg waits (07-21
is missing from data1); on 07-21 the strategy is still "in position" (B -100),
|z| < 0.5, so close(data1) buys 100 more; both buys fill at B's 07-22 open (the
short is closed AND a long 100 opened), and that stray long is closed by the
close signalled on 07-22 (filled at B's 07-25 open). The JSON keeps this
behaviour; "next_calls_with_pending_orders" lists the dates on which an order
was still unfilled when next() ran.

The script runs each case with cerebro's default (runonce=True, preload) and
again with runonce=False and checks both give the same results.

Usage (from the repo root):
    tests/reference/.venv/bin/python tests/reference/backtrader_pairs.py
"""

import csv
import json
import math
import os

import backtrader as bt

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.normpath(os.path.join(HERE, "..", "data", "multi"))
CASES = [
    ("pair_a.csv", "pair_b.csv", os.path.join(HERE, "pairs_backtrader.json")),
    ("pair_a.csv", "pair_b_gaps.csv", os.path.join(HERE, "pairs_gaps_backtrader.json")),
]

QTY = 100
WINDOW = 20
ENTRY_Z = 2.0
EXIT_Z = 0.5


class Pairs(bt.Strategy):
    def __init__(self):
        self.window = []
        self.next_calls = 0
        self.prenext_calls = 0
        self.first_z = None          # (date, len(data0), len(data1))
        self.signals = []
        self.order_log = []
        self.bad_orders = []
        self.exit_fill = {}          # data name -> executed price of latest closing fill
        self.open_trades = {}        # trade.ref -> opening info
        self.closed_trades = []
        self.min_margin = math.inf   # min |z| - threshold distance over decisions
        self.pending_calls = []      # next() calls with an order still unfilled
        self.stale_calls = 0         # next() calls where data1 had no bar that date
        self.last_len1 = 0
        self.orders = []

    def prenext(self):
        self.prenext_calls += 1

    def next(self):
        self.next_calls += 1
        d0, d1 = self.data0, self.data1
        date = d0.datetime.date(0).isoformat()
        if len(d1) == self.last_len1 or d1.datetime.date(0) != d0.datetime.date(0):
            self.stale_calls += 1
        self.last_len1 = len(d1)
        spread = math.log(d0.close[0]) - math.log(d1.close[0])
        self.window.append(spread)
        if len(self.window) > WINDOW:
            del self.window[0]
        if len(self.window) < WINDOW:
            return
        if self.first_z is None:
            self.first_z = (date, len(d0), len(d1))
        s = 0.0
        for x in self.window:
            s += x
        mean = s / WINDOW
        ss = 0.0
        for x in self.window:
            ss += (x - mean) ** 2
        sd = math.sqrt(ss / WINDOW)
        z = (spread - mean) / sd
        for thr in (ENTRY_Z, -ENTRY_Z, EXIT_Z, -EXIT_Z):
            self.min_margin = min(self.min_margin, abs(z - thr))

        alive = [o for o in self.orders if o.alive()]
        if alive:
            self.pending_calls.append((date, [(o.data._name, o.ref) for o in alive]))
        p0 = self.getposition(d0).size
        p1 = self.getposition(d1).size
        flat = p0 == 0 and p1 == 0
        action = None
        if flat and z > ENTRY_Z:
            self.orders += [self.sell(data=d0, size=QTY), self.buy(data=d1, size=QTY)]
            action = "short A, long B"
        elif flat and z < -ENTRY_Z:
            self.orders += [self.buy(data=d0, size=QTY), self.sell(data=d1, size=QTY)]
            action = "long A, short B"
        elif not flat and abs(z) < EXIT_Z:
            self.orders += [o for o in (self.close(data=d0), self.close(data=d1)) if o]
            action = "close"
        if action:
            self.signals.append(dict(date=date, z=z, action=action,
                                     pos_a=p0, pos_b=p1,
                                     data1_date=d1.datetime.date(0).isoformat()))

    def notify_order(self, order):
        date = self.data0.datetime.date(0).isoformat()
        st = order.getstatusname()
        self.order_log.append((date, order.data._name, order.ref, st))
        if order.status in (order.Submitted, order.Accepted):
            return
        if order.status != order.Completed:
            self.bad_orders.append((date, order.data._name, order.ref, st))
            return
        self.exit_fill[order.data._name] = order.executed.price

    def notify_trade(self, trade):
        name = trade.data._name
        if trade.justopened:
            self.open_trades[trade.ref] = dict(
                data=name, size=trade.size, price=trade.price,
                date=trade.open_datetime().date().isoformat(), bar=trade.baropen - 1)
        if not trade.isclosed:
            return
        ot = self.open_trades.pop(trade.ref)
        self.closed_trades.append(dict(
            data=name,
            entry_time=trade.open_datetime().date().isoformat(),
            entry_bar=trade.baropen - 1,
            entry_price=trade.price,
            exit_time=trade.close_datetime().date().isoformat(),
            exit_bar=trade.barclose - 1,
            exit_price=self.exit_fill[name],
            size=ot["size"],
            pnl=trade.pnl,
            pnlcomm=trade.pnlcomm,
        ))


def load(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def feed(path, name):
    return bt.feeds.GenericCSVData(
        dataname=path, name=name,
        dtformat="%Y-%m-%d",
        datetime=0, open=1, high=2, low=3, close=4, volume=5,
        openinterest=-1,
        timeframe=bt.TimeFrame.Days,
    )


def run(a_csv, b_csv, runonce):
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce)
    cerebro.adddata(feed(a_csv, "A"))
    cerebro.adddata(feed(b_csv, "B"))
    cerebro.addstrategy(Pairs)
    cerebro.broker.setcash(100000.0)
    cerebro.broker.setcommission(commission=0.001)
    strat = cerebro.run()[0]
    return cerebro, strat


def one_case(a_name, b_name, out):
    a_csv = os.path.join(DATA_DIR, a_name)
    b_csv = os.path.join(DATA_DIR, b_name)
    rows = {"A": load(a_csv), "B": load(b_csv)}
    cerebro, strat = run(a_csv, b_csv, runonce=True)
    assert len(strat.data0) == len(rows["A"]) and len(strat.data1) == len(rows["B"])
    assert not strat.bad_orders, strat.bad_orders
    dates = sorted({r["date"] for r in rows["A"]} | {r["date"] for r in rows["B"]})
    assert strat.next_calls == len(dates), (strat.next_calls, len(dates))
    assert strat.prenext_calls == 0

    trades = []
    for t in strat.closed_trades:
        r = rows[t["data"]]
        assert r[t["entry_bar"]]["date"] == t["entry_time"], t
        assert r[t["exit_bar"]]["date"] == t["exit_time"], t
        assert abs(t["entry_price"] - float(r[t["entry_bar"]]["open"])) < 1e-9, t
        assert abs(t["exit_price"] - float(r[t["exit_bar"]]["open"])) < 1e-9, t
        assert abs(t["pnl"] - t["size"] * (t["exit_price"] - t["entry_price"])) < 1e-6, t
        comm = 0.001 * abs(t["size"]) * (t["entry_price"] + t["exit_price"])
        assert abs(t["pnlcomm"] - (t["pnl"] - comm)) < 1e-6, t
        trades.append(t)

    positions = []
    for d in (strat.data0, strat.data1):
        p = strat.getposition(d)
        if p.size:
            ot = [v for v in strat.open_trades.values() if v["data"] == d._name]
            assert len(ot) == 1
            positions.append(dict(data=d._name, size=p.size, entry_time=ot[0]["date"],
                                  entry_bar=ot[0]["bar"], entry_price=ot[0]["price"]))
    result = {
        "data0": a_name,
        "data1": b_name,
        "bars": {"A": len(strat.data0), "B": len(strat.data1)},
        "next_calls": strat.next_calls,
        "next_calls_data1_stale": strat.stale_calls,
        "first_z": {"date": strat.first_z[0], "bars_A": strat.first_z[1],
                    "bars_B": strat.first_z[2]},
        "final_value": cerebro.broker.getvalue(),
        "cash": cerebro.broker.getcash(),
        "rejected_orders": len(strat.bad_orders),
        "signals": strat.signals,
        "next_calls_with_pending_orders": [p[0] for p in strat.pending_calls],
        "trades": trades,
        "open_positions": positions,
    }

    # the same with runonce=False (event-driven next mode)
    cerebro2, strat2 = run(a_csv, b_csv, runonce=False)
    assert strat2.closed_trades == strat.closed_trades
    assert strat2.signals == strat.signals
    assert strat2.next_calls == strat.next_calls
    assert cerebro2.broker.getvalue() == result["final_value"]

    with open(out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")

    print(f"wrote {out}")
    print(f"  bars A={len(strat.data0)} B={len(strat.data1)} next() calls={strat.next_calls} "
          f"(data1 stale on {strat.stale_calls}) first z on {strat.first_z}")
    print(f"  signals={len(strat.signals)} trades={len(trades)} "
          f"(A {sum(t['data'] == 'A' for t in trades)}, B {sum(t['data'] == 'B' for t in trades)}) "
          f"open={positions} bad orders={strat.bad_orders}")
    print(f"  final value={result['final_value']!r} cash={result['cash']!r}")
    print(f"  min distance of z to +-2 / +-0.5 = {strat.min_margin!r}")
    print(f"  next() calls with an unfilled order: {strat.pending_calls}")
    return result


def main():
    for a, b, out in CASES:
        one_case(a, b, out)


if __name__ == "__main__":
    main()
