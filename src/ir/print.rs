//! The text form of a [`BarProgram`] (`btl run --emit ir`).

use std::fmt::Write;

use super::{Back, BarProgram, Inst};

pub fn print(p: &BarProgram) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "program {} (warm-up {})",
        p.name,
        p.warmup.map_or("never".to_string(), |w| format!("bar {w}"))
    );
    for (i, slot) in p.slots.iter().enumerate() {
        let input = slot
            .input
            .map(|i| format!(" <- {}", i.name()))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  slot s{i} `{}` capacity {} at {}{input}",
            slot.name, slot.capacity, slot.offset
        );
    }
    for (i, v) in p.vars.iter().enumerate() {
        let _ = writeln!(s, "  var v{i} `{v}`");
    }
    for (i, name) in p.plots.iter().enumerate() {
        let _ = writeln!(s, "  plot p{i} \"{name}\"");
    }
    let _ = writeln!(
        s,
        "  buffers {} values ({} bytes), {} registers",
        p.buffer_len,
        p.buffer_bytes(),
        p.regs
    );
    for (pc, inst) in p.code.iter().enumerate() {
        let _ = write!(s, "{pc:>5}  ");
        let _ = match inst {
            Inst::Const { dst, value } => writeln!(s, "r{dst} = const {value:?}"),
            Inst::Load {
                dst,
                slot,
                back: Back::Imm(k),
            } => writeln!(s, "r{dst} = load s{slot}[{k}]"),
            Inst::Load {
                dst,
                slot,
                back: Back::Reg(r),
            } => writeln!(s, "r{dst} = load s{slot}[r{r}]"),
            Inst::Store { slot, src } => writeln!(s, "store s{slot} r{src}"),
            Inst::Tick { dst, clock } => writeln!(s, "r{dst} = ticked c{clock}"),
            Inst::GetVar { dst, var } => writeln!(s, "r{dst} = get v{var}"),
            Inst::SetVar { var, src } => writeln!(s, "set v{var} r{src}"),
            Inst::Unary { dst, op, a } => writeln!(s, "r{dst} = {op:?} r{a}"),
            Inst::Binary { dst, op, a, b } => writeln!(s, "r{dst} = r{a} {} r{b}", op.as_str()),
            Inst::Call { dst, f, a, b, argc } => match argc {
                0 => writeln!(s, "r{dst} = {}()", f.name()),
                1 => writeln!(s, "r{dst} = {}(r{a})", f.name()),
                _ => writeln!(s, "r{dst} = {}(r{a}, r{b})", f.name()),
            },
            Inst::Select { dst, cond, a, b } => writeln!(s, "r{dst} = select r{cond} r{a} r{b}"),
            Inst::Jump { target } => writeln!(s, "jump {target}"),
            Inst::BranchFalse { cond, target } => writeln!(s, "unless r{cond} jump {target}"),
            Inst::Order {
                action,
                args,
                argc,
                name,
                symbol,
            } => {
                let mut regs: Vec<String> = args[..*argc as usize]
                    .iter()
                    .map(|r| format!("r{r}"))
                    .collect();
                if let Some(n) = name {
                    regs.push(format!("{:?}", p.order_names[*n as usize]));
                }
                let on = match symbol {
                    0 => String::new(),
                    k => format!(" on symbol {k}"),
                };
                writeln!(s, "order {action:?}({}){on}", regs.join(", "))
            }
            Inst::Fill { dst, field, name } => writeln!(
                s,
                "r{dst} = fill {field:?} of {:?}",
                p.order_names[*name as usize]
            ),
            Inst::Plot { index, src } => writeln!(s, "plot p{index} r{src}"),
            Inst::WindowSum {
                dst,
                state,
                new,
                old,
            } => writeln!(s, "r{dst} = window_sum @{state} +r{new} -r{old}"),
        };
    }
    s
}
