//! Periods per year: how many bars make a year, inferred from the bar times; the factor that
//! annualizes the Sharpe and Sortino ratios and turns the annual risk-free rate into a per-bar one.
//!
//! Definition: the bar spacings (time between consecutive bars) of the first
//! [`CALIBRATION_BARS`] bars are sorted into a fixed histogram of six intervals, and the most
//! common one (the mode; ties go to the finer interval) names the data's [`BarInterval`]:
//!
//! | spacing | interval | periods per year |
//! |---|---|---|
//! | < 18 hours | intraday | 252 × the most bars seen on one UTC date |
//! | 18 hours – 5.5 days | daily | 252 |
//! | 5.5 – 10 days | weekly | 52 |
//! | 10 – 45 days | monthly | 12 |
//! | 45 – 135 days | quarterly | 4 |
//! | ≥ 135 days | yearly | 1 |
//!
//! 252, 52, 12 and 1 are backtrader's `SharpeRatio.RATEFACTORS` and `Returns._TANN`
//! (<https://www.backtrader.com/docu/analyzers-reference/#sharperatio>): a year of trading days,
//! not of calendar days. Daily bars with weekends and holidays missing have spacings of 1, 3 or 4
//! days, all in the daily bucket, so the weekend gaps do not matter. Intraday bars are scaled by
//! the bars in a session: the largest count of bars sharing one UTC date, so a 6.5-hour equity
//! session of 1-minute bars gives 252 × 390 and a 24-hour market 252 × 1440 (trading days, as
//! for daily bars). backtrader itself does not annualize intraday Sharpe ratios (its factor table
//! has no sub-day entry).
//!
//! Why only the first bars: the per-bar risk-free rate `(1 + rf)^(1/periods) − 1` must be known to
//! stream the Sortino ratio's downside deviation, whose target it is; so the estimate is fixed
//! once [`CALIBRATION_BARS`] bars have been seen, and the returns of those bars are held in a fixed
//! buffer until then (constant memory: 4096 × 8 bytes, whatever the number of bars). A run with
//! fewer bars uses all of them.
//!
//! Edge cases: fewer than two bars, or no positive spacing, give `None` (nothing can be
//! annualized). Spacings that are not positive (equal or decreasing times; the CSV feed rejects
//! them) are ignored. A session that crosses UTC midnight is split between two dates, which
//! understates intraday bars per session; the first and last dates of the calibration window may be
//! partial, which is why the largest count is taken rather than the mean.

/// Bars whose spacings decide the interval (and whose returns wait in a buffer until then).
pub const CALIBRATION_BARS: usize = 4096;

/// Trading days in a year (backtrader's `Days` factor).
pub const TRADING_DAYS_PER_YEAR: f64 = 252.0;

const HOUR_MS: f64 = 3_600_000.0;
const DAY_MS: f64 = 24.0 * HOUR_MS;

/// The interval between bars, as inferred (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BarInterval {
    Intraday,
    Daily,
    Weekly,
    Monthly,
    Quarterly,
    Yearly,
}

const INTERVALS: [BarInterval; 6] = [
    BarInterval::Intraday,
    BarInterval::Daily,
    BarInterval::Weekly,
    BarInterval::Monthly,
    BarInterval::Quarterly,
    BarInterval::Yearly,
];

