//! Output files written as the run goes: each is written under a temporary name and put in place
//! only when the run completes, so a failed run leaves no partial file behind; and the targets
//! are checked before the run, so a run never replaces its own inputs.
//!
//! Contract: [`check_targets`] refuses, before anything is written, an output that is a
//! directory, lies in a folder that does not exist, is the same file as an input (compared by
//! device and inode, after following links) or as another output. [`AtomicFile::create`] follows
//! a symlink to the file it names and opens a temporary file (`NAME.tmp-PID` beside a regular
//! destination; in the system's temporary folder for a special file such as a device or a FIFO);
//! [`AtomicFile::prepare`] flushes it to disk; [`AtomicFile::commit`] renames it over a regular
//! destination, or copies it into a special one (which is written in place, never replaced);
//! dropping it uncommitted removes the temporary file.
//!
//! Every temporary file of the process is listed ([`register_temp`]) so that a run stopped by
//! SIGINT or SIGTERM removes them ([`remove_temps`], called by the CLI's signal handler). Against
//! SIGKILL, temporary names carry the process id: creating a temporary file first removes those
//! of the same destination left by processes that no longer run ([`clean_stale`]).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::runtime::broker::ClosedTrade;
use crate::runtime::engine::Sink;

/// The temporary files this process has open.
static TEMPS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Lists a temporary file, to be removed if the process is stopped.
pub fn register_temp(path: &Path) {
    let mut temps = TEMPS.lock().unwrap_or_else(|p| p.into_inner());
    temps.push(path.to_path_buf());
}

/// Unlists a temporary file (committed or removed).
pub fn unregister_temp(path: &Path) {
    let mut temps = TEMPS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(i) = temps.iter().position(|p| p == path) {
        temps.swap_remove(i);
    }
}

/// Removes every listed temporary file (the process is being stopped).
pub fn remove_temps() {
    let temps = TEMPS.lock().unwrap_or_else(|p| p.into_inner());
    for p in temps.iter() {
        let _ = std::fs::remove_file(p);
    }
}

/// Removes the temporary files `NAME.KIND-PID` of `temp` (its name with another process id)
/// whose process no longer runs: what a killed run left.
pub fn clean_stale(temp: &Path) {
    let (Some(dir), Some(name)) = (temp.parent(), temp.file_name().and_then(|n| n.to_str())) else {
        return;
    };
    let Some((stem, _pid)) = name.rsplit_once('-') else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(file) = file.to_str() else { continue };
        // `STEM-PID`, or a file derived from it (`STEM-PID.tmp-PID`).
        let Some(pid) = file
            .strip_prefix(stem)
            .and_then(|rest| rest.strip_prefix('-'))
            .map(|rest| {
                rest.split(|c: char| !c.is_ascii_digit())
                    .next()
                    .unwrap_or("")
            })
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let alive = Path::new("/proc").join(pid.to_string()).exists();
        if !alive && e.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// `path` with its symlinks followed (also a dangling one: the file it would create).
pub fn resolve(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => match std::fs::read_link(&p) {
                Ok(t) if t.is_absolute() => p = t,
                Ok(t) => p = p.parent().unwrap_or(Path::new("")).join(t),
                Err(_) => break,
            },
            _ => break,
        }
    }
    p
}

/// Whether `path` (followed) is something other than a regular file: a device, a FIFO, a socket.
fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Where the temporary file for `dest` (already resolved) goes: beside it, or, for a special
/// file, in the system's temporary folder. `kind` tells the temporary files of one output apart.
pub fn temp_path(dest: &Path, kind: &str) -> PathBuf {
    let mut name = dest
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".{kind}-{}", std::process::id()));
    if is_special(dest) {
        let mut prefixed = std::ffi::OsString::from("btl-");
        prefixed.push(name);
        std::env::temp_dir().join(prefixed)
    } else {
        dest.with_file_name(name)
    }
}

/// Checks every output of a run before it starts (see the module contract). `inputs` and
/// `outputs` are (flag, path) pairs, e.g. `("--data", "prices.csv")`; the error names the flags.
pub fn check_targets(inputs: &[(&str, &Path)], outputs: &[(&str, &Path)]) -> Result<(), String> {
    let id = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    // Where a file that does not exist yet would be: its folder, resolved, and its name.
    let place = |p: &Path| -> Option<PathBuf> {
        let p = resolve(p);
        let parent = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Some(std::fs::canonicalize(parent).ok()?.join(p.file_name()?))
    };
    for (i, &(flag, out)) in outputs.iter().enumerate() {
        let shown = out.display();
        let target = resolve(out);
        if target.is_dir() {
            return Err(format!("{flag} {shown}: is a directory; give a file name"));
        }
        if out.file_name().is_none() {
            return Err(format!("{flag} {shown}: not a file name"));
        }
        let parent = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !parent.is_dir() {
            return Err(format!(
                "{flag} {shown}: the folder {} does not exist",
                parent.display()
            ));
        }
        if let Some(o) = id(out) {
            for &(in_flag, input) in inputs {
                if id(input) == Some(o) {
                    return Err(format!(
                        "{flag} {shown}: is the same file as {in_flag} {}; refusing to overwrite an input",
                        input.display()
                    ));
                }
            }
        }
        for &(other_flag, other) in &outputs[..i] {
            let same = match (id(out), id(other)) {
                (Some(a), Some(b)) => a == b,
                (None, None) => place(out).is_some() && place(out) == place(other),
                _ => false,
            };
            if same {
                return Err(format!(
                    "{flag} {shown} and {other_flag} {}: the same file for two outputs",
                    other.display()
                ));
            }
        }
    }
    Ok(())
}

