//! btl's benchmarks, side by side in one run, printed as a table of ratios (`bench/run`).
//!
//! 1. The bar loop alone, 10M bars already in memory, SMA 10/30 crossover: the JIT, the
//!    interpreter and a hand-written Rust loop of the same strategy on the same broker (the JIT
//!    and the hand-written loop run in turn, seven times each, and the best of each counts).
//! 2. Compile time (check + lower + JIT) of the largest example.
//! 3. End to end from CSV, 1M bars: the run (the library with no sink, and the `btl run` command
//!    as a user runs it, whole process) vs a bare pass that only parses the CSV.
//!
//! It also writes the CSV that `bench/run` gives backtrader (`$BTL_BENCH_DIR/bt.csv`).

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use btl::jit::Jit;
use btl::runtime::broker::{Broker, BrokerConfig, Event};
use btl::runtime::engine::{self, Interpreter, NoSink};
use btl::runtime::feed::{Bar, CsvFeed};
use btl::sema::builtins::Action;

const CONFIG: BrokerConfig = BrokerConfig {
    cash: 100_000.0,
    commission: 0.001,
    ..BrokerConfig::DEFAULT
};

fn walk(n: usize, seed: u64) -> Vec<Bar> {
    let mut state = seed | 1;
    let mut price = 100.0f64;
    let day = 86_400_000i64;
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            let open = price;
            price = (price * (1.0 + (u - 0.5) * 0.03)).max(1.0);
            let close = (price * 10_000.0).round() / 10_000.0;
            price = close;
            Bar {
                time: 315_619_200_000 + i as i64 * day,
                open,
                high: open.max(close) * 1.001,
                low: open.min(close) * 0.999,
                close,
                volume: 1000.0,
            }
        })
        .collect()
}

/// The SMA 10/30 crossover written by hand, on the same broker.
fn hand_written(bars: &[Bar]) -> (u64, f64, f64) {
    let mut broker = Broker::new(CONFIG);
    let mut closes = [0.0f64; 31];
    let (mut sum10, mut sum30);
    let (mut state10, mut state30) = ([0.0; btl::exact::STATE], [0.0; btl::exact::STATE]);
    let (mut prev_f, mut prev_s) = (f64::NAN, f64::NAN);
    let mut trades = 0u64;
    let mut value = CONFIG.cash;
    let (mut peak, mut max_dd) = (CONFIG.cash, 0.0f64);
    for (t, b) in bars.iter().enumerate() {
        broker.open_bar(t as u64, b, &mut |e| {
            trades += u64::from(matches!(e, Event::Closed(_)))
        });
        let i = t % 31;
        closes[i] = b.close;
        // The same exact window sums as `sma` (btl::exact), the value leaving each window `na`
        // until it is full.
        let out10 = if t >= 10 {
            closes[(t - 10) % 31]
        } else {
            f64::NAN
        };
        let out30 = if t >= 30 {
            closes[(t - 30) % 31]
        } else {
            f64::NAN
        };
        sum10 = btl::exact::step(&mut state10, b.close, out10);
        sum30 = btl::exact::step(&mut state30, b.close, out30);
        let f = if t >= 9 { sum10 / 10.0 } else { f64::NAN };
        let s = if t >= 29 { sum30 / 30.0 } else { f64::NAN };
        if broker.position == 0.0 && f > s && prev_f <= prev_s {
            broker.submit(t as u64, Action::Buy, &[100.0], b.close, None);
        }
        if broker.position > 0.0 && f < s && prev_f >= prev_s {
            broker.submit(t as u64, Action::ClosePosition, &[], b.close, None);
        }
        prev_f = f;
        prev_s = s;
        value = broker.value(b.close);
        // The same drawdown statistic the engine keeps.
        peak = peak.max(value);
        if value < peak * (1.0 - max_dd) {
            max_dd = (peak - value) / peak;
        }
    }
    (trades, value, max_dd)
}

/// One run over bars already in memory, with no sink.
fn run_in_memory(
    program: &btl::ir::BarProgram,
    bars: &[Bar],
    engine: &mut impl engine::Engine,
) -> engine::Summary {
    engine::run(program, &mut &bars[..], engine, CONFIG, &mut NoSink).expect("in-memory bars")
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = black_box(f());
        best = best.min(t.elapsed());
        out = Some(r);
    }
    (best, out.expect("at least one run"))
}

