//! The engine loop: bars in, the program run once per bar, broker and statistics updated as it goes.
//!
//! Contract: [`run`] pulls bars from a [`BarSource`] in batches of at most [`BATCH`] and never keeps
//! more; memory is the [`Machine`] (sized before the run), one batch and the broker's pending
//! orders. A feed error stops the run (the bars of its batch are not run). An engine runs a batch with [`Engine::run_bars`]; what it does on each bar t is the
//! *bar protocol*, defined once by [`reference_bar`] (the JIT compiles the same steps):
//! 1. when orders are pending, the broker checks the orders of bar t-1 for cash and tries every
//!    pending order against bar t (market orders fill at its open);
//! 2. every slot head advances and the inputs the program reads (`open`…`volume`, `time`,
//!    `bar_index`, `position`, `cash`, `equity`, `entry_price`, `pending_orders`) are stored;
//! 3. the program runs (orders before the strategy's warm-up bar are dropped by the host);
//! 4. with fill-on-close and orders pending, market orders placed on t fill at its close;
//! 5. equity is marked at t's close (`cash + position × close`), the sink sees the bar if it
//!    asked to, and the peak and the largest drawdown are updated.
//!
//! Plots, orders, fills and closed trades go to a [`Sink`] as they happen.

use crate::interp;
use crate::ir::BarProgram;
use crate::runtime::broker::{Broker, BrokerConfig, ClosedTrade, Event, FillKind};
use crate::runtime::feed::{Bar, CsvFeed, FeedError};
use crate::runtime::machine::{AccountView, Host, Machine, RunFlags};
use crate::sema::builtins::{Action, Input};

/// Bars per batch handed to an engine.
pub const BATCH: usize = 512;

/// Where bars come from.
pub trait BarSource {
    fn next_bar(&mut self) -> Result<Option<Bar>, FeedError>;

    /// Malformed rows skipped so far (a CSV read with `--skip-bad-rows`).
    fn skipped_rows(&self) -> u64 {
        0
    }

    /// The next steps, at most `max`, with their frames (`crate::ir::FRAME_STRIDE` values per
    /// clock of its own per step): a source that aligns several feeds fills them; this default,
    /// for a single feed, has none.
    fn next_steps<'a>(
        &'a mut self,
        buf: &'a mut Vec<Bar>,
        _frames: &'a mut Vec<f64>,
        max: usize,
    ) -> Result<(&'a [Bar], &'a [f64]), FeedError> {
        Ok((self.next_batch(buf, max)?, &[]))
    }

    /// The next bars, at most `max`, fewer only at the end of the data (none after it). This
    /// default reads them one by one into `buf`; bars already in memory are lent without a copy.
    fn next_batch<'a>(
        &'a mut self,
        buf: &'a mut Vec<Bar>,
        max: usize,
    ) -> Result<&'a [Bar], FeedError> {
        buf.clear();
        while buf.len() < max {
            match self.next_bar()? {
                Some(b) => buf.push(b),
                None => break,
            }
        }
        Ok(buf)
    }
}

/// A source lent to a run that does not own it (the aligner borrows the feeds the CLI keeps).
impl<S: BarSource + ?Sized> BarSource for &mut S {
    fn next_bar(&mut self) -> Result<Option<Bar>, FeedError> {
        (**self).next_bar()
    }

    fn skipped_rows(&self) -> u64 {
        (**self).skipped_rows()
    }

    fn next_batch<'a>(
        &'a mut self,
        buf: &'a mut Vec<Bar>,
        max: usize,
    ) -> Result<&'a [Bar], FeedError> {
        (**self).next_batch(buf, max)
    }

    fn next_steps<'a>(
        &'a mut self,
        buf: &'a mut Vec<Bar>,
        frames: &'a mut Vec<f64>,
        max: usize,
    ) -> Result<(&'a [Bar], &'a [f64]), FeedError> {
        (**self).next_steps(buf, frames, max)
    }
}

impl<R: std::io::Read> BarSource for CsvFeed<R> {
    fn next_bar(&mut self) -> Result<Option<Bar>, FeedError> {
        CsvFeed::next_bar(self)
    }

    fn skipped_rows(&self) -> u64 {
        CsvFeed::skipped_rows(self)
    }
}

/// Bars already in memory (tests, benchmarks, embedding): batches are slices of them.
impl BarSource for &[Bar] {
    fn next_bar(&mut self) -> Result<Option<Bar>, FeedError> {
        Ok(self.split_first().map(|(b, rest)| {
            *self = rest;
            *b
        }))
    }

