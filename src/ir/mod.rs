//! The lowered per-bar program: flat, register-based, with explicit ring-buffer slots.
//!
//! Contract: a [`BarProgram`] is what both engines run once per bar: the reference interpreter
//! (`crate::interp`) and the Cranelift JIT. It is a flat instruction list over `f64` registers and
//! `mut` variables; control flow is `Jump`/`BranchFalse` to instruction indices (only for statement
//! `if`s and `for` loops; value-level `if` is a `Select`). Each series owns a ring-buffer slot of
//! exactly `lookback + 1` values (the capacities `btl mem` reports); a `Load` reads `k` bars back and
//! never needs a bounds check beyond `k <= lookback`, which lowering guarantees for immediates and
//! elaboration proved for register indices (a NaN index reads `na`). Slots start filled with NaN,
//! so reading before the first bar gives `na` without a bar count.
//!
//! The engine loop, not the program, advances every slot's head at the start of a bar (a slot of
//! at most [`Slot::SHIFT_MAX`] values is a shift register instead: see
//! `crate::runtime::machine::Machine`) and stores the inputs (`close`, `position`, ...) into their
//! slots before the program runs.

pub mod lower;
pub mod print;

use crate::sema::builtins::{Builtin, FillField, Input};
use crate::sema::elab::Action;
use crate::syntax::ast::{BinOp, UnOp};

pub type Reg = u32;

/// How far back a `Load` reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Back {
    /// A constant, at most the slot's lookback.
    Imm(u32),
    /// A register holding an integral value proven in `0..=lookback`, or NaN.
    Reg(Reg),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Inst {
    Const {
        dst: Reg,
        value: f64,
    },
    Load {
        dst: Reg,
        slot: u32,
        back: Back,
    },
    /// Writes the slot's value for this bar.
    Store {
        slot: u32,
        src: Reg,
    },
    GetVar {
        dst: Reg,
        var: u32,
    },
    SetVar {
        var: u32,
        src: Reg,
    },
    Unary {
        dst: Reg,
        op: UnOp,
        a: Reg,
    },
    Binary {
        dst: Reg,
        op: BinOp,
        a: Reg,
        b: Reg,
    },
    /// A pure built-in with one or two arguments (`b` unused for one).
    Call {
        dst: Reg,
        f: Builtin,
        a: Reg,
        b: Reg,
        argc: u8,
    },
    /// `dst = if truthy(cond) { a } else { b }`.
    Select {
        dst: Reg,
        cond: Reg,
        a: Reg,
        b: Reg,
    },
    Jump {
        target: u32,
    },
    /// Jumps unless `cond` is truthy (1.0); `na` counts as false.
    BranchFalse {
        cond: Reg,
        target: u32,
    },
    /// An order with its arguments (quantity, prices, bars): the first `argc` of `args`; its
    /// name is a number of `BarProgram::order_names`.
    Order {
        action: Action,
        args: [Reg; 4],
        argc: u8,
        name: Option<u32>,
    },
    /// `dst` = the named order's fill as `field` reads it on this bar (from the account view).
    Fill {
        dst: Reg,
        field: FillField,
        name: u32,
    },
    Plot {
        index: u32,
        src: Reg,
    },
    /// One bar of an exact window sum whose state is the `exact::STATE` buffer values from
    /// `state`: `new` enters the window, `old` leaves it; `dst` = the sum (see `exact::step`).
    WindowSum {
        dst: Reg,
        state: u32,
        new: Reg,
        old: Reg,
    },
}

/// A ring-buffer slot.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub name: String,
    /// Values held: lookback + 1.
    pub capacity: u32,
    /// Offset of the slot's first value in the one buffer array.
    pub offset: u32,
    /// The input stored into this slot by the engine loop, if any.
    pub input: Option<Input>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct BarProgram {
    pub name: String,
    pub slots: Vec<Slot>,
    /// Sum of capacities: the length of the buffer array.
    pub buffer_len: u32,
    pub vars: Vec<String>,
    pub regs: u32,
    pub plots: Vec<String>,
    /// `hline` levels and the plot whose pane each goes on (`None`: the price pane).
    pub hlines: Vec<(f64, Option<String>)>,
    /// Where each exact window sum's state starts in the buffer (zeros before the first bar).
    pub window_sums: Vec<u32>,
    pub code: Vec<Inst>,
    /// The names of named orders (`Inst::Order::name` and `Inst::Fill::name` index it).
    pub order_names: Vec<String>,
    /// The first bar on which orders are placed; `None`: never.
    pub warmup: Option<u64>,
}

impl Slot {
    /// The largest capacity kept as a shift register rather than a ring (see
    /// `crate::runtime::machine::Machine`): moving three values costs less than a head.
    pub const SHIFT_MAX: u32 = 4;

    pub fn is_shift(&self) -> bool {
        self.capacity <= Slot::SHIFT_MAX
    }
}

impl BarProgram {
    /// Bytes of ring buffers (what `btl mem` reports as the total).
    pub fn buffer_bytes(&self) -> u64 {
        u64::from(self.buffer_len) * 8
    }

    /// The slot of an input, if the program reads it.
    pub fn input_slot(&self, input: Input) -> Option<u32> {
        self.slots
            .iter()
            .position(|s| s.input == Some(input))
            .map(|i| i as u32)
    }
}
