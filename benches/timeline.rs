//! Criterion benchmark of the timeline engine (filled in below).
fn main() {}
