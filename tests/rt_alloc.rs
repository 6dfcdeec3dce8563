//! Allocation guard: runs the real processor through starts, crossfades, loops, playlists,
//! one-shots with ducking, gain ramps, stops and finishes, with every `process` call inside
//! `assert_no_alloc`, and asserts that not one allocation or free happened there.
//!
//! The counting allocator is `assert_no_alloc::AllocDisabler`: it counts per thread (a
//! thread-local forbid flag), so decoder threads and the test's own control calls may allocate
//! freely. Using the crate keeps `unsafe_code = "forbid"` for the whole crate: the only
//! `unsafe impl GlobalAlloc` lives in that small, widely used crate, not here.

use std::f32::consts::TAU;
use std::path::Path;
use std::time::Duration;

use assert_no_alloc::{AllocDisabler, assert_no_alloc, reset_violation_count, violation_count};
use sanctum::audio::{
    AudioProcessor, LayerChange, LayerId, LayerSpec, MixerSettings, PcmBuffer, Source, build,
};
use sanctum::tween::Curve;
use sanctum::units::Decibels;

#[global_allocator]
static ALLOC: AllocDisabler = AllocDisabler;

const RATE: u32 = 48_000;

fn write_sine(path: &Path, rate: u32, channels: u16, freq: f32, frames: usize) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for i in 0..frames {
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        let s = (12_000.0 * (TAU * freq * i as f32 / rate as f32).sin()) as i16;
        for _ in 0..channels {
            w.write_sample(s).expect("write");
        }
    }
    w.finalize().expect("finalize");
}

/// Renders `blocks` blocks of 480 frames, each `process` under the guard. Waiting for the
/// decoders (`ready_for`) happens outside the guard, as an offline backend does.
fn run(p: &mut AudioProcessor, out: &mut [f32], blocks: usize) {
    for _ in 0..blocks {
        while !p.ready_for(out.len() / 2) {
            std::thread::sleep(Duration::from_micros(200));
        }
        assert_no_alloc(|| p.process(out));
    }
}

#[test]
fn the_guard_sees_an_allocation() {
    // Proves the test below can fail: an allocation inside the guard is counted.
    reset_violation_count();
    let v = assert_no_alloc(|| Vec::<u8>::with_capacity(64));
    assert_eq!(violation_count(), 1);
    drop(v);
    reset_violation_count();
}

#[test]
fn process_never_allocates_or_frees() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bed_a = dir.path().join("a.wav");
    let bed_b = dir.path().join("b44.wav");
    let track = dir.path().join("track.wav");
    let chime = dir.path().join("chime.wav");
    write_sine(&bed_a, RATE, 2, 220.0, 30_000); // short: loops many times
    write_sine(&bed_b, 44_100, 1, 330.0, 20_000); // resampled, mono
    write_sine(&track, RATE, 2, 440.0, 15_000);
    write_sine(&chime, RATE, 2, 880.0, 6_000);
    let missing = dir.path().join("missing.wav");
    let layers: Vec<LayerSpec> = ["bed", "texture", "music"]
        .iter()
        .map(|n| LayerSpec {
            name: (*n).to_owned(),
            gain: Decibels(-3.0),
            duck: Some(Decibels(-9.0)),
        })
        .collect();
    let (mut h, mut p) = build(&layers, RATE, MixerSettings::default());
    let preloaded = PcmBuffer::decode(&chime, RATE).expect("decode chime");
    let mut out = vec![0.0f32; 480 * 2];
    let play = |files: &[&Path], looping: bool, fade: u64, curve: Curve| LayerChange::Play {
        source: std::sync::Arc::new(Source {
            files: files.iter().map(|p| p.to_path_buf()).collect(),
            looping,
            crossfade: Duration::from_millis(100),
        }),
        gain: Decibels(-1.0),
        fade: Duration::from_millis(fade),
        curve,
    };

    reset_violation_count();
    // Start a looping bed and a playlist; render through several loop points.
    h.layer(LayerId(0), play(&[&bed_a], true, 200, Curve::EqualPower))
        .expect("bed");
    h.layer(
        LayerId(2),
        play(&[&track, &missing, &bed_b], true, 0, Curve::Linear),
    )
    .expect("playlist");
    run(&mut p, &mut out, 200);
    // Crossfade the bed to a resampled mono file; ramp and duck; one-shots streamed and
    // preloaded; master fade; pause and resume fades.
    h.layer(LayerId(0), play(&[&bed_b], true, 500, Curve::SCurve))
        .expect("crossfade");
    h.layer(
        LayerId(2),
        LayerChange::Gain {
            gain: Decibels(-12.0),
            fade: Duration::from_millis(300),
            curve: Curve::EqualPower,
        },
    )
    .expect("gain");
    h.one_shot(&chime, Decibels(-6.0)).expect("one shot");
    h.one_shot_buffer(&preloaded, Decibels(-6.0))
        .expect("preloaded one shot");
    h.master(Decibels(-2.0), Duration::from_millis(400))
        .expect("master");
    run(&mut p, &mut out, 50);
    h.pause_fades();
    run(&mut p, &mut out, 20);
    h.resume_fades();
    run(&mut p, &mut out, 100);
    // Stop everything; voices finish and go back to the handle.
    for l in 0..3 {
        h.layer(
            LayerId(l),
            LayerChange::Stop {
                fade: Duration::from_millis(200),
                curve: Curve::EqualPower,
            },
        )
        .expect("stop");
    }
    h.layer(LayerId(1), play(&[&missing], false, 0, Curve::Linear))
        .expect("missing file is skipped");
    run(&mut p, &mut out, 100);
    let violations = violation_count();
    h.collect_garbage();
    let stats = h.stats();
    println!(
        "rt_alloc: {} frames rendered, {} voices left, allocations/frees inside process: {violations}",
        stats.frames_rendered, stats.voices_active
    );
    assert_eq!(violations, 0, "process allocated or freed");
    assert_eq!(
        stats.voices_active, 0,
        "every voice finished and was handed back"
    );
    assert_eq!(stats.underrun_frames, 0);
}
