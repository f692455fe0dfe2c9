//! Several feeds as one stream of steps: data feeds aligned by time, and resampled feeds built
//! from them.
//!
//! Contract: [`Aligned`] takes one [`BarSource`] per data feed of a program (the primary first,
//! then the `feed` declarations that are data, in order) and yields *steps*: one per distinct
//! bar time of any data feed, in time order. On a step, a data feed *ticks* when it has a bar at
//! that time; a feed with no bar then does not advance: its last bar stays what it shows, as in
//! backtrader. A resampled feed ticks on the step of the first bar of its source feed that falls
//! in a new period (cut in the time zone given): the period that closed becomes visible then,
//! never earlier, so no strategy can read a bar that has not closed. The last period, which
//! never sees a later bar, is never shown.
//!
//! Steps start at the first time at which every data feed has a bar: earlier bars of the feeds
//! that start sooner are skipped ([`Aligned::skipped`] counts them). Each step's frame holds, for
//! every clock other than the step clock, `[ticked, open, high, low, close, volume, time,
//! bar_index]` of its feed (`na` before its first bar). The step's bar is the primary feed's
//! last bar, dated at the step. Memory: one bar per feed and one open period per resampled feed.

use jiff::tz::TimeZone;

use crate::ir::{BarProgram, FRAME_STRIDE};
use crate::runtime::engine::BarSource;
use crate::runtime::feed::{Bar, FeedError};
use crate::sema::check::FeedSource;
use crate::timeframe::{Period, Timeframe};

const NO_BAR: Bar = Bar {
    time: i64::MIN,
    open: f64::NAN,
    high: f64::NAN,
    low: f64::NAN,
    close: f64::NAN,
    volume: f64::NAN,
};

/// One data feed being read.
struct DataFeed<'a> {
    source: Box<dyn BarSource + 'a>,
    /// The next bar, not yet stepped on.
    next: Option<Bar>,
    /// The last bar stepped on.
    last: Bar,
    bars: u64,
    ticked: bool,
    clock: u32,
}

/// A resampled feed: the period being built and the last one closed.
struct Resampled {
    /// Index into `Aligned::data` of the feed it cuts.
    of: usize,
    timeframe: Timeframe,
    /// The period being built (its key and bounds) and its bar so far.
    open: Option<(Period, Bar)>,
    last: Bar,
    bars: u64,
    ticked: bool,
    clock: u32,
}

/// The steps of several feeds (see the module contract).
pub struct Aligned<'a> {
    data: Vec<DataFeed<'a>>,
    resampled: Vec<Resampled>,
    tz: TimeZone,
    /// Minutes after local midnight at which sessions (days) start.
    session_start: i32,
    frame_len: usize,
    started: bool,
    skipped: Vec<u64>,
    /// Data feeds found without a single bar (then no step has every feed).
    empty: Vec<usize>,
    /// A bar time that jiff cannot place in a period (beyond year 9999).
    bad_time: Option<FeedError>,
}

