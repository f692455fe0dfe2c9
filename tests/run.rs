//! `btl run` end to end: every example runs on its data; buffers are exactly what `btl mem`
//! reports; output files appear only when a run completes; data errors exit 2 naming the line;
//! peak memory does not grow with the number of bars.

mod common;
use common::{btl, root, text, write_bars};

use std::path::{Path, PathBuf};

fn examples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "btl"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_example_runs_on_the_committed_data() {
    let files = examples();
    assert!(files.len() >= 4);
    for f in files {
        let name = f
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        // An example with data feeds of its own (`feed b`) runs on the pair of the references.
        let source = std::fs::read_to_string(&f).unwrap();
        let feeds: Vec<String> = source
            .lines()
            .filter_map(|l| l.trim().strip_prefix("feed "))
            .filter(|rest| !rest.contains('='))
            .map(|name| format!("{}=tests/data/multi/pair_b.csv", name.trim()))
            .collect();
        let (primary, bars) = if feeds.is_empty() {
            ("examples/data/prices.csv", 2000)
        } else {
            ("tests/data/multi/pair_a.csv", 600)
        };
        let mut args = vec![
            "run",
            &name,
            "--data",
            primary,
            "--commission",
            "0.001",
            "--json",
        ];
        for f in &feeds {
            args.extend(["--data", f]);
        }
        let out = btl(&args);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["bars"], bars, "{name}");
        for key in [
            "warmup_bar",
            "closed_trade_count",
            "final_value",
            "total_return",
            "max_drawdown",
            "rejected_orders",
            "buffer_bytes",
            "fill_convention",
            "closed_trades",
        ] {
            assert!(v.get(key).is_some(), "{name}: the JSON lacks {key}");
        }
        assert!(
            v["closed_trade_count"].as_u64().unwrap() > 0,
            "{name} trades on its example data"
        );
        assert_eq!(
            v["closed_trades"].as_array().unwrap().len() as u64,
            v["closed_trade_count"].as_u64().unwrap()
        );
    }
}

