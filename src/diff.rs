//! Differential testing: the same program on the interpreter and the JIT over the same bars, every
//! plotted value, every order, every fill, every closed trade, the equity of every bar, the final
//! equity and the largest drawdown compared bit for bit.
//!
//! Contract: [`trace`] records what one engine produced; [`compare`] lists every divergence
//! between two traces (all of them, not the first); each engine runs twice, with a sink that sees
//! every bar and with one that sees none (the JIT skips the per-bar host call then), and both runs
//! must end the same; [`differential`] compiles a program, runs both
//! engines and compares. Values are compared with `f64::to_bits`, except that any two NaNs are equal
//! (every NaN is `na`; payload bits are not part of the language). Bars are in memory: this module
//! exists for tests and `btl fuzz`, not for runs.

use crate::ir::BarProgram;
use crate::jit::Jit;
use crate::runtime::align::{Aligned, Steps};
use crate::runtime::broker::{BrokerConfig, ClosedTrade};
use crate::runtime::engine::{self, Account, BarSource, Engine, Interpreter, NoSink, Sink};
use crate::runtime::feed::Bar;
use crate::sema::elab::Action;

/// Everything an engine produced in a run.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub plots: Vec<(u64, u32, f64)>,
    pub orders: Vec<(u64, Action, Vec<f64>, Option<u32>)>,
    pub trades: Vec<ClosedTrade>,
    pub fills: Vec<(u64, f64, f64)>,
    /// Fills of symbols other than the primary: (symbol, bar, size, price).
    pub symbol_fills: Vec<(u32, u64, f64, f64)>,
    /// Per bar: cash, equity, position.
    pub equity: Vec<(f64, f64, f64)>,
    pub final_value: f64,
    pub final_cash: f64,
    pub max_drawdown: f64,
    pub rejected: u64,
    /// Final equity, largest drawdown and closed trades of the run with a sink that sees no bar.
    pub quiet: (f64, f64, u64),
}

impl Sink for Trace {
    fn plot(&mut self, bar: u64, index: u32, value: f64) {
        self.plots.push((bar, index, value));
    }
    fn order(&mut self, bar: u64, action: Action, args: &[f64], name: Option<u32>) {
        self.orders.push((bar, action, args.to_vec(), name));
    }
    fn trade(&mut self, trade: &ClosedTrade) {
        self.trades.push(*trade);
    }
    fn fill(
        &mut self,
        bar: u64,
        size: f64,
        price: f64,
        _kind: crate::runtime::broker::FillKind,
        _exit: bool,
    ) {
        self.fills.push((bar, size, price));
    }
    fn symbol_fill(
        &mut self,
        symbol: u32,
        bar: u64,
        size: f64,
        price: f64,
        _kind: crate::runtime::broker::FillKind,
        _exit: bool,
    ) {
        self.symbol_fills.push((symbol, bar, size, price));
    }
    fn bar(&mut self, _bar: u64, _data: &Bar, a: &Account) {
        self.equity.push((a.cash, a.value, a.position));
    }
}

/// Bit equality, with every NaN equal to every NaN.
pub fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

pub const CONFIG: BrokerConfig = BrokerConfig {
    cash: 100_000.0,
    commission: 0.001,
    ..BrokerConfig::DEFAULT
};

/// The broker of differential run number `variant`: [`CONFIG`], or for odd variants the same with
/// fill-on-close (the JIT's other path at the end of a bar).
pub fn config(variant: u64) -> BrokerConfig {
    BrokerConfig {
        fill_on_close: variant % 2 == 1,
        ..CONFIG
    }
}

pub fn trace(
    p: &BarProgram,
    bars: &[Bar],
    engine: &mut dyn Engine,
    config: BrokerConfig,
) -> Result<Trace, String> {
    let (steps, frames) = steps(p, bars)?;
    trace_steps(p, &steps, &frames, engine, config)
}

