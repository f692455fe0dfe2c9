//! Run statistics, streamed: one [`Stats`] accumulator fed after every bar and every closed trade,
//! turned into [`Statistics`] at the end.
//!
//! Takes: per bar, its time, the equity marked at its close and whether a position is open
//! ([`Stats::on_bar`]); per closed trade, the broker's [`ClosedTrade`] ([`Stats::on_trade`]).
//!
//! Guarantees:
//! - Constant memory, whatever the number of bars and trades: running sums, Welford moments and
//!   a fixed buffer of [`CALIBRATION_BARS`] returns (32 KiB, allocated once in [`Stats::new`]) that
//!   waits for the periods per year to be known. Nothing grows with bars or trades.
//! - Every undefined value is `None`, never NaN or ±∞: no trades, zero variance, fewer than two
//!   bars or trades, no losing trade... each metric's file says which cases and why.
//! - [`Stats::finish`] takes `&self` and can be called at any time (a live report mid-run).
//!
//! Must not: see bars or trades twice, or allocate after [`Stats::new`].
//!
//! One metric per file, each opening with its definition, a link to a reference definition, the
//! conventions chosen and its edge cases. The conventions, and how they compare to backtrader's
//! analyzers (checked by `tests/stats.rs` on the SMA 10/30 crossover, against
//! `tests/reference/sma_cross_analyzers.json`):
//!
//! | field(s) | file | definition in btl | backtrader | differs by |
//! |---|---|---|---|---|
//! | `total_return` | `total_return.rs` | final value / initial cash − 1 | `Returns` `exp(rtot) − 1` | — |
//! | `annualized_return`, `years` | `annualized_return.rs` | CAGR over the calendar span first→last bar, 365.25-day years | `Returns.rnorm` counts `tann` (252) bars a year | deliberate: calendar time |
//! | `bar_interval`, `periods_per_year` | `periods_per_year.rs` | mode of bar spacings over the first 4096 bars: daily 252, weekly 52, monthly 12, quarterly 4, yearly 1, intraday 252 × bars per UTC date | `SharpeRatio` factor table (no intraday) | intraday annualized |
//! | `sharpe_ratio` | `sharpe.rs` | per-bar returns, mean(r − rf) / sample sd × √P, rf = (1+annual)^(1/P) − 1 | `SharpeRatio(timeframe=Days, annualize=True, stddev_sample=True)` | — (default `stddev_sample=False`: ×√(n/(n−1))) |
//! | `sortino_ratio` | `sortino.rs` | mean(r − rf) / √(Σ min(0, r − rf)² / n) × √P | none | — |
//! | `calmar_ratio` | `calmar.rs` | annualized return / max drawdown, whole run | `Calmar` is rolling 36 months | not compared |
//! | `max_drawdown`, `max_drawdown_money` | `drawdown.rs` | largest (peak − value) / peak, peak from the initial cash; largest peak − value | `DrawDown` `max.drawdown` (%), `max.moneydown` | percent vs fraction |
//! | `longest_drawdown_bars`, `max_drawdown_bars` | `drawdown_duration.rs` | bars below the peak: longest episode; the max drawdown's episode, to recovery or the end | `DrawDown` `max.len` (= longest) | — |
//! | `exposure` | `exposure.rs` | bars ending with a position / bars | none | — |
//! | `trades`, `winning_trades`, `losing_trades`, `even_trades`, `win_rate` | `win_rate.rs` | closed trades; won if net pnl > 0, lost if < 0, even if 0 | `TradeAnalyzer` won if `pnlcomm >= 0` | deliberate: break-even apart |
//! | `gross_profit`, `gross_loss`, `profit_factor` | `profit_factor.rs` | Σ won pnl, Σ lost pnl (negative), profit / −loss | `won.pnl.total`, `lost.pnl.total` | — |
//! | `net_profit`, `average_trade` | `average_trade.rs` | Σ net pnl, its mean (the expectancy) | `pnl.net.total`, `pnl.net.average` | — |
//! | `average_win`, `average_loss` | `average_win_loss.rs` | gross profit / won, gross loss / lost | `won.pnl.average`, `lost.pnl.average` | `None`, not 0, when undefined |
//! | `largest_win`, `largest_loss` | `largest_win_loss.rs` | best, worst net pnl | `won.pnl.max`, `lost.pnl.max` | `None`, not 0 |
//! | `longest_win_streak`, `longest_loss_streak` | `streaks.rs` | consecutive won / lost trades | `streak.won/lost.longest` | break-even breaks both |
//! | `sqn` | `sqn.rs` | √n × mean(net pnl) / population sd | `SQN` | `None`, not 0, under 2 trades |
//! | `average_trade_bars`, `longest_trade_bars` | `trade_length.rs` | exit bar − entry bar | `len.average`, `len.max` | — |
//!
//! Common conventions: every pnl is net of commissions (backtrader's `pnlcomm`); losses are
//! negative numbers; equity is marked at each bar's close after that bar's fills (backtrader's
//! `broker.getvalue()` as its analyzers see it); every bar counts, warm-up bars included (as
//! backtrader's analyzers run during `prenext`); only closed trades are trades (a position open at
//! the end shows in the equity figures only).

