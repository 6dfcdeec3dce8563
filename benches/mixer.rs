//! Mixer benchmark (filled in below).
fn main() {}
