//! Several feeds and timeframes in one strategy, through the CLI on both engines: the alignment
//! rule on hand-written data (a feed without a bar holds its last; `x[k]` counts the feed's own
//! bars; orders fill only on the primary feed's bars), no look-ahead for resampled bars (a daily
//! SMA read from minute bars equals the SMA of the daily file, from the first minute after the
//! day closed), backtrader's minute strategy with a daily filter trade for trade, `btl mem` per
//! feed, and the command line's errors.

mod common;
use common::{btl, root, text};

fn dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("btl-feeds-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(name: &str, body: &str) -> String {
    let p = dir().join(name);
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

/// The `--series` CSV of a run: one row per step, `None` for an empty (`na`) cell.
fn series(args: &[&str], name: &str) -> Vec<Vec<Option<f64>>> {
    let out = dir().join(name);
    let out = out.to_str().unwrap();
    let mut all = args.to_vec();
    all.extend(["--series", out]);
    let o = btl(&all);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    std::fs::read_to_string(out)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .skip(1)
                .map(|c| (!c.is_empty()).then(|| c.parse().unwrap()))
                .collect()
        })
        .collect()
}

#[test]
fn a_feed_without_a_bar_holds_its_last_and_counts_its_own_bars() {
    // `a` misses day 6, `b` misses day 3.
    let a = write(
        "a.csv",
        "date,open,high,low,close,volume\n\
         2024-01-01,10,10,10,10,1\n2024-01-02,11,11,11,11,1\n2024-01-03,12,12,12,12,1\n\
         2024-01-04,13,13,13,13,1\n2024-01-05,14,14,14,14,1\n",
    );
    let b = write(
        "b.csv",
        "date,open,high,low,close,volume\n\
         2024-01-01,100,100,100,100,1\n2024-01-02,101,101,101,101,1\n\
         2024-01-04,103,103,103,103,1\n2024-01-05,104,104,104,104,1\n\
         2024-01-06,106,106,106,106,1\n",
    );
    let program = write(
        "align.btl",
        "strategy align {\n    feed b\n    let spread = close - b.close\n    \
         plot(close, \"close\")\n    plot(close[1], \"close1\")\n    plot(bar_index, \"bar\")\n    \
         plot(b.close, \"b\")\n    plot(b.close[1], \"b1\")\n    plot(b.bar_index, \"bbar\")\n    \
         plot(spread[1], \"spread1\")\n    plot(b.sma(close, 2), \"bsma\")\n    \
         plot(position, \"position\")\n    if bar_index == 2 and position == 0 { buy(1) }\n}\n",
    );
    let n = f64::NAN;
    #[rustfmt::skip]
    let want: [[f64; 9]; 6] = [
        // close close1 bar  b    b1   bbar spread1 bsma   position
        [10.0, n,    0.0, 100.0, n,     0.0, n,     n,     0.0],
        [11.0, 10.0, 1.0, 101.0, 100.0, 1.0, -90.0, 100.5, 0.0],
        // Day 3: `b` has no bar; its values and its average hold. A buy on the primary's bar.
        [12.0, 11.0, 2.0, 101.0, 100.0, 1.0, -90.0, 100.5, 0.0],
        // Day 4: filled at the primary's open.
        [13.0, 12.0, 3.0, 103.0, 101.0, 2.0, -89.0, 102.0, 1.0],
        [14.0, 13.0, 4.0, 104.0, 103.0, 3.0, -90.0, 103.5, 1.0],
        // Day 6: the primary has no bar: `close` and `bar_index` hold.
        [14.0, 13.0, 4.0, 106.0, 104.0, 4.0, -90.0, 105.0, 1.0],
    ];
    for engine in ["jit", "interp"] {
        let b_arg = format!("b={b}");
        let got = series(
            &[
                "run", &program, "--data", &a, "--data", &b_arg, "--engine", engine,
            ],
            &format!("align-{engine}.csv"),
        );
        assert_eq!(got.len(), 6, "{engine}: one row per step");
        for (step, (row, want)) in got.iter().zip(&want).enumerate() {
            for (k, (g, w)) in row.iter().zip(want).enumerate() {
                let same = match g {
                    None => w.is_nan(),
                    Some(g) => g == w,
                };
                assert!(same, "{engine}: step {step}, column {k}: {g:?} vs {w}");
            }
        }
    }
}

