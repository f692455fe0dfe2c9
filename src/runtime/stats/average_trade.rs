//! Net profit and average trade (expectancy, in money per trade).
//!
//! Definition: net profit = Σ net pnl of the closed trades; `average trade = net profit / trades`,
//! which is also the expectancy `win rate × average win + loss rate × average loss`
//! (<https://www.investopedia.com/terms/e/expectancy.asp>; break-even trades add 0 to both). They
//! are backtrader `TradeAnalyzer`'s `pnl.net.total` and `pnl.net.average`. Net profit differs from
//! `final value − initial cash` by the unrealized pnl of a position open at the end.
//!
//! Edge cases: no trade gives a net profit of 0 and an average of `None`.

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct NetPnl {
    trades: u64,
    pub(super) total: f64,
}

impl NetPnl {
    pub(super) fn add(&mut self, pnl_net: f64) {
        self.trades += 1;
        self.total += pnl_net;
    }

    pub(super) fn average(&self) -> Option<f64> {
        (self.trades > 0).then(|| self.total / self.trades as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_net_pnl() {
        let mut n = NetPnl::default();
        assert_eq!(n.average(), None);
        [10.0, -4.0, 0.0].iter().for_each(|&p| n.add(p));
        assert_eq!((n.total, n.average()), (6.0, Some(2.0)));
    }
}