mod annualized_return;
mod average_trade;
mod average_win_loss;
mod calmar;
mod drawdown;
mod drawdown_duration;
mod exposure;
mod largest_win_loss;
mod moments;
mod periods_per_year;
mod profit_factor;
mod sharpe;
mod sortino;
mod sqn;
mod streaks;
mod total_return;
mod trade_length;
mod win_rate;

pub use periods_per_year::{BarInterval, CALIBRATION_BARS, TRADING_DAYS_PER_YEAR};

use crate::runtime::broker::ClosedTrade;
use average_trade::NetPnl;
use drawdown::Drawdown;
use drawdown_duration::DrawdownDuration;
use exposure::Exposure;
use largest_win_loss::Extremes;
use moments::Moments;
use periods_per_year::PeriodsPerYear;
use profit_factor::GrossPnl;
use sortino::Downside;
use streaks::Streaks;
use trade_length::TradeLength;
use win_rate::TradeCounts;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatsConfig {
    /// Equity before the first bar.
    pub initial_cash: f64,
    /// Annual risk-free rate as a fraction (0.02 for 2%), for the Sharpe and Sortino ratios.
    pub risk_free_rate: f64,
}

/// The statistics of a run (see the module docs for each definition). `None` where a value is
/// undefined.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Statistics {
    pub bars: u64,
    pub initial_cash: f64,
    /// Equity at the last bar's close (the initial cash without bars).
    pub final_value: f64,
    pub risk_free_rate: f64,
    pub bar_interval: Option<BarInterval>,
    pub periods_per_year: Option<f64>,
    /// Calendar years from the first bar to the last.
    pub years: Option<f64>,
    pub total_return: Option<f64>,
    pub annualized_return: Option<f64>,
    pub sharpe_ratio: Option<f64>,
    pub sortino_ratio: Option<f64>,
    pub calmar_ratio: Option<f64>,
    /// Fraction of the peak.
    pub max_drawdown: f64,
    pub max_drawdown_money: f64,
    /// Bars of the episode holding the max drawdown, to its recovery or the end.
    pub max_drawdown_bars: u64,
    /// Bars of the longest drawdown episode (backtrader's `max.len`).
    pub longest_drawdown_bars: u64,
    pub exposure: Option<f64>,
    pub trades: u64,
    pub winning_trades: u64,
    pub losing_trades: u64,
    pub even_trades: u64,
    pub win_rate: Option<f64>,
    pub net_profit: f64,
    pub gross_profit: f64,
    /// Negative (or 0).
    pub gross_loss: f64,
    pub profit_factor: Option<f64>,
    /// Mean net pnl per trade: the expectancy.
    pub average_trade: Option<f64>,
    pub average_win: Option<f64>,
    /// Negative.
    pub average_loss: Option<f64>,
    pub largest_win: Option<f64>,
    /// Negative.
    pub largest_loss: Option<f64>,
    pub longest_win_streak: u64,
    pub longest_loss_streak: u64,
    pub sqn: Option<f64>,
    pub average_trade_bars: Option<f64>,
    pub longest_trade_bars: Option<u64>,
}

/// The streaming accumulator.
#[derive(Debug, Clone)]
pub struct Stats {
    config: StatsConfig,
    bars: u64,
    first_time: Option<i64>,
    last_time: i64,
    value: f64,
    // Equity.
    returns: Moments,
    calibration: PeriodsPerYear,
    /// Set once `CALIBRATION_BARS` bars have been seen: the interval, periods per year and the
    /// per-bar risk-free rate.
    calibrated: Option<Calibration>,
    /// Returns of the calibration bars, for the Sortino ratio once the risk-free rate is known.
    pending: Box<[f64; CALIBRATION_BARS]>,
    pending_len: usize,
    downside: Downside,
    drawdown: Drawdown,
    duration: DrawdownDuration,
    exposure: Exposure,
    // Trades.
    counts: TradeCounts,
    gross: GrossPnl,
    net: NetPnl,
    extremes: Extremes,
    streaks: Streaks,
    pnl: Moments,
    length: TradeLength,
}

#[derive(Debug, Clone, Copy)]
struct Calibration {
    estimate: Option<(BarInterval, f64)>,
    /// 0 without an estimate (unused then: nothing is annualized).
    rf_per_bar: f64,
}

impl Stats {
    pub fn new(config: StatsConfig) -> Stats {
        Stats {
            config,
            bars: 0,
            first_time: None,
            last_time: 0,
            value: config.initial_cash,
            returns: Moments::default(),
            calibration: PeriodsPerYear::default(),
            calibrated: None,
            pending: Box::new([0.0; CALIBRATION_BARS]),
            pending_len: 0,
            downside: Downside::default(),
            drawdown: Drawdown::new(config.initial_cash),
            duration: DrawdownDuration::default(),
            exposure: Exposure::default(),
            counts: TradeCounts::default(),
            gross: GrossPnl::default(),
            net: NetPnl::default(),
            extremes: Extremes::default(),
            streaks: Streaks::default(),
            pnl: Moments::default(),
            length: TradeLength::default(),
        }
    }

