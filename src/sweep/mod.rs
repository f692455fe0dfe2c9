//! Parameter sweeps: one program run over the same bars for many parameter combinations, on
//! every core, each row the statistics `btl run` reports for that combination.
//!
//! Contract: the bars are read once by the caller and shared by every worker (never copied per
//! combination). [`Sweep::run`] compiles and runs each selected combination through the same
//! [`Backtest::run`] as `btl run`, so a row equals a separate run bit for bit, and hands rows to
//! its callback in selection order (grid order), whatever the number of jobs; only the rows
//! finished out of order are held. A combination that fails to compile or to run gets its row,
//! with the diagnostic's code and message, and the sweep goes on. Pure apart from the threads:
//! no IO.

pub mod grid;
pub mod heatmap;
pub mod table;
pub mod walk;

use std::time::{Duration, Instant};

use crate::backtest::{Backtest, EngineKind, Settings};
use crate::runtime::engine::Summary;
use crate::runtime::feed::Bar;
use crate::runtime::stats::Statistics;
use grid::{Grid, Selection};

/// A statistic a sweep reports per combination.
pub struct Metric {
    pub name: &'static str,
    /// Whether a larger value is better (for `--sort`).
    pub higher_is_better: bool,
    /// Shown as a percentage.
    pub percent: bool,
    pub get: fn(&Summary, &Statistics) -> Option<f64>,
}

/// The statistics of a row, in column order.
pub const METRICS: &[Metric] = &[
    Metric {
        name: "final_value",
        higher_is_better: true,
        percent: false,
        get: |s, _| Some(s.final_value),
    },
    Metric {
        name: "total_return",
        higher_is_better: true,
        percent: true,
        get: |s, _| Some(s.total_return),
    },
    Metric {
        name: "annual_return",
        higher_is_better: true,
        percent: true,
        get: |_, t| t.annualized_return,
    },
    Metric {
        name: "sharpe",
        higher_is_better: true,
        percent: false,
        get: |_, t| t.sharpe_ratio,
    },
    Metric {
        name: "sortino",
        higher_is_better: true,
        percent: false,
        get: |_, t| t.sortino_ratio,
    },
    Metric {
        name: "calmar",
        higher_is_better: true,
        percent: false,
        get: |_, t| t.calmar_ratio,
    },
    Metric {
        name: "max_drawdown",
        higher_is_better: false,
        percent: true,
        get: |s, _| Some(s.max_drawdown),
    },
    Metric {
        name: "trades",
        higher_is_better: true,
        percent: false,
        get: |s, _| Some(s.trades as f64),
    },
    Metric {
        name: "win_rate",
        higher_is_better: true,
        percent: true,
        get: |s, _| s.win_rate(),
    },
    Metric {
        name: "profit_factor",
        higher_is_better: true,
        percent: false,
        get: |_, t| t.profit_factor,
    },
    Metric {
        name: "sqn",
        higher_is_better: true,
        percent: false,
        get: |_, t| t.sqn,
    },
    Metric {
        name: "exposure",
        higher_is_better: true,
        percent: true,
        get: |_, t| t.exposure,
    },
];

/// The number of a metric in [`METRICS`], by name.
pub fn metric(name: &str) -> Result<usize, String> {
    METRICS.iter().position(|m| m.name == name).ok_or_else(|| {
        let names: Vec<&str> = METRICS.iter().map(|m| m.name).collect();
        format!(
            "--sort {name}: not a metric; the metrics are {}",
            names.join(", ")
        )
    })
}

/// What went wrong with one combination.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// A diagnostic code (`E0201`), or `run` for a run-time failure.
    pub code: String,
    pub message: String,
}

/// One combination's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The combination's index in grid order.
    pub index: u64,
    /// Its parameter values, in axis order, as given to `--param`.
    pub params: Vec<String>,
    /// The values of [`METRICS`], or why there are none.
    pub result: Result<Vec<Option<f64>>, Failure>,
}

impl Row {
    /// The value of metric number `m` (`None` for a failed row or an undefined value).
    pub fn metric(&self, m: usize) -> Option<f64> {
        self.result.as_ref().ok().and_then(|v| v[m])
    }
}

/// Whether row `a` ranks before `b` by metric `m`: the better value first, undefined values
/// and failed rows last, ties in grid order.
pub fn ranks_before(a: &Row, b: &Row, m: usize) -> bool {
    rank_key(a.metric(m), a.index, m) < rank_key(b.metric(m), b.index, m)
}

/// Orders (value, index) pairs best first (see [`ranks_before`]).
pub fn rank_cmp(a: (Option<f64>, u64), b: (Option<f64>, u64), m: usize) -> std::cmp::Ordering {
    let key = |(v, i): (Option<f64>, u64)| rank_key(v, i, m);
    key(a)
        .partial_cmp(&key(b))
        .unwrap_or(std::cmp::Ordering::Equal)
}

