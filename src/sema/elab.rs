//! Elaboration: the checked program, with parameters bound, expanded into a flat series graph,
//! and the lookback and warm-up of every series.
//!
//! Contract: [`elaborate`] takes the [`Ast`], the [`Checked`] tables and the parameter values and
//! returns a [`Program`] plus diagnostics, never failing. Every call of a user function is expanded
//! at its call site, so each call site owns its series (its state). Constant subexpressions are
//! folded with `crate::value`, the run-time semantics. Every history read `x[k]` names a series
//! (a `let`, a built-in input, or a temporary series made for a computed expression or argument)
//! and an index whose interval is proven at compile time: E0200 (no upper bound), E0201 (may be
//! negative), E0202 (a series reading its own present), E0203 (beyond [`MAX_LOOKBACK`]).
//! Lookback per series is the largest proven index; capacity is lookback + 1.
//!
//! Architecture invariant: series are listed in `Program::order` in evaluation order; a series'
//! definition reads the present only of series before it, and the past (index ≥ 1) of any series,
//! itself and `let`s defined further down in the same block included (`Program::forward`). Series
//! updates are unconditional (hoisted out of `if` blocks, with the whole body of a function with
//! state); only assignments and actions sit in `EStmt::If`, and a hoisted update may not read a
//! `mut` local set in the conditional code it was written in (E0204). A function without state
//! takes its series arguments as values (no series of their own). A tuple result is one node per
//! value; `let (a, _, c)` makes a series of each named one.

use std::collections::HashMap;

use slotmap::{SecondaryMap, SlotMap, new_key_type};

use super::builtins::{Builtin, FillField, Input, MAX_ORDER_NAMES};
use super::check::{Callee, Checked, LocalId, LocalKind, Res, Ty};
use crate::diag::{Code, Diagnostic};
use crate::source::{SourceMap, Span};
use crate::syntax::ast::*;
use crate::value;

/// The largest lookback a series may have: a buffer of one million values (8 MB).
pub const MAX_LOOKBACK: i64 = 1_000_000;
/// The deepest chain of calls inside calls.
pub const MAX_CALL_DEPTH: usize = 64;
/// The largest number of iterations of one `for` loop.
pub const MAX_LOOP: i64 = 1_000_000;
/// The most statements a bar may run through loops, nested ones multiplied (E0106).
pub const MAX_WORK: u64 = 10_000_000;

/// An upper bound of the statements `stmts` run in one bar: every branch taken, every loop
/// run to its end.
pub fn work(stmts: &[EStmt]) -> u64 {
    stmts
        .iter()
        .map(|s| match s {
            EStmt::If(_, t, f) => 1u64.saturating_add(work(t)).saturating_add(work(f)),
            EStmt::For(_, lo, hi, body) => {
                (hi.saturating_sub(*lo).max(0) as u64).saturating_mul(work(body).saturating_add(1))
            }
            _ => 1,
        })
        .fold(0u64, u64::saturating_add)
}
/// The largest number of expression nodes after expanding every call.
pub const MAX_NODES: usize = 2_000_000;
/// Warm-up of a value that is never guaranteed to be present.
pub const NEVER: u64 = u64::MAX;

new_key_type! {
    pub struct SeriesId;
    pub struct NodeId;
    pub struct VarId;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesKind {
    /// A built-in series from the data feed or the broker.
    Input(Input),
    /// A `let`.
    Let,
    /// A computed expression that is indexed, or passed to a `series` parameter.
    Temp,
}

#[derive(Debug, Clone)]
pub struct Series {
    /// The `let`'s name, qualified by the call sites that created it (`sma(close, slow).total`),
    /// or the expression's text for a temporary.
    pub name: String,
    pub kind: SeriesKind,
    pub ty: Ty,
    /// Where it is defined (the `let` or the expression); for inputs, the first read.
    pub span: Span,
    /// The value computed each bar (none for inputs).
    pub def: Option<NodeId>,
    /// Reads its own past.
    pub self_ref: bool,
    /// The feed whose context it was written in (0: the primary; see `Program::feeds`).
    pub feed: u32,
}

/// An expression node of the per-bar graph. Nodes form a DAG.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Const(f64),
    /// The series' value on this bar.
    Read(SeriesId),
    /// The series' value `index` bars ago (`na` before the first bar).
    History(SeriesId, NodeId),
    Var(VarId),
    Unary(UnOp, NodeId),
    Binary(BinOp, NodeId, NodeId),
    Builtin(Builtin, Vec<NodeId>),
    If(NodeId, NodeId, NodeId),
    /// What the strategy sees of the named order's fill on this bar.
    Fill(FillField, u32),
    /// Window sum number `k` (its state in `Program::window_sums`): `new` enters the window
    /// and `old` leaves it; the exact sum of the window (see `exact`). Only ever the definition
    /// of a series, so it steps once per bar.
    WindowSum(u32, NodeId, NodeId),
}

pub use super::builtins::Action;

#[derive(Debug, Clone, PartialEq)]
pub enum EStmt {
    /// Compute the series' definition and append it to its buffer.
    Series(SeriesId),
    /// Set a `mut` local or loop variable.
    Assign(VarId, NodeId),
    If(NodeId, Vec<EStmt>, Vec<EStmt>),
    /// `for var in lo..hi`.
    For(VarId, i64, i64, Vec<EStmt>),
    /// Leaves the innermost loop.
    Break,
    /// Goes on with the innermost loop's next iteration.
    Continue,
    /// An order action with its arguments (quantity, prices, bars), at most four, the number
    /// of its name (`Program::order_names`) and the feed it trades (0: the primary).
    Action(Action, Vec<NodeId>, Span, Option<u32>, u32),
    Plot(NodeId, String),
}

#[derive(Debug, Clone)]
pub struct Var {
    pub name: String,
    pub ty: Ty,
    pub span: Span,
    /// For loop variables, the values it takes (`lo..=hi`).
    pub range: Option<(i64, i64)>,
}

#[derive(Debug, Clone)]
pub struct BoundParam {
    pub name: String,
    pub ty: Ty,
    pub value: f64,
    pub span: Span,
    pub doc: Option<String>,
}

