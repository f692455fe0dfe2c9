//! Warm-up inference: the first bar on which each series *can* be present.
//!
//! Contract: [`infer`] fills `Program::warmup` for every series (before its warm-up bar a series is
//! `na` by construction; from it on it may be present, or `na` on some bars), the strategy's
//! warm-up `Program::strategy_warmup`, and `Program::dead_actions`, the actions that can never
//! run. Walks the program in evaluation order. Rules: constants and inputs can be present from
//! bar 0, `na` never; `x[k]` adds the largest k the index can take (a loop variable's bound, not
//! the series' lookback) to x's warm-up; arithmetic and comparisons take the latest of their
//! inputs; `and`/`or` (Kleene: one decisive operand decides) the earliest; `na(x)`, `valid(x)`
//! and `nz(x)` are present from bar 0 (`nz(x, d)`: from the earlier of x and d); an `if` from the
//! earlier of its branches, or exactly when its condition is a guard whose switch bar is known:
//! `na(x)` (true exactly until x's warm-up), `bar_index >= K`, `not`/`and`/`or` of those, and a
//! `let` defined as one of those. A series that reads its own past is solved by iterating from
//! "never" to a fixed point. A `mut` local's warm-up is the latest of the values assigned to it.
//!
//! The strategy's warm-up is the first bar on which everything some action reads (each
//! operand of its conditions and arguments, `and`/`or` included) can be present, over the actions
//! that can run at all; an action reading a value that is never present can never run and is
//! listed in `dead_actions` with the series responsible. It is `None` ("never") only when every
//! action is dead. Actions run only from the strategy's warm-up on, as backtrader calls `next`
//! only once every indicator has a value.
//!
//! "By construction" assumes the data have no gaps: a value missing in the middle of the data is
//! not foreseen here (the run still treats it as `na`).

use slotmap::SecondaryMap;

use super::builtins::{Builtin, Input};
use super::elab::{EStmt, NEVER, Node, NodeId, Program, SeriesId, SeriesKind, VarId};
use crate::source::Span;
use crate::syntax::ast::{BinOp, UnOp};

/// Fills the warm-up facts of `p` (see the module contract).
pub fn infer(p: &mut Program) {
    let mut w = Warm {
        p,
        series: SecondaryMap::new(),
        vars: SecondaryMap::new(),
        strategy: None,
        has_actions: false,
        dead: Vec::new(),
    };
    let body = std::mem::take(&mut w.p.body);
    // Series read above their definition start at "never"; the whole program is walked again
    // until no warm-up changes (each walk can only move warm-ups earlier).
    for s in w.p.forward.keys() {
        w.series.insert(s, NEVER);
    }
    for _ in 0..64 {
        let before: Vec<(SeriesId, u64)> = w.series.iter().map(|(s, &v)| (s, v)).collect();
        w.vars.clear();
        w.strategy = None;
        w.has_actions = false;
        w.dead.clear();
        w.stmts(&body, &mut Vec::new());
        let same = before.len() == w.series.len()
            && before.iter().all(|(s, v)| w.series.get(*s) == Some(v));
        if w.p.forward.is_empty() || same {
            break;
        }
    }
    let Warm {
        p,
        series,
        strategy,
        has_actions,
        dead,
        ..
    } = w;
    p.body = body;
    for &s in &p.order {
        p.warmup.insert(s, series.get(s).copied().unwrap_or(0));
    }
    p.strategy_warmup = if has_actions { strategy } else { Some(0) };
    p.has_actions = has_actions;
    p.dead_actions = dead;
}

/// How a value is read: as a series' definition (`and`/`or` present once one operand decides),
/// or as what an action reads (every operand must be present).
#[derive(Clone, Copy)]
struct Mode {
    /// A self-referencing series being solved, with its assumed warm-up.
    assume: Option<(SeriesId, u64)>,
    strict: bool,
    /// The clock of the value being computed (0: the step clock, as actions and `mut` locals).
    reader: u32,
}

impl Mode {
    const DEF: Mode = Mode {
        assume: None,
        strict: false,
        reader: 0,
    };
}

struct Warm<'a> {
    p: &'a mut Program,
    series: SecondaryMap<SeriesId, u64>,
    vars: SecondaryMap<VarId, u64>,
    /// The latest warm-up among the actions that can run.
    strategy: Option<u64>,
    has_actions: bool,
    dead: Vec<(Span, Option<SeriesId>)>,
}

/// A condition that is false before bar `at` and true from it (`true_before` flips that).
#[derive(Clone, Copy)]
struct Guard {
    at: u64,
    true_before: bool,
}

