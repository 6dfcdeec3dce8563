//! Play time with bad sound files: a file that became empty, not audio or truncated after
//! `sanctum check` ran is a logged skip (or a voice that ends where its data ends); the bed
//! on another layer plays on, and no voice is left behind. Offline, through the real mixer
//! and decoder threads (`tests/mixer.rs` covers missing files and text in a playlist; this
//! adds the cut and lying files `check` now rejects).

use std::f32::consts::TAU;
use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sanctum::audio::{LayerChange, LayerId, LayerSpec, MixerSettings, Source, build};
use sanctum::tween::Curve;
use sanctum::units::Decibels;

const RATE: u32 = 48_000;

fn write_wav(path: &Path, seconds: u32, freq: f32, amp: f32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for i in 0..RATE * seconds {
        #[allow(clippy::cast_precision_loss)]
        let s = amp * (TAU * freq * i as f32 / RATE as f32).sin();
        w.write_sample(s).expect("sample");
    }
    w.finalize().expect("finalize");
}

fn set_len(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open")
        .set_len(len)
        .expect("set_len");
}

fn play(files: &[&Path], looping: bool) -> LayerChange {
    LayerChange::Play {
        source: Arc::new(Source {
            files: files.iter().map(|p| p.to_path_buf()).collect(),
            looping,
            crossfade: Duration::from_millis(200),
        }),
        gain: Decibels::UNITY,
        fade: Duration::ZERO,
        curve: Curve::EqualPower,
    }
}

fn peak(samples: &[f32]) -> f32 {
    samples.iter().fold(0.0f32, |m, s| m.max(s.abs()))
}

#[test]
fn bad_files_are_skipped_or_end_early_and_the_bed_plays_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |name: &str| dir.path().join(name);
    write_wav(&p("bed.wav"), 1, 300.0, 0.3);
    std::fs::write(p("empty.ogg"), b"").expect("empty");
    std::fs::write(p("notes.ogg"), "light the candles\n".repeat(20)).expect("notes");
    // A WAV whose header promises 4 s and holds 0.5 s of a louder tone.
    write_wav(&p("lying.wav"), 4, 700.0, 0.5);
    set_len(&p("lying.wav"), 44 + u64::from(RATE) * 4 / 2);
    std::fs::copy("sounds/chime.ogg", p("cut.ogg")).expect("copy");
    let len = std::fs::metadata(p("cut.ogg")).expect("meta").len();
    set_len(&p("cut.ogg"), len / 2);

    let layers: Vec<LayerSpec> = ["bed", "texture"]
        .iter()
        .map(|n| LayerSpec {
            name: (*n).to_owned(),
            gain: Decibels::UNITY,
            duck: None,
        })
        .collect();
    let (mut h, mut proc) = build(&layers, RATE, MixerSettings::default());
    h.layer(LayerId(0), play(&[&p("bed.wav")], true))
        .expect("bed");
    // A texture playlist of nothing playable: its voice ends at once.
    h.layer(LayerId(1), play(&[&p("empty.ogg"), &p("notes.ogg")], true))
        .expect("texture");
    for bad in ["empty.ogg", "notes.ogg", "lying.wav", "cut.ogg"] {
        h.one_shot(&p(bad), Decibels(-12.0)).expect("accepted");
    }

    let mut out = vec![0.0f32; RATE as usize * 2 * 6];
    for block in out.chunks_mut(480 * 2) {
        proc.process_blocking(block);
    }
    // The bed sounds in every 100 ms from the first block to the last.
    for (i, w) in out[2 * 4800..].chunks(2 * 4800).enumerate() {
        assert!(peak(w) > 0.25, "bed silent around {} ms", 100 * (i + 1));
    }
    // The lying WAV plays the half second it has (over the bed)…
    let head = &out[2 * 4800..RATE as usize * 2 * 4 / 10];
    assert!(
        peak(head) > 0.36,
        "the cut files play what they hold: {}",
        peak(head)
    );
    // …then lets go: the last seconds are the bed alone.
    let tail = &out[RATE as usize * 2 * 4..];
    assert!(peak(tail) < 0.31, "only the bed at the end: {}", peak(tail));

    h.collect_garbage();
    let stats = h.stats();
    assert_eq!(stats.voices_active, 1, "{stats:#?}");
    assert_eq!(stats.voices.len(), 1, "{stats:#?}");
    assert_eq!(stats.voices[0].layer, Some(LayerId(0)), "{stats:#?}");
    assert_eq!(stats.voices[0].underruns, 0, "{stats:#?}");
}
