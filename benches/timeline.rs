//! Placeholder for the timeline benchmark.
fn main() {}
