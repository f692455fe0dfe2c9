//! Sharpe ratio, annualized: mean excess return per bar over its standard deviation, × √periods.
//!
//! Definition (<https://en.wikipedia.org/wiki/Sharpe_ratio>, Sharpe 1994 "The Sharpe Ratio"):
//! with `r_t = value_t / value_{t−1} − 1` the return of each bar (`value_{−1}` = the initial
//! cash; warm-up bars count, their return is 0), `rf = (1 + annual rate)^(1/P) − 1` the
//! risk-free rate per bar and `P` the periods per year (see `periods_per_year.rs`):
//!
//! `Sharpe = mean(r − rf) / sd(r − rf) × √P`, `sd` the **sample** standard deviation (÷ `n − 1`).
//!
//! This is backtrader's `SharpeRatio(timeframe=Days, annualize=True, convertrate=True,
//! stddev_sample=True)` on daily bars (<https://www.backtrader.com/docu/analyzers-reference/#sharperatio>),
//! and the convention of empyrical, pyfolio, quantstats and vectorbt (`ddof = 1`). backtrader's
//! default `stddev_sample=False` divides by `n` instead, which makes its ratio `√(n/(n−1))` times
//! btl's (4e-5 larger on 12,000 bars); its default `timeframe=Years` is the Sharpe of calendar-year
//! returns, a different quantity. Returns are per bar, not resampled to days: on intraday data
//! this is the per-bar ratio annualized with the intraday periods per year.
//!
//! Streaming: the mean and variance come from Welford's algorithm over `r` (`moments.rs`); the
//! risk-free rate is a constant shift, so `mean(r − rf) = mean(r) − rf` and `sd(r − rf) = sd(r)`.
//!
//! Edge cases, `None`: fewer than two returns; a standard deviation of zero (flat equity, e.g.
//! no trade: the ratio would be ±∞ or 0/0); no periods per year (fewer than two bar times). A bar
//! whose previous value is not positive has no return and is skipped.

use super::moments::Moments;

pub(super) fn sharpe_ratio(
    returns: &Moments,
    rf_per_bar: f64,
    periods_per_year: f64,
) -> Option<f64> {
    let sd = returns.sample_variance()?.sqrt();
    if !(sd > 0.0 && sd.is_finite()) {
        return None;
    }
    Some((returns.mean()? - rf_per_bar) / sd * periods_per_year.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(xs: &[f64]) -> Moments {
        let mut m = Moments::default();
        xs.iter().for_each(|&x| m.add(x));
        m
    }

    #[test]
    fn definition() {
        let xs = [0.01, -0.02, 0.015, 0.003];
        let mean = xs.iter().sum::<f64>() / 4.0;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
        let s = sharpe_ratio(&moments(&xs), 0.001, 252.0).unwrap();
        assert!((s - (mean - 0.001) / sd * 252f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn zero_variance_or_too_few_returns() {
        assert_eq!(sharpe_ratio(&moments(&[0.0; 50]), 0.0, 252.0), None);
        assert_eq!(sharpe_ratio(&moments(&[0.01; 50]), 0.0, 252.0), None);
        assert_eq!(sharpe_ratio(&moments(&[0.01]), 0.0, 252.0), None);
        assert_eq!(sharpe_ratio(&moments(&[]), 0.0, 252.0), None);
    }
}