#[test]
fn a_daily_average_from_minute_bars_is_the_daily_files_seen_after_the_day_closed() {
    let minute = root().join("tests/data/multi/minute.csv");
    let daily = root().join("tests/data/multi/minute_daily.csv");
    let on_minutes = write(
        "daily_on_minutes.btl",
        "strategy d {\n    feed day = resample(\"1d\")\n    plot(day.sma(close, 5), \"sma\")\n    \
         plot(day.time, \"day\")\n    plot(time, \"t\")\n}\n",
    );
    let on_days = write(
        "daily_on_days.btl",
        "strategy d {\n    plot(sma(close, 5), \"sma\")\n    plot(time, \"t\")\n}\n",
    );
    let tz = "America/New_York";
    let days = series(
        &[
            "run",
            &on_days,
            "--data",
            daily.to_str().unwrap(),
            "--timezone",
            tz,
        ],
        "days.csv",
    );
    for engine in ["jit", "interp"] {
        let minutes = series(
            &[
                "run",
                &on_minutes,
                "--data",
                minute.to_str().unwrap(),
                "--timezone",
                tz,
                "--engine",
                engine,
            ],
            &format!("minutes-{engine}.csv"),
        );
        // Day k's bar (and its average) is seen from the first minute of day k + 1 on.
        let mut seen = 0;
        for (i, row) in minutes.iter().enumerate() {
            let t = row[2].unwrap();
            // The days that have closed before this minute: those starting before its day.
            let closed = days.iter().filter(|d| d[1].unwrap() < t).count();
            let today_started = days
                .iter()
                .any(|d| d[1].unwrap() <= t && t - d[1].unwrap() < 86_400_000.0);
            let visible = if today_started { closed - 1 } else { closed };
            match visible {
                0 => assert!(
                    row[1].is_none(),
                    "{engine}: minute {i} sees a day too early"
                ),
                k => {
                    let day = &days[k - 1];
                    assert_eq!(row[1], day[1], "{engine}: minute {i} shows day {k}'s time");
                    match day[0] {
                        None => assert!(row[0].is_none()),
                        Some(v) => assert_eq!(row[0].map(f64::to_bits), Some(v.to_bits())),
                    }
                    if i > 0 && minutes[i - 1][1] != row[1] {
                        seen += 1;
                    }
                }
            }
        }
        // Every day but the last is shown (the last never sees a later bar).
        assert_eq!(seen, days.len() - 1, "{engine}");
    }
}

/// The closed trades of a `--json` run.
fn trades(args: &[&str]) -> (serde_json::Value, Vec<serde_json::Value>) {
    let o = btl(args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let t = v["closed_trades"].as_array().unwrap().clone();
    (v, t)
}

/// `btl run examples/daily_filter.btl --json` on the minute data in New York time with
/// backtrader's commission, with `extra` flags: the summary and the trades.
fn daily_filter(extra: &[&str]) -> (serde_json::Value, Vec<serde_json::Value>) {
    let mut args = vec![
        "run",
        "examples/daily_filter.btl",
        "--data",
        "tests/data/multi/minute.csv",
        "--timezone",
        "America/New_York",
        "--commission",
        "0.001",
        "--json",
    ];
    args.extend_from_slice(extra);
    trades(&args)
}

#[test]
fn a_minute_strategy_with_a_daily_filter_trades_as_backtrader() {
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/reference/daily_filter_backtrader.json"))
            .unwrap(),
    )
    .unwrap();
    let want = reference["trades"].as_array().unwrap();
    for engine in ["jit", "interp"] {
        let (v, got) = daily_filter(&["--engine", engine]);
        assert_eq!(got.len(), want.len(), "{engine}: trades");
        for (g, w) in got.iter().zip(want) {
            // Times on the exchange's clock (`--timezone`), as the data and backtrader write them.
            for key in ["entry_bar", "exit_bar", "entry_time", "exit_time"] {
                assert_eq!(g[key], w[key], "{engine}: {g} vs {w}");
            }
            same_prices_and_pnl(g, w, engine);
        }
        same_final_value(&v, &reference, engine);
    }
}

