//! btl: a small language for trading-strategy backtests whose lookback and warm-up are
//! compile-time facts.
//!
//! The library's front door. [`compile`] runs the pure pipeline
//! `text → tokens → AST → checked tables → elaborated program (+ lookback, warm-up)` and returns a
//! [`Compilation`] holding every stage's result and all diagnostics; it does no IO and never panics.
//! The CLI (`main.rs`) reads files, calls it and renders.

pub mod backtest;
pub mod batch;
pub mod diag;
pub mod diff;
pub mod doc;
pub mod exact;
pub mod generate;
pub mod interp;
pub mod ir;
pub mod jit;
pub mod lsp;
pub mod mem;
pub mod parallel;
pub mod runtime;
pub mod sema;
pub mod source;
pub mod stdlib;
pub mod sweep;
pub mod syntax;
pub mod timeframe;
pub mod value;

use std::collections::HashMap;

use diag::{Code, Diagnostic};
use sema::check::{Checked, Ty};
use sema::elab::Program;
use source::{FileId, SourceFile, SourceMap};
use syntax::ast::Ast;

/// Everything known about one program.
#[derive(Debug, Clone)]
pub struct Compilation {
    pub sources: SourceMap,
    /// The user's file (the stdlib files come before it).
    pub user: FileId,
    pub ast: Ast,
    pub checked: Checked,
    /// The elaborated strategy, when the file has one.
    pub program: Option<Program>,
    /// Every diagnostic, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compilation {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.is_error())
    }

    /// The bar program both engines run, when the program has a strategy and no errors.
    pub fn bar_program(&self) -> Option<ir::BarProgram> {
        match (&self.program, self.has_errors()) {
            // Lowering recurses along expressions, as compiling does: the same stack.
            (Some(p), false) => Some(with_compiler_stack(|| ir::lower::lower(p))),
            _ => None,
        }
    }
}

/// A `--param NAME=VALUE` argument, split; E0302 when there is no `=`.
pub fn parse_param_arg(arg: &str) -> Result<(String, String), Diagnostic> {
    match arg.split_once('=') {
        Some((n, v)) if !n.trim().is_empty() => Ok((n.trim().to_string(), v.trim().to_string())),
        _ => Err(Diagnostic::new(
            Code::E0302,
            format!("`--param {arg}` is not of the form NAME=VALUE"),
        )
        .help("write `--param fast=5`")),
    }
}

/// The largest program text compiled: 8 MiB (E0005).
pub const MAX_SOURCE: usize = 8 << 20;

/// Stack for the compiler's recursive passes: nesting is bounded (E0115, E0114), and this is
/// generous for the bound whatever thread calls `compile`.
const COMPILER_STACK: usize = 256 << 20;

/// Limits a compilation checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The most bytes the run's buffers may take together (E0205 past it).
    pub max_memory: u64,
}

impl Options {
    /// Buffers of at most 1 GiB.
    pub const DEFAULT: Options = Options {
        max_memory: 1 << 30,
    };
}

impl Default for Options {
    fn default() -> Options {
        Options::DEFAULT
    }
}

/// Runs `f` on a thread with the compiler's stack (the recursive passes need it for the
/// longest expressions `syntax` accepts), or on this thread if none can be started.
fn with_compiler_stack<T: Send>(f: impl FnOnce() -> T + Send + Copy) -> T {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("btl-compile".into())
            .stack_size(COMPILER_STACK)
            .spawn_scoped(s, f)
            .ok()
            .and_then(|h| h.join().ok())
    })
    .unwrap_or_else(f)
}

/// Compiles a program (see the crate documentation). `overrides` are `--param` values.
pub fn compile(file_name: &str, text: &str, overrides: &[(String, String)]) -> Compilation {
    compile_with(file_name, text, overrides, &Options::DEFAULT)
}

/// [`compile`] with other [`Options`].
pub fn compile_with(
    file_name: &str,
    text: &str,
    overrides: &[(String, String)],
    options: &Options,
) -> Compilation {
    with_compiler_stack(|| compile_here(file_name, text, overrides, options))
}

/// The part of a compilation that does not depend on param values: the sources parsed and
/// checked. A sweep makes it once and elaborates it for every combination ([`Front::elaborate`]).
#[derive(Debug, Clone)]
pub struct Front {
    pub sources: SourceMap,
    /// The user's file (the stdlib files come before it).
    pub user: FileId,
    pub ast: Ast,
    pub checked: Checked,
    /// The parser's and the checker's diagnostics.
    pub diagnostics: Vec<Diagnostic>,
    oversized: bool,
}

