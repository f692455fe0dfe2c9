//! What the report keeps besides the bar and fill records, all bounded: the first
//! [`MAX_TRADE_ROWS`] closed trades, the equity at the end of every calendar month (UTC), and the
//! first and last close (the buy-and-hold benchmark), and the program's `hline` levels. Written
//! into the page's data as `trade_list`, `trade_list_total`, `periods`, `buy_hold`,
//! `initial_cash` and `hlines`.

use std::io::Write;

use crate::runtime::broker::ClosedTrade;
use crate::runtime::feed::format_time_ms;

/// A column of the trade list: its name and its value for a trade.
type Column<'a> = (&'a str, &'a dyn Fn(&ClosedTrade) -> serde_json::Value);

/// `v` as JSON that cannot close the page's script element.
fn safe(v: &serde_json::Value) -> std::io::Result<String> {
    Ok(serde_json::to_string(v)
        .map_err(std::io::Error::other)?
        .replace('<', "\\u003c"))
}

/// The most closed trades listed in the page (the first ones).
pub const MAX_TRADE_ROWS: usize = 5000;

const MS_PER_DAY: i64 = 86_400_000;

#[derive(Debug, Clone, Default)]
pub(super) struct Extras {
    trades: Vec<ClosedTrade>,
    /// (year × 12 + month − 1, equity at the month's last bar so far).
    months: Vec<(i64, f64)>,
    /// The day of the last bar and its month key, to find month changes once a day.
    day: Option<(i64, i64)>,
    first_close: Option<f64>,
    last_close: f64,
    /// `hline` levels and the plot whose pane each goes on.
    pub hlines: Vec<(f64, Option<String>)>,
}

impl Extras {
    pub fn on_trade(&mut self, t: &ClosedTrade) {
        if self.trades.len() < MAX_TRADE_ROWS {
            self.trades.push(*t);
        }
    }

    pub fn on_bar(&mut self, time_ms: i64, close: f64, value: f64) {
        if self.first_close.is_none() && close.is_finite() {
            self.first_close = Some(close);
        }
        self.last_close = close;
        let day = time_ms.div_euclid(MS_PER_DAY);
        let month = match self.day {
            Some((d, m)) if d == day => m,
            _ => {
                let (y, m, _) = crate::runtime::feed::civil_from_days(day);
                let key = y * 12 + i64::from(m) - 1;
                self.day = Some((day, key));
                key
            }
        };
        match self.months.last_mut() {
            Some((m, v)) if *m == month => *v = value,
            _ => self.months.push((month, value)),
        }
    }

    /// The return of buying at the first close and holding to the last.
    pub fn buy_hold_return(&self) -> Option<f64> {
        self.first_close
            .map(|f| self.last_close / f - 1.0)
            .filter(|r| r.is_finite())
    }

    /// The page's data fields (each preceded by a comma). `slot` maps a bar to its time slot.
    pub fn write_json(
        &self,
        out: &mut dyn Write,
        initial_cash: f64,
        trades_total: u64,
        names: &[String],
        slot: impl Fn(u64) -> u64,
    ) -> std::io::Result<()> {
        let num = |x: f64| {
            if x.is_finite() {
                serde_json::json!(x)
            } else {
                serde_json::Value::Null
            }
        };
        let mut fields = serde_json::Map::new();
        fields.insert("initial_cash".into(), num(initial_cash));
        if let Some(first) = self.first_close {
            fields.insert(
                "buy_hold".into(),
                serde_json::json!({
                    "first_close": num(first),
                    "last_close": num(self.last_close),
                    "return": num(self.last_close / first - 1.0),
                }),
            );
        }
        fields.insert(
            "periods".into(),
            serde_json::json!({
                "month": self.months.iter().map(|(m, _)| format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1)).collect::<Vec<_>>(),
                "end_value": self.months.iter().map(|&(_, v)| num(v)).collect::<Vec<_>>(),
                "start_value": num(initial_cash),
            }),
        );
        fields.insert("trade_list_total".into(), trades_total.into());
        fields.insert(
            "hlines".into(),
            self.hlines
                .iter()
                .map(|(v, pane)| serde_json::json!({"value": num(*v), "series": pane}))
                .collect::<Vec<_>>()
                .into(),
        );
        for (k, v) in fields {
            write!(out, ",\"{k}\":{}", safe(&v)?)?;
        }
        // The trade list, column by column, one value at a time.
        let order = |n: Option<u32>| n.and_then(|n| names.get(n as usize)).cloned();
        let columns: [Column; 14] = [
            ("entry_time", &|t| format_time_ms(t.entry_time).into()),
            ("exit_time", &|t| format_time_ms(t.exit_time).into()),
            ("side", &|t| {
                if t.qty < 0.0 { "short" } else { "long" }.into()
            }),
            ("qty", &|t| num(t.qty.abs())),
            ("entry_price", &|t| num(t.entry_price)),
            ("exit_price", &|t| num(t.exit_price)),
            ("pnl", &|t| num(t.pnl_net)),
            ("return_pct", &|t| {
                num(crate::runtime::output::return_pct(t))
            }),
            ("bars", &|t| t.exit_bar.saturating_sub(t.entry_bar).into()),
            ("entry_slot", &|t| slot(t.entry_bar).into()),
            ("exit_slot", &|t| slot(t.exit_bar).into()),
            ("exit_reason", &|t| t.exit_kind.exit_reason().into()),
            ("entry_order", &|t| order(t.entry_order).into()),
            ("exit_order", &|t| order(t.exit_order).into()),
        ];
        out.write_all(b",\"trade_list\":{")?;
        for (i, (name, value)) in columns.iter().enumerate() {
            write!(out, "{}\"{name}\":[", if i > 0 { "," } else { "" })?;
            for (j, t) in self.trades.iter().enumerate() {
                write!(out, "{}{}", if j > 0 { "," } else { "" }, safe(&value(t))?)?;
            }
            out.write_all(b"]")?;
        }
        out.write_all(b"}")
    }
}