/// The elaborated strategy.
#[derive(Debug, Clone, Default)]
pub struct Program {
    pub name: String,
    pub series: SlotMap<SeriesId, Series>,
    /// Series in evaluation order (inputs first).
    pub order: Vec<SeriesId>,
    pub nodes: SlotMap<NodeId, Node>,
    pub vars: SlotMap<VarId, Var>,
    pub body: Vec<EStmt>,
    pub params: Vec<BoundParam>,
    pub lookback: SecondaryMap<SeriesId, u32>,
    pub warmup: SecondaryMap<SeriesId, u64>,
    /// The first bar on which everything some action reads can be present (see
    /// `sema::warmup`); `None` when no action can ever run.
    pub strategy_warmup: Option<u64>,
    /// Actions that can never run (they read a value that is never present), with the series
    /// responsible when one is found.
    pub dead_actions: Vec<(Span, Option<SeriesId>)>,
    /// The largest index each history read can take, as proven (`History` nodes).
    pub index_hi: SecondaryMap<NodeId, u32>,
    /// Series read (in the past) above their definition.
    pub forward: SecondaryMap<SeriesId, ()>,
    /// The names of orders, in order of first appearance (an order's name is its index here).
    pub order_names: Vec<String>,
    /// Whether the program has any order action (found by warm-up inference).
    pub has_actions: bool,
    /// The series each `let` statement became, per call site (for editors' inlay hints).
    pub let_series: Vec<(StmtId, SeriesId)>,
    /// `hline` levels and the plot whose pane each goes on (`None`: the price pane).
    pub hlines: Vec<(f64, Option<String>)>,
    /// The number of exact window sums (each keeps `exact::STATE` values).
    pub window_sums: u32,
    /// The feeds: number 0 is the primary (the first `--data`), then the `feed` declarations.
    pub feeds: Vec<FeedDef>,
    /// The clock each series ticks with (see `sema::clock`); 0 is the step clock.
    pub clock: SecondaryMap<SeriesId, u32>,
}

/// A feed of the program.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedDef {
    /// The name in the program (`""` for the primary).
    pub name: String,
    pub source: super::check::FeedSource,
    /// The clock its bars tick (see `sema::clock`): 0 when it ticks on every step.
    pub clock: u32,
}

impl FeedDef {
    /// A data feed (a file), not a resampled one: a symbol the strategy may trade.
    pub fn is_data(&self) -> bool {
        self.source == super::check::FeedSource::Data
    }
}

/// The feed whose bars series clock `clock` counts in `feeds`: `None` for the step clock when
/// the primary has a clock of its own (several data feeds: the series ticks on every step).
pub fn feed_of_clock(feeds: &[FeedDef], clock: u32) -> Option<&FeedDef> {
    match clock {
        0 => feeds.first().filter(|f| f.clock == 0),
        c => feeds.iter().find(|f| f.clock == c),
    }
}

impl Program {
    /// The symbol (the number among data feeds, 0: the primary) of feed `feed`, when it is a
    /// data feed.
    pub fn symbol_of(&self, feed: u32) -> Option<u32> {
        let f = self.feeds.get(feed as usize)?;
        f.is_data().then(|| {
            self.feeds[..feed as usize]
                .iter()
                .filter(|f| f.is_data())
                .count() as u32
        })
    }

    /// Values the series' ring buffer holds.
    pub fn capacity(&self, s: SeriesId) -> u32 {
        self.lookback.get(s).copied().unwrap_or(0) + 1
    }

    pub fn bytes(&self, s: SeriesId) -> u64 {
        u64::from(self.capacity(s)) * 8
    }

    /// The bytes of every buffer: the series' and the exact window sums' states.
    pub fn total_bytes(&self) -> u64 {
        self.order.iter().map(|&s| self.bytes(s)).sum::<u64>() + self.window_sum_bytes()
    }

    /// The bytes of the exact window sums' states.
    pub fn window_sum_bytes(&self) -> u64 {
        u64::from(self.window_sums) * crate::exact::STATE as u64 * 8
    }
}

/// Elaborates the strategy at `strategy` with the given parameter values (see the module contract).
pub fn elaborate(
    ast: &Ast,
    sources: &SourceMap,
    checked: &Checked,
    params: &HashMap<LocalId, f64>,
) -> (Program, Vec<Diagnostic>) {
    let mut e = Elab {
        ast,
        sources,
        checked,
        param_values: params,
        p: Program::default(),
        diags: Vec::new(),
        inputs: HashMap::new(),
        feed: 0,
        env: HashMap::new(),
        path: Vec::new(),
        call_spans: Vec::new(),
        defining: None,
        blocks: vec![(Vec::new(), true)],
        gens: vec![0],
        next_gen: 1,
        var_writes: HashMap::new(),
        tuple_result: None,
        intervals: SecondaryMap::new(),
        too_big: false,
        last_plot: None,
    };
    if let Some(item) = checked.strategy
        && let (_, Item::Strategy(s)) = &ast.items[item]
    {
        {
            e.p.name = s.name.name.clone();
            e.p.feeds.push(FeedDef {
                name: String::new(),
                source: super::check::FeedSource::Data,
                clock: 0,
            });
            for f in &checked.feeds {
                e.p.feeds.push(FeedDef {
                    name: f.name.clone(),
                    source: f.source,
                    clock: 0,
                });
            }
            for &id in &checked.params {
                let local = &checked.locals[id];
                let value = params.get(&id).copied().unwrap_or(value::NA);
                e.p.params.push(BoundParam {
                    name: local.name.clone(),
                    ty: local.ty,
                    value,
                    span: local.span,
                    doc: local.doc.clone(),
                });
            }
            for &sid in &s.body.stmts {
                e.stmt(sid);
            }
            e.p.body = e.blocks.pop().map(|(b, _)| b).unwrap_or_default();
        }
    }
    let mut p = e.p;
    let diags = e.diags;
    super::clock::infer(&mut p);
    super::warmup::infer(&mut p);
    (p, diags)
}

/// A compile-time interval of integer values; `None` bounds are unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub lo: Option<i64>,
    pub hi: Option<i64>,
}

impl Interval {
    const ANY: Interval = Interval { lo: None, hi: None };

    fn exact(v: i64) -> Interval {
        Interval {
            lo: Some(v),
            hi: Some(v),
        }
    }

