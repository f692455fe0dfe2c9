//! Examples against backtrader on the committed 12,000-bar fixture: the same closed trades (entry
//! bar, exit bar, size, pnl, and for named orders the order that closed each) and final value, to
//! 1e-6 relative.
//!
//! References (tests/reference/README.md):
//! - sma_cross_backtrader.json, made by backtrader_sma_cross.py (SMA 10/30 crossover, buy 100 when
//!   flat, close on the cross down, commission 0.001, cash 100000, market orders at the next open);
//! - macd_atr_stop_backtrader_nochecksubmit.json, made by backtrader_macd_atr_stop.py (MACD
//!   crossover entries, a protective stop at the fill price - 2 ATR(14) placed when the entry
//!   fills, cancelled on the exit signal; orders compared by their `.ref`). backtrader runs with
//!   `checksubmit=False`: with its default, a cancel on the bar an order was placed is silently
//!   ignored (the order is not pending yet), which btl documents as a difference
//!   (src/runtime/broker.rs).

use btl::runtime::broker::{BrokerConfig, ClosedTrade};
use btl::runtime::engine::{self, Interpreter, Sink};
use btl::runtime::feed::CsvFeed;

struct Trades(Vec<ClosedTrade>);

impl Sink for Trades {
    fn trade(&mut self, t: &ClosedTrade) {
        self.0.push(*t);
    }
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1.0)
}

#[test]
fn sma_cross_matches_backtrader() {
    matches_backtrader("examples/sma_cross.btl", "sma_cross_backtrader.json");
}

#[test]
fn macd_atr_stop_matches_backtrader_order_by_order() {
    matches_backtrader(
        "examples/macd_atr_stop.btl",
        "macd_atr_stop_backtrader_nochecksubmit.json",
    );
}

fn matches_backtrader(example: &str, fixture: &str) {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("tests/reference").join(fixture)).unwrap(),
    )
    .unwrap();
    let src = std::fs::read_to_string(root.join(example)).unwrap();
    let c = btl::compile(example, &src, &[]);
    let p = c.bar_program().expect("the example compiles");
    let mut feed = CsvFeed::open(&root.join("tests/data/ohlcv_12000.csv"), false).unwrap();
    let mut trades = Trades(Vec::new());
    let config = BrokerConfig {
        cash: 100_000.0,
        commission: 0.001,
        ..BrokerConfig::default()
    };
    let summary = engine::run(&p, &mut feed, &mut Interpreter, config, &mut trades).unwrap();

    assert_eq!(summary.bars, reference["bars"].as_u64().unwrap());
    assert_eq!(
        summary.rejected_orders,
        reference["rejected_orders"].as_u64().unwrap()
    );
    let want = reference["closed_trades"].as_array().unwrap();
    assert!(
        want.len() >= 100,
        "the reference trades often enough to mean something"
    );
    let mut failures = Vec::new();
    if trades.0.len() != want.len() {
        failures.push(format!(
            "{} closed trades, backtrader has {}",
            trades.0.len(),
            want.len()
        ));
    }
    for (i, (got, w)) in trades.0.iter().zip(want).enumerate() {
        let f = |k: &str| w[k].as_f64().unwrap();
        let same = got.entry_bar == w["entry_bar"].as_u64().unwrap()
            && got.exit_bar == w["exit_bar"].as_u64().unwrap()
            && got.qty == f("qty")
            && close(got.entry_price, f("entry_price"), 1e-9)
            && close(got.exit_price, f("exit_price"), 1e-9)
            && close(got.pnl, f("pnl"), 1e-6)
            && close(got.pnl_net, f("pnl_net"), 1e-6)
            && w.get("exit_order").is_none_or(|role| {
                got.exit_order.map(|n| p.order_names[n as usize].as_str()) == role.as_str()
            });
        if !same {
            failures.push(format!("trade {i}: btl {got:?}\n  backtrader {w}"));
        }
    }
    let final_value = reference["final_value"].as_f64().unwrap();
    if !close(summary.final_value, final_value, 1e-6) {
        failures.push(format!(
            "final value {} vs backtrader {final_value}",
            summary.final_value
        ));
    }
    if let Some(n) = reference.get("cancelled_orders") {
        assert_eq!(
            summary.cancelled_orders,
            n.as_u64().unwrap(),
            "cancelled orders"
        );
    }
    assert!(reference["open_position"].is_null() == summary.open_position.is_none());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
