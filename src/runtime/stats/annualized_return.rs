//! Annualized return: the compound annual growth rate (CAGR) over the calendar time the bars span.
//!
//! Definition: `(final value / initial cash)^(1 / years) − 1` with `years = (time of the last bar −
//! time of the first bar) / 365.25 days` (<https://en.wikipedia.org/wiki/Compound_annual_growth_rate>).
//! The equity at the first bar's close is the initial cash (orders fill at the next bar's open at
//! the earliest), so the span from the first close to the last close is the time the money was
//! at work.
//!
//! Calendar time, not bar counts: the number of years does not depend on the inferred periods per
//! year, so daily data with or without holidays, or with a 24/7 calendar, gives the same CAGR for
//! the same dates. This differs from backtrader's `Returns` analyzer, whose `rnorm =
//! (final/initial)^(tann/bars) − 1` counts 252 bars as a year: on the 12,000 weekday bars of
//! 1980–2025 (261 a year, no holidays) it takes 47.6 years where the calendar has 46.0.
//!
//! Edge cases: `None` with fewer than two bars or a span that is not positive (nothing to
//! annualize), and with initial cash that is not positive. A final value of zero or less gives
//! −1 (everything lost; a negative value has no real root). Over short spans the figure is
//! mathematically right and practically meaningless (a 1% day is 1,100% a year).

const YEAR_MS: f64 = 365.25 * 86_400_000.0;

/// Years between two bar times (ms since the epoch), `None` if not positive.
pub(super) fn years(first_ms: i64, last_ms: i64) -> Option<f64> {
    let years = (last_ms as f64 - first_ms as f64) / YEAR_MS;
    (years > 0.0).then_some(years)
}

pub(super) fn annualized_return(initial_cash: f64, final_value: f64, years: f64) -> Option<f64> {
    if initial_cash <= 0.0 || years <= 0.0 {
        return None;
    }
    if final_value <= 0.0 {
        return Some(-1.0);
    }
    Some((final_value / initial_cash).powf(1.0 / years) - 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn doubling_over_two_years() {
        let y = years(0, (2.0 * 365.25) as i64 * DAY + DAY / 2).unwrap();
        assert!((y - 2.0).abs() < 1e-12);
        let r = annualized_return(100.0, 200.0, y).unwrap();
        assert!((r - (2f64.sqrt() - 1.0)).abs() < 1e-12);
    }

    #[test]
    fn undefined_or_ruined() {
        assert_eq!(years(5 * DAY, 5 * DAY), None);
        assert_eq!(annualized_return(100.0, 120.0, 0.0), None);
        assert_eq!(annualized_return(0.0, 120.0, 1.0), None);
        assert_eq!(annualized_return(100.0, 0.0, 3.0), Some(-1.0));
        assert_eq!(annualized_return(100.0, -5.0, 3.0), Some(-1.0));
    }
}