    fn hull(a: Interval, b: Interval) -> Interval {
        Interval {
            lo: a.lo.zip(b.lo).map(|(x, y)| x.min(y)),
            hi: a.hi.zip(b.hi).map(|(x, y)| x.max(y)),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Bind {
    Series(SeriesId),
    Node(NodeId),
    Var(VarId),
}

struct Elab<'a> {
    ast: &'a Ast,
    sources: &'a SourceMap,
    checked: &'a Checked,
    /// The bound value of each strategy param.
    param_values: &'a HashMap<LocalId, f64>,
    p: Program,
    diags: Vec<Diagnostic>,
    /// Per feed and input, its series.
    inputs: HashMap<(u32, Input), SeriesId>,
    /// The feed whose context is being elaborated (`qqq.expr`); 0: the primary.
    feed: u32,
    env: HashMap<LocalId, Bind>,
    /// Call labels of the call sites being expanded, outermost first.
    path: Vec<String>,
    call_spans: Vec<Span>,
    /// The `let` series whose value is being elaborated.
    defining: Option<SeriesId>,
    /// The statement lists being built, innermost last, each marked whether it runs on every
    /// bar (not inside an `if` branch or a loop body).
    blocks: Vec<(Vec<EStmt>, bool)>,
    /// A generation number per open statement list (parallel to `blocks`).
    gens: Vec<u32>,
    next_gen: u32,
    /// The statement lists (by generation) in which each `mut` local or loop variable is set.
    var_writes: HashMap<VarId, Vec<u32>>,
    /// The values of the tuple that ended the body of the function just expanded.
    tuple_result: Option<Vec<NodeId>>,
    intervals: SecondaryMap<NodeId, Interval>,
    too_big: bool,
    /// The name of the last `plot` elaborated (an `hline` without a pane goes on its pane).
    last_plot: Option<String>,
}

impl<'a> Elab<'a> {
    fn node(&mut self, n: Node) -> NodeId {
        // Fold constants with the run-time semantics.
        let folded = match &n {
            Node::Unary(op, a) => self.konst(*a).map(|a| value::unary(*op, a)),
            Node::Binary(op, a, b) => self
                .konst(*a)
                .zip(self.konst(*b))
                .map(|(a, b)| value::binary(*op, a, b)),
            Node::Builtin(b, args) if !b.is_action() => {
                let vals: Option<Vec<f64>> = args.iter().map(|a| self.konst(*a)).collect();
                vals.map(|v| value::builtin(*b, &v))
            }
            Node::If(c, a, b) => match self.konst(*c) {
                Some(c) if value::truthy(c) => return *a,
                Some(_) => return *b,
                None => None,
            },
            _ => None,
        };
        self.p.nodes.insert(match folded {
            Some(v) => Node::Const(v),
            None => n,
        })
    }

    fn konst(&self, n: NodeId) -> Option<f64> {
        match self.p.nodes[n] {
            Node::Const(v) => Some(v),
            _ => None,
        }
    }

    fn na(&mut self) -> NodeId {
        self.p.nodes.insert(Node::Const(value::NA))
    }

    fn new_series(&mut self, name: String, kind: SeriesKind, ty: Ty, span: Span) -> SeriesId {
        self.p.series.insert(Series {
            name,
            kind,
            ty,
            span,
            def: None,
            self_ref: false,
            feed: self.feed,
        })
    }

    /// Places a series' update at this point of the evaluation order, in the innermost list that
    /// runs on every bar (series update on every bar, whichever branch they are written in).
    fn emit_series(&mut self, s: SeriesId) {
        if self.blocks.len() > 1 {
            self.check_hoisted(s);
        }
        self.p.order.push(s);
        if let Some((list, _)) = self
            .blocks
            .iter_mut()
            .rev()
            .find(|(_, every_bar)| *every_bar)
        {
            list.push(EStmt::Series(s));
        }
    }

    /// E0204: a series update hoisted out of conditional code must not read a `mut` local set
    /// in that code, which runs only after it (and only on some bars).
    fn check_hoisted(&mut self, s: SeriesId) {
        let Some(def) = self.p.series[s].def else {
            return;
        };
        let Some(v) = self.reads_open_var(def) else {
            return;
        };
        let var = self.p.vars[v].name.clone();
        let series = &self.p.series[s];
        let (name, span, kind) = (series.name.clone(), series.span, series.kind);
        let what = if kind == SeriesKind::Let {
            format!("the series `{name}`")
        } else {
            format!("the argument `{name}` of a function with state is a series that")
        };
        let d = Diagnostic::new(
            Code::E0204,
            format!("a series update reads `{var}`, which is set in conditional code"),
        )
        .note(format!(
            "{what} updates on every bar, before the `if` or loop it is written in runs; `{var}` gets its value inside that code, so the series would read a stale value"
        ))
        .help(format!(
            "compute `{var}` as a series (`let {var} = ...`) before the `if`, or call the function outside the `if` and use its result inside"
        ));
        self.report(d, span, format!("reads `{var}` before it is set"));
    }

    /// A `mut` local or loop variable that node `n` reads (not through a series) and that is set
    /// in a conditional statement list still open (an `if` branch or loop body being elaborated).
    fn reads_open_var(&self, n: NodeId) -> Option<VarId> {
        let open = &self.gens[1..];
        if open.is_empty() {
            return None;
        }
        let mut stack = vec![n];
        let mut seen = std::collections::HashSet::new();
        let mut culprit = None;
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                continue;
            }
            match &self.p.nodes[n] {
                Node::Var(v) => {
                    let set_here = self
                        .var_writes
                        .get(v)
                        .is_some_and(|w| w.iter().any(|g| open.contains(g)));
                    if set_here {
                        culprit = Some(*v);
                        break;
                    }
                }
                Node::History(_, i) => stack.push(*i),
                Node::Unary(_, a) => stack.push(*a),
                Node::Binary(_, a, b) | Node::WindowSum(_, a, b) => stack.extend([*a, *b]),
                Node::Builtin(_, args) => stack.extend(args.iter().copied()),
                Node::If(c, a, b) => stack.extend([*c, *a, *b]),
                Node::Const(_) | Node::Read(_) | Node::Fill(..) => {}
            }
        }
        culprit
    }

    fn push(&mut self, stmt: EStmt) {
        if let EStmt::Assign(v, _) = &stmt {
            let g = self.gens.last().copied().unwrap_or(0);
            self.var_writes.entry(*v).or_default().push(g);
        }
        if let Some((list, _)) = self.blocks.last_mut() {
            list.push(stmt);
        }
    }

    /// Starts a conditional or repeated statement list (an `if` branch, a loop body).
    fn open(&mut self) {
        self.blocks.push((Vec::new(), false));
        self.gens.push(self.next_gen);
        self.next_gen += 1;
    }

    fn close(&mut self) -> Vec<EStmt> {
        self.gens.pop();
        self.blocks.pop().map(|(b, _)| b).unwrap_or_default()
    }

    /// The series of input `i` in the current feed's context (the account's are one).
    fn input(&mut self, i: Input, span: Span) -> SeriesId {
        let feed = if i.is_account() && !i.is_per_symbol() {
            0
        } else {
            self.feed
        };
        if let Some(&s) = self.inputs.get(&(feed, i)) {
            return s;
        }
        let ty = if i.is_int() { Ty::Int } else { Ty::Float };
        let name = match feed {
            0 => i.name().to_string(),
            f => format!("{}.{}", self.p.feeds[f as usize].name, i.name()),
        };
        let outer = std::mem::replace(&mut self.feed, feed);
        let s = self.new_series(name, SeriesKind::Input(i), ty, span);
        self.feed = outer;
        self.p.order.push(s);
        self.inputs.insert((feed, i), s);
        s
    }

