//! Calmar ratio: annualized return over max drawdown.
//!
//! Definition: `annualized return (CAGR) / max drawdown`, both over the whole run and both as
//! fractions (<https://en.wikipedia.org/wiki/Calmar_ratio>; Young 1991 used the last 36 months,
//! backtesting tools such as backtesting.py and quantstats use the whole run, as btl does).
//! backtrader's `Calmar` analyzer is a different, rolling quantity (mean monthly log return over a
//! 36-month window divided by the max drawdown in percent), so it is not compared.
//!
//! Edge cases, `None`: no drawdown (the ratio would be ±∞, or 0/0 on flat equity); no annualized
//! return (fewer than two bars or no time span).

pub(super) fn calmar_ratio(annualized_return: Option<f64>, max_drawdown: f64) -> Option<f64> {
    (max_drawdown > 0.0)
        .then_some(annualized_return)
        .flatten()
        .map(|r| r / max_drawdown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_or_none() {
        assert_eq!(calmar_ratio(Some(0.1), 0.2), Some(0.5));
        assert_eq!(calmar_ratio(Some(0.1), 0.0), None);
        assert_eq!(calmar_ratio(None, 0.2), None);
    }
}
