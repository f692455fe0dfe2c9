//! The `btl` command line: parses flags, reads files, calls the library, renders, picks the exit
//! code (0 ok, 1 program errors, 2 usage, data or I/O errors). No analysis happens here.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use btl::diag::{Code, Diagnostic, render};
use btl::source::SourceMap;

/// Writes to stdout; when the reader has gone (`btl ... | head`), stops quietly as tools killed
/// by SIGPIPE do (status 141) instead of panicking as `print!` would.
fn write_stdout(args: std::fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("error: writing to stdout: {e}");
        std::process::exit(2);
    }
}

/// A failed write to stdout: status 141 when the reader has gone, else the error (status 2).
fn stdout_error(e: &std::io::Error) -> ExitCode {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return ExitCode::from(141);
    }
    usage_error(&format!("writing to stdout: {e}"))
}

/// `print!` that never panics (see [`write_stdout`]).
macro_rules! out {
    ($($arg:tt)*) => { $crate::write_stdout(format_args!($($arg)*)) };
}

/// `println!` that never panics (see [`write_stdout`]).
macro_rules! outln {
    () => { $crate::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

mod cli {
    pub mod each;
    pub mod run;
    pub mod sweep;
}

#[derive(Parser)]
#[command(
    name = "btl",
    version,
    about = "A small language for trading-strategy backtests"
)]
struct Cli {
    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    color: Color,
    /// The most memory the run's buffers may take together, e.g. 512M, 4G (K, M, G, T are powers
    /// of 1024; default 1G): a program past it is a compile error (E0205).
    #[arg(long, value_name = "SIZE", global = true, value_parser = parse_size)]
    max_memory: Option<u64>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MessageFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Emit {
    /// The lowered bar program.
    Ir,
    /// The Cranelift IR of the compiled batch function (the bar loop and the program).
    Clif,
    /// The machine code of the compiled batch function.
    Asm,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Fill {
    /// At the next bar's open (backtrader's default).
    NextOpen,
    /// At the close of the bar the order is placed on (backtrader's cheat-on-close).
    Close,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EngineKind {
    /// Native code compiled with Cranelift.
    Jit,
    /// The reference interpreter.
    Interp,
}

impl From<EngineKind> for btl::backtest::EngineKind {
    fn from(e: EngineKind) -> Self {
        match e {
            EngineKind::Jit => btl::backtest::EngineKind::Jit,
            EngineKind::Interp => btl::backtest::EngineKind::Interp,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FuzzKind {
    Valid,
    Soup,
    Mutated,
}

#[derive(Subcommand)]
enum Command {
    /// Check a program: parse, resolve, type-check and size every series.
    Check {
        /// The strategy, a .btl file.
        file: String,
        /// Override a param: NAME=VALUE (repeatable).
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
        message_format: MessageFormat,
    },
    /// Print the memory every series needs: lookback, warm-up, capacity and bytes.
    Mem {
        /// The strategy, a .btl file.
        file: String,
        /// Override a param: NAME=VALUE (repeatable).
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Backtest a strategy over bars (CSV or Parquet), on one feed or several.
    #[command(after_help = RUN_HELP)]
    Run(RunArgs),
    /// Run a strategy for every combination of a parameter grid, on every core; `btl sweep
    /// merge` joins the parts of a sharded sweep.
    Sweep(cli::sweep::SweepArgs),
    /// Differential fuzzing: generated programs on the interpreter and the JIT, compared bit for bit.
    Fuzz {
        /// How many generated programs.
        #[arg(long, default_value_t = 1000)]
        seeds: u64,
        /// The first seed.
        #[arg(long, default_value_t = 0)]
        start: u64,
        /// Bars per program.
        #[arg(long, default_value_t = 200)]
        bars: usize,
        /// Worker threads.
        #[arg(long, default_value_t = 2)]
        jobs: u64,
        /// What to generate: valid programs (compared on both engines), random token soups or
        /// mutated valid programs (compiled, and run on both engines when they compile: no
        /// panic, no case longer than 10 s).
        #[arg(long, value_enum, default_value_t = FuzzKind::Valid)]
        kind: FuzzKind,
    },
    /// Run the language server over stdio (for editors).
    Lsp,
    /// Explain a diagnostic code, e.g. `btl explain E0200`.
    Explain { code: String },
    /// The stdlib's documentation: `btl doc` lists every function by file, `btl doc sma` shows
    /// one function's documentation and btl source.
    Doc {
        /// A stdlib function's name.
        name: Option<String>,
        /// The whole list as docs/indicators.md holds it.
        #[arg(long)]
        markdown: bool,
    },
}

fn parse_time_unit(s: &str) -> Result<btl::runtime::feed::TimeUnit, String> {
    btl::runtime::feed::TimeUnit::parse(s).ok_or_else(|| format!("`{s}`: give s, ms, us or ns"))
}

/// `512M`, `4G`, `1000000`: a size in bytes.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&t[..i], &t[i..]),
        None => (t, ""),
    };
    let shift = match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("`{s}`: give a size such as 512M or 4G")),
    };
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("`{s}`: give a size such as 512M or 4G"))?;
    n.checked_mul(1u64 << shift)
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("`{s}`: out of range"))
}

/// The `--max-memory` of this process (set once, from the command line).
static OPTIONS: std::sync::OnceLock<btl::Options> = std::sync::OnceLock::new();

fn main() -> ExitCode {
    // `--param fast 5`: say what to write before the argument parser calls `5` unexpected.
    let args: Vec<String> = std::env::args().collect();
    for w in args.windows(3) {
        if w[0] == "--param"
            && !w[1].contains('=')
            && !w[2].starts_with('-')
            && !w[2].ends_with(".btl")
        {
            return usage_error(&format!(
                "`--param {} {}`: write `--param {}={}`",
                w[1], w[2], w[1], w[2]
            ));
        }
    }
    let cli = Cli::parse();
    let _ = OPTIONS.set(btl::Options {
        max_memory: cli.max_memory.unwrap_or(btl::Options::DEFAULT.max_memory),
    });
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    match cli.command {
        Command::Check {
            file,
            params,
            message_format,
        } => check(&file, &params, message_format, color),
        Command::Mem { file, params, json } => mem(&file, &params, json, color),
        Command::Explain { code } => explain(&code),
        Command::Doc {
            name: None,
            markdown,
        } => {
            if markdown {
                out!("{}", btl::doc::markdown());
            } else {
                out!("{}", btl::doc::index());
            }
            ExitCode::SUCCESS
        }
        Command::Doc {
            name: Some(name), ..
        } => match btl::doc::function(&name) {
            Some(text) => {
                out!("{text}");
                ExitCode::SUCCESS
            }
            None => usage_error(&format!(
                "`{name}` is not a stdlib function; `btl doc` lists them"
            )),
        },
        Command::Lsp => match btl::lsp::serve_stdio() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: language server: {e}");
                ExitCode::from(2)
            }
        },
        Command::Fuzz {
            seeds,
            start,
            bars,
            jobs,
            kind,
        } => fuzz(seeds, start, bars, jobs, kind),
        Command::Run(args) => cli::run::run(args, color),
        Command::Sweep(args) => cli::sweep::sweep(args, color),
    }
}

