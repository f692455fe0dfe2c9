//! The memory a [`BarProgram`] runs on: one buffer array holding every ring-buffer slot, a head per
//! slot, the `mut` variables and the registers; and the [`Host`] interface through which a
//! running program reaches the broker and the sink.
//!
//! Contract: both engines use this layout unchanged (the JIT reads and writes the same arrays).
//! Memory is allocated once, in [`Machine::new`], and never grows: its size is the program's
//! buffer length, known before the run.

use crate::ir::{BarProgram, Slot};
use crate::runtime::feed::Bar;
use crate::sema::builtins::{FillField, MAX_ORDER_NAMES};
use crate::sema::elab::Action;

/// The account as the program sees it, refreshed after every call that may change the broker.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccountView {
    /// Signed quantity held.
    pub position: f64,
    pub cash: f64,
    /// The average entry price of the open position; NaN when flat.
    pub entry_price: f64,
    /// Orders waiting at the broker (a count, as the `pending_orders` input reads it).
    pub pending: f64,
    /// Per order name, its last fill (on any symbol).
    pub fills: [FillView; MAX_ORDER_NAMES],
    /// Per symbol (0: the primary feed, then the other data feeds), its position and its
    /// average entry price (NaN when flat).
    pub positions: [f64; MAX_SYMBOLS],
    pub entry_prices: [f64; MAX_SYMBOLS],
}

/// The most data feeds (symbols) a program may trade.
pub const MAX_SYMBOLS: usize = 16;

/// The last fill of a named order, as the strategy reads it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FillView {
    /// The bar on which the strategy sees the fill (NaN: never filled).
    pub bar: f64,
    /// Signed quantity filled.
    pub qty: f64,
    pub price: f64,
}

impl FillView {
    pub const NONE: FillView = FillView {
        bar: f64::NAN,
        qty: f64::NAN,
        price: f64::NAN,
    };

    /// `filled`, `fill_qty` or `fill_price` on bar `bar` (the last two `na` unless it filled then).
    pub fn read(&self, field: FillField, bar: u64) -> f64 {
        let now = self.bar == bar as f64;
        match field {
            FillField::Filled => crate::value::bool_val(now),
            FillField::Qty if now => self.qty,
            FillField::Price if now => self.price,
            _ => f64::NAN,
        }
    }
}

/// What a run asks of every bar, fixed for the whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunFlags {
    /// Market orders fill at the close of the bar they are placed on.
    pub fill_on_close: bool,
    /// The sink sees every bar's end ([`Host::end_bar`]).
    pub wants_bars: bool,
}

/// What a running program asks of the world: the steps of the bar protocol that belong to the
/// broker and the sink (`crate::runtime::engine` defines the protocol).
pub trait Host {
    /// Step 1: the broker tries its pending orders against bar `bar` (each symbol whose feed has
    /// a bar in `frame`, the step's frame).
    fn open_bar(&mut self, bar: u64, b: &Bar, frame: &[f64]);
    /// An order action on bar `bar` with its arguments (quantity, prices, bars), its name and
    /// the symbol it trades.
    #[allow(clippy::too_many_arguments)]
    fn order(
        &mut self,
        bar: u64,
        b: &Bar,
        frame: &[f64],
        action: Action,
        args: &[f64],
        name: Option<u32>,
        symbol: u32,
    );
    /// A plotted value on bar `bar`.
    fn plot(&mut self, bar: u64, index: u32, value: f64);
    /// Step 4: fill-on-close market orders fill at the close of bar `bar`.
    fn close_bar(&mut self, bar: u64, b: &Bar, frame: &[f64]);
    /// Step 5: the end of bar `bar`, with equity marked at its close.
    fn end_bar(&mut self, bar: u64, b: &Bar, value: f64);
    fn account(&self) -> AccountView;
    fn flags(&self) -> RunFlags;
}

/// A slot is either a ring (a head moves each bar; the value `k` bars back is `k` positions
/// before the head, wrapping) or, when it holds at most [`Slot::SHIFT_MAX`] values, a shift
/// register (each bar its values move one position up; the value `k` bars back is at position
/// `k`, and no head is kept). Either way it holds exactly its capacity.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Every slot's values, slot after slot; NaN until written.
    pub buf: Vec<f64>,
    /// Per slot, the position written on the current bar (always 0 for a shift register).
    pub heads: Vec<u32>,
    pub vars: Vec<f64>,
    pub regs: Vec<f64>,
}

impl Machine {
    pub fn new(p: &BarProgram) -> Machine {
        let mut buf = vec![f64::NAN; p.buffer_len as usize];
        // An exact window sum starts empty: its state is zeros (see `exact`).
        for &at in &p.window_sums {
            let at = at as usize;
            if let Some(state) = buf.get_mut(at..at + crate::exact::STATE) {
                state.fill(0.0);
            }
        }
        Machine {
            buf,
            // The first `advance` moves every ring's head to 0.
            heads: p
                .slots
                .iter()
                .map(|s| if s.is_shift() { 0 } else { s.capacity - 1 })
                .collect(),
            vars: vec![f64::NAN; p.vars.len()],
            regs: vec![f64::NAN; p.regs as usize],
        }
    }

    /// Starts a bar: every ring's head moves to the position of the new value; every shift
    /// register's values move up one position.
    #[inline]
    pub fn advance(&mut self, p: &BarProgram) {
        for (head, slot) in self.heads.iter_mut().zip(&p.slots) {
            advance_slot(&mut self.buf, head, slot);
        }
    }

    /// Starts a step of a program with several clocks: only the slots whose clock ticked in
    /// `frame` advance (the others hold their values).
    pub fn advance_ticked(&mut self, p: &BarProgram, frame: &[f64]) {
        for (head, slot) in self.heads.iter_mut().zip(&p.slots) {
            if BarProgram::ticked(slot.clock, frame) {
                advance_slot(&mut self.buf, head, slot);
            }
        }
    }

    #[inline]
    pub fn store(&mut self, slot: &Slot, index: usize, value: f64) {
        let head = self.heads[index];
        self.buf[(slot.offset + head) as usize] = value;
    }

    /// The value `back` bars ago (`back <= capacity - 1`).
    #[inline]
    pub fn load(&self, slot: &Slot, index: usize, back: u32) -> f64 {
        let head = self.heads[index];
        let pos = if slot.is_shift() {
            back
        } else if head >= back {
            head - back
        } else {
            head + slot.capacity - back
        };
        self.buf[(slot.offset + pos) as usize]
    }
}

/// One slot's step: a ring's head moves on; a shift register's values move up one position.
#[inline]
fn advance_slot(buf: &mut [f64], head: &mut u32, slot: &Slot) {
    if slot.is_shift() {
        // At most three values: moved one by one (a `copy_within` call costs more).
        let at = slot.offset as usize;
        for k in (at + 1..at + slot.capacity as usize).rev() {
            buf[k] = buf[k - 1];
        }
    } else {
        *head = if *head + 1 == slot.capacity {
            0
        } else {
            *head + 1
        };
    }
}