/// Two measurements taken in turn, `rounds` times each, the best of each: noise from the rest of
/// the machine (a shared, virtual one) then falls on both alike.
fn best_of_interleaved<A, B>(
    rounds: usize,
    mut a: impl FnMut() -> A,
    mut b: impl FnMut() -> B,
) -> ((Duration, A), (Duration, B)) {
    let (mut best_a, mut best_b) = (Duration::MAX, Duration::MAX);
    let (mut out_a, mut out_b) = (None, None);
    for _ in 0..rounds {
        let t = Instant::now();
        out_a = Some(black_box(a()));
        best_a = best_a.min(t.elapsed());
        let t = Instant::now();
        out_b = Some(black_box(b()));
        best_b = best_b.min(t.elapsed());
    }
    let (out_a, out_b) = (out_a.expect("a round"), out_b.expect("a round"));
    ((best_a, out_a), (best_b, out_b))
}

/// Several measurements taken in turn, `rounds` times each: the best time of each.
fn best_of_each<const N: usize>(rounds: usize, mut fs: [&mut dyn FnMut(); N]) -> [Duration; N] {
    let mut best = [Duration::MAX; N];
    for _ in 0..rounds {
        for (f, best) in fs.iter_mut().zip(&mut best) {
            let t = Instant::now();
            f();
            *best = (*best).min(t.elapsed());
        }
    }
    best
}

fn rate(n: usize, d: Duration) -> String {
    format!("{:>8.1} M bars/s", n as f64 / d.as_secs_f64() / 1e6)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is expected.
    let dir = std::env::var("BTL_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join("btl-bench"));
    std::fs::create_dir_all(&dir).expect("the bench directory can be created");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // The example without its two `plot`s: the hand-written loop plots nothing either.
    let src: String = std::fs::read_to_string(root.join("examples/sma_cross.btl"))
        .expect("the example exists")
        .lines()
        .filter(|l| !l.trim_start().starts_with("plot("))
        .map(|l| format!("{l}\n"))
        .collect();
    let c = btl::compile("examples/sma_cross.btl", &src, &[]);
    let program = c.bar_program().expect("the example compiles");

    // 1. The bar loop.
    let n = 10_000_000;
    let bars = walk(n, 42);
    let mut jit = Jit::compile(&program).expect("the JIT compiles the example");
    match std::env::var("BTL_BENCH_ONLY").as_deref() {
        // `btl check` of a one-line strategy, whole process.
        Ok("check") => {
            print_check_time();
            return;
        }
        // For profiling the JIT's bar loop alone.
        Ok("jit") => {
            black_box(hand_written(&bars));
            for _ in 0..5 {
                black_box(run_in_memory(&program, &bars, &mut jit));
            }
            return;
        }
        // For working on the JIT: the bar loop only.
        Ok("loop") => {
            let ((hand_t, _), (jit_t, _)) = best_of_interleaved(
                7,
                || hand_written(&bars),
                || run_in_memory(&program, &bars, &mut jit),
            );
            println!(
                "hand-written {:.3} s, JIT {:.3} s: {:.2}x",
                hand_t.as_secs_f64(),
                jit_t.as_secs_f64(),
                jit_t.as_secs_f64() / hand_t.as_secs_f64()
            );
            return;
        }
        _ => {}
    }
    let ((hand_t, hand), (jit_t, jit_s)) = best_of_interleaved(
        7,
        || hand_written(&bars),
        || run_in_memory(&program, &bars, &mut jit),
    );
    let (interp_t, interp_s) = best_of(1, || run_in_memory(&program, &bars, &mut Interpreter));
    assert_eq!(
        (jit_s.trades, jit_s.final_value.to_bits()),
        (interp_s.trades, interp_s.final_value.to_bits()),
        "both engines agree"
    );
    assert_eq!(
        jit_s.trades, hand.0,
        "the hand-written loop makes the same trades"
    );
    assert!(
        (jit_s.final_value - hand.1).abs() <= 1e-6 * hand.1.abs(),
        "and ends with the same value"
    );
    drop(bars);

    // 2. Compile time of the largest example.
    let largest = std::fs::read_dir(root.join("examples"))
        .expect("examples")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "btl"))
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("an example");
    let largest_src = std::fs::read_to_string(&largest).expect("readable");
    let mut times: Vec<Duration> = (0..21)
        .map(|_| {
            let t = Instant::now();
            let c = btl::compile("largest.btl", &largest_src, &[]);
            let p = c.bar_program().expect("compiles");
            black_box(Jit::compile(&p).expect("jit"));
            t.elapsed()
        })
        .collect();
    times.sort();
    let compile_t = times[times.len() / 2];

    // 3. End to end from CSV.
    let csv_n = 1_000_000;
    let csv_path = dir.join("bars_1m.csv");
    write_csv(&csv_path, &walk(csv_n, 7));
    let parse = || {
        let mut feed = CsvFeed::open(&csv_path, false).expect("bench csv");
        let mut sum = 0.0;
        let mut count = 0usize;
        while let Some(b) = feed.next_bar().expect("valid bench csv") {
            sum += b.close;
            count += 1;
        }
        assert_eq!(count, csv_n);
        black_box(sum);
    };
    let run = || {
        let mut feed = CsvFeed::open(&csv_path, false).expect("bench csv");
        let mut jit = Jit::compile(&program).expect("jit");
        let s = engine::run(&program, &mut feed, &mut jit, CONFIG, &mut NoSink);
        black_box(s.expect("valid bench csv"));
    };
    // The command, whole process: compile, run with its statistics, print the summary.
    let exe = env!("CARGO_BIN_EXE_btl");
    let example = root.join("examples/sma_cross.btl");
    let command = || {
        let ok = std::process::Command::new(exe)
            .arg("run")
            .arg(&example)
            .arg("--data")
            .arg(&csv_path)
            .args(["--commission", "0.001"])
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "btl run succeeds on the bench CSV");
    };
    // In turn, five times each: noise falls on all three alike.
    let [parse_t, run_t, cli_t] = best_of_each(5, [&mut { parse }, &mut { run }, &mut { command }]);

    // The file backtrader gets.
    write_csv(&dir.join("bt.csv"), &walk(100_000, 11));

    println!(
        "btl benchmarks (SMA 10/30 crossover, commission 0.001); the best of runs taken in turn: \
         7 for the bar loop, 5 from CSV"
    );
    println!();
    println!("bar loop, {n} bars in memory            time      rate             ratio");
    println!(
        "  hand-written Rust                {:>8.3} s  {}   1.00",
        hand_t.as_secs_f64(),
        rate(n, hand_t)
    );
    println!(
        "  btl JIT                          {:>8.3} s  {}   {:.2}x hand-written (target <= 1.25x)",
        jit_t.as_secs_f64(),
        rate(n, jit_t),
        jit_t.as_secs_f64() / hand_t.as_secs_f64()
    );
    println!(
        "  btl interpreter                  {:>8.3} s  {}   {:.2}x JIT",
        interp_t.as_secs_f64(),
        rate(n, interp_t),
        interp_t.as_secs_f64() / jit_t.as_secs_f64()
    );
    println!();
    println!("end to end from CSV, {csv_n} bars");
    println!(
        "  parse only                       {:>8.3} s  {}   1.00",
        parse_t.as_secs_f64(),
        rate(csv_n, parse_t)
    );
    println!(
        "  run, library, no sink (JIT)      {:>8.3} s  {}   {:.2}x parse only (target <= 1.3x)",
        run_t.as_secs_f64(),
        rate(csv_n, run_t),
        run_t.as_secs_f64() / parse_t.as_secs_f64()
    );
    println!(
        "  `btl run`, whole process         {:>8.3} s  {}   {:.2}x parse only (target <= 1.3x)",
        cli_t.as_secs_f64(),
        rate(csv_n, cli_t),
        cli_t.as_secs_f64() / parse_t.as_secs_f64()
    );
    println!("    (the example with its plots, statistics on every bar, the summary printed)");
    println!();
    println!(
        "compile (check + lower + JIT) of {}: {:.2} ms median of 21 (target < 20 ms)",
        largest
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        compile_t.as_secs_f64() * 1e3
    );
    print_check_time();
    println!(
        "trades {} / final value {:.2} on every engine",
        jit_s.trades, jit_s.final_value
    );
}

