//! Longest winning and losing streaks: the most consecutive won (lost) closed trades.
//!
//! Definition: a streak is a run of consecutive closed trades, in closing order, that all won
//! (net pnl > 0) or all lost (< 0) (<https://www.investopedia.com/terms/w/winning-streak.asp>).
//! backtrader `TradeAnalyzer`'s `streak.won.longest` and `streak.lost.longest`, except that
//! backtrader counts a break-even trade as won (continuing a winning streak); in btl it breaks
//! both streaks.
//!
//! Edge cases: 0 without trades (and the losing streak is 0 when every trade won).

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Streaks {
    won: u64,
    lost: u64,
    pub(super) longest_won: u64,
    pub(super) longest_lost: u64,
}

impl Streaks {
    pub(super) fn add(&mut self, pnl_net: f64) {
        self.won = if pnl_net > 0.0 { self.won + 1 } else { 0 };
        self.lost = if pnl_net < 0.0 { self.lost + 1 } else { 0 };
        self.longest_won = self.longest_won.max(self.won);
        self.longest_lost = self.longest_lost.max(self.lost);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_wins_and_losses() {
        let mut s = Streaks::default();
        [1.0, 2.0, -1.0, 3.0, 4.0, 5.0, 0.0, 6.0, -1.0, -2.0]
            .iter()
            .for_each(|&p| s.add(p));
        assert_eq!((s.longest_won, s.longest_lost), (3, 2));
        assert_eq!(
            (
                Streaks::default().longest_won,
                Streaks::default().longest_lost
            ),
            (0, 0)
        );
    }
}
