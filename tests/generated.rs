//! Generated-input tests, data-driven by seed ranges (see `btl::generate`).
//!
//! - Robustness: `btl::compile` on token soup and on mutated programs (the examples, the stdlib
//!   sources and generated valid programs) returns within a time budget without panicking, and
//!   every diagnostic is well formed: a known code whose severity follows from it, a message, and
//!   labels whose spans lie within their file's text on char boundaries.
//! - Validity: generated valid programs compile with zero errors (also with their params raised
//!   through `--param`), and their memory report adds up (total = sum of the rows, capacity =
//!   lookback + 1, bytes = 8 × capacity).
//!
//! Each compile runs in a thread of its own so a panic or a hang is reported with its seed
//! instead of stopping the run. Every test collects all its failures and asserts once.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use btl::Compilation;
use btl::diag::Code;
use btl::generate::{mutate, token_soup, valid_program, valid_program_size};

/// The longest a single compile may take.
const BUDGET: Duration = Duration::from_secs(5);

const SOUP_SEEDS: std::ops::Range<u64> = 0..300;
const MUTATE_SEEDS: std::ops::Range<u64> = 0..300;
const VALID_SEEDS: std::ops::Range<u64> = 0..300;
const OVERRIDE_SEEDS: std::ops::Range<u64> = 1000..1100;

thread_local! {
    /// Where the last panic of this thread happened (set by the hook for compile threads).
    static PANIC_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// A panic hook that records the location of panics in compile threads instead of printing
/// them (their message and location go into the failure report); other threads print as usual.
fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if thread::current().name() == Some("compile") {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                    .unwrap_or_else(|| "an unknown location".into());
                PANIC_AT.with(|p| *p.borrow_mut() = Some(at));
            } else {
                previous(info);
            }
        }));
    });
}

/// Compiles `text` in a thread of its own: `Err` describes a panic (message and location) or a
/// compile that took longer than [`BUDGET`] (the stuck thread is left behind).
fn compile_guarded(text: &str, overrides: &[(String, String)]) -> Result<Compilation, String> {
    install_panic_hook();
    let (tx, rx) = mpsc::channel();
    let text = text.to_string();
    let overrides = overrides.to_vec();
    let handle = thread::Builder::new()
        .name("compile".into())
        .spawn(move || {
            let r = panic::catch_unwind(AssertUnwindSafe(|| {
                btl::compile("gen.btl", &text, &overrides)
            }));
            let r = r.map_err(|payload| {
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a non-string panic payload".into());
                let at = PANIC_AT.with(|p| p.borrow_mut().take()).unwrap_or_default();
                format!("compile panicked at {at}: {msg}")
            });
            let _ = tx.send(r);
        })
        .expect("spawn a compile thread");
    match rx.recv_timeout(BUDGET) {
        Ok(r) => {
            let _ = handle.join();
            r
        }
        Err(RecvTimeoutError::Timeout) => Err(format!(
            "compile did not return within {BUDGET:?} (hang or blow-up)"
        )),
        Err(RecvTimeoutError::Disconnected) => {
            Err("the compile thread died without a result (a panic while panicking?)".into())
        }
    }
}

/// Problems with the shape of the diagnostics (not with their content).
fn diagnostic_problems(c: &Compilation) -> Vec<String> {
    let files: Vec<_> = c.sources.files().map(|(_, f)| f).collect();
    let mut out = Vec::new();
    for d in &c.diagnostics {
        let code = d.code.as_str();
        if code.is_empty() || Code::parse(code) != Some(d.code) {
            out.push(format!(
                "diagnostic with a bad code {code:?}: {}",
                d.message
            ));
        }
        if d.is_error() != d.code.is_error() {
            out.push(format!("{code}: severity does not follow from the code"));
        }
        if d.message.trim().is_empty() {
            out.push(format!("{code}: empty message"));
        }
        for l in &d.labels {
            let s = l.span;
            let Some(f) = files.get(s.file.0 as usize) else {
                out.push(format!(
                    "{code} ({}): span in unknown file {:?}",
                    d.message, s.file
                ));
                continue;
            };
            let (start, end) = (s.start as usize, s.end as usize);
            let kind = if l.primary { "primary" } else { "secondary" };
            if start > end || end > f.text.len() {
                out.push(format!(
                    "{code} ({}): {kind} span {start}..{end} outside {} ({} bytes)",
                    d.message,
                    f.name,
                    f.text.len()
                ));
            } else if !f.text.is_char_boundary(start) || !f.text.is_char_boundary(end) {
                out.push(format!(
                    "{code} ({}): {kind} span {start}..{end} not on char boundaries of {}",
                    d.message, f.name
                ));
            }
        }
    }
    out
}