    /// After each bar: its time (ms since epoch), the equity marked at the close, and whether a
    /// position is open.
    ///
    /// A value that is not finite (which validated prices cannot produce) counts as a bar but is
    /// left out of every equity statistic, so that no NaN reaches [`Statistics`].
    pub fn on_bar(&mut self, time_ms: i64, value: f64, in_market: bool) {
        self.bars += 1;
        self.first_time.get_or_insert(time_ms);
        self.last_time = time_ms;
        self.exposure.update(in_market);
        if self.calibrated.is_none() {
            self.calibration.observe(time_ms);
        }
        if !value.is_finite() {
            self.calibrate_at_window_end();
            return;
        }
        // The return of this bar; none after a value that is not positive.
        let prev = std::mem::replace(&mut self.value, value);
        if prev > 0.0 {
            let r = value / prev - 1.0;
            self.returns.add(r);
            match self.calibrated {
                Some(c) => self.downside.add(r, c.rf_per_bar),
                None => {
                    self.pending[self.pending_len] = r;
                    self.pending_len += 1;
                }
            }
        }
        self.calibrate_at_window_end();
        self.duration.update(self.drawdown.update(value));
    }

    /// Fixes the periods per year once the calibration window is full, and adds the returns that
    /// waited for them to the downside deviation.
    fn calibrate_at_window_end(&mut self) {
        if self.calibrated.is_none() && self.bars == CALIBRATION_BARS as u64 {
            let c = self.calibrate();
            self.downside = self.pending_downside(c);
            self.pending_len = 0;
            self.calibrated = Some(c);
        }
    }

    pub fn on_trade(&mut self, trade: &ClosedTrade) {
        let pnl = trade.pnl_net;
        self.counts.add(pnl);
        self.gross.add(pnl);
        self.net.add(pnl);
        self.extremes.add(pnl);
        self.streaks.add(pnl);
        self.pnl.add(pnl);
        self.length.add(trade.entry_bar, trade.exit_bar);
    }

    fn calibrate(&self) -> Calibration {
        let estimate = self.calibration.estimate();
        let rf_per_bar = estimate.map_or(0.0, |(_, periods)| {
            periods_per_year::per_period_rate(self.config.risk_free_rate, periods)
        });
        Calibration {
            estimate,
            rf_per_bar,
        }
    }

    /// The downside accumulator with the pending returns added.
    fn pending_downside(&self, c: Calibration) -> Downside {
        let mut d = self.downside;
        for &r in &self.pending[..self.pending_len] {
            d.add(r, c.rf_per_bar);
        }
        d
    }

    pub fn finish(&self) -> Statistics {
        let (c, downside) = match self.calibrated {
            Some(c) => (c, self.downside),
            None => {
                let c = self.calibrate();
                (c, self.pending_downside(c))
            }
        };
        let periods = c.estimate.map(|(_, p)| p);
        let initial = self.config.initial_cash;
        let years = self
            .first_time
            .and_then(|first| annualized_return::years(first, self.last_time));
        let annualized =
            years.and_then(|y| annualized_return::annualized_return(initial, self.value, y));
        Statistics {
            bars: self.bars,
            initial_cash: initial,
            final_value: self.value,
            risk_free_rate: self.config.risk_free_rate,
            bar_interval: c.estimate.map(|(i, _)| i),
            periods_per_year: periods,
            years,
            total_return: total_return::total_return(initial, self.value),
            annualized_return: annualized,
            sharpe_ratio: periods
                .and_then(|p| sharpe::sharpe_ratio(&self.returns, c.rf_per_bar, p)),
            sortino_ratio: periods.and_then(|p| {
                sortino::sortino_ratio(self.returns.mean(), &downside, c.rf_per_bar, p)
            }),
            calmar_ratio: calmar::calmar_ratio(annualized, self.drawdown.max),
            max_drawdown: self.drawdown.max,
            max_drawdown_money: self.drawdown.max_money,
            max_drawdown_bars: self.duration.of_max,
            longest_drawdown_bars: self.duration.longest,
            exposure: self.exposure.value(),
            trades: self.counts.trades,
            winning_trades: self.counts.won,
            losing_trades: self.counts.lost,
            even_trades: self.counts.even,
            win_rate: self.counts.win_rate(),
            net_profit: self.net.total,
            gross_profit: self.gross.profit,
            gross_loss: self.gross.loss,
            profit_factor: self.gross.profit_factor(),
            average_trade: self.net.average(),
            average_win: average_win_loss::average_win(&self.gross, &self.counts),
            average_loss: average_win_loss::average_loss(&self.gross, &self.counts),
            largest_win: self.extremes.largest_win,
            largest_loss: self.extremes.largest_loss,
            longest_win_streak: self.streaks.longest_won,
            longest_loss_streak: self.streaks.longest_lost,
            sqn: sqn::sqn(&self.pnl),
            average_trade_bars: self.length.average(),
            longest_trade_bars: self.length.longest,
        }
    }
}
