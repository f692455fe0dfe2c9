#!/usr/bin/env python3
"""Reference minute strategy with a daily filter (a resampled second feed) from backtrader.

Runs backtrader on tests/data/multi/minute.csv and writes
tests/reference/daily_filter_backtrader.json.

Feeds:
    data0 = minute.csv, GenericCSVData, TimeFrame.Minutes, compression 1, naive
            timestamps taken as given (no tz / tzinput: backtrader then does no
            time-zone conversion at all), default sessionstart/sessionend
            (00:00 / 23:59:59.999990).
    data1 = cerebro.resampledata(data0, timeframe=TimeFrame.Days, compression=1)
            (default Resampler parameters: bar2edge, adjbartime, rightedge True).

Strategy (long only, 10 shares), evaluated in next() on every minute bar:
    f = SMA(data0.close, 10), s = SMA(data0.close, 30), x = CrossOver(f, s)
    d = SMA(data1.close, 5)                  (the daily SMA of completed days)
    if not in position and x[0] > 0 and data0.close[0] > d[0]: buy(size=10)
    elif in position and x[0] < 0: close()
Broker as backtrader_sma_cross.py: cash 100000, setcommission(commission=0.001)
(0.1% of traded value on entry and exit), market orders filled at the NEXT
minute bar's open, default checksubmit=True.

The JSON also holds "daily_visible": for every bar of data1, the daily close
and SMA(5) backtrader built and the data0 datetime of the first strategy call
(prenext/nextstart/next) in which len(data1) had grown to include that bar.

What backtrader does (checked by the script's assertions):
  * day D's bar (datetime D 23:59:59.999989, the default sessionend) appears in
    data1 at the FIRST minute bar of the next trading day (09:30), never during
    day D; across the weekend, the 2024-03-13 holiday and after the half day.
  * the last day's bar is only delivered at the end of the data (the
    resampler's last()), in ONE EXTRA strategy call after the last minute bar:
    data0 is still on 2024-03-29 15:59 (same bar, indicators not advanced), so
    there are 9,181 strategy calls for 9,180 minute bars.
  * next() starts on the first minute bar on which d = SMA(data1.close, 5) has
    a value (data1 has 5 bars: 2024-03-04 09:30, bar 1950); before that
    prenext(). nextstart() is called on every bar of that first day (while
    len(data1) == 5), not once; its default just calls next().

Usage (from the repo root):
    tests/reference/.venv/bin/python tests/reference/backtrader_daily_filter.py
"""

import csv
import datetime
import json
import math
import os

import backtrader as bt

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "data", "multi", "minute.csv"))
DAILY = os.path.normpath(os.path.join(HERE, "..", "data", "multi", "minute_daily.csv"))
OUT = os.path.join(HERE, "daily_filter_backtrader.json")

QTY = 10
FMT = "%Y-%m-%d %H:%M:%S"


