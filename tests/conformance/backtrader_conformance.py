#!/usr/bin/env python3
"""The conformance cases of tests/conformance/, run by backtrader.

For every case below this writes tests/conformance/expected/<case>.json: the closed trades, the
fills, the order counts and the final account of the same strategy as the case's .btl file, run by
backtrader's BackBroker on the same bars with the same costs. tests/conformance.rs runs btl on each
case and compares.

Usage (from the repository root; see tests/conformance/README.md):
    tests/reference/.venv/bin/python tests/conformance/backtrader_conformance.py [CASE ...]

How a btl strategy is written here
----------------------------------
- The strategy's series (sma, highest, lowest, ...) are computed up front in plain Python with
  exactly the floating-point operations of btl's stdlib (see the `stdlib replicas` below), so that
  order prices agree to the last bit; backtrader's own indicators are not used.
- `next()` is called on every bar; bars before the btl strategy's warm-up bar (`warmup` of the
  case, checked against btl by the Rust test) place no orders, as btl drops them.
- Bars are 0-based row indices of the CSV. A fill's bar is the bar of its execution datetime
  (`order.executed` bits), so fills at the next open are on the bar after the signal.
- btl's inputs: `position` = position.size, `entry_price` = position.price (nan when flat),
  `pending_orders` = len(broker.pending) (accepted, not yet filled, cancelled or expired; bracket
  legs included), `equity` = broker.getvalue() (cash + position at this bar's close).
- btl's actions map to backtrader orders one to one (see `Strategy` below); "valid for N bars"
  = `valid=` the datetime of bar t+N (fillable on bars t+1..t+N, expired on bar t+N+1);
  percentages of trailing stops are btl's percent / 100.
- Closed trades: entry bar, exit bar and the largest signed size come from the fills (a reversal
  closes one trade and opens the next on the same fill, as in backtrader's Trade bookkeeping);
  entry price (average), pnl and pnl net of commission are backtrader's `Trade.price`, `Trade.pnl`
  and `Trade.pnlcomm`; the exit price is the average price of the closing fills.
"""

import csv
import datetime
import json
import math
import os
import sys
import tempfile

import backtrader as bt

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT_DIR = os.path.join(HERE, "expected")
NAN = float("nan")
SESSION_END = datetime.time(23, 59, 59, 999990)  # backtrader's default for daily bars


# --- stdlib replicas: the same floating-point operations as stdlib/*.btl ------------------------

def nz(x):
    return 0.0 if math.isnan(x) else x


def at(src, t, k):
    """src[k] on bar t: k bars ago, na before the first bar."""
    return src[t - k] if t - k >= 0 else NAN


def shift(src, k):
    return [at(src, t, k) for t in range(len(src))]


def sma(src, n):
    # let total = nz(total[1]) + nz(src) - nz(src[n])
    # if not na(src[n - 1]) { total / n } else { na }
    out, total = [], 0.0
    for t in range(len(src)):
        total = total + nz(src[t]) - nz(at(src, t, n))
        out.append(total / n if not math.isnan(at(src, t, n - 1)) else NAN)
    return out


def _window(src, n, pick):
    out = []
    for t in range(len(src)):
        xs = [at(src, t, i) for i in range(n)]
        out.append(NAN if any(math.isnan(x) for x in xs) else pick(xs))
    return out


def highest(src, n):
    return _window(src, n, max)


def lowest(src, n):
    return _window(src, n, min)


def crossover(a, b, t):
    return t >= 1 and a[t] > b[t] and at(a, t, 1) <= at(b, t, 1)


def crossunder(a, b, t):
    return t >= 1 and a[t] < b[t] and at(a, t, 1) >= at(b, t, 1)


def positive(x):
    return x is not None and math.isfinite(x) and x > 0


# --- commission: a fraction of value plus an amount per unit, at least a minimum -----------------

class PerUnitMin(bt.CommInfoBase):
    """btl's commission: max(minimum, |size| * price * fraction + |size| * per_unit), charged on
    each part of a fill (closing and opening)."""
    params = (
        ("stocklike", True),
        ("commtype", bt.CommInfoBase.COMM_FIXED),
        ("percabs", True),
        ("fraction", 0.0),
        ("per_unit", 0.0),
        ("minimum", 0.0),
    )

    def _getcommission(self, size, price, pseudoexec):
        size = abs(size)
        return max(size * price * self.p.fraction + size * self.p.per_unit, self.p.minimum)


