//! Issue 9's proof: random ceremonies and random commands, run through the real engine, mixer
//! and light drivers on virtual time, never startle the room (see `startle_support::check` for
//! the invariants and the derivation of the audio envelope bound).
//!
//! CI runs 64 cases from a fixed seed; `STARTLE_SEED=random STARTLE_CASES=10000 cargo test
//! --release --test no_startle` runs the long run documented in docs/RELIABILITY.md;
//! `STARTLE_ONLY=audio|lights|names` checks one family of invariants (to show each catching
//! its bug); `STARTLE_DUMP=1` prints a failing case's engine events with its light messages or
//! its audio envelope (10 ms windows in dBFS); `STARTLE_STATS=1` prints each case's size.
//! Failing seeds are kept in `tests/no_startle.proptest-regressions` and replayed first.
#![allow(clippy::unwrap_used)]

mod startle_support;

use proptest::prelude::*;
use startle_support::{check, harness};

/// CI replays the same cases every run (seed 9), so it never fails by luck; any other
/// `STARTLE_SEED` (or `random`) explores new ones.
fn seed() -> proptest::test_runner::RngSeed {
    match std::env::var("STARTLE_SEED").ok().as_deref() {
        Some("random") => proptest::test_runner::RngSeed::Random,
        Some(n) => proptest::test_runner::RngSeed::Fixed(n.parse().unwrap_or(9)),
        None => proptest::test_runner::RngSeed::Fixed(9),
    }
}

fn cases() -> u32 {
    std::env::var("STARTLE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        rng_seed: seed(),
        max_shrink_iters: 400,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_ceremonies_and_commands_never_startle_the_room(case in startle_support::case()) {
        let started = std::time::Instant::now();
        let only = std::env::var("STARTLE_ONLY").unwrap_or_default();
        let wants = |what: &str| only.is_empty() || only == what;
        let out = harness::run(&case, wants("audio"));
        let dump = std::env::var("STARTLE_DUMP").is_ok();
        if wants("audio") {
            check::audio(&case, &out).map_err(|e| {
                if dump {
                    for e in &out.events {
                        eprintln!("event {e:?}");
                    }
                    for (w, r) in out.envelope.iter().enumerate() {
                        eprintln!("window {w} {:.2} dBFS", 20.0 * r.max(1e-10).log10());
                    }
                }
                TestCaseError::fail(e)
            })?;
        }
        if wants("lights") {
            check::lights(&out).map_err(|e| {
                if dump {
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

/// Issue 9, bug 2, through the checker: a stop two seconds into an eight-second crossfade.
/// The outgoing voice used to keep its own fade and was cut off when the run ended.
#[test]
fn a_stop_during_a_long_crossfade_ends_in_silence() {
    use startle_support::{Case, Cmd, CueSpec, LayerOp, PhaseSpec};
    let play = |tone, fade| LayerOp::Play {
        tones: vec![tone],
        crossfade: 1_000,
        gain: Some(-6),
        fade,
        curve: 0,
    };
    let case = Case {
        layers: vec![0],
        lights: vec![0],
        groups: Vec::new(),
        stop_fade: 2_000,
        transition: 1_000,
        finish_fade: 2_000,
        safe_level: 30,
        phases: vec![PhaseSpec {
            after: None,
            cues: vec![
                CueSpec {
                    at: 0,
                    layers: vec![(0, play(1, 1_000))],
                    lights: Vec::new(),
                    sounds: Vec::new(),
                },
                CueSpec {
                    at: 2_000,
                    layers: vec![(0, play(2, 8_000))],
                    lights: Vec::new(),
                    sounds: Vec::new(),
                },
            ],
        }],
        commands: vec![(4_000, Cmd::Stop)],
    };
    let out = harness::run(&case, true);
    check::audio(&case, &out).unwrap();
    check::lights(&out).unwrap();
}
