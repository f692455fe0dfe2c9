//! Parquet input (the `parquet` feature, on by default): the same bars as CSV give bit-identical
//! results on both engines, whatever the row groups, compression, column order and case, and
//! timestamp unit; a malformed file is an error naming the file, the row group, the row and the
//! column, with exit 2 (fixtures and their generator: tests/reference/make_parquet.py).
#![cfg(feature = "parquet")]

mod common;
use common::{btl, text};

fn run_json(data: &str, engine: &str) -> serde_json::Value {
    let o = btl(&[
        "run",
        "examples/sma_cross.btl",
        "--data",
        data,
        "--commission",
        "0.001",
        "--engine",
        engine,
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{data}: {}", text(&o.stderr));
    let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // What differs by the file, not by the bars.
    for key in ["peak_rss_bytes", "time_unit"] {
        v.as_object_mut().unwrap().remove(key);
    }
    v
}

#[test]
fn parquet_and_csv_of_the_same_bars_give_identical_results() {
    for engine in ["jit", "interp"] {
        let csv = run_json("tests/data/ohlcv_500.csv", engine);
        assert!(csv["closed_trade_count"].as_u64().unwrap() > 0);
        for parquet in [
            "tests/data/parquet/ohlcv_500.parquet",
            "tests/data/parquet/ohlcv_500_zstd_us.parquet",
        ] {
            assert_eq!(run_json(parquet, engine), csv, "{parquet} on {engine}");
        }
    }
}

#[test]
fn a_malformed_parquet_file_is_a_located_error() {
    let cases = [
        (
            "bad_high_low",
            "row group 1, row 5 (row 133 of the file): column `high`: high 57.6911 is below low 58.6911",
        ),
        (
            "bad_null_close",
            "row group 2, row 44 (row 300 of the file): column `close`: empty cell",
        ),
        (
            "bad_time_order",
            "row group 1, row 73 (row 201 of the file): column `date`: time does not increase",
        ),
        ("missing_close", "missing column `close`"),
        ("not_parquet", "not a readable Parquet file"),
        ("truncated", "not a readable Parquet file"),
    ];
    for (file, message) in cases {
        let path = format!("tests/data/parquet/{file}.parquet");
        let o = btl(&["run", "examples/sma_cross.btl", "--data", &path]);
        assert_eq!(o.status.code(), Some(2), "{file}");
        let err = text(&o.stderr);
        assert!(
            err.contains(&path) && err.contains(message),
            "{file}: {err}"
        );
        assert!(o.stdout.is_empty(), "{file}: no summary");
    }
}