    fn qualified(&self, name: &str) -> String {
        let mut parts = self.path.clone();
        parts.push(name.to_string());
        parts.join(".")
    }

    /// A temporary series holding `def` (for a computed expression that needs a history).
    fn temp(&mut self, def: NodeId, text_span: Span, ty: Ty) -> SeriesId {
        if let Node::Read(s) = self.p.nodes[def] {
            return s;
        }
        let text: String = self
            .sources
            .snippet(text_span)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let text = if text.chars().count() > 40 {
            format!("{}…", text.chars().take(39).collect::<String>())
        } else {
            text
        };
        let s = self.new_series(self.qualified(&text), SeriesKind::Temp, ty, text_span);
        self.p.series[s].def = Some(def);
        self.emit_series(s);
        s
    }

    /// Puts a diagnostic at `span`, or, when `span` is in the stdlib, at the user's call that led there.
    fn report(&mut self, d: Diagnostic, span: Span, label: String) {
        let in_stdlib = self.sources.get(span.file).is_stdlib;
        let user_call = self
            .call_spans
            .iter()
            .copied()
            .find(|s| !self.sources.get(s.file).is_stdlib);
        let d = match (in_stdlib, user_call) {
            (true, Some(call)) => d
                .primary(call, label)
                .secondary(span, "inside this function"),
            (false, Some(call)) if call != span => {
                d.primary(span, label).secondary(call, "in this call")
            }
            _ => d.primary(span, label),
        };
        self.diags.push(d);
    }

    fn stmts(&mut self, block: &Block) -> Option<NodeId> {
        // This call site's `let`s: unbound until defined (or first read in the past, above).
        for &sid in &block.stmts {
            if let Some(&id) = self.checked.decls.get(sid) {
                self.env.remove(&id);
            }
            if let Some(ids) = self.checked.tuple_decls.get(sid) {
                for id in ids.iter().flatten() {
                    self.env.remove(id);
                }
            }
        }
        let mut value = None;
        for &sid in &block.stmts {
            value = self.stmt(sid);
        }
        value
    }

    /// Elaborates a statement into `cur`; returns the value of an expression statement.
    fn stmt(&mut self, sid: StmtId) -> Option<NodeId> {
        match self.ast.stmt(sid) {
            Stmt::Param { default, .. } => {
                if let Some(&id) = self.checked.decls.get(sid) {
                    let n = match self.param_values.get(&id) {
                        Some(&v) => self.p.nodes.insert(Node::Const(v)),
                        None => self.expr(*default),
                    };
                    self.env.insert(id, Bind::Node(n));
                }
                None
            }
            Stmt::Let { value, .. } => {
                let &id = self.checked.decls.get(sid)?;
                let s = self.let_series(id);
                self.p.series[s].self_ref = self.checked.locals[id].self_ref;
                let outer = self.defining.replace(s);
                let v = self.expr(*value);
                self.defining = outer;
                self.define_let(sid, id, s, v);
                None
            }
            Stmt::LetTuple { value, .. } => {
                self.tuple_result = None;
                let whole = self.expr(*value);
                let values = self.tuple_result.take();
                let ids = self
                    .checked
                    .tuple_decls
                    .get(sid)
                    .cloned()
                    .unwrap_or_default();
                for (i, id) in ids.iter().enumerate() {
                    let Some(id) = *id else { continue };
                    let v = match &values {
                        Some(vs) => vs.get(i).copied().unwrap_or(whole),
                        None => whole,
                    };
                    let s = self.let_series(id);
                    self.define_let(sid, id, s, v);
                }
                None
            }
            Stmt::Feed { .. } => None,
            Stmt::Break => {
                self.push(EStmt::Break);
                None
            }
            Stmt::Continue => {
                self.push(EStmt::Continue);
                None
            }
            Stmt::Mut { name, value, .. } => {
                let &id = self.checked.decls.get(sid)?;
                let v = self.expr(*value);
                let var = self.p.vars.insert(Var {
                    name: name.name.clone(),
                    ty: self.checked.locals[id].ty,
                    span: name.span,
                    range: None,
                });
                self.env.insert(id, Bind::Var(var));
                self.push(EStmt::Assign(var, v));
                None
            }
            Stmt::Assign { value, .. } => {
                let v = self.expr(*value);
                if let Some(Bind::Var(var)) = self
                    .checked
                    .assigns
                    .get(sid)
                    .and_then(|id| self.env.get(id))
                    .copied()
                {
                    self.push(EStmt::Assign(var, v));
                }
                None
            }
            Stmt::For { var, lo, hi, body } => {
                let lo_n = self.expr(*lo);
                let hi_n = self.expr(*hi);
                let bound = |v: Option<f64>| {
                    v.filter(|v| v.is_finite())
                        .unwrap_or(0.0)
                        .clamp(-9.0e15, 9.0e15) as i64
                };
                let lo_v = bound(self.konst(lo_n));
                let mut hi_v = bound(self.konst(hi_n));
                if hi_v.saturating_sub(lo_v) > MAX_LOOP {
                    let span = self.ast.expr_span(*hi);
                    let d = Diagnostic::new(Code::E0106, format!("loop runs {} times, more than the maximum of {MAX_LOOP}", hi_v - lo_v))
                        .note("the loop runs on every bar: its count multiplies the run time")
                        .help("use a smaller range, or a running value (`let s = nz(s[1]) + x`) instead of a loop");
                    self.report(d, span, "too many iterations".into());
                    hi_v = lo_v;
                }
                let &id = self.checked.decls.get(sid)?;
                let v = self.p.vars.insert(Var {
                    name: var.name.clone(),
                    ty: Ty::Int,
                    span: var.span,
                    range: Some((lo_v, (hi_v - 1).max(lo_v))),
                });
                self.env.insert(id, Bind::Var(v));
                self.open();
                let g = self.next_gen - 1;
                self.var_writes.entry(v).or_default().push(g);
                self.stmts(body);
                let mut inner = self.close();
                let trips = hi_v.saturating_sub(lo_v).max(0) as u64;
                let per_bar = trips.saturating_mul(work(&inner).saturating_add(1));
                if trips <= MAX_LOOP as u64 && per_bar > MAX_WORK {
                    let whole = self.ast.stmt_span(sid);
                    // The loop's header: `for i in 0..n`.
                    let span =
                        Span::new(whole.file, whole.start as usize, body.span.start as usize);
                    let d = Diagnostic::new(
                        Code::E0106,
                        format!("this loop runs about {per_bar} statements a bar, more than the maximum of {MAX_WORK}"),
                    )
                    .note(format!(
                        "{trips} iterations of a body that runs up to {} statements (nested loops multiply)",
                        work(&inner)
                    ))
                    .help("use fewer iterations, or running values (`let s = nz(s[1]) + x`) instead of loops over the window");
                    self.report(d, span, "too much work per bar".into());
                    inner.clear();
                }
                self.push(EStmt::For(v, lo_v, hi_v, inner));
                None
            }
            Stmt::Expr(e) => self.expr_stmt(*e),
            Stmt::Error => None,
        }
    }