/// Parses and checks a program with the stdlib (see [`Front`]), on the calling thread's stack.
pub fn front_here(file_name: &str, text: &str) -> Front {
    let mut sources = SourceMap::new();
    let mut ast = Ast::default();
    let mut diagnostics = Vec::new();
    for (name, text) in stdlib::FILES {
        let id = sources.add(SourceFile::new(*name, *text, true));
        diagnostics.extend(syntax::parse(&mut ast, id, text));
    }
    // A program past the size limit is not parsed: its tokens and tree would take memory in
    // proportion, for no program anyone writes.
    let oversized = text.len() > MAX_SOURCE;
    let parsed = if oversized { "" } else { text };
    let user = sources.add(SourceFile::new(file_name, parsed, false));
    if oversized {
        diagnostics.push(
            Diagnostic::new(
                Code::E0005,
                format!(
                    "the program is {}, more than the limit of {}",
                    human_bytes(text.len() as u64),
                    human_bytes(MAX_SOURCE as u64)
                ),
            )
            .help("a strategy is at most a few thousand lines: split generated code into functions, or generate less"),
        );
    }
    diagnostics.extend(syntax::parse(&mut ast, user, parsed));
    let (checked, check_diags) = sema::check::check(&ast, &sources, user);
    diagnostics.extend(check_diags);
    Front {
        sources,
        user,
        ast,
        checked,
        diagnostics,
        oversized,
    }
}

/// [`front_here`] on the compiler's stack.
pub fn front(file_name: &str, text: &str) -> Front {
    with_compiler_stack(|| front_here(file_name, text))
}

impl Front {
    /// The strategy elaborated with these param values, and every diagnostic (the front's
    /// included), normalized: errors first, and without the warnings errors cause.
    pub fn elaborate(
        &self,
        overrides: &[(String, String)],
        options: &Options,
    ) -> (Option<Program>, Vec<Diagnostic>) {
        let (ast, checked, sources) = (&self.ast, &self.checked, &self.sources);
        let mut diagnostics = self.diagnostics.clone();
        let program = match checked.strategy {
            Some(_) => {
                let (values, param_diags) = bind_params(ast, checked, overrides);
                diagnostics.extend(param_diags);
                let (program, elab_diags) = sema::elab::elaborate(ast, sources, checked, &values);
                diagnostics.extend(elab_diags);
                let total = program.total_bytes();
                if total > options.max_memory
                    && let Some(syntax::ast::Item::Strategy(s)) =
                        checked.strategy.map(|i| &ast.items[i].1)
                {
                    diagnostics.push(too_much_memory(&program, sources, s.name.span, options));
                }
                if program.has_actions
                    && program.strategy_warmup.is_none()
                    && let Some(syntax::ast::Item::Strategy(s)) =
                        checked.strategy.map(|i| &ast.items[i].1)
                {
                    diagnostics.push(never_trades(&program, &s.name.name));
                }
                Some(program)
            }
            None if self.oversized => None,
            None => {
                let at = source::Span::new(self.user, 0, 0);
                diagnostics.push(
                    Diagnostic::new(Code::E0112, "no strategy in the file")
                        .primary(at, "expected a `strategy` block")
                        .help("add `strategy name { ... }` with the rules to run"),
                );
                None
            }
        };
        diag::normalize(&mut diagnostics);
        if diagnostics.iter().any(|d| d.is_error()) {
            // Errors first; the warnings that an error usually causes (a `let` read only in the
            // broken code, a strategy that cannot trade while it does not compile) are dropped.
            diagnostics.retain(|d| d.is_error() || !matches!(d.code, Code::W0001 | Code::W0002));
            diagnostics.sort_by_key(|d| !d.is_error());
        }
        (program, diagnostics)
    }

    /// The bar program for these param values, or the diagnostics that stop it (errors
    /// first), on the compiler's stack.
    pub fn bar_program(
        &self,
        overrides: &[(String, String)],
        options: &Options,
    ) -> Result<ir::BarProgram, Vec<Diagnostic>> {
        with_compiler_stack(|| {
            let (program, diagnostics) = self.elaborate(overrides, options);
            match program {
                Some(p) if !diagnostics.iter().any(|d| d.is_error()) => Ok(ir::lower::lower(&p)),
                _ => Err(diagnostics),
            }
        })
    }
}

/// [`compile_with`] on the calling thread's stack.
pub fn compile_here(
    file_name: &str,
    text: &str,
    overrides: &[(String, String)],
    options: &Options,
) -> Compilation {
    let front = front_here(file_name, text);
    let (program, diagnostics) = front.elaborate(overrides, options);
    Compilation {
        sources: front.sources,
        user: front.user,
        ast: front.ast,
        checked: front.checked,
        program,
        diagnostics,
    }
}