pub struct AtomicFile {
    tmp: PathBuf,
    /// The destination, symlinks followed.
    dest: PathBuf,
    out: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(dest: &Path) -> std::io::Result<AtomicFile> {
        let dest = resolve(dest);
        let tmp = temp_path(&dest, "tmp");
        clean_stale(&tmp);
        let file = File::create(&tmp)?;
        register_temp(&tmp);
        Ok(AtomicFile {
            tmp,
            dest,
            out: Some(BufWriter::new(file)),
        })
    }

    pub fn writer(&mut self) -> &mut BufWriter<File> {
        self.out.as_mut().expect("an uncommitted file has a writer")
    }

    /// Flushes everything written to disk: after this, only putting the file in place is left.
    pub fn prepare(&mut self) -> std::io::Result<()> {
        if let Some(out) = &mut self.out {
            out.flush()?;
            out.get_ref().sync_all()?;
        }
        Ok(())
    }

    pub fn commit(mut self) -> std::io::Result<()> {
        self.prepare()?;
        if is_special(&self.dest) {
            // A device or a FIFO is written in place, never replaced by a regular file.
            let mut from = File::open(&self.tmp)?;
            let mut to = std::fs::OpenOptions::new().write(true).open(&self.dest)?;
            std::io::copy(&mut from, &mut to)?;
            to.flush()?;
            self.out = None;
            unregister_temp(&self.tmp);
            return std::fs::remove_file(&self.tmp);
        }
        self.out = None;
        let done = std::fs::rename(&self.tmp, &self.dest).inspect_err(|_| {
            let _ = std::fs::remove_file(&self.tmp);
        });
        unregister_temp(&self.tmp);
        done
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
            unregister_temp(&self.tmp);
        }
    }
}

pub const TRADES_HEADER: &str = "entry_time,exit_time,side,qty,entry_price,exit_price,pnl,pnl_net,return_pct,bars_held,entry_bar,exit_bar,entry_order,exit_order";

