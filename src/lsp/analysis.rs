//! Editor features as pure functions over one compiled document.
//!
//! Contract: an [`Analysis`] holds a [`Compilation`] of one document (compiled with the params'
//! defaults, no overrides), the negotiated position [`Encoding`], a line index per file and the
//! URIs of the stdlib files. Its methods take protocol positions and return protocol values:
//! diagnostics, hover, definition, inlay hints, code lenses, document symbols and completion.
//! They do no IO and read nothing but the `Analysis`; they work on broken files (whatever the
//! checker and elaboration recovered) and return nothing rather than guess when the cursor is
//! on nothing known. Positions past the end of a line or the text are clamped.
//!
//! Facts shown: for a series (a `let`, a built-in input) its lookback, capacity (lookback + 1
//! values, 8 bytes each) and warm-up (the first bar on which it is present; "never"), one row per
//! call site for a `let` inside a function; for the strategy its total buffer bytes and warm-up
//! bar (`btl mem`'s totals).

use std::collections::HashMap;
use std::fmt::Write as _;

use lsp_types::{
    CodeLens, Command, CompletionItem, CompletionItemKind, DocumentSymbol, Documentation, Hover,
    HoverContents, InlayHint, InlayHintKind, InlayHintLabel, InlayHintTooltip, Location,
    MarkupContent, MarkupKind, Position, Range, SymbolKind, Uri,
};

use super::convert::{self, Encoding, LineIndex, Locate};
use super::stdlib_cache::StdlibFiles;
use crate::Compilation;
use crate::sema::builtins::{Builtin, Input};
use crate::sema::check::{Callee, ExprTy, LocalId, LocalKind, Res, Ty, signature};
use crate::sema::elab::{NEVER, SeriesId, SeriesKind};
use crate::source::{FileId, Span};
use crate::syntax::ast::{Block, Expr, ExprId, FnDef, Item, Stmt, StmtId};

/// Keywords offered by completion.
const KEYWORDS: &[&str] = &[
    "strategy", "fn", "param", "feed", "let", "mut", "if", "else", "for", "in", "and", "or", "not",
    "true", "false", "na", "series", "int", "float", "bool", "resample",
];

/// One compiled document and everything needed to answer questions about it.
#[derive(Debug)]
pub struct Analysis {
    pub uri: Uri,
    pub comp: Compilation,
    pub enc: Encoding,
    lines: Vec<LineIndex>,
    /// The URI of each file of the source map (the document for the user's file).
    file_uris: Vec<Option<Uri>>,
    /// The series each `let` statement became, one per call site.
    let_sites: HashMap<StmtId, Vec<SeriesId>>,
}

/// What the cursor is on.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// An expression (a name, a literal, an operator).
    Expr(ExprId),
    /// The name of a call.
    CallName(ExprId),
    /// The name in a declaration (param, let, mut, for, fn parameter).
    Local(LocalId),
    /// The name of a function in its definition (index into `Checked::fns`).
    Fn(usize),
    /// The strategy's name (index into `Ast::items`).
    Strategy(usize),
}

impl Locate for Analysis {
    fn user_file(&self) -> FileId {
        self.comp.user
    }

    fn span_range(&self, span: Span) -> Range {
        let text = &self.comp.sources.get(span.file).text;
        match self.lines.get(span.file.0 as usize) {
            Some(idx) => idx.range(text, span.start as usize, span.end as usize, self.enc),
            None => Range::default(),
        }
    }

    fn location(&self, span: Span) -> Option<Location> {
        let uri = self.file_uris.get(span.file.0 as usize)?.clone()?;
        Some(Location::new(uri, self.span_range(span)))
    }
}

