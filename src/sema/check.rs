//! Name resolution and type checking.
//!
//! Contract: [`check`] takes the whole [`Ast`] (stdlib prelude and user program) and returns a
//! [`Checked`] side-table set plus diagnostics. It never fails: unknown names and bad types get an
//! `Error` type that suppresses cascades, so one mistake gives one diagnostic. It decides types
//! (int, float, bool), compile-time-ness ("konst": literals, params, scalar fn params and
//! arithmetic of those), which name each identifier means, which function each call calls,
//! and rejects what is wrong without knowing parameter values (recursion, actions in functions,
//! state in loops, history of `mut` locals, a series reading its own present). Index bounds
//! need parameter values and are checked later, in `sema::elab`.

use std::collections::HashMap;

use slotmap::{SecondaryMap, SlotMap, new_key_type};

use super::builtins::{Action, Builtin, FillField, Input};
use crate::diag::{Code, Diagnostic, suggest};
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::ast::*;

new_key_type! {
    pub struct LocalId;
}

/// A value type. `Na` is the type of the literal `na`, compatible with every value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ty {
    Int,
    Float,
    Bool,
    Na,
    Str,
    Void,
    /// The result of a function returning several values (their types are in `FnInfo::rets`).
    Tuple(u8),
    Error,
}

impl Ty {
    pub fn from_base(b: BaseType) -> Ty {
        match b {
            BaseType::Int => Ty::Int,
            BaseType::Float => Ty::Float,
            BaseType::Bool => Ty::Bool,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Ty::Int => "int",
            Ty::Float => "float",
            Ty::Bool => "bool",
            Ty::Na => "na",
            Ty::Str => "string",
            Ty::Void => "no value",
            Ty::Tuple(_) => "a tuple",
            Ty::Error => "{error}",
        }
    }

    fn is_numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::Float | Ty::Na)
    }

    /// Whether a value of type `self` may be stored where `want` is expected.
    pub fn fits(self, want: Ty) -> bool {
        self == want
            || matches!(self, Ty::Na | Ty::Error)
            || want == Ty::Error
            || (self == Ty::Int && want == Ty::Float)
    }

    /// The common type of two branches or operands.
    fn join(a: Ty, b: Ty) -> Option<Ty> {
        match (a, b) {
            (Ty::Error, _) | (_, Ty::Error) => Some(Ty::Error),
            (Ty::Na, t) | (t, Ty::Na) => Some(t),
            (Ty::Int, Ty::Float) | (Ty::Float, Ty::Int) => Some(Ty::Float),
            (a, b) if a == b => Some(a),
            _ => None,
        }
    }
}

/// The type of an expression and whether its value is known at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExprTy {
    pub ty: Ty,
    pub konst: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalKind {
    StrategyParam,
    /// A function parameter; `series` says whether it accepts varying values.
    FnParam {
        series: bool,
    },
    Let,
    Mut,
    LoopVar,
}

#[derive(Debug, Clone)]
pub struct Local {
    pub name: String,
    pub kind: LocalKind,
    pub ty: Ty,
    pub konst: bool,
    pub span: Span,
    /// The declaring statement (none for function parameters).
    pub decl: Option<StmtId>,
    pub doc: Option<String>,
    /// A `let` that reads its own past.
    pub self_ref: bool,
    /// Read somewhere (other than in its own definition).
    pub used: bool,
}

/// What a name expression refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Res {
    Local(LocalId),
    Input(Input),
    Na,
    Error,
}

/// What a call expression calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callee {
    User(usize),
    Builtin(Builtin),
    Error,
}

#[derive(Debug, Clone)]
pub struct FnInfo {
    /// Index into `Ast::items`.
    pub item: usize,
    pub name: String,
    pub file: FileId,
    pub params: Vec<LocalId>,
    pub ret: Ty,
    /// The element types when the function returns a tuple (`ret` is then `Ty::Tuple`).
    pub rets: Vec<Ty>,
    /// Has `let`s or history reads (directly or through calls): each call site needs state.
    pub stateful: bool,
    /// The result does not depend on series inputs.
    pub konst: bool,
    /// Checked already (or being checked, while `in_progress`).
    done: bool,
    in_progress: bool,
}

/// The side tables produced by [`check`].
#[derive(Debug, Clone, Default)]
pub struct Checked {
    pub fns: Vec<FnInfo>,
    pub fn_by_name: HashMap<String, usize>,
    /// The stdlib's own functions: calls inside the stdlib resolve here, so a user function with
    /// a stdlib name changes the user's calls only.
    pub stdlib_fn_by_name: HashMap<String, usize>,
    /// Index into `Ast::items` of the user's strategy.
    pub strategy: Option<usize>,
    pub locals: SlotMap<LocalId, Local>,
    pub names: SecondaryMap<ExprId, Res>,
    pub calls: SecondaryMap<ExprId, Callee>,
    pub types: SecondaryMap<ExprId, ExprTy>,
    /// Declaring statements (param, let, mut, for) to the local they declare.
    pub decls: SecondaryMap<StmtId, LocalId>,
    /// Assignment statements to the `mut` local they assign.
    pub assigns: SecondaryMap<StmtId, LocalId>,
    /// The strategy's params, in source order.
    pub params: Vec<LocalId>,
    /// Calls that would recurse (not expanded by elaboration).
    pub recursive_calls: SecondaryMap<ExprId, ()>,
    /// `let (a, _, c) = ...` statements to the local of each element (`None` for `_`).
    pub tuple_decls: SecondaryMap<StmtId, Vec<Option<LocalId>>>,
    /// The strategy's `feed` declarations, in source order; feed number `i + 1` is `feeds[i]`
    /// (number 0 is the primary feed, the first `--data`).
    pub feeds: Vec<FeedDecl>,
    /// `feed.expr` expressions to the number of their feed.
    pub feed_refs: SecondaryMap<ExprId, u32>,
}

/// A `feed` declaration.
#[derive(Debug, Clone)]
pub struct FeedDecl {
    pub name: String,
    pub span: Span,
    pub doc: Option<String>,
    pub source: FeedSource,
}

/// Where a feed's bars come from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FeedSource {
    /// A data file, bound on the command line (`--data NAME=FILE`).
    Data,
    /// Bars of feed number `of` (0: the primary) cut into periods of `timeframe`.
    Resample {
        of: u32,
        timeframe: crate::timeframe::Timeframe,
    },
}

impl Checked {
    pub fn ty(&self, e: ExprId) -> ExprTy {
        self.types.get(e).copied().unwrap_or(ExprTy {
            ty: Ty::Error,
            konst: false,
        })
    }
}

/// Checks every item (see the module contract). `user` is the file of the user's program.
pub fn check(ast: &Ast, sources: &SourceMap, user: FileId) -> (Checked, Vec<Diagnostic>) {
    let mut c = Checker {
        ast,
        out: Checked::default(),
        diags: Vec::new(),
        stdlib_files: sources
            .files()
            .filter(|(_, f)| f.is_stdlib)
            .map(|(id, _)| id)
            .collect(),
    };
    c.collect_items(sources, user);
    for i in 0..c.out.fns.len() {
        c.check_fn(i);
    }
    if let Some(s) = c.out.strategy {
        c.check_strategy(s);
    }
    for (_, l) in &c.out.locals {
        if l.kind == LocalKind::Let && !l.used && l.span.file == user && !l.name.starts_with('_') {
            c.diags.push(
                Diagnostic::new(Code::W0001, format!("`{}` is never read", l.name))
                    .primary(l.span, "this series is computed on every bar for nothing")
                    .help(format!(
                        "remove it, plot it, or name it `_{}` to keep it quietly",
                        l.name
                    )),
            );
        }
    }
    (c.out, c.diags)
}

struct Checker<'a> {
    ast: &'a Ast,
    out: Checked,
    diags: Vec<Diagnostic>,
    stdlib_files: Vec<FileId>,
}

/// Per-body state: scopes, where we are.
struct Ctx {
    scopes: Vec<HashMap<String, LocalId>>,
    /// Per scope, the `let`s written later in it: their past may be read before their definition.
    ahead: Vec<HashMap<String, LocalId>>,
    /// The name expression that is the base of the history read being checked (`b` in `b[1]`).
    index_base: Option<ExprId>,
    /// The tuple expression that is the result of the function being checked.
    tuple_result: Option<ExprId>,
    in_fn: bool,
    loop_depth: usize,
    /// The `let` whose value is being checked, for self-reference rules.
    defining: Option<LocalId>,
    /// Depth of history-index bases being checked (a self read inside `x[..]` is a past read).
    under_index: usize,
    stateful: bool,
    /// Checking a stdlib function: its calls resolve to the stdlib.
    in_stdlib: bool,
    /// Inside `feed.( ... )`: the feed's number.
    in_feed: Option<u32>,
}

