//! `btl run FILE --data DIR/ --each`: the strategy on every data file of a folder, each its own
//! backtest (`btl::batch`), a row per symbol as it finishes (in file order) and the totals.

use std::path::Path;
use std::process::ExitCode;

use btl::batch::{self, Each, SymbolRow, Totals};

use crate::{RunArgs, usage_error};

pub fn run_each(a: &RunArgs, color: bool) -> ExitCode {
    let data = &a.data[0];
    if a.data.len() > 1 {
        return usage_error("--each takes one folder: give --data once");
    }
    let dir = Path::new(data);
    if !dir.is_dir() {
        return usage_error(&format!(
            "--each runs every data file of a folder: `--data {data}` is not a folder"
        ));
    }
    if !a.each {
        return usage_error(&format!(
            "--data {data}: a folder; add --each to run the strategy on each of its files (for several feeds in one strategy, give each file: --data spy.csv --data qqq=qqq.csv)"
        ));
    }
    let outputs = [
        ("--trades", a.trades.is_some()),
        ("--equity", a.equity.is_some()),
        ("--plot", a.plot.is_some()),
        ("--series", a.series.is_some()),
        ("--emit", a.emit.is_some()),
    ];
    if let Some((flag, _)) = outputs.iter().find(|(_, given)| *given) {
        return usage_error(&format!(
            "{flag} is for one data file; --each prints a summary per symbol (run the symbol alone for its files)"
        ));
    }
    if a.jobs == Some(0) {
        return usage_error("--jobs 0: give at least 1");
    }
    // Checked once, with its diagnostics shown once.
    let program = match crate::load_program(&a.file, &a.params, color) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if program.symbols.len() > 1 {
        return usage_error(&format!(
            "--each runs the strategy on one data feed per file; {} declares other data feeds (run it with --data FILE --data NAME=FILE)",
            a.file
        ));
    }
    let zone = match a.timezone.as_deref().map(btl::timeframe::zone) {
        Some(Err(e)) => return usage_error(&format!("--timezone: {e}")),
        Some(Ok(z)) => Some(z),
        None => None,
    };
    let files = match batch::data_files(dir) {
        Ok(f) if f.is_empty() => {
            return usage_error(&format!("--data {data}: no .csv file in the folder"));
        }
        Ok(f) => f,
        Err(e) => return usage_error(&format!("cannot read the folder {data}: {e}")),
    };
    let each = Each {
        program: &program,
        engine: a.engine.into(),
        settings: a.costs.settings(),
        skip_bad_rows: a.skip_bad_rows,
        time_unit: a.time_unit,
        zone,
        session_start: a.session_start.unwrap_or(0),
        jobs: a
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
    };
    let mut totals = Totals::default();
    let mut rows = Vec::new();
    let width = files
        .iter()
        .filter_map(|f| f.file_stem())
        .map(|s| s.to_string_lossy().chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    if !a.json {
        outln!(
            "strategy {} on {} file(s) of {}, each its own backtest",
            program.name,
            files.len(),
            data
        );
        outln!(
            "{:<width$}  {:>9}  {:>6}  {:>8}  {:>14}  {:>9}  {:>9}  {:>7}  {:>9}",
            "symbol",
            "bars",
            "trades",
            "win rate",
            "final value",
            "return",
            "annual",
            "sharpe",
            "max dd"
        );
    }
    each.run(&files, |row: SymbolRow| {
        totals.add(&row);
        if a.json {
            rows.push(row_json(&row));
        } else {
            outln!("{}", row_text(&row, width));
        }
    });
    if a.json {
        let v = serde_json::json!({
            "strategy": program.name,
            "symbols": rows,
            "totals": {
                "symbols": totals.symbols,
                "failed": totals.failed,
                "bars": totals.bars,
                "closed_trade_count": totals.trades,
                "winning_trade_count": totals.winning_trades,
                "initial_cash": totals.initial_cash,
                "final_value": totals.final_value,
                "total_return": totals.total_return(),
            },
        });
        outln!(
            "{}",
            serde_json::to_string_pretty(&v).unwrap_or_else(|_| "{}".into())
        );
    } else {
        outln!(
            "total: {} symbol(s){}, {} bars, {} closed trades; {:.2} from {:.2} of starting cash ({})",
            totals.symbols,
            if totals.failed > 0 {
                format!(" ({} failed)", totals.failed)
            } else {
                String::new()
            },
            totals.bars,
            totals.trades,
            totals.final_value,
            totals.initial_cash,
            totals
                .total_return()
                .map_or("n/a".into(), |r| format!("{:.2}%", r * 100.0))
        );
    }
    if totals.failed > 0 {
        eprintln!(
            "error: {} of {} symbol(s) failed; their rows say why",
            totals.failed, totals.symbols
        );
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

fn row_text(row: &SymbolRow, width: usize) -> String {
    let pct = |x: Option<f64>| x.map_or("n/a".to_string(), |x| format!("{:.2}%", x * 100.0));
    match &row.result {
        Ok((s, t, _)) => format!(
            "{:<width$}  {:>9}  {:>6}  {:>8}  {:>14.2}  {:>9}  {:>9}  {:>7}  {:>9}",
            row.symbol,
            s.bars,
            s.trades,
            pct(s.win_rate()),
            s.final_value,
            pct(Some(s.total_return)),
            pct(t.annualized_return),
            t.sharpe_ratio.map_or("n/a".into(), |x| format!("{x:.3}")),
            pct(Some(s.max_drawdown)),
        ),
        Err(e) => format!("{:<width$}  error: {e}", row.symbol),
    }
}

fn row_json(row: &SymbolRow) -> serde_json::Value {
    match &row.result {
        Ok((s, t, skipped)) => serde_json::json!({
            "symbol": row.symbol,
            "file": row.file.display().to_string(),
            "bars": s.bars,
            "closed_trade_count": s.trades,
            "win_rate": s.win_rate(),
            "final_value": s.final_value,
            "total_return": s.total_return,
            "max_drawdown": s.max_drawdown,
            "skipped_rows": skipped,
            "statistics": t,
            "error": null,
        }),
        Err(e) => serde_json::json!({
            "symbol": row.symbol,
            "file": row.file.display().to_string(),
            "error": e,
        }),
    }
}