impl BarInterval {
    fn of_spacing(ms: i64) -> BarInterval {
        let days = ms as f64 / DAY_MS;
        match days {
            d if d < 18.0 / 24.0 => BarInterval::Intraday,
            d if d < 5.5 => BarInterval::Daily,
            d if d < 10.0 => BarInterval::Weekly,
            d if d < 45.0 => BarInterval::Monthly,
            d if d < 135.0 => BarInterval::Quarterly,
            _ => BarInterval::Yearly,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The histogram of spacings and the bars-per-date count, over the bars it is shown.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PeriodsPerYear {
    prev_time: Option<i64>,
    spacings: [u64; 6],
    date: i64,
    date_bars: u64,
    max_date_bars: u64,
}

impl PeriodsPerYear {
    pub(super) fn observe(&mut self, time_ms: i64) {
        let date = time_ms.div_euclid(DAY_MS as i64);
        if let Some(prev) = self.prev_time {
            let spacing = time_ms.saturating_sub(prev);
            if spacing > 0 {
                self.spacings[BarInterval::of_spacing(spacing).index()] += 1;
            }
        }
        if self.prev_time.is_none() || date != self.date {
            self.date = date;
            self.date_bars = 0;
        }
        self.date_bars += 1;
        self.max_date_bars = self.max_date_bars.max(self.date_bars);
        self.prev_time = Some(time_ms);
    }

    /// The interval and periods per year; `None` without a positive spacing.
    pub(super) fn estimate(&self) -> Option<(BarInterval, f64)> {
        let mut best = None;
        for (i, &count) in self.spacings.iter().enumerate() {
            if count > 0 && best.is_none_or(|(_, c)| count > c) {
                best = Some((INTERVALS[i], count));
            }
        }
        let (interval, _) = best?;
        let periods = match interval {
            BarInterval::Intraday => TRADING_DAYS_PER_YEAR * self.max_date_bars as f64,
            BarInterval::Daily => TRADING_DAYS_PER_YEAR,
            BarInterval::Weekly => 52.0,
            BarInterval::Monthly => 12.0,
            BarInterval::Quarterly => 4.0,
            BarInterval::Yearly => 1.0,
        };
        Some((interval, periods))
    }
}

/// An annual rate as a per-period rate, compounding: `(1 + annual)^(1/periods) − 1`
/// (backtrader's `SharpeRatio` with `convertrate=True`).
pub(super) fn per_period_rate(annual: f64, periods_per_year: f64) -> f64 {
    (1.0 + annual).powf(1.0 / periods_per_year) - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const DAY: i64 = 86_400_000;

    fn estimate(times: impl IntoIterator<Item = i64>) -> Option<(BarInterval, f64)> {
        let mut p = PeriodsPerYear::default();
        times.into_iter().for_each(|t| p.observe(t));
        p.estimate()
    }

    /// Weekdays only, from Monday 1980-01-07 (3658 days after the epoch).
    fn weekdays(n: usize) -> impl Iterator<Item = i64> {
        (0..)
            .filter(|d| d % 7 < 5)
            .take(n)
            .map(|d| (3658 + d) * DAY)
    }

    #[test]
    fn daily_bars_with_weekends_are_252_a_year() {
        assert_eq!(estimate(weekdays(300)), Some((BarInterval::Daily, 252.0)));
        // Every calendar day (a 24/7 market) is still daily.
        assert_eq!(
            estimate((0..300).map(|d| d * DAY)),
            Some((BarInterval::Daily, 252.0))
        );
    }

    #[test]
    fn intraday_bars_scale_by_bars_per_session() {
        // 1-minute bars, 09:30-16:00 New York (14:30-21:00 UTC), 390 a day, weekdays.
        let session = weekdays(10).flat_map(|d| (0..390).map(move |m| d + 870 * MIN + m * MIN));
        assert_eq!(
            estimate(session),
            Some((BarInterval::Intraday, 252.0 * 390.0))
        );
        // Hourly bars around the clock, starting mid-day: the partial first date does not count.
        let hourly = (0..100).map(|h| 13 * 3_600_000 + h * 3_600_000);
        assert_eq!(
            estimate(hourly),
            Some((BarInterval::Intraday, 252.0 * 24.0))
        );
    }

    #[test]
    fn weekly_monthly_quarterly_yearly() {
        assert_eq!(
            estimate((0..50).map(|w| w * 7 * DAY)),
            Some((BarInterval::Weekly, 52.0))
        );
        let month_ends = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
            .iter()
            .scan(0, |t, d| {
                *t += d * DAY;
                Some(*t)
            });
        assert_eq!(estimate(month_ends), Some((BarInterval::Monthly, 12.0)));
        assert_eq!(
            estimate((0..9).map(|q| q * 91 * DAY)),
            Some((BarInterval::Quarterly, 4.0))
        );
        assert_eq!(
            estimate((0..9).map(|y| y * 365 * DAY)),
            Some((BarInterval::Yearly, 1.0))
        );
    }

    #[test]
    fn a_single_bar_or_no_positive_spacing_has_no_estimate() {
        assert_eq!(estimate([]), None);
        assert_eq!(estimate([5 * DAY]), None);
        assert_eq!(estimate([5 * DAY, 5 * DAY, 4 * DAY]), None);
    }

    #[test]
    fn ties_go_to_the_finer_interval() {
        // One daily spacing, one weekly.
        assert_eq!(
            estimate([0, DAY, 8 * DAY]),
            Some((BarInterval::Daily, 252.0))
        );
    }

    #[test]
    fn per_period_rate_compounds_back_to_the_annual_rate() {
        let r = per_period_rate(0.02, 252.0);
        assert!(((1.0 + r).powf(252.0) - 1.02).abs() < 1e-12);
        assert_eq!(per_period_rate(0.0, 252.0), 0.0);
    }
}
