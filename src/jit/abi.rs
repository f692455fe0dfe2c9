//! The JIT's ABI: the context struct compiled code receives, the host functions it may call, and
//! the call into compiled code. Every `unsafe` block of btl is in this file.
//!
//! Contract: compiled code has the signature `extern "C" fn(*mut JitCtx) -> i32`, runs the bar
//! protocol on every bar of the batch in the context, and returns 0, or the non-zero status a
//! host function returned (the batch stops there). Host functions are `extern "C"`, registered
//! from the one table [`HOST_FUNCTIONS`]; they never unwind into JIT frames: a panic inside the
//! host is caught, recorded in the [`HostCell`], and reported as status 1. After every call into
//! the host they refresh the account view in the context, which is all compiled code knows of
//! the broker.
//!
//! Plots and bar ends, which only the sink sees, are not calls: compiled code appends them to the
//! sink log ([`LogEntry`]), which is replayed to the host, in order, before every host call and at
//! the end of the batch, so the sink receives exactly the sequence of events the interpreter
//! gives it.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::runtime::engine::LoopState;
use crate::runtime::feed::Bar;
use crate::runtime::machine::{AccountView, Host, Machine};
use crate::sema::elab::Action;

/// What compiled code receives: raw views of the machine's arrays, the batch, the loop state and
/// the host.
#[repr(C)]
pub struct JitCtx {
    pub buf: *mut f64,
    pub heads: *mut u32,
    pub vars: *mut f64,
    pub host: *mut HostCell<'static>,
    pub bars: *const Bar,
    pub n: u64,
    /// The index of the batch's first bar.
    pub first: u64,
    /// Read at the start of the batch, written back at its end.
    pub state: LoopState,
    /// Written by the host functions, read by compiled code.
    pub account: AccountView,
    /// `RunFlags` as integers (0 or 1).
    pub fill_on_close: u32,
    pub wants_bars: u32,
    /// The status of the last effect call (compiled code calls effects through trampolines that
    /// leave it here).
    pub status: i32,
    /// The sink log: `log_len` entries written, room for `log_cap`.
    pub log: *mut LogEntry,
    pub log_len: u64,
    pub log_cap: u64,
    /// The batch's frames: `frame_len` values per bar (none for one clock).
    pub frames: *const f64,
    pub frame_len: u64,
}

/// A plot or a bar end, waiting in the sink log.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LogEntry {
    /// The plot's index, or [`LogEntry::END_BAR`].
    pub index: u32,
    pub bar: u64,
    /// The plotted value, or the equity marked at the bar's close.
    pub value: f64,
}

impl LogEntry {
    pub const END_BAR: u32 = u32::MAX;
    /// Entries in the log compiled code writes into (a fixed size: memory stays constant).
    pub const CAPACITY: usize = 4096;
}

/// The host behind a thin pointer, and the first error a host call met.
pub struct HostCell<'a> {
    pub host: &'a mut dyn Host,
    pub error: Option<String>,
}

pub const STATUS_HOST_PANIC: i32 = 1;

/// The name argument of `btl_order` for an order without a name.
pub const NO_NAME: u32 = u32::MAX;

/// Byte offsets of `JitCtx` fields, for the code generator.
pub mod offset {
    use super::JitCtx;
    use crate::runtime::engine::LoopState;
    use crate::runtime::feed::Bar;
    use crate::runtime::machine::AccountView;
    use std::mem::offset_of;

