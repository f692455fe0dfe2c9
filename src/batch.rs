//! One strategy over many symbols, each its own backtest (`btl run FILE --data DIR/ --each`): a
//! data file per symbol, run in parallel, one row per symbol in file order, and the totals.
//!
//! Contract: every file is streamed through its own [`Backtest`] (nothing of one symbol is kept
//! but its row, so memory does not grow with the number of symbols); a file that cannot be read
//! or a run that fails gives its row an error, and the others go on. The program is compiled
//! once. No output files.

use std::path::{Path, PathBuf};

use crate::backtest::{Backtest, EngineKind, Settings};
use crate::runtime::align::Aligned;
use crate::runtime::data::DataFile;
use crate::runtime::engine::BarSource;
use crate::runtime::engine::Summary;
use crate::runtime::feed::TimeUnit;
use crate::runtime::stats::Statistics;

/// The data files of a folder, by name: every regular file ending in `.csv` (any case), or
/// `.parquet` / `.pq` with the `parquet` feature.
pub fn data_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension().and_then(|x| x.to_str()).is_some_and(|x| {
                    x.eq_ignore_ascii_case("csv")
                        || (cfg!(feature = "parquet")
                            && (x.eq_ignore_ascii_case("parquet") || x.eq_ignore_ascii_case("pq")))
                })
        })
        .collect();
    files.sort();
    Ok(files)
}

/// One symbol's result.
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolRow {
    /// The file's stem.
    pub symbol: String,
    pub file: PathBuf,
    /// The run's summary, statistics and rows skipped, or why there is none.
    pub result: Result<(Summary, Statistics, u64), String>,
}

/// How to run each file.
pub struct Each<'a> {
    /// The program, compiled once; each file's backtest runs a copy (its own JIT code).
    pub program: &'a crate::ir::BarProgram,
    pub engine: EngineKind,
    pub settings: Settings,
    pub skip_bad_rows: bool,
    pub time_unit: Option<TimeUnit>,
    /// `--timezone`: naive times and resampled periods.
    pub zone: Option<jiff::tz::TimeZone>,
    /// `--session-start`, minutes after local midnight.
    pub session_start: i32,
    pub jobs: usize,
}

impl Each<'_> {
    fn run_one(&self, file: &Path) -> SymbolRow {
        let symbol = file
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        let result = (|| {
            let mut backtest = Backtest::new(self.program.clone(), self.engine, self.settings)
                .map_err(|e| e.to_string())?;
            let mut feed = DataFile::open(file, self.skip_bad_rows).map_err(|e| e.to_string())?;
            if let Some(unit) = self.time_unit {
                feed.set_time_unit(unit);
            }
            if let Some(zone) = &self.zone {
                feed.set_timezone(zone.clone());
            }
            let (summary, stats) = if self.program.frame_len == 0 {
                backtest.run(&mut feed).map_err(|e| e.to_string())?
            } else {
                // Timeframes of the file's own bars (`resample`): aligned with them.
                let zone = self.zone.clone().unwrap_or(jiff::tz::TimeZone::UTC);
                let sources: Vec<Box<dyn BarSource + '_>> = vec![Box::new(&mut feed)];
                let mut aligned = Aligned::new(self.program, sources, zone)?
                    .with_session_start(self.session_start);
                backtest.run(&mut aligned).map_err(|e| e.to_string())?
            };
            Ok((summary, stats, feed.skipped_rows()))
        })();
        SymbolRow {
            symbol,
            file: file.to_path_buf(),
            result,
        }
    }

    /// Runs every file on `jobs` threads; `each` gets the rows in file order.
    pub fn run(&self, files: &[PathBuf], each: impl FnMut(SymbolRow)) {
        crate::parallel::ordered(
            files.len() as u64,
            self.jobs,
            |i| self.run_one(&files[i as usize]),
            each,
        );
    }
}

/// The portfolio of independent runs: each symbol with its own starting cash.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    pub symbols: u64,
    pub failed: u64,
    pub bars: u64,
    pub trades: u64,
    pub winning_trades: u64,
    pub initial_cash: f64,
    pub final_value: f64,
}

impl Totals {
    pub fn add(&mut self, row: &SymbolRow) {
        self.symbols += 1;
        match &row.result {
            Ok((s, _, _)) => {
                self.bars += s.bars;
                self.trades += s.trades;
                self.winning_trades += s.winning_trades;
                self.initial_cash += s.initial_cash;
                self.final_value += s.final_value;
            }
            Err(_) => self.failed += 1,
        }
    }

    /// The return of all the symbols' cash together; `None` when none ran.
    pub fn total_return(&self) -> Option<f64> {
        (self.initial_cash > 0.0).then(|| self.final_value / self.initial_cash - 1.0)
    }
}