class DailyFilter(bt.Strategy):
    def __init__(self):
        self.f = bt.indicators.SMA(self.data0.close, period=10)
        self.s = bt.indicators.SMA(self.data0.close, period=30)
        self.x = bt.indicators.CrossOver(self.f, self.s)
        self.d = bt.indicators.SMA(self.data1.close, period=5)
        self.calls = 0               # prenext + nextstart + next calls
        self.next_calls = 0          # next() calls, incl. those via nextstart()
        self.nextstart_calls = 0
        self.signals = []            # orders placed: data0 time, action, data1 length
        self.first_next = None       # (len(data0), data0 datetime)
        self.last_len0 = 0
        self.last_len1 = 0
        self.visible = []            # per data1 bar: data0 state when it appeared
        self.calls_without_data0 = []  # calls in which data0 did not advance
        self.order_log = []
        self.bad_orders = []         # any final status other than Completed
        self.last_exit = None        # (price, datetime) of the latest closing fill
        self.open_trade = None
        self.closed_trades = []
        self.min_fs_gap = math.inf   # smallest |f - s| seen in next()
        self.min_close_d_gap = math.inf  # smallest |close - d| on a cross-up bar

    # -- bookkeeping common to prenext / next
    def _track(self):
        self.calls += 1
        l0, l1 = len(self.data0), len(self.data1)
        self.data0_advanced = l0 > self.last_len0
        if not self.data0_advanced:
            self.calls_without_data0.append(
                (l0, self.data0.datetime.datetime(0).strftime(FMT), l1, self.calls))
        while l1 > len(self.visible):
            self.visible.append(dict(
                seen_at=self.data0.datetime.datetime(0).strftime(FMT),
                seen_at_bar=l0 - 1,
                data0_advanced=l0 > self.last_len0,
            ))
        self.last_len0, self.last_len1 = l0, l1

    def prenext(self):
        self._track()

    # backtrader calls nextstart() (whose default just calls next()) while the
    # strategy's min-period status is exactly 0, i.e. on EVERY minute bar of
    # the first day on which len(data1) == 5, not only once; next() after.
    def nextstart(self):
        self.nextstart_calls += 1
        self.next()

    def next(self):
        if self.first_next is None:
            self.first_next = (len(self.data0),
                               self.data0.datetime.datetime(0).strftime(FMT),
                               len(self.data1))
        self._track()
        self.next_calls += 1
        self.min_fs_gap = min(self.min_fs_gap, abs(self.f[0] - self.s[0]))
        if self.x[0] > 0:
            self.min_close_d_gap = min(self.min_close_d_gap,
                                       abs(self.data0.close[0] - self.d[0]))
        if not self.position and self.x[0] > 0 and self.data0.close[0] > self.d[0]:
            self.buy(data=self.data0, size=QTY)
            self._signal("buy")
        elif self.position and self.x[0] < 0:
            self.close(data=self.data0)
            self._signal("close")

    def _signal(self, action):
        self.signals.append(dict(time=self.data0.datetime.datetime(0).strftime(FMT),
                                 bar=len(self.data0) - 1, action=action,
                                 daily_bars=len(self.data1),
                                 data0_advanced=self.data0_advanced))

    def notify_order(self, order):
        st = order.getstatusname()
        self.order_log.append((self.data0.datetime.datetime(0).strftime(FMT),
                               order.ref, st))
        if order.status in (order.Submitted, order.Accepted):
            return
        if order.status != order.Completed:
            self.bad_orders.append((self.data0.datetime.datetime(0).strftime(FMT),
                                    order.ref, st))
            return
        if order.issell():
            # notify_order of the fill comes before the notify_trade it causes
            self.last_exit = order.executed.price

    def notify_trade(self, trade):
        if trade.justopened:
            self.open_trade = dict(size=trade.size, price=trade.price,
                                   dt=trade.open_datetime(), bar=trade.baropen - 1)
        if not trade.isclosed:
            return
        ot = self.open_trade
        self.open_trade = None
        self.closed_trades.append(dict(
            entry_time=trade.open_datetime().strftime(FMT),
            entry_bar=trade.baropen - 1,
            entry_price=trade.price,
            exit_time=trade.close_datetime().strftime(FMT),
            exit_bar=trade.barclose - 1,
            exit_price=self.last_exit,
            size=ot["size"],
            pnl=trade.pnl,
            pnlcomm=trade.pnlcomm,
        ))


def run(runonce):
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce)
    data0 = bt.feeds.GenericCSVData(
        dataname=DATA,
        dtformat=FMT,
        datetime=0, open=1, high=2, low=3, close=4, volume=5,
        openinterest=-1,
        timeframe=bt.TimeFrame.Minutes, compression=1,
    )
    cerebro.adddata(data0, name="minute")
    cerebro.resampledata(data0, timeframe=bt.TimeFrame.Days, compression=1, name="daily")
    cerebro.addstrategy(DailyFilter)
    cerebro.broker.setcash(100000.0)
    cerebro.broker.setcommission(commission=0.001)
    strat = cerebro.run()[0]
    return cerebro, strat


