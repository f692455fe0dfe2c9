//! `btl sweep` and `btl sweep merge`: flags parsed, the bars read once, the library's sweep run,
//! rows streamed to the output files and the best printed. Everything else is `btl::sweep`.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use btl::runtime::{feed, output};
use btl::sweep::{self, METRICS, Row, Top, grid, table, walk};

use crate::{CostArgs, EngineKind, MessageFormat, OPTIONS, emit, read_program, usage_error};

const AFTER_HELP: &str = "\
Grid:
  --param fast=5..50        every integer from 5 to 50 (inclusive)
  --param slow=20..200:10   from 20 to 200 in steps of 10
  --param stop=0.5..2:0.25  decimals: 0.50, 0.75, ..., 2.00
  --param qty=10,20,50      a list;   --param qty=10   one value
  Combinations run in grid order (nested loops over the params as given, the last fastest);
  `index` is a combination's position in that order.

Output: one row per combination: index, the params, final_value, total_return, annual_return,
  sharpe, sortino, calmar, max_drawdown, trades, win_rate, profit_factor, sqn, exposure,
  error_code, error_message (a combination that fails to compile or run keeps its row with the
  diagnostic, and the sweep goes on). Rows stream to --out in grid order whatever --jobs; each
  equals `btl run` with the same params bit for bit. The best --top rows by --sort are printed.

Sampling: --sample K runs K combinations drawn at random (--seed S, default 1), in grid order.
Walk-forward: --walk-forward K cuts the bars into K folds; in each, the best combination on its
  first --train fraction (in-sample) is run on the rest (out-of-sample); each part is its own
  backtest (flat start, fresh series); --out gets one row per fold.
Sharding: --shard K/N runs the K-th of N contiguous parts of the combinations;
  `btl sweep merge part-*.csv --out all.csv` joins the parts into the rows of a one-machine run.
  examples/slurm/ runs the parts as a Slurm job array.";

#[derive(clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = AFTER_HELP
)]
pub struct SweepArgs {
    #[command(subcommand)]
    command: Option<SweepCommand>,
    /// The strategy, a .btl file.
    #[arg(required = true)]
    file: Option<String>,
    /// The bars: CSV with a header (date/time, open, high, low, close, volume) or Parquet; read
    /// once. Repeat `--data NAME=FILE` for each `feed NAME` the strategy declares.
    #[arg(long, required = true, value_name = "[NAME=]FILE")]
    data: Vec<String>,
    /// A swept param: NAME=A..B, NAME=A..B:STEP, NAME=V1,V2,... or NAME=V (repeatable; see below).
    #[arg(long = "param", value_name = "NAME=SPEC")]
    params: Vec<String>,
    /// Run K combinations drawn at random instead of all of them.
    #[arg(long, value_name = "K")]
    sample: Option<u64>,
    /// The seed of --sample.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads (default: every core).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Write every row to this CSV file.
    #[arg(long, value_name = "OUT.csv")]
    out: Option<String>,
    /// Print every row as a JSON line on stdout (the table of the best goes to stderr).
    #[arg(long)]
    json: bool,
    /// The metric that ranks combinations.
    #[arg(long, default_value = "sharpe", value_name = "METRIC")]
    sort: String,
    /// How many of the best rows to print.
    #[arg(long, default_value_t = 10, value_name = "K")]
    top: usize,
    /// Walk-forward analysis over K consecutive folds.
    #[arg(long, value_name = "K")]
    walk_forward: Option<usize>,
    /// The in-sample fraction of each walk-forward fold.
    #[arg(long, default_value_t = 0.7, value_name = "FRACTION")]
    train: f64,
    /// Write a self-contained HTML heatmap of the sort metric over the first two params.
    #[arg(long, value_name = "OUT.html")]
    plot: Option<String>,
    /// Run only the K-th of N disjoint parts of the combinations (1 <= K <= N).
    #[arg(long, value_name = "K/N", value_parser = grid::parse_shard)]
    shard: Option<(u64, u64)>,
    #[command(flatten)]
    costs: CostArgs,
    /// Skip (and count) malformed rows instead of stopping at the first.
    #[arg(long)]
    skip_bad_rows: bool,
    /// The unit of epoch times in the data: s, ms, us or ns.
    #[arg(long, value_name = "UNIT", value_parser = crate::parse_time_unit)]
    time_unit: Option<feed::TimeUnit>,
    /// The exchange's time zone (IANA name; default UTC): naive times and resampled periods.
    #[arg(long, value_name = "ZONE")]
    timezone: Option<String>,
    /// When trading days start, local time (default 00:00; see `btl run --help`).
    #[arg(long, value_name = "HH:MM", value_parser = btl::timeframe::parse_session_start)]
    session_start: Option<i32>,
    /// The engine that runs each bar.
    #[arg(long, value_enum, default_value_t = EngineKind::Jit)]
    engine: EngineKind,
}