/// One line per diagnostic, `line:col code message`, without the renderer.
fn list_diagnostics(c: &Compilation) -> String {
    let mut s = String::new();
    for d in &c.diagnostics {
        let at = match d.primary_span() {
            Some(sp) if (sp.file.0 as usize) < c.sources.files().count() => {
                let f = c.sources.get(sp.file);
                let (l, col) = f.line_col(sp.start);
                format!("{}:{l}:{col}", f.name)
            }
            _ => "-".into(),
        };
        s.push_str(&format!(
            "  {at} {}[{}] {}\n",
            d.severity.as_str(),
            d.code,
            d.message
        ));
    }
    s
}

fn numbered(text: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| format!("{:3} | {l}\n", i + 1))
        .collect()
}

/// Compiles each input and checks that it returns in time, without panicking, with well-formed
/// diagnostics; returns the failures.
fn robust(label: &str, inputs: impl Iterator<Item = (u64, String)>) -> Vec<String> {
    let mut failures = Vec::new();
    for (seed, text) in inputs {
        match compile_guarded(&text, &[]) {
            Err(e) => failures.push(format!("{label} seed {seed}: {e}\n{text:?}")),
            Ok(c) => {
                let problems = diagnostic_problems(&c);
                if !problems.is_empty() {
                    failures.push(format!(
                        "{label} seed {seed}: {}\n{text:?}",
                        problems.join("; ")
                    ));
                }
            }
        }
    }
    failures
}

fn assert_none(what: &str, total: usize, failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} of {total} {what} failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn token_soup_never_panics_or_hangs() {
    let inputs = SOUP_SEEDS.map(|seed| (seed, token_soup(seed, 20 + (seed as usize * 7) % 300)));
    let failures = robust("token_soup", inputs);
    assert_none("token soups", SOUP_SEEDS.count(), failures);
}

#[test]
fn mutated_programs_never_panic_or_hang() {
    let mut bases: Vec<String> = vec![include_str!("../examples/sma_cross.btl").to_string()];
    bases.extend(btl::stdlib::FILES.iter().map(|(_, t)| t.to_string()));
    let inputs = MUTATE_SEEDS.map(|seed| {
        // A third of the seeds mutate a fixed source, the rest a generated valid program.
        let base = if seed % 3 == 0 {
            bases[(seed / 3) as usize % bases.len()].clone()
        } else {
            valid_program(seed + 10_000)
        };
        (seed, mutate(seed, &base))
    });
    let failures = robust("mutate", inputs);
    assert_none("mutated programs", MUTATE_SEEDS.count(), failures);
}

