//! Gross profit, gross loss and the profit factor.
//!
//! Definition (<https://www.investopedia.com/articles/fundamental-analysis/10/strategy-performance-reports.asp#toc-profit-factor>):
//! gross profit = Σ net pnl of the won trades (≥ 0), gross loss = Σ net pnl of the lost trades
//! (≤ 0, kept negative like every loss btl reports), `profit factor = gross profit / −gross loss`.
//! They are backtrader `TradeAnalyzer`'s `won.pnl.total` and `lost.pnl.total` (which also counts
//! the pnl of break-even trades, 0, as won). Net of commissions, like every trade statistic.
//!
//! Edge cases: `None` when there is no losing trade (the ratio would be +∞, or 0/0 with no trade
//! at all); 0 when every trade lost.

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct GrossPnl {
    pub(super) profit: f64,
    pub(super) loss: f64,
}

impl GrossPnl {
    pub(super) fn add(&mut self, pnl_net: f64) {
        if pnl_net > 0.0 {
            self.profit += pnl_net;
        } else if pnl_net < 0.0 {
            self.loss += pnl_net;
        }
    }

    pub(super) fn profit_factor(&self) -> Option<f64> {
        (self.loss < 0.0).then(|| self.profit / -self.loss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gross(pnls: &[f64]) -> GrossPnl {
        let mut g = GrossPnl::default();
        pnls.iter().for_each(|&p| g.add(p));
        g
    }

    #[test]
    fn ratio_of_gross_profit_to_gross_loss() {
        let g = gross(&[30.0, -10.0, 0.0, 10.0, -10.0]);
        assert_eq!((g.profit, g.loss), (40.0, -20.0));
        assert_eq!(g.profit_factor(), Some(2.0));
    }

    #[test]
    fn no_loss_no_trades_all_losses() {
        assert_eq!(gross(&[5.0, 7.0]).profit_factor(), None);
        assert_eq!(gross(&[]).profit_factor(), None);
        assert_eq!(gross(&[-5.0]).profit_factor(), Some(0.0));
    }
}