#[derive(clap::Subcommand)]
enum SweepCommand {
    /// Join the --out files of the shards of one sweep into the table of a one-machine run.
    Merge {
        /// The parts, `btl sweep --shard K/N --out PART.csv` files.
        #[arg(required = true)]
        parts: Vec<String>,
        /// The joined table.
        #[arg(long, value_name = "ALL.csv")]
        out: String,
    },
}

/// An output file: checked, streamed, committed at the end.
struct Out {
    path: String,
    file: output::AtomicFile,
}

impl Out {
    fn create(path: &str, header: &str) -> Result<Out, String> {
        let mut file = output::AtomicFile::create(Path::new(path))
            .map_err(|e| format!("cannot create {path}: {e}"))?;
        writeln!(file.writer(), "{header}").map_err(|e| format!("cannot write {path}: {e}"))?;
        Ok(Out {
            path: path.to_string(),
            file,
        })
    }

    fn line(&mut self, line: &str, error: &mut Option<String>) {
        if error.is_none()
            && let Err(e) = writeln!(self.file.writer(), "{line}")
        {
            *error = Some(format!("writing {}: {e}", self.path));
        }
    }
}

/// Reads every bar of the data file into memory (shared by every worker).
fn read_bars(a: &SweepArgs, data: &str) -> Result<Vec<feed::Bar>, String> {
    use btl::runtime::engine::BarSource;
    let mut source = btl::runtime::data::DataFile::open(Path::new(data), a.skip_bad_rows)
        .map_err(|e| e.to_string())?;
    if let Some(unit) = a.time_unit {
        source.set_time_unit(unit);
    }
    if let Some(zone) = zone(a)? {
        source.set_timezone(zone);
    }
    let mut bars = Vec::new();
    while let Some(b) = source.next_bar().map_err(|e| e.to_string())? {
        bars.push(b);
    }
    if let Some((unit, feed::UnitSource::Guessed)) = source.time_unit() {
        eprintln!(
            "note: epoch times read as {}, guessed from the first one's size; `--time-unit s|ms|us|ns` sets the unit",
            unit.name()
        );
    }
    if source.skipped_rows() > 0 {
        eprintln!("warning: skipped {} bad row(s)", source.skipped_rows());
    }
    Ok(bars)
}

/// `--timezone`, checked.
fn zone(a: &SweepArgs) -> Result<Option<jiff::tz::TimeZone>, String> {
    a.timezone
        .as_deref()
        .map(btl::timeframe::zone)
        .transpose()
        .map_err(|e| format!("--timezone: {e}"))
}