/// The run allocates exactly the buffers `btl mem` reports, for every example and every stdlib
/// function (called from a strategy that plots it).
#[test]
fn run_buffers_equal_mem_report() {
    let mut programs: Vec<(String, String)> = examples()
        .into_iter()
        .map(|p| {
            (
                p.to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    let crossings = [
        "if crossover(close, open) { 1 } else { 0 }",
        "if crossunder(close, open) { 1 } else { 0 }",
    ];
    for call in common::INDICATOR_CALLS.iter().chain(&crossings) {
        programs.push((
            call.to_string(),
            format!("strategy t {{\n    plot({call}, \"x\")\n}}\n"),
        ));
    }
    for (name, src) in programs {
        let c = btl::compile(&name, &src, &[]);
        let p = c
            .bar_program()
            .unwrap_or_else(|| panic!("{name} compiles: {:?}", c.diagnostics));
        let report = btl::mem::report(c.program.as_ref().unwrap(), &c.sources);
        assert_eq!(p.buffer_bytes(), report.total_bytes, "{name}");
        let m = btl::runtime::machine::Machine::new(&p);
        assert_eq!(
            (m.buf.len() * 8) as u64,
            report.total_bytes,
            "{name}: the machine allocates what mem reports"
        );
        let caps: Vec<u32> = p.slots.iter().map(|s| s.capacity).collect();
        let want: Vec<u32> = report.series.iter().map(|r| r.capacity).collect();
        assert_eq!(caps, want, "{name}");
    }
}

#[test]
fn emit_ir_prints_the_bar_program() {
    let out = btl(&[
        "run",
        "examples/sma_cross.btl",
        "--data",
        "examples/data/prices.csv",
        "--emit",
        "ir",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let t = text(&out.stdout);
    assert!(t.contains("slot s0 `close` capacity 31"), "{t}");
    assert!(t.contains("order Buy"), "{t}");
}

#[test]
fn trades_file_is_written_whole_or_not_at_all() {
    let dir = std::env::temp_dir().join(format!("btl-run-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out_csv = dir.join("trades.csv");
    let out_str = out_csv.to_string_lossy().into_owned();
    let ok = btl(&[
        "run",
        "examples/sma_cross.btl",
        "--data",
        "examples/data/prices.csv",
        "--trades",
        &out_str,
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let written = std::fs::read_to_string(&out_csv).unwrap();
    assert!(written.starts_with(
        "entry_time,exit_time,side,qty,entry_price,exit_price,pnl,pnl_net,return_pct,bars_held,entry_bar,exit_bar,entry_order,exit_order\n"
    ));
    assert!(written.lines().count() > 2);
    std::fs::remove_file(&out_csv).unwrap();

    // A data error half-way: exit 2, the line named, and no trades file (nor a temporary) left.
    let bad = dir.join("bad.csv");
    let good = std::fs::read_to_string(root().join("examples/data/prices.csv")).unwrap();
    let mut lines: Vec<String> = good.lines().map(String::from).collect();
    let mut fields: Vec<&str> = lines[1500].split(',').collect();
    fields[4] = "1o2.5";
    lines[1500] = fields.join(",");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let failed = btl(&[
        "run",
        "examples/sma_cross.btl",
        "--data",
        &bad.to_string_lossy(),
        "--trades",
        &out_str,
    ]);
    assert_eq!(failed.status.code(), Some(2));
    assert!(
        text(&failed.stderr).contains(":1501:"),
        "{}",
        text(&failed.stderr)
    );
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("bad.csv")],
        "no partial output"
    );

    // A missing data file and a program error have their own exit codes.
    assert_eq!(
        btl(&["run", "examples/sma_cross.btl", "--data", "no/such.csv"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        btl(&[
            "run",
            "tests/ui/errors/cycle.btl",
            "--data",
            "examples/data/prices.csv"
        ])
        .status
        .code(),
        Some(1)
    );
    assert_eq!(
        btl(&[
            "run",
            "examples/sma_cross.btl",
            "--data",
            "examples/data/prices.csv",
            "--commission",
            "-1"
        ])
        .status
        .code(),
        Some(2)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn peak_rss(data: &Path) -> u64 {
    let trades = data.with_extension("trades.csv");
    common::peak_rss(&[
        "examples/sma_cross.btl",
        "--data",
        &data.to_string_lossy(),
        "--trades",
        &trades.to_string_lossy(),
    ])
}

#[test]
fn peak_memory_does_not_grow_with_bars() {
    let dir = std::env::temp_dir().join(format!("btl-rss-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (small, large) = (dir.join("100k.csv"), dir.join("1m.csv"));
    write_bars(&small, 100_000);
    write_bars(&large, 1_000_000);
    let (a, b) = (peak_rss(&small), peak_rss(&large));
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        (b as f64) <= a as f64 * 1.10,
        "peak RSS {a} bytes on 100k bars, {b} on 1M bars"
    );
}

/// The binary's two engines print the same report (everything but the process's memory).
#[test]
fn both_engines_report_the_same_run() {
    let mut reports = Vec::new();
    for engine in ["jit", "interp"] {
        let out = btl(&[
            "run",
            "examples/trend_flip.btl",
            "--data",
            "examples/data/prices.csv",
            "--commission",
            "0.001",
            "--json",
            "--engine",
            engine,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_object_mut().unwrap().remove("peak_rss_bytes");
        assert!(v["statistics"]["sharpe_ratio"].is_number(), "{v}");
        reports.push(v);
    }
    assert_eq!(reports[0], reports[1]);
}

/// A strategy whose actions can never run: the warm-up is "never" in the text and `null` in the
/// JSON, no sentinel number; the run still exits 0 (W0002 is a warning).
#[test]
fn a_strategy_that_never_trades_says_never_not_a_number() {
    let dir = std::env::temp_dir().join(format!("btl-never-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("never.btl");
    std::fs::write(
        &src,
        "strategy never {\n    let x = if close > open { na } else { na }\n    if x > 0 { buy(1) }\n}\n",
    )
    .unwrap();
    let data = root().join("examples/data/prices.csv");
    let (src, data) = (src.to_str().unwrap(), data.to_str().unwrap());
    let human = btl(&["run", src, "--data", data]);
    assert_eq!(human.status.code(), Some(0));
    let out = text(&human.stdout);
    assert!(out.contains("warm-up bar      never"), "{out}");
    assert!(!out.contains("18446744073709551615"), "{out}");
    assert!(text(&human.stderr).contains("W0002"));
    let json = btl(&["run", src, "--data", data, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(v["warmup_bar"].is_null(), "{}", v["warmup_bar"]);
    let mem = btl(&["mem", src, "--json"]);
    let m: serde_json::Value = serde_json::from_slice(&mem.stdout).unwrap();
    assert!(!text(&mem.stdout).contains("18446744073709551615"));
    assert!(m.to_string().contains("null"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An invalid order says what was wrong with it, in the text and in the JSON.
#[test]
fn invalid_orders_say_why() {
    let dir = std::env::temp_dir().join(format!("btl-invalid-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("inv.btl");
    std::fs::write(
        &src,
        "strategy s {\n    if bar_index == 1 { buy_limit(1, na) }\n    if bar_index == 2 { buy(-1) }\n    if bar_index == 3 { sell_stop(1, 5, -2) }\n}\n",
    )
    .unwrap();
    let data = root().join("examples/data/prices.csv");
    let (src, data) = (src.to_str().unwrap(), data.to_str().unwrap());
    let out = text(&btl(&["run", src, "--data", data]).stdout);
    assert!(
        out.contains("invalid orders   3 ignored: 1 with a quantity na, zero or negative; 1 with a price or trail amount na, zero or negative; 1 with a validity in bars na or below 1"),
        "{out}"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&btl(&["run", src, "--data", data, "--json"]).stdout).unwrap();
    assert_eq!(
        v["invalid_order_reasons"],
        serde_json::json!({"quantity": 1, "price": 1, "bars": 1, "bracket": 0})
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The trades file is for a person: ISO times, the side, prices without float noise, money in
/// cents, the return and the bars held; `--json` has the times and the side too.
#[test]
fn the_trades_file_reads_like_a_ledger() {
    let dir = std::env::temp_dir().join(format!("btl-ledger-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trades = dir.join("tr.csv");
    let data = root().join("examples/data/prices.csv");
    let out = btl(&[
        "run",
        root().join("examples/trend_flip.btl").to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--trades",
        trades.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let csv = std::fs::read_to_string(&trades).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert!(rows.iter().any(|r| r[2] == "short") && rows.iter().any(|r| r[2] == "long"));
    for r in &rows {
        assert_eq!(r[0].len(), 10, "an ISO date: {r:?}");
        assert!(
            r[0].as_bytes()[4] == b'-' && r[1].as_bytes()[7] == b'-',
            "{r:?}"
        );
        assert!(
            !r[3].starts_with('-'),
            "the size is positive, the side says short: {r:?}"
        );
        for money in [r[6], r[7], r[8]] {
            let decimals = money.split('.').nth(1).map_or(0, str::len);
            assert_eq!(decimals, 2, "{money} in {r:?}");
        }
        for price in [r[4], r[5]] {
            assert!(price.split('.').nth(1).map_or(0, str::len) <= 8, "{price}");
        }
        let held: u64 = r[9].parse().unwrap();
        let (entry, exit): (u64, u64) = (r[10].parse().unwrap(), r[11].parse().unwrap());
        assert_eq!(held, exit - entry);
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &v["closed_trades"][0];
    for key in ["entry_time", "exit_time", "side", "return_pct", "bars_held"] {
        assert!(!first[key].is_null(), "{key} in {first}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--series` writes every plotted series at every bar: time first, one column per plot, full
/// precision, empty where `na`; the values are those of an SMA computed here.
#[test]
fn series_file_has_every_plot_at_every_bar() {
    let dir = std::env::temp_dir().join(format!("btl-series-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let series = dir.join("s.csv");
    let src = dir.join("p.btl");
    std::fs::write(
        &src,
        "strategy p {\n    plot(sma(close, 3), \"sma, 3\")\n    plot(close, \"close\")\n}\n",
    )
    .unwrap();
    let data = root().join("examples/data/prices.csv");
    let out = btl(&[
        "run",
        src.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--series",
        series.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let csv = std::fs::read_to_string(&series).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "time,\"sma, 3\",close");
    assert_eq!(lines.len(), 2001);
    let closes: Vec<f64> = lines[1..]
        .iter()
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    for (i, l) in lines[1..].iter().enumerate() {
        let cells: Vec<&str> = l.rsplit(',').collect();
        let sma = cells[1];
        if i < 2 {
            assert_eq!(sma, "", "bar {i}");
        } else {
            let want = (closes[i - 2] + closes[i - 1] + closes[i]) / 3.0;
            let got: f64 = sma.parse().unwrap();
            assert!(
                (got - want).abs() <= 1e-9 * want.abs(),
                "bar {i}: {got} vs {want}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
