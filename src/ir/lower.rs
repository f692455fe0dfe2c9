//! Lowering: the elaborated [`Program`] to a [`BarProgram`].
//!
//! Contract: total on any program elaboration produced without errors. Series become slots in
//! evaluation order with capacity `lookback + 1`; each `EStmt::Series` becomes the code of its
//! definition followed by a `Store`; a read of a series' present value is a `Load` of 0 bars back.
//! Value-level `if`s are lowered to `Select` (both sides are pure, so evaluating both is exact).
//! A read of a series' present value after its update this bar reuses the register it was
//! stored from. The states of exact window sums follow the slots in the buffer.

use std::collections::HashMap;

use super::{Back, BarProgram, FRAME_STRIDE, Inst, Reg, Slot, frame_field};
use crate::sema::elab::{EStmt, Node, NodeId, Program, SeriesId, SeriesKind, VarId};
use crate::syntax::ast::BinOp;

pub fn lower(p: &Program) -> BarProgram {
    let mut slots = Vec::new();
    let mut slot_of = HashMap::new();
    let mut offset = 0u32;
    for &s in &p.order {
        let series = &p.series[s];
        let capacity = p.capacity(s);
        let clock = p.clock.get(s).copied().unwrap_or(0);
        slot_of.insert(s, slots.len() as u32);
        let (input, frame) = match series.kind {
            SeriesKind::Input(i) if clock != 0 => {
                (None, frame_field(i).map(|f| (clock - 1) * FRAME_STRIDE + f))
            }
            SeriesKind::Input(i) => (Some(i), None),
            _ => (None, None),
        };
        slots.push(Slot {
            name: series.name.clone(),
            capacity,
            offset,
            input,
            clock,
            frame,
            symbol: p.symbol_of(series.feed).unwrap_or(0),
        });
        offset += capacity;
    }
    // The exact window sums' states, after the slots, `exact::STATE` values each.
    let sums = offset;
    offset += p.window_sums * crate::exact::STATE as u32;
    let mut l = Lower {
        p,
        sums,
        slot_of,
        var_of: HashMap::new(),
        vars: Vec::new(),
        regs: 0,
        plots: Vec::new(),
        code: Vec::new(),
        present: HashMap::new(),
        depth: 0,
        loops: Vec::new(),
    };
    l.stmts(&p.body);
    BarProgram {
        name: p.name.clone(),
        slots,
        buffer_len: offset,
        window_sums: (0..p.window_sums)
            .map(|k| sums + k * crate::exact::STATE as u32)
            .collect(),
        vars: l.vars,
        regs: l.regs,
        plots: l.plots,
        code: l.code,
        order_names: p.order_names.clone(),
        hlines: p.hlines.clone(),
        warmup: p.strategy_warmup,
        feeds: p.feeds.clone(),
        frame_len: p.feeds.iter().map(|f| f.clock).max().unwrap_or(0) * FRAME_STRIDE,
        symbols: p
            .feeds
            .iter()
            .filter(|f| f.is_data())
            .map(|f| f.clock)
            .collect(),
    }
}

struct Lower<'a> {
    p: &'a Program,
    /// Where the window sums' states start in the buffer.
    sums: u32,
    slot_of: HashMap<SeriesId, u32>,
    var_of: HashMap<VarId, u32>,
    vars: Vec<String>,
    regs: u32,
    plots: Vec<String>,
    code: Vec<Inst>,
    /// The register holding each series' value on this bar, once stored. Series updates all sit
    /// in the top-level statement list, so the register dominates every later read.
    present: HashMap<SeriesId, Reg>,
    /// Nesting inside `if` branches and loop bodies.
    depth: u32,
    /// Per enclosing loop, innermost last: the jumps of its `break`s and `continue`s, patched
    /// once the loop's end and step are placed.
    loops: Vec<(Vec<usize>, Vec<usize>)>,
}