    fn next_batch<'a>(
        &'a mut self,
        _buf: &'a mut Vec<Bar>,
        max: usize,
    ) -> Result<&'a [Bar], FeedError> {
        let (batch, rest) = self.split_at(max.min(self.len()));
        *self = rest;
        Ok(batch)
    }
}

/// What the engine loop carries from bar to bar besides the machine and the broker.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoopState {
    /// The index of the next bar.
    pub bar: u64,
    /// The highest equity marked so far.
    pub peak: f64,
    /// The largest fall from a peak, as a fraction of the peak.
    pub max_dd: f64,
    /// Equity marked at the last close.
    pub value: f64,
}

impl LoopState {
    pub fn new(cash: f64) -> LoopState {
        LoopState {
            bar: 0,
            peak: cash,
            max_dd: 0.0,
            value: cash,
        }
    }

    /// Marks equity at a close: step 5 of the bar protocol, after the sink.
    #[inline]
    pub fn mark(&mut self, value: f64) {
        self.value = value;
        if value > self.peak {
            self.peak = value;
        }
        // A division only when the drawdown may be a new maximum.
        if self.peak > 0.0 && value < self.peak * (1.0 - self.max_dd) {
            let dd = (self.peak - value) / self.peak;
            if dd > self.max_dd {
                self.max_dd = dd;
            }
        }
        self.bar += 1;
    }
}

/// Runs batches of bars through a program: the interpreter or the JIT.
pub trait Engine {
    /// Runs the bar protocol (see the module contract) on every bar of `bars`, in order;
    /// `frames` holds `p.frame_len` values per bar (none for a program with one clock).
    /// `Err` stops the run: a host function failed inside compiled code.
    fn run_bars(
        &mut self,
        p: &BarProgram,
        m: &mut Machine,
        bars: &[Bar],
        frames: &[f64],
        state: &mut LoopState,
        host: &mut dyn Host,
    ) -> Result<(), String>;
}

/// The value of an input on bar `bar`, given the account after the broker's turn.
#[inline]
pub fn input_value(input: Input, b: &Bar, bar: u64, a: &AccountView) -> f64 {
    match input {
        Input::Open => b.open,
        Input::High => b.high,
        Input::Low => b.low,
        Input::Close => b.close,
        Input::Volume => b.volume,
        Input::Time => b.time as f64,
        Input::BarIndex => bar as f64,
        Input::Position => a.position,
        Input::Cash => a.cash,
        Input::Equity => a.cash + a.position * b.close,
        Input::EntryPrice => a.entry_price,
        Input::PendingOrders => a.pending,
    }
}

/// One bar of the bar protocol: its definition, run by the interpreter. `frame` is the step's
/// frame (empty for a program with one clock): with several clocks, only the slots of the clocks
/// that ticked advance, the inputs of feeds with their own clock are stored from the frame, and
/// the broker acts only on steps where the primary feed has a bar.
pub fn reference_bar(
    p: &BarProgram,
    m: &mut Machine,
    b: &Bar,
    frame: &[f64],
    state: &mut LoopState,
    flags: RunFlags,
    host: &mut dyn Host,
) {
    let bar = state.bar;
    let broker_turn = BarProgram::ticked(p.broker_clock, frame);
    // The account changes only in the host: it is asked again after each call that may change it.
    let mut account = host.account();
    if account.pending != 0.0 && broker_turn {
        host.open_bar(bar, b);
        account = host.account();
    }
    if p.frame_len == 0 {
        m.advance(p);
    } else {
        m.advance_ticked(p, frame);
    }
    for (i, slot) in p.slots.iter().enumerate() {
        if let Some(input) = slot.input {
            m.store(slot, i, input_value(input, b, bar, &account));
        } else if let Some(at) = slot.frame {
            m.store(slot, i, frame.get(at as usize).copied().unwrap_or(f64::NAN));
        }
    }
    interp::step(p, m, bar, b, frame, host);
    let mut account = host.account();
    if flags.fill_on_close && account.pending != 0.0 && broker_turn {
        host.close_bar(bar, b);
        account = host.account();
    }
    let value = account.cash + account.position * b.close;
    if flags.wants_bars {
        host.end_bar(bar, b, value);
    }
    state.mark(value);
}

/// The reference interpreter as an engine.
pub struct Interpreter;

