//! `--plot report.html`: one self-contained HTML page with the run's chart, written in constant
//! memory.
//!
//! Contract:
//! - [`ReportSink`] is a [`Sink`]: during the run it keeps only the current bar's plot values and
//!   streams one fixed-size little-endian record per bar (time, open, high, low, close, volume,
//!   equity, then every `plot()` series in [`crate::ir::BarProgram::plots`] order, `na` as NaN)
//!   and one record per fill (bar, signed size, price) to two temporary files beside the
//!   destination (`NAME.bars-PID`, `NAME.fills-PID`). Closed trades are only counted. Nothing it
//!   holds grows with the number of bars.
//! - [`ReportSink::finish`] assembles the page in one pass over each temporary file (the record
//!   count is known, so the bucket size is too): at most [`MAX_SLOTS`] time slots of `K` bars each
//!   (`K = ceil(bars / MAX_SLOTS)`, 1 for short runs, so a short run is shown exactly); candles
//!   are OHLC per slot, volume is summed; every line (plot series, equity, drawdown) shows the
//!   minimum and the maximum of each pair of slots, in the order they occurred, so the extremes
//!   survive downsampling. Fills become at most one buy and one sell marker per slot; beyond
//!   [`MAX_MARKERS`] an evenly spaced subset is kept and the page says so. What `finish` holds is
//!   bounded by the slot count, not the bar count. The page is written through an
//!   [`AtomicFile`](crate::runtime::output::AtomicFile): it appears only when complete, and the
//!   temporary files are removed in every case (also when the sink is dropped unfinished).
//! - The page works offline: lightweight-charts (Apache-2.0, `vendor/lightweight-charts/`) is
//!   inlined with its licence and attribution. Its data are in
//!   `<script id="btl-data" type="application/json">` (`"bars"`, `"trades"`, `"fills"` are the
//!   run's counts); after the chart rendered, `#btl-status` has `data-state="ok"`
//!   (`"error"` with the message if a script failed).
//! - A plot series goes on the price pane when at least 80% of its values lie within 20% of the
//!   bar's range (`low - 0.2·|close| ..= high + 0.2·|close|`); otherwise it gets its own pane.

mod assemble;
mod extras;
mod summary;

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use crate::runtime::broker::{ClosedTrade, FillKind};
use crate::runtime::engine::{Account, Sink};
use crate::runtime::feed::Bar;

/// The most time slots (candles) a page shows; longer runs are downsampled into buckets.
pub const MAX_SLOTS: u64 = 4000;
/// The most buy/sell markers a page shows.
pub const MAX_MARKERS: usize = 2000;
/// The lightweight-charts version inlined into the page.
pub const CHART_LIBRARY_VERSION: &str = "5.2.1";

/// Per-bar fields before the plot values: time, open, high, low, close, volume, equity, the
/// protective stop and target levels.
const BAR_FIELDS: usize = 9;
/// A fill record: bar, size, price, what it was (0 an entry, else [`exit_code`]).
const FILL_BYTES: usize = 32;

/// The code of an exit fill of `kind` in a fill record (1 and up).
fn exit_code(kind: FillKind) -> u8 {
    match kind {
        FillKind::Market => 1,
        FillKind::Limit => 2,
        FillKind::Stop => 3,
        FillKind::Trail => 4,
    }
}

/// The exit reason of a fill record's code (`None` for an entry).
fn exit_reason(code: u8) -> Option<&'static str> {
    [
        FillKind::Market,
        FillKind::Limit,
        FillKind::Stop,
        FillKind::Trail,
    ]
    .into_iter()
    .find(|&k| exit_code(k) == code)
    .map(FillKind::exit_reason)
}

/// A temporary file written during the run and read back once; removed when dropped.
struct TempFile {
    path: PathBuf,
    out: Option<BufWriter<File>>,
}

impl TempFile {
    fn create(dest: &Path, kind: &str) -> std::io::Result<TempFile> {
        let path = crate::runtime::output::temp_path(&crate::runtime::output::resolve(dest), kind);
        crate::runtime::output::clean_stale(&path);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)?;
        crate::runtime::output::register_temp(&path);
        Ok(TempFile {
            path,
            out: Some(BufWriter::with_capacity(1 << 16, file)),
        })
    }

    fn writer(&mut self) -> std::io::Result<&mut BufWriter<File>> {
        self.out
            .as_mut()
            .ok_or_else(|| std::io::Error::other("temporary file already read back"))
    }

    /// Flushes and rewinds: the file, ready to be read from the start.
    fn read_back(&mut self) -> std::io::Result<File> {
        let out = self
            .out
            .take()
            .ok_or_else(|| std::io::Error::other("temporary file already read back"))?;
        let mut file = out.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        Ok(file)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        self.out = None;
        let _ = std::fs::remove_file(&self.path);
        crate::runtime::output::unregister_temp(&self.path);
    }
}

