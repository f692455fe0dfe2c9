//! The engine loop: bars in, one program step per bar, broker and statistics updated as it goes.
//!
//! Contract: [`run`] pulls bars one at a time from a [`BarSource`] and never keeps them; memory
//! is the [`Machine`] (sized before the run) plus the broker's pending orders. On each bar t, in
//! this order: the broker checks the orders of bar t-1 for cash and tries every pending order
//! against bar t (market orders fill at its open); every slot head advances; the
//! inputs (`open`…`volume`, `time`, `bar_index`, `position`, `cash`, `equity`, `entry_price`) are
//! stored; the program runs (orders before the strategy's warm-up bar are dropped); equity is
//! marked at t's close. Plots and closed trades go to a [`Sink`] as they happen.

use crate::interp;
use crate::ir::BarProgram;
use crate::runtime::broker::{Broker, BrokerConfig, ClosedTrade, Event};
use crate::runtime::feed::{Bar, CsvFeed, FeedError};
use crate::runtime::machine::{Host, Machine};
use crate::sema::builtins::Action;
use crate::sema::builtins::{Input, Inputs};

/// Where bars come from.
pub trait BarSource {
    fn next_bar(&mut self) -> Result<Option<Bar>, FeedError>;
}

impl<R: std::io::Read> BarSource for CsvFeed<R> {
    fn next_bar(&mut self) -> Result<Option<Bar>, FeedError> {
        CsvFeed::next_bar(self)
    }
}

/// Bars already in memory (tests, benchmarks): any iterator of bars.
impl<I: Iterator<Item = Bar>> BarSource for I {
    fn next_bar(&mut self) -> Result<Option<Bar>, FeedError> {
        Ok(self.next())
    }
}

/// Runs one bar of a program: the interpreter or the JIT. A step advances every slot's head,
/// stores this bar's inputs into their slots, then runs the program.
pub trait StepEngine {
    fn step(&mut self, p: &BarProgram, m: &mut Machine, inputs: &Inputs, host: &mut dyn Host);
}

/// The reference interpreter as an engine.
pub struct Interpreter;

impl StepEngine for Interpreter {
    fn step(&mut self, p: &BarProgram, m: &mut Machine, inputs: &Inputs, host: &mut dyn Host) {
        m.advance(p);
        for (i, slot) in p.slots.iter().enumerate() {
            if let Some(input) = slot.input {
                m.store(slot, i, inputs[input as usize]);
            }
        }
        interp::step(p, m, host);
    }
}

/// Receives what a run produces as it goes.
pub trait Sink {
    fn plot(&mut self, _bar: u64, _index: u32, _value: f64) {}
    /// An order the strategy placed (after its warm-up), before the broker sees it.
    fn order(&mut self, _bar: u64, _action: Action, _args: &[f64]) {}
    fn trade(&mut self, _trade: &ClosedTrade) {}
    /// The end of a bar: its time, the equity marked at its close, the position held.
    /// A fill: signed size (positive bought) at a price, on bar `bar`.
    fn fill(&mut self, _bar: u64, _size: f64, _price: f64) {}
    /// The end of a bar: the bar itself and the account after it.
    fn bar(&mut self, _bar: u64, _data: &Bar, _account: &Account) {}
}

/// The account at the end of a bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Account {
    pub cash: f64,
    /// Equity: cash plus the position marked at the close.
    pub value: f64,
    /// Signed quantity held.
    pub position: f64,
}

/// A sink that keeps nothing.
pub struct NoSink;
impl Sink for NoSink {}

#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub bars: u64,
    pub warmup_bar: u64,
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

struct BarHost<'a, K: ?Sized> {
    broker: &'a mut Broker,
    sink: &'a mut K,
    bar: u64,
    close: f64,
    trading: bool,
}

impl<K: Sink + ?Sized> Host for BarHost<'_, K> {
    fn order(&mut self, action: Action, args: &[f64]) {
        if self.trading {
            self.sink.order(self.bar, action, args);
            self.broker.submit(self.bar, action, args, self.close);
        }
    }

    fn plot(&mut self, index: u32, value: f64) {
        self.sink.plot(self.bar, index, value);
    }
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
        Event::Fill { size, price } => sink.fill(bar, size, price),
        Event::Rejected | Event::Expired | Event::Cancelled => {}
    }
}

/// Runs the program over every bar of `source` (see the module contract).
///
/// Generic so that a concrete source, engine and sink are compiled into the loop (no dynamic
/// call per bar); trait objects work too.
pub fn run<S, E, K>(
    p: &BarProgram,
    source: &mut S,
    engine: &mut E,
    config: BrokerConfig,
    sink: &mut K,
) -> Result<Summary, FeedError>
where
    S: BarSource + ?Sized,
    E: StepEngine + ?Sized,
    K: Sink + ?Sized,
{
    let mut m = Machine::new(p);
    // Only the inputs the program reads are computed each bar.
    let needed: Vec<Input> = p.slots.iter().filter_map(|s| s.input).collect();
    let mut inputs: Inputs = [f64::NAN; 12];
    let mut broker = Broker::new(config);
    let mut counts = Counts::default();
    let mut peak = config.cash;
    let mut max_dd = 0.0f64;
    let mut bar = 0u64;
    let mut value = config.cash;
    while let Some(b) = source.next_bar()? {
        broker.open_bar(bar, &b, &mut |e| on_event(e, bar, &mut counts, sink));
        for &input in &needed {
            inputs[input as usize] = match input {
                Input::Open => b.open,
                Input::High => b.high,
                Input::Low => b.low,
                Input::Close => b.close,
                Input::Volume => b.volume,
                Input::Time => b.time as f64,
                Input::BarIndex => bar as f64,
                Input::Position => broker.position,
                Input::Cash => broker.cash,
                Input::Equity => broker.value(b.close),
                Input::EntryPrice => broker.entry_price(),
                Input::PendingOrders => broker.pending_orders() as f64,
            };
        }
        let mut host = BarHost {
            broker: &mut broker,
            sink,
            bar,
            close: b.close,
            trading: bar >= p.warmup,
        };
        engine.step(p, &mut m, &inputs, &mut host);
        broker.close_bar(bar, b.close, &mut |e| on_event(e, bar, &mut counts, sink));
        value = broker.value(b.close);
        let account = Account {
            cash: broker.cash,
            value,
            position: broker.position,
        };
        sink.bar(bar, &b, &account);
        peak = peak.max(value);
        // A division only when the drawdown may be a new maximum.
        if peak > 0.0 && value < peak * (1.0 - max_dd) {
            max_dd = max_dd.max((peak - value) / peak);
        }
        bar += 1;
    }
    Ok(Summary {
        bars: bar,
        warmup_bar: p.warmup,
        trades: counts.trades,
        winning_trades: counts.wins,
        initial_cash: config.cash,
        final_value: value,
        final_cash: broker.cash,
        total_return: value / config.cash - 1.0,
        max_drawdown: max_dd,
        rejected_orders: broker.rejected,
        invalid_orders: broker.invalid,
        expired_orders: broker.expired,
        cancelled_orders: broker.cancelled,
        buffer_bytes: p.buffer_bytes(),
        open_position: broker.open_trade(),
    })
}
