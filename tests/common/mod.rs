//! Helpers shared by the integration tests (each test crate uses a part of them).
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `btl` binary from the repository root (without `NO_COLOR`, so colour tests are
/// deterministic).
pub fn btl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_btl"))
        .args(args)
        .current_dir(root())
        .env_remove("NO_COLOR")
        .output()
        .expect("the btl binary runs")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A call of every stdlib indicator, with typical settings.
pub const INDICATOR_CALLS: &[&str] = &[
    "sma(close, 10)",
    "ema(close, 10)",
    "wma(close, 10)",
    "rma(close, 14)",
    "highest(high, 20)",
    "lowest(low, 20)",
    "stdev(close, 20)",
    "rsi(close, 14)",
    "macd_line(close, 12, 26, 9)",
    "macd_signal(close, 12, 26, 9)",
    "macd_hist(close, 12, 26, 9)",
    "bb_upper(close, 20, 2.0)",
    "bb_middle(close, 20)",
    "bb_lower(close, 20, 2.0)",
    "true_range()",
    "atr(14)",
    "stoch_k(14, 3, 3)",
    "stoch_d(14, 3, 3)",
    "change(close)",
    "roc(close, 10)",
    "mom(close, 10)",
    "qty_for_cash(10000)",
    "qty_for_equity(0.5)",
    "qty_for_cash(10000, open)",
    "qty_for_risk(equity * 0.01, 2 * atr(14))",
];

/// Writes `n` minute bars of a seeded random walk as CSV (epoch-second timestamps).
pub fn write_bars(path: &Path, n: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "timestamp,open,high,low,close,volume").unwrap();
    let mut price = 100.0f64;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in 0..n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let step = ((state % 2001) as f64 - 1000.0) / 1000.0 * 0.01;
        let open = price;
        price = (price * (1.0 + step)).max(1.0);
        let (hi, lo) = (open.max(price) * 1.002, open.min(price) * 0.998);
        writeln!(
            f,
            "{},{open:.4},{hi:.4},{lo:.4},{price:.4},{}",
            946_684_800 + i as i64 * 60,
            1000 + i % 500
        )
        .unwrap();
    }
}

/// Peak resident memory of `btl run ARGS --json`, as the run reports it.
pub fn peak_rss(args: &[&str]) -> u64 {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = btl(&all);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["peak_rss_bytes"]
        .as_u64()
        .expect("peak memory is reported on Linux")
}
