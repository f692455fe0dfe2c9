//! Sortino ratio, annualized: mean excess return over the downside deviation, × √periods.
//!
//! Definition (Sortino & Price 1994, <https://en.wikipedia.org/wiki/Sortino_ratio>), with the
//! per-bar returns `r`, per-bar risk-free rate `rf` and periods per year `P` of `sharpe.rs`, the
//! target (minimum acceptable return) being the risk-free rate:
//!
//! `Sortino = mean(r − rf) / DD × √P`, `DD = √( Σ min(0, r − rf)² / n )`
//!
//! where the sum runs over **all** `n` returns (bars above the target contribute 0, they are not
//! dropped from the count): the target semideviation of empyrical's `sortino_ratio` and
//! quantstats' `sortino`. backtrader has no Sortino analyzer; tests/stats.rs checks btl against a
//! two-pass Python computation of this formula on backtrader's per-bar values.
//!
//! Streaming: `Σ min(0, r − rf)²` needs `rf`, which needs the periods per year, which are fixed
//! after the first `CALIBRATION_BARS` bars; the returns of those bars wait in a fixed buffer and are
//! added then (see `mod.rs`).
//!
//! Edge cases, `None`: no return; no return below the target (`DD = 0`: the ratio would be +∞,
//! or 0/0 on flat equity); no periods per year.

/// `Σ min(0, r − rf)²` and the number of returns.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Downside {
    n: u64,
    sum_sq: f64,
}

impl Downside {
    pub(super) fn add(&mut self, r: f64, rf_per_bar: f64) {
        self.n += 1;
        let shortfall = (r - rf_per_bar).min(0.0);
        self.sum_sq += shortfall * shortfall;
    }

    fn deviation(&self) -> Option<f64> {
        (self.n > 0).then(|| (self.sum_sq / self.n as f64).sqrt())
    }
}

pub(super) fn sortino_ratio(
    mean_return: Option<f64>,
    downside: &Downside,
    rf_per_bar: f64,
    periods_per_year: f64,
) -> Option<f64> {
    let dd = downside.deviation()?;
    if !(dd > 0.0 && dd.is_finite()) {
        return None;
    }
    Some((mean_return? - rf_per_bar) / dd * periods_per_year.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sortino(xs: &[f64], rf: f64) -> Option<f64> {
        let mut d = Downside::default();
        xs.iter().for_each(|&x| d.add(x, rf));
        let mean = (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64);
        sortino_ratio(mean, &d, rf, 252.0)
    }

    #[test]
    fn definition() {
        let xs = [0.01, -0.02, 0.015, -0.004];
        let dd = ((0.02f64.powi(2) + 0.004f64.powi(2)) / 4.0).sqrt();
        let mean = xs.iter().sum::<f64>() / 4.0;
        assert!((sortino(&xs, 0.0).unwrap() - mean / dd * 252f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn no_downside_or_no_returns() {
        assert_eq!(sortino(&[0.01, 0.02, 0.0], 0.0), None);
        assert_eq!(sortino(&[0.0; 10], 0.0), None);
        assert_eq!(sortino(&[], 0.0), None);
        // Against a positive target, flat equity falls short every bar.
        assert!(sortino(&[0.0; 10], 0.0001).unwrap() < 0.0);
    }
}
