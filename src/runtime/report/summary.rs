//! The page's header: the key figures of a run (with the buy-and-hold return beside its own),
//! and every figure of the summary and its statistics under readable names with their units.

use super::assemble::html_escape;

/// Readable names of the summary's and the statistics' keys (others: underscores as spaces).
const LABELS: &[(&str, &str)] = &[
    ("strategy", "Strategy"),
    ("bars", "Bars"),
    ("warmup_bar", "Warm-up bar (first bar actions run)"),
    ("closed_trade_count", "Closed trades"),
    ("winning_trade_count", "Winning trades"),
    ("win_rate", "Win rate"),
    ("initial_cash", "Starting cash"),
    ("final_cash", "Final cash"),
    ("final_value", "Final value (cash + position)"),
    ("total_return", "Total return"),
    ("max_drawdown", "Max drawdown"),
    ("rejected_orders", "Orders rejected (cash)"),
    ("invalid_orders", "Orders ignored (invalid)"),
    ("skipped_rows", "Data rows skipped"),
    ("buffer_bytes", "Series buffers (bytes)"),
    ("fill_convention", "Fill convention"),
    ("expired_orders", "Orders expired"),
    ("cancelled_orders", "Orders cancelled"),
    ("open_position", "Open position at the end"),
    ("bar_interval", "Bar interval"),
    ("periods_per_year", "Bars per year (annualization)"),
    ("years", "Years"),
    ("annualized_return", "Annual return (CAGR)"),
    ("sharpe_ratio", "Sharpe ratio (annualized)"),
    ("sortino_ratio", "Sortino ratio (annualized)"),
    ("calmar_ratio", "Calmar ratio"),
    ("risk_free_rate", "Risk-free rate (annual)"),
    ("max_drawdown_money", "Max drawdown (money)"),
    ("max_drawdown_bars", "Max drawdown duration (bars)"),
    ("longest_drawdown_bars", "Longest drawdown (bars)"),
    ("exposure", "Exposure (bars in the market)"),
    ("trades", "Closed trades"),
    ("winning_trades", "Winning trades"),
    ("losing_trades", "Losing trades"),
    ("even_trades", "Break-even trades"),
    ("net_profit", "Net profit"),
    ("gross_profit", "Gross profit"),
    ("gross_loss", "Gross loss"),
    ("profit_factor", "Profit factor"),
    ("average_trade", "Average trade (expectancy)"),
    ("average_win", "Average win"),
    ("average_loss", "Average loss"),
    ("largest_win", "Largest win"),
    ("largest_loss", "Largest loss"),
    ("longest_win_streak", "Longest winning streak (trades)"),
    ("longest_loss_streak", "Longest losing streak (trades)"),
    ("sqn", "SQN (system quality number)"),
    ("average_trade_bars", "Average trade length (bars)"),
    ("longest_trade_bars", "Longest trade (bars)"),
];

/// The readable name of a summary key.
fn label(key: &str) -> String {
    LABELS
        .iter()
        .find(|(k, _)| *k == key)
        .map_or_else(|| key.replace('_', " "), |(_, l)| l.to_string())
}

/// Summary keys that are fractions, shown as percentages.
const PERCENT_KEYS: &[&str] = &[
    "total_return",
    "max_drawdown",
    "win_rate",
    "annualized_return",
    "exposure",
    "risk_free_rate",
];