impl Lower<'_> {
    fn reg(&mut self) -> Reg {
        self.regs += 1;
        self.regs - 1
    }

    fn var(&mut self, v: VarId) -> u32 {
        if let Some(&i) = self.var_of.get(&v) {
            return i;
        }
        let i = self.vars.len() as u32;
        self.vars.push(self.p.vars[v].name.clone());
        self.var_of.insert(v, i);
        i
    }

    fn here(&self) -> u32 {
        self.code.len() as u32
    }

    fn patch(&mut self, at: usize, to: u32) {
        match &mut self.code[at] {
            Inst::Jump { target } | Inst::BranchFalse { target, .. } => *target = to,
            _ => unreachable!("only jumps are patched"),
        }
    }

    /// Statements inside an `if` branch or a loop body: registers defined there do not dominate
    /// the code after, so no present value is recorded from them.
    fn nested(&mut self, stmts: &[EStmt]) {
        self.depth += 1;
        self.stmts(stmts);
        self.depth -= 1;
    }

    fn stmts(&mut self, stmts: &[EStmt]) {
        let mut at = 0;
        while at < stmts.len() {
            match self.clock_of(&stmts[at]) {
                // Consecutive series of one feed's clock: one guard for them all.
                Some(clock) => {
                    let run = stmts[at..]
                        .iter()
                        .take_while(|s| self.clock_of(s) == Some(clock))
                        .count();
                    self.clocked(clock, &stmts[at..at + run]);
                    at += run;
                }
                None => {
                    self.stmt(&stmts[at]);
                    at += 1;
                }
            }
        }
    }

    /// The clock of a series update of a clock other than the step clock.
    fn clock_of(&self, s: &EStmt) -> Option<u32> {
        match s {
            EStmt::Series(s) => self.p.clock.get(*s).copied().filter(|&c| c != 0),
            _ => None,
        }
    }

    /// Series of clock `clock`: updated only on the steps it ticks. Registers computed here do
    /// not dominate later code, so no present value is recorded from them.
    fn clocked(&mut self, clock: u32, series: &[EStmt]) {
        let cond = self.reg();
        self.code.push(Inst::Tick { dst: cond, clock });
        let branch = self.code.len();
        self.code.push(Inst::BranchFalse { cond, target: 0 });
        self.depth += 1;
        for s in series {
            if let EStmt::Series(s) = s
                && let Some(def) = self.p.series[*s].def
            {
                let r = self.node(def);
                let slot = self.slot_of[s];
                self.code.push(Inst::Store { slot, src: r });
            }
        }
        self.depth -= 1;
        let end = self.here();
        self.patch(branch, end);
    }

    fn stmt(&mut self, s: &EStmt) {
        match s {
            EStmt::Series(s) => {
                if let Some(def) = self.p.series[*s].def {
                    let r = self.node(def);
                    let slot = self.slot_of[s];
                    self.code.push(Inst::Store { slot, src: r });
                    self.present.insert(*s, r);
                }
            }
            EStmt::Assign(v, n) => {
                let r = self.node(*n);
                let var = self.var(*v);
                self.code.push(Inst::SetVar { var, src: r });
            }
            EStmt::If(c, t, f) => {
                let cond = self.node(*c);
                let branch = self.code.len();
                self.code.push(Inst::BranchFalse { cond, target: 0 });
                self.nested(t);
                if f.is_empty() {
                    let end = self.here();
                    self.patch(branch, end);
                } else {
                    let jump = self.code.len();
                    self.code.push(Inst::Jump { target: 0 });
                    let else_start = self.here();
                    self.patch(branch, else_start);
                    self.nested(f);
                    let end = self.here();
                    self.patch(jump, end);
                }
            }
            EStmt::For(v, lo, hi, body) => {
                let var = self.var(*v);
                let start = self.reg();
                self.code.push(Inst::Const {
                    dst: start,
                    value: *lo as f64,
                });
                self.code.push(Inst::SetVar { var, src: start });
                let head = self.here();
                let i = self.reg();
                self.code.push(Inst::GetVar { dst: i, var });
                let limit = self.reg();
                self.code.push(Inst::Const {
                    dst: limit,
                    value: *hi as f64,
                });
                let cond = self.reg();
                self.code.push(Inst::Binary {
                    dst: cond,
                    op: BinOp::Lt,
                    a: i,
                    b: limit,
                });
                let exit = self.code.len();
                self.code.push(Inst::BranchFalse { cond, target: 0 });
                self.loops.push((Vec::new(), Vec::new()));
                self.nested(body);
                let (breaks, continues) = self.loops.pop().unwrap_or_default();
                let step = self.here();
                for at in continues {
                    self.patch(at, step);
                }
                let i2 = self.reg();
                self.code.push(Inst::GetVar { dst: i2, var });
                let one = self.reg();
                self.code.push(Inst::Const {
                    dst: one,
                    value: 1.0,
                });
                let next = self.reg();
                self.code.push(Inst::Binary {
                    dst: next,
                    op: BinOp::Add,
                    a: i2,
                    b: one,
                });
                self.code.push(Inst::SetVar { var, src: next });
                self.code.push(Inst::Jump { target: head });
                let end = self.here();
                self.patch(exit, end);
                for at in breaks {
                    self.patch(at, end);
                }
            }
            EStmt::Break | EStmt::Continue => {
                let at = self.code.len();
                self.code.push(Inst::Jump { target: 0 });
                if let Some((breaks, continues)) = self.loops.last_mut() {
                    if matches!(s, EStmt::Break) {
                        breaks.push(at);
                    } else {
                        continues.push(at);
                    }
                }
            }
            EStmt::Action(action, nodes, _, name, feed) => {
                let mut args = [0; 4];
                for (slot, n) in args.iter_mut().zip(nodes) {
                    *slot = self.node(*n);
                }
                self.code.push(Inst::Order {
                    action: *action,
                    args,
                    argc: nodes.len().min(4) as u8,
                    name: *name,
                    symbol: self.p.symbol_of(*feed).unwrap_or(0),
                });
            }
            EStmt::Plot(n, name) => {
                let src = self.node(*n);
                let index = self.plots.len() as u32;
                self.plots.push(name.clone());
                self.code.push(Inst::Plot { index, src });
            }
        }
    }

    /// Code computing a node into a fresh register.
    fn node(&mut self, n: NodeId) -> Reg {
        let dst;
        let inst = match &self.p.nodes[n] {
            Node::Const(v) => {
                dst = self.reg();
                Inst::Const { dst, value: *v }
            }
            Node::Read(s) if self.present.contains_key(s) => return self.present[s],
            Node::Read(s) => {
                dst = self.reg();
                if self.depth == 0 {
                    // An input's value, loaded once at the top level, serves every later read.
                    self.present.insert(*s, dst);
                }
                Inst::Load {
                    dst,
                    slot: self.slot_of[s],
                    back: Back::Imm(0),
                }
            }
            Node::History(s, idx) => {
                let slot = self.slot_of[s];
                let back = match self.p.nodes[*idx] {
                    Node::Const(k) if k.is_finite() && k >= 0.0 && k.fract() == 0.0 => {
                        Back::Imm(k as u32)
                    }
                    _ => Back::Reg(self.node(*idx)),
                };
                dst = self.reg();
                Inst::Load { dst, slot, back }
            }
            Node::Var(v) => {
                let var = self.var(*v);
                dst = self.reg();
                Inst::GetVar { dst, var }
            }
            Node::Unary(op, a) => {
                let a = self.node(*a);
                dst = self.reg();
                Inst::Unary { dst, op: *op, a }
            }
            Node::Binary(op, a, b) => {
                let a = self.node(*a);
                let b = self.node(*b);
                dst = self.reg();
                Inst::Binary { dst, op: *op, a, b }
            }
            Node::Builtin(f, args) => {
                let a = args.first().map(|&a| self.node(a));
                let b = args.get(1).map(|&b| self.node(b));
                dst = self.reg();
                let a = a.unwrap_or(dst);
                Inst::Call {
                    dst,
                    f: *f,
                    a,
                    b: b.unwrap_or(a),
                    argc: args.len().min(2) as u8,
                }
            }
            Node::Fill(field, name) => {
                dst = self.reg();
                Inst::Fill {
                    dst,
                    field: *field,
                    name: *name,
                }
            }
            Node::If(c, a, b) => {
                let cond = self.node(*c);
                let a = self.node(*a);
                let b = self.node(*b);
                dst = self.reg();
                Inst::Select { dst, cond, a, b }
            }
            Node::WindowSum(k, new, old) => {
                let new = self.node(*new);
                let old = self.node(*old);
                dst = self.reg();
                Inst::WindowSum {
                    dst,
                    state: self.sums + k * crate::exact::STATE as u32,
                    new,
                    old,
                }
            }
        };
        self.code.push(inst);
        dst
    }
}
