//! The reference interpreter of the bar IR: the oracle the JIT must agree with bit for bit.
//!
//! Contract: [`step`] runs one bar of a [`BarProgram`] on a [`Machine`] (step 3 of the bar
//! protocol of `crate::runtime::engine`), calling the [`Host`] for orders and plots. Every
//! operation's value comes from `crate::value`, the one definition of the run-time semantics.
//! It never panics on a program produced by lowering: loads are within their
//! slot by construction, and a register index that is NaN or out of range reads `na`.

use crate::ir::{Back, BarProgram, Inst};
use crate::runtime::feed::Bar;
use crate::runtime::machine::{Host, Machine};
use crate::value;

/// Runs the program once, for the current bar; `frame` is the step's frame (the feeds with
/// their own clocks; empty for a program with one clock).
pub fn step(
    p: &BarProgram,
    m: &mut Machine,
    bar: u64,
    b: &Bar,
    frame: &[f64],
    host: &mut dyn Host,
) {
    let mut pc = 0usize;
    let code = &p.code;
    while let Some(inst) = code.get(pc) {
        pc += 1;
        match *inst {
            Inst::Const { dst, value } => m.regs[dst as usize] = value,
            Inst::Load { dst, slot, back } => {
                let s = &p.slots[slot as usize];
                let k = match back {
                    Back::Imm(k) => Some(k),
                    Back::Reg(r) => {
                        let v = m.regs[r as usize];
                        (v >= 0.0 && v < s.capacity as f64).then_some(v as u32)
                    }
                };
                m.regs[dst as usize] = match k {
                    Some(k) => m.load(s, slot as usize, k),
                    None => value::NA,
                };
            }
            Inst::Store { slot, src } => {
                let v = m.regs[src as usize];
                m.store(&p.slots[slot as usize], slot as usize, v);
            }
            Inst::GetVar { dst, var } => m.regs[dst as usize] = m.vars[var as usize],
            Inst::SetVar { var, src } => m.vars[var as usize] = m.regs[src as usize],
            Inst::Unary { dst, op, a } => {
                m.regs[dst as usize] = value::unary(op, m.regs[a as usize])
            }
            Inst::Binary { dst, op, a, b } => {
                m.regs[dst as usize] = value::binary(op, m.regs[a as usize], m.regs[b as usize])
            }
            Inst::Call { dst, f, a, b, argc } => {
                let args = [m.regs[a as usize], m.regs[b as usize]];
                m.regs[dst as usize] = value::builtin(f, &args[..argc as usize]);
            }
            Inst::Select { dst, cond, a, b } => {
                let c = m.regs[cond as usize];
                m.regs[dst as usize] = if value::truthy(c) {
                    m.regs[a as usize]
                } else {
                    m.regs[b as usize]
                };
            }
            Inst::Jump { target } => pc = target as usize,
            Inst::BranchFalse { cond, target } => {
                if !value::truthy(m.regs[cond as usize]) {
                    pc = target as usize;
                }
            }
            Inst::Order {
                action,
                args,
                argc,
                name,
                symbol,
            } => {
                // Only the first `argc` registers exist for sure (an order with no argument may
                // be the whole program, with no register at all).
                let values: [f64; 4] = std::array::from_fn(|i| {
                    if i < argc as usize {
                        m.regs[args[i] as usize]
                    } else {
                        value::NA
                    }
                });
                host.order(
                    bar,
                    b,
                    frame,
                    action,
                    &values[..argc as usize],
                    name,
                    symbol,
                );
            }
            Inst::Fill { dst, field, name } => {
                let fills = host.account().fills;
                m.regs[dst as usize] = fills[name as usize].read(field, bar);
            }
            Inst::Plot { index, src } => host.plot(bar, index, m.regs[src as usize]),
            Inst::Tick { dst, clock } => {
                m.regs[dst as usize] = value::bool_val(BarProgram::ticked(clock, frame))
            }
            Inst::WindowSum {
                dst,
                state,
                new,
                old,
            } => {
                let (new, old) = (m.regs[new as usize], m.regs[old as usize]);
                let at = state as usize;
                m.regs[dst as usize] = match m.buf.get_mut(at..at + crate::exact::STATE) {
                    Some(cells) => crate::exact::step(cells, new, old),
                    None => value::NA,
                };
            }
        }
    }
}