    /// The number of the order name written as the string literal `e` (E0118 past
    /// [`MAX_ORDER_NAMES`] names).
    fn order_name(&mut self, e: ExprId) -> Option<u32> {
        let Expr::Str(name) = self.ast.expr(e) else {
            return None;
        };
        if let Some(i) = self.p.order_names.iter().position(|n| n == name) {
            return Some(i as u32);
        }
        if self.p.order_names.len() >= MAX_ORDER_NAMES {
            let d = Diagnostic::new(
                Code::E0118,
                format!("more than {MAX_ORDER_NAMES} order names"),
            )
            .note("each name keeps the last fill of its order, in a table of fixed size")
            .help(
                "reuse names: an order placed under a name replaces the pending order of that name",
            );
            self.report(d, self.ast.expr_span(e), "one name too many".into());
            return None;
        }
        self.p.order_names.push(name.clone());
        Some(self.p.order_names.len() as u32 - 1)
    }

    /// The series of a `let` at this call site: made here, or already made by a read of its
    /// past above its definition.
    fn let_series(&mut self, id: LocalId) -> SeriesId {
        if let Some(Bind::Series(s)) = self.env.get(&id).copied() {
            return s;
        }
        let local = &self.checked.locals[id];
        let span = local.decl.map_or(local.span, |d| self.ast.stmt_span(d));
        let s = self.new_series(self.qualified(&local.name), SeriesKind::Let, local.ty, span);
        self.env.insert(id, Bind::Series(s));
        s
    }

    /// Gives the `let`'s series its value `v` and places its update here; a constant that no
    /// one reads in the past needs no buffer.
    fn define_let(&mut self, sid: StmtId, id: LocalId, s: SeriesId, v: NodeId) {
        let forward = self.p.forward.contains_key(s);
        if !self.checked.locals[id].self_ref && !forward && self.konst(v).is_some() {
            self.p.series.remove(s);
            self.env.insert(id, Bind::Node(v));
        } else {
            self.p.series[s].def = Some(v);
            self.emit_series(s);
            self.p.let_series.push((sid, s));
        }
    }

    /// The branch an `if` with the compile-time condition `v` takes, elaborated alone (the other
    /// never exists); its statements run unconditionally. The branch's value (`na` without one).
    fn decided_branch(&mut self, v: f64, then: &Block, els: Option<&Block>) -> NodeId {
        let branch = if crate::value::truthy(v) {
            Some(then)
        } else {
            els
        };
        self.open();
        let value = match branch {
            Some(b) => self.stmts(b).unwrap_or_else(|| self.na()),
            None => self.na(),
        };
        let t = self.close();
        if !t.is_empty() {
            let yes = self.p.nodes.insert(Node::Const(1.0));
            self.push(EStmt::If(yes, t, Vec::new()));
        }
        value
    }

    /// An expression in statement position: `if` statements and actions become statements.
    fn expr_stmt(&mut self, e: ExprId) -> Option<NodeId> {
        match self.ast.expr(e) {
            // `qqq.buy(10)`, `qqq.(if c { buy(1) })`: statements in the feed's context.
            Expr::In(_, inner) if self.checked.ty(e).ty == Ty::Void => {
                let feed = self.checked.feed_refs.get(e).copied().unwrap_or(self.feed);
                let outer = std::mem::replace(&mut self.feed, feed);
                let v = self.expr_stmt(*inner);
                self.feed = outer;
                v
            }
            Expr::If(c, then, els) if self.checked.ty(e).ty == Ty::Void => {
                let c = self.expr(*c);
                // A condition known at compile time: only the branch taken exists (its state
                // too), as in `if kind == 1 { ema(src, n) } else { sma(src, n) }`.
                if let Some(v) = self.konst(c) {
                    self.decided_branch(v, then, els.as_ref());
                    return None;
                }
                self.open();
                self.stmts(then);
                let t = self.close();
                self.open();
                if let Some(b) = els {
                    self.stmts(b);
                }
                let f = self.close();
                if !t.is_empty() || !f.is_empty() {
                    self.push(EStmt::If(c, t, f));
                }
                None
            }
            Expr::Call(_, args) if matches!(self.checked.calls.get(e), Some(Callee::Builtin(b)) if b.is_action()) =>
            {
                let Some(Callee::Builtin(b)) = self.checked.calls.get(e).copied() else {
                    return None;
                };
                let span = self.ast.expr_span(e);
                if let Some(action) = b.order_action() {
                    let named = action != Action::CancelAll
                        && args
                            .last()
                            .is_some_and(|a| matches!(self.ast.expr(*a), Expr::Str(_)));
                    let (values, name) = match args.split_last() {
                        Some((&last, rest)) if named => (rest, self.order_name(last)),
                        _ => (&args[..], None),
                    };
                    let nodes: Vec<NodeId> = values.iter().map(|a| self.expr(*a)).collect();
                    self.push(EStmt::Action(action, nodes, span, name, self.feed));
                    return None;
                }
                if b == Builtin::Hline {
                    let level = args
                        .first()
                        .map(|a| self.expr(*a))
                        .and_then(|n| self.konst(n));
                    let pane = match args.get(1).map(|n| self.ast.expr(*n)) {
                        Some(Expr::Str(s)) => Some(s.clone()),
                        _ => self.last_plot.clone(),
                    };
                    if let Some(v) = level {
                        self.p.hlines.push((v, pane));
                    }
                    return None;
                }
                let arg = args.first().map(|a| self.expr(*a));
                let name = match args.get(1).map(|n| self.ast.expr(*n)) {
                    Some(Expr::Str(s)) => s.clone(),
                    _ => args
                        .first()
                        .map(|a| self.sources.snippet(self.ast.expr_span(*a)).to_string())
                        .unwrap_or_default(),
                };
                if let Some(a) = arg {
                    self.last_plot = Some(name.clone());
                    self.push(EStmt::Plot(a, name));
                }
                None
            }
            _ => Some(self.expr(e)),
        }
    }

