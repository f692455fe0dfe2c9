//! Clocks: the bars each series ticks with.
//!
//! Contract: [`infer`] numbers the clocks of the program's feeds and fills `Program::clock` for
//! every series. Clock 0 is the step clock: it ticks on every step of the aligned data (every
//! time at which any data feed has a bar). With one data feed the primary feed's clock is the
//! step clock; with several, each data feed has its own clock (it ticks only on its bars), and a
//! resampled feed always has its own (it ticks when one of its periods has closed).
//!
//! A series ticks with what it reads: an input with its feed's clock (the account's inputs with
//! the step clock), any other series with the clocks of the values its definition reads, past
//! values and `mut` locals included; values of one clock keep that clock, values of two
//! different clocks make a value of the step clock (it is recomputed on every step, from the
//! values each feed holds). A series that reads no series (a counter) ticks with the feed of
//! the context it was written in. A series updates only when its clock ticks; between ticks it
//! holds its value, and `x[k]` counts `x`'s own ticks. Pure: no IO, no diagnostics.

use slotmap::SecondaryMap;

use super::elab::{EStmt, Node, NodeId, Program, SeriesId, SeriesKind, VarId};

/// What a value ticks with: `None` for a constant.
type Clock = Option<u32>;

fn join(a: Clock, b: Clock) -> Clock {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(a), Some(b)) if a == b => Some(a),
        _ => Some(0),
    }
}

/// Numbers the feeds' clocks and infers every series' clock (see the module contract).
pub fn infer(p: &mut Program) {
    let data_feeds = p.feeds.iter().filter(|f| f.is_data()).count();
    let mut next = 1;
    for (i, f) in p.feeds.iter_mut().enumerate() {
        f.clock = if i == 0 && data_feeds == 1 {
            0
        } else {
            next += 1;
            next - 1
        };
    }
    let mut c = Infer {
        series: SecondaryMap::new(),
        vars: SecondaryMap::new(),
    };
    for &s in &p.order {
        let series = &p.series[s];
        if let SeriesKind::Input(i) = series.kind {
            let clock = if i.is_account() {
                0
            } else {
                p.feeds.get(series.feed as usize).map_or(0, |f| f.clock)
            };
            c.series.insert(s, Some(clock));
        }
    }
    // Clocks only move up the lattice (constant < one clock < step), so this ends.
    for _ in 0..64 {
        let mut changed = false;
        for &s in &p.order {
            if let Some(def) = p.series[s].def {
                let old = c.series.get(s).copied().flatten();
                let new = join(old, c.node(p, def));
                if new != old {
                    c.series.insert(s, new);
                    changed = true;
                }
            }
        }
        changed |= c.stmts(p, &p.body, None);
        if !changed {
            break;
        }
    }
    let mut clocks = SecondaryMap::new();
    for &s in &p.order {
        let clock = c.series.get(s).copied().flatten().unwrap_or_else(|| {
            p.feeds
                .get(p.series[s].feed as usize)
                .map_or(0, |f| f.clock)
        });
        clocks.insert(s, clock);
    }
    p.clock = clocks;
}

struct Infer {
    series: SecondaryMap<SeriesId, Clock>,
    vars: SecondaryMap<VarId, Clock>,
}

impl Infer {
    /// Joins into each `mut` local the clocks of what is assigned to it and of the conditions
    /// it is assigned under. Whether anything changed.
    fn stmts(&mut self, p: &Program, stmts: &[EStmt], cond: Clock) -> bool {
        let mut changed = false;
        for s in stmts {
            match s {
                EStmt::Assign(v, n) => {
                    let old = self.vars.get(*v).copied().flatten();
                    let new = join(old, join(cond, self.node(p, *n)));
                    if new != old {
                        self.vars.insert(*v, new);
                        changed = true;
                    }
                }
                EStmt::If(c, t, f) => {
                    let cond = join(cond, self.node(p, *c));
                    changed |= self.stmts(p, t, cond);
                    changed |= self.stmts(p, f, cond);
                }
                EStmt::For(_, _, _, body) => changed |= self.stmts(p, body, cond),
                _ => {}
            }
        }
        changed
    }

    fn node(&self, p: &Program, n: NodeId) -> Clock {
        // Iterative, with the nodes seen: a DAG can be deep and shared.
        let mut clock = None;
        let mut stack = vec![n];
        let mut seen = std::collections::HashSet::new();
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                continue;
            }
            match &p.nodes[n] {
                Node::Const(_) => {}
                Node::Read(s) => clock = join(clock, self.series.get(*s).copied().flatten()),
                Node::History(s, i) => {
                    clock = join(clock, self.series.get(*s).copied().flatten());
                    stack.push(*i);
                }
                Node::Var(v) => clock = join(clock, self.vars.get(*v).copied().flatten()),
                Node::Fill(..) => clock = join(clock, Some(0)),
                Node::Unary(_, a) => stack.push(*a),
                Node::Binary(_, a, b) | Node::WindowSum(_, a, b) => stack.extend([*a, *b]),
                Node::Builtin(_, args) => stack.extend(args.iter().copied()),
                Node::If(c, a, b) => stack.extend([*c, *a, *b]),
            }
            if clock == Some(0) {
                break;
            }
        }
        clock
    }
}