impl Warm<'_> {
    fn stmts(&mut self, stmts: &[EStmt], conds: &mut Vec<NodeId>) {
        for s in stmts {
            match s {
                EStmt::Series(s) => self.series(*s),
                EStmt::Assign(v, n) => {
                    let w = self.vf(*n, Mode::DEF);
                    let old = self.vars.get(*v).copied().unwrap_or(0);
                    self.vars.insert(*v, old.max(w));
                }
                EStmt::If(c, t, f) => {
                    conds.push(*c);
                    self.stmts(t, conds);
                    self.stmts(f, conds);
                    conds.pop();
                }
                EStmt::For(_, _, _, body) => {
                    // Twice, so values carried around the loop reach their assignments.
                    self.stmts(body, conds);
                    self.stmts(body, conds);
                }
                EStmt::Action(_, args, span, _, _) => {
                    self.has_actions = true;
                    let strict = Mode {
                        assume: None,
                        strict: true,
                        reader: 0,
                    };
                    let read: Vec<NodeId> = args.iter().chain(conds.iter()).copied().collect();
                    let w = read.iter().map(|&a| self.vf(a, strict)).max().unwrap_or(0);
                    if w == NEVER {
                        let culprit = read.iter().find_map(|&a| self.never_source(a));
                        self.dead.push((*span, culprit));
                    } else {
                        self.strategy = Some(self.strategy.map_or(w, |s| s.max(w)));
                    }
                }
                EStmt::Plot(..) => {}
                EStmt::Break | EStmt::Continue => {}
            }
        }
    }

    /// The first series, in evaluation order, that `n` reads and that is never present: the
    /// one to blame when an action can never run.
    fn never_source(&self, n: NodeId) -> Option<SeriesId> {
        let mut found: Vec<SeriesId> = Vec::new();
        let mut stack = vec![n];
        let mut seen = std::collections::HashSet::new();
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                continue;
            }
            match &self.p.nodes[n] {
                Node::Read(s) | Node::History(s, _) => {
                    if self.series.get(*s) == Some(&NEVER) {
                        found.push(*s);
                        if let Some(def) = self.p.series[*s].def {
                            stack.push(def);
                        }
                    }
                }
                Node::Unary(_, a) => stack.push(*a),
                Node::Binary(_, a, b) => stack.extend([*a, *b]),
                Node::Builtin(_, args) => stack.extend(args.iter().copied()),
                Node::If(c, a, b) => stack.extend([*c, *a, *b]),
                // `na` counts as 0 in a window sum: it is present from the first bar.
                Node::Const(_) | Node::Var(_) | Node::Fill(..) | Node::WindowSum(..) => {}
            }
        }
        let pos = |s: &SeriesId| self.p.order.iter().position(|x| x == s);
        found.into_iter().min_by_key(pos)
    }

    fn series(&mut self, s: SeriesId) {
        let series = &self.p.series[s];
        let reader = self.p.clock.get(s).copied().unwrap_or(0);
        let def_mode = Mode {
            reader,
            ..Mode::DEF
        };
        let w = match (series.kind, series.def) {
            (SeriesKind::Input(_), _) | (_, None) => 0,
            (_, Some(def)) if series.self_ref => {
                let mut w = NEVER;
                for _ in 0..64 {
                    let next = self.vf(
                        def,
                        Mode {
                            assume: Some((s, w)),
                            strict: false,
                            reader,
                        },
                    );
                    if next == w {
                        break;
                    }
                    w = next;
                }
                w
            }
            (_, Some(def)) => self.vf(def, def_mode),
        };
        self.series.insert(s, w);
    }

    fn of_series(&self, s: SeriesId, assume: Option<(SeriesId, u64)>) -> u64 {
        match assume {
            Some((x, w)) if x == s => w,
            _ => self.series.get(s).copied().unwrap_or(0),
        }
    }

    /// A warm-up `w` of series `s`, counted in `s`'s bars, as the reader counts: the same in the
    /// same clock; a lower bound on the step clock (each of `s`'s bars is at least one step);
    /// unknown, so 0, on another feed's clock (unless never).
    fn across(&self, s: SeriesId, w: u64, m: Mode) -> u64 {
        let clock = self.p.clock.get(s).copied().unwrap_or(0);
        if clock == m.reader || m.reader == 0 || w == NEVER {
            w
        } else {
            0
        }
    }

    /// The largest value a history index can take, as elaboration proved it.
    fn index_hi(&self, history: NodeId, s: SeriesId) -> u64 {
        match self.p.index_hi.get(history) {
            Some(&k) => u64::from(k),
            None => u64::from(self.p.lookback.get(s).copied().unwrap_or(0)),
        }
    }

    /// The first bar from which the node's value can be present.
    fn vf(&self, n: NodeId, m: Mode) -> u64 {
        match &self.p.nodes[n] {
            Node::Const(v) => {
                if v.is_nan() {
                    NEVER
                } else {
                    0
                }
            }
            Node::Read(s) => self.across(*s, self.of_series(*s, m.assume), m),
            Node::History(s, _) => self.across(
                *s,
                self.of_series(*s, m.assume)
                    .saturating_add(self.index_hi(n, *s)),
                m,
            ),
            Node::Var(v) => self.vars.get(*v).copied().unwrap_or(0),
            // `na` counts as 0 in a window sum: it is present from the first bar.
            Node::Fill(..) | Node::WindowSum(..) => 0,
            Node::Unary(_, a) => self.vf(*a, m),
            Node::Binary(BinOp::And | BinOp::Or, a, b) if !m.strict => {
                self.vf(*a, m).min(self.vf(*b, m))
            }
            Node::Binary(_, a, b) => self.vf(*a, m).max(self.vf(*b, m)),
            Node::Builtin(Builtin::Na | Builtin::Valid, _) => 0,
            Node::Builtin(Builtin::Nz, args) => match args.get(1) {
                Some(&d) => self.vf(args[0], m).min(self.vf(d, m)),
                None => 0,
            },
            Node::Builtin(_, args) => args.iter().map(|a| self.vf(*a, m)).max().unwrap_or(0),
            Node::If(c, a, b) => {
                let (wa, wb) = (self.vf(*a, m), self.vf(*b, m));
                match self.guard(*c, m) {
                    // Before the switch bar one branch runs, from it the other.
                    Some(g) => {
                        let (before, after) = if g.true_before { (wa, wb) } else { (wb, wa) };
                        if before < g.at {
                            before
                        } else {
                            g.at.max(after)
                        }
                    }
                    // `a` only when the condition is present and true; `b` otherwise.
                    None => self.vf(*c, m).max(wa).min(wb),
                }
            }
        }
    }

    /// Whether every series `n` reads ticks with `clock` (a guard's switch bar is exact only then).
    fn on_clock(&self, n: NodeId, clock: u32) -> bool {
        // Nodes are shared (a DAG): each is looked at once.
        let mut stack = vec![n];
        let mut seen = std::collections::HashSet::new();
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                continue;
            }
            match &self.p.nodes[n] {
                Node::Read(s) | Node::History(s, _)
                    if self.p.clock.get(*s).copied().unwrap_or(0) != clock =>
                {
                    return false;
                }
                Node::History(_, i) => stack.push(*i),
                Node::Unary(_, a) => stack.push(*a),
                Node::Binary(_, a, b) | Node::WindowSum(_, a, b) => stack.extend([*a, *b]),
                Node::Builtin(_, args) => stack.extend(args.iter().copied()),
                Node::If(c, a, b) => stack.extend([*c, *a, *b]),
                _ => {}
            }
        }
        true
    }

    fn guard(&self, c: NodeId, m: Mode) -> Option<Guard> {
        let assume = m.assume;
        if !self.on_clock(c, m.reader) {
            return None;
        }
        match &self.p.nodes[c] {
            // A named condition (`let ready = not na(x[1])`) is the guard it is defined as.
            Node::Read(s) if !self.p.series[*s].self_ref && assume.is_none_or(|(x, _)| x != *s) => {
                let def = self.p.series[*s].def?;
                self.guard(def, m)
            }
            Node::Builtin(Builtin::Na, args) => Some(Guard {
                at: self.vf(
                    args[0],
                    Mode {
                        assume,
                        strict: false,
                        reader: m.reader,
                    },
                ),
                true_before: true,
            }),
            Node::Unary(UnOp::Not, g) => self.guard(*g, m).map(|g| Guard {
                at: g.at,
                true_before: !g.true_before,
            }),
            Node::Binary(op @ (BinOp::And | BinOp::Or), a, b) => {
                let (x, y) = (self.guard(*a, m)?, self.guard(*b, m)?);
                match (op, x.true_before, y.true_before) {
                    (BinOp::And, false, false) => Some(Guard {
                        at: x.at.max(y.at),
                        true_before: false,
                    }),
                    (BinOp::Or, false, false) => Some(Guard {
                        at: x.at.min(y.at),
                        true_before: false,
                    }),
                    (BinOp::And, true, true) => Some(Guard {
                        at: x.at.min(y.at),
                        true_before: true,
                    }),
                    (BinOp::Or, true, true) => Some(Guard {
                        at: x.at.max(y.at),
                        true_before: true,
                    }),
                    _ => None,
                }
            }
            Node::Binary(op, a, b) => {
                let is_bar = |n: NodeId| matches!(self.p.nodes[n], Node::Read(s) if self.p.series[s].kind == SeriesKind::Input(Input::BarIndex));
                let k = |n: NodeId| match self.p.nodes[n] {
                    Node::Const(v) if v.is_finite() => Some(v.max(0.0).ceil() as u64),
                    _ => None,
                };
                let (op, k) = if is_bar(*a) {
                    (*op, k(*b)?)
                } else if is_bar(*b) {
                    let flipped = match op {
                        BinOp::Lt => BinOp::Gt,
                        BinOp::Le => BinOp::Ge,
                        BinOp::Gt => BinOp::Lt,
                        BinOp::Ge => BinOp::Le,
                        other => *other,
                    };
                    (flipped, k(*a)?)
                } else {
                    return None;
                };
                match op {
                    BinOp::Ge => Some(Guard {
                        at: k,
                        true_before: false,
                    }),
                    BinOp::Gt => Some(Guard {
                        at: k.saturating_add(1),
                        true_before: false,
                    }),
                    BinOp::Lt => Some(Guard {
                        at: k,
                        true_before: true,
                    }),
                    BinOp::Le => Some(Guard {
                        at: k.saturating_add(1),
                        true_before: true,
                    }),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}