    pub const BUF: i32 = offset_of!(JitCtx, buf) as i32;
    pub const HEADS: i32 = offset_of!(JitCtx, heads) as i32;
    pub const VARS: i32 = offset_of!(JitCtx, vars) as i32;
    pub const BARS: i32 = offset_of!(JitCtx, bars) as i32;
    pub const FRAMES: i32 = offset_of!(JitCtx, frames) as i32;
    pub const N: i32 = offset_of!(JitCtx, n) as i32;
    const STATE: usize = offset_of!(JitCtx, state);
    pub const BAR: i32 = (STATE + offset_of!(LoopState, bar)) as i32;
    pub const PEAK: i32 = (STATE + offset_of!(LoopState, peak)) as i32;
    pub const MAX_DD: i32 = (STATE + offset_of!(LoopState, max_dd)) as i32;
    pub const VALUE: i32 = (STATE + offset_of!(LoopState, value)) as i32;
    const ACCOUNT: usize = offset_of!(JitCtx, account);
    pub const POSITIONS: i32 = (ACCOUNT + offset_of!(AccountView, positions)) as i32;
    pub const ENTRY_PRICES: i32 = (ACCOUNT + offset_of!(AccountView, entry_prices)) as i32;
    pub const POSITION: i32 = (ACCOUNT + offset_of!(AccountView, position)) as i32;
    pub const CASH: i32 = (ACCOUNT + offset_of!(AccountView, cash)) as i32;
    pub const ENTRY_PRICE: i32 = (ACCOUNT + offset_of!(AccountView, entry_price)) as i32;
    pub const PENDING: i32 = (ACCOUNT + offset_of!(AccountView, pending)) as i32;
    pub const FILLS: i32 = (ACCOUNT + offset_of!(AccountView, fills)) as i32;
    pub const FILL_SIZE: i32 = size_of::<crate::runtime::machine::FillView>() as i32;
    pub const FILL_BAR: i32 = offset_of!(crate::runtime::machine::FillView, bar) as i32;
    pub const FILL_QTY: i32 = offset_of!(crate::runtime::machine::FillView, qty) as i32;
    pub const FILL_PRICE: i32 = offset_of!(crate::runtime::machine::FillView, price) as i32;
    pub const FILL_ON_CLOSE: i32 = offset_of!(JitCtx, fill_on_close) as i32;
    pub const WANTS_BARS: i32 = offset_of!(JitCtx, wants_bars) as i32;
    pub const STATUS: i32 = offset_of!(JitCtx, status) as i32;
    pub const LOG: i32 = offset_of!(JitCtx, log) as i32;
    pub const LOG_LEN: i32 = offset_of!(JitCtx, log_len) as i32;
    pub const LOG_CAP: i32 = offset_of!(JitCtx, log_cap) as i32;
    pub const LOG_ENTRY_SIZE: i64 = size_of::<super::LogEntry>() as i64;
    pub const LOG_INDEX: i32 = offset_of!(super::LogEntry, index) as i32;
    pub const LOG_BAR: i32 = offset_of!(super::LogEntry, bar) as i32;
    pub const LOG_VALUE: i32 = offset_of!(super::LogEntry, value) as i32;

    /// Fields of a [`Bar`].
    pub const BAR_SIZE: i64 = size_of::<Bar>() as i64;
    pub const BAR_TIME: i32 = offset_of!(Bar, time) as i32;
    pub const BAR_OPEN: i32 = offset_of!(Bar, open) as i32;
    pub const BAR_HIGH: i32 = offset_of!(Bar, high) as i32;
    pub const BAR_LOW: i32 = offset_of!(Bar, low) as i32;
    pub const BAR_CLOSE: i32 = offset_of!(Bar, close) as i32;
    pub const BAR_VOLUME: i32 = offset_of!(Bar, volume) as i32;
}

/// Replays the sink log to the host and empties it.
fn replay(ctx: &mut JitCtx, host: &mut dyn Host) {
    let len = std::mem::take(&mut ctx.log_len) as usize;
    if len == 0 {
        return;
    }
    // SAFETY: `log` points to `log_cap` entries owned by the `Jit`, of which compiled code wrote
    // the first `len` (it never writes past `log_cap`); nothing else touches them during the call.
    let log = unsafe { std::slice::from_raw_parts(ctx.log, len) };
    // SAFETY: `bars` and `n` are the batch slice `LoopFn::call` received, alive for the call.
    let bars = unsafe { std::slice::from_raw_parts(ctx.bars, ctx.n as usize) };
    let first = ctx.first;
    for e in log {
        if e.index == LogEntry::END_BAR {
            // Bar ends are logged for bars of this batch only.
            if let Some(b) = bars.get((e.bar - first) as usize) {
                host.end_bar(e.bar, b, e.value);
            }
        } else {
            host.plot(e.bar, e.index, e.value);
        }
    }
}

/// Replays the sink log, then calls `f` on the host behind `ctx`, catching a panic, then
/// refreshes the account view.
fn guarded(ctx: *mut JitCtx, f: impl FnOnce(&mut dyn Host)) -> i32 {
    // SAFETY: `ctx` is the pointer `LoopFn::call` passed to compiled code, which passes it through
    // unchanged: it points to a live `JitCtx` whose `host` points to a live `HostCell`, both
    // borrowed exclusively for the duration of the compiled call. Compiled code is suspended while
    // a host function runs and holds no reference into either, so these are the only ones.
    let (ctx, cell) = unsafe { (&mut *ctx, &mut *(*ctx).host) };
    let status = match catch_unwind(AssertUnwindSafe(|| {
        replay(ctx, &mut *cell.host);
        f(&mut *cell.host)
    })) {
        Ok(()) => 0,
        Err(_) => {
            cell.error
                .get_or_insert_with(|| "a host function panicked".to_string());
            STATUS_HOST_PANIC
        }
    };
    ctx.account = cell.host.account();
    status
}

/// The bar compiled code is on.
fn bar_at<'a>(b: *const Bar) -> &'a Bar {
    // SAFETY: compiled code passes a pointer to an element of the batch `LoopFn::call` received as
    // a slice (index below its length), which outlives the compiled call.
    unsafe { &*b }
}

