//! The 8-hour soak (issue 11): an eight-phase ceremony of 8 hours on virtual time through the
//! real engine, the real mixer at 48 kHz and the real light
//! controller with four drivers, as `tests/soak_support` describes. Prints the live heap at
//! the middle of every phase, its growth after warm-up, the drift between the timeline and
//! the audio frame clock at the end, and where the last click landed; exits non-zero if an
//! invariant fails.
//!
//! `cargo bench --bench soak` (about 2–4 minutes on the 2-core machine). `SOAK_HOURS=1`
//! shortens it.

#[path = "../tests/soak_support/mod.rs"]
mod soak_support;

use std::alloc::System;
use std::time::{Duration, Instant};

use soak_support::{Soak, live_bytes, run};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn rss_kib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let hours: f64 = std::env::var("SOAK_HOURS")
        .ok()
        .and_then(|h| h.parse().ok())
        .unwrap_or(8.0);
    let soak = Soak {
        length: Duration::from_secs_f64(hours * 3600.0),
        rate: 48_000,
    };
    let rss_before = rss_kib();
    let started = Instant::now();
    let report = run(soak, || live_bytes(GLOBAL));
    let wall = started.elapsed();
    let kib = |b: i64| b as f64 / 1024.0;
    println!(
        "soak: {hours} h of ceremony in {:.1} s of wall time ({:.0}x real time), {} engine events",
        wall.as_secs_f64(),
        soak.length.as_secs_f64() / wall.as_secs_f64(),
        report.events
    );
    println!(
        "live heap at mid-phase (KiB): {}",
        report
            .live_mid_phase
            .iter()
            .map(|b| format!("{:.1}", kib(*b)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "heap growth phase 2 -> phase 8: {} B; peak after warm-up over warm (less loop copies): {} B; loop copies at most {} of {} B; RSS {:.0} -> {:.0} KiB",
        report.growth(),
        report.peak_growth(),
        report.loop_cache_peak.0,
        report.loop_cache_peak.1,
        rss_before,
        rss_kib()
    );
    println!(
        "timeline end {:?}, audio frame clock end {:?}: drift {:?}",
        report.engine_end,
        report.audio_end,
        report.clock_drift()
    );
    println!(
        "click scheduled at {:?}, heard at {:?}: drift {:?}",
        report.click_scheduled,
        report.click_heard,
        report.click_drift()
    );
    println!(
        "light messages {:?}; tightest spacing vs allowed: {:?}",
        report.messages, report.tightest
    );
    println!(
        "underrun frames {}, quietest 10 ms window while sounding {:.1} dBFS, lights off at the end: {}",
        report.underrun_frames, report.quietest_window_dbfs, report.lights_off_at_end
    );
    let failures = report.failures();
    if failures.is_empty() {
        println!("soak: all invariants hold");
    } else {
        for f in &failures {
            eprintln!("soak: FAILED: {f}");
        }
        std::process::exit(1);
    }
}