impl<'a> Aligned<'a> {
    /// `sources`: one per data feed of `p` (the primary first, then the declared data feeds in
    /// order); `tz`: the zone periods are cut in.
    pub fn new(
        p: &BarProgram,
        sources: Vec<Box<dyn BarSource + 'a>>,
        tz: TimeZone,
    ) -> Result<Aligned<'a>, String> {
        let mut data = Vec::new();
        let mut data_index = Vec::new();
        let mut sources = sources.into_iter();
        for f in &p.feeds {
            if f.is_data() {
                let source = sources
                    .next()
                    .ok_or_else(|| format!("no data given for feed `{}`", f.name))?;
                data_index.push(Some(data.len()));
                data.push(DataFeed {
                    source,
                    next: None,
                    last: NO_BAR,
                    bars: 0,
                    ticked: false,
                    clock: f.clock,
                });
            } else {
                data_index.push(None);
            }
        }
        if sources.next().is_some() {
            return Err("more data files than the program has data feeds".into());
        }
        let mut resampled = Vec::new();
        for f in &p.feeds {
            if let FeedSource::Resample { of, timeframe } = f.source {
                let of = data_index
                    .get(of as usize)
                    .copied()
                    .flatten()
                    .ok_or("a resampled feed must cut a data feed")?;
                resampled.push(Resampled {
                    of,
                    timeframe,
                    open: None,
                    last: NO_BAR,
                    bars: 0,
                    ticked: false,
                    clock: f.clock,
                });
            }
        }
        let skipped = vec![0; data.len()];
        Ok(Aligned {
            data,
            resampled,
            tz,
            session_start: 0,
            frame_len: p.frame_len as usize,
            started: false,
            skipped,
            empty: Vec::new(),
            bad_time: None,
        })
    }

    /// Days (and every period) start `minutes` after local midnight (`--session-start`).
    pub fn with_session_start(mut self, minutes: i32) -> Self {
        self.session_start = minutes.rem_euclid(1440);
        self
    }

    /// The data feeds (by number among them) that had no bar at all: the run had no step.
    pub fn empty_feeds(&self) -> &[usize] {
        &self.empty
    }

    /// Per data feed, the bars skipped before every feed had started.
    pub fn skipped(&self) -> &[u64] {
        &self.skipped
    }

    /// Reads each feed's first bar and skips to the first time every feed has one.
    fn start(&mut self) -> Result<(), FeedError> {
        self.started = true;
        let mut first = i64::MIN;
        for (k, d) in self.data.iter_mut().enumerate() {
            d.next = d.source.next_bar()?;
            match d.next {
                Some(b) => first = first.max(b.time),
                None => self.empty.push(k),
            }
        }
        // A feed without bars: no step can have every feed.
        if !self.empty.is_empty() {
            for d in &mut self.data {
                d.next = None;
            }
            return Ok(());
        }
        for (d, skipped) in self.data.iter_mut().zip(&mut self.skipped) {
            while let Some(b) = d.next {
                if b.time >= first {
                    break;
                }
                *skipped += 1;
                d.next = d.source.next_bar()?;
            }
        }
        Ok(())
    }

    /// The next step, its frame appended to `frame`; `None` after the last.
    fn step(&mut self, frame: &mut Vec<f64>) -> Result<Option<Bar>, FeedError> {
        if !self.started {
            self.start()?;
        }
        let Some(t) = self
            .data
            .iter()
            .filter_map(|d| d.next.map(|b| b.time))
            .min()
        else {
            return Ok(None);
        };
        for d in &mut self.data {
            d.ticked = d.next.is_some_and(|b| b.time == t);
            if d.ticked {
                d.last = d.next.take().unwrap_or(NO_BAR);
                d.bars += 1;
                d.next = d.source.next_bar()?;
            }
        }
        for r in &mut self.resampled {
            r.ticked = false;
            let src = &self.data[r.of];
            if !src.ticked {
                continue;
            }
            let b = src.last;
            // Most bars fall in the open period: no time zone arithmetic for them.
            if let Some((p, acc)) = &mut r.open
                && (p.start..p.end).contains(&b.time)
            {
                acc.high = acc.high.max(b.high);
                acc.low = acc.low.min(b.low);
                acc.close = b.close;
                acc.volume += b.volume;
                continue;
            }
            let Some(period) = r
                .timeframe
                .period_in_session(b.time, &self.tz, self.session_start)
            else {
                self.bad_time = Some(FeedError {
                    file: String::new(),
                    line: 0,
                    column: None,
                    message: format!("bar time {} ms cannot be placed in a period", b.time),
                });
                return Ok(None);
            };
            match &mut r.open {
                Some((p, acc)) if p.key == period.key => {
                    acc.high = acc.high.max(b.high);
                    acc.low = acc.low.min(b.low);
                    acc.close = b.close;
                    acc.volume += b.volume;
                }
                open => {
                    if let Some((_, done)) = open.take() {
                        r.last = done;
                        r.bars += 1;
                        r.ticked = true;
                    }
                    *open = Some((
                        period,
                        Bar {
                            time: period.start,
                            ..b
                        },
                    ));
                }
            }
        }
        let at = frame.len();
        frame.resize(at + self.frame_len, f64::NAN);
        let parts = self
            .data
            .iter()
            .map(|d| (d.clock, d.ticked, d.last, d.bars))
            .chain(
                self.resampled
                    .iter()
                    .map(|r| (r.clock, r.ticked, r.last, r.bars)),
            );
        for (clock, ticked, b, bars) in parts {
            if clock == 0 {
                continue;
            }
            let base = at + ((clock - 1) * FRAME_STRIDE) as usize;
            let index = if bars == 0 {
                f64::NAN
            } else {
                (bars - 1) as f64
            };
            let time = if bars == 0 { f64::NAN } else { b.time as f64 };
            frame[base..base + FRAME_STRIDE as usize].copy_from_slice(&[
                f64::from(u8::from(ticked)),
                b.open,
                b.high,
                b.low,
                b.close,
                b.volume,
                time,
                index,
            ]);
        }
        let primary = self.data[0].last;
        Ok(Some(Bar { time: t, ..primary }))
    }
}