impl Ctx {
    /// A body's context: a function's (`in_fn`) or the strategy's, in the stdlib or not.
    fn new(in_fn: bool, in_stdlib: bool) -> Ctx {
        Ctx {
            scopes: vec![HashMap::new()],
            ahead: vec![HashMap::new()],
            index_base: None,
            tuple_result: None,
            in_fn,
            loop_depth: 0,
            defining: None,
            under_index: 0,
            stateful: false,
            in_stdlib,
            in_feed: None,
        }
    }

    fn lookup(&self, name: &str) -> Option<LocalId> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }

    /// A `let` of an enclosing scope that is defined further down.
    fn lookup_ahead(&self, name: &str) -> Option<LocalId> {
        self.ahead.iter().rev().find_map(|s| s.get(name).copied())
    }
}

impl<'a> Checker<'a> {
    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn collect_items(&mut self, sources: &SourceMap, user: FileId) {
        let mut strategies = Vec::new();
        for (i, (file, item)) in self.ast.items.iter().enumerate() {
            match item {
                Item::Strategy(s) => {
                    if *file == user {
                        strategies.push((i, s.name.span));
                    }
                }
                Item::Fn(f) => {
                    let name = f.name.name.clone();
                    if Builtin::from_name(&name).is_some() || Input::from_name(&name).is_some() {
                        self.err(
                            Diagnostic::new(Code::E0101, format!("`{name}` is a built-in name"))
                                .primary(f.name.span, "cannot define a function with this name")
                                .help("choose another name for the function"),
                        );
                        continue;
                    }
                    let idx = self.out.fns.len();
                    if let Some(&prev) = self.out.fn_by_name.get(&name) {
                        let prev_file = self.out.fns[prev].file;
                        let shadows_stdlib =
                            sources.get(prev_file).is_stdlib && !sources.get(*file).is_stdlib;
                        if !shadows_stdlib {
                            let prev_span = match &self.ast.items[self.out.fns[prev].item].1 {
                                Item::Fn(p) => p.name.span,
                                Item::Strategy(s) => s.name.span,
                            };
                            self.err(
                                Diagnostic::new(
                                    Code::E0101,
                                    format!("function `{name}` is defined twice"),
                                )
                                .primary(f.name.span, "second definition")
                                .secondary(prev_span, "first definition")
                                .help("rename or remove one of them"),
                            );
                        }
                    }
                    self.out.fns.push(FnInfo {
                        item: i,
                        name: name.clone(),
                        file: *file,
                        params: Vec::new(),
                        ret: Ty::Error,
                        rets: Vec::new(),
                        stateful: false,
                        konst: false,
                        done: false,
                        in_progress: false,
                    });
                    if sources.get(*file).is_stdlib {
                        self.out
                            .stdlib_fn_by_name
                            .entry(name.clone())
                            .or_insert(idx);
                    }
                    // Later definitions win: user files come after the stdlib.
                    let keep_prev = self.out.fn_by_name.get(&name).is_some_and(|&p| {
                        !sources.get(self.out.fns[p].file).is_stdlib && sources.get(*file).is_stdlib
                    });
                    if !keep_prev {
                        self.out.fn_by_name.insert(name, idx);
                    }
                }
            }
        }
        match strategies.as_slice() {
            [] => {}
            [(i, _)] => self.out.strategy = Some(*i),
            [(i, _), rest @ ..] => {
                self.out.strategy = Some(*i);
                for (_, span) in rest {
                    self.err(
                        Diagnostic::new(Code::E0112, "more than one strategy in the file")
                            .primary(*span, "a second strategy")
                            .help("put each strategy in a file of its own"),
                    );
                }
            }
        }
    }

    fn new_local(
        &mut self,
        ctx: &mut Ctx,
        name: &Ident,
        kind: LocalKind,
        ty: Ty,
        konst: bool,
        decl: Option<StmtId>,
    ) -> LocalId {
        let early = ctx
            .ahead
            .last()
            .and_then(|a| a.get(&name.name))
            .copied()
            .filter(|&id| decl.is_some() && self.out.locals[id].decl == decl);
        if early.is_some()
            && let Some(a) = ctx.ahead.last_mut()
        {
            a.remove(&name.name);
        }
        if let Some(&prev) = ctx.scopes.last().and_then(|s| s.get(&name.name)) {
            let prev_span = self.out.locals[prev].span;
            self.err(
                Diagnostic::new(Code::E0101, format!("`{}` is defined twice", name.name))
                    .primary(name.span, "defined again here")
                    .secondary(prev_span, "first defined here")
                    .help("use another name, or assign to a `mut` local"),
            );
        }
        let id = match early {
            Some(id) => {
                let l = &mut self.out.locals[id];
                (l.kind, l.ty, l.konst) = (kind, ty, konst);
                id
            }
            None => self.out.locals.insert(Local {
                name: name.name.clone(),
                kind,
                ty,
                konst,
                span: name.span,
                decl,
                doc: None,
                self_ref: false,
                used: false,
            }),
        };
        if let Some(s) = ctx.scopes.last_mut() {
            s.insert(name.name.clone(), id);
        }
        id
    }

    fn check_fn(&mut self, idx: usize) {
        if self.out.fns[idx].done {
            return;
        }
        self.out.fns[idx].done = true;
        self.out.fns[idx].in_progress = true;
        let Item::Fn(f) = &self.ast.items[self.out.fns[idx].item].1 else {
            return;
        };
        let mut ctx = Ctx::new(true, self.stdlib_files.contains(&self.out.fns[idx].file));
        let mut params = Vec::new();
        let mut seen_default = false;
        for p in &f.params {
            if let Some(d) = p.default {
                seen_default = true;
                self.check_param_default(p, d);
            } else if seen_default {
                self.err(
                    Diagnostic::new(Code::E0105, format!("`{}` has no default but comes after a parameter that has one", p.name.name))
                        .primary(p.name.span, "give it a default, or move it before the parameters with one")
                        .help("parameters with defaults come last, so a call can leave them out from the end"),
                );
            }
            let ty = p.ty.base.map(Ty::from_base).unwrap_or(Ty::Error);
            let id = self.new_local(
                &mut ctx,
                &p.name,
                LocalKind::FnParam {
                    series: p.ty.series,
                },
                ty,
                !p.ty.series,
                None,
            );
            params.push(id);
        }
        self.out.fns[idx].params = params;
        if let Some(ret) = f.ret {
            // Known before the body, so recursive calls type-check against it.
            self.out.fns[idx].ret = ret.base.map(Ty::from_base).unwrap_or(Ty::Error);
        }
        if !f.rets.is_empty() {
            return self.check_tuple_fn(idx, f, ctx);
        }
        let value = self.check_block(&mut ctx, &f.body, true);
        let declared = f
            .ret
            .map(|r| r.base.map(Ty::from_base).unwrap_or(Ty::Error));
        let ret = match (declared, value) {
            (Some(want), Some(got)) => {
                if !got.ty.fits(want) {
                    let span = self
                        .ast
                        .block_value(&f.body)
                        .map(|e| self.ast.expr_span(e))
                        .unwrap_or(f.body.span);
                    self.err(
                        Diagnostic::new(
                            Code::E0104,
                            format!(
                                "`{}` returns {} but is declared to return {}",
                                f.name.name,
                                got.ty.name(),
                                want.name()
                            ),
                        )
                        .primary(span, format!("this is {}", got.ty.name()))
                        .secondary(
                            f.ret.map(|r| r.span).unwrap_or(f.name.span),
                            "declared here",
                        )
                        .help("change the declared type or the returned expression"),
                    );
                }
                want
            }
            (Some(want), None) => {
                self.err(
                    Diagnostic::new(
                        Code::E0104,
                        format!(
                            "`{}` is declared to return {} but its body has no value",
                            f.name.name,
                            want.name()
                        ),
                    )
                    .primary(f.body.span, "no value at the end of this block")
                    .help("end the body with an expression: its value is the result"),
                );
                want
            }
            (None, Some(got)) => {
                if got.ty == Ty::Na {
                    Ty::Float
                } else {
                    got.ty
                }
            }
            (None, None) => Ty::Void,
        };
        let info = &mut self.out.fns[idx];
        info.ret = ret;
        info.stateful = ctx.stateful;
        info.konst = value.is_some_and(|v| v.konst);
        info.in_progress = false;
    }