/// Checks one valid program: zero errors, well-formed diagnostics, a consistent memory report.
fn check_valid(
    seed: u64,
    text: &str,
    overrides: &[(String, String)],
) -> Result<Compilation, String> {
    let c = compile_guarded(text, overrides)?;
    let mut problems = diagnostic_problems(&c);
    if c.has_errors() {
        problems.push("errors reported".into());
    }
    match &c.program {
        None => problems.push("no program".into()),
        Some(p) => {
            let r = btl::mem::report(p, &c.sources);
            let sum: u64 = r.series.iter().map(|row| row.bytes).sum::<u64>() + r.window_sum_bytes;
            if r.total_bytes != sum {
                problems.push(format!(
                    "total_bytes {} != sum of rows {sum}",
                    r.total_bytes
                ));
            }
            for row in &r.series {
                if u64::from(row.capacity) != u64::from(row.lookback) + 1 {
                    problems.push(format!(
                        "series `{}`: capacity {} != lookback {} + 1",
                        row.name, row.capacity, row.lookback
                    ));
                }
                if row.bytes != 8 * u64::from(row.capacity) {
                    problems.push(format!(
                        "series `{}`: bytes {} != 8 x capacity {}",
                        row.name, row.bytes, row.capacity
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(c)
    } else {
        Err(format!(
            "seed {seed}{}: {}\n{}diagnostics:\n{}",
            if overrides.is_empty() {
                String::new()
            } else {
                format!(" with {overrides:?}")
            },
            problems.join("; "),
            numbered(text),
            list_diagnostics(&c)
        ))
    }
}

#[test]
fn valid_programs_compile_without_errors() {
    let mut failures = Vec::new();
    for seed in VALID_SEEDS {
        let text = valid_program(seed);
        if let Err(e) = check_valid(seed, &text, &[]) {
            failures.push(e);
        }
    }
    assert_none("valid programs", VALID_SEEDS.count(), failures);
}

/// Raising every int param by one, doubling every float param and flipping every bool param
/// keeps a generated program valid (the generator relies only on lower bounds).
#[test]
fn valid_programs_stay_valid_with_param_overrides() {
    let mut failures = Vec::new();
    for seed in OVERRIDE_SEEDS {
        let text = valid_program(seed);
        let c = match check_valid(seed, &text, &[]) {
            Ok(c) => c,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let Some(p) = &c.program else { continue };
        let overrides: Vec<(String, String)> = p
            .params
            .iter()
            .map(|bp| {
                let v = match bp.ty {
                    btl::sema::check::Ty::Int => format!("{}", bp.value as i64 + 1),
                    btl::sema::check::Ty::Float => format!("{}", bp.value * 2.0),
                    _ => (bp.value == 0.0).to_string(),
                };
                (bp.name.clone(), v)
            })
            .collect();
        if let Err(e) = check_valid(seed, &text, &overrides) {
            failures.push(e);
        }
    }
    assert_none("programs with overrides", OVERRIDE_SEEDS.count(), failures);
}

#[test]
fn generators_are_deterministic_and_sized() {
    let mut failures = Vec::new();
    for seed in 0..50 {
        if token_soup(seed, 100) != token_soup(seed, 100) {
            failures.push(format!("token_soup seed {seed} is not deterministic"));
        }
        let p = valid_program(seed);
        if p != valid_program(seed) {
            failures.push(format!("valid_program seed {seed} is not deterministic"));
        }
        if mutate(seed, &p) != mutate(seed, &p) {
            failures.push(format!("mutate seed {seed} is not deterministic"));
        }
    }
    for seed in VALID_SEEDS {
        let n = valid_program(seed).lines().count();
        if !(5..=60).contains(&n) {
            failures.push(format!("valid_program seed {seed} has {n} lines"));
        }
    }
    for (seed, hint) in [(1, 5), (2, 20), (3, 60), (4, 1000)] {
        let n = valid_program_size(seed, hint).lines().count();
        if !(5..=60).contains(&n) {
            failures.push(format!("valid_program_size({seed}, {hint}) has {n} lines"));
        }
    }
    assert_none("generator checks", 4, failures);
}

/// The generator writes every construct of the language, the v2 ones included, so fuzzing
/// covers them: tuples, reads of a later `let`'s past, `break`/`continue`, named orders, fills.
#[test]
fn generated_programs_cover_the_language() {
    let programs: Vec<String> = (0..300).map(btl::generate::valid_program).collect();
    for construct in [
        "let (",
        "macd(",
        "dmi(",
        ", _",
        "break",
        "continue",
        "cancel(\"",
        "filled(\"",
        "fill_price(\"",
        ", \"entry\")",
        "nz(v",
    ] {
        let n = programs.iter().filter(|p| p.contains(construct)).count();
        assert!(n >= 3, "only {n} of 300 programs contain `{construct}`");
    }
    // A read of a later let's past: `let vA = nz(vB[k]) ...` then `let vB = ...`.
    let forward = programs
        .iter()
        .filter(|p| {
            p.lines().any(|l| {
                l.trim_start().starts_with("let v")
                    && (l.contains(" = nz(v") || l.contains(" = (if na(v"))
            })
        })
        .count();
    assert!(forward >= 3, "only {forward} programs read a later let");
}
