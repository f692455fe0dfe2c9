//! The brokers and the sink behind the [`Host`] interface: one broker per symbol (data feed),
//! one account.
//!
//! Contract: symbol 0 is the primary feed, then the program's other data feeds in declaration
//! order. Each symbol has its own position, entry price, pending orders, fills and trades; the
//! cash is one, shared: it is handed to a symbol's broker for each of its turns and taken back
//! after. A symbol's broker acts only on steps where its feed has a bar (its bar read from the
//! step's frame; the primary's from the step's bar when it has the step clock); an order placed
//! on another step waits for the symbol's next bar. The account view holds the primary's
//! position and entry price where compiled code reads them, every symbol's in arrays, and each
//! order name's latest fill on any symbol. Closed trades reach the sink with their symbol; fills
//! and orders of the primary reach it as before, the others through [`Sink::symbol_fill`].

use crate::ir::{BarProgram, tick_at};
use crate::runtime::broker::{Broker, BrokerConfig, Event};
use crate::runtime::engine::{Account, Sink};
use crate::runtime::feed::Bar;
use crate::runtime::machine::{AccountView, Host, MAX_SYMBOLS, RunFlags};
use crate::sema::builtins::Action;

pub(crate) struct RunHost<'a, K: ?Sized> {
    pub brokers: Vec<Broker>,
    /// Per symbol, the clock of its feed (0: every step).
    clocks: Vec<u32>,
    /// The account's cash, between turns.
    pub cash: f64,
    pub sink: &'a mut K,
    warmup: u64,
    flags: RunFlags,
    pub counts: Counts,
    /// Whether the sink wants the protective levels in [`Account`].
    levels: bool,
    /// The account view, rebuilt after each broker call (the only calls that change it), so
    /// that `account()`, asked on every bar, is a copy.
    view: AccountView,
}

#[derive(Default)]
pub(crate) struct Counts {
    pub trades: u64,
    pub wins: u64,
    /// Per symbol: closed trades, winning ones, their net P&L.
    pub per_symbol: Vec<(u64, u64, f64)>,
}

fn on_event<K: Sink + ?Sized>(e: Event, bar: u64, symbol: u32, counts: &mut Counts, sink: &mut K) {
    match e {
        Event::Closed(mut t) => {
            t.symbol = symbol;
            counts.trades += 1;
            counts.wins += u64::from(t.pnl_net > 0.0);
            if let Some(c) = counts.per_symbol.get_mut(symbol as usize) {
                c.0 += 1;
                c.1 += u64::from(t.pnl_net > 0.0);
                c.2 += t.pnl_net;
            }
            sink.trade(&t);
        }
        Event::Fill {
            size,
            price,
            kind,
            exit,
        } if symbol == 0 => sink.fill(bar, size, price, kind, exit),
        Event::Fill {
            size,
            price,
            kind,
            exit,
        } => sink.symbol_fill(symbol, bar, size, price, kind, exit),
        Event::Rejected | Event::Expired | Event::Cancelled => {}
    }
}

/// The bar symbol `k` shows on a step: the step's own bar for a symbol with the step clock, else
/// its part of the frame.
fn symbol_bar(clock: u32, b: &Bar, frame: &[f64]) -> Bar {
    if clock == 0 {
        return *b;
    }
    let at = tick_at(clock);
    let v = |i: usize| frame.get(at + i).copied().unwrap_or(f64::NAN);
    Bar {
        time: v(6) as i64,
        open: v(1),
        high: v(2),
        low: v(3),
        close: v(4),
        volume: v(5),
    }
}

impl<'a, K: Sink + ?Sized> RunHost<'a, K> {
    pub fn new(p: &BarProgram, config: BrokerConfig, sink: &'a mut K) -> Self {
        let flags = RunFlags {
            fill_on_close: config.fill_on_close,
            wants_bars: sink.wants_bars(),
        };
        let levels = sink.wants_levels();
        let clocks = if p.symbols.is_empty() {
            vec![0]
        } else {
            p.symbols.clone()
        };
        let clocks_len = clocks.len();
        let mut host = RunHost {
            brokers: clocks.iter().map(|_| Broker::new(config)).collect(),
            clocks,
            cash: config.cash,
            sink,
            warmup: p.warmup.unwrap_or(u64::MAX),
            flags,
            counts: Counts {
                per_symbol: vec![(0, 0, 0.0); clocks_len],
                ..Counts::default()
            },
            levels,
            view: AccountView {
                position: 0.0,
                cash: config.cash,
                entry_price: f64::NAN,
                pending: 0.0,
                fills: [crate::runtime::machine::FillView::NONE;
                    crate::sema::builtins::MAX_ORDER_NAMES],
                positions: [0.0; MAX_SYMBOLS],
                entry_prices: [f64::NAN; MAX_SYMBOLS],
            },
        };
        host.view = host.build_view();
        host
    }

