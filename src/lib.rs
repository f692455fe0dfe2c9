//! btl: a small language for trading-strategy backtests with statically inferred lookback.
pub mod diag;
pub mod source;
pub mod syntax;
