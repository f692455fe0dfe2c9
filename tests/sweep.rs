//! `btl sweep` end to end: grid order, rows equal to separate `btl run`s bit for bit on both
//! engines, sampling, sorting, walk-forward, shards merged into the one-machine table, failing
//! combinations and bad flags.

mod common;
use common::{btl, text};

const STRATEGY: &str = "examples/sma_cross.btl";
const DATA: &str = "examples/data/prices.csv";

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("btl-sweep-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs `btl sweep STRATEGY --data DATA ARGS --out OUT` and returns the table's lines.
fn sweep_table(args: &[&str], out: &str) -> Vec<String> {
    let path = temp(out);
    let path_s = path.to_str().unwrap();
    let mut all = vec!["sweep", STRATEGY, "--data", DATA, "--commission", "0.001"];
    all.extend_from_slice(args);
    all.extend(["--out", path_s]);
    let o = btl(&all);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// Runs `btl sweep STRATEGY --data DATA ARGS`.
fn sweep(args: &[&str]) -> std::process::Output {
    let mut all = vec!["sweep", STRATEGY, "--data", DATA];
    all.extend_from_slice(args);
    btl(&all)
}

fn cells(line: &str) -> Vec<&str> {
    line.split(',').collect()
}

#[test]
fn rows_follow_grid_order_and_equal_separate_runs_bit_for_bit() {
    let grid = ["--param", "fast=5..7", "--param", "slow=20..40:20"];
    let lines = sweep_table(&grid, "grid.csv");
    let header = cells(&lines[0]);
    assert_eq!(&header[..4], ["index", "fast", "slow", "final_value"]);
    assert_eq!(lines.len(), 1 + 6);
    let order: Vec<(&str, &str)> = lines[1..]
        .iter()
        .map(|l| {
            let c = cells(l);
            (c[1], c[2])
        })
        .collect();
    assert_eq!(
        order,
        [
            ("5", "20"),
            ("5", "40"),
            ("6", "20"),
            ("6", "40"),
            ("7", "20"),
            ("7", "40")
        ]
    );
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    for engine in ["jit", "interp"] {
        for line in [&lines[1], &lines[4]] {
            let c = cells(line);
            let (fast, slow) = (format!("fast={}", c[1]), format!("slow={}", c[2]));
            let o = btl(&[
                "run",
                STRATEGY,
                "--data",
                DATA,
                "--commission",
                "0.001",
                "--param",
                &fast,
                "--param",
                &slow,
                "--engine",
                engine,
                "--json",
            ]);
            assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            let s = &v["statistics"];
            for (name, value) in [
                ("final_value", &v["final_value"]),
                ("total_return", &v["total_return"]),
                ("max_drawdown", &v["max_drawdown"]),
                ("trades", &v["closed_trade_count"]),
                ("win_rate", &v["win_rate"]),
                ("sharpe", &s["sharpe_ratio"]),
                ("sortino", &s["sortino_ratio"]),
                ("calmar", &s["calmar_ratio"]),
                ("annual_return", &s["annualized_return"]),
                ("profit_factor", &s["profit_factor"]),
                ("sqn", &s["sqn"]),
                ("exposure", &s["exposure"]),
            ] {
                let cell: f64 = c[col(name)].parse().unwrap();
                assert_eq!(
                    cell.to_bits(),
                    value.as_f64().unwrap().to_bits(),
                    "{engine} {fast} {slow}: {name} {cell} vs {value}"
                );
            }
        }
    }
    let interp = sweep_table(&[&grid[..], &["--engine", "interp"]].concat(), "interp.csv");
    assert_eq!(interp, lines, "both engines give the same table");
}

#[test]
fn jobs_shards_and_merge_give_the_one_machine_table() {
    let grid = ["--param", "fast=5..9", "--param", "slow=20..50:10"];
    let one = sweep_table(&[&grid[..], &["--jobs", "1"]].concat(), "one.csv");
    let two = sweep_table(&[&grid[..], &["--jobs", "2"]].concat(), "two.csv");
    assert_eq!(
        one, two,
        "--jobs 1 and --jobs 2 give the same rows in the same order"
    );
    let mut parts = Vec::new();
    for k in [3, 1, 2] {
        let name = format!("part-{k}.csv");
        let shard = format!("{k}/3");
        let part = sweep_table(&[&grid[..], &["--shard", &shard]].concat(), &name);
        assert!(part.len() > 1 && part.len() < one.len());
        parts.push(temp(&name).to_str().unwrap().to_string());
    }
    let all = temp("all.csv");
    let mut args = vec!["sweep", "merge"];
    args.extend(parts.iter().map(String::as_str));
    args.extend(["--out", all.to_str().unwrap()]);
    let o = btl(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let merged: Vec<String> = std::fs::read_to_string(&all)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(merged, one);

    // The same part twice is refused, and nothing is written.
    let again = temp("again.csv");
    let o = btl(&[
        "sweep",
        "merge",
        &parts[0],
        &parts[0],
        "--out",
        again.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("is in two parts"),
        "{}",
        text(&o.stderr)
    );
    assert!(!again.exists());
}

#[test]
fn sample_picks_distinct_combinations_in_grid_order_repeatably() {
    let grid = ["--param", "fast=2..20", "--param", "slow=20..100:5"];
    let a = sweep_table(
        &[&grid[..], &["--sample", "7", "--seed", "3"]].concat(),
        "s1.csv",
    );
    let b = sweep_table(
        &[&grid[..], &["--sample", "7", "--seed", "3"]].concat(),
        "s2.csv",
    );
    assert_eq!(a, b);
    assert_eq!(a.len(), 8);
    let idx: Vec<u64> = a[1..]
        .iter()
        .map(|l| cells(l)[0].parse().unwrap())
        .collect();
    assert!(idx.windows(2).all(|w| w[0] < w[1]), "{idx:?}");
    let c = sweep_table(
        &[&grid[..], &["--sample", "7", "--seed", "4"]].concat(),
        "s3.csv",
    );
    assert_ne!(a, c, "another seed draws other combinations");
}

#[test]
fn the_printed_best_row_is_the_best_by_the_sort_metric() {
    let path = temp("sorted.csv");
    let o = sweep(&[
        "--param",
        "fast=3..8",
        "--param",
        "slow=20..30:5",
        "--sort",
        "final_value",
        "--top",
        "2",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let table = std::fs::read_to_string(&path).unwrap();
    let best = table
        .lines()
        .skip(1)
        .max_by(|a, b| {
            let v = |l: &str| cells(l)[3].parse::<f64>().unwrap();
            v(a).total_cmp(&v(b))
        })
        .unwrap();
    let stdout = text(&o.stdout);
    let first = stdout
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("rank"))
        .nth(1)
        .unwrap();
    let printed: Vec<&str> = first.split_whitespace().collect();
    assert_eq!(printed[1], cells(best)[0], "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("   ")).count(), 2);
}

#[test]
fn a_failing_combination_keeps_its_row_and_the_sweep_goes_on() {
    let lines = sweep_table(&["--param", "fast=-1..2", "--param", "slow=20"], "fail.csv");
    assert_eq!(lines.len(), 5);
    let failed = cells(&lines[1]);
    assert_eq!(failed[1], "-1");
    assert!(failed[failed.len() - 2].starts_with('E'), "{}", lines[1]);
    assert!(!failed[failed.len() - 1].is_empty());
    let ok = cells(&lines[4]);
    assert_eq!(ok[ok.len() - 2], "", "fast=2 runs: {}", lines[4]);
}

#[test]
fn walk_forward_reports_each_fold_in_and_out_of_sample() {
    let path = temp("wf.csv");
    let o = sweep(&[
        "--param",
        "fast=5..10",
        "--param",
        "slow=20..40:10",
        "--walk-forward",
        "3",
        "--train",
        "0.7",
        "--sort",
        "total_return",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let table = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with(
        "fold,train_start,train_end,test_start,test_end,index,fast,slow,is_final_value"
    ));
    for l in &lines[1..] {
        let c = cells(l);
        assert!(!c[5].is_empty(), "each fold has a best combination: {l}");
    }
    let stdout = text(&o.stdout);
    assert!(stdout.contains("mean total_return: in-sample"), "{stdout}");
}

#[test]
fn bad_flags_are_clear_errors_with_exit_2() {
    for (args, says) in [
        (vec!["--param", "fast=10..5"], "the range is empty"),
        (vec!["--param", "fast=a..b"], "not a number"),
        (vec!["--param", "fast=1..5:0"], "must be positive"),
        (vec!["--param", "fsat=1..3"], "no such param"),
        (
            vec!["--param", "fast=1..3", "--sort", "sharp"],
            "not a metric",
        ),
        (vec!["--param", "fast=1..3", "--shard", "4/3"], "K/N"),
        (
            vec!["--param", "fast=1..3", "--out", DATA],
            "refusing to overwrite",
        ),
    ] {
        let o = sweep(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(says),
            "{args:?}: {}",
            text(&o.stderr)
        );
    }
}
