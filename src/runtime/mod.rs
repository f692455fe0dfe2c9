//! The run-time: data feeds, ring buffers, the broker and the engine loop.
pub mod feed;