/// `btl check` of a one-line strategy as a user runs it (whole process: the binary starts, parses
/// and checks the whole stdlib prelude and the strategy): the median of 21 runs.
fn print_check_time() {
    let dir = std::env::temp_dir().join(format!("btl-bench-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch");
    let file = dir.join("one_line.btl");
    std::fs::write(
        &file,
        "strategy s { if crossover(sma(close, 10), sma(close, 30)) { buy(1) } }\n",
    )
    .expect("write");
    let mut times: Vec<Duration> = (0..21)
        .map(|_| {
            let t = Instant::now();
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_btl"))
                .arg("check")
                .arg(&file)
                .output()
                .expect("btl runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            t.elapsed()
        })
        .collect();
    times.sort();
    let functions: usize = btl::stdlib::FILES
        .iter()
        .map(|(_, text)| text.lines().filter(|l| l.starts_with("fn ")).count())
        .sum();
    println!(
        "`btl check` of a one-line strategy, whole process, prelude of {functions} functions: {:.2} ms median of 21 (min {:.2}, max {:.2}; target < 20 ms)",
        times[10].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[20].as_secs_f64() * 1e3
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn write_csv(path: &std::path::Path, bars: &[Bar]) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("bench csv"));
    writeln!(f, "date,open,high,low,close,volume").expect("write");
    for b in bars {
        writeln!(
            f,
            "{},{:.4},{:.4},{:.4},{:.4},{}",
            btl::runtime::feed::format_time_ms(b.time),
            b.open,
            b.high,
            b.low,
            b.close,
            b.volume
        )
        .expect("write");
    }
}
