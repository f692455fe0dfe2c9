//! The page: one pass over the bar records (candles per slot, min/max per pair of slots for every
//! line), one pass over the fill records (markers), then the HTML written straight to the output.

use std::fs::File;
use std::io::{BufReader, Read, Seek, Write};

use super::summary::{summary_html, summary_scalars};
use super::{
    BAR_FIELDS, CHART_LIBRARY_VERSION, FILL_BYTES, MAX_MARKERS, MAX_SLOTS, ReportInfo, exit_reason,
};
use crate::runtime::feed::format_time_ms;

const CHART_JS: &str =
    include_str!("../../../vendor/lightweight-charts/lightweight-charts.standalone.production.js");
const CHART_LICENSE: &str = include_str!("../../../vendor/lightweight-charts/LICENSE");
const CHART_NOTICE: &str = include_str!("../../../vendor/lightweight-charts/NOTICE");
const PAGE_CSS: &str = include_str!("page.css");
const PAGE_JS: &str = include_str!("page.js");

/// A series goes on the price pane when this share of its values is near the bar's range...
const OVERLAY_SHARE: f64 = 0.8;
/// ...where near is within this fraction of the close beyond the bar's high or low.
const OVERLAY_TOLERANCE: f64 = 0.2;

pub(super) struct Input<'a> {
    pub strategy: &'a str,
    pub plots: &'a [String],
    pub initial_cash: f64,
    pub bars: u64,
    pub fills: u64,
    pub trades: u64,
    pub summary: &'a serde_json::Value,
    pub extras: &'a super::extras::Extras,
    pub order_names: &'a [String],
}

/// Slots and buckets for `bars` bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Layout {
    /// Bars per slot.
    pub bucket: u64,
    /// Slots holding bars (candles).
    pub candles: u64,
    /// Pairs of slots over which lines keep their minimum and maximum.
    pub pairs: u64,
}

impl Layout {
    pub fn new(bars: u64) -> Layout {
        let bucket = bars.div_ceil(MAX_SLOTS).max(1);
        Layout {
            bucket,
            candles: bars.div_ceil(bucket),
            pairs: bars.div_ceil(2 * bucket),
        }
    }

    /// Slots that may hold a line point: the last pair may reach one slot past the candles.
    pub fn line_slots(&self) -> u64 {
        self.candles.max(2 * self.pairs)
    }
}

/// The minimum and maximum of one line over one pair of slots, with the bars they came from.
#[derive(Debug, Clone, Copy)]
struct MinMax {
    n: u64,
    min: f64,
    min_at: u64,
    max: f64,
    max_at: u64,
}

impl MinMax {
    const EMPTY: MinMax = MinMax {
        n: 0,
        min: f64::NAN,
        min_at: 0,
        max: f64::NAN,
        max_at: 0,
    };

    fn push(&mut self, v: f64, bar: u64) {
        if v.is_nan() {
            return;
        }
        if self.n == 0 {
            (self.min, self.min_at, self.max, self.max_at) = (v, bar, v, bar);
        } else if v < self.min {
            (self.min, self.min_at) = (v, bar);
        } else if v > self.max {
            (self.max, self.max_at) = (v, bar);
        }
        self.n += 1;
    }

    /// Writes the pair's points into `out` (indexed by slot) and resets: one value lands on its
    /// own bar's slot; two or more put the earlier extreme on the pair's first slot and the later
    /// on its second.
    fn emit(&mut self, pair: u64, layout: &Layout, out: &mut [f64]) {
        let (a, b) = (2 * pair as usize, 2 * pair as usize + 1);
        match self.n {
            0 => {}
            1 => out[(self.min_at / layout.bucket) as usize] = self.min,
            _ => {
                let (first, second) = if self.max_at < self.min_at {
                    (self.max, self.min)
                } else if self.min_at < self.max_at {
                    (self.min, self.max)
                } else {
                    (self.min, self.min)
                };
                out[a] = first;
                out[b] = second;
            }
        }
        *self = MinMax::EMPTY;
    }
}

/// One line of the chart: per-slot values (NaN where none) and its running pair.
struct Line {
    values: Vec<f64>,
    pair: MinMax,
    /// Values seen, and values near the bar's range (for the pane choice).
    seen: u64,
    near: u64,
}

