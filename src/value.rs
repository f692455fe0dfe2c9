//! The run-time meaning of every operator and pure built-in, on the one run-time representation:
//! `f64` for every type (an `int` is an integral `f64`, exact up to 2^53; a `bool` is 1.0 or 0.0;
//! `na` is NaN).
//!
//! Contract: pure functions, used by constant folding, the interpreter and (as the specification)
//! the JIT, so that all three agree bit for bit. `na` in gives `na` out, except for `na`, `nz`
//! and `valid`, which test for it, and `and`/`or`, which follow Kleene's three-valued logic
//! (`false and na` is false, `true or na` is true). A comparison with `na` gives `na`; a condition
//! that is `na` is false.

use crate::sema::builtins::Builtin;
use crate::syntax::ast::{BinOp, UnOp};

pub const NA: f64 = f64::NAN;

pub fn bool_val(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// How a condition reads a value: true only when present and non-zero.
pub fn truthy(v: f64) -> bool {
    v == 1.0
}

/// A present, non-zero value (bools are 0, 1 or `na`).
fn is_true(v: f64) -> bool {
    !v.is_nan() && v != 0.0
}

pub fn unary(op: UnOp, a: f64) -> f64 {
    match op {
        UnOp::Neg => -a,
        UnOp::Not => {
            if a.is_nan() {
                NA
            } else {
                bool_val(a == 0.0)
            }
        }
    }
}

pub fn binary(op: BinOp, a: f64, b: f64) -> f64 {
    match op {
        // Kleene: a known false decides `and`, a known true decides `or`; otherwise `na` wins.
        BinOp::And if a == 0.0 || b == 0.0 => return 0.0,
        BinOp::Or if is_true(a) || is_true(b) => return 1.0,
        _ => {}
    }
    if a.is_nan() || b.is_nan() {
        return NA;
    }
    match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => {
            if b == 0.0 {
                NA
            } else {
                a / b
            }
        }
        BinOp::Rem => {
            if b == 0.0 {
                NA
            } else {
                a % b
            }
        }
        BinOp::Eq => bool_val(a == b),
        BinOp::Ne => bool_val(a != b),
        BinOp::Lt => bool_val(a < b),
        BinOp::Le => bool_val(a <= b),
        BinOp::Gt => bool_val(a > b),
        BinOp::Ge => bool_val(a >= b),
        // Both present here, and neither decided the result above.
        BinOp::And => 1.0,
        BinOp::Or => 0.0,
    }
}

/// A pure built-in on its arguments (actions are not values: they give `na`).
pub fn builtin(b: Builtin, args: &[f64]) -> f64 {
    let a = args.first().copied().unwrap_or(NA);
    let arg2 = args.get(1).copied();
    match b {
        Builtin::Na => bool_val(a.is_nan()),
        Builtin::Valid => bool_val(!a.is_nan()),
        Builtin::Nz => {
            if a.is_nan() {
                arg2.unwrap_or(0.0)
            } else {
                a
            }
        }
        _ if args.iter().any(|v| v.is_nan()) => NA,
        Builtin::Abs => a.abs(),
        // The second only when strictly better, so -0.0 and 0.0 keep their order in every engine.
        Builtin::Min => {
            let b = arg2.unwrap_or(NA);
            if b < a { b } else { a }
        }
        Builtin::Max => {
            let b = arg2.unwrap_or(NA);
            if b > a { b } else { a }
        }
        Builtin::Sqrt => {
            if a < 0.0 {
                NA
            } else {
                a.sqrt()
            }
        }
        Builtin::Log => {
            if a <= 0.0 {
                NA
            } else {
                a.ln()
            }
        }
        Builtin::Exp => a.exp(),
        Builtin::Pow => finite_or_na(a.powf(arg2.unwrap_or(NA))),
        Builtin::Floor => a.floor(),
        Builtin::Ceil => a.ceil(),
        Builtin::Round => a.round(),
        // Actions are statements, not values.
        _ => NA,
    }
}

fn finite_or_na(v: f64) -> f64 {
    if v.is_nan() { NA } else { v }
}
