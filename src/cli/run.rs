//! `btl run`: flags to a `Backtest`, the run, and its summary printed (text or JSON with every
//! closed trade); `--data DIR/ --each` goes to `cli::each`.

use std::process::ExitCode;

use crate::{Emit, RunArgs, load_program, remove_temps_on_signal, stdout_error, usage_error};

pub fn run(a: RunArgs, color: bool) -> ExitCode {
    use btl::backtest::{Backtest, Outputs};
    use btl::runtime::engine::BarSource;
    use btl::runtime::{broker, feed, output};

    remove_temps_on_signal();
    let settings = a.costs.settings();
    if let Err(e) = settings.broker_config() {
        return usage_error(&e);
    }
    let folder = a.data.len() == 1 && std::path::Path::new(&a.data[0]).is_dir();
    if a.each {
        return super::each::run_each(&a, color);
    }
    let zone = match a.timezone.as_deref().map(btl::timeframe::zone) {
        Some(Err(e)) => return usage_error(&format!("--timezone: {e}")),
        Some(Ok(z)) => Some(z),
        None => None,
    };
    let program = match load_program(&a.file, &a.params, color) {
        Ok(p) => p,
        Err(code) => return code,
    };
    match a.emit {
        Some(Emit::Ir) => {
            out!("{}", btl::ir::print::print(&program));
            return ExitCode::SUCCESS;
        }
        Some(emit @ (Emit::Clif | Emit::Asm)) => {
            let text = if emit == Emit::Clif {
                btl::jit::clif(&program)
            } else {
                btl::jit::asm(&program)
            };
            return match text {
                Ok(text) => {
                    out!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => usage_error(&format!("the JIT failed: {e}")),
            };
        }
        None => {}
    }
    // A folder holds the files of a program's feeds, each named by its stem.
    let values = if folder {
        let declares_feeds = program.symbols.len() > 1;
        if !declares_feeds {
            return super::each::run_each(&a, color);
        }
        match folder_values(&a.data[0], &program) {
            Ok(v) => v,
            Err(e) => return usage_error(&e),
        }
    } else {
        a.data.clone()
    };
    let paths = match data_paths(&values, &program) {
        Ok(p) => p,
        Err(e) => return usage_error(&e),
    };
    let mut backtest = match Backtest::new(program, a.engine.into(), settings) {
        Ok(b) => b,
        Err(e) => return usage_error(&e.to_string()),
    };
    backtest.set_symbol_names(primary_name(&values[0], &paths[0]));
    backtest.set_time_zone(zone.clone());
    let mut sources = Vec::new();
    for path in &paths {
        let path = std::path::Path::new(path);
        let mut source = match btl::runtime::data::DataFile::open(path, a.skip_bad_rows) {
            Ok(f) => f,
            Err(e) => return usage_error(&e.to_string()),
        };
        if let Some(unit) = a.time_unit {
            source.set_time_unit(unit);
        }
        if let Some(zone) = &zone {
            source.set_timezone(zone.clone());
        }
        sources.push(source);
    }
    let outputs = Outputs {
        trades: a.trades.as_ref().map(Into::into),
        equity: a.equity.as_ref().map(Into::into),
        plot: a.plot.as_ref().map(Into::into),
        series: a.series.as_ref().map(Into::into),
        json_trades: a.json,
    };
    let mut inputs = vec![("the strategy", std::path::Path::new(&a.file))];
    inputs.extend(paths.iter().map(|p| ("--data", std::path::Path::new(p))));
    let ran = if backtest.program().frame_len == 0 && sources.len() == 1 {
        backtest.run_to(&mut sources[0], &inputs, &outputs)
    } else {
        let lent: Vec<Box<dyn btl::runtime::engine::BarSource + '_>> = sources
            .iter_mut()
            .map(|s| Box::new(s) as Box<dyn btl::runtime::engine::BarSource + '_>)
            .collect();
        let zone = zone.clone().unwrap_or(jiff::tz::TimeZone::UTC);
        let aligned = btl::runtime::align::Aligned::new(backtest.program(), lent, zone);
        let mut aligned = match aligned {
            Ok(al) => al.with_session_start(a.session_start.unwrap_or(0)),
            Err(e) => return usage_error(&e),
        };
        let ran = backtest.run_to(&mut aligned, &inputs, &outputs);
        for &k in aligned.empty_feeds() {
            eprintln!(
                "warning: {}: no bars; a step needs every feed to have started, so nothing ran",
                paths[k]
            );
        }
        for (path, &n) in paths.iter().zip(aligned.skipped()) {
            if n > 0 {
                eprintln!(
                    "note: {path}: {n} bar(s) before every feed had started were skipped (steps start when every feed has a bar)"
                );
            }
        }
        ran
    };
    let outcome = match ran {
        Ok(o) => o,
        Err(btl::backtest::Error::Run(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
        Err(e) => return usage_error(&e.to_string()),
    };
    let (summary, statistics) = (&outcome.summary, &outcome.statistics);
    let config = backtest.config();
    let program = backtest.program();
    let peak = output::peak_rss_bytes();
    let time_unit = sources[0].time_unit();
    let mut skipped_rows = 0;
    for source in &sources {
        if let Some((unit, feed::UnitSource::Guessed)) = source.time_unit() {
            eprintln!(
                "note: {}: epoch times read as {}, guessed from the first one's size; `--time-unit s|ms|us|ns` sets the unit",
                source.name(),
                unit.name()
            );
        }
        if source.skipped_rows() > 0 {
            let first = source
                .first_skipped()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default();
            eprintln!(
                "warning: skipped {} bad row(s){first}",
                source.skipped_rows()
            );
        }
        skipped_rows += source.skipped_rows();
    }
    if a.json {
        let mut v = btl::backtest::summary_json(program, summary, statistics, config, skipped_rows);
        v["time_unit"] = serde_json::json!(time_unit.map(|(u, _)| u.name()));
        v["time_zone"] = serde_json::json!(a.timezone.as_deref().unwrap_or("UTC"));
        btl::backtest::name_symbols(&mut v, &backtest.symbol_names());
        v["peak_rss_bytes"] = serde_json::json!(peak);
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        if let Err(e) = btl::backtest::write_json_with_trades(&mut out, &v, outcome.trades.as_ref())
        {
            return stdout_error(&e);
        }
    } else {
        let pct = |x: f64| format!("{:.2}%", x * 100.0);
        let win = summary
            .win_rate()
            .map(|w| format!(" ({} won, win rate {})", summary.winning_trades, pct(w)))
            .unwrap_or_default();
        outln!(
            "strategy {} on {} ({} {})",
            program.name,
            values.join(" + "),
            summary.bars,
            if paths.len() > 1 { "steps" } else { "bars" }
        );
        outln!("  fill convention  {}", broker::fill_convention(config));
        outln!(
            "  warm-up bar      {}",
            summary
                .warmup_bar
                .map_or("never".to_string(), |w| w.to_string())
        );
        outln!("  closed trades    {}{win}", summary.trades);
        let names = backtest.symbol_names();
        if let (true, Some((bar, qty, price))) = (names.is_empty(), summary.open_position) {
            outln!("  open position    {qty} since bar {bar} at {price:.4}");
        }
        for (k, (name, &(trades, wins, pnl))) in names.iter().zip(&summary.symbols).enumerate() {
            let open = summary
                .open_positions
                .iter()
                .find(|(s, _)| *s as usize == k)
                .map(|(_, (bar, qty, price))| {
                    format!(", open {qty} since step {bar} at {price:.4}")
                })
                .unwrap_or_default();
            outln!("  {name:<16} {trades} trades ({wins} won), net P&L {pnl:.2}{open}");
        }
        outln!(
            "  final value      {:.2} (cash {:.2}, started with {:.2})",
            summary.final_value,
            summary.final_cash,
            summary.initial_cash
        );
        outln!("  total return     {}", pct(summary.total_return));
        outln!(
            "  max drawdown     {} ({} bars to recovery or the end)",
            pct(summary.max_drawdown),
            statistics.max_drawdown_bars
        );
        let opt = |x: Option<f64>, f: &dyn Fn(f64) -> String| x.map_or("n/a".to_string(), f);
        let num = |x: f64| format!("{x:.3}");
        outln!(
            "  annual return    {} over {} years",
            opt(statistics.annualized_return, &pct),
            opt(statistics.years, &|y| format!("{y:.1}"))
        );
        outln!(
            "  sharpe / sortino {} / {} (annualized, risk-free {})",
            opt(statistics.sharpe_ratio, &num),
            opt(statistics.sortino_ratio, &num),
            pct(a.costs.risk_free)
        );
        outln!(
            "  profit factor    {}, expectancy {} per trade, SQN {}",
            opt(statistics.profit_factor, &num),
            opt(statistics.average_trade, &|x| format!("{x:.2}")),
            opt(statistics.sqn, &num)
        );
        outln!("  exposure         {}", opt(statistics.exposure, &pct));
        outln!(
            "  orders           {} rejected, {} expired, {} cancelled",
            summary.rejected_orders,
            summary.expired_orders,
            summary.cancelled_orders
        );
        if summary.invalid_orders > 0 {
            outln!(
                "  invalid orders   {} ignored: {}",
                summary.invalid_orders,
                summary.invalid_reasons.describe()
            );
        }
        outln!("  buffer bytes     {}", summary.buffer_bytes);
        if let Some(p) = peak {
            outln!(
                "  peak memory      {:.1} MiB (whole process)",
                p as f64 / (1024.0 * 1024.0)
            );
        }
    }
    ExitCode::SUCCESS
}

/// The data file of each data feed of `program`, the primary first, from the `--data` values
/// (`FILE` or `NAME=FILE`; the first is the primary feed, the others name declared feeds).
pub(crate) fn data_paths(
    values: &[String],
    program: &btl::ir::BarProgram,
) -> Result<Vec<String>, String> {
    let declared = declared_feeds(program);
    let list = if declared.is_empty() {
        "it declares no other feed".to_string()
    } else {
        format!("it declares: {}", declared.join(", "))
    };
    let mut given: Vec<(String, String)> = Vec::new();
    for v in values.iter().skip(1) {
        let (name, file) = data_arg(v);
        let Some(name) = name else {
            return Err(format!(
                "--data {v}: name the feed this file is for, `--data NAME={v}` (the first --data is the primary feed; {list})"
            ));
        };
        if !declared.contains(&name.as_str()) {
            return Err(format!(
                "--data {v}: the program has no feed `{name}` ({list}; declare it with `feed {name}`)"
            ));
        }
        if given.iter().any(|(n, _)| *n == name) {
            return Err(format!("--data {v}: feed `{name}` is given twice"));
        }
        given.push((name, file));
    }
    let mut paths = vec![data_arg(&values[0]).1];
    for name in declared {
        match given.iter().find(|(n, _)| n == name) {
            Some((_, file)) => paths.push(file.clone()),
            None => {
                return Err(format!(
                    "the program reads feed `{name}`: give its bars with `--data {name}=FILE`"
                ));
            }
        }
    }
    Ok(paths)
}

/// The primary feed's name: a `--data NAME=FILE`'s name, else the file's stem (the others are
/// named after their feeds by `Backtest::symbol_names`).
fn primary_name(value: &str, path: &str) -> Vec<String> {
    let name = data_arg(value).0.or_else(|| {
        std::path::Path::new(path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
    });
    name.into_iter().collect()
}

/// A `--data` value: `NAME=FILE` (NAME an identifier) or a path.
fn data_arg(v: &str) -> (Option<String>, String) {
    match v.split_once('=') {
        Some((name, file))
            if !file.is_empty()
                && name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            (Some(name.to_string()), file.to_string())
        }
        _ => (None, v.to_string()),
    }
}

/// The names of the data feeds the program declares (the primary's aside).
fn declared_feeds(program: &btl::ir::BarProgram) -> Vec<&str> {
    let others = program.feeds.iter().skip(1);
    others
        .filter(|f| f.is_data())
        .map(|f| f.name.as_str())
        .collect()
}

/// The `--data` values a folder stands for: each declared data feed's file by its stem
/// (`qqq.csv` or `qqq.parquet` for `feed qqq`), and the one file left as the primary feed.
fn folder_values(dir: &str, program: &btl::ir::BarProgram) -> Result<Vec<String>, String> {
    let files = btl::batch::data_files(std::path::Path::new(dir))
        .map_err(|e| format!("cannot read the folder {dir}: {e}"))?;
    let stem = |p: &std::path::PathBuf| {
        p.file_stem()
            .map_or(String::new(), |s| s.to_string_lossy().into_owned())
    };
    let declared = declared_feeds(program);
    let mut values = Vec::new();
    for name in &declared {
        let found: Vec<&std::path::PathBuf> = files.iter().filter(|f| stem(f) == *name).collect();
        match found.as_slice() {
            [one] => values.push(format!("{name}={}", one.display())),
            [] => {
                return Err(format!(
                    "--data {dir}: no data file named `{name}` (.csv or .parquet) for feed `{name}`"
                ));
            }
            _ => return Err(format!("--data {dir}: several data files named `{name}`")),
        }
    }
    let rest: Vec<&std::path::PathBuf> = files
        .iter()
        .filter(|f| !declared.contains(&stem(f).as_str()))
        .collect();
    match rest.as_slice() {
        [primary] => {
            values.insert(0, primary.display().to_string());
            Ok(values)
        }
        [] => Err(format!(
            "--data {dir}: no file left for the primary feed (the files named after the program's feeds are theirs)"
        )),
        more => Err(format!(
            "--data {dir}: {} files could be the primary feed ({}); give it first, `--data FILE`, and the others as `--data NAME=FILE`",
            more.len(),
            more.iter().map(|p| stem(p)).collect::<Vec<_>>().join(", ")
        )),
    }
}
