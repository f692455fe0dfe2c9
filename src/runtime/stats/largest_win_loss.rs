//! Largest win and largest loss: the best and worst net pnl of a single closed trade.
//!
//! Definition: the largest net pnl among won trades and the most negative among lost trades
//! (<https://www.investopedia.com/terms/l/largest-losing-trade.asp>). backtrader `TradeAnalyzer`'s
//! `won.pnl.max` and `lost.pnl.max` (the latter a minimum despite its name).
//!
//! Edge cases: `None` without a won (lost) trade; backtrader reports 0 there.

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Extremes {
    pub(super) largest_win: Option<f64>,
    pub(super) largest_loss: Option<f64>,
}

impl Extremes {
    pub(super) fn add(&mut self, pnl_net: f64) {
        if pnl_net > 0.0 {
            self.largest_win = Some(self.largest_win.map_or(pnl_net, |w| w.max(pnl_net)));
        } else if pnl_net < 0.0 {
            self.largest_loss = Some(self.largest_loss.map_or(pnl_net, |l| l.min(pnl_net)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_and_worst() {
        let mut e = Extremes::default();
        [3.0, -1.0, 9.0, -7.0, 0.0].iter().for_each(|&p| e.add(p));
        assert_eq!((e.largest_win, e.largest_loss), (Some(9.0), Some(-7.0)));
        let mut all_wins = Extremes::default();
        [3.0, 1.0].iter().for_each(|&p| all_wins.add(p));
        assert_eq!(all_wins.largest_loss, None);
    }
}