impl Engine for Interpreter {
    fn run_bars(
        &mut self,
        p: &BarProgram,
        m: &mut Machine,
        bars: &[Bar],
        frames: &[f64],
        state: &mut LoopState,
        host: &mut dyn Host,
    ) -> Result<(), String> {
        let flags = host.flags();
        let stride = p.frame_len as usize;
        for (i, b) in bars.iter().enumerate() {
            let frame = frames.get(i * stride..(i + 1) * stride).unwrap_or(&[]);
            reference_bar(p, m, b, frame, state, flags, host);
        }
        Ok(())
    }
}

/// Receives what a run produces as it goes.
pub trait Sink {
    fn plot(&mut self, _bar: u64, _index: u32, _value: f64) {}
    /// An order the strategy placed (after its warm-up), with its name (a number of
    /// `BarProgram::order_names`), before the broker sees it.
    fn order(&mut self, _bar: u64, _action: Action, _args: &[f64], _name: Option<u32>) {}
    fn trade(&mut self, _trade: &ClosedTrade) {}
    /// A fill: signed size (positive bought) at a price, on bar `bar`, by an order of `kind`;
    /// `exit` when it reduced the position.
    fn fill(&mut self, _bar: u64, _size: f64, _price: f64, _kind: FillKind, _exit: bool) {}
    /// The end of a bar: the bar itself and the account after it. Called only when
    /// [`Sink::wants_bars`] says so.
    fn bar(&mut self, _bar: u64, _data: &Bar, _account: &Account) {}
    /// Whether [`Sink::bar`] should be called on every bar (asked once, at the start of a run).
    fn wants_bars(&self) -> bool {
        true
    }
    /// Whether [`Account::stop`] and [`Account::target`] should be filled in (asked once; a
    /// scan of the pending orders each bar, which only the report needs).
    fn wants_levels(&self) -> bool {
        false
    }
}

/// The account at the end of a bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Account {
    pub cash: f64,
    /// Equity: cash plus the position marked at the close.
    pub value: f64,
    /// Signed quantity held.
    pub position: f64,
    /// The nearest pending protective stop and take-profit of the open position (NaN when
    /// none, or when the sink did not ask for them: [`Sink::wants_levels`]).
    pub stop: f64,
    pub target: f64,
}

/// A sink that keeps nothing.
pub struct NoSink;
impl Sink for NoSink {
    fn wants_bars(&self) -> bool {
        false
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub bars: u64,
    /// The first bar on which actions run; `None` when none ever can.
    pub warmup_bar: Option<u64>,
    pub trades: u64,
    pub winning_trades: u64,
    pub initial_cash: f64,
    pub final_value: f64,
    pub final_cash: f64,
    pub total_return: f64,
    /// Largest fall from a peak of equity (marked at each close), as a fraction of the peak.
    pub max_drawdown: f64,
    pub rejected_orders: u64,
    pub invalid_orders: u64,
    pub invalid_reasons: crate::runtime::broker::InvalidReasons,
    pub expired_orders: u64,
    pub cancelled_orders: u64,
    pub buffer_bytes: u64,
    /// The open position at the end: (entry bar, signed size, average entry price).
    pub open_position: Option<(u64, f64, f64)>,
}

impl Summary {
    /// Winning trades (net pnl > 0) over closed trades; `None` with no closed trade.
    pub fn win_rate(&self) -> Option<f64> {
        (self.trades > 0).then(|| self.winning_trades as f64 / self.trades as f64)
    }
}

/// Why a run stopped early.
#[derive(Debug)]
pub enum RunError {
    /// The data feed failed (its message has the file and line).
    Feed(FeedError),
    /// A host function failed inside compiled code.
    Engine(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Feed(e) => write!(f, "{e}"),
            RunError::Engine(e) => write!(f, "the run failed: {e}"),
        }
    }
}

impl std::error::Error for RunError {}

/// The broker and the sink behind the [`Host`] interface.
struct RunHost<'a, K: ?Sized> {
    broker: Broker,
    sink: &'a mut K,
    warmup: u64,
    flags: RunFlags,
    counts: Counts,
    /// Whether the sink wants the protective levels in [`Account`].
    levels: bool,
}

#[derive(Default)]
struct Counts {
    trades: u64,
    wins: u64,
}

