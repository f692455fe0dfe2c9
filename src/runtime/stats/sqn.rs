//! SQN, Van K. Tharp's System Quality Number: √trades × mean net pnl / its standard deviation.
//!
//! Definition: `SQN = √n × mean(pnl_net) / sd(pnl_net)` over the `n` closed trades, `sd` the
//! **population** standard deviation (÷ `n`), which is backtrader's `SQN` analyzer
//! (<https://www.backtrader.com/docu/analyzers-reference/#sqn>; Tharp, "The Definitive Guide to
//! Position Sizing", 2008, uses the sample deviation and R-multiples instead of money; on money the
//! ratio does not depend on the unit, and the sample deviation would make the SQN `√((n−1)/n)` times backtrader's). Tharp's reading
//! guide: 1.6–1.9 below average, 2–2.4 average, 2.5–2.9 good, 3–5 excellent, above 5 superb;
//! meaningful from about 30 trades.
//!
//! Streaming: Welford's mean and variance over the net pnl (`moments.rs`).
//!
//! Edge cases, `None`: fewer than two trades (backtrader reports 0 there) and a standard deviation
//! of zero, e.g. identical trades (backtrader: `None` too).

use super::moments::Moments;

pub(super) fn sqn(pnl_net: &Moments) -> Option<f64> {
    if pnl_net.count() < 2 {
        return None;
    }
    let sd = pnl_net.population_variance()?.sqrt();
    if !(sd > 0.0 && sd.is_finite()) {
        return None;
    }
    Some((pnl_net.count() as f64).sqrt() * pnl_net.mean()? / sd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(xs: &[f64]) -> Option<f64> {
        let mut m = Moments::default();
        xs.iter().for_each(|&x| m.add(x));
        sqn(&m)
    }

    #[test]
    fn definition() {
        // mean 2, population sd 2 (values 0 and 4): √2 × 2 / 2.
        assert!((of(&[0.0, 4.0]).unwrap() - 2f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn too_few_or_identical_trades() {
        assert_eq!(of(&[]), None);
        assert_eq!(of(&[5.0]), None);
        assert_eq!(of(&[5.0, 5.0, 5.0]), None);
    }
}