impl Line {
    fn new(slots: u64) -> Line {
        Line {
            values: vec![f64::NAN; slots as usize],
            pair: MinMax::EMPTY,
            seen: 0,
            near: 0,
        }
    }

    fn overlay(&self) -> bool {
        self.seen > 0 && self.near as f64 >= OVERLAY_SHARE * self.seen as f64
    }
}

#[derive(Default)]
struct Candles {
    time: Vec<String>,
    open: Vec<f64>,
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    volume: Vec<f64>,
    /// The protective stop and target at each slot's last bar.
    stop: Vec<f64>,
    target: Vec<f64>,
}

/// One marker: the fills of one side in one slot.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Marker {
    slot: u64,
    /// +1 bought, -1 sold.
    side: i8,
    count: u64,
    size: f64,
    notional: f64,
    /// The exit code of the last fill that reduced a position (0: none).
    exit: u8,
}

fn read_f64(b: &[u8], i: usize) -> f64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i * 8..i * 8 + 8]);
    f64::from_le_bytes(a)
}

/// The pass over the bar records.
fn read_bars(
    input: &Input,
    layout: &Layout,
    file: File,
) -> std::io::Result<(Candles, Vec<Line>, Line, Line)> {
    let slots = layout.line_slots();
    let nplots = input.plots.len();
    let mut lines: Vec<Line> = (0..nplots).map(|_| Line::new(slots)).collect();
    let mut equity = Line::new(slots);
    let mut drawdown = Line::new(slots);
    let mut c = Candles::default();
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut rec = vec![0u8; (BAR_FIELDS + nplots) * 8];
    let mut peak = input.initial_cash;
    let mut last_time = 0i64;
    let k = layout.bucket;
    for i in 0..input.bars {
        reader.read_exact(&mut rec)?;
        let mut t = [0u8; 8];
        t.copy_from_slice(&rec[..8]);
        let time = i64::from_le_bytes(t);
        last_time = time;
        let (open, high, low, close, volume, value) = (
            read_f64(&rec, 1),
            read_f64(&rec, 2),
            read_f64(&rec, 3),
            read_f64(&rec, 4),
            read_f64(&rec, 5),
            read_f64(&rec, 6),
        );
        let (stop, target) = (read_f64(&rec, 7), read_f64(&rec, 8));
        if i % k == 0 {
            c.stop.push(stop);
            c.target.push(target);
            c.time.push(format_time_ms(time));
            c.open.push(open);
            c.high.push(high);
            c.low.push(low);
            c.close.push(close);
            c.volume.push(volume);
        } else if let (Some(h), Some(l), Some(cl), Some(v)) = (
            c.high.last_mut(),
            c.low.last_mut(),
            c.close.last_mut(),
            c.volume.last_mut(),
        ) {
            *h = h.max(high);
            *l = l.min(low);
            *cl = close;
            *v += volume;
            if let (Some(s), Some(t)) = (c.stop.last_mut(), c.target.last_mut()) {
                (*s, *t) = (stop, target);
            }
        }
        let (lo, hi) = (
            low - OVERLAY_TOLERANCE * close.abs(),
            high + OVERLAY_TOLERANCE * close.abs(),
        );
        for (j, line) in lines.iter_mut().enumerate() {
            let v = read_f64(&rec, BAR_FIELDS + j);
            if !v.is_nan() {
                line.seen += 1;
                line.near += u64::from(v >= lo && v <= hi);
            }
            line.pair.push(v, i);
        }
        equity.pair.push(value, i);
        peak = peak.max(value);
        drawdown.pair.push(
            if peak > 0.0 {
                value / peak - 1.0
            } else {
                f64::NAN
            },
            i,
        );
        if (i + 1) % (2 * k) == 0 || i + 1 == input.bars {
            let pair = i / (2 * k);
            for line in lines.iter_mut().chain([&mut equity, &mut drawdown]) {
                line.pair.emit(pair, layout, &mut line.values);
            }
        }
    }
    // The trailing slot of the last pair, when it reaches past the candles.
    if slots > layout.candles {
        c.time.push(format_time_ms(last_time));
    }
    Ok((c, lines, equity, drawdown))
}

