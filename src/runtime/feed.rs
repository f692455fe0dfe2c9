//! CSV data feed (being written).
