//! The standard library, written in btl, embedded in the binary so `btl` works from any directory.
//!
//! Contract: `FILES` lists every `stdlib/*.btl` file (name, text) in name order; `build.rs`
//! generates the list, so adding a file to the folder is all it takes.

include!(concat!(env!("OUT_DIR"), "/stdlib_files.rs"));