/// A btl trade and backtrader's: the same prices and net P&L (backtrader's prices may be an ulp
/// off the file's).
fn same_prices_and_pnl(g: &serde_json::Value, w: &serde_json::Value, what: &str) {
    for (a, b) in [
        ("entry_price", "entry_price"),
        ("exit_price", "exit_price"),
        ("pnl_net", "pnlcomm"),
    ] {
        let (x, y) = (g[a].as_f64().unwrap(), w[b].as_f64().unwrap());
        assert!(
            (x - y).abs() <= 1e-9 * y.abs().max(1.0),
            "{what}: {a} {x} vs {y}"
        );
    }
}

/// The final value to 1e-6 relative.
fn same_final_value(v: &serde_json::Value, reference: &serde_json::Value, what: &str) {
    let (x, y) = (
        v["final_value"].as_f64().unwrap(),
        reference["final_value"].as_f64().unwrap(),
    );
    assert!((x / y - 1.0).abs() < 1e-6, "{what}: final value {x} vs {y}");
}

#[test]
fn mem_counts_a_daily_buffer_in_days() {
    let program = write(
        "daily200.btl",
        "strategy d {\n    feed daily = resample(\"1d\")\n    let trend = daily.sma(close, 200)\n    \
         if close > trend { buy(1) }\n}\n",
    );
    let o = btl(&["mem", &program, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = v["series"].as_array().unwrap();
    let close = rows
        .iter()
        .find(|r| r["name"] == "daily.close")
        .expect("a row for the daily close");
    assert_eq!(close["capacity"], 201);
    assert_eq!(close["feed"], "daily");
    let minute_close = rows.iter().find(|r| r["name"] == "close").unwrap();
    assert_eq!(minute_close["capacity"], 1);
    let table = text(&btl(&["mem", &program]).stdout);
    assert!(table.contains("in bars of"), "{table}");
}

#[test]
fn feeds_on_the_command_line_are_checked() {
    let program = write(
        "pair.btl",
        "strategy p {\n    feed b\n    plot(close - b.close, \"s\")\n}\n",
    );
    let a = "tests/data/multi/pair_a.csv";
    let b = "b=tests/data/multi/pair_b.csv";
    let cases: &[(&[&str], &str)] = &[
        (&["--data", a], "give its bars with `--data b=FILE`"),
        (
            &["--data", a, "--data", b, "--data", "c=x.csv"],
            "no feed `c`",
        ),
        (&["--data", a, "--data", b, "--data", b], "given twice"),
        (
            &["--data", a, "--data", "tests/data/multi/pair_b.csv"],
            "name the feed",
        ),
        (
            &["--data", a, "--data", b, "--timezone", "Mars/Olympus"],
            "unknown time zone",
        ),
        (&["--data", a, "--data", "b=missing.csv"], "missing.csv"),
    ];
    for (args, message) in cases {
        let mut all = vec!["run", program.as_str()];
        all.extend_from_slice(args);
        let o = btl(&all);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = text(&o.stderr);
        assert!(err.contains(message), "{args:?}: {err}");
    }
    // A feed without bars: nothing can run, and the run says why.
    let empty = write("empty.csv", "date,open,high,low,close,volume\n");
    let empty_arg = format!("b={empty}");
    let o = btl(&["run", &program, "--data", a, "--data", &empty_arg]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        text(&o.stderr).contains("no bars; a step needs every feed"),
        "{}",
        text(&o.stderr)
    );
    // A feed that starts earlier: its first bars are skipped, and said.
    let early = write(
        "early.csv",
        "date,open,high,low,close,volume\n2014-12-31,1,1,1,1,1\n",
    );
    let body = std::fs::read_to_string(root().join("tests/data/multi/pair_b.csv")).unwrap();
    let mut lines = body.lines();
    let header = lines.next().unwrap();
    let early_body = std::fs::read_to_string(&early).unwrap();
    let first = early_body.lines().nth(1).unwrap();
    let joined = format!(
        "{header}\n{first}\n{}\n",
        lines.collect::<Vec<_>>().join("\n")
    );
    let b_early = write("b_early.csv", &joined);
    let b_arg = format!("b={b_early}");
    let o = btl(&["run", &program, "--data", a, "--data", &b_arg]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("1 bar(s) before every feed had started were skipped"));
}

#[test]
fn pairs_on_two_feeds_trade_as_backtrader_also_with_days_missing() {
    for (b_file, reference) in [
        ("pair_b.csv", "pairs_backtrader.json"),
        ("pair_b_gaps.csv", "pairs_gaps_backtrader.json"),
    ] {
        let reference: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(root().join("tests/reference").join(reference)).unwrap(),
        )
        .unwrap();
        // backtrader numbers each feed's bars apart: trades are matched by time and symbol.
        let key = |t: &serde_json::Value, symbol: &str| {
            (
                t["entry_time"].as_str().unwrap().to_string(),
                symbol.to_string(),
                t["exit_time"].as_str().unwrap().to_string(),
            )
        };
        let mut want: Vec<_> = reference["trades"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let symbol = if t["data"] == "A" { "pair_a" } else { "b" };
                (key(t, symbol), t.clone())
            })
            .collect();
        want.sort_by(|a, b| a.0.cmp(&b.0));
        for engine in ["jit", "interp"] {
            let b_arg = format!("b=tests/data/multi/{b_file}");
            let (v, got) = trades(&[
                "run",
                "examples/pairs.btl",
                "--data",
                "tests/data/multi/pair_a.csv",
                "--data",
                &b_arg,
                "--commission",
                "0.001",
                "--engine",
                engine,
                "--json",
            ]);
            let mut got: Vec<_> = got
                .iter()
                .map(|t| (key(t, t["symbol"].as_str().unwrap()), t.clone()))
                .collect();
            got.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(got.len(), want.len(), "{b_file} {engine}: trades");
            for ((gk, g), (wk, w)) in got.iter().zip(&want) {
                assert_eq!(gk, wk, "{b_file} {engine}");
                assert_eq!(
                    g["qty"].as_f64(),
                    w["size"].as_f64(),
                    "{b_file} {engine}: {g}"
                );
                same_prices_and_pnl(g, w, &format!("{b_file} {engine}"));
            }
            same_final_value(&v, &reference, &format!("{b_file} {engine}"));
            let symbols = v["symbols"].as_array().unwrap();
            assert_eq!(symbols.len(), 2);
            assert_eq!(symbols[1]["symbol"], "b");
        }
    }
}

