//! Warm-up inference: the first bar on which each series is present by construction.
//!
//! Contract: [`infer`] fills `Program::warmup` for every series and `Program::strategy_warmup`,
//! walking the program in evaluation order. Rules: constants and inputs are present from bar 0,
//! `na` never; `x[k]` adds the largest k to x's warm-up; operators take the latest of their inputs;
//! `na(x)`, `valid(x)` and `nz(x)` are present from bar 0 (`nz(x, d)`: from the earlier of x and d);
//! an `if` is present once both branches are, or earlier when its condition is a guard whose switch
//! bar is known: `na(x)` (true exactly until x's warm-up), `bar_index >= K`, and `not`/`and`/`or` of
//! those. A series that reads its own past is solved by iterating from "never" to a fixed point.
//! A `mut` local's warm-up is the latest of the values assigned to it. The strategy's warm-up is the
//! latest warm-up among the conditions and arguments of its actions.
//!
//! "By construction" assumes the data have no gaps: a value missing in the middle of the data is
//! not foreseen here (the run still treats it as `na`).

use slotmap::SecondaryMap;

use super::builtins::{Builtin, Input};
use super::elab::{EStmt, NEVER, Node, NodeId, Program, SeriesId, SeriesKind, VarId};
use crate::syntax::ast::{BinOp, UnOp};

/// Fills the warm-up facts of `p` (see the module contract).
pub fn infer(p: &mut Program) {
    let mut w = Warm {
        p,
        series: SecondaryMap::new(),
        vars: SecondaryMap::new(),
        strategy: 0,
        has_actions: false,
    };
    let body = std::mem::take(&mut w.p.body);
    w.stmts(&body, &mut Vec::new());
    let Warm {
        p,
        series,
        strategy,
        has_actions,
        ..
    } = w;
    p.body = body;
    for &s in &p.order {
        p.warmup.insert(s, series.get(s).copied().unwrap_or(0));
    }
    p.strategy_warmup = strategy;
    p.has_actions = has_actions;
}

struct Warm<'a> {
    p: &'a mut Program,
    series: SecondaryMap<SeriesId, u64>,
    vars: SecondaryMap<VarId, u64>,
    strategy: u64,
    has_actions: bool,
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
                    let w = self.vf(*n, None);
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
                EStmt::Action(_, args, _) => {
                    self.has_actions = true;
                    let mut w = args.iter().map(|a| self.vf(*a, None)).max().unwrap_or(0);
                    for &c in conds.iter() {
                        w = w.max(self.vf(c, None));
                    }
                    self.strategy = self.strategy.max(w);
                }
                EStmt::Plot(..) => {}
            }
        }
    }

    fn series(&mut self, s: SeriesId) {
        let series = &self.p.series[s];
        let w = match (series.kind, series.def) {
            (SeriesKind::Input(_), _) | (_, None) => 0,
            (_, Some(def)) if series.self_ref => {
                let mut w = NEVER;
                for _ in 0..64 {
                    let next = self.vf(def, Some((s, w)));
                    if next == w {
                        break;
                    }
                    w = next;
                }
                w
            }
            (_, Some(def)) => self.vf(def, None),
        };
        self.series.insert(s, w);
    }

    fn of_series(&self, s: SeriesId, assume: Option<(SeriesId, u64)>) -> u64 {
        match assume {
            Some((x, w)) if x == s => w,
            _ => self.series.get(s).copied().unwrap_or(0),
        }
    }

    fn index_hi(&self, idx: NodeId) -> Option<u64> {
        match self.p.nodes[idx] {
            Node::Const(v) if v.is_finite() && v >= 0.0 => Some(v as u64),
            Node::Var(v) => self.p.vars[v].range.map(|(_, hi)| hi.max(0) as u64),
            _ => None,
        }
    }

    /// The first bar from which the node's value is present.
    fn vf(&self, n: NodeId, assume: Option<(SeriesId, u64)>) -> u64 {
        match &self.p.nodes[n] {
            Node::Const(v) => {
                if v.is_nan() {
                    NEVER
                } else {
                    0
                }
            }
            Node::Read(s) => self.of_series(*s, assume),
            Node::History(s, idx) => {
                let k = self
                    .index_hi(*idx)
                    .unwrap_or_else(|| self.p.lookback.get(*s).copied().unwrap_or(0) as u64);
                self.of_series(*s, assume).saturating_add(k)
            }
            Node::Var(v) => self.vars.get(*v).copied().unwrap_or(0),
            Node::Unary(_, a) => self.vf(*a, assume),
            Node::Binary(_, a, b) => self.vf(*a, assume).max(self.vf(*b, assume)),
            Node::Builtin(Builtin::Na | Builtin::Valid, _) => 0,
            Node::Builtin(Builtin::Nz, args) => match args.get(1) {
                Some(&d) => self.vf(args[0], assume).min(self.vf(d, assume)),
                None => 0,
            },
            Node::Builtin(_, args) => args.iter().map(|a| self.vf(*a, assume)).max().unwrap_or(0),
            Node::If(c, a, b) => {
                let (wa, wb) = (self.vf(*a, assume), self.vf(*b, assume));
                let general = wa.max(wb);
                match self.guard(*c, assume) {
                    Some(g) => {
                        // Before the switch bar one branch runs, from it the other.
                        let (before, after) = if g.true_before { (wa, wb) } else { (wb, wa) };
                        let exact = if before < g.at && after <= g.at {
                            before
                        } else {
                            g.at.max(after)
                        };
                        general.min(exact)
                    }
                    None => general,
                }
            }
        }
    }

    fn guard(&self, c: NodeId, assume: Option<(SeriesId, u64)>) -> Option<Guard> {
        match &self.p.nodes[c] {
            Node::Builtin(Builtin::Na, args) => Some(Guard {
                at: self.vf(args[0], assume),
                true_before: true,
            }),
            Node::Unary(UnOp::Not, g) => self.guard(*g, assume).map(|g| Guard {
                at: g.at,
                true_before: !g.true_before,
            }),
            Node::Binary(op @ (BinOp::And | BinOp::Or), a, b) => {
                let (x, y) = (self.guard(*a, assume)?, self.guard(*b, assume)?);
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