fn on_event<K: Sink + ?Sized>(e: Event, bar: u64, counts: &mut Counts, sink: &mut K) {
    match e {
        Event::Closed(t) => {
            counts.trades += 1;
            counts.wins += u64::from(t.pnl_net > 0.0);
            sink.trade(&t);
        }
        Event::Fill {
            size,
            price,
            kind,
            exit,
        } => sink.fill(bar, size, price, kind, exit),
        Event::Rejected | Event::Expired | Event::Cancelled => {}
    }
}

impl<K: Sink + ?Sized> Host for RunHost<'_, K> {
    fn open_bar(&mut self, bar: u64, b: &Bar) {
        self.broker.now = b.time;
        let (counts, sink) = (&mut self.counts, &mut *self.sink);
        self.broker
            .open_bar(bar, b, &mut |e| on_event(e, bar, counts, sink));
    }

    fn order(&mut self, bar: u64, b: &Bar, action: Action, args: &[f64], name: Option<u32>) {
        if bar >= self.warmup {
            self.sink.order(bar, action, args, name);
            self.broker.submit(bar, action, args, b.close, name);
        }
    }

    fn plot(&mut self, bar: u64, index: u32, value: f64) {
        self.sink.plot(bar, index, value);
    }

    fn close_bar(&mut self, bar: u64, b: &Bar) {
        self.broker.now = b.time;
        let (counts, sink) = (&mut self.counts, &mut *self.sink);
        self.broker
            .close_bar(bar, b.close, &mut |e| on_event(e, bar, counts, sink));
    }

    fn end_bar(&mut self, bar: u64, b: &Bar, value: f64) {
        let (stop, target) = if self.levels {
            self.broker.protective_levels()
        } else {
            (f64::NAN, f64::NAN)
        };
        let account = Account {
            cash: self.broker.cash,
            value,
            position: self.broker.position,
            stop,
            target,
        };
        self.sink.bar(bar, b, &account);
    }

    fn account(&self) -> AccountView {
        AccountView {
            position: self.broker.position,
            cash: self.broker.cash,
            entry_price: self.broker.entry_price(),
            pending: self.broker.pending_orders() as f64,
            fills: self.broker.last_fills,
        }
    }

    fn flags(&self) -> RunFlags {
        self.flags
    }
}

/// Runs the program over every bar of `source` (see the module contract).
///
/// Generic so that a concrete source and sink are compiled into the loop; trait objects work
/// too.
pub fn run<S, E, K>(
    p: &BarProgram,
    source: &mut S,
    engine: &mut E,
    config: BrokerConfig,
    sink: &mut K,
) -> Result<Summary, RunError>
where
    S: BarSource + ?Sized,
    E: Engine + ?Sized,
    K: Sink + ?Sized,
{
    let mut m = Machine::new(p);
    let flags = RunFlags {
        fill_on_close: config.fill_on_close,
        wants_bars: sink.wants_bars(),
    };
    let levels = sink.wants_levels();
    let mut host = RunHost {
        broker: Broker::new(config),
        sink,
        warmup: p.warmup.unwrap_or(u64::MAX),
        flags,
        counts: Counts::default(),
        levels,
    };
    let mut state = LoopState::new(config.cash);
    let mut buf: Vec<Bar> = Vec::with_capacity(BATCH);
    let mut frame_buf: Vec<f64> = Vec::new();
    loop {
        let (batch, frames) = source
            .next_steps(&mut buf, &mut frame_buf, BATCH)
            .map_err(RunError::Feed)?;
        if batch.is_empty() {
            break;
        }
        if frames.len() != batch.len() * p.frame_len as usize {
            return Err(RunError::Engine(format!(
                "the data give {} frame values for {} steps; the program needs {} per step (its feeds and timeframes)",
                frames.len(),
                batch.len(),
                p.frame_len
            )));
        }
        engine
            .run_bars(p, &mut m, batch, frames, &mut state, &mut host)
            .map_err(RunError::Engine)?;
    }
    let broker = &host.broker;
    Ok(Summary {
        bars: state.bar,
        warmup_bar: p.warmup,
        trades: host.counts.trades,
        winning_trades: host.counts.wins,
        initial_cash: config.cash,
        final_value: state.value,
        final_cash: broker.cash,
        total_return: state.value / config.cash - 1.0,
        max_drawdown: state.max_dd,
        rejected_orders: broker.rejected,
        invalid_orders: broker.invalid,
        invalid_reasons: broker.invalid_reasons,
        expired_orders: broker.expired,
        cancelled_orders: broker.cancelled,
        buffer_bytes: p.buffer_bytes(),
        open_position: broker.open_trade(),
    })
}
