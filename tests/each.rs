//! `btl run FILE --data DIR/ --each`: every .csv file of the folder its own backtest, in file
//! order whatever the jobs, each row equal to a separate `btl run` bit for bit; a bad file gets
//! its row with the error (exit 2) and the others still run; a folder without `--each`, or
//! `--each` with an output file, is a clear error.

mod common;
use common::{btl, root, text};

fn folder() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("btl-each-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(root().join("examples/data/prices.csv"), dir.join("AAA.csv")).unwrap();
    let long = std::fs::read_to_string(root().join("tests/data/ohlcv_12000.csv")).unwrap();
    let part: Vec<&str> = long.lines().take(3000).collect();
    std::fs::write(dir.join("BBB.csv"), part.join("\n") + "\n").unwrap();
    std::fs::write(dir.join("readme.txt"), "not data").unwrap();
    dir
}

fn json(args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let o = btl(args);
    let v = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (o.status.code(), v, text(&o.stderr))
}

#[test]
fn each_file_is_its_own_backtest_equal_to_a_separate_run() {
    let dir = folder();
    let d = dir.to_str().unwrap();
    for jobs in ["1", "2"] {
        let (code, v, err) = json(&[
            "run",
            "examples/sma_cross.btl",
            "--data",
            d,
            "--each",
            "--jobs",
            jobs,
            "--json",
            "--commission",
            "0.001",
        ]);
        assert_eq!(code, Some(0), "{err}");
        let rows = v["symbols"].as_array().unwrap();
        let names: Vec<&str> = rows.iter().map(|r| r["symbol"].as_str().unwrap()).collect();
        assert_eq!(names, ["AAA", "BBB"], "the .csv files, by name");
        let mut sum = 0.0;
        for r in rows {
            let file = dir.join(format!("{}.csv", r["symbol"].as_str().unwrap()));
            let (code, one, err) = json(&[
                "run",
                "examples/sma_cross.btl",
                "--data",
                file.to_str().unwrap(),
                "--json",
                "--commission",
                "0.001",
            ]);
            assert_eq!(code, Some(0), "{err}");
            for key in ["final_value", "total_return", "closed_trade_count", "bars"] {
                assert_eq!(r[key], one[key], "{key} of {}", r["symbol"]);
            }
            assert_eq!(
                r["statistics"]["sharpe_ratio"],
                one["statistics"]["sharpe_ratio"]
            );
            sum += one["final_value"].as_f64().unwrap();
        }
        assert_eq!(v["totals"]["final_value"].as_f64().unwrap(), sum);
        assert_eq!(v["totals"]["initial_cash"], 200_000.0);
    }

    // A bad file: its row says why, the others run, and the exit status is 2.
    std::fs::copy(
        root().join("tests/data/bad/bad_number.csv"),
        dir.join("CCC.csv"),
    )
    .unwrap();
    let (code, v, err) = json(&[
        "run",
        "examples/sma_cross.btl",
        "--data",
        d,
        "--each",
        "--json",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("1 of 3 symbol(s) failed"), "{err}");
    let rows = v["symbols"].as_array().unwrap();
    assert!(
        rows[2]["error"]
            .as_str()
            .unwrap()
            .contains("malformed number")
    );
    assert!(rows[0]["error"].is_null() && rows[1]["error"].is_null());
    assert_eq!(v["totals"]["failed"], 1);

    for (args, says) in [
        (vec![], "add --each"),
        (
            vec!["--each", "--trades", "t.csv"],
            "--trades is for one data file",
        ),
    ] {
        let mut all = vec!["run", "examples/sma_cross.btl", "--data", d];
        all.extend(args);
        let o = btl(&all);
        assert_eq!(o.status.code(), Some(2));
        assert!(text(&o.stderr).contains(says), "{}", text(&o.stderr));
    }
    let o = btl(&[
        "run",
        "examples/sma_cross.btl",
        "--data",
        "examples/data/prices.csv",
        "--each",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("is not a folder"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes `n` daily bars of the differential tests' random walk seeded by `seed`.
fn write_walk(path: &std::path::Path, seed: u64, n: usize) {
    let mut out = String::from("timestamp,open,high,low,close,volume\n");
    for b in btl::diff::bars(seed, n) {
        out.push_str(&format!(
            "{},{},{},{},{},{}\n",
            b.time / 1000,
            b.open,
            b.high,
            b.low,
            b.close,
            b.volume
        ));
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn a_hundred_symbols_give_what_a_hundred_separate_runs_give() {
    let dir = std::env::temp_dir().join(format!("btl-each-100-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for k in 0..100u64 {
        write_walk(&dir.join(format!("S{k:03}.csv")), k + 1, 400);
    }
    let d = dir.to_str().unwrap();
    let args = ["--json", "--commission", "0.001", "--time-unit", "s"];
    let mut all = vec!["run", "examples/sma_cross.btl", "--data", d, "--each"];
    all.extend(args);
    let (code, v, err) = json(&all);
    assert_eq!(code, Some(0), "{err}");
    let rows = v["symbols"].as_array().unwrap();
    assert_eq!(rows.len(), 100);
    let mut traded = 0;
    for (k, r) in rows.iter().enumerate() {
        assert_eq!(r["symbol"], format!("S{k:03}"));
        let file = dir.join(format!("S{k:03}.csv"));
        let mut one = vec![
            "run",
            "examples/sma_cross.btl",
            "--data",
            file.to_str().unwrap(),
        ];
        one.extend(args);
        let (code, single, err) = json(&one);
        assert_eq!(code, Some(0), "{err}");
        for key in ["final_value", "total_return", "closed_trade_count", "bars"] {
            assert_eq!(r[key], single[key], "S{k:03}: {key}");
        }
        assert_eq!(
            r["statistics"]["sharpe_ratio"], single["statistics"]["sharpe_ratio"],
            "S{k:03}: sharpe"
        );
        traded += usize::from(single["closed_trade_count"].as_u64() > Some(0));
    }
    assert!(traded > 50, "most symbols trade ({traded})");
    let _ = std::fs::remove_dir_all(&dir);
}
