//! Total return: the growth of equity over the run, as a fraction.
//!
//! Definition: `final value / initial cash − 1`, the final value marked at the last bar's close
//! (an open position counts at that close; <https://www.investopedia.com/terms/t/totalreturn.asp>).
//! backtrader's `Returns` analyzer reports the same growth as a log return, `rtot = ln(final /
//! initial)`, so `total return = exp(rtot) − 1`.
//!
//! Edge cases: no bar gives 0 (the final value is the initial cash); initial cash that is not
//! positive gives `None`. A final value below zero gives a return below −1, reported as it is.

pub(super) fn total_return(initial_cash: f64, final_value: f64) -> Option<f64> {
    (initial_cash > 0.0).then(|| final_value / initial_cash - 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraction_of_initial_cash() {
        assert_eq!(total_return(100.0, 110.0), Some(0.10000000000000009));
        assert_eq!(total_return(100.0, 100.0), Some(0.0));
        assert_eq!(total_return(0.0, 100.0), None);
    }
}
