//! The specification suite: every rule of docs/language.md has small programs in `tests/spec/`
//! whose expected values, bar by bar, are written by hand in the fixture, not produced by btl.
//! Each program runs on both engines (the interpreter and the JIT); both must give the written
//! values, so a bug that elaboration or lowering shares between the engines still fails here.
//!
//! A fixture is a btl program followed by a table in `//|` comments. The header row names the
//! columns: `open`, `high`, `low`, `close`, `volume` are the bars' data (`open`, `high` and `low`
//! default to `close`, `volume` to 0); every other column is the name of a `plot` and holds the
//! value expected on that bar: a number, `na`, `true` (1) or `false` (0). Numbers compare equal to
//! 1e-12 relative; `na` only equals `na`. `//@ rule: ...` lines say which rule the fixture checks
//! (docs/language.md's section), and `//@ fill close` runs with fill-on-close.
//!
//! A program with feeds of its own (`feed b`) takes each data feed's bars from columns named
//! after it (`b.close`, `b.open`, ...); a `-` cell is a step on which that feed has no bar (the
//! primary's `close` too). Each row is a step (one bar time, a day after the row before, from
//! Sunday 2020-09-13 12:26:40 UTC); resampled feeds are cut in UTC.
//!
//! All failures of all fixtures are reported together.

use std::path::{Path, PathBuf};

use btl::diff;
use btl::jit::Jit;
use btl::runtime::broker::BrokerConfig;
use btl::runtime::engine::Interpreter;
use btl::runtime::feed::Bar;

const DATA: [&str; 5] = ["open", "high", "low", "close", "volume"];

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spec");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "btl"))
        .collect();
    out.sort();
    out
}

struct Table {
    header: Vec<String>,
    rows: Vec<Vec<f64>>,
}

/// A `-` cell: the feed has no bar on this step.
const NO_BAR: f64 = f64::NEG_INFINITY;

fn cell(s: &str) -> Result<f64, String> {
    match s {
        "-" => Ok(NO_BAR),
        "na" => Ok(f64::NAN),
        "true" => Ok(1.0),
        "false" => Ok(0.0),
        _ => s.parse().map_err(|_| format!("bad cell `{s}`")),
    }
}

fn table(text: &str) -> Result<Table, String> {
    let mut lines = text.lines().filter_map(|l| l.trim().strip_prefix("//|"));
    let split = |l: &str| -> Vec<String> {
        l.split('|')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect()
    };
    let header = split(lines.next().ok_or("no `//|` table")?);
    let mut rows = Vec::new();
    for l in lines {
        let cells = split(l);
        if cells.len() != header.len() {
            return Err(format!(
                "row `{l}` has {} cells, not {}",
                cells.len(),
                header.len()
            ));
        }
        rows.push(cells.iter().map(|c| cell(c)).collect::<Result<_, _>>()?);
    }
    Ok(Table { header, rows })
}

/// The bars of the feed whose columns start with `prefix` (`""` for the primary, `"b."` for
/// feed `b`), without the steps where its close is `-`.
fn bars(t: &Table, prefix: &str) -> Result<Vec<Bar>, String> {
    let col = |name: &str| {
        t.header
            .iter()
            .position(|h| *h == format!("{prefix}{name}"))
    };
    let close = col("close").ok_or(format!("the table has no `{prefix}close` column"))?;
    Ok(t.rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r[close] != NO_BAR)
        .map(|(i, r)| {
            let get = |name: &str, default: f64| col(name).map_or(default, |c| r[c]);
            Bar {
                time: 1_600_000_000_000 + i as i64 * 86_400_000,
                open: get("open", r[close]),
                high: get("high", r[close]),
                low: get("low", r[close]),
                close: r[close],
                volume: get("volume", 0.0),
            }
        })
        .collect())
}

/// Whether a column holds a feed's data rather than a plot's expected values.
fn is_data(col: &str) -> bool {
    let field = col.rsplit_once('.').map_or(col, |(_, f)| f);
    DATA.contains(&field) && (col == field || col.contains('.'))
}

fn close_enough(want: f64, got: f64) -> bool {
    if want.is_nan() || got.is_nan() {
        return want.is_nan() && got.is_nan();
    }
    want == got || (want - got).abs() <= 1e-12 * want.abs().max(got.abs())
}