fn format_value(key: &str, v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "n/a".into(),
        serde_json::Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if PERCENT_KEYS.contains(&key) {
                format!("{:.2}%", x * 100.0)
            } else if x.abs() >= 1000.0 {
                format!("{x:.2}")
            } else {
                format!("{x:.4}")
            }
        }
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The header's key figures, then every scalar of the summary and its statistics.
pub(super) fn summary_html(summary: &serde_json::Value, buy_hold: Option<f64>) -> String {
    let stats = summary.get("statistics");
    let get = |key: &str| summary.get(key).or_else(|| stats.and_then(|s| s.get(key)));
    let headline = [
        ("final value", "final_value"),
        ("total return", "total_return"),
        ("annual return", "annualized_return"),
        ("max drawdown", "max_drawdown"),
        ("closed trades", "closed_trade_count"),
        ("win rate", "win_rate"),
        ("profit factor", "profit_factor"),
        ("sharpe", "sharpe_ratio"),
        ("sortino", "sortino_ratio"),
        ("SQN", "sqn"),
        ("exposure", "exposure"),
    ];
    let mut o = String::from("<dl class=\"btl-figures\">");
    for (label, key) in headline {
        if let Some(v) = get(key) {
            o.push_str(&format!(
                "<div><dt>{}</dt><dd>{}</dd></div>",
                html_escape(label),
                html_escape(&format_value(key, v))
            ));
        }
        if key == "total_return"
            && let Some(r) = buy_hold
        {
            o.push_str(&format!(
                "<div><dt>buy &amp; hold</dt><dd id=\"btl-buy-hold\">{}</dd></div>",
                html_escape(&format!("{:.2}%", r * 100.0))
            ));
        }
    }
    o.push_str("</dl>");
    if let Some(fills) = summary.get("fill_convention").and_then(|v| v.as_str()) {
        o.push_str(&format!(
            "<p class=\"btl-notes\">Fills: {}.</p>",
            html_escape(fills)
        ));
    }
    let mut rows = String::new();
    let mut seen = std::collections::HashSet::new();
    let mut add = |obj: &serde_json::Map<String, serde_json::Value>| {
        for (k, v) in obj {
            if v.is_array() || (v.is_object() && k == "statistics") || !seen.insert(k.clone()) {
                continue;
            }
            let text = match v {
                serde_json::Value::Object(o) => o
                    .iter()
                    .map(|(k, v)| format!("{}: {}", k.replace('_', " "), format_value(k, v)))
                    .collect::<Vec<_>>()
                    .join(", "),
                v => format_value(k, v),
            };
            rows.push_str(&format!(
                "<tr><th>{}</th><td>{}</td></tr>",
                html_escape(&label(k)),
                html_escape(&text)
            ));
        }
    };
    if let Some(obj) = summary.as_object() {
        add(obj);
    }
    if let Some(obj) = stats.and_then(|s| s.as_object()) {
        add(obj);
    }
    // Several symbols: each one's trades and net P&L (the chart is the primary feed's).
    if let Some(symbols) = summary.get("symbols").and_then(|v| v.as_array()) {
        o.push_str("<table class=\"btl-all\"><tr><th>symbol</th><th>closed trades</th><th>won</th><th>net P&amp;L</th><th>open position</th></tr>");
        for s in symbols {
            let text = |k: &str| match &s[k] {
                serde_json::Value::String(t) => t.clone(),
                serde_json::Value::Null => String::new(),
                serde_json::Value::Object(p) => format!(
                    "{} at {}",
                    p.get("qty").map_or(String::new(), |q| q.to_string()),
                    p.get("entry_price")
                        .and_then(|x| x.as_f64())
                        .map_or(String::new(), |x| format!("{x:.4}"))
                ),
                v => match (v.as_u64(), v.as_f64()) {
                    (Some(n), _) => n.to_string(),
                    (None, Some(x)) => format!("{x:.2}"),
                    _ => v.to_string(),
                },
            };
            o.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                html_escape(&text("symbol")),
                html_escape(&text("closed_trade_count")),
                html_escape(&text("winning_trade_count")),
                html_escape(&text("pnl_net")),
                html_escape(&text("open_position")),
            ));
        }
        o.push_str("</table><p class=\"btl-notes\">The chart and its trades are the primary feed's; the equity is the portfolio's.</p>");
    }
    if !rows.is_empty() {
        o.push_str("<details><summary>All figures</summary><table class=\"btl-all\">");
        o.push_str(&rows);
        o.push_str("</table></details>");
    }
    o
}

/// The summary without its arrays (closed trades are not part of the page).
pub(super) fn summary_scalars(summary: &serde_json::Value) -> serde_json::Value {
    match summary.as_object() {
        Some(obj) => serde_json::Value::Object(
            obj.iter()
                .filter(|(_, v)| !v.is_array())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        None => serde_json::Value::Null,
    }
}
