//! Timeline benchmarks (placeholder until the timeline lands).
fn main() {}