    fn expr(&mut self, e: ExprId) -> NodeId {
        if self.p.nodes.len() > MAX_NODES {
            if !self.too_big {
                self.too_big = true;
                let span = self.ast.expr_span(e);
                let d = Diagnostic::new(Code::E0114, "program too large after expanding function calls")
                    .note(format!("the expansion passed {MAX_NODES} expression nodes"))
                    .help("compute shared values once with `let` instead of calling the same function repeatedly");
                self.report(d, span, "expanding this call went past the limit".into());
            }
            return self.na();
        }
        match self.ast.expr(e) {
            Expr::Int(v) => self.p.nodes.insert(Node::Const(*v as f64)),
            Expr::Float(v) => self.p.nodes.insert(Node::Const(*v)),
            Expr::Bool(b) => self.p.nodes.insert(Node::Const(value::bool_val(*b))),
            Expr::Str(_) | Expr::Error => self.na(),
            Expr::Paren(inner) => self.expr(*inner),
            Expr::In(_, inner) => {
                let feed = self.checked.feed_refs.get(e).copied().unwrap_or(self.feed);
                let outer = std::mem::replace(&mut self.feed, feed);
                // Series made in the feed's context are named after it: `qqq.sma(close, 20).total`.
                let named = feed != outer;
                if named {
                    self.path.push(self.p.feeds[feed as usize].name.clone());
                }
                let v = self.expr(*inner);
                if named {
                    self.path.pop();
                }
                self.feed = outer;
                v
            }
            Expr::Name(_) => match self.checked.names.get(e).copied() {
                Some(Res::Local(id)) => match self.env.get(&id).copied() {
                    Some(Bind::Series(s)) => self.p.nodes.insert(Node::Read(s)),
                    Some(Bind::Node(n)) => n,
                    Some(Bind::Var(v)) => self.p.nodes.insert(Node::Var(v)),
                    None if self.checked.locals[id].kind == LocalKind::Let => {
                        // Read in the past above its definition (check allows nothing else).
                        let s = self.let_series(id);
                        self.p.forward.insert(s, ());
                        self.p.nodes.insert(Node::Read(s))
                    }
                    None => self.na(),
                },
                Some(Res::Input(i)) => {
                    let s = self.input(i, self.ast.expr_span(e));
                    self.p.nodes.insert(Node::Read(s))
                }
                _ => self.na(),
            },
            Expr::Unary(op, a) => {
                let a = self.expr(*a);
                self.node(Node::Unary(*op, a))
            }
            Expr::Binary(op, a, b) => {
                let a = self.expr(*a);
                let b = self.expr(*b);
                self.node(Node::Binary(*op, a, b))
            }
            Expr::Index(base, index) => self.index(*base, *index),
            Expr::Tuple(elems) => {
                let values: Vec<NodeId> = elems.iter().map(|x| self.expr(*x)).collect();
                self.tuple_result = Some(values);
                self.na()
            }
            Expr::If(c, then, els) => {
                let c = self.expr(*c);
                if let Some(v) = self.konst(c) {
                    // Known at compile time: only the branch taken is elaborated (see above).
                    return self.decided_branch(v, then, els.as_ref());
                }
                self.open();
                let tv = self.stmts(then).unwrap_or_else(|| self.na());
                let t = self.close();
                self.open();
                let fv = match els {
                    Some(b) => self.stmts(b).unwrap_or_else(|| self.na()),
                    None => self.na(),
                };
                let f = self.close();
                if !t.is_empty() || !f.is_empty() {
                    self.push(EStmt::If(c, t, f));
                }
                self.node(Node::If(c, tv, fv))
            }
            Expr::Call(name, args) => match self.checked.calls.get(e).copied() {
                Some(Callee::Builtin(Builtin::WindowSum)) => self.window_sum(e, args),
                Some(Callee::Builtin(Builtin::Fill(field))) => {
                    match args.first().and_then(|&a| self.order_name(a)) {
                        Some(id) => self.p.nodes.insert(Node::Fill(field, id)),
                        None => self.na(),
                    }
                }
                Some(Callee::Builtin(b)) if !b.is_action() => {
                    let args: Vec<NodeId> = args.iter().map(|a| self.expr(*a)).collect();
                    self.node(Node::Builtin(b, args))
                }
                Some(Callee::User(f)) if !self.checked.recursive_calls.contains_key(e) => {
                    self.call(e, name, f, args)
                }
                _ => self.na(),
            },
        }
    }

    /// `window_sum(src, n)`: `src` gets a buffer of `n + 1` values (the value leaving the window
    /// is `src[n]`), and the sum is a series of its own, so its state steps once on every bar.
    fn window_sum(&mut self, e: ExprId, args: &[ExprId]) -> NodeId {
        let (Some(&src), Some(&len)) = (args.first(), args.get(1)) else {
            return self.na();
        };
        let src_node = self.expr(src);
        let len_node = self.expr(len);
        let span = self.ast.expr_span(len);
        let n = match self.konst(len_node) {
            Some(v) if v.fract() == 0.0 && (1.0..=MAX_LOOKBACK as f64).contains(&v) => v as u32,
            Some(v) if v.fract() == 0.0 && v >= 1.0 => {
                let d = Diagnostic::new(
                    Code::E0203,
                    format!(
                        "a window of {v} values is beyond the maximum lookback of {MAX_LOOKBACK}"
                    ),
                )
                .help("use a shorter period");
                self.report(d, span, format!("{v} values"));
                return self.na();
            }
            Some(v) if !v.is_nan() => {
                let d = Diagnostic::new(Code::E0201, format!("a window of {v} values"))
                    .note("`window_sum(src, n)` sums the last n values: n is at least 1")
                    .help("give a positive period (a `--param` may be setting it)");
                self.report(d, span, format!("this is {v}"));
                return self.na();
            }
            // Not a compile-time value: reported by the checker.
            _ => return self.na(),
        };
        let s = self.temp(src_node, self.ast.expr_span(src), Ty::Float);
        if let Some(lb) = self.p.lookback.entry(s).map(|e| e.or_insert(0)) {
            *lb = (*lb).max(n);
        }
        let back = self.p.nodes.insert(Node::Const(f64::from(n)));
        let old = self.p.nodes.insert(Node::History(s, back));
        self.p.index_hi.insert(old, n);
        let new = self.p.nodes.insert(Node::Read(s));
        let k = self.p.window_sums;
        self.p.window_sums += 1;
        let def = self.p.nodes.insert(Node::WindowSum(k, new, old));
        let sum = self.temp(def, self.ast.expr_span(e), Ty::Float);
        self.node(Node::Read(sum))
    }

