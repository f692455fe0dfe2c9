//! Drawdown durations, in bars: how long equity stays below a previous peak.
//!
//! Definition: a drawdown episode is a run of consecutive bars whose equity is below the running
//! peak (see `drawdown.rs`); it starts at the first bar below the peak and ends at the last bar
//! before the one that regains it, or at the last bar if it never does (not recovered). Its
//! duration is its number of bars; "from peak to recovery" would be one more.
//!
//! - `longest_drawdown_bars`: the longest episode. This is backtrader's `DrawDown` `max.len`
//!   (<https://www.backtrader.com/docu/analyzers-reference/#drawdown>), which adds 1 per bar with a
//!   non-zero drawdown and resets to 0 at a new peak.
//! - `max_drawdown_bars`: the duration of the episode holding the max drawdown (the first one, if
//!   two are equally deep), whole: until its recovery, or to the end. Not always the longest.
//!
//! Edge cases: 0 for both without a drawdown; an episode still open at the last bar counts to
//! that bar.

use super::drawdown::Mark;

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct DrawdownDuration {
    current: u64,
    current_holds_max: bool,
    pub(super) longest: u64,
    pub(super) of_max: u64,
}

impl DrawdownDuration {
    pub(super) fn update(&mut self, mark: Mark) {
        if !mark.underwater {
            self.current = 0;
            self.current_holds_max = false;
            return;
        }
        self.current += 1;
        self.longest = self.longest.max(self.current);
        self.current_holds_max |= mark.new_max;
        if self.current_holds_max {
            self.of_max = self.current;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::drawdown::Drawdown;
    use super::*;

    fn durations(values: &[f64]) -> (u64, u64) {
        let mut d = Drawdown::new(100.0);
        let mut t = DrawdownDuration::default();
        values.iter().for_each(|&v| t.update(d.update(v)));
        (t.longest, t.of_max)
    }

    #[test]
    fn longest_and_deepest_episodes_differ() {
        // A shallow 4-bar episode, then a deep 2-bar one.
        let v = [100.0, 99.0, 99.0, 99.0, 99.0, 100.0, 50.0, 60.0, 101.0];
        assert_eq!(durations(&v), (4, 2));
    }

    #[test]
    fn never_recovered_counts_to_the_end() {
        let v = [100.0, 110.0, 90.0, 95.0, 100.0, 105.0];
        assert_eq!(durations(&v), (4, 4));
    }

    #[test]
    fn no_drawdown() {
        assert_eq!(durations(&[]), (0, 0));
        assert_eq!(durations(&[100.0, 100.0, 120.0]), (0, 0));
    }
}
