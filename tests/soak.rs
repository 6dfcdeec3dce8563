//! The soak, shortened for CI (issue 11): the eight-phase soak ceremony over 8 minutes of
//! virtual time through the real engine, mixer (8 kHz) and light controller, asserting what
//! the 8-hour `cargo bench --bench soak` asserts: the live heap does not grow after warm-up
//! (< 1 MiB), the timeline and the audio frame clock agree within 1 ms at the end, the click
//! lands on its frame, no underrun, no gap, every light within its rate and off at the end.
//!
//! The heap is counted by `stats_alloc` (its `unsafe impl GlobalAlloc`, not ours: the crate
//! forbids `unsafe`). This file holds one test so that nothing else allocates beside it.

mod soak_support;

use std::alloc::System;
use std::time::Duration;

use soak_support::{Soak, live_bytes, run};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn eight_minutes_of_ceremony_hold_memory_and_clocks_steady() {
    // `SOAK_MINUTES` runs it longer (the 8-hour run is `cargo bench --bench soak`).
    let minutes = std::env::var("SOAK_MINUTES")
        .ok()
        .and_then(|m| m.parse::<u64>().ok())
        .unwrap_or(8);
    let soak = Soak {
        length: Duration::from_secs(minutes * 60),
        rate: 8_000,
    };
    let report = run(soak, || live_bytes(GLOBAL));
    eprintln!("{report:#?}");
    eprintln!(
        "growth {} B, peak growth {} B, clock drift {:?}, click drift {:?}",
        report.growth(),
        report.peak_growth(),
        report.clock_drift(),
        report.click_drift()
    );
    let failures = report.failures();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The checker can fail: a light message pair tighter than its spacing, a leak, a late
    // click and loop copies over their budget are each reported.
    let mut broken = report.clone();
    broken
        .live_mid_phase
        .push(report.live_mid_phase[1] + (2 << 20));
    broken.click_heard = Some(report.click_scheduled + Duration::from_millis(4));
    broken.tightest[0].0 = Duration::from_millis(10);
    broken.loop_cache_peak.0 = broken.loop_cache_peak.1 + 1;
    assert_eq!(broken.failures().len(), 4, "{:?}", broken.failures());
}