# --- a backtrader quirk btl does not copy --------------------------------------------------------

class FixedSellLimitSlip(bt.brokers.BackBroker):
    """BackBroker with one line of `_try_exec_limit` corrected: a sell limit that the open gaps
    through slips down from the open to no lower than max(low, limit). backtrader 1.9.78.123
    computes that floor (`pmin = max(plow, plimit)`) but then passes `plimit` to `_slip_down`, so
    the slipped fill can be below the bar's low (a price that never traded); the buy side uses its
    `pmax = min(phigh, plimit)` correctly. btl keeps slipped fills within the bar, on both sides.
    Only the slippage cases use this broker; without slippage the two are identical."""

    def _try_exec_limit(self, order, popen, phigh, plow, plimit):
        if not order.isbuy() and plimit <= popen:
            pmin = max(plow, plimit)
            p = self._slip_down(pmin, popen, doslip=self.p.slip_open, lim=True)
            self._execute(order, ago=0, price=p)
            return
        super()._try_exec_limit(order, popen, phigh, plow, plimit)


# --- the strategy host: btl's inputs and actions on top of backtrader ----------------------------

class Strategy(bt.Strategy):
    params = dict(case=None, series=None, dates=None)

    def __init__(self):
        self.case = self.p.case
        self.s = self.p.series
        self.dates = self.p.dates
        self.bar_of = {d: i for i, d in enumerate(self.dates)}
        self.counts = dict(rejected=0, expired=0, cancelled=0, invalid=0)
        self.fills = []            # (bar, signed size, price)
        self.mpos = 0.0            # the position, mirrored from the fills
        self.mtrade = None         # the open trade, mirrored from the fills
        self.mclosed = []          # closed trades from the fills
        self.btclosed = []         # closed trades as backtrader's Trade objects report them
        self.t = -1

    # inputs
    @property
    def pos(self):
        return self.position.size

    @property
    def entry_price(self):
        return self.position.price if self.position.size else NAN

    @property
    def pending_orders(self):
        return len(self.broker.pending)

    @property
    def equity(self):
        return self.broker.getvalue()

    def next(self):
        self.t = t = len(self.data) - 1
        want = bt.date2num(datetime.datetime.combine(self.dates[t], SESSION_END))
        assert self.data.datetime[0] == want, (t, self.data.datetime[0], want)
        if t < self.case["warmup"]:
            return
        self.case["logic"](self, t, self.s)

    # actions
    def _valid(self, bars):
        if bars is None:
            return None
        k = self.t + int(bars)
        if k >= len(self.dates):
            return datetime.datetime.combine(self.dates[-1] + datetime.timedelta(days=3650),
                                             SESSION_END)
        return datetime.datetime.combine(self.dates[k], SESSION_END)

    def _ok(self, *xs, bars=None):
        if all(positive(x) for x in xs) and (bars is None or (math.isfinite(bars) and bars >= 1)):
            return True
        self.counts["invalid"] += 1
        return False

    def buy_(self, q):
        if self._ok(q):
            self.buy(size=q)

    def sell_(self, q):
        if self._ok(q):
            self.sell(size=q)

    def close_position(self):
        self.close()

    def _order(self, side, q, bars, **kw):
        f = self.buy if side > 0 else self.sell
        f(size=q, valid=self._valid(bars), **kw)

    def limit_(self, side, q, price, bars=None):
        if self._ok(q, price, bars=bars):
            self._order(side, q, bars, price=price, exectype=bt.Order.Limit)

    def stop_(self, side, q, price, bars=None):
        if self._ok(q, price, bars=bars):
            self._order(side, q, bars, price=price, exectype=bt.Order.Stop)

    def stop_limit_(self, side, q, stop, limit, bars=None):
        if self._ok(q, stop, limit, bars=bars):
            self._order(side, q, bars, price=stop, plimit=limit, exectype=bt.Order.StopLimit)

    def trail_(self, side, q, amount, bars=None):
        if self._ok(q, amount, bars=bars):
            self._order(side, q, bars, trailamount=amount, exectype=bt.Order.StopTrail)

    def trail_pct_(self, side, q, percent, bars=None):
        if self._ok(q, percent, bars=bars):
            self._order(side, q, bars, trailpercent=percent / 100.0, exectype=bt.Order.StopTrail)

    def bracket_(self, side, q, stop, target):
        if self._ok(q, stop, target):
            f = self.buy_bracket if side > 0 else self.sell_bracket
            f(size=q, exectype=bt.Order.Market, stopprice=stop, limitprice=target)

    def cancel_all(self):
        for o in list(self.broker.pending):
            self.broker.cancel(o)

    # notifications
    def notify_order(self, order):
        if order.status in (order.Margin, order.Rejected):
            self.counts["rejected"] += 1
        elif order.status == order.Expired:
            self.counts["expired"] += 1
        elif order.status == order.Canceled:
            self.counts["cancelled"] += 1
        for bit in order.executed.iterpending():
            bar = self.bar_of[bt.num2date(bit.dt).date()]
            self.on_fill(bar, bit.size, bit.price)

    def on_fill(self, bar, size, price):
        self.fills.append((bar, size, price))
        pos = self.mpos
        if pos == 0:
            self.mtrade = dict(entry_bar=bar, qty=size, closed_size=0.0, closed_value=0.0)
        elif (pos > 0) == (size > 0):
            if abs(pos + size) > abs(self.mtrade["qty"]):
                self.mtrade["qty"] = pos + size
        else:
            closing = min(abs(size), abs(pos))
            self.mtrade["closed_size"] += closing
            self.mtrade["closed_value"] += closing * price
            if abs(size) >= abs(pos):
                tr = self.mtrade
                self.mclosed.append(dict(entry_bar=tr["entry_bar"], exit_bar=bar, qty=tr["qty"],
                                         exit_price=tr["closed_value"] / tr["closed_size"]))
                rest = pos + size
                self.mtrade = (dict(entry_bar=bar, qty=rest, closed_size=0.0, closed_value=0.0)
                               if rest != 0 else None)
        self.mpos = pos + size

    def notify_trade(self, trade):
        if trade.isclosed:
            self.btclosed.append(dict(
                entry_bar=self.bar_of[trade.open_datetime().date()],
                exit_bar=self.bar_of[trade.close_datetime().date()],
                entry_price=trade.price, pnl=trade.pnl, pnl_net=trade.pnlcomm))


