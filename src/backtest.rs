//! One backtest as a library value: a compiled program, its engine, the broker's settings and
//! the outputs it writes. `btl run`, `btl sweep` and the tests all run through [`Backtest`].
//!
//! Contract: [`Settings::broker_config`] checks every figure before anything runs and names the
//! flag of a bad one. [`Backtest::run`] runs over any [`BarSource`] and returns the summary and
//! the statistics, writing nothing. [`Backtest::run_to`] also writes [`Outputs`]: every target is
//! checked against the inputs and each other before the run starts, every file is written under a
//! temporary name, and they are put in place together only after the run succeeded (all or
//! nothing; see `runtime::output`). Both build the statistics with the same sink, so a run with
//! outputs and one without give the same numbers bit for bit.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use crate::ir::BarProgram;
use crate::jit::Jit;
use crate::runtime::broker::{self, BrokerConfig};
use crate::runtime::engine::{self, BarSource, RunError, Summary};
use crate::runtime::output::{self, AtomicFile};
use crate::runtime::report::{ReportSink, Tee};
use crate::runtime::stats::{Statistics, Stats, StatsConfig};

/// The broker's and the statistics' settings of a run (`btl run`'s cost and fill flags).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Cash, costs and the fill convention, as given (checked by [`Settings::broker_config`]).
    pub broker: BrokerConfig,
    /// Annual risk-free rate for the Sharpe and Sortino ratios.
    pub risk_free: f64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            broker: BrokerConfig {
                cash: 100_000.0,
                ..BrokerConfig::default()
            },
            risk_free: 0.0,
        }
    }
}

impl Settings {
    /// The broker's configuration, or what is wrong with a figure, naming its flag.
    pub fn broker_config(&self) -> Result<BrokerConfig, String> {
        let b = &self.broker;
        if !(b.cash.is_finite() && b.cash > 0.0) {
            return Err(format!("--cash {}: must be a positive number", b.cash));
        }
        if !(b.commission.is_finite() && (0.0..1.0).contains(&b.commission)) {
            return Err(format!(
                "--commission {}: must be a fraction in [0, 1), e.g. 0.001 for 0.1%",
                b.commission
            ));
        }
        if !(self.risk_free.is_finite() && self.risk_free > -1.0) {
            return Err(format!(
                "--risk-free {}: must be an annual rate such as 0.02",
                self.risk_free
            ));
        }
        for (flag, v) in [
            ("--commission-per-unit", b.commission_per_unit),
            ("--commission-min", b.commission_min),
            ("--slippage-fixed", b.slippage_fixed),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("{flag} {v}: must be a non-negative number"));
            }
        }
        if !(b.slippage.is_finite() && (0.0..1.0).contains(&b.slippage)) {
            return Err(format!(
                "--slippage {}: must be a fraction in [0, 1)",
                b.slippage
            ));
        }
        Ok(self.broker)
    }
}

/// The engine that runs each bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// Cranelift-compiled native code.
    Jit,
    /// The reference interpreter.
    Interp,
}

/// The files a run writes (each optional).
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// Closed trades, one CSV row each.
    pub trades: Option<PathBuf>,
    /// Time, cash, value and position per bar.
    pub equity: Option<PathBuf>,
    /// The HTML report.
    pub plot: Option<PathBuf>,
    /// Every plotted series per bar.
    pub series: Option<PathBuf>,
    /// Keep every closed trade as a JSON line, to print with the summary ([`Outcome::trades`]).
    pub json_trades: bool,
}

impl Outputs {
    /// (flag, path) of every file asked for.
    fn targets(&self) -> Vec<(&'static str, &Path)> {
        [
            ("--trades", &self.trades),
            ("--equity", &self.equity),
            ("--plot", &self.plot),
            ("--series", &self.series),
        ]
        .into_iter()
        .filter_map(|(flag, p)| p.as_deref().map(|p| (flag, p)))
        .collect()
    }
}

