//! Sums that do not drift (`window_sum`, under `sma`): on 1M generated bars of 4-decimal prices,
//! on both engines, each `sma(close, n)` equals the correctly rounded sum of its window
//! (`math.fsum`, which backtrader's SMA uses) divided by n, bit for bit; where the prices are
//! exact in binary, `sma(close, 10) - sma(close, 30)` is exactly 0.0 on every bar where the two
//! averages are equal in exact arithmetic; and on decimal prices (not exact in binary) most
//! such ties stay exactly 0.0, where a running `total[1] + src - src[n]` leaves a residue on
//! almost every one.

use btl::runtime::broker::BrokerConfig;
use btl::runtime::engine::{self, Interpreter, Sink};
use btl::runtime::feed::Bar;

struct Plots(Vec<f64>);

impl Sink for Plots {
    fn plot(&mut self, _bar: u64, _index: u32, value: f64) {
        self.0.push(value);
    }
}

/// `n` bars of a random walk in whole ticks of `tick` ten-thousandths around 100 (small steps,
/// so that a 10- and a 30-bar average are often exactly equal), and the closes in ticks.
fn bars(n: usize, tick: i64) -> (Vec<Bar>, Vec<i64>) {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut ticks = 1_000_000 / tick;
    let (mut bars, mut closes) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ticks = (ticks + (state % 3) as i64 - 1).max(1);
        let units = ticks * tick;
        // The double nearest the 4-decimal price, as a CSV would give it.
        let close: f64 = format!("{}.{:04}", units / 10_000, units % 10_000)
            .parse()
            .unwrap();
        bars.push(Bar {
            time: 946_684_800_000 + i as i64 * 60_000,
            open: close,
            high: close,
            low: close,
            close,
            volume: 1.0,
        });
        closes.push(ticks);
    }
    (bars, closes)
}

/// The SMA with a running total, as the stdlib had it: the drift this replaces.
const PROGRAM: &str = "fn running(src: series float, n: int) -> series float {
    let total = nz(total[1]) + nz(src) - nz(src[n])
    if not na(src[n - 1]) { total / n } else { na }
}
strategy t {
    let f = sma(close, 10)
    let s = sma(close, 30)
    plot(f, \"f\")
    plot(s, \"s\")
    plot(f - s, \"d\")
    plot(running(close, 10) - running(close, 30), \"r\")
}
";

/// What one data set showed: exact ties, and those where the exact and the running SMAs'
/// difference is not 0.0.
struct Ties {
    ties: usize,
    exact_off: usize,
    running_off: usize,
}

fn check(n: usize, tick: i64) -> Ties {
    let (bars, ticks) = bars(n, tick);
    let c = btl::compile("ties.btl", PROGRAM, &[]);
    let p = c.bar_program().expect("compiles");
    let mut jit = btl::jit::Jit::compile(&p).expect("jit");
    let mut runs = Vec::new();
    for engine in [&mut Interpreter as &mut dyn engine::Engine, &mut jit] {
        let mut plots = Plots(Vec::with_capacity(4 * n));
        let mut source: &[Bar] = &bars;
        engine::run(&p, &mut source, engine, BrokerConfig::default(), &mut plots).unwrap();
        runs.push(plots.0);
    }
    assert!(
        runs[0]
            .iter()
            .zip(&runs[1])
            .all(|(a, b)| btl::diff::same(*a, *b)),
        "both engines agree bit for bit"
    );
    let v = &runs[0];
    let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let mut seen = Ties {
        ties: 0,
        exact_off: 0,
        running_off: 0,
    };
    for t in 29..n {
        let (f, s, d, r) = (v[4 * t], v[4 * t + 1], v[4 * t + 2], v[4 * t + 3]);
        let want_f = btl::exact::fsum(&closes[t - 9..=t]) / 10.0;
        let want_s = btl::exact::fsum(&closes[t - 29..=t]) / 30.0;
        assert_eq!(
            f.to_bits(),
            want_f.to_bits(),
            "bar {t}: sma10 {f:?}, fsum/10 {want_f:?}"
        );
        assert_eq!(
            s.to_bits(),
            want_s.to_bits(),
            "bar {t}: sma30 {s:?}, fsum/30 {want_s:?}"
        );
        // Equal in exact arithmetic: 3 × (sum of 10) = sum of 30, in ticks.
        let sum10: i64 = ticks[t - 9..=t].iter().sum();
        let sum30: i64 = ticks[t - 29..=t].iter().sum();
        if 3 * sum10 == sum30 {
            seen.ties += 1;
            seen.exact_off += usize::from(d != 0.0);
            seen.running_off += usize::from(r != 0.0);
        }
    }
    seen
}

#[test]
fn sma_is_the_correctly_rounded_window_mean_and_exact_ties_stay_ties() {
    // Ticks of 0.0625: 4-decimal prices that are exact in binary, so the averages' exact
    // difference is that of the doubles themselves. Every tie is exactly 0.0.
    let binary = check(1_000_000, 625);
    assert!(
        binary.ties > 1000,
        "the data hold exact ties: {}",
        binary.ties
    );
    assert_eq!(binary.exact_off, 0, "of {} exact ties", binary.ties);

    // Ticks of 0.0001: each price is the double nearest a decimal, so a tie of the decimals is
    // not one of the doubles; the exact sums keep most at 0.0, the running sums almost none.
    let decimal = check(1_000_000, 1);
    assert!(
        decimal.ties > 1000,
        "the data hold decimal ties: {}",
        decimal.ties
    );
    assert!(
        decimal.exact_off * 2 < decimal.ties && decimal.running_off * 10 > decimal.ties * 9,
        "decimal ties {}: not 0.0 with exact sums {}, with running sums {}",
        decimal.ties,
        decimal.exact_off,
        decimal.running_off
    );
}