fn progress_bar(len: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {pos}/{len} combinations, {per_sec}, ETA {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

pub fn sweep(a: SweepArgs, color: bool) -> ExitCode {
    if let Some(SweepCommand::Merge { parts, out }) = &a.command {
        return merge(parts, out);
    }
    crate::remove_temps_on_signal();
    let (Some(file), Some(data)) = (a.file.as_deref(), a.data.first().map(String::as_str)) else {
        return usage_error("btl sweep needs a strategy file and --data");
    };
    let settings = a.costs.settings();
    if let Err(e) = settings.broker_config() {
        return usage_error(&e);
    }
    let grid = match grid::Grid::parse(&a.params) {
        Ok(g) => g,
        Err(e) => return usage_error(&e),
    };
    let sort = match sweep::metric(&a.sort) {
        Ok(m) => m,
        Err(e) => return usage_error(&e),
    };
    if a.sample == Some(0) {
        return usage_error("--sample 0: give the number of combinations to run");
    }
    if a.walk_forward.is_some() && (a.shard.is_some() || a.plot.is_some()) {
        return usage_error("--walk-forward runs on one machine without --shard or --plot");
    }
    let text = match read_program(file) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let options = OPTIONS.get().copied().unwrap_or_default();
    // The program parsed and checked once; with its defaults, errors that no combination can
    // fix stop the sweep here.
    let front = btl::front(file, &text);
    let (program, diagnostics) = front.elaborate(&[], &options);
    if diagnostics.iter().any(|d| d.is_error()) {
        emit(&diagnostics, &front.sources, MessageFormat::Human, color);
        return ExitCode::from(1);
    }
    // Feeds and timeframes are aligned once, for every combination (they do not depend on
    // params).
    let lowered = program.as_ref().map(btl::ir::lower::lower);
    let stride = lowered.as_ref().map_or(0, |p| p.frame_len as usize);
    let paths = match &lowered {
        Some(p) => match super::run::data_paths(&a.data, p) {
            Ok(paths) => paths,
            Err(e) => return usage_error(&e),
        },
        None => vec![data.to_string()],
    };
    let strategy = program.as_ref().map_or(String::new(), |p| p.name.clone());
    let declared: Vec<&str> = front
        .checked
        .params
        .iter()
        .map(|&id| front.checked.locals[id].name.as_str())
        .collect();
    if let Some(unknown) = grid.names().into_iter().find(|n| !declared.contains(n)) {
        return usage_error(&format!(
            "--param {unknown}: the strategy has no such param; its params are: {}",
            if declared.is_empty() {
                "none".to_string()
            } else {
                declared.join(", ")
            }
        ));
    }
    let outputs: Vec<(&str, &Path)> = [("--out", &a.out), ("--plot", &a.plot)]
        .into_iter()
        .filter_map(|(f, p)| p.as_deref().map(|p| (f, Path::new(p))))
        .collect();
    let mut inputs = vec![("the strategy", Path::new(file))];
    inputs.extend(paths.iter().map(|p| ("--data", Path::new(p))));
    if let Err(e) = output::check_targets(&inputs, &outputs) {
        return usage_error(&e);
    }
    let read = Instant::now();
    let mut files = Vec::new();
    for path in &paths {
        match read_bars(&a, path) {
            Ok(b) => files.push(b),
            Err(e) => return usage_error(&e),
        }
    }
    let (bars, frames) = match (&lowered, stride) {
        (Some(lowered), s) if s > 0 => {
            let zone = match zone(&a) {
                Ok(z) => z.unwrap_or(jiff::tz::TimeZone::UTC),
                Err(e) => return usage_error(&e),
            };
            let sources: Vec<Box<dyn btl::runtime::engine::BarSource + '_>> = files
                .iter()
                .map(|b| Box::new(&b[..]) as Box<dyn btl::runtime::engine::BarSource + '_>)
                .collect();
            let aligned = btl::runtime::align::Aligned::new(lowered, sources, zone)
                .map(|al| al.with_session_start(a.session_start.unwrap_or(0)));
            match aligned
                .map_err(|e| e.to_string())
                .and_then(|mut al| btl::runtime::align::collect(&mut al).map_err(|e| e.to_string()))
            {
                Ok(steps) => steps,
                Err(e) => return usage_error(&e),
            }
        }
        _ => (files.swap_remove(0), Vec::new()),
    };
    let data_set = sweep::Data {
        bars: &bars,
        frames: &frames,
        stride,
    };
    let read = read.elapsed();
    let selection = grid::select(&grid, a.sample.map(|k| (k, a.seed)), a.shard);
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if jobs == 0 {
        return usage_error("--jobs 0: give at least 1");
    }
    let sw = sweep::Sweep {
        front: &front,
        options,
        grid: &grid,
        engine: a.engine.into(),
        settings,
        jobs,
    };
    let names = grid.names();
    let started = Instant::now();
    if let Some(k) = a.walk_forward {
        return walk_forward(&a, &sw, &selection, data_set, k, sort);
    }
    let mut out = match a
        .out
        .as_deref()
        .map(|p| Out::create(p, &table::csv_header(&names)))
        .transpose()
    {
        Ok(o) => o,
        Err(e) => return usage_error(&e),
    };
    let bar = progress_bar(selection.len());
    let mut top = Top::new(sort, a.top.max(usize::from(a.plot.is_some())));
    let mut values: Vec<(u64, Option<f64>)> = Vec::new();
    let (mut failed, mut rows) = (0u64, 0u64);
    let mut error: Option<String> = None;
    let mut stdout_failed: Option<std::io::Error> = None;
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let timing = sw.run(&selection, data_set, |row: Row| {
        rows += 1;
        failed += u64::from(row.result.is_err());
        if let Some(o) = &mut out {
            o.line(&table::csv_row(&row), &mut error);
        }
        if a.json
            && stdout_failed.is_none()
            && let Err(e) = writeln!(stdout, "{}", table::json_row(&row, &names))
        {
            stdout_failed = Some(e);
        }
        if a.plot.is_some() {
            values.push((row.index, row.metric(sort)));
        }
        top.offer(&row);
        bar.inc(1);
    });
    bar.finish_and_clear();
    if let Some(e) = stdout_failed.or_else(|| stdout.flush().err()) {
        return crate::stdout_error(&e);
    }
    if let Some(e) = error {
        return usage_error(&e);
    }
    let mut ready = Vec::new();
    if let Some(path) = &a.plot {
        let page = sweep::heatmap::page(&sweep::heatmap::PageData {
            title: format!("{strategy} on {data}"),
            strategy: &strategy,
            grid: &grid,
            sort,
            values: &values,
            top: &top.rows,
            failed,
        });
        match Out::create(path, page.trim_end()) {
            Ok(o) => ready.push(o),
            Err(e) => return usage_error(&e),
        }
    }
    ready.extend(out);
    for o in &mut ready {
        if let Err(e) = o.file.prepare() {
            return usage_error(&format!("writing {}: {e}", o.path));
        }
    }
    for o in ready {
        if let Err(e) = o.file.commit() {
            return usage_error(&format!("writing {}: {e}", o.path));
        }
    }
    top.rows.truncate(a.top);
    let elapsed = started.elapsed().as_secs_f64();
    let work = (timing.compile + timing.run).as_secs_f64();
    let summary = format!(
        "{rows} combination(s) of {} ({failed} failed) over {} bars in {elapsed:.2} s on {jobs} thread(s) ({:.0}/s); data read in {:.2} s; summed over threads: compiling {:.3} s, bar loops {:.3} s (compile share {:.0}%)\n",
        grid.len().unwrap_or(u64::MAX),
        bars.len(),
        rows as f64 / elapsed.max(1e-9),
        read.as_secs_f64(),
        timing.compile.as_secs_f64(),
        timing.run.as_secs_f64(),
        if work > 0.0 {
            100.0 * timing.compile.as_secs_f64() / work
        } else {
            0.0
        },
    );
    let best = if top.rows.is_empty() {
        String::new()
    } else {
        format!(
            "best {} by {}:\n{}",
            top.rows.len(),
            METRICS[sort].name,
            table::top_table(&top.rows, &names, sort)
        )
    };
    if a.json {
        eprint!("{summary}{best}");
    } else {
        out!("{summary}{best}");
    }
    ExitCode::SUCCESS
}

fn walk_forward(
    a: &SweepArgs,
    sw: &sweep::Sweep,
    selection: &grid::Selection,
    data: sweep::Data,
    k: usize,
    sort: usize,
) -> ExitCode {
    let bars = data.bars;
    let folds = match walk::folds(bars.len(), k, a.train) {
        Ok(f) => f,
        Err(e) => return usage_error(&e),
    };
    let names = sw.grid.names();
    let mut out = match a
        .out
        .as_deref()
        .map(|p| Out::create(p, &walk::csv_header(&names)))
        .transpose()
    {
        Ok(o) => o,
        Err(e) => return usage_error(&e),
    };
    let bar = progress_bar(folds.len() as u64);
    let mut error = None;
    let mut n = 0;
    let (results, _) = walk::walk_forward(sw, selection, data, &folds, sort, |r| {
        if let Some(o) = &mut out {
            o.line(&walk::csv_row(n, r, bars, names.len()), &mut error);
        }
        n += 1;
        bar.inc(1);
    });
    bar.finish_and_clear();
    if let Some(e) = error {
        return usage_error(&e);
    }
    if let Some(o) = out
        && let Err(e) = o.file.commit()
    {
        return usage_error(&format!("writing {}: {e}", o.path));
    }
    let metric = METRICS[sort].name;
    let fmt = |v: Option<f64>| {
        v.map_or("n/a".to_string(), |v| {
            if METRICS[sort].percent {
                format!("{:.2}%", v * 100.0)
            } else {
                format!("{v:.3}")
            }
        })
    };
    let ret = sweep::metric("total_return").unwrap_or(0);
    outln!(
        "walk-forward over {} bars: {k} folds, {} combination(s), in-sample {:.0}% of each fold, best by {metric}",
        bars.len(),
        selection.len(),
        a.train * 100.0
    );
    outln!(
        "{:>4}  {:>20}  {:>20}  {:<24}  {:>12}  {:>12}  {:>10}",
        "fold",
        "in-sample from",
        "out-of-sample from",
        "best params",
        format!("IS {metric}"),
        format!("OOS {metric}"),
        "OOS return"
    );
    for (i, r) in results.iter().enumerate() {
        let params = r.in_sample.as_ref().map_or("none".to_string(), |row| {
            names
                .iter()
                .zip(&row.params)
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        });
        let time = |at: usize| feed::format_time_ms(bars[at].time);
        outln!(
            "{:>4}  {:>20}  {:>20}  {:<24}  {:>12}  {:>12}  {:>10}",
            i + 1,
            time(r.fold.train.start),
            time(r.fold.test.start),
            params,
            fmt(r.in_sample.as_ref().and_then(|x| x.metric(sort))),
            fmt(r.out_of_sample.as_ref().and_then(|x| x.metric(sort))),
            r.out_of_sample
                .as_ref()
                .and_then(|x| x.metric(ret))
                .map_or("n/a".to_string(), |v| format!("{:.2}%", v * 100.0)),
        );
    }
    let (is, oos) = walk::means(&results, sort);
    outln!(
        "mean {metric}: in-sample {}, out-of-sample {}{}",
        fmt(is),
        fmt(oos),
        match (is, oos) {
            (Some(i), Some(o)) if i != 0.0 => format!(
                " (out-of-sample / in-sample = {:.2}; near 1 holds up, near 0 or below is overfit)",
                o / i
            ),
            _ => String::new(),
        }
    );
    ExitCode::SUCCESS
}

/// `btl sweep merge PART... --out ALL`.
fn merge(parts: &[String], out: &str) -> ExitCode {
    let inputs: Vec<(&str, &Path)> = parts.iter().map(|p| ("a part", Path::new(p))).collect();
    if let Err(e) = output::check_targets(&inputs, &[("--out", Path::new(out))]) {
        return usage_error(&e);
    }
    let mut texts = Vec::new();
    for p in parts {
        match std::fs::read_to_string(p) {
            Ok(t) => texts.push((p.clone(), t)),
            Err(e) => return usage_error(&format!("cannot read {p}: {e}")),
        }
    }
    let (joined, rows) = match table::merge(&texts) {
        Ok(j) => j,
        Err(e) => return usage_error(&e),
    };
    let written = output::AtomicFile::create(Path::new(out)).and_then(|mut f| {
        f.writer().write_all(joined.as_bytes())?;
        f.commit()
    });
    if let Err(e) = written {
        return usage_error(&format!("writing {out}: {e}"));
    }
    eprintln!(
        "merged {rows} row(s) from {} part(s) into {out}",
        parts.len()
    );
    ExitCode::SUCCESS
}