fn markdown(value: String) -> MarkupContent {
    MarkupContent {
        kind: MarkupKind::Markdown,
        value,
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn warmup_text(w: u64) -> String {
    if w == NEVER {
        "never".to_string()
    } else {
        w.to_string()
    }
}

fn type_text(t: ExprTy) -> String {
    match t.ty {
        Ty::Int | Ty::Float | Ty::Bool if t.konst => format!("{} (compile-time)", t.ty.name()),
        Ty::Int | Ty::Float | Ty::Bool => format!("series {}", t.ty.name()),
        Ty::Na => "na (the missing value)".to_string(),
        Ty::Error => "unknown (there is an error here)".to_string(),
        other => other.name().to_string(),
    }
}

/// The label elaboration gives a call site (see `sema::elab`): the call's text with whitespace
/// collapsed, or `name(…)` when longer than 40 characters.
fn call_label(text: &str, name: &str) -> String {
    let label = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if label.chars().count() > 40 {
        format!("{name}(…)")
    } else {
        label
    }
}

/// Every statement under a block (depth first, in source order), with the span in which the
/// name it declares is visible.
fn statements(ast: &crate::syntax::ast::Ast, block: &Block) -> Vec<(StmtId, Span)> {
    enum Work<'a> {
        Block(&'a Block),
        Expr(ExprId),
    }
    let mut out = Vec::new();
    let mut stack = vec![Work::Block(block)];
    while let Some(w) = stack.pop() {
        match w {
            Work::Block(b) => {
                for &s in &b.stmts {
                    let Some(stmt) = ast.stmts.get(s) else {
                        continue;
                    };
                    match stmt {
                        Stmt::Param { default: e, .. }
                        | Stmt::Let { value: e, .. }
                        | Stmt::Mut { value: e, .. }
                        | Stmt::Assign { value: e, .. }
                        | Stmt::LetTuple { value: e, .. }
                        | Stmt::Expr(e) => {
                            out.push((s, b.span));
                            stack.push(Work::Expr(*e));
                        }
                        Stmt::For { lo, hi, body, .. } => {
                            out.push((s, body.span));
                            stack.push(Work::Expr(*lo));
                            stack.push(Work::Expr(*hi));
                            stack.push(Work::Block(body));
                        }
                        Stmt::Feed { value, .. } => {
                            out.push((s, b.span));
                            stack.extend(value.iter().map(|e| Work::Expr(*e)));
                        }
                        Stmt::Break | Stmt::Continue | Stmt::Error => {}
                    }
                }
            }
            Work::Expr(e) => match ast.exprs.get(e) {
                Some(Expr::Unary(_, a) | Expr::Paren(a) | Expr::In(_, a)) => {
                    stack.push(Work::Expr(*a))
                }
                Some(Expr::Binary(_, a, b) | Expr::Index(a, b)) => {
                    stack.push(Work::Expr(*a));
                    stack.push(Work::Expr(*b));
                }
                Some(Expr::Call(_, args) | Expr::Tuple(args)) => {
                    stack.extend(args.iter().map(|a| Work::Expr(*a)))
                }
                Some(Expr::If(c, then, other)) => {
                    stack.push(Work::Expr(*c));
                    stack.push(Work::Block(then));
                    if let Some(o) = other {
                        stack.push(Work::Block(o));
                    }
                }
                _ => {}
            },
        }
    }
    out.sort_by_key(|(s, _)| ast.stmt_spans.get(*s).map(|sp| sp.start));
    out
}

impl Analysis {
    /// Compiles `text` (the document at `uri`, named `file_name` in messages) with the params'
    /// defaults.
    pub fn new(
        uri: Uri,
        file_name: &str,
        text: &str,
        enc: Encoding,
        stdlib: &StdlibFiles,
    ) -> Analysis {
        let comp = crate::compile(file_name, text, &[]);
        Analysis::from_compilation(uri, comp, enc, stdlib)
    }

    pub fn from_compilation(
        uri: Uri,
        comp: Compilation,
        enc: Encoding,
        stdlib: &StdlibFiles,
    ) -> Analysis {
        let lines = comp
            .sources
            .files()
            .map(|(_, f)| LineIndex::new(&f.text))
            .collect();
        let file_uris = comp
            .sources
            .files()
            .map(|(id, f)| {
                if id == comp.user {
                    Some(uri.clone())
                } else {
                    stdlib.uri(&f.name).cloned()
                }
            })
            .collect();
        let mut let_sites: HashMap<StmtId, Vec<SeriesId>> = HashMap::new();
        if let Some(p) = &comp.program {
            for &(stmt, s) in &p.let_series {
                if p.series.contains_key(s) {
                    let_sites.entry(stmt).or_default().push(s);
                }
            }
        }
        Analysis {
            uri,
            comp,
            enc,
            lines,
            file_uris,
            let_sites,
        }
    }

    fn text(&self) -> &str {
        &self.comp.sources.get(self.comp.user).text
    }

    fn user_lines(&self) -> &LineIndex {
        &self.lines[self.comp.user.0 as usize]
    }

    /// The byte offset of a position in the document.
    pub fn offset(&self, pos: Position) -> usize {
        self.user_lines().offset(self.text(), pos, self.enc)
    }

    pub fn position(&self, offset: usize) -> Position {
        self.user_lines().position(self.text(), offset, self.enc)
    }

    /// The diagnostics of the document (see `convert::diagnostic`).
    pub fn diagnostics(&self) -> Vec<lsp_types::Diagnostic> {
        self.comp
            .diagnostics
            .iter()
            .filter_map(|d| convert::diagnostic(d, self))
            .collect()
    }

    // ----- what is under the cursor -----

    fn in_user(&self, span: Span, off: usize) -> bool {
        span.file == self.comp.user && span.start as usize <= off && off < span.end as usize
    }

    /// The name (identifier) at a byte offset.
    fn ident_at(&self, off: usize) -> Option<(Target, Span)> {
        let c = &self.comp.checked;
        for (id, l) in &c.locals {
            if self.in_user(l.span, off) {
                return Some((Target::Local(id), l.span));
            }
        }
        for (i, f) in c.fns.iter().enumerate() {
            if f.file != self.comp.user {
                continue;
            }
            if let Some((_, Item::Fn(def))) = self.comp.ast.items.get(f.item)
                && self.in_user(def.name.span, off)
            {
                return Some((Target::Fn(i), def.name.span));
            }
        }
        for (i, (file, item)) in self.comp.ast.items.iter().enumerate() {
            if let Item::Strategy(s) = item
                && *file == self.comp.user
                && self.in_user(s.name.span, off)
            {
                return Some((Target::Strategy(i), s.name.span));
            }
        }
        for (id, e) in &self.comp.ast.exprs {
            let Some(&span) = self.comp.ast.expr_spans.get(id) else {
                continue;
            };
            match e {
                Expr::Name(n) if self.in_user(span, off) => {
                    return Some((Target::Expr(id), n.span));
                }
                Expr::Call(n, _) if self.in_user(n.span, off) => {
                    return Some((Target::CallName(id), n.span));
                }
                _ => {}
            }
        }
        None
    }

    /// The innermost expression containing a byte offset.
    fn expr_at(&self, off: usize) -> Option<(Target, Span)> {
        let mut best: Option<(u32, ExprId, Span)> = None;
        for (id, e) in &self.comp.ast.exprs {
            if matches!(e, Expr::Error) {
                continue;
            }
            let Some(&span) = self.comp.ast.expr_spans.get(id) else {
                continue;
            };
            if self.in_user(span, off) && best.is_none_or(|(len, _, _)| span.end - span.start < len)
            {
                best = Some((span.end - span.start, id, span));
            }
        }
        best.map(|(_, id, span)| (Target::Expr(id), span))
    }

    /// What the cursor is on: a name at the offset or just before it (a cursor at the end of a
    /// word), else the innermost expression.
    fn target(&self, pos: Position) -> Option<(Target, Span)> {
        let off = self.offset(pos);
        self.ident_at(off)
            .or_else(|| off.checked_sub(1).and_then(|o| self.ident_at(o)))
            .or_else(|| self.expr_at(off))
    }

    // ----- facts -----

    /// Lookback, capacity and warm-up of a series.
    fn facts(&self, s: SeriesId) -> Option<(u32, u32, u64)> {
        let p = self.comp.program.as_ref()?;
        p.series.get(s)?;
        Some((
            p.lookback.get(s).copied().unwrap_or(0),
            p.capacity(s),
            p.warmup.get(s).copied().unwrap_or(0),
        ))
    }

    fn facts_line(&self, s: SeriesId) -> String {
        match self.facts(s) {
            Some((lb, cap, w)) => format!(
                "**lookback** {lb} · **capacity** {cap} values ({} bytes) · **warm-up** {}{}",
                thousands(u64::from(cap) * 8),
                if w == NEVER {
                    "never (it is never guaranteed to be present)".to_string()
                } else {
                    format!("bar {w}")
                },
                self.clock_note(s)
            ),
            None => String::new(),
        }
    }

    /// With feeds or timeframes: ` · in bars of daily` (or `of the primary feed`, `every step`),
    /// the bars lookback and warm-up count; empty for a program with one clock.
    fn clock_note(&self, s: SeriesId) -> String {
        let Some(p) = self.comp.program.as_ref() else {
            return String::new();
        };
        if p.feeds.iter().all(|f| f.clock == 0) {
            return String::new();
        }
        let clock = p.clock.get(s).copied().unwrap_or(0);
        match crate::sema::elab::feed_of_clock(&p.feeds, clock) {
            None => " · every step".to_string(),
            Some(f) if f.name.is_empty() => " · in bars of the primary feed".to_string(),
            Some(f) => format!(" · in bars of {}", f.name),
        }
    }

    fn facts_table(&self, sites: &[SeriesId]) -> String {
        let Some(p) = &self.comp.program else {
            return String::new();
        };
        let mut out = format!(
            "{} call sites, one buffer each:\n\n| series | lookback | capacity | warm-up |\n|---|---:|---:|---:|\n",
            sites.len()
        );
        let (mut max_lb, mut max_w) = (0, 0);
        for &s in sites {
            if let Some((lb, cap, w)) = self.facts(s) {
                max_lb = max_lb.max(lb);
                max_w = max_w.max(w);
                let _ = writeln!(
                    out,
                    "| `{}` | {lb} | {cap} | {} |",
                    p.series[s].name.replace('|', "\\|"),
                    warmup_text(w)
                );
            }
        }
        let _ = write!(
            out,
            "\nmax: **lookback** {max_lb} · **warm-up** {}",
            warmup_text(max_w)
        );
        out
    }

    fn input_series(&self, i: Input) -> Option<SeriesId> {
        let p = self.comp.program.as_ref()?;
        p.order
            .iter()
            .copied()
            .find(|&s| p.series[s].kind == SeriesKind::Input(i))
    }

    fn fn_def(&self, idx: usize) -> Option<&FnDef> {
        let info = self.comp.checked.fns.get(idx)?;
        match self.comp.ast.items.get(info.item) {
            Some((_, Item::Fn(def))) => Some(def),
            _ => None,
        }
    }

    /// The user function whose parameters include `id`.
    fn fn_of_param(&self, id: LocalId) -> Option<usize> {
        self.comp
            .checked
            .fns
            .iter()
            .position(|f| f.params.contains(&id))
    }

    fn default_text(&self, stmt: Option<StmtId>) -> Option<String> {
        match self.comp.ast.stmts.get(stmt?)? {
            Stmt::Param { default, .. } => {
                let span = *self.comp.ast.expr_spans.get(*default)?;
                Some(self.comp.sources.snippet(span).to_string())
            }
            _ => None,
        }
    }

    // ----- hover -----

    pub fn hover(&self, pos: Position) -> Option<Hover> {
        let (target, span) = self.target(pos)?;
        let text = match target {
            Target::Local(id) => self.local_hover(id),
            Target::Fn(idx) => self.fn_hover(idx, None),
            Target::Strategy(item) => self.strategy_hover(item),
            Target::CallName(e) => self.call_hover(e),
            Target::Expr(e) => self.expr_hover(e),
        }?;
        Some(Hover {
            contents: HoverContents::Markup(markdown(text)),
            range: Some(self.span_range(span)),
        })
    }

    fn local_hover(&self, id: LocalId) -> Option<String> {
        let c = &self.comp.checked;
        let l = c.locals.get(id)?;
        let ty = l.ty.name();
        let mut out = String::from("```btl\n");
        match l.kind {
            LocalKind::StrategyParam => {
                let default = self.default_text(l.decl).unwrap_or_default();
                let _ = writeln!(out, "param {}: {ty} = {default}", l.name);
            }
            LocalKind::FnParam { series } => {
                let _ = writeln!(
                    out,
                    "{}: {}{ty}",
                    l.name,
                    if series { "series " } else { "" }
                );
            }
            LocalKind::Let if l.konst => {
                let _ = writeln!(out, "let {}: {ty}  // compile-time", l.name);
            }
            LocalKind::Let => {
                let _ = writeln!(out, "let {}: series {ty}", l.name);
            }
            LocalKind::Mut => {
                let _ = writeln!(out, "mut {}: {ty}", l.name);
            }
            LocalKind::LoopVar => {
                let _ = writeln!(out, "{}: int  // loop variable", l.name);
            }
        }
        out.push_str("```\n");
        if let Some(doc) = &l.doc {
            let _ = write!(out, "\n{doc}\n");
        }
        out.push('\n');
        match l.kind {
            LocalKind::StrategyParam => {
                let _ = write!(
                    out,
                    "A compile-time value: facts here use its default; override with `--param {}=VALUE`.",
                    l.name
                );
            }
            LocalKind::FnParam { series } => {
                let of = self
                    .fn_of_param(id)
                    .and_then(|f| self.comp.checked.fns.get(f))
                    .map(|f| format!(" of `{}`", f.name))
                    .unwrap_or_default();
                if series {
                    let _ = write!(
                        out,
                        "A series parameter{of}: each call site passes its own series."
                    );
                } else {
                    let _ = write!(
                        out,
                        "A compile-time parameter{of}: each call passes a literal, a param or arithmetic of those."
                    );
                }
            }
            LocalKind::Let => {
                let sites = l
                    .decl
                    .and_then(|d| self.let_sites.get(&d))
                    .cloned()
                    .unwrap_or_default();
                match sites.as_slice() {
                    [] if l.konst => out.push_str("A compile-time constant: no buffer."),
                    [] if self.comp.program.is_none() => {
                        out.push_str("No facts: the file has no strategy.")
                    }
                    [] if self.fn_of_let_is_user_fn(l.span) => out.push_str(
                        "No facts: the strategy does not call this function (each call site gets its own series).",
                    ),
                    [] if self.comp.has_errors() => {
                        out.push_str("No facts: fix the errors first.")
                    }
                    [] => out.push_str("A constant: no buffer."),
                    [one] => out.push_str(&self.facts_line(*one)),
                    many => out.push_str(&self.facts_table(many)),
                }
            }
            LocalKind::Mut => out.push_str("A per-bar local: no history, no buffer."),
            LocalKind::LoopVar => out.push_str(
                "A compile-time loop variable: an index using it is bounded by the loop's range.",
            ),
        }
        Some(out)
    }

    fn fn_of_let_is_user_fn(&self, span: Span) -> bool {
        self.comp.ast.items.iter().any(|(file, item)| {
            *file == self.comp.user
                && matches!(item, Item::Fn(f) if f.span.start <= span.start && span.end <= f.span.end)
        })
    }

    fn fn_hover(&self, idx: usize, call: Option<ExprId>) -> Option<String> {
        let info = self.comp.checked.fns.get(idx)?;
        let def = self.fn_def(idx)?;
        let file = self.comp.sources.get(info.file);
        let mut out = format!("```btl\nfn {}\n```\n", signature(def));
        if let Some(doc) = &def.doc {
            let _ = write!(out, "\n{doc}\n");
        }
        out.push('\n');
        if file.is_stdlib {
            let _ = write!(out, "*{}* (stdlib)", file.name);
        } else {
            let (line, _) = file.line_col(def.name.span.start);
            let _ = write!(out, "Defined on line {line}.");
        }
        if info.stateful {
            out.push_str("\n\nKeeps state: each call site owns its series.");
        }
        if let Some(call) = call {
            let t = self.comp.checked.ty(call);
            let _ = write!(out, "\n\nThis call: {}.", type_text(t));
            if let Some(series) = self.call_series(call) {
                out.push_str(&series);
            }
        }
        Some(out)
    }

    /// For a call written in the strategy body: the series it owns and their bytes.
    fn call_series(&self, call: ExprId) -> Option<String> {
        let p = self.comp.program.as_ref()?;
        let span = *self.comp.ast.expr_spans.get(call)?;
        let item = self.comp.checked.strategy?;
        let (_, Item::Strategy(s)) = self.comp.ast.items.get(item)? else {
            return None;
        };
        if !(s.span.file == span.file && s.span.start <= span.start && span.end <= s.span.end) {
            return None;
        }
        let Expr::Call(name, _) = self.comp.ast.exprs.get(call)? else {
            return None;
        };
        let prefix = format!(
            "{}.",
            call_label(self.comp.sources.snippet(span), &name.name)
        );
        let owned: Vec<SeriesId> = p
            .order
            .iter()
            .copied()
            .filter(|&s| p.series[s].name.starts_with(&prefix))
            .collect();
        if owned.is_empty() {
            return None;
        }
        let bytes: u64 = owned.iter().map(|&s| p.bytes(s)).sum();
        let mut out = format!(
            " It owns {} series ({} bytes):\n\n| series | lookback | warm-up |\n|---|---:|---:|\n",
            owned.len(),
            thousands(bytes)
        );
        for &s in owned.iter().take(12) {
            if let Some((lb, _, w)) = self.facts(s) {
                let _ = writeln!(
                    out,
                    "| `{}` | {lb} | {} |",
                    p.series[s].name.replace('|', "\\|"),
                    warmup_text(w)
                );
            }
        }
        if owned.len() > 12 {
            let _ = writeln!(out, "| … {} more | | |", owned.len() - 12);
        }
        Some(out)
    }

    fn call_hover(&self, e: ExprId) -> Option<String> {
        match self.comp.checked.calls.get(e)? {
            Callee::User(idx) => self.fn_hover(*idx, Some(e)),
            Callee::Builtin(b) => Some(builtin_doc(*b)),
            Callee::Error => None,
        }
    }

    fn expr_hover(&self, e: ExprId) -> Option<String> {
        let c = &self.comp.checked;
        if let Expr::Name(_) = self.comp.ast.exprs.get(e)? {
            match c.names.get(e)? {
                Res::Local(id) => return self.local_hover(*id),
                Res::Input(i) => {
                    let ty = if i.is_int() { "int" } else { "float" };
                    let mut out = format!(
                        "```btl\n{}: series {ty}\n```\n\n{} (built-in input).",
                        i.name(),
                        i.doc()
                    );
                    if let Some(s) = self.input_series(*i) {
                        let _ = write!(out, "\n\n{}", self.facts_line(s));
                    }
                    return Some(out);
                }
                Res::Na => return Some("```btl\nna\n```\n\nThe missing value.".to_string()),
                Res::Error => return None,
            }
        }
        if let Expr::Call(..) = self.comp.ast.exprs.get(e)? {
            return self.call_hover(e);
        }
        let t = c.types.get(e)?;
        let mut out = format!("```btl\n{}\n```", type_text(*t));
        if let Some(Expr::Index(..)) = self.comp.ast.exprs.get(e) {
            out.push_str("\n\n`x[k]`: the value of `x` `k` bars ago (`na` before the first bar).");
        }
        Some(out)
    }

    fn strategy_hover(&self, item: usize) -> Option<String> {
        let (_, Item::Strategy(s)) = self.comp.ast.items.get(item)? else {
            return None;
        };
        let mut out = format!("```btl\nstrategy {}\n```\n", s.name.name);
        if let Some(doc) = &s.doc {
            let _ = write!(out, "\n{doc}\n");
        }
        if let Some(summary) = self.strategy_summary() {
            let _ = write!(out, "\n{summary}");
        }
        let c = &self.comp.checked;
        if !c.params.is_empty() {
            out.push_str("\n\n| param | type | default |\n|---|---|---|\n");
            for &id in &c.params {
                let l = &c.locals[id];
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} |",
                    l.name,
                    l.ty.name(),
                    self.default_text(l.decl).unwrap_or_default()
                );
            }
        }
        Some(out)
    }

    /// `buffers 1,234 bytes in 12 series · warm-up bar 29`.
    fn strategy_summary(&self) -> Option<String> {
        let p = self.comp.program.as_ref()?;
        let mut s = format!(
            "buffers {} bytes in {} series · warm-up {}",
            thousands(p.total_bytes()),
            thousands(p.order.len() as u64),
            p.strategy_warmup
                .map_or("never".to_string(), |w| format!("bar {w}"))
        );
        if self.comp.has_errors() {
            s.push_str(" (so far: the file has errors)");
        }
        Some(s)
    }

    // ----- definition -----

    pub fn definition(&self, pos: Position) -> Option<Location> {
        let (target, _) = self.target(pos)?;
        let c = &self.comp.checked;
        let span = match target {
            Target::Local(id) => c.locals.get(id)?.span,
            Target::Fn(idx) => self.fn_def(idx)?.name.span,
            Target::Strategy(item) => self.comp.ast.items.get(item)?.1.span(),
            Target::CallName(e) => match c.calls.get(e)? {
                Callee::User(idx) => self.fn_def(*idx)?.name.span,
                _ => return None,
            },
            Target::Expr(e) => match c.names.get(e)? {
                Res::Local(id) => c.locals.get(*id)?.span,
                _ => return None,
            },
        };
        self.location(span)
    }

    // ----- inlay hints and code lenses -----

    /// `lookback N · warm-up W` after each `let` name whose position lies in `range`.
    pub fn inlay_hints(&self, range: Range) -> Vec<InlayHint> {
        let (lo, hi) = (self.offset(range.start), self.offset(range.end));
        let Some(p) = &self.comp.program else {
            return Vec::new();
        };
        let mut hints = Vec::new();
        // Each name a `let` or `let (a, _, c)` defines, with its series at every call site.
        let mut named: Vec<(&crate::syntax::ast::Ident, Vec<SeriesId>)> = Vec::new();
        for (stmt, sites) in &self.let_sites {
            match self.comp.ast.stmts.get(*stmt) {
                Some(Stmt::Let { name, .. }) => named.push((name, sites.clone())),
                Some(Stmt::LetTuple { names, .. }) => {
                    for name in names.iter().filter(|n| n.name != "_") {
                        let own: Vec<SeriesId> = sites
                            .iter()
                            .copied()
                            .filter(|&s| {
                                let full = &p.series[s].name;
                                full == &name.name || full.ends_with(&format!(".{}", name.name))
                            })
                            .collect();
                        named.push((name, own));
                    }
                }
                _ => {}
            }
        }
        for (name, sites) in &named {
            let sites = sites.as_slice();
            if sites.is_empty() {
                continue;
            }
            let at = name.span.end as usize;
            if name.span.file != self.comp.user || at < lo || at > hi {
                continue;
            }
            let facts: Vec<(u32, u32, u64)> = sites.iter().filter_map(|&s| self.facts(s)).collect();
            let Some(&(lb0, _, w0)) = facts.first() else {
                continue;
            };
            let same = facts.iter().all(|&(lb, _, w)| lb == lb0 && w == w0);
            let label = if same {
                let mut l = format!("lookback {lb0} · warm-up {}", warmup_text(w0));
                if facts.len() > 1 {
                    let _ = write!(l, " ({} call sites)", facts.len());
                }
                l.push_str(&self.clock_note(sites[0]));
                l
            } else {
                let lb_min = facts.iter().map(|f| f.0).min().unwrap_or(0);
                let lb_max = facts.iter().map(|f| f.0).max().unwrap_or(0);
                let w_min = facts.iter().map(|f| f.2).min().unwrap_or(0);
                let w_max = facts.iter().map(|f| f.2).max().unwrap_or(0);
                let span = |a: String, b: String| if a == b { a } else { format!("{a}–{b}") };
                format!(
                    "lookback {} · warm-up {} ({} call sites)",
                    span(lb_min.to_string(), lb_max.to_string()),
                    span(warmup_text(w_min), warmup_text(w_max)),
                    facts.len()
                )
            };
            let tooltip = if sites.len() > 1 {
                self.facts_table(sites)
            } else {
                format!(
                    "`{}`: {}",
                    p.series[sites[0]].name,
                    self.facts_line(sites[0])
                )
            };
            hints.push(InlayHint {
                position: self.position(at),
                label: InlayHintLabel::String(label),
                kind: Some(InlayHintKind::TYPE),
                text_edits: None,
                tooltip: Some(InlayHintTooltip::MarkupContent(markdown(tooltip))),
                padding_left: Some(true),
                padding_right: Some(true),
                data: None,
            });
        }
        hints.sort_by_key(|h| (h.position.line, h.position.character));
        hints
    }

    /// A lens on the strategy's name with its total buffer bytes and warm-up bar.
    pub fn code_lenses(&self) -> Vec<CodeLens> {
        let Some(item) = self.comp.checked.strategy else {
            return Vec::new();
        };
        let Some((_, Item::Strategy(s))) = self.comp.ast.items.get(item) else {
            return Vec::new();
        };
        let Some(title) = self.strategy_summary() else {
            return Vec::new();
        };
        vec![CodeLens {
            range: self.span_range(s.name.span),
            command: Some(Command {
                title,
                command: String::new(),
                arguments: None,
            }),
            data: None,
        }]
    }

    // ----- document symbols -----

    #[allow(deprecated)]
    fn symbol(
        &self,
        name: &str,
        detail: Option<String>,
        kind: SymbolKind,
        full: Span,
        sel: Span,
        children: Option<Vec<DocumentSymbol>>,
    ) -> DocumentSymbol {
        let full = full.to(sel);
        DocumentSymbol {
            name: if name.is_empty() { "?" } else { name }.to_string(),
            detail,
            kind,
            tags: None,
            deprecated: None,
            range: self.span_range(full),
            selection_range: self.span_range(sel),
            children,
        }
    }

    fn body_symbols(&self, block: &Block) -> Vec<DocumentSymbol> {
        let ast = &self.comp.ast;
        let mut out = Vec::new();
        for (sid, _) in statements(ast, block) {
            let full = ast.stmt_spans.get(sid).copied();
            let local = self.comp.checked.decls.get(sid).copied();
            let ty = local
                .and_then(|l| self.comp.checked.locals.get(l))
                .map(|l| l.ty.name());
            match ast.stmts.get(sid) {
                Some(Stmt::Param { name, .. }) => {
                    let default = self.default_text(Some(sid)).unwrap_or_default();
                    out.push(self.symbol(
                        &name.name,
                        Some(format!("param {} = {default}", ty.unwrap_or("?"))),
                        SymbolKind::CONSTANT,
                        full.unwrap_or(name.span),
                        name.span,
                        None,
                    ));
                }
                Some(Stmt::Let { name, .. }) => {
                    let detail = match self.let_sites.get(&sid).map(|v| v.as_slice()) {
                        Some([one]) => self.facts(*one).map(|(lb, _, w)| {
                            format!("lookback {lb} · warm-up {}", warmup_text(w))
                        }),
                        Some(many) if !many.is_empty() => {
                            Some(format!("{} call sites", many.len()))
                        }
                        _ => None,
                    };
                    out.push(self.symbol(
                        &name.name,
                        detail.or_else(|| ty.map(|t| format!("series {t}"))),
                        SymbolKind::VARIABLE,
                        full.unwrap_or(name.span),
                        name.span,
                        None,
                    ));
                }
                _ => {}
            }
        }
        out
    }

    /// The strategy with its params and lets, and each function with its parameters and lets.
    pub fn document_symbols(&self) -> Vec<DocumentSymbol> {
        let mut out = Vec::new();
        for (file, item) in &self.comp.ast.items {
            if *file != self.comp.user {
                continue;
            }
            match item {
                Item::Strategy(s) => {
                    let detail = self.strategy_summary();
                    let children = self.body_symbols(&s.body);
                    out.push(self.symbol(
                        &s.name.name,
                        detail,
                        SymbolKind::MODULE,
                        s.span,
                        s.name.span,
                        Some(children),
                    ));
                }
                Item::Fn(f) => {
                    let mut children: Vec<DocumentSymbol> = f
                        .params
                        .iter()
                        .map(|p| {
                            let t = p.ty.base.map(|b| b.as_str()).unwrap_or("?");
                            let detail = if p.ty.series {
                                format!("series {t}")
                            } else {
                                t.to_string()
                            };
                            self.symbol(
                                &p.name.name,
                                Some(detail),
                                SymbolKind::VARIABLE,
                                if p.ty.span.file == p.name.span.file {
                                    p.name.span.to(p.ty.span)
                                } else {
                                    p.name.span
                                },
                                p.name.span,
                                None,
                            )
                        })
                        .collect();
                    children.extend(self.body_symbols(&f.body));
                    out.push(self.symbol(
                        &f.name.name,
                        Some(signature(f)),
                        SymbolKind::FUNCTION,
                        f.span,
                        f.name.span,
                        Some(children),
                    ));
                }
            }
        }
        out
    }

    // ----- completion -----

    /// The locals visible at a byte offset of the user's file: the enclosing function's
    /// parameters and the declarations whose scope holds the offset and that start before it.
    fn locals_in_scope(&self, off: usize) -> Vec<LocalId> {
        let c = &self.comp.checked;
        let mut out = Vec::new();
        for (i, (file, item)) in self.comp.ast.items.iter().enumerate() {
            let span = item.span();
            if *file != self.comp.user || off < span.start as usize || off > span.end as usize {
                continue;
            }
            let body = match item {
                Item::Strategy(s) => &s.body,
                Item::Fn(f) => {
                    if let Some(info) = c.fns.iter().find(|f| f.item == i) {
                        out.extend(info.params.iter().copied());
                    }
                    &f.body
                }
            };
            for (sid, scope) in statements(&self.comp.ast, body) {
                let Some(&local) = c.decls.get(sid) else {
                    continue;
                };
                let starts = self
                    .comp
                    .ast
                    .stmt_spans
                    .get(sid)
                    .map_or(usize::MAX, |s| s.start as usize);
                if starts < off && scope.start as usize <= off && off <= scope.end as usize {
                    out.push(local);
                }
            }
        }
        // Inner declarations shadow outer ones of the same name.
        let mut seen = std::collections::HashSet::new();
        let mut kept: Vec<LocalId> = out
            .into_iter()
            .rev()
            .filter(|&id| seen.insert(c.locals[id].name.clone()))
            .collect();
        kept.reverse();
        kept
    }

    /// Names in scope, built-in inputs and functions, user and stdlib functions (with their
    /// signatures as detail) and keywords.
    pub fn completion(&self, pos: Position) -> Vec<CompletionItem> {
        let off = self.offset(pos);
        let c = &self.comp.checked;
        let mut items = Vec::new();
        let doc = |d: &Option<String>| {
            d.as_ref()
                .map(|d| Documentation::MarkupContent(markdown(d.clone())))
        };
        for id in self.locals_in_scope(off) {
            let l = &c.locals[id];
            let (kind, detail) = match l.kind {
                LocalKind::StrategyParam => (
                    CompletionItemKind::CONSTANT,
                    format!(
                        "param {} = {}",
                        l.ty.name(),
                        self.default_text(l.decl).unwrap_or_default()
                    ),
                ),
                LocalKind::FnParam { series: true } | LocalKind::Let => (
                    CompletionItemKind::VARIABLE,
                    format!("series {}", l.ty.name()),
                ),
                LocalKind::FnParam { series: false } | LocalKind::LoopVar => (
                    CompletionItemKind::VARIABLE,
                    format!("{} (compile-time)", l.ty.name()),
                ),
                LocalKind::Mut => (CompletionItemKind::VARIABLE, format!("mut {}", l.ty.name())),
            };
            items.push(CompletionItem {
                label: l.name.clone(),
                kind: Some(kind),
                detail: Some(detail),
                documentation: doc(&l.doc),
                sort_text: Some(format!("0{}", l.name)),
                ..CompletionItem::default()
            });
        }
        for &i in Input::ALL {
            items.push(CompletionItem {
                label: i.name().to_string(),
                kind: Some(CompletionItemKind::VARIABLE),
                detail: Some(format!(
                    "series {} (built-in input)",
                    if i.is_int() { "int" } else { "float" }
                )),
                documentation: Some(Documentation::String(i.doc().to_string())),
                sort_text: Some(format!("1{}", i.name())),
                ..CompletionItem::default()
            });
        }
        for &b in Builtin::ALL {
            items.push(CompletionItem {
                label: b.name().to_string(),
                kind: Some(CompletionItemKind::FUNCTION),
                detail: Some(b.signature().to_string()),
                documentation: Some(Documentation::String(b.doc().to_string())),
                sort_text: Some(format!("2{}", b.name())),
                ..CompletionItem::default()
            });
        }
        let mut fns: Vec<(&String, &usize)> = c.fn_by_name.iter().collect();
        fns.sort();
        for (name, &idx) in fns {
            let Some(def) = self.fn_def(idx) else {
                continue;
            };
            items.push(CompletionItem {
                label: name.clone(),
                kind: Some(CompletionItemKind::FUNCTION),
                detail: Some(signature(def)),
                documentation: doc(&def.doc),
                sort_text: Some(format!("2{name}")),
                ..CompletionItem::default()
            });
        }
        for &k in KEYWORDS {
            if items.iter().any(|i| i.label == k) {
                continue;
            }
            items.push(CompletionItem {
                label: k.to_string(),
                kind: Some(CompletionItemKind::KEYWORD),
                sort_text: Some(format!("3{k}")),
                ..CompletionItem::default()
            });
        }
        items
    }
}

/// A built-in function's signature and doc.
fn builtin_doc(b: Builtin) -> String {
    let kind = if b.is_action() {
        "built-in action (strategy body only)"
    } else {
        "built-in function"
    };
    format!("```btl\n{}\n```\n\n{} ({kind}).", b.signature(), b.doc())
}