/// The frame of bar `bar` of the batch (empty for a program with one clock).
fn frame_at<'a>(ctx: *mut JitCtx, bar: u64) -> &'a [f64] {
    // SAFETY: `ctx` is live for the compiled call (see `guarded`); `frames` points to `n`
    // frames of `frame_len` values, the slice `LoopFn::call` received (its length checked
    // there), which outlives the call; `bar - first` is below `n` for a bar of the batch and the
    // slice is empty otherwise.
    unsafe {
        let c = &*ctx;
        let k = bar.wrapping_sub(c.first);
        if c.frame_len == 0 || k >= c.n {
            return &[];
        }
        std::slice::from_raw_parts(
            c.frames.add((k * c.frame_len) as usize),
            c.frame_len as usize,
        )
    }
}

/// Step 1 of the bar protocol: the brokers' turn.
extern "C" fn btl_open_bar(ctx: *mut JitCtx, bar: u64, b: *const Bar) -> i32 {
    let frame = frame_at(ctx, bar);
    guarded(ctx, |h| h.open_bar(bar, bar_at(b), frame))
}

/// The sink log is full: replays it.
extern "C" fn btl_flush(ctx: *mut JitCtx) -> i32 {
    guarded(ctx, |_| {})
}

/// Step 4: fill-on-close.
extern "C" fn btl_close_bar(ctx: *mut JitCtx, bar: u64, b: *const Bar) -> i32 {
    let frame = frame_at(ctx, bar);
    guarded(ctx, |h| h.close_bar(bar, bar_at(b), frame))
}

/// An order: the action's code (with the symbol traded from bit 8 on), how many of the four
/// values are its arguments, its name ([`NO_NAME`] for none), the values.
#[allow(clippy::too_many_arguments)]
extern "C" fn btl_order(
    ctx: *mut JitCtx,
    bar: u64,
    b: *const Bar,
    action: u32,
    argc: u32,
    name: u32,
    x: f64,
    y: f64,
    z: f64,
    w: f64,
) -> i32 {
    let args = [x, y, z, w];
    let frame = frame_at(ctx, bar);
    let symbol = action >> 8;
    guarded(ctx, |h| {
        if let Some(action) = Action::from_code(action & 0xff) {
            let name = (name != NO_NAME).then_some(name);
            h.order(
                bar,
                bar_at(b),
                frame,
                action,
                &args[..(argc as usize).min(4)],
                name,
                symbol,
            );
        }
    })
}

// Pure math without a Cranelift instruction: the same Rust functions the interpreter uses, so
// results agree bit for bit.
extern "C" fn btl_log(x: f64) -> f64 {
    crate::value::builtin(crate::sema::builtins::Builtin::Log, &[x])
}
extern "C" fn btl_exp(x: f64) -> f64 {
    crate::value::builtin(crate::sema::builtins::Builtin::Exp, &[x])
}
extern "C" fn btl_pow(x: f64, y: f64) -> f64 {
    crate::value::builtin(crate::sema::builtins::Builtin::Pow, &[x, y])
}
extern "C" fn btl_round(x: f64) -> f64 {
    crate::value::builtin(crate::sema::builtins::Builtin::Round, &[x])
}
extern "C" fn btl_rem(a: f64, b: f64) -> f64 {
    crate::value::binary(crate::syntax::ast::BinOp::Rem, a, b)
}

/// One bar of an exact window sum: the same `exact::step` the interpreter runs, on the state the
/// lowering reserved in the machine's buffer.
extern "C" fn btl_window_sum(state: *mut f64, new: f64, old: f64) -> f64 {
    // SAFETY: compiled code passes `buf + Inst::WindowSum::state`, the start of the
    // `exact::STATE` values reserved for this sum inside the machine's buffer (the lowering puts
    // them within `buffer_len`, which is the buffer's length); the buffer outlives the batch, and
    // nothing else reads or writes those values during the call.
    let cells = unsafe { std::slice::from_raw_parts_mut(state, crate::exact::STATE) };
    crate::exact::step(cells, new, old)
}

/// A parameter or result type of a host function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Ptr,
    I64,
    I32,
    F64,
}

/// A host function: its symbol name, a function giving its address, its parameters, its result.
pub struct HostFunction {
    pub name: &'static str,
    pub addr: fn() -> *const u8,
    pub params: &'static [Ty],
    pub result: Ty,
}

use Ty::{F64, I32, I64, Ptr};

/// A table entry: the function's name is its symbol, written once.
macro_rules! host {
    ($f:ident($($p:expr),*) -> $r:expr) => {
        HostFunction {
            name: stringify!($f),
            addr: || $f as *const u8,
            params: &[$($p),*],
            result: $r,
        }
    };
}

