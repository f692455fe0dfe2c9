#!/usr/bin/env python3
"""backtrader's analyzers on the SMA(10)/SMA(30) crossover, for tests/stats.rs.

Runs exactly the backtest of backtrader_sma_cross.py (same strategy class,
data, broker: cash 100000, commission 0.001, 100 shares, market orders at the
next open) with these analyzers attached, and writes
tests/reference/sma_cross_analyzers.json:

  SharpeRatio   timeframe=Days, annualize=True (sqrt(252) x the daily ratio),
                convertrate=True (the annual risk-free rate becomes
                (1+rf)^(1/252)-1 per day), three variants:
                  stddev_sample=True,  riskfreerate=0.0   (btl's convention)
                  stddev_sample=True,  riskfreerate=0.02  (btl's convention)
                  stddev_sample=False, riskfreerate=0.0   (backtrader's default
                                                           population sd)
                backtrader's *default* SharpeRatio (timeframe=Years,
                riskfreerate=0.01, not annualized) is the Sharpe of calendar-
                year returns, a different quantity; it is recorded for the
                record only ("years_default").
  DrawDown      max.drawdown (percent), max.moneydown, max.len (bars)
  TradeAnalyzer closed/won/lost, pnl gross/net total and average, won/lost
                pnl total/average/max, streaks, trade length (barlen)
  SQN           sqn, trades
  Returns       timeframe=Days, tann=252: rtot (log of final/initial) and
                rnorm ((final/initial)^(252/bars) - 1)
  TimeReturn    timeframe=Days: the number of daily returns (= bars)

There is no backtrader analyzer for the Sortino ratio, the calendar CAGR, the
Calmar ratio over the whole run (bt.analyzers.Calmar is a rolling 36-month
log-return ratio), the profit factor or exposure. For those, "plain_python"
holds values computed here in plain two-pass Python, from the per-bar broker
value and position that a small recording analyzer takes on every bar
(prenext bars included, as backtrader's own analyzers do) and from the closed
trades' pnlcomm. They check that btl's streaming code computes the written
definitions; they are not backtrader's word.

Usage (from the repo root):
    tests/reference/.venv/bin/python tests/reference/backtrader_analyzers.py
"""

import datetime
import json
import math
import os
import sys

import backtrader as bt

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ beside the committed scripts

import backtrader_sma_cross as ref  # noqa: E402  (the same strategy and data)

DATA = ref.DATA
OUT = os.path.join(HERE, "sma_cross_analyzers.json")
CASH = 100000.0
PERIODS_PER_YEAR = 252  # backtrader's Days factor; btl infers the same for daily bars
DAYS_PER_YEAR = 365.25  # btl's calendar year for the CAGR


class Recorder(bt.Analyzer):
    """Per bar (prenext included): date, broker value, position size."""

    def start(self):
        self.rows = []

    def next(self):
        self.rows.append((self.strategy.datetime.date(0),
                          self.strategy.broker.getvalue(),
                          self.strategy.position.size))


def run():
    cerebro = bt.Cerebro(stdstats=False)
    data = bt.feeds.GenericCSVData(
        dataname=DATA,
        dtformat="%Y-%m-%d",
        datetime=0, open=1, high=2, low=3, close=4, volume=5,
        openinterest=-1,
        timeframe=bt.TimeFrame.Days,
    )
    cerebro.adddata(data)
    cerebro.addstrategy(ref.SmaCross)
    cerebro.broker.setcash(CASH)
    cerebro.broker.setcommission(commission=0.001)
    days = dict(timeframe=bt.TimeFrame.Days, annualize=True, convertrate=True)
    cerebro.addanalyzer(bt.analyzers.SharpeRatio, _name="sharpe_sample_rf0",
                        riskfreerate=0.0, stddev_sample=True, **days)
    cerebro.addanalyzer(bt.analyzers.SharpeRatio, _name="sharpe_sample_rf2",
                        riskfreerate=0.02, stddev_sample=True, **days)
    cerebro.addanalyzer(bt.analyzers.SharpeRatio, _name="sharpe_population_rf0",
                        riskfreerate=0.0, stddev_sample=False, **days)
    cerebro.addanalyzer(bt.analyzers.SharpeRatio, _name="sharpe_years_default")
    cerebro.addanalyzer(bt.analyzers.DrawDown, _name="drawdown")
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    cerebro.addanalyzer(bt.analyzers.SQN, _name="sqn")
    cerebro.addanalyzer(bt.analyzers.Returns, _name="returns",
                        timeframe=bt.TimeFrame.Days, tann=PERIODS_PER_YEAR)
    cerebro.addanalyzer(bt.analyzers.TimeReturn, _name="timereturn",
                        timeframe=bt.TimeFrame.Days)
    cerebro.addanalyzer(Recorder, _name="recorder")
    strat = cerebro.run()[0]
    return cerebro, strat


def sortino(rets, rf):
    """Target = the per-period risk-free rate; downside deviation over all periods."""
    rf_p = (1.0 + rf) ** (1.0 / PERIODS_PER_YEAR) - 1.0
    excess = [r - rf_p for r in rets]
    mean = math.fsum(excess) / len(excess)
    downside = math.sqrt(math.fsum(min(e, 0.0) ** 2 for e in excess) / len(excess))
    return mean / downside * math.sqrt(PERIODS_PER_YEAR)


