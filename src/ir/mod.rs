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
        /// The symbol traded (0: the primary feed).
        symbol: u32,
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
    /// `dst` = 1 when `clock` ticked on this step, else 0 (read from the step's frame).
    Tick {
        dst: Reg,
        clock: u32,
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
    /// The input stored into this slot by the engine loop from the step's bar or the account,
    /// if any.
    pub input: Option<Input>,
    /// The clock whose ticks advance the slot (0: every step).
    pub clock: u32,
    /// The position in the step's frame of the value the engine loop stores into this slot
    /// (an input of a feed with its own clock), if any.
    pub frame: Option<u32>,
    /// For `position` and `entry_price`: the symbol whose value it is.
    pub symbol: u32,
}

/// Values per clock in a step's frame: whether it ticked, then its feed's bar.
pub const FRAME_STRIDE: u32 = 8;

/// Where in a clock's part of the frame an input of its feed is (after the tick flag).
pub fn frame_field(i: Input) -> Option<u32> {
    Some(match i {
        Input::Open => 1,
        Input::High => 2,
        Input::Low => 3,
        Input::Close => 4,
        Input::Volume => 5,
        Input::Time => 6,
        Input::BarIndex => 7,
        _ => return None,
    })
}

/// The frame position of clock `clock`'s tick flag (`clock` ≥ 1).
pub fn tick_at(clock: u32) -> usize {
    ((clock - 1) * FRAME_STRIDE) as usize
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
    /// The feeds (0: the primary) with their clocks.
    pub feeds: Vec<crate::sema::elab::FeedDef>,
    /// Values in each step's frame: `FRAME_STRIDE` per clock other than the step clock (0 when
    /// the program has one clock: the engine passes no frame).
    pub frame_len: u32,
    /// Per symbol (the data feeds: 0 the primary, then the declared ones), its feed's clock;
    /// its broker acts only on the steps it ticks.
    pub symbols: Vec<u32>,
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
    /// Whether clock `clock` ticked on the step whose frame is `frame` (the step clock always).
    #[inline]
    pub fn ticked(clock: u32, frame: &[f64]) -> bool {
        clock == 0 || frame.get(tick_at(clock)).is_some_and(|&t| t != 0.0)
    }

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