#[test]
fn sweeps_and_each_run_timeframes_as_a_single_run_does() {
    let args = ["--timezone", "America/New_York", "--commission", "0.001"];
    let (single, _) = daily_filter(&[]);
    let mut sweep = vec![
        "sweep",
        "examples/daily_filter.btl",
        "--data",
        "tests/data/multi/minute.csv",
        "--param",
        "days=4..6",
        "--json",
    ];
    sweep.extend(args);
    let o = btl(&sweep);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let rows: Vec<serde_json::Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let five = rows
        .iter()
        .find(|r| r["params"]["days"] == 5)
        .expect("days=5");
    assert_eq!(five["final_value"], single["final_value"]);
    assert_eq!(
        five["trades"].as_f64(),
        single["closed_trade_count"].as_f64()
    );
    // --each over a folder with the minute file: the same row.
    let dir = dir().join("each");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        root().join("tests/data/multi/minute.csv"),
        dir.join("M.csv"),
    )
    .unwrap();
    let mut each = vec![
        "run",
        "examples/daily_filter.btl",
        "--data",
        dir.to_str().unwrap(),
        "--each",
        "--json",
    ];
    each.extend(args);
    let o = btl(&each);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["symbols"][0]["final_value"], single["final_value"]);
    // Other data feeds need their files, in a sweep as in a run.
    let o = btl(&[
        "sweep",
        "examples/pairs.btl",
        "--data",
        "tests/data/multi/pair_a.csv",
        "--param",
        "n=10..20",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("--data b=FILE"),
        "{}",
        text(&o.stderr)
    );
    // A sweep of the pairs strategy: its n=20 row is the run's.
    let pair = [
        "--data",
        "tests/data/multi/pair_a.csv",
        "--data",
        "b=tests/data/multi/pair_b_gaps.csv",
        "--commission",
        "0.001",
    ];
    let mut sweep = vec![
        "sweep",
        "examples/pairs.btl",
        "--param",
        "n=15..25:5",
        "--json",
    ];
    sweep.extend(pair);
    let o = btl(&sweep);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let rows: Vec<serde_json::Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    let mut run = vec!["run", "examples/pairs.btl", "--json"];
    run.extend(pair);
    let (single, _) = trades(&run);
    let twenty = rows.iter().find(|r| r["params"]["n"] == 20).expect("n=20");
    assert_eq!(twenty["final_value"], single["final_value"]);
}