fn explain(code: &str) -> ExitCode {
    match Code::parse(code) {
        Some(c) => {
            out!("{}", c.explanation());
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("error: `{code}` is not a btl diagnostic code");
            let all: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
            eprintln!("  = note: the codes are {}", all.join(", "));
            ExitCode::from(2)
        }
    }
}

/// Reads a program's text; `Err` carries the exit code after printing the problem.
fn read_program(path: &str) -> Result<String, ExitCode> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|e| {
            eprintln!(
                "error: {path}: not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            );
            ExitCode::from(2)
        }),
        Err(e) => {
            eprintln!("error: cannot read {path}: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// Reads, compiles and lowers the program for a run, its diagnostics shown; `Err` carries the
/// exit code (1 when the program has errors).
fn load_program(
    path: &str,
    params: &[String],
    color: bool,
) -> Result<btl::ir::BarProgram, ExitCode> {
    let c = load(path, params, MessageFormat::Human, color)?;
    emit(&c.diagnostics, &c.sources, MessageFormat::Human, color);
    c.bar_program().ok_or(ExitCode::from(1))
}

/// Reads the program and compiles it; `Err` carries the exit code after printing the problem.
fn load(
    path: &str,
    params: &[String],
    format: MessageFormat,
    color: bool,
) -> Result<btl::Compilation, ExitCode> {
    let text = read_program(path)?;
    let mut overrides: Vec<(String, String)> = Vec::new();
    let mut bad = Vec::new();
    for p in params {
        match btl::parse_param_arg(p) {
            Ok((name, value)) => {
                if let Some((_, first)) = overrides.iter().find(|(n, _)| *n == name) {
                    bad.push(
                        Diagnostic::new(
                            Code::E0302,
                            format!("`--param {name}` is given twice: `{first}` and `{value}`"),
                        )
                        .help("give each param once"),
                    );
                } else {
                    overrides.push((name, value));
                }
            }
            Err(d) => bad.push(d),
        }
    }
    if !bad.is_empty() {
        let sources = SourceMap::new();
        emit(&bad, &sources, format, color);
        return Err(ExitCode::from(1));
    }
    let options = OPTIONS.get().copied().unwrap_or_default();
    Ok(btl::compile_with(path, &text, &overrides, &options))
}

fn emit(diags: &[Diagnostic], sources: &SourceMap, format: MessageFormat, color: bool) {
    match format {
        MessageFormat::Human => {
            let mut err = std::io::stderr().lock();
            let mut human = render::Human::new(sources, color);
            for d in diags {
                let _ = write!(err, "{}", human.render(d));
            }
            let errors = diags.iter().filter(|d| d.is_error()).count();
            let warnings = diags.len() - errors;
            if errors > 0 {
                let _ = writeln!(
                    err,
                    "error: {errors} error{}{}; `btl explain CODE` explains a code",
                    if errors == 1 { "" } else { "s" },
                    if warnings > 0 {
                        format!(
                            ", {warnings} warning{}",
                            if warnings == 1 { "" } else { "s" }
                        )
                    } else {
                        String::new()
                    }
                );
            }
        }
        MessageFormat::Json => {
            let mut out = std::io::stdout().lock();
            let mut human = render::Human::new(sources, false);
            for d in diags {
                let _ = writeln!(out, "{}", render::json(d, sources, &mut human));
            }
        }
    }
}

fn check(path: &str, params: &[String], format: MessageFormat, color: bool) -> ExitCode {
    let c = match load(path, params, format, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    emit(&c.diagnostics, &c.sources, format, color);
    if c.has_errors() {
        return ExitCode::from(1);
    }
    if format == MessageFormat::Human
        && let Some(p) = &c.program
    {
        {
            eprintln!(
                "ok: strategy `{}`: {} series, {} bytes of buffers, warm-up bar {}",
                p.name,
                p.order.len(),
                p.total_bytes(),
                btl::mem::report(p, &c.sources)
                    .warmup
                    .map_or("never".to_string(), |w| w.to_string())
            );
        }
    }
    ExitCode::SUCCESS
}

fn mem(path: &str, params: &[String], json: bool, color: bool) -> ExitCode {
    let c = match load(path, params, MessageFormat::Human, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    emit(&c.diagnostics, &c.sources, MessageFormat::Human, color);
    let (false, Some(p)) = (c.has_errors(), &c.program) else {
        return ExitCode::from(1);
    };
    let report = btl::mem::report(p, &c.sources);
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        out!("{}", btl::mem::table(&report, &p.name));
    }
    ExitCode::SUCCESS
}

/// The broker's cost and fill settings, shared by `run` and `sweep`.
#[derive(clap::Args, Clone)]
pub(crate) struct CostArgs {
    /// Starting cash.
    #[arg(long, default_value_t = 100_000.0)]
    cash: f64,
    /// Commission as a fraction of traded value (0.001 = 0.1%).
    #[arg(long, default_value_t = 0.0)]
    commission: f64,
    /// Commission per unit traded, added to the fraction.
    #[arg(long, default_value_t = 0.0)]
    commission_per_unit: f64,
    /// The least commission charged on a fill.
    #[arg(long, default_value_t = 0.0)]
    commission_min: f64,
    /// Slippage as a fraction of the price (0.0005 = 5 basis points), against the trader.
    #[arg(long, default_value_t = 0.0)]
    slippage: f64,
    /// Slippage as a fixed amount per unit, against the trader.
    #[arg(long, default_value_t = 0.0)]
    slippage_fixed: f64,
    /// When market orders fill.
    #[arg(long, value_enum, default_value_t = Fill::NextOpen)]
    fill: Fill,
    /// Annual risk-free rate for the Sharpe and Sortino ratios (0.02 = 2%).
    #[arg(long, default_value_t = 0.0)]
    risk_free: f64,
}

impl CostArgs {
    fn settings(&self) -> btl::backtest::Settings {
        btl::backtest::Settings {
            broker: btl::runtime::broker::BrokerConfig {
                cash: self.cash,
                commission: self.commission,
                commission_per_unit: self.commission_per_unit,
                commission_min: self.commission_min,
                slippage: self.slippage,
                slippage_fixed: self.slippage_fixed,
                fill_on_close: self.fill == Fill::Close,
            },
            risk_free: self.risk_free,
        }
    }
}

const RUN_HELP: &str = "\
Several feeds and timeframes: a strategy declares them at its top level,
    feed qqq                        bars from --data qqq=qqq.csv
    feed daily = resample(\"1d\")     the primary feed's bars by day (5m ... 4h, 1d, 1w, 1M)
and reads them in a feed's context: qqq.close, qqq.sma(close, 20), daily.(high - low).
The first --data is the primary feed. Feeds are aligned by time: each step is a bar time of any
feed, and a feed with no bar then holds its last one. A resampled bar is seen from the first bar
after its period closed (no look-ahead); periods are cut in --timezone (IANA, DST included; UTC
by default), which is also the zone of times written without an offset. qqq.buy(10) and
qqq.position trade and read symbol qqq with the one account's cash; trades name their symbol.
Example:
    btl run examples/pairs.btl --data tests/data/multi/pair_a.csv --data b=tests/data/multi/pair_b.csv
See docs/language.md, \"Feeds and timeframes\".";

#[derive(clap::Args)]
pub(crate) struct RunArgs {
    /// The strategy, a .btl file.
    file: String,
    /// The bars: CSV with a header (date/time, open, high, low, close, volume), or Parquet with
    /// the same columns (.parquet). The first
    /// --data is the primary feed, the one orders trade; repeat `--data NAME=FILE` for each
    /// `feed NAME` the program declares. A folder with --each: every .csv file in it.
    #[arg(long, required = true, value_name = "[NAME=]FILE")]
    data: Vec<String>,
    /// The exchange's time zone (an IANA name such as America/New_York; default UTC): times
    /// written without an offset are its local times, and resampled periods (days, hours...)
    /// are cut on its clock, daylight saving included.
    #[arg(long, value_name = "ZONE")]
    timezone: Option<String>,
    /// When trading days start, local time (default 00:00): resampled days, weeks and months
    /// run from one session start to the next (17:00 for futures: a session from 17:00 is the
    /// next date's; 09:30 for a stock's day).
    #[arg(long, value_name = "HH:MM", value_parser = btl::timeframe::parse_session_start)]
    session_start: Option<i32>,
    /// Override a param: NAME=VALUE (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    #[command(flatten)]
    costs: CostArgs,
    /// Write the equity per bar (time, cash, value, position) to this CSV file.
    #[arg(long, value_name = "OUT.csv")]
    equity: Option<String>,
    /// Print the summary as JSON, with every closed trade.
    #[arg(long)]
    json: bool,
    /// Write closed trades to this CSV file.
    #[arg(long, value_name = "OUT.csv")]
    trades: Option<String>,
    /// Write a self-contained HTML report (candles, plots, fills, equity, drawdown) to this file.
    #[arg(long, value_name = "OUT.html")]
    plot: Option<String>,
    /// Write every plot()ted series at every bar to this CSV file (time first, one column per
    /// plot; an empty cell is `na`).
    #[arg(long, value_name = "OUT.csv")]
    series: Option<String>,
    /// Skip (and count) malformed rows instead of stopping at the first.
    #[arg(long)]
    skip_bad_rows: bool,
    /// The unit of epoch times in the data: s, ms, us or ns (default: from the column's name,
    /// such as `timestamp_ms`, else guessed from the first one's size, and said).
    #[arg(long, value_name = "UNIT", value_parser = parse_time_unit)]
    time_unit: Option<btl::runtime::feed::TimeUnit>,
    /// Print the lowered bar program or the compiled function's CLIF instead of running.
    #[arg(long, value_enum)]
    emit: Option<Emit>,
    /// The engine that runs each bar.
    #[arg(long, value_enum, default_value_t = EngineKind::Jit)]
    engine: EngineKind,
    /// Run the strategy on every .csv file of the folder given to --data, each as its own
    /// backtest, in parallel: one summary row per symbol (the file's name) and the totals.
    #[arg(long)]
    each: bool,
    /// Worker threads for --each (default: every core).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

/// Stopped by SIGINT or SIGTERM: the temporary files go, no output is half written.
fn remove_temps_on_signal() {
    let _ = ctrlc::set_handler(|| {
        btl::runtime::output::remove_temps();
        eprintln!("error: interrupted; no output was written");
        std::process::exit(130);
    });
}

/// `btl fuzz`: seeds split over `jobs` threads; every divergence printed with its program.
/// Runs `work(j)` for each worker `j` in `0..jobs` on threads of its own; every failure listed.
fn on_workers(jobs: u64, work: impl Fn(u64) -> Vec<String> + Sync) -> Vec<String> {
    std::thread::scope(|scope| {
        let work = &work;
        let handles: Vec<_> = (0..jobs).map(|j| scope.spawn(move || work(j))).collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|_| vec!["a fuzz worker panicked".into()])
            })
            .collect()
    })
}

/// The longest a robustness case may take before the fuzzer calls it a hang.
const FUZZ_CASE_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// One robustness case: the program compiles (or is rejected) and, when valid, runs on both
/// engines; `Err` describes a panic or a failed run.
fn robustness_case(src: &str, bars: &[btl::runtime::feed::Bar], seed: u64) -> Result<(), String> {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let c = btl::compile("fuzz.btl", src, &[]);
        if c.bar_program().is_some() {
            // A valid program: both engines run it alike (divergences are reported too).
            match btl::diff::differential("fuzz.btl", src, bars, btl::diff::config(seed)) {
                Ok(d) if d.is_empty() => Ok(()),
                Ok(d) => Err(format!("{} divergence(s): {}", d.len(), d.join("; "))),
                Err(e) => Err(e),
            }
        } else {
            Ok(())
        }
    }));
    match outcome {
        Ok(r) => r,
        Err(p) => Err(format!(
            "panicked: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    }
}

fn fuzz(seeds: u64, start: u64, bars: usize, jobs: u64, kind: FuzzKind) -> ExitCode {
    let bars = btl::diff::bars(start ^ 0x5eed, bars);
    let jobs = jobs.clamp(1, 64);
    let began = std::time::Instant::now();
    if kind != FuzzKind::Valid {
        // Panics are counted, not printed as they happen.
        std::panic::set_hook(Box::new(|_| {}));
        // A watchdog: a case past the limit is a hang, and stops the process.
        let current: std::sync::Arc<std::sync::Mutex<Vec<(u64, std::time::Instant)>>> =
            std::sync::Arc::new(std::sync::Mutex::new(vec![(0, began); jobs as usize]));
        let watch = std::sync::Arc::clone(&current);
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(std::time::Duration::from_millis(500));
                let cases = watch.lock().unwrap_or_else(|p| p.into_inner());
                if let Some((seed, _)) = cases.iter().find(|(_, t)| t.elapsed() > FUZZ_CASE_LIMIT) {
                    outln!("fuzz: hang: seed {seed} ran past {FUZZ_CASE_LIMIT:?}");
                    std::process::exit(3);
                }
            }
        });
        let failures = on_workers(jobs, |j| {
            let mut out = Vec::new();
            let mut seed = start + j;
            while seed < start + seeds {
                let src = match kind {
                    FuzzKind::Soup => btl::generate::token_soup(seed, 1 + (seed % 400) as usize),
                    _ => btl::generate::mutate(seed, &btl::generate::valid_program(seed / 3)),
                };
                if let Ok(mut c) = current.lock() {
                    c[j as usize] = (seed, std::time::Instant::now());
                }
                if let Err(e) = robustness_case(&src, &bars, seed) {
                    out.push(format!("seed {seed}: {e}\n{src}"));
                }
                seed += jobs;
            }
            if let Ok(mut c) = current.lock() {
                c[j as usize] = (u64::MAX, std::time::Instant::now() + FUZZ_CASE_LIMIT * 1000);
            }
            out
        });
        for f in &failures {
            outln!("{f}\n");
        }
        let name = if kind == FuzzKind::Soup {
            "token soups"
        } else {
            "mutated programs"
        };
        outln!(
            "fuzz: {seeds} {name} (seeds {start}..{}), {} panicked or failed, {:.1} s",
            start + seeds,
            failures.len(),
            began.elapsed().as_secs_f64()
        );
        return if failures.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        };
    }
    let failures = on_workers(jobs, |j| {
        let mut out = Vec::new();
        let mut seed = start + j;
        while seed < start + seeds {
            let src = btl::generate::valid_program(seed);
            let config = btl::diff::config(seed);
            match btl::diff::differential(&format!("seed {seed}"), &src, &bars, config) {
                Ok(d) if d.is_empty() => {}
                Ok(d) => out.push(format!(
                    "seed {seed}: {} divergence(s)\n  {}\n{src}",
                    d.len(),
                    d.join("\n  ")
                )),
                Err(e) => out.push(format!("seed {seed}: {e}\n{src}")),
            }
            if j == 0 && (seed - start) % 10_000 < jobs {
                eprintln!(
                    "fuzz: {} of {seeds} programs, {:.0} s",
                    seed - start,
                    began.elapsed().as_secs_f64()
                );
            }
            seed += jobs;
        }
        out
    });
    for f in &failures {
        outln!("{f}\n");
    }
    outln!(
        "fuzz: {seeds} programs (seeds {start}..{}), {} bars each, {} diverged or failed, {:.1} s",
        start + seeds,
        bars.len(),
        failures.len(),
        began.elapsed().as_secs_f64()
    );
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