    /// A function returning a tuple: its body must end with a tuple of the declared length and
    /// element types.
    fn check_tuple_fn(&mut self, idx: usize, f: &FnDef, mut ctx: Ctx) {
        let want: Vec<Ty> = f
            .rets
            .iter()
            .map(|t| t.base.map(Ty::from_base).unwrap_or(Ty::Error))
            .collect();
        self.out.fns[idx].ret = Ty::Tuple(want.len().min(255) as u8);
        self.out.fns[idx].rets = want.clone();
        let last = self.ast.block_value(&f.body);
        ctx.tuple_result = last.filter(|&e| matches!(self.ast.expr(e), Expr::Tuple(_)));
        let value = self.check_block(&mut ctx, &f.body, true);
        let declared = f.rets.first().map(|r| r.span).unwrap_or(f.name.span);
        match (ctx.tuple_result, last) {
            (Some(t), _) => {
                let Expr::Tuple(elems) = self.ast.expr(t) else {
                    return;
                };
                if elems.len() != want.len() {
                    self.err(
                        Diagnostic::new(
                            Code::E0104,
                            format!(
                                "`{}` returns {} values but is declared to return {}",
                                f.name.name,
                                elems.len(),
                                want.len()
                            ),
                        )
                        .primary(self.ast.expr_span(t), format!("{} values", elems.len()))
                        .secondary(declared, "declared here")
                        .help("return as many values as the declared tuple has types"),
                    );
                }
                for (&e, &w) in elems.iter().zip(&want) {
                    let got = self.out.types.get(e).map_or(Ty::Error, |t| t.ty);
                    self.expect_fits(got, w, e, "this element of the result");
                }
            }
            (None, _) if value.is_some_and(|v| v.ty == Ty::Tuple(want.len() as u8)) => {}
            (None, _) => {
                let span = last.map(|e| self.ast.expr_span(e)).unwrap_or(f.body.span);
                self.err(
                    Diagnostic::new(
                        Code::E0104,
                        format!(
                            "`{}` is declared to return {} values but does not end with a tuple",
                            f.name.name,
                            want.len()
                        ),
                    )
                    .primary(span, "expected a tuple here")
                    .secondary(declared, "declared here")
                    .help("end the body with the values in parentheses: `(a, b)`"),
                );
            }
        }
        let info = &mut self.out.fns[idx];
        info.stateful = ctx.stateful;
        info.konst = false;
        info.in_progress = false;
    }

    /// A parameter's default: a literal of its type, or for a `series` parameter a built-in
    /// series (`close`) or a literal.
    fn check_param_default(&mut self, p: &FnParam, d: ExprId) {
        let mut ctx = Ctx::new(true, false);
        let got = self.check_expr(&mut ctx, d, true);
        let want = p.ty.base.map(Ty::from_base).unwrap_or(Ty::Error);
        self.expect_fits(
            got.ty,
            want,
            d,
            &format!("the default of `{}`", p.name.name),
        );
        let input = matches!(self.ast.expr(self.ast.unparen(d)), Expr::Name(n) if Input::from_name(&n.name).is_some());
        let ok = is_literal(self.ast, d) || (p.ty.series && input);
        if !ok && got.ty != Ty::Error {
            self.err(
                Diagnostic::new(Code::E0105, "a parameter's default must be a literal (or, for a `series` parameter, a built-in series)")
                    .primary(self.ast.expr_span(d), "not a literal")
                    .help("write a literal such as `14` or `2.0`; a `series` parameter may default to `close`, `high`, ..."),
            );
        }
    }

    fn check_strategy(&mut self, item: usize) {
        let Item::Strategy(s) = &self.ast.items[item].1 else {
            return;
        };
        let mut ctx = Ctx::new(false, false);
        self.check_block(&mut ctx, &s.body, false);
    }

    /// Checks a block in a new scope; returns the type of its value when `want_value`.
    fn check_block(&mut self, ctx: &mut Ctx, block: &Block, want_value: bool) -> Option<ExprTy> {
        ctx.scopes.push(HashMap::new());
        // The block's `let`s exist from its start, so their past can be read above them.
        let mut ahead = HashMap::new();
        for &s in &block.stmts {
            let names: Vec<&Ident> = match self.ast.stmt(s) {
                Stmt::Let { name, .. } => vec![name],
                Stmt::LetTuple { names, .. } => names.iter().filter(|n| n.name != "_").collect(),
                _ => continue,
            };
            for name in names {
                if ahead.contains_key(&name.name) {
                    continue;
                }
                let id = self.out.locals.insert(Local {
                    name: name.name.clone(),
                    kind: LocalKind::Let,
                    ty: Ty::Na,
                    konst: false,
                    span: name.span,
                    decl: Some(s),
                    doc: None,
                    self_ref: false,
                    used: false,
                });
                ahead.insert(name.name.clone(), id);
            }
        }
        ctx.ahead.push(ahead);
        let mut value = None;
        let n = block.stmts.len();
        for (i, &s) in block.stmts.iter().enumerate() {
            let last = i + 1 == n;
            value = self.check_stmt(ctx, s, want_value && last);
        }
        ctx.scopes.pop();
        ctx.ahead.pop();
        if want_value { value } else { None }
    }

