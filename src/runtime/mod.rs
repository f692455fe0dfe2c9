//! The run-time: data feeds, ring buffers, the broker and the engine loop.
pub mod align;
pub mod broker;
pub mod data;
pub mod engine;
pub mod feed;
pub mod host;
pub mod machine;
pub mod output;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod report;
pub mod stats;