# --- the cases ------------------------------------------------------------------------------------

def ind_market_close(c, h, l):
    return dict(trend=sma(c, 50), fast=sma(c, 5), low3=lowest(shift(c, 1), 3))


def logic_market_close(s, t, x):
    close = x["close"][t]
    pos = s.pos
    if pos == 0 and close > x["trend"][t] and close < x["low3"][t]:
        s.buy_(math.floor(s.equity * 0.998 / close))
    if pos > 0 and (close > x["fast"][t] * 1.01 or close < s.entry_price * 0.96):
        s.close_position()


def ind_limit_expiry(c, h, l):
    return dict(trend=sma(c, 20))


def logic_limit_expiry(s, t, x):
    close = x["close"][t]
    pos, pending = s.pos, s.pending_orders
    stop_out = pos > 0 and close < s.entry_price * 0.95
    if pos == 0 and pending == 0 and close < x["trend"][t]:
        s.limit_(+1, 100, close * (1 - 0.01), 3)
    if stop_out:
        s.cancel_all()
        s.close_position()
    if pos > 0 and pending == 0 and not stop_out:
        s.limit_(-1, pos, s.entry_price * 1.02, 5)


def ind_stop_entry(c, h, l):
    return dict(trend=sma(c, 50), floor=lowest(l, 10), ceiling=highest(h, 10))


