//! The memory a [`BarProgram`] runs on: one buffer array holding every ring-buffer slot, a head per
//! slot, the `mut` variables and the registers; and the [`Host`] interface through which a
//! program places orders and records plots.
//!
//! Contract: both engines use this layout unchanged (the JIT reads and writes the same arrays).
//! Memory is allocated once, in [`Machine::new`], and never grows: its size is the program's
//! buffer length, known before the run.

use crate::ir::{BarProgram, Slot};
use crate::sema::elab::Action;

/// What a running program asks of the world.
pub trait Host {
    /// An order action on this bar with its arguments (quantity, prices, bars).
    fn order(&mut self, action: Action, args: &[f64]);
    /// A plotted value on this bar.
    fn plot(&mut self, index: u32, value: f64);
}

#[derive(Debug, Clone)]
pub struct Machine {
    /// Every slot's values, slot after slot; NaN until written.
    pub buf: Vec<f64>,
    /// Per slot, the position written on the current bar.
    pub heads: Vec<u32>,
    pub vars: Vec<f64>,
    pub regs: Vec<f64>,
}

impl Machine {
    pub fn new(p: &BarProgram) -> Machine {
        Machine {
            buf: vec![f64::NAN; p.buffer_len as usize],
            // The first `advance` moves every head to 0.
            heads: p.slots.iter().map(|s| s.capacity - 1).collect(),
            vars: vec![f64::NAN; p.vars.len()],
            regs: vec![f64::NAN; p.regs as usize],
        }
    }

    /// Starts a bar: every slot's head moves to the position of the new value.
    #[inline]
    pub fn advance(&mut self, p: &BarProgram) {
        for (head, slot) in self.heads.iter_mut().zip(&p.slots) {
            *head = if *head + 1 == slot.capacity {
                0
            } else {
                *head + 1
            };
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
        let pos = if head >= back {
            head - back
        } else {
            head + slot.capacity - back
        };
        self.buf[(slot.offset + pos) as usize]
    }
}
