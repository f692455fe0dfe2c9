//! UI tests: every `tests/ui/**/*.btl` fixture is compiled and its diagnostics compared with the
//! annotations written in the fixture, and its rendered output with a snapshot.
//!
//! Annotations (comments, so fixtures stay valid btl):
//! - `//   ^^^ error[E0200]` under a line: a diagnostic with that code whose primary label covers
//!   exactly the marked columns of the line above (`warning[W0001]` for warnings). Text after
//!   `]:` must appear in the message.
//! - `//@ error[E0300]`: a diagnostic with no location in the file (a bad `--param`).
//! - `//@ param NAME=VALUE`: compile with this `--param`.
//! - `//@ series NAME lookback=N warmup=W capacity=C`: facts of the series NAME (any subset).
//! - `//@ strategy-warmup W`, `//@ total-bytes N`.
//!
//! A fixture fails on a diagnostic nobody annotated as well as on an annotation nothing matched.
//! All failures of all fixtures are reported together.

use std::path::{Path, PathBuf};

use btl::diag::render;

fn fixtures(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            fixtures(&p, out);
        } else if p.extension().is_some_and(|e| e == "btl") {
            out.push(p);
        }
    }
}

#[derive(Debug)]
struct Expect {
    /// 1-based line of the code the annotation points at (0 for `//@` file-level ones).
    line: usize,
    col_start: usize,
    col_end: usize,
    level: String,
    code: String,
    message: Option<String>,
    matched: bool,
}

fn parse_kind(s: &str) -> Option<(String, String, Option<String>)> {
    let s = s.trim();
    let (level, rest) = s.split_once('[')?;
    let (code, rest) = rest.split_once(']')?;
    let message = rest
        .trim()
        .strip_prefix(':')
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty());
    Some((level.trim().to_string(), code.to_string(), message))
}