def logic_stop_entry(s, t, x):
    close = x["close"][t]
    pos, pending = s.pos, s.pending_orders
    if pos == 0 and pending == 0 and close > x["trend"][t]:
        s.stop_(+1, 100, close * 1.002, 2)
    if pos == 0 and pending == 0 and close < x["trend"][t]:
        s.stop_limit_(-1, 100, close * 0.998, close * 0.995, 2)
    if pos > 0:
        s.cancel_all()
        s.stop_(-1, pos, x["floor"][t])
    if pos < 0:
        s.cancel_all()
        s.stop_(+1, -pos, x["ceiling"][t])


def ind_stop_limit(c, h, l):
    return dict(trend=sma(c, 20))


def logic_stop_limit(s, t, x):
    close, trend = x["close"][t], x["trend"][t]
    pos, pending, ep = s.pos, s.pending_orders, s.entry_price
    flat = pos == 0 and pending == 0
    exit_long = pos > 0 and close < trend
    exit_short = pos < 0 and close > trend
    if flat and close > trend:
        s.stop_limit_(+1, 100, close * 1.004, close * 1.006, 3)
    if flat and close < trend:
        s.stop_limit_(-1, 100, close * 0.996, close * 0.994, 3)
    if exit_long or exit_short:
        s.cancel_all()
        s.close_position()
    if pos > 0 and pending == 0 and not exit_long:
        s.stop_limit_(-1, pos, ep * 0.98, ep * 0.985)
    if pos < 0 and pending == 0 and not exit_short:
        s.stop_limit_(+1, -pos, ep * 1.02, ep * 1.015)


def ind_sma_10_30(c, h, l):
    return dict(f=sma(c, 10), s=sma(c, 30))


def logic_short_reversal(s, t, x):
    close = x["close"][t]
    pos = s.pos
    q = math.floor(20000 / close)
    half = math.floor(q / 2)
    up, down = crossover(x["f"], x["s"], t), crossunder(x["f"], x["s"], t)
    if up and pos < q:
        s.buy_(q - pos)
    if down and pos > -q:
        s.sell_(q + pos)
    ep = s.entry_price
    if pos > 0 and pos < 2 * q and close > ep * 1.04:
        s.buy_(half)
    if pos < 0 and pos > -2 * q and close < ep * 0.96:
        s.sell_(half)
    if pos > q and close < ep:
        s.sell_(math.floor(pos / 2))
    if pos < -q and close > ep:
        s.buy_(math.floor(-pos / 2))


def logic_reversal_all_in(s, t, x):
    close = x["close"][t]
    pos = s.pos
    q = math.floor(s.equity * 0.97 / close)
    if crossover(x["f"], x["s"], t) and pos <= 0:
        s.buy_(q - pos)
    if crossunder(x["f"], x["s"], t) and pos >= 0:
        s.sell_(q + pos)


def ind_bracket(c, h, l):
    return dict(hi=highest(shift(h, 1), 20), lo=lowest(shift(l, 1), 20),
                stop_long=lowest(l, 5), stop_short=highest(h, 5))


def logic_bracket(s, t, x):
    close = x["close"][t]
    pos, pending = s.pos, s.pending_orders
    sl, ss = x["stop_long"][t], x["stop_short"][t]
    if pos == 0 and pending == 0 and close > x["hi"][t]:
        s.bracket_(+1, 100, sl, close + 2 * (close - sl))
    if pos == 0 and pending == 0 and close < x["lo"][t]:
        s.bracket_(-1, 100, ss, close - 2 * (ss - close))


def ind_trailing(c, h, l):
    return dict(f=sma(c, 20))


def logic_trailing(s, t, x):
    close = x["close"][t]
    pos, pending = s.pos, s.pending_orders
    if pos == 0 and pending == 0 and crossover(x["close"], x["f"], t):
        s.trail_(+1, 100, close * 0.015, 10)
    if pos == 0 and pending == 0 and crossunder(x["close"], x["f"], t):
        s.trail_pct_(-1, 100, 1.5, 10)
    if pos > 0 and pending == 0:
        s.trail_(-1, pos, close * 0.03)
    if pos < 0 and pending == 0:
        s.trail_pct_(+1, -pos, 3)


def ind_commission_min(c, h, l):
    return dict(f=sma(c, 5), s=sma(c, 20), trend=sma(c, 100))


