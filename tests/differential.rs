//! The JIT's specification: every example, every stdlib indicator (as a strategy that plots it and
//! trades on it) and a corpus of generated programs give the same plotted values, orders, fills and
//! final equity, bit for bit, on the interpreter and the JIT. And the harness catches a planted
//! difference.

mod common;

use btl::diff;
use btl::ir::Inst;
use btl::runtime::engine::Interpreter;

/// A strategy that plots an indicator and trades on its changes.
fn indicator_strategy(call: &str) -> String {
    format!(
        "strategy t {{\n    let x = {call}\n    plot(x, \"x\")\n    if x > x[1] and position <= 0 {{ buy(10) }}\n    if x < x[1] and position >= 0 {{ sell(10) }}\n}}\n"
    )
}

fn corpus() -> Vec<(String, String)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(common::root().join("examples")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "btl") {
            v.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
    }
    for call in common::INDICATOR_CALLS {
        v.push((call.to_string(), indicator_strategy(call)));
    }
    // Ten plots a bar fill the JIT's sink log (4,096 entries) within a batch of 512 bars.
    let plots: String = (0..10)
        .map(|k| format!("    plot(close[{k}] - open, \"p{k}\")\n"))
        .collect();
    v.push((
        "many plots".into(),
        format!(
            "strategy t {{\n{plots}    if close > close[3] {{ buy(1) }} else {{ sell(1) }}\n}}\n"
        ),
    ));
    // Seven rings: the JIT keeps four heads in registers and the others in memory.
    v.push((
        "many rings".into(),
        "strategy t {\n    let a = close[5] + open[6] + high[7] + low[8]\n    let b = volume[9] / 1000 + a[5]\n    plot(a - b[6], \"x\")\n    if a > a[5] { buy(1) } else { sell(1) }\n}\n".into(),
    ));
    v.push((
        "crossings".into(),
        "strategy t {\n    plot(if crossover(close, sma(close, 5)) { 1 } else { 0 }, \"up\")\n    plot(if crossunder(close, sma(close, 5)) { 1 } else { 0 }, \"down\")\n}\n".into(),
    ));
    // Many orders a bar, some rejected for cash, limits and brackets among them.
    v.push((
        "orders in a loop".into(),
        "strategy t {\n    for i in 0..300 {\n        if i % 3 == 0 { buy(10) } else if i % 3 == 1 { sell_limit(5, close * 1.01, 2) } else { buy_bracket(1, close * 0.98, close * 1.02) }\n    }\n    if bar_index % 7 == 0 { cancel_all() }\n}\n".into(),
    ));
    // An action with no argument as the whole program: no register at all.
    for action in ["close_position()", "cancel_all()", "cancel(\"x\")"] {
        v.push((
            format!("only {action}"),
            format!("strategy t {{\n    {action}\n}}\n"),
        ));
    }
    // Two data feeds that do not tick together (the second misses bars), a resampled feed, reads
    // across clocks, small and large buffers of feed clocks, orders gated on the primary's bars.
    v.push((
        "feeds".into(),
        "strategy t {\n    feed b\n    feed w = resample(\"1w\")\n    let spread = log(close) - log(b.close)\n    let m = sma(spread, 20)\n    let sd = stdev(spread, 20)\n    let z = (spread - m) / sd\n    let bs = b.sma(close, 3)\n    let bl = b.(close[12] + bar_index)\n    let wk = w.ema(close, 4)\n    let wh = w.(high[1])\n    plot(z, \"z\")\n    plot(bs + bl, \"b\")\n    plot(wk - wh, \"w\")\n    if position == 0 and z > 1 { sell(10) }\n    if position == 0 and z < -1 and close > wk { buy(10) }\n    if position != 0 and abs(z) < 0.2 { close_position() }\n    if b.position == 0 and z > 0.5 { b.buy(7) }\n    if b.position > 0 and z < 0 { b.close_position() }\n    plot(b.position + b.entry_price + equity, \"bpos\")\n}\n".into(),
    ));
    v.push((
        "math".into(),
        "strategy t {\n    let r = close / open\n    plot(log(r) + exp(r - 1) + pow(r, 3) + sqrt(r) + abs(r - 1), \"a\")\n    plot(floor(close) % 7 + ceil(close / 3) + round(close * 1.5) + min(open, close) + max(open, close), \"b\")\n    plot(if not (close > open) or na(close[3]) { nz(close[3], -1) } else { valid(close[2]) }, \"c\")\n    plot(close / (close - close), \"div0\")\n}\n".into(),
    ));
    v
}