/// A pass over the fill records: calls `each` with every marker (one per slot and side, in slot
/// order) and returns how many there were. Holds two markers at a time.
fn for_each_marker(
    layout: &Layout,
    fills: u64,
    file: &mut File,
    mut each: impl FnMut(u64, Marker),
) -> std::io::Result<u64> {
    file.rewind()?;
    let mut reader = BufReader::with_capacity(1 << 16, &mut *file);
    let mut rec = [0u8; FILL_BYTES];
    // This slot's buy and sell markers, emitted when the slot changes.
    let mut open: [Option<Marker>; 2] = [None, None];
    let mut count = 0u64;
    let mut flush = |open: &mut [Option<Marker>; 2], count: &mut u64| {
        for m in open.iter_mut().filter_map(Option::take) {
            each(*count, m);
            *count += 1;
        }
    };
    for _ in 0..fills {
        reader.read_exact(&mut rec)?;
        let mut b = [0u8; 8];
        b.copy_from_slice(&rec[..8]);
        let bar = u64::from_le_bytes(b);
        let (size, price) = (read_f64(&rec, 1), read_f64(&rec, 2));
        let exit = rec[24];
        let side: i8 = if size > 0.0 {
            1
        } else if size < 0.0 {
            -1
        } else {
            continue;
        };
        let slot = bar / layout.bucket;
        if open.iter().flatten().any(|m| m.slot != slot) {
            flush(&mut open, &mut count);
        }
        let at = usize::from(side < 0);
        match &mut open[at] {
            Some(m) => {
                m.count += 1;
                m.size += size;
                m.notional += size * price;
                if exit != 0 {
                    m.exit = exit;
                }
            }
            none => {
                *none = Some(Marker {
                    slot,
                    side,
                    count: 1,
                    size,
                    notional: size * price,
                    exit,
                })
            }
        }
    }
    flush(&mut open, &mut count);
    Ok(count)
}

/// Whether marker `i` of `total` is among the `cap` evenly spaced ones kept.
fn keep_marker(i: u64, total: u64, cap: u64) -> bool {
    total <= cap || (i + 1) * cap / total > i * cap / total
}

/// The markers shown and how many there were: two passes over the fill records, so only the
/// kept ones are held. Buys and sells are thinned apart (half the cap each, evenly spaced), so
/// alternating sides never leave one side unseen.
fn read_markers(
    layout: &Layout,
    fills: u64,
    file: &mut File,
) -> std::io::Result<(Vec<Marker>, u64)> {
    let mut per_side = [0u64; 2];
    let total = for_each_marker(layout, fills, file, |_, m| {
        per_side[usize::from(m.side < 0)] += 1;
    })?;
    let cap = MAX_MARKERS as u64;
    let caps = if total <= cap {
        per_side
    } else {
        // Half each; a side with fewer leaves the rest to the other.
        let half = cap / 2;
        let buys = per_side[0].min(half.max(cap - per_side[1].min(half)));
        [buys, per_side[1].min(cap - buys)]
    };
    let mut seen = [0u64; 2];
    let mut kept = Vec::with_capacity(total.min(cap) as usize);
    for_each_marker(layout, fills, file, |_, m| {
        let side = usize::from(m.side < 0);
        if keep_marker(seen[side], per_side[side], caps[side]) {
            kept.push(m);
        }
        seen[side] += 1;
    })?;
    Ok((kept, total))
}

/// A JSON string safe inside a `<script>` element.
fn json_string(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_else(|_| "\"\"".into())
        .replace('<', "\\u003c")
}

fn write_num(out: &mut dyn Write, x: f64) -> std::io::Result<()> {
    if x.is_finite() {
        write!(out, "{x:?}")
    } else {
        out.write_all(b"null")
    }
}

fn write_nums(out: &mut dyn Write, xs: impl IntoIterator<Item = f64>) -> std::io::Result<()> {
    out.write_all(b"[")?;
    for (i, x) in xs.into_iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write_num(out, x)?;
    }
    out.write_all(b"]")
}