#[test]
fn a_folder_gives_each_feed_its_file_by_name() {
    let folder = dir().join("pair_folder");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(
        root().join("tests/data/multi/pair_a.csv"),
        folder.join("pair_a.csv"),
    )
    .unwrap();
    std::fs::copy(
        root().join("tests/data/multi/pair_b.csv"),
        folder.join("b.csv"),
    )
    .unwrap();
    let f = folder.to_str().unwrap();
    let (v, _) = trades(&[
        "run",
        "examples/pairs.btl",
        "--data",
        f,
        "--commission",
        "0.001",
        "--json",
    ]);
    let (w, _) = trades(&[
        "run",
        "examples/pairs.btl",
        "--data",
        "tests/data/multi/pair_a.csv",
        "--data",
        "b=tests/data/multi/pair_b.csv",
        "--commission",
        "0.001",
        "--json",
    ]);
    assert_eq!(v["final_value"], w["final_value"]);
    assert_eq!(v["symbols"][0]["symbol"], "pair_a");
    // Two candidates for the primary feed: said, exit 2.
    std::fs::copy(
        root().join("tests/data/multi/pair_a.csv"),
        folder.join("other.csv"),
    )
    .unwrap();
    let o = btl(&["run", "examples/pairs.btl", "--data", f]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("could be the primary feed"),
        "{}",
        text(&o.stderr)
    );
}

/// `btl run examples/pairs.btl` on the pair of the references, with `extra` flags.
fn run_pairs(extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "run",
        "examples/pairs.btl",
        "--data",
        "tests/data/multi/pair_a.csv",
        "--data",
        "b=tests/data/multi/pair_b.csv",
    ];
    args.extend_from_slice(extra);
    btl(&args)
}

#[test]
fn the_equity_file_has_every_symbols_position() {
    let out = dir().join("pairs_equity.csv");
    let o = run_pairs(&["--equity", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let body = std::fs::read_to_string(&out).unwrap();
    let mut lines = body.lines();
    assert_eq!(lines.next(), Some("time,cash,value,position,position_b"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 600);
    // A pair is always both legs or none, at opposite signs, once the orders have filled.
    let both = rows
        .iter()
        .filter(|r| r[3].parse::<f64>().unwrap() != 0.0 && r[4].parse::<f64>().unwrap() != 0.0)
        .count();
    assert!(both > 100, "{both}");
    assert!(rows.iter().all(|r| {
        let (a, b): (f64, f64) = (r[3].parse().unwrap(), r[4].parse().unwrap());
        a * b <= 0.0
    }));
}

#[test]
fn the_report_of_several_symbols_lists_each_ones_trades() {
    let out = dir().join("pairs.html");
    let o = run_pairs(&["--commission", "0.001", "--plot", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let page = std::fs::read_to_string(&out).unwrap();
    assert!(
        page.contains("<td>pair_a</td><td>28</td>"),
        "the primary's row"
    );
    assert!(
        page.contains("<td>b</td><td>28</td>"),
        "the other symbol's row"
    );
}

#[test]
fn days_can_start_at_the_session_start() {
    let run = |extra: &[&str]| daily_filter(extra).0["final_value"].clone();
    let midnight = run(&[]);
    // The regular session opens at 09:30: days cut there hold the same bars as at midnight.
    assert_eq!(run(&["--session-start", "09:30"]), midnight);
    // Cut at noon, a day holds two half sessions: another daily average, other trades.
    assert_ne!(run(&["--session-start", "12:00"]), midnight);
    let o = btl(&[
        "run",
        "examples/daily_filter.btl",
        "--data",
        "tests/data/multi/minute.csv",
        "--session-start",
        "9h",
    ]);
    assert_eq!(o.status.code(), Some(2));
}
