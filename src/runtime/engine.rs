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
use crate::runtime::broker::{Broker, BrokerConfig, ClosedTrade, FillKind};
use crate::runtime::feed::{Bar, CsvFeed, FeedError};
use crate::runtime::host::{self, RunHost};
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

/// The value of an input on bar `bar`, given the account after the broker's turn; `position`
/// and `entry_price` of `symbol`. (`equity` here is the primary's; see `host::equity`.)
#[inline]
pub fn input_value(input: Input, b: &Bar, bar: u64, a: &AccountView, symbol: u32) -> f64 {
    if symbol != 0 {
        match input {
            Input::Position => return a.positions.get(symbol as usize).copied().unwrap_or(0.0),
            Input::EntryPrice => {
                return a
                    .entry_prices
                    .get(symbol as usize)
                    .copied()
                    .unwrap_or(f64::NAN);
            }
            _ => {}
        }
    }
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
    // The account changes only in the host: it is asked again after each call that may change it.
    let mut account = host.account();
    if account.pending != 0.0 {
        host.open_bar(bar, b, frame);
        account = host.account();
    }
    if p.frame_len == 0 {
        m.advance(p);
    } else {
        m.advance_ticked(p, frame);
    }
    let several = p.symbols.len() > 1;
    for (i, slot) in p.slots.iter().enumerate() {
        if let Some(input) = slot.input {
            let v = match input {
                Input::Equity if several => host::equity(p, &account, b, frame),
                _ => input_value(input, b, bar, &account, slot.symbol),
            };
            m.store(slot, i, v);
        } else if let Some(at) = slot.frame {
            m.store(slot, i, frame.get(at as usize).copied().unwrap_or(f64::NAN));
        }
    }
    interp::step(p, m, bar, b, frame, host);
    let mut account = host.account();
    if flags.fill_on_close && account.pending != 0.0 {
        host.close_bar(bar, b, frame);
        account = host.account();
    }
    let value = host::equity(p, &account, b, frame);
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
    /// A fill of another symbol than the primary feed (symbol `symbol`).
    fn symbol_fill(
        &mut self,
        _symbol: u32,
        _bar: u64,
        _size: f64,
        _price: f64,
        _kind: FillKind,
        _exit: bool,
    ) {
    }
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
    /// Every symbol's position (0: the primary feed's, as `position`), the first `symbols`.
    pub positions: [f64; crate::runtime::machine::MAX_SYMBOLS],
    pub symbols: u32,
}

impl Account {
    /// Whether any symbol has a position open.
    pub fn exposed(&self) -> bool {
        self.positions[..self.symbols as usize]
            .iter()
            .any(|&p| p != 0.0)
    }
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
    /// Every symbol's open position at the end (symbol 0: the primary feed).
    pub open_positions: Vec<(u32, (u64, f64, f64))>,
    /// Per symbol (0: the primary feed, then the other data feeds): closed trades, winning
    /// ones, their net P&L.
    pub symbols: Vec<(u64, u64, f64)>,
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
    let mut host = RunHost::new(p, config, sink);
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
    let brokers = &host.brokers;
    let sum = |f: fn(&Broker) -> u64| brokers.iter().map(f).sum::<u64>();
    let mut invalid_reasons = brokers[0].invalid_reasons;
    for b in &brokers[1..] {
        invalid_reasons.add(&b.invalid_reasons);
    }
    Ok(Summary {
        bars: state.bar,
        warmup_bar: p.warmup,
        trades: host.counts.trades,
        winning_trades: host.counts.wins,
        initial_cash: config.cash,
        final_value: state.value,
        final_cash: host.cash,
        total_return: state.value / config.cash - 1.0,
        max_drawdown: state.max_dd,
        rejected_orders: sum(|b| b.rejected),
        invalid_orders: sum(|b| b.invalid),
        invalid_reasons,
        expired_orders: sum(|b| b.expired),
        cancelled_orders: sum(|b| b.cancelled),
        buffer_bytes: p.buffer_bytes(),
        open_position: brokers[0].open_trade(),
        symbols: host.counts.per_symbol.clone(),
        open_positions: brokers
            .iter()
            .enumerate()
            .filter_map(|(k, b)| b.open_trade().map(|t| (k as u32, t)))
            .collect(),
    })
}