/// Why a backtest failed: the message names the flag or file at fault.
#[derive(Debug)]
pub enum Error {
    /// A setting, an output target or writing an output.
    Output(String),
    /// The data or the engine.
    Run(RunError),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Output(m) => write!(f, "{m}"),
            Error::Run(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

/// A run's results.
#[derive(Debug)]
pub struct Outcome {
    pub summary: Summary,
    pub statistics: Statistics,
    /// Every closed trade as JSON lines in a temporary file (with [`Outputs::json_trades`]),
    /// removed when the outcome is dropped.
    pub trades: Option<Spill>,
}

/// A temporary file of JSON lines, removed on drop (and by the CLI's signal handler).
#[derive(Debug)]
pub struct Spill {
    path: PathBuf,
}

impl Spill {
    fn create() -> std::io::Result<(Spill, AtomicFile)> {
        let path = std::env::temp_dir().join(format!("btl-trades.jsonl-{}", std::process::id()));
        output::clean_stale(&path);
        let file = AtomicFile::create(&path)?;
        Ok((Spill { path }, file))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        output::unregister_temp(&self.path);
    }
}

/// A compiled program ready to run, with its engine and settings.
pub struct Backtest {
    program: BarProgram,
    symbol_names: Vec<String>,
    /// The zone times are written in (`--timezone`).
    zone: Option<jiff::tz::TimeZone>,
    jit: Option<Jit>,
    settings: Settings,
    config: BrokerConfig,
}

impl Backtest {
    /// Checks the settings and compiles the program for `engine`.
    pub fn new(program: BarProgram, engine: EngineKind, settings: Settings) -> Result<Self, Error> {
        let config = settings.broker_config().map_err(Error::Output)?;
        let jit = match engine {
            EngineKind::Jit => Some(Jit::compile(&program).map_err(|e| {
                Error::Output(format!("the JIT failed to compile the program: {e}"))
            })?),
            EngineKind::Interp => None,
        };
        Ok(Backtest {
            program,
            symbol_names: Vec::new(),
            zone: None,
            jit,
            settings,
            config,
        })
    }

    pub fn program(&self) -> &BarProgram {
        &self.program
    }

    /// Writes times in the trades, equity and series files on `zone`'s clock (else UTC).
    pub fn set_time_zone(&mut self, zone: Option<jiff::tz::TimeZone>) {
        self.zone = zone;
    }

    /// Names the symbols (the program's data feeds, the primary first) in trades and summaries;
    /// without names, the primary is `main` and the others have their feed's name.
    pub fn set_symbol_names(&mut self, names: Vec<String>) {
        self.symbol_names = names;
    }

    /// The symbols' names when the program trades several, else empty.
    pub fn symbol_names(&self) -> Vec<String> {
        if self.program.symbols.len() < 2 {
            return Vec::new();
        }
        let data = self.program.feeds.iter().filter(|f| f.is_data());
        data.enumerate()
            .map(|(k, f)| match self.symbol_names.get(k) {
                Some(n) => n.clone(),
                None if k == 0 => "main".to_string(),
                None => f.name.clone(),
            })
            .collect()
    }

    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn stats(&self) -> Stats {
        Stats::new(StatsConfig {
            initial_cash: self.config.cash,
            risk_free_rate: self.settings.risk_free,
        })
    }

    /// Runs over `source` and returns the summary and the statistics; writes nothing.
    pub fn run<S: BarSource + ?Sized>(
        &mut self,
        source: &mut S,
    ) -> Result<(Summary, Statistics), RunError> {
        let mut sink = output::RunSink {
            files: output::TradeFiles::default(),
            equity: None,
            series: None,
            stats: self.stats(),
        };
        let summary = self.engine_run(source, &mut sink)?;
        Ok((summary, sink.stats.finish()))
    }

    fn engine_run<S: BarSource + ?Sized, K: engine::Sink + ?Sized>(
        &mut self,
        source: &mut S,
        sink: &mut K,
    ) -> Result<Summary, RunError> {
        let mut interp = engine::Interpreter;
        let step: &mut dyn engine::Engine = match &mut self.jit {
            Some(j) => j,
            None => &mut interp,
        };
        engine::run(&self.program, source, step, self.config, sink)
    }

    /// Runs over `source` writing `outputs` (see the module contract). `inputs` are the files the
    /// run reads, as (what, path), e.g. `("--data", "prices.csv")`: no output may replace one.
    pub fn run_to<S: BarSource + ?Sized>(
        &mut self,
        source: &mut S,
        inputs: &[(&str, &Path)],
        outputs: &Outputs,
    ) -> Result<Outcome, Error> {
        let fail = |path: &Path, e: std::io::Error| {
            Error::Output(format!("cannot create {}: {e}", path.display()))
        };
        output::check_targets(inputs, &outputs.targets()).map_err(Error::Output)?;
        let mut files = output::TradeFiles {
            order_names: self.program.order_names.clone(),
            symbols: self.symbol_names(),
            zone: self.zone.clone(),
            ..output::TradeFiles::default()
        };
        if let Some(path) = &outputs.trades {
            let mut f = AtomicFile::create(path).map_err(|e| fail(path, e))?;
            let symbol = if files.symbols.is_empty() {
                ""
            } else {
                ",symbol"
            };
            writeln!(f.writer(), "{}{symbol}", output::TRADES_HEADER).map_err(|e| fail(path, e))?;
            files.csv = Some(f);
        }
        let mut spill = None;
        if outputs.json_trades {
            let (s, f) = Spill::create().map_err(|e| {
                Error::Output(format!(
                    "cannot create a temporary file in {}: {e}",
                    std::env::temp_dir().display()
                ))
            })?;
            spill = Some(s);
            files.json = Some(f);
        }
        let mut equity = None;
        if let Some(path) = &outputs.equity {
            let mut f = AtomicFile::create(path).map_err(|e| fail(path, e))?;
            let others: String = self
                .symbol_names()
                .iter()
                .skip(1)
                .map(|n| format!(",position_{n}"))
                .collect();
            writeln!(f.writer(), "{}{others}", output::EQUITY_HEADER).map_err(|e| fail(path, e))?;
            equity = Some(f);
        }
        let mut report = match &outputs.plot {
            Some(path) => Some(
                ReportSink::create(
                    path,
                    &self.program.name,
                    &self.program.plots,
                    self.config.cash,
                )
                .map(|mut r| {
                    r.describe(&self.program);
                    r
                })
                .map_err(|e| fail(path, e))?,
            ),
            None => None,
        };
        let mut series = None;
        if let Some(path) = &outputs.series {
            let mut file = AtomicFile::create(path)
                .and_then(|f| output::SeriesFile::new(f, &self.program.plots))
                .map_err(|e| fail(path, e))?;
            file.zone = self.zone.clone();
            series = Some(file);
        }
        let mut sink = output::RunSink {
            files,
            equity,
            series,
            stats: self.stats(),
        };
        let mut tee = Tee {
            run: &mut sink,
            report: report.as_mut(),
        };
        let summary = self.engine_run(source, &mut tee).map_err(Error::Run)?;
        let output::RunSink {
            mut files,
            equity,
            series,
            stats,
        } = sink;
        let statistics = stats.finish();
        let shown =
            |p: &Option<PathBuf>| p.as_deref().unwrap_or(Path::new("")).display().to_string();
        if let Some(e) = files.error.take() {
            let what = outputs
                .trades
                .as_deref()
                .map_or("the trades".to_string(), |p| p.display().to_string());
            return Err(Error::Output(format!("writing {what}: {e}")));
        }
        // All or nothing: every output is written and flushed before any is put in place.
        let mut ready: Vec<(String, AtomicFile)> = Vec::new();
        if let Some(r) = report {
            let mut v = summary_json(
                &self.program,
                &summary,
                &statistics,
                &self.config,
                source.skipped_rows(),
            );
            name_symbols(&mut v, &self.symbol_names());
            let (page, _) = r
                .prepare(&v)
                .map_err(|e| Error::Output(format!("writing {}: {e}", shown(&outputs.plot))))?;
            ready.push((shown(&outputs.plot), page));
        }
        if let Some(s) = series {
            if let Some(e) = s.error {
                return Err(Error::Output(format!(
                    "writing {}: {e}",
                    shown(&outputs.series)
                )));
            }
            ready.push((shown(&outputs.series), s.file));
        }
        for (path, file) in [
            (&outputs.equity, equity),
            (&outputs.trades, files.csv.take()),
        ] {
            if let Some(f) = file {
                ready.push((shown(path), f));
            }
        }
        if let Some(f) = files.json.take() {
            ready.push(("a temporary file".to_string(), f));
        }
        for (path, f) in &mut ready {
            f.prepare()
                .map_err(|e| Error::Output(format!("writing {path}: {e}")))?;
        }
        for (path, f) in ready {
            f.commit()
                .map_err(|e| Error::Output(format!("writing {path}: {e}")))?;
        }
        if let Some(s) = &spill {
            output::register_temp(s.path());
        }
        Ok(Outcome {
            summary,
            statistics,
            trades: spill,
        })
    }
}

/// The summary of a run as `btl run --json` prints it (without `closed_trades`, `time_unit`
/// and `peak_rss_bytes`, which the CLI adds).
pub fn summary_json(
    program: &BarProgram,
    summary: &Summary,
    statistics: &Statistics,
    config: &BrokerConfig,
    skipped_rows: u64,
) -> serde_json::Value {
    let mut v = serde_json::json!({
        "strategy": program.name,
        "bars": summary.bars,
        "warmup_bar": summary.warmup_bar,
        "closed_trade_count": summary.trades,
        "winning_trade_count": summary.winning_trades,
        "win_rate": summary.win_rate(),
        "initial_cash": summary.initial_cash,
        "final_cash": summary.final_cash,
        "final_value": summary.final_value,
        "total_return": summary.total_return,
        "max_drawdown": summary.max_drawdown,
        "rejected_orders": summary.rejected_orders,
        "invalid_orders": summary.invalid_orders,
        "invalid_order_reasons": {
            "quantity": summary.invalid_reasons.quantity,
            "price": summary.invalid_reasons.price,
            "bars": summary.invalid_reasons.bars,
            "bracket": summary.invalid_reasons.bracket,
        },
        "skipped_rows": skipped_rows,
        "buffer_bytes": summary.buffer_bytes,
        "fill_convention": broker::fill_convention(config),
        "expired_orders": summary.expired_orders,
        "cancelled_orders": summary.cancelled_orders,
        "open_position": summary.open_position.map(|(bar, qty, price)| serde_json::json!({"entry_bar": bar, "qty": qty, "entry_price": price})),
        "statistics": statistics,
    });
    if summary.symbols.len() > 1 {
        v["symbols"] = serde_json::json!(symbol_rows(summary));
    }
    v
}

/// Puts the symbols' names in a summary's `symbols` rows (which number them).
pub fn name_symbols(v: &mut serde_json::Value, names: &[String]) {
    if let Some(rows) = v["symbols"].as_array_mut() {
        for (row, name) in rows.iter_mut().zip(names) {
            row["symbol"] = serde_json::json!(name);
        }
    }
}

/// Per symbol (the primary first): closed trades, winning ones, net P&L, open position.
pub fn symbol_rows(summary: &Summary) -> Vec<serde_json::Value> {
    summary
        .symbols
        .iter()
        .enumerate()
        .map(|(k, &(trades, wins, pnl))| {
            let open = summary
                .open_positions
                .iter()
                .find(|(s, _)| *s as usize == k)
                .map(|(_, (bar, qty, price))| serde_json::json!({"entry_bar": bar, "qty": qty, "entry_price": price}));
            serde_json::json!({
                "symbol": k,
                "closed_trade_count": trades,
                "winning_trade_count": wins,
                "pnl_net": pnl,
                "open_position": open,
            })
        })
        .collect()
}

/// Writes `summary` as pretty JSON with a `closed_trades` array read line by line from `spill`
/// (one JSON object per line): the trades are streamed, never all held in memory.
pub fn write_json_with_trades(
    out: &mut impl Write,
    summary: &serde_json::Value,
    spill: Option<&Spill>,
) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(summary).map_err(std::io::Error::other)?;
    let head = text
        .trim_end()
        .strip_suffix('}')
        .unwrap_or(&text)
        .trim_end();
    write!(out, "{head},\n  \"closed_trades\": [")?;
    let mut first = true;
    if let Some(file) = spill.and_then(|s| std::fs::File::open(s.path()).ok()) {
        for line in std::io::BufReader::new(file).lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            write!(out, "{}\n    {}", if first { "" } else { "," }, line.trim())?;
            first = false;
        }
    }
    writeln!(out, "{}]\n}}", if first { "" } else { "\n  " })?;
    out.flush()
}