/// A price for a person: at most 8 decimals, trailing zeros dropped (`97.5`, `0.00001234`).
fn price_text(p: f64) -> String {
    let s = format!("{p:.8}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// The return of a trade in percent of what it put at stake (entry price × size).
pub(crate) fn return_pct(t: &ClosedTrade) -> f64 {
    100.0 * t.pnl_net / (t.entry_price * t.qty.abs())
}

/// The name of order number `n` (`BarProgram::order_names`), if it has one.
fn order_name(names: &[String], n: Option<u32>) -> Option<&str> {
    n.and_then(|n| names.get(n as usize)).map(String::as_str)
}

/// One closed trade as a CSV row for a person: ISO 8601 times, the side, the size, prices to at
/// most 8 decimals, money to cents, the return in percent and the bars held (full precision is in
/// `--json`); the order names are empty when unnamed.
pub fn trade_csv(
    t: &ClosedTrade,
    names: &[String],
    symbols: &[String],
    zone: Option<&jiff::tz::TimeZone>,
) -> String {
    let format_time_ms = |ms| crate::runtime::feed::format_time_in(ms, zone);
    let symbol = match symbols.get(t.symbol as usize) {
        Some(s) => format!(",{s}"),
        None => String::new(),
    };
    format!(
        "{},{},{},{},{},{},{:.2},{:.2},{:.2},{},{},{},{},{}{symbol}",
        format_time_ms(t.entry_time),
        format_time_ms(t.exit_time),
        if t.qty < 0.0 { "short" } else { "long" },
        t.qty.abs(),
        price_text(t.entry_price),
        price_text(t.exit_price),
        t.pnl,
        t.pnl_net,
        return_pct(t),
        t.exit_bar.saturating_sub(t.entry_bar),
        t.entry_bar,
        t.exit_bar,
        order_name(names, t.entry_order).unwrap_or(""),
        order_name(names, t.exit_order).unwrap_or(""),
    )
}

/// One closed trade as a JSON object (order names `null` when unnamed; the symbol when there
/// are several).
pub fn trade_json(
    t: &ClosedTrade,
    names: &[String],
    symbols: &[String],
    zone: Option<&jiff::tz::TimeZone>,
) -> serde_json::Value {
    let mut v = serde_json::json!({
        "entry_bar": t.entry_bar,
        "exit_bar": t.exit_bar,
        "qty": t.qty,
        "entry_price": t.entry_price,
        "exit_price": t.exit_price,
        "pnl": t.pnl,
        "pnl_net": t.pnl_net,
        "entry_order": order_name(names, t.entry_order),
        "exit_order": order_name(names, t.exit_order),
        "entry_time": crate::runtime::feed::format_time_in(t.entry_time, zone),
        "exit_time": crate::runtime::feed::format_time_in(t.exit_time, zone),
        "side": if t.qty < 0.0 { "short" } else { "long" },
        "return_pct": return_pct(t),
        "bars_held": t.exit_bar.saturating_sub(t.entry_bar),
    });
    if let Some(s) = symbols.get(t.symbol as usize) {
        v["symbol"] = serde_json::json!(s);
    }
    v
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
    /// The symbols' names when the program trades several (a `symbol` column), else empty.
    pub symbols: Vec<String>,
    /// The zone times are written in (`--timezone`; UTC without one).
    pub zone: Option<jiff::tz::TimeZone>,
}

impl Sink for TradeFiles {
    fn trade(&mut self, t: &ClosedTrade) {
        if self.error.is_some() {
            return;
        }
        if let Some(f) = &mut self.csv
            && let Err(e) = writeln!(
                f.writer(),
                "{}",
                trade_csv(t, &self.order_names, &self.symbols, self.zone.as_ref())
            )
        {
            self.error = Some(e);
        }
        if let Some(f) = &mut self.json
            && let Err(e) = writeln!(
                f.writer(),
                "{}",
                trade_json(t, &self.order_names, &self.symbols, self.zone.as_ref())
            )
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
    /// Every plotted series at every bar (`--series`).
    pub series: Option<SeriesFile>,
    pub stats: crate::runtime::stats::Stats,
}

pub const EQUITY_HEADER: &str = "time,cash,value,position";

/// Every `plot()`ted series at every bar (`btl run --series`): time first, one column per plot,
/// shortest round-trip digits, `na` empty; one row written per bar, nothing kept.
pub struct SeriesFile {
    pub file: AtomicFile,
    /// This bar's plotted values, by plot index.
    current: Vec<f64>,
    pub error: Option<std::io::Error>,
    /// The zone times are written in.
    pub zone: Option<jiff::tz::TimeZone>,
}

impl SeriesFile {
    /// Writes the header (`time` and the plot names) to `file`.
    pub fn new(mut file: AtomicFile, plots: &[String]) -> std::io::Result<SeriesFile> {
        let names: Vec<String> = plots.iter().map(|p| csv_cell(p)).collect();
        writeln!(file.writer(), "time,{}", names.join(","))?;
        Ok(SeriesFile {
            file,
            current: vec![f64::NAN; plots.len()],
            error: None,
            zone: None,
        })
    }

    fn plot(&mut self, index: u32, value: f64) {
        if let Some(v) = self.current.get_mut(index as usize) {
            *v = value;
        }
    }

    fn bar(&mut self, time: i64) {
        if self.error.is_some() {
            return;
        }
        let w = self.file.writer();
        let mut row = crate::runtime::feed::format_time_in(time, self.zone.as_ref());
        for v in &mut self.current {
            row.push(',');
            if !v.is_nan() {
                row.push_str(&format!("{v:?}"));
            }
            *v = f64::NAN;
        }
        if let Err(e) = writeln!(w, "{row}") {
            self.error = Some(e);
        }
    }
}

/// A CSV cell: quoted when it holds a comma, a quote or a line break.
fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl Sink for RunSink {
    fn plot(&mut self, _bar: u64, index: u32, value: f64) {
        if let Some(s) = &mut self.series {
            s.plot(index, value);
        }
    }

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
            .on_bar(data.time, account.value, account.exposed());
        if let Some(s) = &mut self.series {
            s.bar(data.time);
        }
        if self.files.error.is_none()
            && let Some(f) = &mut self.equity
            && let Err(e) = write!(
                f.writer(),
                "{},{:?},{:?},{:?}",
                crate::runtime::feed::format_time_in(data.time, self.files.zone.as_ref()),
                account.cash,
                account.value,
                account.position
            )
            .and_then(|()| {
                // With several symbols, the others' positions (`position_NAME` columns).
                for p in
                    &account.positions[1.min(account.symbols as usize)..account.symbols as usize]
                {
                    write!(f.writer(), ",{p:?}")?;
                }
                writeln!(f.writer())
            })
        {
            self.files.error = Some(e);
        }
    }
}