/// What a finished report holds (also embedded in the page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportInfo {
    pub bars: u64,
    pub trades: u64,
    pub fills: u64,
    /// Time slots shown (candles, plus possibly one trailing slot of the last pair).
    pub slots: u64,
    /// Bars per slot.
    pub bucket: u64,
    /// Markers on the page (at most [`MAX_MARKERS`]).
    pub markers_shown: u64,
    /// Markers before the cap (one per slot and side).
    pub markers_total: u64,
}

/// Streams what the page needs to temporary files during a run (see the module contract).
pub struct ReportSink {
    dest: PathBuf,
    strategy: String,
    plots: Vec<String>,
    initial_cash: f64,
    bars_file: TempFile,
    fills_file: TempFile,
    current: Vec<f64>,
    record: Vec<u8>,
    bars: u64,
    fills: u64,
    trades: u64,
    extras: extras::Extras,
    order_names: Vec<String>,
    error: Option<std::io::Error>,
}

impl ReportSink {
    /// Opens the temporary files beside `dest`. `plots` are the program's plot names in index
    /// order; `initial_cash` is the peak the drawdown starts from.
    pub fn create(
        dest: &Path,
        strategy: &str,
        plots: &[String],
        initial_cash: f64,
    ) -> std::io::Result<ReportSink> {
        Ok(ReportSink {
            dest: dest.to_path_buf(),
            strategy: strategy.to_string(),
            plots: plots.to_vec(),
            initial_cash,
            bars_file: TempFile::create(dest, "bars")?,
            fills_file: TempFile::create(dest, "fills")?,
            current: vec![f64::NAN; plots.len()],
            record: Vec::with_capacity((BAR_FIELDS + plots.len()) * 8),
            bars: 0,
            fills: 0,
            trades: 0,
            extras: extras::Extras::default(),
            order_names: Vec::new(),
            error: None,
        })
    }

    /// What the page shows of the program besides its plots: its order names (in the trade
    /// list) and its `hline` levels.
    pub fn describe(&mut self, p: &crate::ir::BarProgram) {
        self.order_names = p.order_names.clone();
        self.extras.hlines = p.hlines.clone();
    }

    /// The destination path.
    pub fn path(&self) -> &Path {
        &self.dest
    }

    /// Assembles the page from the temporary files and commits it. `summary` is the run's
    /// summary as `btl run --json` prints it (its scalars and its `statistics` object are shown in
    /// the header; arrays such as `closed_trades` are ignored). The first write error of the run,
    /// if any, is returned here.
    pub fn finish(self, summary: &serde_json::Value) -> std::io::Result<ReportInfo> {
        let (page, info) = self.prepare(summary)?;
        page.commit()?;
        Ok(info)
    }

