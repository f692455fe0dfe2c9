//! Walk-forward analysis: the bars cut into consecutive folds; in each, the best combination on
//! its first part (in-sample) is run on the rest (out-of-sample), the overfitting check users
//! otherwise script by hand.
//!
//! Contract: fold `f` of `k` holds bars `f·n/k .. (f+1)·n/k`; its in-sample part is the first
//! `⌊train × len⌋` of them and its out-of-sample part the rest. Each part is a backtest of its own:
//! it starts flat, with the starting cash and fresh series (its first bars are warm-up again).
//! The best combination is the first by the sort metric (ties in grid order); a fold where no
//! combination has a value for the metric has no out-of-sample run.

use std::ops::Range;

use super::grid::Selection;
use super::{METRICS, Row, Sweep, Timing, Top};
use crate::runtime::feed::Bar;

/// One fold's bars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    pub train: Range<usize>,
    pub test: Range<usize>,
}

/// The folds of `bars` bars (see the module contract), or why there can be none.
pub fn folds(bars: usize, k: usize, train: f64) -> Result<Vec<Fold>, String> {
    if !(train > 0.0 && train < 1.0) {
        return Err(format!(
            "--train {train}: must be a fraction between 0 and 1, e.g. 0.7"
        ));
    }
    if k == 0 {
        return Err("--walk-forward 0: give the number of folds, e.g. 5".into());
    }
    let mut out = Vec::new();
    for f in 0..k {
        let (from, to) = (f * bars / k, (f + 1) * bars / k);
        let cut = from + ((to - from) as f64 * train).floor() as usize;
        if cut == from || cut == to {
            return Err(format!(
                "--walk-forward {k}: {bars} bars make folds of {} bars, too few to split at --train {train}",
                to - from
            ));
        }
        out.push(Fold {
            train: from..cut,
            test: cut..to,
        });
    }
    Ok(out)
}

/// One fold's result: the best in-sample row and the same combination out of sample.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldResult {
    pub fold: Fold,
    pub in_sample: Option<Row>,
    pub out_of_sample: Option<Row>,
}

/// Runs the walk-forward analysis; `progress` is told each fold as it finishes.
pub fn walk_forward(
    sweep: &Sweep,
    selection: &Selection,
    data: super::Data,
    folds: &[Fold],
    sort: usize,
    mut progress: impl FnMut(&FoldResult),
) -> (Vec<FoldResult>, Timing) {
    let mut results = Vec::new();
    let mut total = Timing::default();
    for fold in folds {
        let mut best = Top::new(sort, 1);
        let t = sweep.run(selection, data.slice(fold.train.clone()), |row| {
            best.offer(&row)
        });
        total.compile += t.compile;
        total.run += t.run;
        let in_sample = best.rows.pop().filter(|r| r.metric(sort).is_some());
        let out_of_sample = in_sample
            .as_ref()
            .map(|r| sweep.run_one(r.index, data.slice(fold.test.clone()), &mut total));
        let result = FoldResult {
            fold: fold.clone(),
            in_sample,
            out_of_sample,
        };
        progress(&result);
        results.push(result);
    }
    (results, total)
}

/// `fold,train_start,train_end,test_start,test_end,index,<params>,is_<metric>...,oos_<metric>...`
/// (times of the first and last bar of each part).
pub fn csv_header(names: &[&str]) -> String {
    let mut cells: Vec<String> = [
        "fold",
        "train_start",
        "train_end",
        "test_start",
        "test_end",
        "index",
    ]
    .map(String::from)
    .to_vec();
    cells.extend(names.iter().map(|n| n.to_string()));
    for prefix in ["is_", "oos_"] {
        cells.extend(METRICS.iter().map(|m| format!("{prefix}{}", m.name)));
    }
    cells.join(",")
}

/// One fold as a CSV row of [`csv_header`].
pub fn csv_row(n: usize, r: &FoldResult, bars: &[Bar], params: usize) -> String {
    use crate::runtime::feed::format_time_ms;
    let time = |i: usize| format_time_ms(bars[i].time);
    let mut cells = vec![
        (n + 1).to_string(),
        time(r.fold.train.start),
        time(r.fold.train.end - 1),
        time(r.fold.test.start),
        time(r.fold.test.end - 1),
    ];
    match &r.in_sample {
        Some(row) => {
            cells.push(row.index.to_string());
            cells.extend(row.params.iter().cloned());
        }
        None => cells.extend(std::iter::repeat_n(String::new(), params + 1)),
    }
    for row in [&r.in_sample, &r.out_of_sample] {
        cells.extend((0..METRICS.len()).map(|m| {
            row.as_ref()
                .and_then(|r| r.metric(m))
                .map_or(String::new(), |v| format!("{v}"))
        }));
    }
    cells.join(",")
}

/// The mean of metric `m` over the folds' in-sample and out-of-sample rows that have it.
pub fn means(results: &[FoldResult], m: usize) -> (Option<f64>, Option<f64>) {
    let mean = |pick: &dyn Fn(&FoldResult) -> Option<f64>| {
        let v: Vec<f64> = results.iter().filter_map(pick).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    (
        mean(&|r| r.in_sample.as_ref().and_then(|x| x.metric(m))),
        mean(&|r| r.out_of_sample.as_ref().and_then(|x| x.metric(m))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_cover_the_bars() {
        let f = folds(100, 3, 0.7).unwrap();
        assert_eq!(
            f[0],
            Fold {
                train: 0..23,
                test: 23..33
            }
        );
        assert_eq!(f[2].test.end, 100);
        assert!(f.windows(2).all(|w| w[0].test.end == w[1].train.start));
        assert!(folds(5, 5, 0.7).is_err());
        assert!(folds(100, 2, 1.0).is_err());
    }
}