fn rank_key(v: Option<f64>, index: u64, m: usize) -> (u8, f64, u64) {
    match v.filter(|v| !v.is_nan()) {
        Some(v) if METRICS[m].higher_is_better => (0, -v, index),
        Some(v) => (0, v, index),
        None => (1, 0.0, index),
    }
}

/// Time spent, summed over the workers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timing {
    /// Compiling (btl's passes and the JIT).
    pub compile: Duration,
    /// Running the bars.
    pub run: Duration,
}

/// The bars a sweep runs on, in memory and shared: with timeframes of their own (`resample`),
/// each bar's frame (`stride` values per bar; see `runtime::align`).
#[derive(Debug, Clone, Copy)]
pub struct Data<'a> {
    pub bars: &'a [Bar],
    pub frames: &'a [f64],
    pub stride: usize,
}

impl<'a> Data<'a> {
    /// Bars without frames.
    pub fn plain(bars: &'a [Bar]) -> Data<'a> {
        Data {
            bars,
            frames: &[],
            stride: 0,
        }
    }

    /// Bars `range` with their frames.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Data<'a> {
        let frames = if self.stride == 0 {
            &[][..]
        } else {
            &self.frames[range.start * self.stride..range.end * self.stride]
        };
        Data {
            bars: &self.bars[range],
            frames,
            stride: self.stride,
        }
    }
}

/// A sweep: a program, its grid, the shared bars and how to run them.
pub struct Sweep<'a> {
    /// The program parsed and checked once; each combination only elaborates it.
    pub front: &'a crate::Front,
    pub options: crate::Options,
    pub grid: &'a Grid,
    pub engine: EngineKind,
    pub settings: Settings,
    pub jobs: usize,
}

impl Sweep<'_> {
    /// Runs combination `index` over `data`.
    pub fn run_one(&self, index: u64, data: Data, timing: &mut Timing) -> Row {
        let combination = self.grid.combination(index);
        let params = combination.iter().map(|(_, v)| v.clone()).collect();
        let started = Instant::now();
        let failure = |code: &str, message: String| Failure {
            code: code.to_string(),
            message,
        };
        let result = match self.front.bar_program(&combination, &self.options) {
            Err(diagnostics) => {
                let first = diagnostics.iter().find(|d| d.is_error());
                Err(match first {
                    Some(d) => failure(d.code.as_str(), d.message.clone()),
                    None => failure("E0112", "no strategy in the file".into()),
                })
            }
            Ok(program) => match Backtest::new(program, self.engine, self.settings) {
                Err(e) => Err(failure("run", e.to_string())),
                Ok(mut backtest) => {
                    timing.compile += started.elapsed();
                    let ran = Instant::now();
                    let out = if data.stride == 0 {
                        let mut source = data.bars;
                        backtest.run(&mut source)
                    } else {
                        backtest.run(&mut crate::runtime::align::Steps {
                            bars: data.bars,
                            frames: data.frames,
                            stride: data.stride,
                        })
                    };
                    timing.run += ran.elapsed();
                    return Row {
                        index,
                        params,
                        result: match out {
                            Ok((summary, stats)) => {
                                Ok(METRICS.iter().map(|m| (m.get)(&summary, &stats)).collect())
                            }
                            Err(e) => Err(failure("run", e.to_string())),
                        },
                    };
                }
            },
        };
        timing.compile += started.elapsed();
        Row {
            index,
            params,
            result,
        }
    }

    /// Runs every combination of `selection` over `bars` on `jobs` threads; `each` gets the rows
    /// in selection order (see the module contract).
    pub fn run(&self, selection: &Selection, data: Data, mut each: impl FnMut(Row)) -> Timing {
        let mut total = Timing::default();
        crate::parallel::ordered(
            selection.len(),
            self.jobs,
            |at| {
                let mut timing = Timing::default();
                let row = self.run_one(selection.get(at), data, &mut timing);
                (row, timing)
            },
            |(row, timing)| {
                total.compile += timing.compile;
                total.run += timing.run;
                each(row);
            },
        );
        total
    }
}

/// Keeps the best `k` rows by a metric.
pub struct Top {
    pub metric: usize,
    pub k: usize,
    pub rows: Vec<Row>,
}

impl Top {
    pub fn new(metric: usize, k: usize) -> Top {
        Top {
            metric,
            k,
            rows: Vec::new(),
        }
    }

    pub fn offer(&mut self, row: &Row) {
        let m = self.metric;
        if self.rows.len() == self.k
            && self
                .rows
                .last()
                .is_none_or(|last| !ranks_before(row, last, m))
        {
            return;
        }
        let at = self.rows.partition_point(|r| ranks_before(r, row, m));
        self.rows.insert(at, row.clone());
        self.rows.truncate(self.k);
    }
}