    /// [`ReportSink::finish`] but for the last step: the page, written and flushed to its
    /// temporary file, to commit with the run's other outputs.
    pub fn prepare(
        mut self,
        summary: &serde_json::Value,
    ) -> std::io::Result<(crate::runtime::output::AtomicFile, ReportInfo)> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let bars = self.bars_file.read_back()?;
        let fills = self.fills_file.read_back()?;
        let expected = self.bars * ((BAR_FIELDS + self.plots.len()) * 8) as u64;
        if bars.metadata()?.len() != expected
            || fills.metadata()?.len() != self.fills * FILL_BYTES as u64
        {
            return Err(std::io::Error::other(
                "a temporary plot file does not have the size written",
            ));
        }
        let input = assemble::Input {
            strategy: &self.strategy,
            plots: &self.plots,
            initial_cash: self.initial_cash,
            bars: self.bars,
            fills: self.fills,
            trades: self.trades,
            summary,
            extras: &self.extras,
            order_names: &self.order_names,
        };
        let mut page = crate::runtime::output::AtomicFile::create(&self.dest)?;
        let info = assemble::assemble(&input, bars, fills, page.writer())?;
        page.prepare()?;
        Ok((page, info))
    }

    fn write_bar(&mut self, data: &Bar, account: &Account) -> std::io::Result<()> {
        self.record.clear();
        self.record.extend_from_slice(&data.time.to_le_bytes());
        for x in [
            data.open,
            data.high,
            data.low,
            data.close,
            data.volume,
            account.value,
            account.stop,
            account.target,
        ] {
            self.record.extend_from_slice(&x.to_le_bytes());
        }
        for x in &mut self.current {
            self.record.extend_from_slice(&x.to_le_bytes());
            *x = f64::NAN;
        }
        self.bars_file.writer()?.write_all(&self.record)
    }

    fn write_fill(&mut self, bar: u64, size: f64, price: f64, code: u8) -> std::io::Result<()> {
        let mut rec = [0u8; FILL_BYTES];
        rec[..8].copy_from_slice(&bar.to_le_bytes());
        rec[8..16].copy_from_slice(&size.to_le_bytes());
        rec[16..24].copy_from_slice(&price.to_le_bytes());
        rec[24..].copy_from_slice(&u64::from(code).to_le_bytes());
        self.fills_file.writer()?.write_all(&rec)
    }
}

impl Sink for ReportSink {
    fn plot(&mut self, _bar: u64, index: u32, value: f64) {
        if let Some(x) = self.current.get_mut(index as usize) {
            *x = value;
        }
    }

    fn fill(&mut self, bar: u64, size: f64, price: f64, kind: FillKind, exit: bool) {
        if self.error.is_none() {
            let code = if exit { exit_code(kind) } else { 0 };
            match self.write_fill(bar, size, price, code) {
                Ok(()) => self.fills += 1,
                Err(e) => self.error = Some(e),
            }
        }
    }

    fn trade(&mut self, trade: &ClosedTrade) {
        // The page draws the primary feed; other symbols' trades are in the trades file.
        if trade.symbol != 0 {
            return;
        }
        self.trades += 1;
        self.extras.on_trade(trade);
    }

    fn wants_levels(&self) -> bool {
        true
    }

    fn bar(&mut self, _bar: u64, data: &Bar, account: &Account) {
        self.extras.on_bar(data.time, data.close, account.value);
        if self.error.is_none() {
            match self.write_bar(data, account) {
                Ok(()) => self.bars += 1,
                Err(e) => self.error = Some(e),
            }
        }
    }
}

/// Two sinks as one: everything goes to `run`, and to `report` when there is one.
pub struct Tee<'a, R: Sink + ?Sized> {
    pub run: &'a mut R,
    pub report: Option<&'a mut ReportSink>,
}

impl<R: Sink + ?Sized> Sink for Tee<'_, R> {
    fn plot(&mut self, bar: u64, index: u32, value: f64) {
        self.run.plot(bar, index, value);
        if let Some(r) = &mut self.report {
            r.plot(bar, index, value);
        }
    }

    fn order(
        &mut self,
        bar: u64,
        action: crate::sema::builtins::Action,
        args: &[f64],
        name: Option<u32>,
    ) {
        self.run.order(bar, action, args, name);
        if let Some(r) = &mut self.report {
            r.order(bar, action, args, name);
        }
    }

    fn trade(&mut self, trade: &ClosedTrade) {
        self.run.trade(trade);
        if let Some(r) = &mut self.report {
            r.trade(trade);
        }
    }

    fn fill(&mut self, bar: u64, size: f64, price: f64, kind: FillKind, exit: bool) {
        self.run.fill(bar, size, price, kind, exit);
        if let Some(r) = &mut self.report {
            r.fill(bar, size, price, kind, exit);
        }
    }

    fn symbol_fill(
        &mut self,
        symbol: u32,
        bar: u64,
        size: f64,
        price: f64,
        kind: FillKind,
        exit: bool,
    ) {
        // The report draws the primary feed's chart: other symbols' fills are not on it.
        self.run.symbol_fill(symbol, bar, size, price, kind, exit);
    }

    fn bar(&mut self, bar: u64, data: &Bar, account: &Account) {
        self.run.bar(bar, data, account);
        if let Some(r) = &mut self.report {
            r.bar(bar, data, account);
        }
    }

    fn wants_levels(&self) -> bool {
        self.run.wants_levels() || self.report.as_ref().is_some_and(|r| r.wants_levels())
    }
}
