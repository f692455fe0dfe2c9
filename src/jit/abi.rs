//! The JIT's ABI: the context struct compiled code receives, the host functions it may call, and
//! the call into compiled code. Every `unsafe` block of btl is in this file.
//!
//! Contract: compiled code has the signature `extern "C" fn(*mut JitCtx) -> i32` and returns 0, or
//! the non-zero status a host function returned. Host functions are `extern "C"`, registered from
//! the one table [`HOST_FUNCTIONS`]; they never unwind into JIT frames: a panic inside the host is
//! caught, recorded in the [`HostCell`], and reported as status 1.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::runtime::machine::{Host, Machine};
use crate::sema::builtins::Inputs;
use crate::sema::elab::Action;

/// What compiled code receives: raw views of the machine's arrays and the host.
#[repr(C)]
pub struct JitCtx {
    pub buf: *mut f64,
    pub heads: *mut u32,
    pub vars: *mut f64,
    pub host: *mut HostCell<'static>,
    /// This bar's inputs, indexed by `Input as usize`.
    pub inputs: *const f64,
}

/// The host behind a thin pointer, and the first error a host call met.
pub struct HostCell<'a> {
    pub host: &'a mut dyn Host,
    pub error: Option<String>,
}

pub const STATUS_HOST_PANIC: i32 = 1;

/// Byte offsets of `JitCtx` fields, for the code generator.
pub const CTX_BUF: i32 = std::mem::offset_of!(JitCtx, buf) as i32;
pub const CTX_HEADS: i32 = std::mem::offset_of!(JitCtx, heads) as i32;
pub const CTX_VARS: i32 = std::mem::offset_of!(JitCtx, vars) as i32;
pub const CTX_HOST: i32 = std::mem::offset_of!(JitCtx, host) as i32;
pub const CTX_INPUTS: i32 = std::mem::offset_of!(JitCtx, inputs) as i32;

fn guarded(cell: *mut HostCell<'static>, f: impl FnOnce(&mut dyn Host)) -> i32 {
    // SAFETY: `cell` is the pointer `call` put in the context: it points to a live `HostCell` that
    // is borrowed exclusively for the duration of the compiled call, and compiled code passes it
    // through unchanged. No other reference to it exists while a host function runs.
    let cell = unsafe { &mut *cell };
    match catch_unwind(AssertUnwindSafe(|| f(&mut *cell.host))) {
        Ok(()) => 0,
        Err(_) => {
            cell.error
                .get_or_insert_with(|| "a host function panicked".to_string());
            STATUS_HOST_PANIC
        }
    }
}

/// An order: the action's code, how many of the four values are its arguments, the values.
extern "C" fn btl_order(
    cell: *mut HostCell<'static>,
    action: u32,
    argc: u32,
    a: f64,
    b: f64,
    c: f64,
    d: f64,
) -> i32 {
    let args = [a, b, c, d];
    guarded(cell, |h| {
        if let Some(action) = Action::from_code(action) {
            h.order(action, &args[..(argc as usize).min(4)]);
        }
    })
}

/// A plotted value (the signature of every effect: only the first value is used).
extern "C" fn btl_plot(
    cell: *mut HostCell<'static>,
    index: u32,
    _argc: u32,
    value: f64,
    _b: f64,
    _c: f64,
    _d: f64,
) -> i32 {
    guarded(cell, |h| h.plot(index, value))
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

/// The shape of a host function's signature, for declaring it to Cranelift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostSig {
    /// (host pointer, u32 code, u32 argc, f64 × 4) -> i32
    Effect,
    /// (f64) -> f64
    Unary,
    /// (f64, f64) -> f64
    Binary,
}

/// A host function: its symbol name, a function giving its address, its signature.
pub type HostFunction = (&'static str, fn() -> *const u8, HostSig);

/// Every host function compiled code may call.
pub const HOST_FUNCTIONS: &[HostFunction] = &[
    ("btl_order", || btl_order as *const u8, HostSig::Effect),
    ("btl_plot", || btl_plot as *const u8, HostSig::Effect),
    ("btl_log", || btl_log as *const u8, HostSig::Unary),
    ("btl_exp", || btl_exp as *const u8, HostSig::Unary),
    ("btl_pow", || btl_pow as *const u8, HostSig::Binary),
    ("btl_round", || btl_round as *const u8, HostSig::Unary),
    ("btl_rem", || btl_rem as *const u8, HostSig::Binary),
];

/// A finalized step function.
#[derive(Clone, Copy)]
pub struct StepFn(*const u8);

impl StepFn {
    /// # Safety
    /// `ptr` must be the finalized code of a function translated by `crate::jit` for a program
    /// whose machine layout (slot offsets and capacities, variable count) is the one of the
    /// machines later passed to [`StepFn::call`]; the module owning the code must outlive every call.
    pub unsafe fn new(ptr: *const u8) -> StepFn {
        StepFn(ptr)
    }

    /// Runs one bar. Returns the host's error, if a host function failed.
    pub fn call(self, m: &mut Machine, inputs: &Inputs, host: &mut dyn Host) -> Result<(), String> {
        let mut cell = HostCell { host, error: None };
        let mut ctx = JitCtx {
            buf: m.buf.as_mut_ptr(),
            heads: m.heads.as_mut_ptr(),
            vars: m.vars.as_mut_ptr(),
            // The lifetime is erased only for the duration of this call: `cell` outlives it and
            // nothing keeps the pointer afterwards.
            host: (&mut cell as *mut HostCell<'_>).cast::<HostCell<'static>>(),
            inputs: inputs.as_ptr(),
        };
        // SAFETY: by the contract of `StepFn::new`, the code was compiled for this machine's layout:
        // every buffer, head, variable and input access stays inside the arrays whose pointers are
        // in `ctx` (`inputs` has one value per `Input`)
        // (indices were proven at compile time, register indices are range-checked in the code).
        // The signature matches the one the translator declared.
        let status = unsafe {
            let f = std::mem::transmute::<*const u8, extern "C" fn(*mut JitCtx) -> i32>(self.0);
            f(&mut ctx)
        };
        match status {
            0 => Ok(()),
            _ => Err(cell
                .error
                .unwrap_or_else(|| format!("compiled code returned status {status}"))),
        }
    }
}