pub(super) fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Writes the whole page; the temporary files are read once each.
pub(super) fn assemble(
    input: &Input,
    bars: File,
    mut fills: File,
    out: &mut dyn Write,
) -> std::io::Result<ReportInfo> {
    let layout = Layout::new(input.bars);
    let (candles, lines, equity, drawdown) = read_bars(input, &layout, bars)?;
    let (markers, markers_total) = read_markers(&layout, input.fills, &mut fills)?;
    let info = ReportInfo {
        bars: input.bars,
        trades: input.trades,
        fills: input.fills,
        slots: candles.time.len() as u64,
        bucket: layout.bucket,
        markers_shown: markers.len() as u64,
        markers_total,
    };

    let title = html_escape(input.strategy);
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"btl {}\">\n\
         <title>{title} — btl report</title>\n<style>\n{PAGE_CSS}</style>\n</head>\n<body>\n",
        env!("CARGO_PKG_VERSION")
    )?;
    writeln!(
        out,
        "<header>\n<h1>strategy <span class=\"btl-name\">{title}</span></h1>\n{}",
        summary_html(input.summary, input.extras.buy_hold_return())
    )?;
    let shown = if layout.bucket == 1 {
        format!("{} bars, every bar shown.", input.bars)
    } else {
        format!(
            "{} bars shown as {} candles of {} bars; each line shows the minimum and maximum of \
             every {} bars, in the order they occurred. The full data are in the --equity and \
             --trades CSV files.",
            input.bars,
            layout.candles,
            layout.bucket,
            2 * layout.bucket
        )
    };
    let marked = if markers_total as usize > MAX_MARKERS {
        format!(
            " {} fills make {} markers: {} evenly spaced ones are shown.",
            input.fills,
            markers_total,
            markers.len()
        )
    } else {
        format!(
            " {} fills, {} closed trades, {} markers.",
            input.fills, input.trades, markers_total
        )
    };
    writeln!(
        out,
        "<p class=\"btl-notes\" id=\"btl-notes\">{}</p>\n</header>",
        html_escape(&(shown + &marked))
    )?;
    out.write_all(
        b"<main>\n<div id=\"btl-legend\" class=\"btl-legend\">&nbsp;</div>\n\
          <div id=\"btl-chart\"></div>\n\
          <p id=\"btl-status\" data-state=\"loading\">The chart needs JavaScript.</p>\n</main>\n",
    )?;
    writeln!(
        out,
        "<footer>\n<p>Charts drawn with <a href=\"https://www.tradingview.com/\">TradingView</a> \
         Lightweight Charts™ {CHART_LIBRARY_VERSION}, inlined in this page. {} Licensed under \
         the Apache License 2.0.</p>\n<details><summary>Licence of Lightweight Charts</summary>\
         <pre>{}</pre></details>\n</footer>",
        html_escape(CHART_NOTICE.trim()),
        html_escape(CHART_LICENSE)
    )?;

    // The data.
    out.write_all(b"<script id=\"btl-data\" type=\"application/json\">{\"format\":1")?;
    write!(
        out,
        ",\"strategy\":{},\"bars\":{},\"trades\":{},\"fills\":{},\"bucket\":{},\"candles\":{},\
         \"slots\":{},\"markers_total\":{},\"markers_shown\":{},\"library\":{}",
        json_string(input.strategy),
        info.bars,
        info.trades,
        info.fills,
        info.bucket,
        layout.candles,
        info.slots,
        info.markers_total,
        info.markers_shown,
        json_string(&format!("lightweight-charts {CHART_LIBRARY_VERSION}"))
    )?;
    out.write_all(b",\"time\":[")?;
    for (i, t) in candles.time.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(json_string(t).as_bytes())?;
    }
    out.write_all(b"]")?;
    for (name, xs) in [
        ("open", &candles.open),
        ("high", &candles.high),
        ("low", &candles.low),
        ("close", &candles.close),
        ("volume", &candles.volume),
    ] {
        write!(out, ",\"{name}\":")?;
        write_nums(out, xs.iter().copied())?;
    }
    let slots = info.slots as usize;
    out.write_all(b",\"series\":[")?;
    for (i, (name, line)) in input.plots.iter().zip(&lines).enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write!(
            out,
            "{{\"name\":{},\"overlay\":{},\"values\":",
            json_string(name),
            line.overlay()
        )?;
        write_nums(out, line.values[..slots].iter().copied())?;
        out.write_all(b"}")?;
    }
    out.write_all(b"],\"equity\":")?;
    write_nums(out, equity.values[..slots].iter().copied())?;
    out.write_all(b",\"drawdown\":")?;
    write_nums(out, drawdown.values[..slots].iter().copied())?;
    out.write_all(b",\"markers\":{\"slot\":")?;
    write_nums(out, markers.iter().map(|m| m.slot as f64))?;
    out.write_all(b",\"side\":")?;
    write_nums(out, markers.iter().map(|m| f64::from(m.side)))?;
    out.write_all(b",\"count\":")?;
    write_nums(out, markers.iter().map(|m| m.count as f64))?;
    out.write_all(b",\"size\":")?;
    write_nums(out, markers.iter().map(|m| m.size))?;
    out.write_all(b",\"price\":")?;
    write_nums(out, markers.iter().map(|m| m.notional / m.size))?;
    let reasons: Vec<Option<&str>> = markers.iter().map(|m| exit_reason(m.exit)).collect();
    write!(
        out,
        ",\"reason\":{}",
        serde_json::to_string(&reasons).unwrap_or_else(|_| "[]".into())
    )?;
    out.write_all(b"},\"levels\":{\"stop\":")?;
    write_nums(out, candles.stop.iter().copied())?;
    out.write_all(b",\"target\":")?;
    write_nums(out, candles.target.iter().copied())?;
    out.write_all(b"}")?;
    input.extras.write_json(
        out,
        input.initial_cash,
        input.trades,
        input.order_names,
        |bar| bar / layout.bucket,
    )?;
    out.write_all(b",\"summary\":")?;
    let summary = serde_json::to_string(&summary_scalars(input.summary))
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c");
    out.write_all(summary.as_bytes())?;
    out.write_all(b"}</script>\n<script>\n")?;
    out.write_all(CHART_JS.as_bytes())?;
    out.write_all(b"\n</script>\n<script>\n")?;
    out.write_all(PAGE_JS.as_bytes())?;
    out.write_all(b"</script>\n</body>\n</html>\n")?;
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_buckets() {
        assert_eq!(
            Layout::new(0),
            Layout {
                bucket: 1,
                candles: 0,
                pairs: 0
            }
        );
        let l = Layout::new(4000);
        assert_eq!(
            (l.bucket, l.candles, l.pairs, l.line_slots()),
            (1, 4000, 2000, 4000)
        );
        let l = Layout::new(4001);
        assert_eq!(
            (l.bucket, l.candles, l.pairs, l.line_slots()),
            (2, 2001, 1001, 2002)
        );
        let l = Layout::new(1_000_000);
        assert_eq!((l.bucket, l.candles), (250, 4000));
    }

    #[test]
    fn min_max_keeps_extremes_in_order() {
        let layout = Layout::new(10_000); // bucket 3
        let mut out = vec![f64::NAN; layout.line_slots() as usize];
        let mut m = MinMax::EMPTY;
        for (i, v) in [5.0, 9.0, 1.0, f64::NAN, 4.0, 3.0].into_iter().enumerate() {
            m.push(v, i as u64);
        }
        m.emit(0, &layout, &mut out);
        assert_eq!((out[0], out[1]), (9.0, 1.0));
        // A lone value lands on its own bar's slot.
        m.push(7.0, 10);
        m.emit(1, &layout, &mut out);
        assert!(out[2].is_nan());
        assert_eq!(out[3], 7.0);
    }

    #[test]
    fn markers_are_capped_evenly() {
        let kept: Vec<u64> = (0..10).filter(|&i| keep_marker(i, 10, 5)).collect();
        assert_eq!(kept, [1, 3, 5, 7, 9]);
        assert_eq!((0..10).filter(|&i| keep_marker(i, 10, 10)).count(), 10);
        assert_eq!(
            (0..8001).filter(|&i| keep_marker(i, 8001, 2000)).count(),
            2000
        );
    }

    #[test]
    fn strings_cannot_close_the_script() {
        assert_eq!(json_string("</script>"), "\"\\u003c/script>\"");
        assert!(!CHART_JS.to_ascii_lowercase().contains("</script"));
        assert!(!CHART_JS.contains("<!--"));
    }
}
