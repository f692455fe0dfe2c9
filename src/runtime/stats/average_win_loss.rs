//! Average win and average loss.
//!
//! Definition: `average win = gross profit / won trades`, `average loss = gross loss / lost
//! trades` (negative), net of commissions (<https://www.investopedia.com/terms/a/averageloss.asp>).
//! backtrader `TradeAnalyzer`'s `won.pnl.average` and `lost.pnl.average`, except that backtrader
//! counts break-even trades among the won ones (see `win_rate.rs`), so its average win is lower
//! when there are some.
//!
//! Edge cases: `None` without a won (lost) trade; backtrader reports 0 there.

use super::profit_factor::GrossPnl;
use super::win_rate::TradeCounts;

pub(super) fn average_win(gross: &GrossPnl, counts: &TradeCounts) -> Option<f64> {
    (counts.won > 0).then(|| gross.profit / counts.won as f64)
}

pub(super) fn average_loss(gross: &GrossPnl, counts: &TradeCounts) -> Option<f64> {
    (counts.lost > 0).then(|| gross.loss / counts.lost as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_or_none() {
        let (mut g, mut c) = (GrossPnl::default(), TradeCounts::default());
        assert_eq!((average_win(&g, &c), average_loss(&g, &c)), (None, None));
        for p in [30.0, 10.0, -6.0, 0.0] {
            g.add(p);
            c.add(p);
        }
        assert_eq!(average_win(&g, &c), Some(20.0));
        assert_eq!(average_loss(&g, &c), Some(-6.0));
    }
}