def logic_commission_min(s, t, x):
    close = x["close"][t]
    pos = s.pos
    q = 450 if close > x["trend"][t] else 120
    if crossover(x["f"], x["s"], t) and pos <= 0:
        s.buy_(q - pos)
    if crossunder(x["f"], x["s"], t) and pos >= 0:
        s.sell_(q + pos)
    if pos > 100 and close < s.entry_price * 0.98:
        s.sell_(50)


def config(cash=100000.0, commission=0.0, commission_per_unit=0.0, commission_min=0.0,
           slippage=0.0, slippage_fixed=0.0, fill_on_close=False):
    return dict(cash=cash, commission=commission, commission_per_unit=commission_per_unit,
                commission_min=commission_min, slippage=slippage, slippage_fixed=slippage_fixed,
                fill_on_close=fill_on_close)


DATA = "tests/data/ohlcv_12000.csv"
BARS = 4000

CASES = [
    dict(name="market_close", strategy="market_close.btl", warmup=49,
         config=config(commission=0.001), ind=ind_market_close, logic=logic_market_close),
    dict(name="market_close_on_close", strategy="market_close.btl", warmup=49,
         config=config(commission=0.001, fill_on_close=True),
         ind=ind_market_close, logic=logic_market_close),
    dict(name="limit_expiry", strategy="limit_expiry.btl", warmup=19,
         config=config(commission=0.001), ind=ind_limit_expiry, logic=logic_limit_expiry),
    dict(name="limit_expiry_slippage", strategy="limit_expiry.btl", warmup=19,
         config=config(commission=0.001, slippage=0.002),
         ind=ind_limit_expiry, logic=logic_limit_expiry),
    dict(name="stop_entry", strategy="stop_entry.btl", warmup=49,
         config=config(commission=0.0005), ind=ind_stop_entry, logic=logic_stop_entry),
    dict(name="stop_entry_slippage_fixed", strategy="stop_entry.btl", warmup=49,
         config=config(commission=0.0005, slippage_fixed=0.05),
         ind=ind_stop_entry, logic=logic_stop_entry),
    dict(name="stop_limit", strategy="stop_limit.btl", warmup=19,
         config=config(commission=0.001), ind=ind_stop_limit, logic=logic_stop_limit),
    dict(name="short_reversal", strategy="short_reversal.btl", warmup=30,
         config=config(commission=0.001), ind=ind_sma_10_30, logic=logic_short_reversal),
    dict(name="reversal_all_in", strategy="reversal_all_in.btl", warmup=30,
         config=config(commission=0.001), ind=ind_sma_10_30, logic=logic_reversal_all_in),
    dict(name="bracket", strategy="bracket.btl", warmup=20,
         config=config(commission=0.001), ind=ind_bracket, logic=logic_bracket),
    dict(name="trailing", strategy="trailing.btl", warmup=20,
         config=config(), ind=ind_trailing, logic=logic_trailing),
    dict(name="commission_min", strategy="commission_min.btl", warmup=20,
         config=config(commission_per_unit=0.01, commission_min=4.0),
         ind=ind_commission_min, logic=logic_commission_min),
]


def load(path, bars):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))[:bars]
    return rows