impl BarSource for Aligned<'_> {
    fn next_bar(&mut self) -> Result<Option<Bar>, FeedError> {
        let mut scratch = Vec::new();
        self.step(&mut scratch)
    }

    fn skipped_rows(&self) -> u64 {
        self.data.iter().map(|d| d.source.skipped_rows()).sum()
    }

    fn next_steps<'b>(
        &'b mut self,
        buf: &'b mut Vec<Bar>,
        frames: &'b mut Vec<f64>,
        max: usize,
    ) -> Result<(&'b [Bar], &'b [f64]), FeedError> {
        buf.clear();
        frames.clear();
        while buf.len() < max {
            match self.step(frames)? {
                Some(b) => buf.push(b),
                None => break,
            }
        }
        if let Some(e) = self.bad_time.take() {
            return Err(e);
        }
        Ok((buf, frames))
    }
}

/// Steps already in memory (tests, sweeps): batches are slices of the bars and their frames.
pub struct Steps<'a> {
    pub bars: &'a [Bar],
    pub frames: &'a [f64],
    /// Frame values per step.
    pub stride: usize,
}

impl BarSource for Steps<'_> {
    fn next_bar(&mut self) -> Result<Option<Bar>, FeedError> {
        let mut frames = Vec::new();
        let mut buf = Vec::new();
        Ok(self
            .next_steps(&mut buf, &mut frames, 1)?
            .0
            .first()
            .copied())
    }

    fn next_steps<'b>(
        &'b mut self,
        _buf: &'b mut Vec<Bar>,
        _frames: &'b mut Vec<f64>,
        max: usize,
    ) -> Result<(&'b [Bar], &'b [f64]), FeedError> {
        let n = max.min(self.bars.len());
        let (bars, rest) = self.bars.split_at(n);
        let (frames, frest) = self
            .frames
            .split_at((n * self.stride).min(self.frames.len()));
        self.bars = rest;
        self.frames = frest;
        Ok((bars, frames))
    }
}

/// Every step of `source` and their frames, in memory.
pub fn collect(source: &mut dyn BarSource) -> Result<(Vec<Bar>, Vec<f64>), FeedError> {
    let (mut bars, mut frames) = (Vec::new(), Vec::new());
    let (mut buf, mut fbuf) = (Vec::new(), Vec::new());
    loop {
        let (b, f) = source.next_steps(&mut buf, &mut fbuf, crate::runtime::engine::BATCH)?;
        if b.is_empty() {
            return Ok((bars, frames));
        }
        bars.extend_from_slice(b);
        frames.extend_from_slice(f);
    }
}