/// `1.5 GB`, `640 KB`: bytes for a message.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} bytes")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// E0205: the buffers together are past the limit; the largest are listed.
fn too_much_memory(
    p: &Program,
    sources: &SourceMap,
    strategy: source::Span,
    options: &Options,
) -> Diagnostic {
    let mut largest: Vec<sema::elab::SeriesId> = p.order.clone();
    largest.sort_by_key(|&s| std::cmp::Reverse(p.bytes(s)));
    let mut d = Diagnostic::new(
        Code::E0205,
        format!(
            "the buffers need {}, more than the limit of {}",
            human_bytes(p.total_bytes()),
            human_bytes(options.max_memory)
        ),
    )
    .primary(strategy, "this strategy's series, together");
    for &s in largest.iter().take(5) {
        let series = &p.series[s];
        let file = sources.get(series.span.file);
        let (line, _) = file.line_col(series.span.start);
        d = d.note(format!(
            "`{}` ({}:{line}) reads {} bars back: {}",
            series.name,
            file.name,
            p.lookback.get(s).copied().unwrap_or(0),
            human_bytes(p.bytes(s))
        ));
    }
    d.help("shorten the longest lookbacks, or raise the limit: `--max-memory 4G`")
}

/// W0002 at the series that keeps every action from running (or at the first action).
fn never_trades(p: &sema::elab::Program, strategy: &str) -> Diagnostic {
    let mut d = Diagnostic::new(Code::W0002, format!("strategy `{strategy}` never trades"));
    let culprit = p.dead_actions.iter().find_map(|(_, s)| *s);
    match culprit {
        Some(s) => {
            let series = &p.series[s];
            d = d
                .primary(series.span, format!("`{}` is `na` on every bar", series.name))
                .note(format!(
                    "every action reads `{}`, directly or through another series, so none can run",
                    series.name
                ))
                .help("give it a value that can be present (a branch other than `na`, a seed for a series that reads its own past), or read it through `nz(...)` where `na` means 0");
        }
        None => {
            d = d.help(
                "every action reads a value that is `na` on every bar; `btl mem` shows `never` next to it",
            );
        }
    }
    for (span, _) in &p.dead_actions {
        d = d.secondary(*span, "this action can never run");
    }
    d
}

/// The value of every strategy param: its default, or its `--param` override.
fn bind_params(
    ast: &Ast,
    checked: &Checked,
    overrides: &[(String, String)],
) -> (HashMap<sema::check::LocalId, f64>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut values = HashMap::new();
    for &id in &checked.params {
        let local = &checked.locals[id];
        let default = local.decl.and_then(|s| match ast.stmt(s) {
            syntax::ast::Stmt::Param { default, .. } => sema::check::literal_value(ast, *default),
            _ => None,
        });
        values.insert(id, default.unwrap_or(value::NA));
    }
    for (name, raw) in overrides {
        let Some(&id) = checked
            .params
            .iter()
            .find(|&&id| checked.locals[id].name == *name)
        else {
            let names: Vec<&str> = checked
                .params
                .iter()
                .map(|&id| checked.locals[id].name.as_str())
                .collect();
            let mut d = Diagnostic::new(Code::E0300, format!("unknown param `{name}`"));
            if let Some(s) = diag::suggest(name, names.iter().copied()) {
                d = d.help(format!("did you mean `{s}`?"));
            }
            d = d.note(if names.is_empty() {
                "the strategy declares no params".to_string()
            } else {
                format!("the strategy's params are: {}", names.join(", "))
            });
            diags.push(d);
            continue;
        };
        let local = &checked.locals[id];
        let parsed = match local.ty {
            Ty::Int => {
                let digits = raw.replace('_', "");
                match digits.parse::<i64>() {
                    Ok(v) if v.unsigned_abs() <= 1 << 53 => Some(v as f64),
                    // An integer, but not one every engine holds exactly.
                    _ if !digits.is_empty()
                        && digits
                            .trim_start_matches(['-', '+'])
                            .bytes()
                            .all(|b| b.is_ascii_digit()) =>
                    {
                        diags.push(
                            Diagnostic::new(
                                Code::E0301,
                                format!("`--param {name}={raw}`: out of range"),
                            )
                            .primary(local.span, format!("`{name}` is declared int here"))
                            .help("ints go from -2^53 to 2^53 (about ±9.0e15)"),
                        );
                        continue;
                    }
                    _ => None,
                }
            }
            Ty::Float => raw.parse::<f64>().ok().filter(|v| v.is_finite()),
            Ty::Bool => match raw.as_str() {
                "true" => Some(1.0),
                "false" => Some(0.0),
                _ => None,
            },
            _ => None,
        };
        match parsed {
            Some(v) => {
                values.insert(id, v);
            }
            None => {
                let example = match local.ty {
                    Ty::Int => "an integer such as 20",
                    Ty::Float => "a number such as 0.5",
                    _ => "`true` or `false`",
                };
                diags.push(
                    Diagnostic::new(
                        Code::E0301,
                        format!("`--param {name}={raw}`: expected {}", local.ty.name()),
                    )
                    .primary(
                        local.span,
                        format!("`{name}` is declared {} here", local.ty.name()),
                    )
                    .help(format!("give {example}")),
                );
            }
        }
    }
    (values, diags)
}