def run_case(case):
    rows = load(os.path.join(ROOT, DATA), BARS)
    dates = [datetime.date.fromisoformat(r["date"]) for r in rows]
    c = [float(r["close"]) for r in rows]
    h = [float(r["high"]) for r in rows]
    l = [float(r["low"]) for r in rows]
    series = case["ind"](c, h, l)
    series["close"] = c

    cfg = case["config"]
    with tempfile.TemporaryDirectory() as tmp:
        # backtrader reads the first BARS rows of the fixture, written to a temporary file
        path = os.path.join(tmp, "bars.csv")
        with open(os.path.join(ROOT, DATA), newline="") as src, open(path, "w") as dst:
            for i, line in enumerate(src):
                if i > BARS:
                    break
                dst.write(line)
        cerebro = bt.Cerebro(stdstats=False)
        data = bt.feeds.GenericCSVData(
            dataname=path, dtformat="%Y-%m-%d",
            datetime=0, open=1, high=2, low=3, close=4, volume=5, openinterest=-1,
            timeframe=bt.TimeFrame.Days)
        cerebro.adddata(data)
        if cfg["slippage"] or cfg["slippage_fixed"]:
            cerebro.broker = FixedSellLimitSlip()
        broker = cerebro.broker
        broker.setcash(cfg["cash"])
        if cfg["commission_per_unit"] or cfg["commission_min"]:
            broker.addcommissioninfo(PerUnitMin(fraction=cfg["commission"],
                                                per_unit=cfg["commission_per_unit"],
                                                minimum=cfg["commission_min"]))
        else:
            broker.setcommission(commission=cfg["commission"])
        if cfg["slippage"]:
            broker.set_slippage_perc(cfg["slippage"], slip_open=True, slip_limit=True,
                                     slip_match=True, slip_out=False)
        elif cfg["slippage_fixed"]:
            broker.set_slippage_fixed(cfg["slippage_fixed"], slip_open=True, slip_limit=True,
                                      slip_match=True, slip_out=False)
        if cfg["fill_on_close"]:
            broker.set_coc(True)
        cerebro.addstrategy(Strategy, case=case, series=series, dates=dates)
        strat = cerebro.run()[0]
        # notifications of the last bar (e.g. its cancellations) are still queued at the broker
        while (order := broker.get_notification()) is not None:
            strat.notify_order(order)
        assert len(strat.data) == len(rows)

    # closed trades: bars and sizes from the fills, prices and pnl from backtrader's trades
    assert len(strat.mclosed) == len(strat.btclosed), (len(strat.mclosed), len(strat.btclosed))
    trades = []
    for m, b in zip(strat.mclosed, strat.btclosed):
        if not cfg["fill_on_close"]:
            # (with cheat-on-close backtrader dates a trade by the bar that processed the fill,
            # the one after the fill's own bar)
            assert (m["entry_bar"], m["exit_bar"]) == (b["entry_bar"], b["exit_bar"]), (m, b)
        trades.append(dict(entry_bar=m["entry_bar"], exit_bar=m["exit_bar"], qty=m["qty"],
                           entry_price=b["entry_price"], exit_price=m["exit_price"],
                           pnl=b["pnl"], pnl_net=b["pnl_net"]))
    assert strat.mpos == strat.position.size
    open_position = None
    if strat.position.size:
        open_position = dict(entry_bar=strat.mtrade["entry_bar"], qty=strat.position.size,
                             entry_price=strat.position.price)
    return dict(
        case=case["name"],
        strategy=case["strategy"],
        data=DATA,
        bars=len(rows),
        warmup_bar=case["warmup"],
        config=cfg,
        final_value=broker.getvalue(),
        final_cash=broker.getcash(),
        rejected_orders=strat.counts["rejected"],
        expired_orders=strat.counts["expired"],
        cancelled_orders=strat.counts["cancelled"],
        invalid_orders=strat.counts["invalid"],
        open_position=open_position,
        closed_trades=trades,
        fills=[dict(bar=b, size=s, price=p) for b, s, p in strat.fills],
    )


def dumps(result):
    """JSON with one key per line and one trade or fill per line (floats as repr: exact)."""
    lines = []
    for k, v in result.items():
        if isinstance(v, list):
            items = ",\n".join("  " + json.dumps(x) for x in v)
            lines.append(f"  {json.dumps(k)}: [\n{items}\n  ]" if v else f"  {json.dumps(k)}: []")
        else:
            lines.append(f"  {json.dumps(k)}: {json.dumps(v)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main():
    wanted = set(sys.argv[1:])
    os.makedirs(OUT_DIR, exist_ok=True)
    for case in CASES:
        if wanted and case["name"] not in wanted:
            continue
        result = run_case(case)
        out = os.path.join(OUT_DIR, case["name"] + ".json")
        with open(out, "w") as f:
            f.write(dumps(result))
        print(f"{case['name']:28} trades={len(result['closed_trades']):4} "
              f"fills={len(result['fills']):5} rejected={result['rejected_orders']:3} "
              f"expired={result['expired_orders']:3} cancelled={result['cancelled_orders']:4} "
              f"final value={result['final_value']!r}")


if __name__ == "__main__":
    main()