    fn index(&mut self, base: ExprId, index: ExprId) -> NodeId {
        let idx = self.expr(index);
        let b = self.expr(base);
        let ty = self.checked.ty(base).ty;
        let s = self.temp(b, self.ast.expr_span(base), ty);
        let span = self.ast.expr_span(index);
        let index_ty = self.checked.ty(index).ty;
        if self.konst(idx).is_some_and(f64::is_nan) || !matches!(index_ty, Ty::Int | Ty::Na) {
            // An index that is `na` (or came from an error already reported) reads `na`.
            return self.node(Node::History(s, idx));
        }
        let iv = self.interval(idx);
        let name = self.p.series[s].name.clone();
        let text = self.sources.snippet(span).to_string();
        match iv.hi {
            None => {
                let d = Diagnostic::new(Code::E0200, "history index cannot be bounded")
                    .note(format!("`{name}` needs a buffer sized by the largest value of `{text}`, which is not known before the run"))
                    .help(format!("bound the index with a compile-time int: `{name}[min({text}, 50)]`, or use a param"));
                self.report(
                    d,
                    span,
                    "no upper bound can be proven for this index".into(),
                );
            }
            Some(hi) if hi < 0 => {
                let in_stdlib = self.sources.get(span.file).is_stdlib;
                let (label, help) = if in_stdlib {
                    (
                        format!("an argument of this call makes `{text}` {hi} inside it"),
                        "give this call a positive period (a `--param` may be setting it)"
                            .to_string(),
                    )
                } else {
                    (
                        format!("this is {hi}"),
                        "use a positive index: `x[1]` is the previous bar".to_string(),
                    )
                };
                let d = Diagnostic::new(Code::E0201, "negative history index")
                    .note("`x[k]` reads the value k bars ago: a negative k would read the future")
                    .help(help);
                self.report(d, span, label);
            }
            Some(hi) => {
                let lo = iv.lo;
                if lo.is_none_or(|lo| lo < 0) {
                    let low = lo
                        .map(|l| l.to_string())
                        .unwrap_or_else(|| "any negative number".into());
                    let d = Diagnostic::new(Code::E0201, "history index may be negative")
                        .note(
                            "`x[k]` reads the value k bars ago: a negative k would read the future",
                        )
                        .help(format!("clamp it: `max({text}, 0)`"));
                    self.report(d, span, format!("this can be as low as {low}"));
                } else if self.p.forward.contains_key(s)
                    && self.p.series[s].def.is_none()
                    && lo.is_some_and(|l| l < 1)
                {
                    let help = if self.konst(idx).is_some() {
                        format!(
                            "read its previous value, `{name}[1]`, or move this below its definition"
                        )
                    } else {
                        format!("make the index at least 1: `max({text}, 1)`")
                    };
                    let d = Diagnostic::new(Code::E0202, format!("`{name}` is defined further down: this may read its present value"))
                        .note("above its definition a series can be read only in the past (index 1 or more)")
                        .help(help);
                    self.report(d, span, "this index can be 0".into());
                } else if self.defining == Some(s) && lo.is_some_and(|l| l < 1) {
                    let d = Diagnostic::new(Code::E0202, format!("`{name}` may read its own present value"))
                        .note("a series can read its own past (index 1 or more), not the value being computed")
                        .help(format!("make the index at least 1: `max({text}, 1)`"));
                    self.report(d, span, "this index can be 0".into());
                }
                if hi > MAX_LOOKBACK {
                    let d = Diagnostic::new(
                        Code::E0203,
                        format!("lookback of {hi} bars is beyond the maximum of {MAX_LOOKBACK}"),
                    )
                    .note(format!(
                        "`{name}` would need a buffer of {} values",
                        hi.saturating_add(1)
                    ))
                    .help("use a shorter period");
                    self.report(d, span, format!("reads {hi} bars back"));
                } else {
                    let lb = self.p.lookback.entry(s).map(|e| e.or_insert(0));
                    if let Some(lb) = lb {
                        *lb = (*lb).max(hi as u32);
                    }
                    let n = self.node(Node::History(s, idx));
                    self.p.index_hi.insert(n, hi as u32);
                    return n;
                }
            }
        }
        self.node(Node::History(s, idx))
    }

    fn call(&mut self, e: ExprId, name: &Ident, f: usize, args: &[ExprId]) -> NodeId {
        let info = &self.checked.fns[f];
        let Item::Fn(def) = &self.ast.items[info.item].1 else {
            return self.na();
        };
        // The arguments given, then the defaults of the parameters left out.
        let given = args.len();
        let args: Vec<ExprId> = def
            .params
            .iter()
            .enumerate()
            .map_while(|(i, p)| args.get(i).copied().or(p.default))
            .collect();
        if args.len() != def.params.len() || given > def.params.len() {
            return self.na();
        }
        let args = &args[..];
        if self.call_spans.len() >= MAX_CALL_DEPTH {
            if !self.too_big {
                self.too_big = true;
                let d = Diagnostic::new(Code::E0114, format!("function calls nested more than {MAX_CALL_DEPTH} deep"))
                    .note("each call is expanded at its call site; this chain of calls does not end soon enough")
                    .help("flatten the chain of functions");
                self.report(d, self.ast.expr_span(e), "this call is too deep".into());
            }
            return self.na();
        }
        let mut binds = Vec::new();
        // A function without state reads its series arguments only on this bar: they are
        // values, computed where the call is written, with no series (and no buffer) of their own.
        let stateful = info.stateful;
        for ((p, &a), &pid) in def.params.iter().zip(args).zip(&info.params) {
            let n = self.expr(a);
            let bind = if p.ty.series && !stateful {
                Bind::Node(n)
            } else if p.ty.series {
                let ty = self.checked.locals[pid].ty;
                Bind::Series(self.temp(n, self.ast.expr_span(a), ty))
            } else if let Some(v) = self.konst(n) {
                // An int parameter given a fraction: E0104 was reported at the argument; `na`
                // keeps the function's body from reporting what follows from it.
                let int = self.checked.locals[pid].ty == Ty::Int;
                if int && v.is_finite() && v.fract() != 0.0 {
                    Bind::Node(self.na())
                } else {
                    Bind::Node(n)
                }
            } else {
                // Not a compile-time value: E0105 was reported; `na` avoids follow-on errors.
                Bind::Node(self.na())
            };
            binds.push((pid, bind));
        }
        let label = self
            .sources
            .snippet(self.ast.expr_span(e))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let label = if label.chars().count() > 40 {
            format!("{}(…)", name.name)
        } else {
            label
        };
        self.path.push(label);
        self.call_spans.push(self.ast.expr_span(e));
        let saved: Vec<(LocalId, Option<Bind>)> = binds
            .iter()
            .map(|(id, _)| (*id, self.env.get(id).copied()))
            .collect();
        for &(id, b) in &binds {
            self.env.insert(id, b);
        }
        let outer = self.defining.take();
        // A function's body sets only its own locals: written in an `if` branch, its statements
        // go to the list that runs on every bar (so a series reading its result, hoisted there,
        // is computed after them), unless an argument reads a `mut` local set in the branch.
        // The body of a function with state runs on every bar anyway, like its series.
        let reroot = self.blocks.len() > 1
            && (stateful
                || binds.iter().all(|(_, b)| match b {
                    Bind::Node(n) => self.reads_open_var(*n).is_none(),
                    _ => true,
                }));
        let (held_blocks, held_gens) = if reroot {
            (self.blocks.split_off(1), self.gens.split_off(1))
        } else {
            (Vec::new(), Vec::new())
        };
        let v = self.stmts(&def.body).unwrap_or_else(|| self.na());
        self.blocks.extend(held_blocks);
        self.gens.extend(held_gens);
        self.defining = outer;
        for (id, b) in saved {
            match b {
                Some(b) => self.env.insert(id, b),
                None => self.env.remove(&id),
            };
        }
        self.path.pop();
        self.call_spans.pop();
        v
    }

