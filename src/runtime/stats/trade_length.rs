//! Trade length: bars from a trade's entry fill to its exit fill.
//!
//! Definition: `exit_bar − entry_bar` of each closed trade (a trade entered and left at the opens
//! of consecutive bars lasts 1); the average over closed trades and the longest. backtrader
//! `TradeAnalyzer`'s `len.average` and `len.max` (its `trade.barlen`).
//!
//! Edge cases: `None` for both without trades.

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TradeLength {
    trades: u64,
    total_bars: u64,
    pub(super) longest: Option<u64>,
}

impl TradeLength {
    pub(super) fn add(&mut self, entry_bar: u64, exit_bar: u64) {
        let bars = exit_bar.saturating_sub(entry_bar);
        self.trades += 1;
        self.total_bars += bars;
        self.longest = Some(self.longest.map_or(bars, |l| l.max(bars)));
    }

    pub(super) fn average(&self) -> Option<f64> {
        (self.trades > 0).then(|| self.total_bars as f64 / self.trades as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_and_longest() {
        let mut l = TradeLength::default();
        assert_eq!((l.average(), l.longest), (None, None));
        l.add(10, 11);
        l.add(20, 30);
        assert_eq!((l.average(), l.longest), (Some(5.5), Some(10)));
    }
}
