//! Trade counts and win rate.
//!
//! Definition: a closed trade is **won** if its net pnl (after all its commissions) is > 0,
//! **lost** if < 0, **even** if exactly 0; `win rate = won / trades`
//! (<https://www.investopedia.com/terms/w/win-loss-ratio.asp>). Only closed trades count: a
//! position still open at the end is in the equity statistics, not here. The engine's
//! `Summary::win_rate` is the same number.
//!
//! Documented difference: backtrader's `TradeAnalyzer` counts a trade with `pnlcomm >= 0` as won,
//! so its `won.total` is btl's `winning_trades + even_trades`; btl keeps break-even trades apart
//! (they are neither), so `winning_trades + losing_trades + even_trades = trades`.
//!
//! Edge cases: no trade gives counts of 0 and a win rate of `None`.

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TradeCounts {
    pub(super) trades: u64,
    pub(super) won: u64,
    pub(super) lost: u64,
    pub(super) even: u64,
}

impl TradeCounts {
    pub(super) fn add(&mut self, pnl_net: f64) {
        self.trades += 1;
        if pnl_net > 0.0 {
            self.won += 1;
        } else if pnl_net < 0.0 {
            self.lost += 1;
        } else {
            self.even += 1;
        }
    }

    pub(super) fn win_rate(&self) -> Option<f64> {
        (self.trades > 0).then(|| self.won as f64 / self.trades as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn break_even_is_neither_won_nor_lost() {
        let mut c = TradeCounts::default();
        assert_eq!(c.win_rate(), None);
        [10.0, -5.0, 0.0, 3.0].iter().for_each(|&p| c.add(p));
        assert_eq!((c.trades, c.won, c.lost, c.even), (4, 2, 1, 1));
        assert_eq!(c.win_rate(), Some(0.5));
    }
}