/// Every case on both engines; case `i` with the broker `diff::config(i + variant)`.
fn check_all(
    cases: &[(String, String)],
    bars: &[btl::runtime::feed::Bar],
    variant: u64,
) -> Vec<String> {
    let mut failures = Vec::new();
    for (i, (name, src)) in cases.iter().enumerate() {
        let config = diff::config(i as u64 + variant);
        match diff::differential(name, src, bars, config) {
            Ok(d) if d.is_empty() => {}
            Ok(d) => failures.push(format!(
                "{name}: {} divergence(s):\n  {}",
                d.len(),
                d.join("\n  ")
            )),
            Err(e) => failures.push(e),
        }
    }
    failures
}

#[test]
fn examples_and_stdlib_agree_on_both_engines() {
    let cases = corpus();
    let mut failures = Vec::new();
    // 1,300 bars: batches of 512 end mid-run twice. Each case runs once with fill-on-close.
    for (seed, n) in [(1, 400), (2, 1_300)] {
        failures.extend(check_all(&cases, &diff::bars(seed, n), seed));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn generated_programs_agree_on_both_engines() {
    let bars = diff::bars(7, 200);
    let cases: Vec<(String, String)> = (0..300u64)
        .map(|s| (format!("seed {s}"), btl::generate::valid_program(s)))
        .collect();
    let failures = check_all(&cases, &bars, 0);
    assert!(
        failures.is_empty(),
        "{} of 300 programs diverge:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Runs `p` on the interpreter and a planted copy on the JIT: the constant that instruction `at`
/// loads, changed by `f`.
fn planted(p: &btl::ir::BarProgram, at: usize, f: impl Fn(f64) -> f64) -> Vec<String> {
    let mut planted = p.clone();
    if let Inst::Const { value, .. } = &mut planted.code[at] {
        *value = f(*value);
    }
    let bars = diff::bars(3, 300);
    let a = diff::trace(p, &bars, &mut Interpreter, diff::CONFIG).unwrap();
    let mut jit = btl::jit::Jit::compile(&planted).unwrap();
    let b = diff::trace(&planted, &bars, &mut jit, diff::CONFIG).unwrap();
    diff::compare(&a, &b)
}

/// Planted differences are reported, every one of their consequences at once: a changed smoothing
/// constant (plotted values), and an order quantity one ulp off (orders, fills, equity).
#[test]
fn the_harness_catches_a_planted_difference() {
    let src = indicator_strategy("ema(close, 10)");
    let p = btl::compile("planted.btl", &src, &[])
        .bar_program()
        .unwrap();
    let alpha = p
        .code
        .iter()
        .position(|i| matches!(i, Inst::Const { value, .. } if *value == 2.0 / 11.0));
    let d = planted(&p, alpha.expect("ema's alpha, folded"), |a| {
        a * (1.0 + 1e-9)
    });
    assert!(
        d.len() > 100,
        "every diverging plotted value is reported: {}",
        d.len()
    );
    assert!(
        d.iter().any(|x| x.starts_with("plot 0 at bar 10:")),
        "{:?}",
        &d[..3]
    );

    // The constant that the first order's quantity register holds.
    let qty = p.code.iter().find_map(|i| match i {
        Inst::Order { args, .. } => Some(args[0]),
        _ => None,
    });
    let at = p
        .code
        .iter()
        .position(|i| matches!(i, Inst::Const { dst, .. } if Some(*dst) == qty));
    let d = planted(&p, at.expect("a constant quantity"), |q| {
        f64::from_bits(q.to_bits() + 1)
    });
    assert!(
        d.iter().filter(|x| x.starts_with("order")).count() > 10,
        "{d:?}"
    );
    assert!(d.iter().any(|x| x.starts_with("trade")), "{d:?}");
    assert!(d.iter().any(|x| x.starts_with("final value")), "{d:?}");

    // And the same program on both engines has none.
    let bars = diff::bars(3, 300);
    let a = diff::trace(&p, &bars, &mut Interpreter, diff::CONFIG).unwrap();
    let mut jit = btl::jit::Jit::compile(&p).unwrap();
    assert!(diff::compare(&a, &diff::trace(&p, &bars, &mut jit, diff::CONFIG).unwrap()).is_empty());
}