def plain_python(rows, pnls):
    """The definitions btl documents, computed two-pass from the recorded bars."""
    values = [v for _, v, _ in rows]
    prev = [CASH] + values[:-1]
    rets = [v / p - 1.0 for v, p in zip(values, prev)]

    years = (rows[-1][0] - rows[0][0]).days / DAYS_PER_YEAR
    cagr = (values[-1] / CASH) ** (1.0 / years) - 1.0
    peak, max_dd = CASH, 0.0
    for v in values:
        peak = max(peak, v)
        max_dd = max(max_dd, (peak - v) / peak)

    # Drawdown episodes: runs of bars below the running peak, each ending at
    # the bar before the one that regains the peak (or at the last bar). The
    # max drawdown's duration is the length of the first deepest episode.
    episodes, peak, depth, run = [], CASH, 0.0, 0
    for v in values:
        if v >= peak:
            if run:
                episodes.append((depth, run))
            peak, depth, run = v, 0.0, 0
        else:
            run += 1
            depth = max(depth, (peak - v) / peak)
    if run:
        episodes.append((depth, run))
    deepest = max(episodes, key=lambda e: e[0]) if episodes else (0.0, 0)
    gross_profit = math.fsum(p for p in pnls if p > 0)
    gross_loss = math.fsum(p for p in pnls if p < 0)
    return {
        "note": "two-pass Python from per-bar broker values and trade pnlcomm; not a backtrader analyzer",
        "returns": len(rets),
        "sortino_ratio_rf0": sortino(rets, 0.0),
        "sortino_ratio_rf2": sortino(rets, 0.02),
        "years": years,
        "annualized_return": cagr,
        "max_drawdown": max_dd,
        "max_drawdown_bars": deepest[1],
        "longest_drawdown_bars": max((e[1] for e in episodes), default=0),
        "calmar_ratio": cagr / max_dd,
        "exposure": sum(1 for _, _, pos in rows if pos != 0) / len(rows),
        "gross_profit": gross_profit,
        "gross_loss": gross_loss,
        "profit_factor": gross_profit / -gross_loss,
        "even_trades": sum(1 for p in pnls if p == 0.0),
    }


def main():
    cerebro, strat = run()
    rows = strat.analyzers.recorder.rows
    assert len(rows) == len(strat.data), (len(rows), len(strat.data))
    pnls = [t["pnl_net"] for t in strat.closed_trades]

    def sharpe(name):
        a = getattr(strat.analyzers, name)
        return {"params": {"timeframe": bt.TimeFrame.getname(a.p.timeframe, 1),
                           "riskfreerate": a.p.riskfreerate,
                           "annualize": a.p.annualize,
                           "convertrate": a.p.convertrate,
                           "stddev_sample": a.p.stddev_sample},
                "sharperatio": a.get_analysis()["sharperatio"]}

    dd = strat.analyzers.drawdown.get_analysis()
    ta = strat.analyzers.trades.get_analysis()
    sqn = strat.analyzers.sqn.get_analysis()
    rets = strat.analyzers.returns.get_analysis()
    tr = strat.analyzers.timereturn.get_analysis()
    result = {
        "bars": len(strat.data),
        "initial_cash": CASH,
        "final_value": cerebro.broker.getvalue(),
        "first_date": rows[0][0].isoformat(),
        "last_date": rows[-1][0].isoformat(),
        "SharpeRatio": {
            "days_sample_rf0": sharpe("sharpe_sample_rf0"),
            "days_sample_rf2": sharpe("sharpe_sample_rf2"),
            "days_population_rf0": sharpe("sharpe_population_rf0"),
            "years_default": sharpe("sharpe_years_default"),
        },
        "DrawDown": {
            "max_drawdown_pct": dd.max.drawdown,
            "max_moneydown": dd.max.moneydown,
            "max_len": dd.max.len,
        },
        "TradeAnalyzer": {
            "total_closed": ta.total.closed,
            "won_total": ta.won.total,
            "lost_total": ta.lost.total,
            "pnl_gross_total": ta.pnl.gross.total,
            "pnl_net_total": ta.pnl.net.total,
            "pnl_net_average": ta.pnl.net.average,
            "won_pnl_total": ta.won.pnl.total,
            "won_pnl_average": ta.won.pnl.average,
            "won_pnl_max": ta.won.pnl.max,
            "lost_pnl_total": ta.lost.pnl.total,
            "lost_pnl_average": ta.lost.pnl.average,
            "lost_pnl_max": ta.lost.pnl.max,
            "streak_won_longest": ta.streak.won.longest,
            "streak_lost_longest": ta.streak.lost.longest,
            "len_average": ta.len.average,
            "len_max": ta.len.max,
            "len_min": ta.len.min,
        },
        "SQN": {"sqn": sqn.sqn, "trades": sqn.trades},
        "Returns": {"tann": PERIODS_PER_YEAR, "rtot": rets["rtot"], "rnorm": rets["rnorm"]},
        "TimeReturn": {"timeframe": "Days", "returns": len(tr)},
        "plain_python": plain_python(rows, pnls),
    }
    with open(OUT, "w") as f:
        json.dump(result, f, indent=1)  # floats as repr(): round-trip exact
        f.write("\n")
    print(f"wrote {OUT}")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