/// Every host function compiled code may call; each signature matches its `extern "C"` function.
pub const HOST_FUNCTIONS: &[HostFunction] = &[
    host!(btl_open_bar(Ptr, I64, Ptr) -> I32),
    host!(btl_close_bar(Ptr, I64, Ptr) -> I32),
    host!(btl_flush(Ptr) -> I32),
    host!(btl_order(Ptr, I64, Ptr, I32, I32, I32, F64, F64, F64, F64) -> I32),
    host!(btl_log(F64) -> F64),
    host!(btl_exp(F64) -> F64),
    host!(btl_pow(F64, F64) -> F64),
    host!(btl_round(F64) -> F64),
    host!(btl_rem(F64, F64) -> F64),
    host!(btl_window_sum(Ptr, F64, F64) -> F64),
];

impl Drop for super::Jit {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: the only pointer into the module's code is the `LoopFn` of this `Jit`,
            // which is being dropped with it, and no call is running: calls borrow the `Jit`
            // mutably.
            unsafe { module.free_memory() };
        }
    }
}

/// The machine layout a batch function was compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    buf: usize,
    heads: usize,
    vars: usize,
    /// Frame values per bar.
    frame: usize,
}

/// A finalized batch function, and the machine layout it was compiled for.
pub struct LoopFn {
    code: *const u8,
    layout: Layout,
}

impl LoopFn {
    /// The batch function `id` of `module`, finalized, translated from `p`. Only the translator
    /// (which knows that `id` was translated from `p`) makes one, and the `Jit` owning `module`
    /// keeps it; the module outlives it.
    pub(super) fn finalized(
        module: &cranelift_jit::JITModule,
        id: cranelift_module::FuncId,
        p: &crate::ir::BarProgram,
    ) -> LoopFn {
        LoopFn {
            code: module.get_finalized_function(id),
            layout: Layout {
                buf: p.buffer_len as usize,
                heads: p.slots.len(),
                vars: p.vars.len(),
                frame: p.frame_len as usize,
            },
        }
    }

    /// Runs the bar protocol on every bar of `bars`. Returns the host's error, if a host function
    /// failed (the batch stops at that bar).
    pub fn call(
        &self,
        m: &mut Machine,
        bars: &[Bar],
        frames: &[f64],
        state: &mut LoopState,
        log: &mut [LogEntry],
        host: &mut dyn Host,
    ) -> Result<(), String> {
        let layout = Layout {
            buf: m.buf.len(),
            heads: m.heads.len(),
            vars: m.vars.len(),
            frame: self.layout.frame,
        };
        if frames.len() != bars.len() * self.layout.frame {
            return Err(format!(
                "{} frame values for {} bars: the program reads {} per bar",
                frames.len(),
                bars.len(),
                self.layout.frame
            ));
        }
        if layout != self.layout {
            return Err(format!(
                "the machine ({layout:?}) is not the one the program was compiled for ({:?})",
                self.layout
            ));
        }
        let account = host.account();
        let flags = host.flags();
        let mut cell = HostCell { host, error: None };
        let mut ctx = JitCtx {
            buf: m.buf.as_mut_ptr(),
            heads: m.heads.as_mut_ptr(),
            vars: m.vars.as_mut_ptr(),
            // The lifetime is erased only for the duration of this call: `cell` outlives it and
            // nothing keeps the pointer afterwards.
            host: (&mut cell as *mut HostCell<'_>).cast::<HostCell<'static>>(),
            bars: bars.as_ptr(),
            n: bars.len() as u64,
            first: state.bar,
            state: *state,
            account,
            fill_on_close: u32::from(flags.fill_on_close),
            wants_bars: u32::from(flags.wants_bars),
            status: 0,
            log: log.as_mut_ptr(),
            log_len: 0,
            log_cap: log.len() as u64,
            frames: frames.as_ptr(),
            frame_len: self.layout.frame as u64,
        };
        // SAFETY: `code` is the finalized batch function of a program (`LoopFn::finalized`),
        // alive as long as `self`, compiled for this machine's layout (checked above): every
        // buffer, head and variable access stays inside the arrays whose pointers are in `ctx`
        // (indices were proven at compile time, register indices are range-checked in the code);
        // bar reads stay below `n`, the length of `bars`, frame reads below `n` times the frame
        // length (checked above), and log writes below `log_cap`, the length of `log`. The signature matches the one the translator declared.
        let status = unsafe {
            let f = std::mem::transmute::<*const u8, extern "C" fn(*mut JitCtx) -> i32>(self.code);
            f(&mut ctx)
        };
        // What is left of the sink log.
        let status = match status {
            0 => guarded(&mut ctx, |_| {}),
            s => s,
        };
        *state = ctx.state;
        match status {
            0 => Ok(()),
            _ => Err(cell
                .error
                .unwrap_or_else(|| format!("compiled code returned status {status}"))),
        }
    }
}
