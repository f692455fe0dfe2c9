//! Exposure (time in market): the fraction of bars that end with a position open.
//!
//! Definition: `bars with a non-zero position at the close / bars`
//! (<https://www.investopedia.com/terms/e/exposure.asp>; backtesting.py's "Exposure Time"). The
//! position is the one held at the bar's close, after that bar's fills: a trade entered at bar
//! t's open and closed at bar u's open counts bars t..u−1. Warm-up bars count (as flat bars).
//! backtrader has no such analyzer; tests/stats.rs checks against the fraction of bars with
//! `position.size != 0` recorded in backtrader.
//!
//! Edge cases: `None` without bars; 0 without trades.

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Exposure {
    bars: u64,
    in_market: u64,
}

impl Exposure {
    pub(super) fn update(&mut self, in_market: bool) {
        self.bars += 1;
        self.in_market += u64::from(in_market);
    }

    pub(super) fn value(&self) -> Option<f64> {
        (self.bars > 0).then(|| self.in_market as f64 / self.bars as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraction_of_bars() {
        let mut e = Exposure::default();
        assert_eq!(e.value(), None);
        [true, false, false, true].iter().for_each(|&b| e.update(b));
        assert_eq!(e.value(), Some(0.5));
    }
}
