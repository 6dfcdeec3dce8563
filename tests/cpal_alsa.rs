//! The cpal output through the real ALSA path, with no sound card: ALSA's `file` plugin writes
//! what cpal plays into a raw file (design §6). ALSA reads its configuration once per process,
//! so each case runs in a child process of this test binary with its own `HOME`.
#![cfg(feature = "cpal")]

mod audio_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use sanctum::audio::AudioBackend;
use sanctum::audio::backend::cpal::CpalBackend;

const CHILD: &str = "SANCTUM_ALSA_CHILD";

fn run_child(test: &str, home: &Path) -> std::process::Output {
    let exe = std::env::current_exe().expect("test binary");
    Command::new(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("HOME", home)
        .env(CHILD, "1")
        .output()
        .expect("run child")
}

#[test]
fn plays_through_alsa_into_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = audio_support::file_plugin_home(dir.path());
    let out = run_child("child_plays_a_sine", dir.path());
    let log = String::from_utf8_lossy(&out.stdout);
    println!("{log}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "child failed");
    let bytes = std::fs::read(&raw).expect("ALSA wrote the file");
    let samples: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let left: Vec<f32> = samples.iter().step_by(2).copied().collect();
    println!("ALSA file: {} frames", left.len());
    assert!(left.len() > 4_800, "too little audio: {}", left.len());
    // Past the fade-in: a 1 kHz sine at -6 dB, the same on both channels.
    let body = &left[2_000..left.len().min(50_000)];
    let (peak, want) = (audio_support::peak(body), audio_support::sine_peak());
    assert!((peak - want).abs() < 0.01, "peak {peak} want {want}");
    let hz = audio_support::hz(body, 48_000);
    assert!((hz - audio_support::SINE_HZ).abs() < 5.0, "{hz} Hz");
    assert!(samples.chunks_exact(2).all(|f| f[0] == f[1]));
}

#[test]
fn child_plays_a_sine() {
    if std::env::var_os(CHILD).is_none() {
        return; // only runs inside `plays_through_alsa_into_a_file`
    }
    let mut backend = CpalBackend::open(None, Some(Duration::from_millis(10)))
        .expect("open the ALSA default (file plugin)");
    let rate = backend.sample_rate();
    println!("device rate {rate}");
    assert_eq!(rate, 48_000);
    let (h, p) = audio_support::sine_mixer(rate);
    backend.start(p).expect("start");
    // The null slave takes audio far faster than real time: a short wait is plenty.
    std::thread::sleep(Duration::from_millis(30));
    let back = backend.stop().expect("stop");
    assert!(back.is_some(), "processor handed back");
    println!("frames rendered {}", h.stats().frames_rendered);
}

#[test]
fn a_missing_device_says_what_to_do() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // A default PCM pointing at a card that does not exist.
    std::fs::write(
        dir.path().join(".asoundrc"),
        "pcm.!default { type hw; card 7 }\n",
    )
    .expect("asoundrc");
    let out = run_child("child_open_fails", dir.path());
    println!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(out.status.success(), "child failed");
}

#[test]
fn child_open_fails() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let err = CpalBackend::open(None, None).expect_err("no card 7 here");
    let msg = err.to_string();
    println!("open error: {msg}");
    assert!(msg.contains("--output null"), "{msg}");
}

#[test]
fn a_lost_device_is_rebuilt_and_the_mix_goes_on_where_it_was() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("out.raw");
    // Paced to real time by pv; `>>` because the rebuilt stream reopens the plugin (and a new
    // pv) while the first one has already written its part.
    std::fs::write(
        dir.path().join(".asoundrc"),
        format!(
            "pcm.!default {{ type file; slave.pcm \"null\"; file \"|pv -q -L 384000 >> {}\"; format \"raw\" }}\n",
            raw.display()
        ),
    )
    .expect("asoundrc");
    let out = run_child("child_survives_a_loss", dir.path());
    println!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "child failed (is pv installed? run scripts/setup.sh)"
    );
    let bytes = std::fs::read(&raw).expect("ALSA wrote the file");
    let left: Vec<f32> = bytes
        .chunks_exact(8)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let seconds = left.len() as f32 / 48_000.0;
    println!("ALSA file: {seconds:.2} s");
    // The child plays 0.5 s, loses the stream, and plays on to 1.2 s: audio after the loss
    // exists only if the stream came back with the processor.
    assert!(seconds > 0.9, "the mix stopped at the loss: {seconds:.2} s");
    // A 1.5 s master fade from -6 to -26 dB runs throughout. If the rebuilt stream had a fresh
    // mixer, or lost its place, the level would jump back up after the loss.
    let windows: Vec<f32> = left.chunks(480).map(audio_support::peak).collect();
    let sounding: Vec<f32> = windows[2..].iter().copied().filter(|p| *p > 1e-4).collect();
    let silent = windows.len() - 2 - sounding.len();
    println!(
        "10 ms windows: {} sounding, {silent} silent",
        sounding.len()
    );
    assert!(
        silent <= 5,
        "{silent} silent 10 ms windows around the rebuild"
    );
    for w in sounding.windows(2) {
        assert!(
            w[1] <= w[0] * 1.06,
            "the level rose across the rebuild: {} → {}",
            w[0],
            w[1]
        );
    }
    let (first, last) = (sounding[0], sounding[sounding.len() - 1]);
    assert!(
        last < first * 0.5,
        "the fade went on through the rebuild: {first} → {last}"
    );
}

#[test]
fn child_survives_a_loss() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let mut backend = CpalBackend::open(None, Some(Duration::from_millis(10)))
        .expect("open the ALSA default (file plugin)");
    let (mut h, p) = audio_support::sine_mixer(backend.sample_rate());
    h.master(sanctum::units::Decibels(-20.0), Duration::from_millis(1500))
        .expect("fade");
    backend.start(p).expect("start");
    std::thread::sleep(Duration::from_millis(500));
    backend.simulate_loss();
    let mut waited = 0;
    while backend.rebuilds() == 0 && waited < 300 {
        std::thread::sleep(Duration::from_millis(10));
        waited += 1;
    }
    println!("rebuilt after {} ms", waited * 10);
    assert_eq!(backend.rebuilds(), 1, "the stream was rebuilt once");
    std::thread::sleep(Duration::from_millis(700));
    let back = backend.stop().expect("stop");
    assert!(back.is_some(), "the processor came back after the rebuild");
}