/// [`trace`] over steps already aligned (`frames`: `p.frame_len` values per step).
pub fn trace_steps(
    p: &BarProgram,
    steps: &[Bar],
    frames: &[f64],
    engine: &mut dyn Engine,
    config: BrokerConfig,
) -> Result<Trace, String> {
    let source = || Steps {
        bars: steps,
        frames,
        stride: p.frame_len as usize,
    };
    let mut t = Trace::default();
    let s = engine::run(p, &mut source(), engine, config, &mut t).map_err(|e| e.to_string())?;
    t.final_value = s.final_value;
    t.final_cash = s.final_cash;
    t.max_drawdown = s.max_drawdown;
    t.rejected = s.rejected_orders;
    let q =
        engine::run(p, &mut source(), engine, config, &mut NoSink).map_err(|e| e.to_string())?;
    t.quiet = (q.final_value, q.max_drawdown, q.trades);
    Ok(t)
}

/// The steps a program runs on over `bars`: the bars themselves for a program with one clock;
/// with feeds of its own, `bars` as the primary feed, each other data feed generated (a seed of
/// its own, every fifth bar from a shifted start missing, so feeds do not tick together), and
/// resampled feeds cut in UTC.
pub fn steps(p: &BarProgram, bars: &[Bar]) -> Result<(Vec<Bar>, Vec<f64>), String> {
    if p.frame_len == 0 {
        return Ok((bars.to_vec(), Vec::new()));
    }
    let data = p.feeds.iter().filter(|f| f.is_data()).count();
    let others: Vec<Vec<Bar>> = (1..data)
        .map(|k| {
            let mut b = self::bars(0x5eed + k as u64, bars.len());
            for (bar, primary) in b.iter_mut().zip(bars) {
                bar.time = primary.time;
            }
            b.into_iter()
                .enumerate()
                .filter(|(i, _)| (i + k) % 5 != 0 || *i == 0)
                .map(|(_, b)| b)
                .collect()
        })
        .collect();
    let mut sources: Vec<Box<dyn BarSource + '_>> = vec![Box::new(bars)];
    sources.extend(
        others
            .iter()
            .map(|o| Box::new(&o[..]) as Box<dyn BarSource + '_>),
    );
    let mut aligned = Aligned::new(p, sources, jiff::tz::TimeZone::UTC)?;
    crate::runtime::align::collect(&mut aligned).map_err(|e| e.to_string())
}

/// Every difference between two traces, described.
pub fn compare(a: &Trace, b: &Trace) -> Vec<String> {
    let mut out = Vec::new();
    if a.plots.len() != b.plots.len() {
        out.push(format!(
            "plotted {} values vs {}",
            a.plots.len(),
            b.plots.len()
        ));
    }
    for (x, y) in a.plots.iter().zip(&b.plots) {
        if x.0 != y.0 || x.1 != y.1 || !same(x.2, y.2) {
            out.push(format!(
                "plot {} at bar {}: {:?} ({:#x}) vs {:?} ({:#x})",
                x.1,
                x.0,
                x.2,
                x.2.to_bits(),
                y.2,
                y.2.to_bits()
            ));
        }
    }
    if a.orders.len() != b.orders.len() {
        out.push(format!("{} orders vs {}", a.orders.len(), b.orders.len()));
    }
    for (x, y) in a.orders.iter().zip(&b.orders) {
        let args_same = x.2.len() == y.2.len() && x.2.iter().zip(&y.2).all(|(p, q)| same(*p, *q));
        if x.0 != y.0 || x.1 != y.1 || !args_same {
            out.push(format!("order {x:?} vs {y:?}"));
        }
    }
    if a.trades.len() != b.trades.len() {
        out.push(format!(
            "{} closed trades vs {}",
            a.trades.len(),
            b.trades.len()
        ));
    }
    for (x, y) in a.trades.iter().zip(&b.trades) {
        let fields = [
            (x.qty, y.qty),
            (x.entry_price, y.entry_price),
            (x.exit_price, y.exit_price),
            (x.pnl, y.pnl),
            (x.pnl_net, y.pnl_net),
        ];
        if x.entry_bar != y.entry_bar
            || x.exit_bar != y.exit_bar
            || fields.iter().any(|(p, q)| !same(*p, *q))
        {
            out.push(format!("trade {x:?} vs {y:?}"));
        }
    }
    if !same(a.final_value, b.final_value) || !same(a.final_cash, b.final_cash) {
        out.push(format!(
            "final value {:?} / cash {:?} vs {:?} / {:?}",
            a.final_value, a.final_cash, b.final_value, b.final_cash
        ));
    }
    if a.fills.len() != b.fills.len() {
        out.push(format!("{} fills vs {}", a.fills.len(), b.fills.len()));
    }
    for (x, y) in a.fills.iter().zip(&b.fills) {
        if x.0 != y.0 || !same(x.1, y.1) || !same(x.2, y.2) {
            out.push(format!("fill {x:?} vs {y:?}"));
        }
    }
    if a.symbol_fills.len() != b.symbol_fills.len() {
        out.push(format!(
            "{} fills of other symbols vs {}",
            a.symbol_fills.len(),
            b.symbol_fills.len()
        ));
    }
    for (x, y) in a.symbol_fills.iter().zip(&b.symbol_fills) {
        if x.0 != y.0 || x.1 != y.1 || !same(x.2, y.2) || !same(x.3, y.3) {
            out.push(format!("fill of another symbol {x:?} vs {y:?}"));
        }
    }
    if a.equity.len() != b.equity.len() {
        out.push(format!("{} bars vs {}", a.equity.len(), b.equity.len()));
    }
    for (bar, (x, y)) in a.equity.iter().zip(&b.equity).enumerate() {
        if !same(x.0, y.0) || !same(x.1, y.1) || !same(x.2, y.2) {
            out.push(format!("account at bar {bar}: {x:?} vs {y:?}"));
        }
    }
    if !same(a.max_drawdown, b.max_drawdown) {
        out.push(format!(
            "largest drawdown {:?} vs {:?}",
            a.max_drawdown, b.max_drawdown
        ));
    }
    for (name, t) in [("first", a), ("second", b)] {
        let loud = (t.final_value, t.max_drawdown, t.trades.len() as u64);
        if !same(loud.0, t.quiet.0) || !same(loud.1, t.quiet.1) || loud.2 != t.quiet.2 {
            out.push(format!(
                "the {name} engine ends differently without a per-bar sink: {loud:?} vs {:?}",
                t.quiet
            ));
        }
    }
    if a.rejected != b.rejected {
        out.push(format!("{} rejected orders vs {}", a.rejected, b.rejected));
    }
    out
}

/// Compiles `src`, runs it on both engines over `bars` with the broker `config` and lists the
/// divergences.
/// `Err` when the program does not compile or an engine fails.
pub fn differential(
    name: &str,
    src: &str,
    bars: &[Bar],
    config: BrokerConfig,
) -> Result<Vec<String>, String> {
    let c = crate::compile(name, src, &[]);
    let Some(p) = c.bar_program() else {
        let msgs: Vec<String> = c
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| format!("{}: {}", d.code, d.message))
            .collect();
        return Err(format!("{name} does not compile: {}", msgs.join("; ")));
    };
    let interp = trace(&p, bars, &mut Interpreter, config)?;
    let mut jit = Jit::compile(&p)?;
    let native =
        trace(&p, bars, &mut jit, config).map_err(|e| format!("{name}: the JIT run: {e}"))?;
    Ok(compare(&interp, &native))
}

/// Deterministic bars: a random walk with gaps, flat stretches and volume, from a seed.
pub fn bars(seed: u64, n: usize) -> Vec<Bar> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut price = 50.0 + 100.0 * next();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let r = next();
        // Now and then a flat bar (equal prices, zero ranges) and a gap.
        let open = if r < 0.05 {
            price
        } else {
            price * (1.0 + (next() - 0.5) * 0.02)
        };
        let close = if r < 0.03 {
            open
        } else {
            (open * (1.0 + (next() - 0.5) * 0.04)).max(0.01)
        };
        let high = open.max(close) * (1.0 + if r < 0.03 { 0.0 } else { next() * 0.01 });
        let low = open.min(close) * (1.0 - if r < 0.03 { 0.0 } else { next() * 0.01 });
        price = close;
        out.push(Bar {
            time: 1_600_000_000_000 + i as i64 * 60_000,
            open,
            high,
            low,
            close,
            volume: (next() * 10_000.0).floor(),
        });
    }
    out
}
