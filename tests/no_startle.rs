//! Issue 9's proof: random ceremonies and random commands, run through the real engine, mixer
//! and light drivers on virtual time, never startle the room (see `startle_support::check` for
//! the invariants and the derivation of the audio envelope bound).
//!
//! CI runs 64 cases; `STARTLE_CASES=10000 cargo test --release --test no_startle` runs the
//! long run documented in docs/RELIABILITY.md; `STARTLE_ONLY=audio|lights|names` checks one
//! family of invariants (to show each catching its bug). Failing seeds are kept in
//! `tests/no_startle.proptest-regressions` and replayed first.
#![allow(clippy::unwrap_used)]

mod startle_support;

use proptest::prelude::*;
use startle_support::{check, harness};

fn cases() -> u32 {
    std::env::var("STARTLE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 400,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_ceremonies_and_commands_never_startle_the_room(case in startle_support::case()) {
        let started = std::time::Instant::now();
        let only = std::env::var("STARTLE_ONLY").unwrap_or_default();
        let wants = |what: &str| only.is_empty() || only == what;
        let out = harness::run(&case, wants("audio"));
        if wants("audio") {
            check::audio(&case, &out).map_err(TestCaseError::fail)?;
        }
        if wants("lights") {
            check::lights(&out).map_err(|e| {
                if std::env::var("STARTLE_DUMP").is_ok() {
                    for e in &out.events {
                        eprintln!("event {e:?}");
                    }
                    for p in &out.publishes {
                        eprintln!("sent {p:?}");
                    }
                }
                TestCaseError::fail(e)
            })?;
        }
        if wants("names") {
            let twin = harness::run(&case.renamed(), false);
            check::name_blind(&out, &twin).map_err(TestCaseError::fail)?;
        }
        if std::env::var("STARTLE_STATS").is_ok() {
            eprintln!(
                "case: {:.1} s of ceremony, {} events, {} light messages, checked in {:.2} s",
                out.end.0.as_secs_f64(),
                out.events.len(),
                out.publishes.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
}