    fn check_stmt(&mut self, ctx: &mut Ctx, sid: StmtId, want_value: bool) -> Option<ExprTy> {
        let span = self.ast.stmt_span(sid);
        match self.ast.stmt(sid) {
            Stmt::Param {
                name,
                ty,
                default,
                doc,
            } => {
                let top = !ctx.in_fn && ctx.scopes.len() == 2 && ctx.loop_depth == 0;
                if !top {
                    self.err(
                        Diagnostic::new(Code::E0109, "`param` outside the strategy's top level")
                            .primary(span, "not allowed here")
                            .help("declare params directly in the `strategy` block; functions take arguments instead"),
                    );
                }
                if ty.series {
                    self.err(
                        Diagnostic::new(Code::E0104, "a param cannot be a series")
                            .primary(ty.span, "params are fixed for the whole run")
                            .help("drop `series`: write `param n: int = 10`"),
                    );
                }
                let want = ty.base.map(Ty::from_base).unwrap_or(Ty::Error);
                let got = self.check_expr(ctx, *default, true);
                self.expect_fits(got.ty, want, *default, "the param's default");
                if !is_literal(self.ast, *default) && got.ty != Ty::Error {
                    self.err(
                        Diagnostic::new(Code::E0105, "a param's default must be a literal")
                            .primary(self.ast.expr_span(*default), "not a literal")
                            .help("use a literal such as `10`, `-0.5` or `true`"),
                    );
                }
                let id = self.new_local(ctx, name, LocalKind::StrategyParam, want, true, Some(sid));
                self.out.locals[id].doc = doc.clone();
                self.out.decls.insert(sid, id);
                if top {
                    self.out.params.push(id);
                }
                None
            }
            Stmt::Feed { name, value, doc } => {
                self.check_feed(ctx, span, name, *value, doc.clone());
                None
            }
            Stmt::Let {
                name,
                ty,
                value,
                doc,
            } => {
                ctx.stateful = true;
                if ctx.loop_depth > 0 {
                    self.err(
                        Diagnostic::new(Code::E0110, "`let` inside a `for` loop")
                            .primary(span, "a series cannot be defined in a loop")
                            .help("declare a `mut` local before the loop and assign to it inside"),
                    );
                }
                let annotated = ty.map(|t| t.base.map(Ty::from_base).unwrap_or(Ty::Error));
                // Declared first so the value may read its own past; its type is a wildcard
                // until the value is known.
                let id = self.new_local(
                    ctx,
                    name,
                    LocalKind::Let,
                    annotated.unwrap_or(Ty::Na),
                    false,
                    Some(sid),
                );
                self.out.locals[id].doc = doc.clone();
                self.out.decls.insert(sid, id);
                let outer = ctx.defining.replace(id);
                let got = self.check_expr(ctx, *value, true);
                ctx.defining = outer;
                let ty = match annotated {
                    Some(want) => {
                        self.expect_fits(got.ty, want, *value, "the annotated type");
                        want
                    }
                    None if got.ty == Ty::Na => Ty::Float,
                    None => got.ty,
                };
                if let Ty::Tuple(n) = ty {
                    self.err(
                        Diagnostic::new(
                            Code::E0104,
                            format!("a series cannot hold a tuple of {n} values"),
                        )
                        .primary(self.ast.expr_span(*value), "this returns several values")
                        .help(format!(
                            "give each value a name: `let ({}) = ...`",
                            (0..n)
                                .map(|i| format!("v{i}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    );
                } else if matches!(ty, Ty::Void | Ty::Str) {
                    self.err(
                        Diagnostic::new(Code::E0104, format!("a series cannot hold {}", ty.name()))
                            .primary(
                                self.ast.expr_span(*value),
                                "this has no numeric or bool value",
                            )
                            .help("a `let` needs an int, float or bool value"),
                    );
                }
                let local = &mut self.out.locals[id];
                local.ty = ty;
                local.konst = got.konst && !local.self_ref;
                None
            }
            Stmt::Mut { name, ty, value } => {
                let got = self.check_expr(ctx, *value, true);
                let want = match ty {
                    Some(t) => {
                        let want = t.base.map(Ty::from_base).unwrap_or(Ty::Error);
                        self.expect_fits(got.ty, want, *value, "the annotated type");
                        want
                    }
                    None if got.ty == Ty::Na => Ty::Float,
                    None => got.ty,
                };
                let id = self.new_local(ctx, name, LocalKind::Mut, want, false, Some(sid));
                self.out.decls.insert(sid, id);
                None
            }
            Stmt::Assign { name, value } => {
                let got = self.check_expr(ctx, *value, true);
                match ctx.lookup(&name.name) {
                    Some(id) if self.out.locals[id].kind == LocalKind::Mut => {
                        self.out.assigns.insert(sid, id);
                        let want = self.out.locals[id].ty;
                        self.expect_fits(got.ty, want, *value, &format!("`{}`", name.name));
                    }
                    Some(id) => {
                        let l = &self.out.locals[id];
                        let what = match l.kind {
                            LocalKind::Let => "a `let` series",
                            LocalKind::StrategyParam => "a param",
                            LocalKind::FnParam { .. } => "a function parameter",
                            LocalKind::LoopVar => "a loop variable",
                            LocalKind::Mut => "a mut local",
                        };
                        let d = Diagnostic::new(
                            Code::E0107,
                            format!("cannot assign to `{}`", name.name),
                        )
                        .primary(name.span, format!("`{}` is {what}", name.name))
                        .secondary(l.span, "defined here")
                        .help(format!(
                            "declare it with `mut {} = ...` to assign to it within a bar",
                            name.name
                        ));
                        self.err(d);
                    }
                    None => self.unknown_name(ctx, name),
                }
                None
            }
            Stmt::For { var, lo, hi, body } => {
                for bound in [*lo, *hi] {
                    let t = self.check_expr(ctx, bound, true);
                    if t.ty != Ty::Error && (!t.konst || !matches!(t.ty, Ty::Int)) {
                        let why = if t.ty != Ty::Int {
                            format!("this is {}", t.ty.name())
                        } else {
                            "this varies from bar to bar".to_string()
                        };
                        self.err(
                            Diagnostic::new(Code::E0106, "loop bound is not a compile-time integer")
                                .primary(self.ast.expr_span(bound), why)
                                .note("every loop must have a number of iterations known before the run")
                                .help("use an int literal, a param, or arithmetic of those: `for i in 0..n`"),
                        );
                    }
                }
                ctx.scopes.push(HashMap::new());
                let id = self.new_local(ctx, var, LocalKind::LoopVar, Ty::Int, false, Some(sid));
                self.out.decls.insert(sid, id);
                ctx.loop_depth += 1;
                self.check_block(ctx, body, false);
                ctx.loop_depth -= 1;
                ctx.scopes.pop();
                None
            }
            Stmt::Expr(e) => {
                let t = self.check_expr(ctx, *e, want_value);
                want_value.then_some(t)
            }
            Stmt::LetTuple { names, value, doc } => {
                self.check_let_tuple(ctx, sid, names, *value, doc);
                None
            }
            Stmt::Break | Stmt::Continue => {
                if ctx.loop_depth == 0 {
                    let word = if matches!(self.ast.stmt(sid), Stmt::Break) {
                        "break"
                    } else {
                        "continue"
                    };
                    self.err(
                        Diagnostic::new(Code::E0116, format!("`{word}` outside a `for` loop"))
                            .primary(span, "not inside a loop")
                            .help("`break` and `continue` belong inside `for i in a..b { ... }`; to skip work on some bars, use `if`"),
                    );
                }
                None
            }
            Stmt::Error => None,
        }
    }

    /// `feed NAME` or `feed NAME = resample([FEED,] "TF")` at the strategy's top level.
    fn check_feed(
        &mut self,
        ctx: &mut Ctx,
        span: Span,
        name: &Ident,
        value: Option<ExprId>,
        doc: Option<String>,
    ) {
        let top = !ctx.in_fn && ctx.scopes.len() == 2 && ctx.loop_depth == 0;
        if !top {
            self.err(
                Diagnostic::new(Code::E0119, "`feed` outside the strategy's top level")
                    .primary(span, "not allowed here")
                    .help("declare feeds directly in the `strategy` block"),
            );
            return;
        }
        let source = match value {
            None => FeedSource::Data,
            Some(v) => match self.resample_source(ctx, v) {
                Some(s) => s,
                None => return,
            },
        };
        if self.out.feeds.iter().any(|f| f.name == name.name) {
            self.err(
                Diagnostic::new(
                    Code::E0101,
                    format!("feed `{}` is defined twice", name.name),
                )
                .primary(name.span, "second definition"),
            );
            return;
        }
        let data_feeds = 1 + self
            .out
            .feeds
            .iter()
            .filter(|f| f.source == FeedSource::Data)
            .count();
        if source == FeedSource::Data && data_feeds >= crate::runtime::machine::MAX_SYMBOLS {
            self.err(
                Diagnostic::new(Code::E0119, "too many data feeds")
                    .primary(name.span, format!("a strategy trades at most {} symbols", crate::runtime::machine::MAX_SYMBOLS))
                    .help("run the strategy on each symbol on its own with `btl run FILE --data DIR/ --each`"),
            );
            return;
        }
        self.out.feeds.push(FeedDecl {
            name: name.name.clone(),
            span: name.span,
            doc,
            source,
        });
    }

    /// The source of `feed x = resample("1d")` or `resample(qqq, "1h")`.
    fn resample_source(&mut self, ctx: &Ctx, v: ExprId) -> Option<FeedSource> {
        let bad = |c: &mut Self, at: Span, why: &str| {
            c.err(
                Diagnostic::new(Code::E0119, format!("a feed's value must be `resample(...)`: {why}"))
                    .primary(at, why.to_string())
                    .help("write `feed daily = resample(\"1d\")` (the primary feed's bars by day) or `feed qqq_h = resample(qqq, \"1h\")`"),
            );
        };
        let span = self.ast.expr_span(v);
        let Expr::Call(f, args) = self.ast.expr(v) else {
            bad(self, span, "not a call of `resample`");
            return None;
        };
        if f.name != "resample" || args.is_empty() || args.len() > 2 {
            bad(self, span, "expected `resample([FEED,] \"TIMEFRAME\")`");
            return None;
        }
        let of = if args.len() == 2 {
            let Expr::Name(n) = self.ast.expr(args[0]) else {
                bad(
                    self,
                    self.ast.expr_span(args[0]),
                    "the first argument names a feed",
                );
                return None;
            };
            self.feed_ref(ctx, n)?
        } else {
            0
        };
        if of > 0 && self.out.feeds[of as usize - 1].source != FeedSource::Data {
            bad(
                self,
                self.ast.expr_span(args[0]),
                "only a data feed can be resampled",
            );
            return None;
        }
        let tf_expr = args[args.len() - 1];
        let Expr::Str(text) = self.ast.expr(tf_expr) else {
            bad(
                self,
                self.ast.expr_span(tf_expr),
                "the timeframe is a string such as \"1d\"",
            );
            return None;
        };
        match crate::timeframe::Timeframe::parse(text) {
            Ok(timeframe) => Some(FeedSource::Resample { of, timeframe }),
            Err(why) => {
                self.err(
                    Diagnostic::new(Code::E0119, format!("bad timeframe: {why}"))
                        .primary(self.ast.expr_span(tf_expr), "not a timeframe")
                        .help("timeframes: 5m, 15m, 30m, 1h, 4h (dividing a day), 1d, 1w, 1M"),
                );
                None
            }
        }
    }

    /// The number of the feed `name` refers to (E0120 when none).
    fn feed_ref(&mut self, ctx: &Ctx, name: &Ident) -> Option<u32> {
        if !ctx.in_fn
            && let Some(i) = self.out.feeds.iter().position(|f| f.name == name.name)
        {
            return Some(i as u32 + 1);
        }
        let known: Vec<&str> = self.out.feeds.iter().map(|f| f.name.as_str()).collect();
        let help = if ctx.in_fn {
            "feeds are named in the strategy: call the function in the feed's context instead, `qqq.f(...)`".to_string()
        } else if known.is_empty() {
            format!(
                "declare it at the top of the strategy, `feed {}`, and give its data with `--data {}=FILE`",
                name.name, name.name
            )
        } else {
            format!("the feeds declared are: {}", known.join(", "))
        };
        self.err(
            Diagnostic::new(Code::E0120, format!("no feed named `{}`", name.name))
                .primary(name.span, "not a feed")
                .help(help),
        );
        None
    }

    fn expect_fits(&mut self, got: Ty, want: Ty, at: ExprId, what: &str) {
        if !got.fits(want) {
            let help = match (got, want) {
                (Ty::Float, Ty::Int) => "convert with floor(), ceil() or round()".to_string(),
                (Ty::Bool, _) => "a bool is not a number: use `if c { 1 } else { 0 }`".to_string(),
                (_, Ty::Bool) => "compare to get a bool: `x > 0`".to_string(),
                _ => format!("give a value of type {}", want.name()),
            };
            self.err(
                Diagnostic::new(
                    Code::E0104,
                    format!(
                        "type mismatch: expected {}, found {}",
                        want.name(),
                        got.name()
                    ),
                )
                .primary(self.ast.expr_span(at), format!("this is {}", got.name()))
                .note(format!("{what} is {}", want.name()))
                .help(help),
            );
        }
    }

    fn unknown_name(&mut self, ctx: &Ctx, name: &Ident) {
        let mut candidates: Vec<String> =
            ctx.scopes.iter().flat_map(|s| s.keys().cloned()).collect();
        candidates.extend(Input::ALL.iter().map(|i| i.name().to_string()));
        candidates.push("na".into());
        let mut d = Diagnostic::new(Code::E0100, format!("unknown name `{}`", name.name))
            .primary(name.span, "not defined");
        match suggest(&name.name, candidates.iter().map(|s| s.as_str())) {
            Some(s) => d = d.help(format!("did you mean `{s}`?")),
            None => d = d.help("define it with `let` before this line, or declare it as a `param`"),
        }
        if self.out.fn_by_name.contains_key(&name.name) || Builtin::from_name(&name.name).is_some()
        {
            d = d.note(format!(
                "`{}` is a function: call it with arguments",
                name.name
            ));
        }
        self.err(d);
    }

    fn set(&mut self, e: ExprId, ty: Ty, konst: bool) -> ExprTy {
        let t = ExprTy { ty, konst };
        self.out.types.insert(e, t);
        t
    }

    /// Checks an expression; `want_value` is false for statements (an `if` without `else`).
    fn check_expr(&mut self, ctx: &mut Ctx, e: ExprId, want_value: bool) -> ExprTy {
        let span = self.ast.expr_span(e);
        match self.ast.expr(e) {
            Expr::Int(_) => self.set(e, Ty::Int, true),
            Expr::Float(_) => self.set(e, Ty::Float, true),
            Expr::Bool(_) => self.set(e, Ty::Bool, true),
            Expr::Str(_) => self.set(e, Ty::Str, true),
            Expr::Error => self.set(e, Ty::Error, true),
            Expr::Paren(inner) => {
                let t = self.check_expr(ctx, *inner, true);
                self.set(e, t.ty, t.konst)
            }
            Expr::Name(name) => self.check_name(ctx, e, name),
            Expr::In(feed, inner) => {
                let idx = self.feed_ref(ctx, feed);
                let saved = ctx.in_feed;
                ctx.in_feed = idx.or(saved);
                let t = self.check_expr(ctx, *inner, true);
                ctx.in_feed = saved;
                if let Some(idx) = idx {
                    self.out.feed_refs.insert(e, idx);
                }
                self.set(e, t.ty, t.konst)
            }
            Expr::Unary(op, a) => {
                let t = self.check_expr(ctx, *a, true);
                let ty = match (op, t.ty) {
                    (_, Ty::Error) => Ty::Error,
                    (UnOp::Neg, Ty::Int) => Ty::Int,
                    (UnOp::Neg, Ty::Float | Ty::Na) => Ty::Float,
                    (UnOp::Not, Ty::Bool | Ty::Na) => Ty::Bool,
                    (UnOp::Neg, other) => {
                        self.operand_error(*a, other, "`-` needs a number");
                        Ty::Error
                    }
                    (UnOp::Not, other) => {
                        self.operand_error(*a, other, "`not` needs a bool");
                        Ty::Error
                    }
                };
                self.set(e, ty, t.konst)
            }
            Expr::Binary(op, a, b) => {
                let ta = self.check_expr(ctx, *a, true);
                let tb = self.check_expr(ctx, *b, true);
                let ty = self.binary_type(*op, (*a, ta.ty), (*b, tb.ty));
                self.set(e, ty, ta.konst && tb.konst)
            }
            Expr::Index(base, index) => {
                ctx.stateful = true;
                if ctx.loop_depth > 0 && !self.is_named_series(ctx, *base) {
                    self.err(
                        Diagnostic::new(
                            Code::E0110,
                            "history of a computed expression inside a `for` loop",
                        )
                        .primary(
                            self.ast.expr_span(*base),
                            "this would need a series of its own, one per iteration",
                        )
                        .help("define the expression with `let` before the loop and index that"),
                    );
                }
                ctx.under_index += 1;
                let outer_base = ctx.index_base.take();
                let b = self.ast.unparen(*base);
                if matches!(self.ast.expr(b), Expr::Name(_)) {
                    ctx.index_base = Some(b);
                }
                let tb = self.check_expr(ctx, *base, true);
                ctx.index_base = outer_base;
                ctx.under_index -= 1;
                let ti = self.check_expr(ctx, *index, true);
                if !ti.ty.fits(Ty::Int) {
                    self.err(
                        Diagnostic::new(
                            Code::E0104,
                            format!("history index must be an int, found {}", ti.ty.name()),
                        )
                        .primary(
                            self.ast.expr_span(*index),
                            format!("this is {}", ti.ty.name()),
                        )
                        .help(
                            "convert with floor(), ceil() or round(), and bound it with min(e, K)",
                        ),
                    );
                }
                if matches!(tb.ty, Ty::Void | Ty::Str) {
                    self.operand_error(*base, tb.ty, "only values have a history");
                }
                self.set(e, tb.ty, false)
            }
            Expr::If(cond, then, els) => {
                let tc = self.check_expr(ctx, *cond, true);
                if !tc.ty.fits(Ty::Bool) {
                    self.err(
                        Diagnostic::new(
                            Code::E0104,
                            format!("condition must be a bool, found {}", tc.ty.name()),
                        )
                        .primary(
                            self.ast.expr_span(*cond),
                            format!("this is {}", tc.ty.name()),
                        )
                        .help("compare to get a bool: `x > 0`, `x != 0`"),
                    );
                }
                let tt = self.check_block(ctx, then, want_value);
                let te = els
                    .as_ref()
                    .and_then(|b| self.check_block(ctx, b, want_value));
                if !want_value {
                    return self.set(e, Ty::Void, false);
                }
                if els.is_none() {
                    self.err(
                        Diagnostic::new(Code::E0113, "`if` without `else` used as a value")
                            .primary(span, "this has no value when the condition is false")
                            .help("add an `else` branch: `if c { a } else { na }`"),
                    );
                    return self.set(e, Ty::Error, false);
                }
                let (Some(tt), Some(te)) = (tt, te) else {
                    let which = if tt.is_none() {
                        then.span
                    } else {
                        els.as_ref().map(|b| b.span).unwrap_or(span)
                    };
                    self.err(
                        Diagnostic::new(Code::E0104, "`if` branch has no value")
                            .primary(which, "this block does not end with an expression")
                            .help("end both branches with an expression"),
                    );
                    return self.set(e, Ty::Error, false);
                };
                let ty = match Ty::join(tt.ty, te.ty) {
                    Some(t) => t,
                    None => {
                        self.err(
                            Diagnostic::new(Code::E0104, format!("`if` branches have different types: {} and {}", tt.ty.name(), te.ty.name()))
                                .primary(els.as_ref().map(|b| b.span).unwrap_or(span), format!("this is {}", te.ty.name()))
                                .secondary(then.span, format!("this is {}", tt.ty.name()))
                                .help("both branches must give the same type (an int is accepted as a float)"),
                        );
                        Ty::Error
                    }
                };
                self.set(e, ty, tc.konst && tt.konst && te.konst)
            }
            Expr::Call(name, args) => self.check_call(ctx, e, name, args),
            Expr::Tuple(elems) => {
                let tys: Vec<ExprTy> = elems
                    .iter()
                    .map(|&x| self.check_expr(ctx, x, true))
                    .collect();
                if ctx.tuple_result != Some(e) {
                    self.err(
                        Diagnostic::new(Code::E0104, "a tuple is only a function's result")
                            .primary(span, "several values where one is expected")
                            .help("a function declared `-> (float, float)` ends with `(a, b)`; its caller names the values: `let (a, b) = f(...)`"),
                    );
                    return self.set(e, Ty::Error, false);
                }
                for (&x, t) in elems.iter().zip(&tys) {
                    if matches!(t.ty, Ty::Void | Ty::Str | Ty::Tuple(_)) {
                        self.operand_error(x, t.ty, "an element of a tuple must be a value");
                    }
                }
                self.set(e, Ty::Tuple(elems.len().min(255) as u8), false)
            }
        }
    }

    /// `let (a, _, c) = f(...)`: `f` must return a tuple of as many values.
    fn check_let_tuple(
        &mut self,
        ctx: &mut Ctx,
        sid: StmtId,
        names: &[Ident],
        value: ExprId,
        doc: &Option<String>,
    ) {
        ctx.stateful = true;
        let span = self.ast.stmt_span(sid);
        if ctx.loop_depth > 0 {
            self.err(
                Diagnostic::new(Code::E0110, "`let` inside a `for` loop")
                    .primary(span, "a series cannot be defined in a loop")
                    .help("call the function before the loop and use its values inside"),
            );
        }
        let got = self.check_expr(ctx, value, true);
        let callee = match self.out.calls.get(self.ast.unparen(value)) {
            Some(Callee::User(f)) => Some(*f),
            _ => None,
        };
        let rets: Vec<Ty> = match (got.ty, callee) {
            (Ty::Tuple(n), Some(f)) if usize::from(n) == names.len() => {
                self.out.fns[f].rets.clone()
            }
            (Ty::Tuple(n), _) => {
                self.err(
                    Diagnostic::new(
                        Code::E0117,
                        format!("{} names for a tuple of {n} values", names.len()),
                    )
                    .primary(span, format!("{} names", names.len()))
                    .secondary(
                        self.ast.expr_span(value),
                        format!("this returns {n} values"),
                    )
                    .help("give one name per value; `_` ignores a value"),
                );
                vec![Ty::Error; names.len()]
            }
            (Ty::Error, _) => vec![Ty::Error; names.len()],
            (other, _) => {
                self.err(
                    Diagnostic::new(
                        Code::E0117,
                        format!("cannot take several values from {}", other.name()),
                    )
                    .primary(self.ast.expr_span(value), "this is one value, not a tuple")
                    .help("use `let name = ...` for one value; `let (a, b) = f(...)` takes the values of a function declared `-> (float, float)`"),
                );
                vec![Ty::Error; names.len()]
            }
        };
        let mut ids = Vec::new();
        for (name, &ty) in names.iter().zip(&rets) {
            if name.name == "_" {
                ids.push(None);
                continue;
            }
            let ty = if ty == Ty::Na { Ty::Float } else { ty };
            let id = self.new_local(ctx, name, LocalKind::Let, ty, false, Some(sid));
            self.out.locals[id].doc = doc.clone();
            ids.push(Some(id));
        }
        self.out.tuple_decls.insert(sid, ids);
    }

    fn is_named_series(&self, ctx: &Ctx, e: ExprId) -> bool {
        match self.ast.expr(self.ast.unparen(e)) {
            Expr::Name(n) => match ctx.lookup(&n.name) {
                Some(id) => matches!(
                    self.out.locals[id].kind,
                    LocalKind::Let | LocalKind::FnParam { series: true }
                ),
                None => Input::from_name(&n.name).is_some(),
            },
            _ => false,
        }
    }

    fn operand_error(&mut self, at: ExprId, got: Ty, what: &str) {
        if got == Ty::Error {
            return;
        }
        self.err(
            Diagnostic::new(
                Code::E0104,
                format!("type mismatch: {what}, found {}", got.name()),
            )
            .primary(self.ast.expr_span(at), format!("this is {}", got.name()))
            .help(match got {
                Ty::Bool => "a bool is not a number: use `if c { 1 } else { 0 }`",
                Ty::Void => "actions have no value",
                _ => "check the operand's type",
            }),
        );
    }

    fn binary_type(&mut self, op: BinOp, (a, ta): (ExprId, Ty), (b, tb): (ExprId, Ty)) -> Ty {
        if ta == Ty::Error || tb == Ty::Error {
            return Ty::Error;
        }
        if op.is_logical() {
            for (x, t) in [(a, ta), (b, tb)] {
                if !t.fits(Ty::Bool) {
                    self.operand_error(x, t, &format!("`{}` needs bools", op.as_str()));
                    return Ty::Error;
                }
            }
            return Ty::Bool;
        }
        if matches!(op, BinOp::Eq | BinOp::Ne) && ta.fits(Ty::Bool) && tb.fits(Ty::Bool) {
            return Ty::Bool;
        }
        for (x, t) in [(a, ta), (b, tb)] {
            if !t.is_numeric() {
                self.operand_error(x, t, &format!("`{}` needs numbers", op.as_str()));
                return Ty::Error;
            }
        }
        match op {
            _ if op.is_comparison() => Ty::Bool,
            BinOp::Div => Ty::Float,
            _ => match Ty::join(ta, tb) {
                Some(Ty::Na) => Ty::Float,
                Some(t) => t,
                None => Ty::Error,
            },
        }
    }

    fn check_name(&mut self, ctx: &mut Ctx, e: ExprId, name: &Ident) -> ExprTy {
        if ctx.lookup(&name.name).is_none()
            && let Some(id) = ctx.lookup_ahead(&name.name)
        {
            // A `let` defined further down: only its past can be read here.
            self.out.names.insert(e, Res::Local(id));
            self.out.locals[id].used = true;
            if ctx.index_base != Some(e) {
                let later = self.out.locals[id].span;
                self.err(
                    Diagnostic::new(Code::E0100, format!("`{}` is used before it is defined", name.name))
                        .primary(name.span, "its value on this bar is not computed yet")
                        .secondary(later, "defined here")
                        .note("a series defined further down can be read above its definition only in the past, directly: `x[1]`")
                        .help(format!("move this below the definition of `{}`, or read its previous value: `{}[1]`", name.name, name.name)),
                );
                return self.set(e, Ty::Error, false);
            }
            let ty = self.out.locals[id].ty;
            return self.set(e, ty, false);
        }
        if let Some(id) = ctx.lookup(&name.name) {
            self.out.names.insert(e, Res::Local(id));
            if ctx.defining != Some(id) {
                self.out.locals[id].used = true;
            }
            let local = &self.out.locals[id];
            let (ty, konst, kind) = (local.ty, local.konst, local.kind);
            if ctx.defining == Some(id) {
                if ctx.under_index == 0 {
                    self.err(
                        Diagnostic::new(Code::E0202, format!("`{}` reads its own present value", name.name))
                            .primary(name.span, "the value being defined")
                            .help(format!("read its past instead: `nz({}[1])` is the previous bar's value, 0 on the first bar", name.name)),
                    );
                } else {
                    self.out.locals[id].self_ref = true;
                }
                return self.set(e, ty, false);
            }
            if ctx.under_index > 0 && matches!(kind, LocalKind::Mut | LocalKind::LoopVar) {
                let what = if kind == LocalKind::Mut {
                    "a `mut` local"
                } else {
                    "a loop variable"
                };
                self.err(
                    Diagnostic::new(Code::E0111, format!("`{}` has no history", name.name))
                        .primary(name.span, format!("{what} lives within one bar"))
                        .help("store the value in a `let` series and index that"),
                );
            }
            return self.set(e, ty, konst);
        }
        if let Some(input) = Input::from_name(&name.name) {
            if let Some(feed) = ctx.in_feed.filter(|_| input.is_account()) {
                let resampled =
                    feed > 0 && self.out.feeds[feed as usize - 1].source != FeedSource::Data;
                if !input.is_per_symbol() {
                    self.err(
                        Diagnostic::new(Code::E0120, format!("`{}` of a feed", name.name))
                            .primary(name.span, "the account is one for every feed")
                            .help(format!(
                                "write `{}` outside the feed's context: it is the whole account's",
                                name.name
                            )),
                    );
                } else if resampled {
                    self.err(
                        Diagnostic::new(
                            Code::E0120,
                            format!("`{}` of a resampled feed", name.name),
                        )
                        .primary(name.span, "a resampled feed is read, not traded")
                        .help(format!(
                            "read the `{}` of the data feed it is cut from",
                            name.name
                        )),
                    );
                }
            }
            self.out.names.insert(e, Res::Input(input));
            return self.set(e, if input.is_int() { Ty::Int } else { Ty::Float }, false);
        }
        if name.name == "na" {
            self.out.names.insert(e, Res::Na);
            return self.set(e, Ty::Na, true);
        }
        self.out.names.insert(e, Res::Error);
        self.unknown_name(ctx, name);
        self.set(e, Ty::Error, true)
    }

    fn arity_error(
        &mut self,
        e: ExprId,
        name: &str,
        want: (usize, usize),
        got: usize,
        sig: String,
    ) {
        let expected = if want.0 == want.1 {
            format!("{} argument{}", want.0, if want.0 == 1 { "" } else { "s" })
        } else {
            format!("{} to {} arguments", want.0, want.1)
        };
        self.err(
            Diagnostic::new(
                Code::E0103,
                format!(
                    "`{name}` takes {expected} but {got} {} given",
                    if got == 1 { "was" } else { "were" }
                ),
            )
            .primary(
                self.ast.expr_span(e),
                format!("{got} argument{}", if got == 1 { "" } else { "s" }),
            )
            .help(format!("the signature is `{sig}`")),
        );
    }

    fn check_call(&mut self, ctx: &mut Ctx, e: ExprId, name: &Ident, args: &[ExprId]) -> ExprTy {
        let arg_tys: Vec<ExprTy> = args
            .iter()
            .map(|a| self.check_expr(ctx, *a, true))
            .collect();
        if let Some(b) = Builtin::from_name(&name.name) {
            self.out.calls.insert(e, Callee::Builtin(b));
            return self.check_builtin(ctx, e, name, b, args, &arg_tys);
        }
        let table = if ctx.in_stdlib {
            &self.out.stdlib_fn_by_name
        } else {
            &self.out.fn_by_name
        };
        let Some(&idx) = table.get(&name.name) else {
            self.out.calls.insert(e, Callee::Error);
            let mut names: Vec<&str> = self.out.fn_by_name.keys().map(|s| s.as_str()).collect();
            names.extend(Builtin::ALL.iter().map(|b| b.name()));
            let mut d = Diagnostic::new(Code::E0102, format!("unknown function `{}`", name.name))
                .primary(name.span, "no function of this name");
            match suggest(&name.name, names) {
                Some(s) => d = d.help(format!("did you mean `{s}`?")),
                None => {
                    d = d.help(
                        "define it with `fn`, or see docs/language.md for the built-in functions",
                    )
                }
            }
            self.err(d);
            return self.set(e, Ty::Error, false);
        };
        self.out.calls.insert(e, Callee::User(idx));
        if self.out.fns[idx].in_progress {
            self.out.recursive_calls.insert(e, ());
            self.err(
                Diagnostic::new(Code::E0108, format!("`{}` calls itself", name.name))
                    .primary(self.ast.expr_span(e), "recursive call")
                    .note("btl has no recursion, so every program terminates and its state has a size known before the run")
                    .help("write the repetition as a `for` loop, or as a series reading its own past"),
            );
            let ret = self.out.fns[idx].ret;
            return self.set(e, ret, false);
        }
        self.check_fn(idx);
        let info = self.out.fns[idx].clone();
        if info.stateful {
            ctx.stateful = true;
        }
        let Item::Fn(def) = &self.ast.items[info.item].1 else {
            return self.set(e, Ty::Error, false);
        };
        let required = def
            .params
            .iter()
            .take_while(|p| p.default.is_none())
            .count();
        if args.len() < required || args.len() > def.params.len() {
            let sig = signature(def);
            self.arity_error(e, &name.name, (required, def.params.len()), args.len(), sig);
            return self.set(e, info.ret, false);
        }
        if ctx.loop_depth > 0 && info.stateful {
            self.err(
                Diagnostic::new(Code::E0110, format!("call of `{}` inside a `for` loop", name.name))
                    .primary(self.ast.expr_span(e), "this function keeps state from bar to bar")
                    .note("each call site of a function with `let`s or history reads has its own state; a loop would need one per iteration")
                    .help("call it once before the loop, with `let`, and use the result inside"),
            );
        }
        for ((p, &a), t) in def.params.iter().zip(args).zip(&arg_tys) {
            let want = p.ty.base.map(Ty::from_base).unwrap_or(Ty::Error);
            self.expect_fits(
                t.ty,
                want,
                a,
                &format!("parameter `{}` of `{}`", p.name.name, name.name),
            );
            if !p.ty.series && !t.konst && t.ty != Ty::Error {
                self.err(
                    Diagnostic::new(Code::E0105, format!("argument `{}` of `{}` must be a compile-time value", p.name.name, name.name))
                        .primary(self.ast.expr_span(a), "this varies from bar to bar")
                        .secondary(p.ty.span, "declared without `series`")
                        .help("pass a literal, a param, or arithmetic of those (declare the parameter `series` to accept varying values)"),
                );
            }
        }
        let konst = info.konst && arg_tys.iter().all(|t| t.konst);
        self.set(e, info.ret, konst)
    }

    fn check_builtin(
        &mut self,
        ctx: &mut Ctx,
        e: ExprId,
        name: &Ident,
        b: Builtin,
        args: &[ExprId],
        tys: &[ExprTy],
    ) -> ExprTy {
        // An order's name: a string literal after its other arguments.
        let named = matches!(b, Builtin::Order(a) if a != Action::CancelAll)
            && args
                .last()
                .is_some_and(|a| matches!(self.ast.expr(*a), Expr::Str(_)));
        let (args, tys) = if named {
            (&args[..args.len() - 1], &tys[..tys.len() - 1])
        } else {
            (args, tys)
        };
        if b == Builtin::Order(Action::Cancel) && !named {
            self.err(
                Diagnostic::new(Code::E0103, "`cancel` needs the name of the order to cancel")
                    .primary(self.ast.expr_span(e), "no order name")
                    .help("name the order when you place it, `sell_stop(qty, price, \"stop\")`, and cancel it by that name: `cancel(\"stop\")`; `cancel_all()` cancels every order"),
            );
        }
        let (lo, hi) = b.arity();
        if args.len() < lo || args.len() > hi {
            self.arity_error(
                e,
                &name.name,
                (lo, hi),
                args.len(),
                b.signature().to_string(),
            );
            return self.set(e, if b.is_action() { Ty::Void } else { Ty::Error }, false);
        }
        if let Some(feed) = ctx.in_feed.filter(|_| b.is_action()) {
            let resampled =
                feed > 0 && self.out.feeds[feed as usize - 1].source != FeedSource::Data;
            if b.order_action().is_none() {
                self.err(
                    Diagnostic::new(Code::E0120, format!("`{}` inside a feed's context", name.name))
                        .primary(self.ast.expr_span(e), "plots belong to the strategy")
                        .help("compute the value in the feed's context (`let x = qqq.close`) and plot it in the strategy"),
                );
            } else if resampled {
                self.err(
                    Diagnostic::new(Code::E0120, format!("`{}` on a resampled feed", name.name))
                        .primary(self.ast.expr_span(e), "a resampled feed is read, not traded")
                        .help("trade the data feed it is cut from: `buy(qty)` for the primary feed, `qqq.buy(qty)` for feed `qqq`"),
                );
            }
        }
        if b.is_action() && ctx.in_fn {
            self.err(
                Diagnostic::new(Code::E0109, format!("`{}` inside a function", name.name))
                    .primary(
                        self.ast.expr_span(e),
                        "actions are allowed only in the strategy body",
                    )
                    .help(
                        "return a value (a bool signal, a quantity) and act on it in the strategy",
                    ),
            );
        }
        if b == Builtin::WindowSum {
            // Its window is state, kept from bar to bar, as a `let` reading its past is.
            ctx.stateful = true;
            if ctx.loop_depth > 0 {
                self.err(
                    Diagnostic::new(Code::E0110, "`window_sum` inside a `for` loop")
                        .primary(self.ast.expr_span(e), "this keeps state from bar to bar")
                        .help(
                            "call it once before the loop, with `let`, and use the result inside",
                        ),
                );
            }
        }
        let konst = tys.iter().all(|t| t.konst)
            && !b.is_action()
            && !matches!(b, Builtin::Fill(_) | Builtin::WindowSum);
        let num = |c: &mut Self, i: usize| {
            if !tys[i].ty.is_numeric() && tys[i].ty != Ty::Error {
                c.operand_error(
                    args[i],
                    tys[i].ty,
                    &format!("`{}` needs a number", b.name()),
                );
                false
            } else {
                true
            }
        };
        let ty = match b {
            Builtin::Abs => {
                num(self, 0);
                if tys[0].ty == Ty::Int {
                    Ty::Int
                } else {
                    Ty::Float
                }
            }
            Builtin::Min | Builtin::Max => {
                let ok = num(self, 0) & num(self, 1);
                if ok && tys[0].ty == Ty::Int && tys[1].ty == Ty::Int {
                    Ty::Int
                } else {
                    Ty::Float
                }
            }
            Builtin::Sqrt | Builtin::Log | Builtin::Exp => {
                num(self, 0);
                Ty::Float
            }
            Builtin::Pow => {
                num(self, 0);
                num(self, 1);
                Ty::Float
            }
            Builtin::Floor | Builtin::Ceil | Builtin::Round => {
                num(self, 0);
                Ty::Int
            }
            Builtin::Na => {
                if matches!(tys[0].ty, Ty::Void | Ty::Str) {
                    self.operand_error(args[0], tys[0].ty, "`na` needs a value");
                }
                Ty::Bool
            }
            Builtin::Valid => {
                if matches!(tys[0].ty, Ty::Void | Ty::Str) {
                    self.operand_error(args[0], tys[0].ty, "`valid` needs a value");
                }
                Ty::Int
            }
            Builtin::Nz => {
                if matches!(tys[0].ty, Ty::Void | Ty::Str) {
                    self.operand_error(args[0], tys[0].ty, "`nz` needs a value");
                    Ty::Error
                } else if tys.len() == 2 {
                    match Ty::join(tys[0].ty, tys[1].ty) {
                        Some(Ty::Na) => Ty::Float,
                        Some(t) => t,
                        None => {
                            self.expect_fits(tys[1].ty, tys[0].ty, args[1], "the default");
                            Ty::Error
                        }
                    }
                } else {
                    tys[0].ty
                }
            }
            _ if b.order_action().is_some() => {
                // qty, then prices; an optional last argument of an order with a validity is
                // its number of bars.
                let with_bars = b.arity().0 < b.arity().1;
                for (i, (&a, t)) in args.iter().zip(tys).enumerate() {
                    let bars = with_bars && i + 1 == b.arity().1;
                    let (want, what) = match i {
                        _ if bars => (Ty::Int, "the number of bars the order is valid"),
                        0 => (Ty::Float, "the quantity"),
                        _ => (Ty::Float, "a price"),
                    };
                    self.expect_fits(t.ty, want, a, what);
                }
                Ty::Void
            }
            Builtin::Fill(field) => {
                if !matches!(self.ast.expr(args[0]), Expr::Str(_)) {
                    self.err(
                        Diagnostic::new(Code::E0104, format!("`{}` takes the order's name, a string literal", b.name()))
                            .primary(self.ast.expr_span(args[0]), "not a string")
                            .help(format!("name the order when you place it, `buy(qty, \"entry\")`, then read `{}(\"entry\")`", b.name())),
                    );
                }
                match field {
                    FillField::Filled => Ty::Bool,
                    FillField::Qty | FillField::Price => Ty::Float,
                }
            }
            Builtin::WindowSum => {
                num(self, 0);
                if !tys[1].konst && tys[1].ty != Ty::Error {
                    self.err(
                        Diagnostic::new(
                            Code::E0105,
                            "the length of `window_sum` must be a compile-time value",
                        )
                        .primary(self.ast.expr_span(args[1]), "this varies from bar to bar")
                        .help("give a literal, a param or a function's `n: int` argument"),
                    );
                } else if !matches!(tys[1].ty, Ty::Int | Ty::Error) {
                    self.operand_error(args[1], tys[1].ty, "the length of `window_sum` is an int");
                }
                Ty::Float
            }
            Builtin::Hline => {
                if num(self, 0) && !tys[0].konst && tys[0].ty != Ty::Error {
                    self.err(
                        Diagnostic::new(Code::E0105, "`hline` takes a compile-time level")
                            .primary(self.ast.expr_span(args[0]), "this varies from bar to bar")
                            .help("give a literal or a param, e.g. hline(70, \"rsi\"); plot() draws a value that moves"),
                    );
                }
                if let Some(&n) = args.get(1)
                    && !matches!(self.ast.expr(n), Expr::Str(_))
                {
                    self.err(
                        Diagnostic::new(
                            Code::E0104,
                            "the pane of `hline` is a plot's name, a string literal",
                        )
                        .primary(self.ast.expr_span(n), "not a string")
                        .help("name the plot whose pane the level goes on: hline(70, \"rsi\")"),
                    );
                }
                Ty::Void
            }
            Builtin::Plot => {
                if matches!(tys[0].ty, Ty::Void | Ty::Str) {
                    self.operand_error(args[0], tys[0].ty, "`plot` needs a value");
                }
                if let Some(&n) = args.get(1)
                    && !matches!(self.ast.expr(n), Expr::Str(_))
                {
                    self.err(
                        Diagnostic::new(Code::E0104, "the plot's name must be a string literal")
                            .primary(self.ast.expr_span(n), "not a string")
                            .help("write the name in double quotes: plot(x, \"fast\")"),
                    );
                }
                Ty::Void
            }
            // Every order action is handled above.
            _ => Ty::Void,
        };
        self.set(e, ty, konst)
    }
}

/// A function's signature as written: `sma(src: series float, n: int) -> series float`.
pub fn signature(def: &FnDef) -> String {
    let params: Vec<String> = def
        .params
        .iter()
        .map(|p| match &p.default_text {
            Some(d) => format!("{}: {} = {d}", p.name.name, type_text(&p.ty)),
            None => format!("{}: {}", p.name.name, type_text(&p.ty)),
        })
        .collect();
    let mut s = format!("{}({})", def.name.name, params.join(", "));
    if let Some(r) = &def.ret {
        s.push_str(&format!(" -> {}", type_text(r)));
    }
    s
}

fn type_text(t: &TypeExpr) -> String {
    let base = t.base.map(|b| b.as_str()).unwrap_or("?");
    if t.series {
        format!("series {base}")
    } else {
        base.to_string()
    }
}

/// The value of a literal, possibly a negated number (`10`, `-0.5`, `true`): what a param's
/// default may be.
pub fn literal_value(ast: &Ast, e: ExprId) -> Option<f64> {
    match ast.expr(ast.unparen(e)) {
        Expr::Int(v) => Some(*v as f64),
        Expr::Float(v) => Some(*v),
        Expr::Bool(b) => Some(crate::value::bool_val(*b)),
        Expr::Unary(UnOp::Neg, inner) => match ast.expr(ast.unparen(*inner)) {
            Expr::Int(_) | Expr::Float(_) => literal_value(ast, *inner).map(|v| -v),
            _ => None,
        },
        _ => None,
    }
}

/// Whether a param default is acceptable: a literal (or an error already reported).
pub fn is_literal(ast: &Ast, e: ExprId) -> bool {
    matches!(ast.expr(ast.unparen(e)), Expr::Error) || literal_value(ast, e).is_some()
}
