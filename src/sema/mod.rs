//! Semantic analysis: name resolution and types ([`check`]), then elaboration with bound
//! parameters into a flat series graph ([`elab`]) with lookback and warm-up facts ([`warmup`]).
pub mod builtins;
pub mod check;
pub mod clock;
pub mod elab;
pub mod warmup;
