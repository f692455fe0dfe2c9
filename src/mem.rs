//! The memory report of `btl mem`: one row per series, the total and the strategy's warm-up.
//!
//! Contract: pure; built from a [`Program`] and the [`SourceMap`]. The bytes reported are exactly
//! what the run allocates for ring buffers (8 bytes per value, capacity = lookback + 1), plus the
//! engine's two fixed buffers, the same for every program: one batch of bars and, with the JIT,
//! the sink log.

use serde::Serialize;

use crate::sema::elab::{NEVER, Program, SeriesKind};
use crate::source::SourceMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemRow {
    pub name: String,
    pub file: String,
    pub line: usize,
    pub lookback: u32,
    /// `None` when the series is never guaranteed to be present.
    pub warmup: Option<u64>,
    pub capacity: u32,
    pub bytes: u64,
    /// The feed whose bars it ticks with, lookback, warm-up and capacity counted in them (`None`:
    /// every step; `""`: the primary feed when it has a clock of its own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemReport {
    pub series: Vec<MemRow>,
    /// Exact window sums (`window_sum`, so `sma`, `sum`, ...) and the bytes of their states.
    pub window_sums: u32,
    pub window_sum_bytes: u64,
    /// Bytes of the series' buffers and the window sums' states.
    pub total_bytes: u64,
    pub warmup: Option<u64>,
    pub engine: EngineBytes,
    /// With feeds or timeframes of its own: the frames of a batch (every feed's bar at each
    /// step) and the aligner's state (a bar per feed, an open period per resampled feed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feeds: Option<FeedBytes>,
}

/// What several feeds add to the engine's buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FeedBytes {
    pub feeds: u64,
    pub frame_values: u64,
    pub batch_frame_bytes: u64,
    pub aligner_bytes: u64,
}

/// The engine's fixed buffers, whatever the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EngineBytes {
    /// Bars per batch, and the batch's bytes.
    pub batch_bars: u64,
    pub batch_bytes: u64,
    /// Entries of the JIT's sink log (plots and bar ends waiting for the sink), and its bytes.
    pub sink_log_entries: u64,
    pub sink_log_bytes: u64,
}

impl EngineBytes {
    pub const FIXED: EngineBytes = EngineBytes {
        batch_bars: crate::runtime::engine::BATCH as u64,
        batch_bytes: (crate::runtime::engine::BATCH * size_of::<crate::runtime::feed::Bar>())
            as u64,
        sink_log_entries: crate::jit::abi::LogEntry::CAPACITY as u64,
        sink_log_bytes: (crate::jit::abi::LogEntry::CAPACITY
            * size_of::<crate::jit::abi::LogEntry>()) as u64,
    };
}

fn warm(w: u64) -> Option<u64> {
    (w != NEVER).then_some(w)
}

pub fn report(p: &Program, sources: &SourceMap) -> MemReport {
    let series = p
        .order
        .iter()
        .map(|&s| {
            let info = &p.series[s];
            let (file, line) = match info.kind {
                SeriesKind::Input(_) => ("<input>".to_string(), 0),
                _ => {
                    let f = sources.get(info.span.file);
                    (f.name.clone(), f.line_col(info.span.start).0)
                }
            };
            MemRow {
                name: info.name.clone(),
                file,
                line,
                lookback: p.lookback.get(s).copied().unwrap_or(0),
                warmup: warm(p.warmup.get(s).copied().unwrap_or(0)),
                capacity: p.capacity(s),
                bytes: p.bytes(s),
                // Only for a program with feeds or timeframes of its own.
                feed: (p.feeds.len() > 1)
                    .then(|| {
                        let clock = p.clock.get(s).copied().unwrap_or(0);
                        crate::sema::elab::feed_of_clock(&p.feeds, clock)
                    })
                    .flatten()
                    .map(|f| f.name.clone()),
            }
        })
        .collect();
    let clocks = p.feeds.iter().map(|f| f.clock).max().unwrap_or(0);
    let bar = size_of::<crate::runtime::feed::Bar>() as u64;
    let feeds = (clocks > 0).then(|| {
        let frame_values = u64::from(clocks) * u64::from(crate::ir::FRAME_STRIDE);
        FeedBytes {
            feeds: p.feeds.len() as u64,
            frame_values,
            batch_frame_bytes: frame_values * 8 * crate::runtime::engine::BATCH as u64,
            // Per feed its last bar and its next (or its open period).
            aligner_bytes: p.feeds.len() as u64 * 2 * bar,
        }
    });
    MemReport {
        series,
        window_sums: p.window_sums,
        window_sum_bytes: p.window_sum_bytes(),
        total_bytes: p.total_bytes(),
        warmup: p.strategy_warmup,
        engine: EngineBytes::FIXED,
        feeds,
    }
}

/// The report as an aligned text table.
pub fn table(r: &MemReport, strategy: &str) -> String {
    let mut headers = vec![
        "series",
        "defined at",
        "lookback",
        "warm-up",
        "capacity",
        "bytes",
    ];
    if r.feeds.is_some() {
        headers.push("in bars of");
    }
    let rows: Vec<Vec<String>> = r
        .series
        .iter()
        .map(|row| {
            let mut cells = vec![
                row.name.clone(),
                if row.line == 0 {
                    row.file.clone()
                } else {
                    format!("{}:{}", row.file, row.line)
                },
                row.lookback.to_string(),
                row.warmup.map_or("never".to_string(), |w| w.to_string()),
                row.capacity.to_string(),
                row.bytes.to_string(),
            ];
            if r.feeds.is_some() {
                cells.push(match row.feed.as_deref() {
                    None => "every step".to_string(),
                    Some("") => "the primary feed".to_string(),
                    Some(name) => name.to_string(),
                });
            }
            cells
        })
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String| {
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = w - cell.chars().count();
            if i < 2 || i == 6 {
                out.push_str(cell);
                if i + 1 < cells.len() {
                    out.push_str(&" ".repeat(pad));
                }
            } else {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            }
            out.push_str(if i + 1 < cells.len() { "  " } else { "\n" });
        }
    };
    let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    line(&headers, &mut out);
    for row in &rows {
        line(row, &mut out);
    }
    let sums = if r.window_sums > 0 {
        format!(
            " and {} exact window sum(s) ({} bytes)",
            r.window_sums, r.window_sum_bytes
        )
    } else {
        String::new()
    };
    out.push_str(&format!(
        "total: {} series{sums}, {} bytes\n\
         engine, for any program: a batch of {} bars ({} bytes); with the JIT, a sink log of {} \
         plots and bar ends ({} bytes)\n\
         strategy `{strategy}` warm-up: {}\n",
        r.series.len(),
        r.total_bytes,
        r.engine.batch_bars,
        r.engine.batch_bytes,
        r.engine.sink_log_entries,
        r.engine.sink_log_bytes,
        r.warmup.map_or(
            "never (its actions read a value that is never present)".to_string(),
            |w| format!("bar {w} (actions start on this bar, counted from 0)")
        )
    ));
    if let Some(f) = r.feeds {
        out.push_str(&format!(
            "feeds: {} ({} frame values a step: {} bytes a batch; the aligner {} bytes); lookback, warm-up and capacity count the bars of the feed each series ticks with\n",
            f.feeds, f.frame_values, f.batch_frame_bytes, f.aligner_bytes
        ));
    }
    out
}
