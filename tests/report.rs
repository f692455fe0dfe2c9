//! `--plot report.html`: the page's embedded counts equal the run's bars and trades; long runs are
//! downsampled to at most `MAX_SLOTS` slots with every extreme kept; the page is self-contained
//! (no external resource, the chart library's licence inlined); a failed run leaves no page and no
//! temporary file; peak memory with `--plot --trades --equity` does not grow with bars.
//! The browser check (headless Chromium, console errors, screenshot) is
//! `tests/report_browser/run.sh`.

mod common;
use common::{btl, text, write_bars};

use std::path::{Path, PathBuf};

use btl::runtime::report::{MAX_MARKERS, MAX_SLOTS, ReportSink, Tee};
use btl::runtime::{broker, engine};

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("btl-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The JSON in `<script id="btl-data">`.
fn page_data(html: &str) -> serde_json::Value {
    let open = "<script id=\"btl-data\" type=\"application/json\">";
    let start = html.find(open).expect("the page has its data") + open.len();
    let len = html[start..].find("</script>").expect("the data end");
    serde_json::from_str(&html[start..start + len]).expect("the data are JSON")
}

fn numbers(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x.as_f64())
        .collect()
}

/// Runs `btl run` with `--json` and `--plot`; the summary and the page's data.
fn run_with_plot(
    program: &str,
    data: &str,
    dir: &Path,
    extra: &[&str],
) -> (serde_json::Value, serde_json::Value, String) {
    let page = dir.join("report.html");
    let mut args = vec![
        "run",
        program,
        "--data",
        data,
        "--json",
        "--plot",
        page.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = btl(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let html = std::fs::read_to_string(&page).expect("the page is written");
    (summary, page_data(&html), html)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn page_counts_equal_the_runs_bars_and_trades() {
    let dir = scratch("counts");
    for (program, overlay) in [
        ("examples/sma_cross.btl", true),
        ("examples/bollinger.btl", true),
        ("examples/rsi_reversion.btl", false),
    ] {
        let (summary, d, _) = run_with_plot(program, "examples/data/prices.csv", &dir, &[]);
        assert_eq!(d["bars"], summary["bars"], "{program}");
        assert_eq!(d["trades"], summary["closed_trade_count"], "{program}");
        assert_eq!(d["strategy"], summary["strategy"]);
        assert!(
            summary["closed_trade_count"].as_u64().unwrap() > 0,
            "{program} trades"
        );
        // A short run is shown bar for bar.
        let bars = summary["bars"].as_u64().unwrap();
        assert_eq!(d["bucket"], 1);
        assert_eq!(d["candles"].as_u64(), Some(bars));
        assert_eq!(d["time"].as_array().unwrap().len() as u64, bars);
        assert_eq!(numbers(&d["close"]).len() as u64, bars);
        assert_eq!(numbers(&d["equity"]).len() as u64, bars);
        // Every fill is in a marker, and every closed trade has an entry and an exit fill.
        let fills = d["fills"].as_u64().unwrap();
        let in_markers: f64 = numbers(&d["markers"]["count"]).iter().sum();
        assert_eq!(in_markers as u64, fills);
        assert!(fills >= 2 * summary["closed_trade_count"].as_u64().unwrap());
        // The drawdown's extreme is the run's max drawdown; the last equity is the final value.
        let dd = numbers(&d["drawdown"]);
        let min = dd.iter().copied().fold(f64::INFINITY, f64::min);
        assert!(close(-min, summary["max_drawdown"].as_f64().unwrap()));
        let eq = numbers(&d["equity"]);
        assert!(close(
            *eq.last().unwrap(),
            summary["final_value"].as_f64().unwrap()
        ));
        for s in d["series"].as_array().unwrap() {
            assert_eq!(s["overlay"], overlay, "{program}: {}", s["name"]);
            assert_eq!(s["values"].as_array().unwrap().len() as u64, bars);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn page_is_self_contained() {
    let dir = scratch("offline");
    let (_, d, html) = run_with_plot(
        "examples/sma_cross.btl",
        "examples/data/prices.csv",
        &dir,
        &[],
    );
    let lower = html.to_ascii_lowercase();
    for external in [
        "<script src",
        "<link",
        "src=\"http",
        "src='http",
        "@import",
        "url(http",
        "url(\"http",
        "url('http",
        "//cdn",
    ] {
        assert!(!lower.contains(external), "the page loads `{external}`");
    }
    assert!(html.contains("TradingView Lightweight Charts™ v5.2.1"));
    assert!(html.contains("Apache License"));
    assert!(html.contains("Copyright (c) 2023 TradingView, Inc."));
    assert!(html.contains("https://www.tradingview.com/"));
    let names: Vec<&str> = d["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fast", "slow"]);
    assert!(html.contains("id=\"btl-status\""));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn long_runs_are_downsampled_keeping_every_extreme() {
    let dir = scratch("downsample");
    let data = dir.join("bars.csv");
    let n = 50_000u64;
    write_bars(&data, n as usize);
    let equity = dir.join("equity.csv");
    let (summary, d, _) = run_with_plot(
        "examples/bollinger.btl",
        data.to_str().unwrap(),
        &dir,
        &["--equity", equity.to_str().unwrap()],
    );
    assert_eq!(d["bars"].as_u64(), Some(n));
    assert_eq!(d["trades"], summary["closed_trade_count"]);
    let bucket = n.div_ceil(MAX_SLOTS);
    assert_eq!(d["bucket"].as_u64(), Some(bucket));
    let candles = n.div_ceil(bucket);
    assert_eq!(d["candles"].as_u64(), Some(candles));
    assert!(d["slots"].as_u64().unwrap() <= MAX_SLOTS + 1);
    // The candles keep the data's extremes and its first open and last close.
    let text = std::fs::read_to_string(&data).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    let high = rows.iter().map(|r| r[2]).fold(f64::MIN, f64::max);
    let low = rows.iter().map(|r| r[3]).fold(f64::MAX, f64::min);
    let volume: f64 = rows.iter().map(|r| r[5]).sum();
    let page_high = numbers(&d["high"]).into_iter().fold(f64::MIN, f64::max);
    let page_low = numbers(&d["low"]).into_iter().fold(f64::MAX, f64::min);
    assert_eq!((page_high, page_low), (high, low));
    assert_eq!(numbers(&d["open"])[0], rows[0][1]);
    assert_eq!(
        *numbers(&d["close"]).last().unwrap(),
        rows.last().unwrap()[4]
    );
    assert_eq!(numbers(&d["volume"]).iter().sum::<f64>(), volume);
    // Every line keeps its minimum and maximum: equity against the --equity file.
    let values: Vec<f64> = std::fs::read_to_string(&equity)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
        .collect();
    assert_eq!(values.len() as u64, n);
    let eq = numbers(&d["equity"]);
    assert!(eq.len() as u64 <= 2 * n.div_ceil(2 * bucket));
    let max = |v: &[f64]| v.iter().copied().fold(f64::MIN, f64::max);
    let min = |v: &[f64]| v.iter().copied().fold(f64::MAX, f64::min);
    assert_eq!((max(&eq), min(&eq)), (max(&values), min(&values)));
    let dd = numbers(&d["drawdown"]);
    assert!(close(-min(&dd), summary["max_drawdown"].as_f64().unwrap()));
    for s in d["series"].as_array().unwrap() {
        assert!(numbers(&s["values"]).len() as u64 <= d["slots"].as_u64().unwrap());
    }
    // Markers: one per slot and side at most, capped.
    let shown = d["markers_shown"].as_u64().unwrap();
    assert!(shown <= MAX_MARKERS as u64);
    assert_eq!(numbers(&d["markers"]["slot"]).len() as u64, shown);
    assert!(d["markers_total"].as_u64().unwrap() <= 2 * candles);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_run_leaves_no_page_and_no_temporary_file() {
    let dir = scratch("failed");
    let data = dir.join("bad.csv");
    std::fs::write(
        &data,
        "date,open,high,low,close\n2020-01-01,1,2,0.5,1.5\nbad\n",
    )
    .unwrap();
    let page = dir.join("report.html");
    let out = btl(&[
        "run",
        "examples/sma_cross.btl",
        "--data",
        data.to_str().unwrap(),
        "--plot",
        page.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "bad.csv")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_run_without_bars_still_makes_a_page() {
    let dir = scratch("empty");
    let data = dir.join("empty.csv");
    std::fs::write(&data, "date,open,high,low,close,volume\n").unwrap();
    let (summary, d, _) =
        run_with_plot("examples/sma_cross.btl", data.to_str().unwrap(), &dir, &[]);
    assert_eq!(summary["bars"], 0);
    assert_eq!(
        (d["bars"].as_u64(), d["candles"].as_u64()),
        (Some(0), Some(0))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The library path, without the CLI: names are escaped so they cannot close the data's script,
/// and the temporary files beside the page are gone once it is written.
#[test]
fn report_sink_escapes_names_and_cleans_up() {
    let src = "strategy odd {\n  plot(close * 2, \"</script><b>x\")\n  plot(close, \"c\")\n}\n";
    let c = btl::compile("odd.btl", src, &[]);
    let program = c.bar_program().expect("the program compiles");
    let dir = scratch("library");
    let page = dir.join("odd.html");
    let mut report = ReportSink::create(&page, &program.name, &program.plots, 100_000.0).unwrap();
    let bars = btl::diff::bars(7, 300);
    let mut nothing = engine::NoSink;
    let summary = engine::run(
        &program,
        &mut &bars[..],
        &mut engine::Interpreter,
        broker::BrokerConfig::default(),
        &mut Tee {
            run: &mut nothing,
            report: Some(&mut report),
        },
    )
    .unwrap();
    let info = report
        .finish(&serde_json::json!({"strategy": program.name, "bars": summary.bars}))
        .unwrap();
    assert_eq!((info.bars, info.trades, info.bucket), (300, 0, 1));
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(html.matches("</script>").count(), 3, "data, library, page");
    let d = page_data(&html);
    assert_eq!(d["series"][0]["name"], "</script><b>x");
    assert_eq!(d["series"][0]["overlay"], false);
    assert_eq!(d["series"][1]["overlay"], true);
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(files.len(), 1, "only the page remains");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn peak_rss(program: &str, data: &Path, dir: &Path) -> u64 {
    let (html, trades, equity) = (
        dir.join("report.html"),
        dir.join("trades.csv"),
        dir.join("equity.csv"),
    );
    common::peak_rss(&[
        program,
        "--data",
        data.to_str().unwrap(),
        "--plot",
        html.to_str().unwrap(),
        "--trades",
        trades.to_str().unwrap(),
        "--equity",
        equity.to_str().unwrap(),
    ])
}

#[test]
fn peak_memory_with_a_plot_does_not_grow_with_bars() {
    let dir = scratch("rss");
    let (small, large) = (dir.join("100k.csv"), dir.join("1m.csv"));
    write_bars(&small, 100_000);
    write_bars(&large, 1_000_000);
    let program = "examples/bollinger.btl";
    let (a, b) = (
        peak_rss(program, &small, &dir),
        peak_rss(program, &large, &dir),
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        (b as f64) <= a as f64 * 1.10,
        "peak RSS with --plot --trades --equity: {a} bytes on 100k bars, {b} on 1M bars"
    );
}

#[test]
fn the_page_lists_trades_with_exit_reasons_levels_periods_and_buy_and_hold() {
    let dir = scratch("extras");
    // Named orders: a protective stop placed when the entry fills, cancelled on the exit signal.
    let (summary, d, html) = run_with_plot(
        "examples/macd_atr_stop.btl",
        "tests/data/ohlcv_12000.csv",
        &dir,
        &[],
    );
    let trades = summary["closed_trades"].as_array().unwrap();
    let list = &d["trade_list"];
    assert_eq!(d["trade_list_total"], summary["closed_trade_count"]);
    assert_eq!(list["entry_time"].as_array().unwrap().len(), trades.len());
    for (i, t) in trades.iter().enumerate() {
        assert_eq!(list["entry_time"][i], t["entry_time"]);
        assert_eq!(list["exit_time"][i], t["exit_time"]);
        assert_eq!(list["side"][i], t["side"]);
        assert_eq!(list["pnl"][i], t["pnl_net"]);
        assert_eq!(list["exit_order"][i], t["exit_order"]);
        // The stop order closes with a stop fill; the exit signal with a market fill.
        let reason = list["exit_reason"][i].as_str().unwrap();
        match t["exit_order"].as_str() {
            Some("stop") => assert_eq!(reason, "stop", "trade {i}"),
            Some("exit") => assert_eq!(reason, "signal", "trade {i}"),
            other => panic!("trade {i} closed by {other:?}"),
        }
    }
    let reasons: Vec<&str> = d["markers"]["reason"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    assert!(reasons.contains(&"stop") && reasons.contains(&"signal"));
    // A stop is pending on some slots (while a position is open), never a target.
    let stops = numbers(&d["levels"]["stop"]);
    assert!(!stops.is_empty() && stops.len() < d["candles"].as_u64().unwrap() as usize);
    assert!(numbers(&d["levels"]["target"]).is_empty());
    // Buy and hold from the first close to the last.
    let close = numbers(&d["close"]);
    let bh = &d["buy_hold"];
    let data = std::fs::read_to_string(common::root().join("tests/data/ohlcv_12000.csv")).unwrap();
    let first_close: f64 = data
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(4)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(bh["first_close"].as_f64().unwrap(), first_close);
    assert_eq!(bh["last_close"].as_f64().unwrap(), *close.last().unwrap());
    assert!(html.contains("buy &amp; hold"));
    // One equity value per calendar month, the last equal to the final value.
    let months = d["periods"]["month"].as_array().unwrap();
    let ends = numbers(&d["periods"]["end_value"]);
    assert_eq!(months.len(), ends.len());
    assert!(months.windows(2).all(|w| w[0].as_str() < w[1].as_str()));
    assert_eq!(
        *ends.last().unwrap(),
        summary["final_value"].as_f64().unwrap()
    );
    // Readable names in "All figures", not raw keys.
    assert!(html.contains("Average trade length (bars)"));
    assert!(!html.contains("statistics.average_trade_bars"));

    let (_, d, _) = run_with_plot(
        "examples/rsi_reversion.btl",
        "examples/data/prices.csv",
        &dir,
        &[],
    );
    assert_eq!(
        d["hlines"],
        serde_json::json!([{"value": 30.0, "series": "rsi"}, {"value": 70.0, "series": "rsi"}])
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
