//! Output files written as the run goes: each is written under a temporary name beside its
//! destination and renamed into place only when the run completes, so a failed run leaves no
//! partial file behind.
//!
//! Contract: [`AtomicFile::create`] opens `NAME.tmp-PID`; [`AtomicFile::commit`] flushes and
//! renames; dropping it uncommitted removes the temporary file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::runtime::broker::ClosedTrade;
use crate::runtime::engine::Sink;

pub struct AtomicFile {
    tmp: PathBuf,
    dest: PathBuf,
    out: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(dest: &Path) -> std::io::Result<AtomicFile> {
        let mut name = dest
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push(format!(".tmp-{}", std::process::id()));
        let tmp = dest.with_file_name(name);
        let file = File::create(&tmp)?;
        Ok(AtomicFile {
            tmp,
            dest: dest.to_path_buf(),
            out: Some(BufWriter::new(file)),
        })
    }

    pub fn writer(&mut self) -> &mut BufWriter<File> {
        self.out.as_mut().expect("an uncommitted file has a writer")
    }

    pub fn commit(mut self) -> std::io::Result<()> {
        if let Some(mut out) = self.out.take() {
            out.flush()?;
            out.get_ref().sync_all()?;
        }
        std::fs::rename(&self.tmp, &self.dest)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

pub const TRADES_HEADER: &str =
    "entry_bar,exit_bar,qty,entry_price,exit_price,pnl,pnl_net,entry_order,exit_order";

/// The name of order number `n` (`BarProgram::order_names`), if it has one.
fn order_name(names: &[String], n: Option<u32>) -> Option<&str> {
    n.and_then(|n| names.get(n as usize)).map(String::as_str)
}

/// One closed trade as a CSV row (full precision); the order names are empty when unnamed.
pub fn trade_csv(t: &ClosedTrade, names: &[String]) -> String {
    format!(
        "{},{},{:?},{:?},{:?},{:?},{:?},{},{}",
        t.entry_bar,
        t.exit_bar,
        t.qty,
        t.entry_price,
        t.exit_price,
        t.pnl,
        t.pnl_net,
        order_name(names, t.entry_order).unwrap_or(""),
        order_name(names, t.exit_order).unwrap_or(""),
    )
}

/// One closed trade as a JSON object (order names `null` when unnamed).
pub fn trade_json(t: &ClosedTrade, names: &[String]) -> serde_json::Value {
    serde_json::json!({
        "entry_bar": t.entry_bar,
        "exit_bar": t.exit_bar,
        "qty": t.qty,
        "entry_price": t.entry_price,
        "exit_price": t.exit_price,
        "pnl": t.pnl,
        "pnl_net": t.pnl_net,
        "entry_order": order_name(names, t.entry_order),
        "exit_order": order_name(names, t.exit_order),
    })
}

/// Streams closed trades to files; the first write error is kept and reported at the end.
#[derive(Default)]
pub struct TradeFiles {
    pub csv: Option<AtomicFile>,
    /// JSON lines of trades, spilled to disk until the summary is printed.
    pub json: Option<AtomicFile>,
    pub error: Option<std::io::Error>,
    /// The program's order names, for the trades' `entry_order` and `exit_order`.
    pub order_names: Vec<String>,
}

impl Sink for TradeFiles {
    fn trade(&mut self, t: &ClosedTrade) {
        if self.error.is_some() {
            return;
        }
        if let Some(f) = &mut self.csv
            && let Err(e) = writeln!(f.writer(), "{}", trade_csv(t, &self.order_names))
        {
            self.error = Some(e);
        }
        if let Some(f) = &mut self.json
            && let Err(e) = writeln!(f.writer(), "{}", trade_json(t, &self.order_names))
        {
            self.error = Some(e);
        }
    }
}

/// Peak resident memory of this process in bytes (Linux `VmHWM`), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// What `btl run` attaches to the engine: the trade files, the equity file and the statistics.
pub struct RunSink {
    pub files: TradeFiles,
    /// Per bar: time, cash, value, position.
    pub equity: Option<AtomicFile>,
    pub stats: crate::runtime::stats::Stats,
}

pub const EQUITY_HEADER: &str = "time,cash,value,position";

impl Sink for RunSink {
    fn trade(&mut self, t: &ClosedTrade) {
        self.stats.on_trade(t);
        self.files.trade(t);
    }

    fn bar(
        &mut self,
        _bar: u64,
        data: &crate::runtime::feed::Bar,
        account: &crate::runtime::engine::Account,
    ) {
        self.stats
            .on_bar(data.time, account.value, account.position != 0.0);
        if self.files.error.is_none()
            && let Some(f) = &mut self.equity
            && let Err(e) = writeln!(
                f.writer(),
                "{},{:?},{:?},{:?}",
                crate::runtime::feed::format_time_ms(data.time),
                account.cash,
                account.value,
                account.position
            )
        {
            self.files.error = Some(e);
        }
    }
}