fn check(path: &Path) -> Vec<String> {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let text = std::fs::read_to_string(path).unwrap();
    let fail = |m: String| vec![format!("{name}: {m}")];
    let t = match table(&text) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    if !text.contains("//@ rule:") {
        return fail("no `//@ rule:` line".into());
    }
    let bars = match bars(&t, "") {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let c = btl::compile(&name, &text, &[]);
    let Some(p) = c.bar_program() else {
        let msgs: Vec<String> = c
            .diagnostics
            .iter()
            .map(|d| format!("{}: {}", d.code, d.message))
            .collect();
        return fail(format!("does not compile: {}", msgs.join("; ")));
    };
    let config = BrokerConfig {
        fill_on_close: text.contains("//@ fill close"),
        commission: 0.0,
        ..diff::CONFIG
    };
    let mut out = Vec::new();
    let (steps, frames) = if p.frame_len == 0 {
        (bars, Vec::new())
    } else {
        // Every data feed from its columns, aligned as a run aligns them.
        let mut feeds = vec![bars];
        for f in p.feeds.iter().skip(1) {
            if f.is_data() {
                match self::bars(&t, &format!("{}.", f.name)) {
                    Ok(b) => feeds.push(b),
                    Err(e) => return fail(e),
                }
            }
        }
        let sources: Vec<Box<dyn btl::runtime::engine::BarSource + '_>> = feeds
            .iter()
            .map(|b| Box::new(&b[..]) as Box<dyn btl::runtime::engine::BarSource + '_>)
            .collect();
        let aligned = btl::runtime::align::Aligned::new(&p, sources, jiff::tz::TimeZone::UTC);
        match aligned
            .map_err(|e| e.to_string())
            .and_then(|mut a| btl::runtime::align::collect(&mut a).map_err(|e| e.to_string()))
        {
            Ok(s) => s,
            Err(e) => return fail(e),
        }
    };
    if steps.len() != t.rows.len() {
        return fail(format!("{} steps for {} rows", steps.len(), t.rows.len()));
    }
    let interp = diff::trace_steps(&p, &steps, &frames, &mut Interpreter, config);
    let jit =
        Jit::compile(&p).and_then(|mut j| diff::trace_steps(&p, &steps, &frames, &mut j, config));
    for (engine, trace) in [("interp", interp), ("jit", jit)] {
        let trace = match trace {
            Ok(t) => t,
            Err(e) => {
                out.push(format!("{name} [{engine}]: the run failed: {e}"));
                continue;
            }
        };
        for (c, col) in t.header.iter().enumerate() {
            if is_data(col) {
                continue;
            }
            let Some(index) = p.plots.iter().position(|pl| pl == col) else {
                out.push(format!("{name}: no plot named `{col}`"));
                continue;
            };
            let got: Vec<f64> = trace
                .plots
                .iter()
                .filter(|(_, i, _)| *i as usize == index)
                .map(|(_, _, v)| *v)
                .collect();
            for (bar, row) in t.rows.iter().enumerate() {
                let g = got.get(bar).copied();
                if !g.is_some_and(|g| close_enough(row[c], g)) {
                    out.push(format!(
                        "{name} [{engine}]: `{col}` on bar {bar}: expected {}, got {}",
                        row[c],
                        g.map_or("nothing".into(), |g| g.to_string())
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn every_rule_gives_the_values_written_by_hand_on_both_engines() {
    let files = fixtures();
    assert!(files.len() >= 10, "only {} spec fixtures", files.len());
    let failures: Vec<String> = files.iter().flat_map(|f| check(f)).collect();
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The harness can fail: a fixture whose written value is wrong is reported.
#[test]
fn a_wrong_expected_value_is_reported() {
    let dir = std::env::temp_dir().join(format!("btl-spec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("wrong.btl");
    std::fs::write(
        &path,
        "//@ rule: arithmetic\nstrategy t {\n    plot(close + 1, \"x\")\n}\n//| close | x |\n//| 1 | 2 |\n//| 2 | 4 |\n",
    )
    .unwrap();
    let failures = check(&path);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures[0].contains("`x` on bar 1: expected 4, got 3"),
        "{failures:?}"
    );
}
