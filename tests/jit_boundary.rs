//! The JIT's boundary: a panic in the host (the broker or the sink, reached from compiled code)
//! never unwinds into compiled code; the run stops with an error that says so, wherever in the
//! bar protocol the host was called from.

use btl::runtime::broker::BrokerConfig;
use btl::runtime::engine::{self, RunError, Sink};
use btl::sema::builtins::Action;

/// A sink that panics on the `n`th order or plot.
struct Fragile {
    on_order: bool,
    left: u32,
}

impl Fragile {
    fn tick(&mut self) {
        if self.left == 0 {
            panic!("the sink broke");
        }
        self.left -= 1;
    }
}

impl Sink for Fragile {
    fn order(&mut self, _bar: u64, _action: Action, _args: &[f64], _name: Option<u32>) {
        if self.on_order {
            self.tick();
        }
    }
    fn plot(&mut self, _bar: u64, _index: u32, _value: f64) {
        if !self.on_order {
            self.tick();
        }
    }
}

fn run_until_it_breaks(src: &str, on_order: bool, left: u32) {
    let p = btl::compile("t.btl", src, &[]).bar_program().unwrap();
    let bars = btl::diff::bars(5, 2_000);
    let mut jit = btl::jit::Jit::compile(&p).unwrap();
    let mut sink = Fragile { on_order, left };
    match engine::run(
        &p,
        &mut &bars[..],
        &mut jit,
        BrokerConfig::DEFAULT,
        &mut sink,
    ) {
        Err(RunError::Engine(e)) => assert!(e.contains("panicked"), "{e}"),
        other => panic!("{src}: expected an engine error, got {other:?}"),
    }
}

#[test]
fn a_host_panic_stops_the_run_with_an_error() {
    // An order is a host call; plots are replayed from the sink log before it.
    let trading = "strategy t {\n    plot(close, \"c\")\n    if close > close[1] { buy(1) } else { sell(1) }\n}\n";
    run_until_it_breaks(trading, true, 10);
    run_until_it_breaks(trading, false, 100);
    // Ten plots and a bar end a bar fill the log (4,096 entries) on bar 372: it is replayed
    // then (plots 1 to 3,720), and at the end of the batch (the rest of bar 511's).
    let plots: String = (0..10)
        .map(|k| format!("    plot(close[{k}], \"p{k}\")\n"))
        .collect();
    let plotting = format!("strategy t {{\n{plots}}}\n");
    run_until_it_breaks(&plotting, false, 3_000);
    run_until_it_breaks(&plotting, false, 4_500);
}

/// A host with no broker and no sink.
struct Nothing;

impl btl::runtime::machine::Host for Nothing {
    fn open_bar(&mut self, _bar: u64, _b: &btl::runtime::feed::Bar, _frame: &[f64]) {}
    fn order(
        &mut self,
        _bar: u64,
        _b: &btl::runtime::feed::Bar,
        _frame: &[f64],
        _a: Action,
        _args: &[f64],
        _name: Option<u32>,
        _symbol: u32,
    ) {
    }
    fn plot(&mut self, _bar: u64, _index: u32, _value: f64) {}
    fn close_bar(&mut self, _bar: u64, _b: &btl::runtime::feed::Bar, _frame: &[f64]) {}
    fn end_bar(&mut self, _bar: u64, _b: &btl::runtime::feed::Bar, _value: f64) {}
    fn account(&self) -> btl::runtime::machine::AccountView {
        btl::runtime::machine::AccountView {
            position: 0.0,
            cash: 0.0,
            entry_price: f64::NAN,
            pending: 0.0,
            fills: [btl::runtime::machine::FillView::NONE; btl::sema::builtins::MAX_ORDER_NAMES],
            positions: [0.0; btl::runtime::machine::MAX_SYMBOLS],
            entry_prices: [f64::NAN; btl::runtime::machine::MAX_SYMBOLS],
        }
    }
    fn flags(&self) -> btl::runtime::machine::RunFlags {
        btl::runtime::machine::RunFlags {
            fill_on_close: false,
            wants_bars: false,
        }
    }
}

/// Compiled code runs only on the machine layout it was compiled for: another program's machine
/// is refused, not written out of bounds.
#[test]
fn a_machine_of_another_program_is_refused() {
    use btl::runtime::engine::{Engine, LoopState};
    use btl::runtime::machine::Machine;
    let small = btl::compile("a.btl", "strategy a {\n    plot(close[1], \"c\")\n}\n", &[])
        .bar_program()
        .unwrap();
    let large = btl::compile(
        "b.btl",
        "strategy b {\n    plot(close[40], \"c\")\n}\n",
        &[],
    )
    .bar_program()
    .unwrap();
    let bars = btl::diff::bars(5, 10);
    let mut jit = btl::jit::Jit::compile(&large).unwrap();
    let mut state = LoopState::new(100_000.0);
    let wrong = jit.run_bars(
        &small,
        &mut Machine::new(&small),
        &bars,
        &[],
        &mut state,
        &mut Nothing,
    );
    assert!(wrong.is_err_and(|e| e.contains("not the one the program was compiled for")));
    let right = jit.run_bars(
        &large,
        &mut Machine::new(&large),
        &bars,
        &[],
        &mut state,
        &mut Nothing,
    );
    assert_eq!(right, Ok(()));
    assert_eq!(state.bar, 10);
}