    /// The values an int node can take, proven at compile time.
    fn interval(&mut self, n: NodeId) -> Interval {
        if let Some(iv) = self.intervals.get(n) {
            return *iv;
        }
        let iv = match self.p.nodes[n].clone() {
            Node::Const(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 => {
                Interval::exact(v as i64)
            }
            Node::Const(_) => Interval::ANY,
            Node::Var(v) => match self.p.vars[v].range {
                Some((lo, hi)) => Interval {
                    lo: Some(lo),
                    hi: Some(hi),
                },
                None => Interval::ANY,
            },
            Node::Read(s) => match (self.p.series[s].kind, self.p.series[s].def) {
                (SeriesKind::Input(Input::BarIndex), _) => Interval {
                    lo: Some(0),
                    hi: None,
                },
                (_, Some(def)) if !self.p.series[s].self_ref => self.interval(def),
                _ => Interval::ANY,
            },
            Node::Unary(UnOp::Neg, a) => {
                let a = self.interval(a);
                Interval {
                    lo: a.hi.and_then(i64::checked_neg),
                    hi: a.lo.and_then(i64::checked_neg),
                }
            }
            Node::Binary(op, a, b) => {
                let (x, y) = (self.interval(a), self.interval(b));
                let both = |f: fn(i64, i64) -> Option<i64>, p: Option<i64>, q: Option<i64>| {
                    p.zip(q).and_then(|(p, q)| f(p, q))
                };
                match op {
                    BinOp::Add => Interval {
                        lo: both(i64::checked_add, x.lo, y.lo),
                        hi: both(i64::checked_add, x.hi, y.hi),
                    },
                    BinOp::Sub => Interval {
                        lo: both(i64::checked_sub, x.lo, y.hi),
                        hi: both(i64::checked_sub, x.hi, y.lo),
                    },
                    BinOp::Mul => match (x.lo, x.hi, y.lo, y.hi) {
                        (Some(a), Some(b), Some(c), Some(d)) => {
                            let ps = [
                                a.checked_mul(c),
                                a.checked_mul(d),
                                b.checked_mul(c),
                                b.checked_mul(d),
                            ];
                            if ps.iter().all(Option::is_some) {
                                let ps: Vec<i64> = ps.iter().flatten().copied().collect();
                                Interval {
                                    lo: ps.iter().min().copied(),
                                    hi: ps.iter().max().copied(),
                                }
                            } else {
                                Interval::ANY
                            }
                        }
                        _ => Interval::ANY,
                    },
                    BinOp::Rem => match (y.lo, y.hi) {
                        (Some(m), Some(m2)) if m == m2 && m != 0 => {
                            let m = m.abs() - 1;
                            if x.lo.is_some_and(|l| l >= 0) {
                                Interval {
                                    lo: Some(0),
                                    hi: Some(x.hi.map_or(m, |h| h.min(m))),
                                }
                            } else {
                                Interval {
                                    lo: Some(-m),
                                    hi: Some(m),
                                }
                            }
                        }
                        _ => Interval::ANY,
                    },
                    _ => Interval::ANY,
                }
            }
            Node::Builtin(Builtin::Min, args) if args.len() == 2 => {
                let (x, y) = (self.interval(args[0]), self.interval(args[1]));
                Interval {
                    lo: x.lo.zip(y.lo).map(|(a, b)| a.min(b)),
                    hi: match (x.hi, y.hi) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    },
                }
            }
            Node::Builtin(Builtin::Max, args) if args.len() == 2 => {
                let (x, y) = (self.interval(args[0]), self.interval(args[1]));
                Interval {
                    lo: match (x.lo, y.lo) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    },
                    hi: x.hi.zip(y.hi).map(|(a, b)| a.max(b)),
                }
            }
            Node::Builtin(Builtin::Abs, args) => {
                let x = self.interval(args[0]);
                match (x.lo, x.hi) {
                    (Some(a), Some(b)) => {
                        let (a, b) = (a.checked_abs(), b.checked_abs());
                        Interval {
                            lo: Some(0),
                            hi: a.zip(b).map(|(a, b)| a.max(b)),
                        }
                    }
                    _ => Interval {
                        lo: Some(0),
                        hi: None,
                    },
                }
            }
            Node::Builtin(Builtin::Nz, args) => {
                let x = self.interval(args[0]);
                let d = match args.get(1) {
                    Some(&d) => self.interval(d),
                    None => Interval::exact(0),
                };
                Interval::hull(x, d)
            }
            Node::Builtin(Builtin::Floor | Builtin::Ceil | Builtin::Round, args) => {
                // Rounding an int changes nothing; of a float, the bounds are not tracked.
                let x = self.interval(args[0]);
                if x.lo.is_some() || x.hi.is_some() {
                    x
                } else {
                    Interval::ANY
                }
            }
            Node::If(_, a, b) => {
                let (x, y) = (self.interval(a), self.interval(b));
                Interval::hull(x, y)
            }
            _ => Interval::ANY,
        };
        self.intervals.insert(n, iv);
        iv
    }
}