/// Checks one fixture's annotations; returns its snapshot name and rendered diagnostics.
fn check_fixture(path: &Path, failures: &mut Vec<String>) -> (String, String) {
    let name = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/");
    let text = std::fs::read_to_string(path).unwrap();
    let mut expects = Vec::new();
    let mut params = Vec::new();
    let mut facts = Vec::new();
    let mut code_line = 0;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("//@") {
            let rest = rest.trim();
            if let Some(p) = rest.strip_prefix("param ") {
                params.push(btl::parse_param_arg(p).unwrap());
            } else if let Some((level, code, message)) = parse_kind(rest)
                .filter(|_| rest.starts_with("error") || rest.starts_with("warning"))
            {
                expects.push(Expect {
                    line: 0,
                    col_start: 0,
                    col_end: 0,
                    level,
                    code,
                    message,
                    matched: false,
                });
            } else {
                facts.push((i + 1, rest.to_string()));
            }
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("//")
            && rest.trim_start().starts_with('^')
        {
            {
                let start = line.find('^').unwrap();
                let end = start + line[start..].chars().take_while(|c| *c == '^').count();
                let (level, code, message) = parse_kind(&line[end..])
                    .unwrap_or_else(|| panic!("{name}:{}: bad annotation", i + 1));
                let prefix = line[..start].chars().count();
                expects.push(Expect {
                    line: code_line,
                    col_start: prefix + 1,
                    col_end: prefix + 1 + (end - start),
                    level,
                    code,
                    message,
                    matched: false,
                });
                continue;
            }
        }
        code_line = i + 1;
    }

    let c = btl::compile(&name, &text, &params);
    let file = c.sources.get(c.user);
    for d in &c.diagnostics {
        let (line, cs, ce) = match d.primary_span() {
            Some(s) if s.file == c.user && s.end > 0 => {
                let (l, cs) = file.line_col(s.start);
                let (le, ce) = file.line_col(s.end);
                let ce = if le == l {
                    ce
                } else {
                    file.line_text(l).chars().count() + 1
                };
                // A zero-width span (an end of line) is marked with one caret.
                (l, cs, ce.max(cs + 1))
            }
            _ => (0, 0, 0),
        };
        let found = expects.iter_mut().find(|e| {
            !e.matched
                && e.code == d.code.as_str()
                && e.level == d.severity.as_str()
                && e.line == line
                && (line == 0 || (e.col_start == cs && e.col_end == ce))
                && e.message
                    .as_ref()
                    .is_none_or(|m| d.message.contains(m.as_str()))
        });
        match found {
            Some(e) => e.matched = true,
            None => failures.push(format!(
                "{name}:{line}:{cs}: unexpected {}[{}] `{}` (columns {cs}..{ce})",
                d.severity.as_str(),
                d.code,
                d.message
            )),
        }
    }
    for e in expects.iter().filter(|e| !e.matched) {
        failures.push(format!(
            "{name}:{}: expected {}[{}]{} at columns {}..{}, not reported",
            e.line,
            e.level,
            e.code,
            e.message
                .as_ref()
                .map(|m| format!(" containing `{m}`"))
                .unwrap_or_default(),
            e.col_start,
            e.col_end
        ));
    }

    // Facts about series.
    if !facts.is_empty() {
        match &c.program {
            Some(p) => {
                let report = btl::mem::report(p, &c.sources);
                for (line, fact) in &facts {
                    let mut words = fact.split_whitespace();
                    let fail = |msg: String, failures: &mut Vec<String>| {
                        failures.push(format!("{name}:{line}: {msg}"))
                    };
                    match words.next() {
                        Some("series") => {
                            // The name, in double quotes when it has spaces.
                            let rest = fact["series".len()..].trim_start();
                            let (sname, tail) = match rest.strip_prefix('"') {
                                Some(q) => q.split_once('"').unwrap_or((q, "")),
                                None => rest.split_once(' ').unwrap_or((rest, "")),
                            };
                            let words = tail.split_whitespace();
                            let Some(row) = report.series.iter().find(|r| r.name == sname) else {
                                let names: Vec<&str> =
                                    report.series.iter().map(|r| r.name.as_str()).collect();
                                fail(
                                    format!("no series `{sname}` (have: {})", names.join(", ")),
                                    failures,
                                );
                                continue;
                            };
                            for kv in words {
                                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                                let actual = match k {
                                    "lookback" => row.lookback.to_string(),
                                    "warmup" => {
                                        row.warmup.map_or("never".into(), |w| w.to_string())
                                    }
                                    "capacity" => row.capacity.to_string(),
                                    "bytes" => row.bytes.to_string(),
                                    other => format!("<unknown fact {other}>"),
                                };
                                if actual != v {
                                    fail(
                                        format!("series `{sname}`: {k} is {actual}, expected {v}"),
                                        failures,
                                    );
                                }
                            }
                        }
                        Some("strategy-warmup") => {
                            let want = words.next().unwrap_or("");
                            let actual = report.warmup.map_or("never".into(), |w| w.to_string());
                            if actual != want {
                                fail(
                                    format!("strategy warm-up is {actual}, expected {want}"),
                                    failures,
                                );
                            }
                        }
                        Some("total-bytes") => {
                            let want = words.next().unwrap_or("");
                            if report.total_bytes.to_string() != want {
                                fail(
                                    format!(
                                        "total bytes are {}, expected {want}",
                                        report.total_bytes
                                    ),
                                    failures,
                                );
                            }
                        }
                        other => fail(format!("unknown directive {other:?}"), failures),
                    }
                }
            }
            None => failures.push(format!("{name}: facts given but the file has no strategy")),
        }
    }

    // The rendered diagnostics, as a user sees them (no colour).
    let rendered: String = c
        .diagnostics
        .iter()
        .map(|d| render::human(d, &c.sources, false))
        .collect();
    let snap_name = name
        .trim_start_matches("tests/ui/")
        .trim_end_matches(".btl")
        .replace('/', "__");
    (snap_name, rendered)
}

#[test]
fn ui_fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let mut files = Vec::new();
    fixtures(&root, &mut files);
    assert!(
        files.len() >= 10,
        "expected the ui fixtures under {}",
        root.display()
    );
    let mut failures = Vec::new();
    let rendered: Vec<_> = files
        .iter()
        .map(|f| check_fixture(f, &mut failures))
        .collect();
    assert!(
        failures.is_empty(),
        "{} ui failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Only once every annotation holds: the rendered text, snapshot by snapshot.
    for (path, (name, text)) in files.iter().zip(rendered) {
        let mut settings = insta::Settings::clone_current();
        settings
            .set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/snapshots"));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_input_file(path);
        settings.bind(|| insta::assert_snapshot!(name, text));
    }
}