def main():
    with open(DATA, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(DAILY, newline="") as f:
        daily_rows = list(csv.DictReader(f))
    time_to_bar = {r["datetime"]: i for i, r in enumerate(rows)}
    opens = [float(r["open"]) for r in rows]

    cerebro, strat = run(runonce=True)


    d0, d1 = strat.data0, strat.data1
    assert len(d0) == len(rows), (len(d0), len(rows))
    assert len(d1) == len(daily_rows), (len(d1), len(daily_rows))
    # One strategy call per minute bar, plus ONE extra call after the last
    # minute bar: at the end of the data the resampler's last() delivers the
    # final day's bar and cerebro runs the strategy once more, with data0
    # still on its last bar (same datetime, indicators not advanced).
    assert strat.calls == len(rows) + 1, (strat.calls, len(rows))
    assert [c[:3] for c in strat.calls_without_data0] == [
        (len(rows), rows[-1]["datetime"], len(daily_rows))], strat.calls_without_data0
    assert not strat.bad_orders, strat.bad_orders

    # the daily bars backtrader built (len(d1) bars; index -k is k bars ago)
    n1 = len(d1)
    daily_visible = []
    for i in range(n1):
        ago = i - (n1 - 1)
        bar_dt = d1.datetime.datetime(ago)
        sma = strat.d[ago]
        row = daily_rows[i]
        assert bar_dt.date().isoformat() == row["date"], (bar_dt, row)
        for k in ("open", "high", "low", "close"):
            assert getattr(d1, k)[ago] == float(row[k]), (k, bar_dt, row)
        assert int(d1.volume[ago]) == int(row["volume"]), (bar_dt, row)
        v = strat.visible[i] if i < len(strat.visible) else None
        daily_visible.append(dict(
            date=bar_dt.date().isoformat(),
            bar_datetime=bar_dt.strftime("%Y-%m-%d %H:%M:%S.%f"),
            close=d1.close[ago],
            sma5=None if math.isnan(sma) else sma,
            visible_at=v["seen_at"] if v else None,
            visible_at_bar=v["seen_at_bar"] if v else None,
        ))

    trades = []
    for t in strat.closed_trades:
        assert time_to_bar[t["entry_time"]] == t["entry_bar"], t
        assert time_to_bar[t["exit_time"]] == t["exit_bar"], t
        assert abs(t["entry_price"] - opens[t["entry_bar"]]) < 1e-9, t
        assert abs(t["exit_price"] - opens[t["exit_bar"]]) < 1e-9, t
        assert abs(t["pnl"] - t["size"] * (t["exit_price"] - t["entry_price"])) < 1e-6, t
        trades.append(t)

    pos = strat.getposition(d0)
    if pos.size:
        ot = strat.open_trade
        open_position = dict(size=pos.size, entry_time=ot["dt"].strftime(FMT),
                             entry_bar=ot["bar"], entry_price=ot["price"])
    else:
        open_position = None

    result = {
        "bars": len(d0),
        "daily_bars": n1,
        "strategy_calls": strat.calls,
        "next_calls": strat.next_calls,
        "first_next": {"bar": strat.first_next[0] - 1, "datetime": strat.first_next[1],
                       "daily_bars": strat.first_next[2]},
        "extra_final_call": {"bar": len(rows) - 1, "datetime": rows[-1]["datetime"],
                             "daily_bars": len(daily_rows)},
        "final_value": cerebro.broker.getvalue(),
        "final_cash": cerebro.broker.getcash(),
        "rejected_orders": len(strat.bad_orders),
        "signals": strat.signals,
        "unfilled_orders": [dict(ref=o.ref, status=o.getstatusname())
                            for o in cerebro.broker.orders if o.alive()],
        "trades": trades,
        "open_position": open_position,
        "daily_visible": daily_visible,
    }
    # the same with runonce=False (event-driven next mode)
    cerebro2, strat2 = run(runonce=False)
    assert strat2.closed_trades == strat.closed_trades
    assert strat2.signals == strat.signals
    assert strat2.visible == strat.visible
    assert (strat2.calls, strat2.next_calls) == (strat.calls, strat.next_calls)
    assert cerebro2.broker.getvalue() == result["final_value"]

    with open(OUT, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")

    # --- report
    print(f"wrote {OUT}")
    print(f"bars={len(d0)} daily bars={n1} strategy calls={strat.calls} "
          f"next() calls={strat.next_calls} (nextstart {strat.nextstart_calls}) "
          f"first next at {strat.first_next}; calls without data0 advancing: "
          f"{strat.calls_without_data0}")
    print(f"signals={len(strat.signals)} last={strat.signals[-1]} "
          f"unfilled={result['unfilled_orders']}")
    print(f"trades={len(trades)} wins={sum(t['pnlcomm'] > 0 for t in trades)} "
          f"open_position={open_position} bad orders={strat.bad_orders}")
    print(f"final value={result['final_value']!r} cash={result['final_cash']!r}")
    print(f"min |f-s| in next()={strat.min_fs_gap!r}; "
          f"min |close-d| on a cross-up bar={strat.min_close_d_gap!r}")
    days = [r["date"] for r in daily_rows]
    first_of_day = {}
    for i, r in enumerate(rows):
        first_of_day.setdefault(r["datetime"][:10], (i, r["datetime"]))
    for i, dv in enumerate(daily_visible):
        nxt = first_of_day.get(days[i + 1]) if i + 1 < len(days) else None
        where = ("first minute of next day" if nxt and dv["visible_at_bar"] == nxt[0]
                 else "OTHER")
        print(f"  {dv['date']} bar_dt={dv['bar_datetime']} close={dv['close']} "
              f"sma5={dv['sma5']} visible_at={dv['visible_at']} ({where})")


if __name__ == "__main__":
    main()
