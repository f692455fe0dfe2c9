//! Max drawdown: the largest fall of equity from a previous peak, as a fraction of that peak and in
//! money.
//!
//! Definition (<https://en.wikipedia.org/wiki/Drawdown_(economics)>): with equity marked at each
//! bar's close and the peak its running maximum, starting at the initial cash,
//! `drawdown_t = (peak_t − value_t) / peak_t`; the max drawdown is the largest `drawdown_t`, the
//! money drawdown the largest `peak_t − value_t` (which may come from another, lower peak).
//!
//! backtrader's `DrawDown` analyzer (<https://www.backtrader.com/docu/analyzers-reference/#drawdown>)
//! reports `max.drawdown` in percent (btl: a fraction, ×100 to compare) and `max.moneydown`;
//! its peak starts at −∞ and so is the first bar's value, the same as btl's whenever the first
//! bar's value is the initial cash (always, with fills at the next open). `Summary::max_drawdown`
//! of the engine is the same number.
//!
//! Edge cases: no bar, or equity that never falls, gives 0. A peak that is not positive (initial
//! cash ≤ 0 and no gain) has no fractional drawdown: only the money drawdown is updated.

#[derive(Debug, Clone, Copy)]
pub(super) struct Drawdown {
    peak: f64,
    pub(super) max: f64,
    pub(super) max_money: f64,
}

/// What one bar did to the drawdown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Mark {
    /// Below the peak.
    pub(super) underwater: bool,
    /// A strictly larger (fractional) drawdown than any before.
    pub(super) new_max: bool,
}

impl Drawdown {
    pub(super) fn new(initial_cash: f64) -> Drawdown {
        Drawdown {
            peak: initial_cash,
            max: 0.0,
            max_money: 0.0,
        }
    }

    pub(super) fn update(&mut self, value: f64) -> Mark {
        self.peak = self.peak.max(value);
        let money = self.peak - value;
        self.max_money = self.max_money.max(money);
        let mut new_max = false;
        if self.peak > 0.0 {
            let dd = money / self.peak;
            if dd > self.max {
                self.max = dd;
                new_max = true;
            }
        }
        Mark {
            underwater: money > 0.0,
            new_max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraction_of_the_running_peak() {
        let mut d = Drawdown::new(100.0);
        for v in [100.0, 120.0, 90.0, 130.0, 110.0] {
            d.update(v);
        }
        assert_eq!(d.max, 0.25); // 120 → 90
        assert_eq!(d.max_money, 30.0);
    }

    #[test]
    fn money_and_fraction_can_come_from_different_peaks() {
        let mut d = Drawdown::new(100.0);
        for v in [50.0, 1000.0, 900.0] {
            d.update(v);
        }
        assert_eq!((d.max, d.max_money), (0.5, 100.0));
    }

    #[test]
    fn rising_or_flat_equity_has_none() {
        let mut d = Drawdown::new(100.0);
        for v in [100.0, 100.0, 101.0] {
            assert!(!d.update(v).underwater);
        }
        assert_eq!((d.max, d.max_money), (0.0, 0.0));
    }
}