    /// Runs `f` on symbol `k`'s broker with the account's cash.
    fn with_broker(&mut self, k: usize, f: impl FnOnce(&mut Broker, &mut Counts, &mut K)) {
        let Some(broker) = self.brokers.get_mut(k) else {
            return;
        };
        broker.cash = self.cash;
        f(broker, &mut self.counts, self.sink);
        self.cash = broker.cash;
        self.view = self.build_view();
    }

    /// The account as the program sees it (see [`AccountView`]).
    fn build_view(&self) -> AccountView {
        let primary = &self.brokers[0];
        let mut view = AccountView {
            position: primary.position,
            cash: self.cash,
            entry_price: primary.entry_price(),
            pending: 0.0,
            fills: primary.last_fills,
            positions: [0.0; MAX_SYMBOLS],
            entry_prices: [f64::NAN; MAX_SYMBOLS],
        };
        for (k, broker) in self.brokers.iter().enumerate().take(MAX_SYMBOLS) {
            view.positions[k] = broker.position;
            view.entry_prices[k] = broker.entry_price();
            view.pending += broker.pending_orders() as f64;
            if k > 0 {
                // Each name's latest fill on any symbol.
                for (mine, theirs) in view.fills.iter_mut().zip(&broker.last_fills) {
                    if theirs.bar > mine.bar || (mine.bar.is_nan() && !theirs.bar.is_nan()) {
                        *mine = *theirs;
                    }
                }
            }
        }
        view
    }

    /// Symbol `k`'s bar on this step when its feed has one and it has orders waiting.
    fn turn(&self, k: usize, b: &Bar, frame: &[f64]) -> Option<Bar> {
        (self.brokers[k].pending_orders() > 0 && BarProgram::ticked(self.clocks[k], frame))
            .then(|| symbol_bar(self.clocks[k], b, frame))
    }
}

impl<K: Sink + ?Sized> Host for RunHost<'_, K> {
    fn open_bar(&mut self, bar: u64, b: &Bar, frame: &[f64]) {
        for k in 0..self.brokers.len() {
            let Some(sb) = self.turn(k, b, frame) else {
                continue;
            };
            self.with_broker(k, |broker, counts, sink| {
                broker.now = sb.time;
                broker.open_bar(bar, &sb, &mut |e| on_event(e, bar, k as u32, counts, sink));
            });
        }
    }

    fn order(
        &mut self,
        bar: u64,
        b: &Bar,
        frame: &[f64],
        action: Action,
        args: &[f64],
        name: Option<u32>,
        symbol: u32,
    ) {
        if bar < self.warmup {
            return;
        }
        let k = symbol as usize;
        let Some(&clock) = self.clocks.get(k) else {
            return;
        };
        let close = symbol_bar(clock, b, frame).close;
        if symbol == 0 {
            self.sink.order(bar, action, args, name);
        }
        self.with_broker(k, |broker, _, _| {
            broker.submit(bar, action, args, close, name)
        });
    }

    fn plot(&mut self, bar: u64, index: u32, value: f64) {
        self.sink.plot(bar, index, value);
    }

    fn close_bar(&mut self, bar: u64, b: &Bar, frame: &[f64]) {
        for k in 0..self.brokers.len() {
            let Some(sb) = self.turn(k, b, frame) else {
                continue;
            };
            self.with_broker(k, |broker, counts, sink| {
                broker.now = sb.time;
                broker.close_bar(bar, sb.close, &mut |e| {
                    on_event(e, bar, k as u32, counts, sink)
                });
            });
        }
    }

    fn end_bar(&mut self, bar: u64, b: &Bar, value: f64) {
        let primary = &self.brokers[0];
        let (stop, target) = if self.levels {
            primary.protective_levels()
        } else {
            (f64::NAN, f64::NAN)
        };
        let mut positions = [0.0; MAX_SYMBOLS];
        for (p, b) in positions.iter_mut().zip(&self.brokers) {
            *p = b.position;
        }
        let account = Account {
            cash: self.cash,
            value,
            position: primary.position,
            stop,
            target,
            positions,
            symbols: self.brokers.len().min(MAX_SYMBOLS) as u32,
        };
        self.sink.bar(bar, b, &account);
    }

    fn account(&self) -> AccountView {
        self.view
    }

    fn flags(&self) -> RunFlags {
        self.flags
    }
}

/// The account's value on a step: cash, plus each symbol's position at its last close (a flat
/// symbol adds nothing, even before its first bar). One definition for both engines: the JIT
/// compiles the same sum in the same order.
pub fn equity(p: &BarProgram, a: &AccountView, b: &Bar, frame: &[f64]) -> f64 {
    let mut value = a.cash + a.position * b.close;
    for (k, &clock) in p.symbols.iter().enumerate().skip(1).take(MAX_SYMBOLS - 1) {
        let position = a.positions[k];
        if position != 0.0 {
            value += position * frame.get(tick_at(clock) + 4).copied().unwrap_or(f64::NAN);
        }
    }
    value
}
