//! `sanctum render` end to end: the real binary renders ceremonies offline through the mixer;
//! the WAV files are read back and judged (length against the ceremony's own plan, level,
//! fades, clipping, determinism).

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use sanctum::model::Advance;

const RATE: u32 = 48_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn render(ceremony: &Path, out: &Path, extra: &[&str]) -> String {
    let assert = Command::cargo_bin("sanctum")
        .expect("binary")
        .arg("render")
        .arg(ceremony)
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("SANCTUM_LOG", "warn")
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        !stderr.contains("WARN"),
        "a render of a clean ceremony logs no warnings: {stderr}"
    );
    stdout
}

/// Left channel and frame count of a float WAV.
fn read_float(path: &Path) -> (Vec<f32>, u32, usize) {
    let mut reader = hound::WavReader::open(path).expect("wav");
    let spec = reader.spec();
    assert_eq!(spec.channels, 2);
    assert_eq!(spec.sample_format, hound::SampleFormat::Float);
    let samples: Vec<f32> = reader
        .samples::<f32>()
        .map(|s| s.expect("sample"))
        .collect();
    let frames = samples.len() / 2;
    (samples, spec.sample_rate, frames)
}

fn dbfs(x: f64) -> f64 {
    20.0 * x.max(1e-12).log10()
}

/// RMS in dBFS of the interleaved stereo samples between two times.
fn rms_db(samples: &[f32], from: f64, to: f64) -> f64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let at = |t: f64| ((t * f64::from(RATE)) as usize * 2).min(samples.len());
    let window = &samples[at(from)..at(to)];
    let power: f64 = window.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>();
    #[allow(clippy::cast_precision_loss)]
    let mean = power / window.len().max(1) as f64;
    dbfs(mean.sqrt())
}

/// The demo's own plan: when its last phase starts, and when it is over (every phase's
/// `after` plus the finish fade).
fn demo_plan() -> (Duration, Duration) {
    let loaded =
        sanctum::config::load_ceremony(&root().join("scenes/demo"), None).expect("the demo loads");
    let afters: Vec<Duration> = loaded
        .ceremony
        .phases
        .iter()
        .map(|p| match p.advance {
            Advance::After(d) => d,
            Advance::Manual => panic!("the demo's phases all move on by themselves"),
        })
        .collect();
    let last_start = afters[..afters.len() - 1].iter().sum();
    let phases: Duration = afters.iter().sum();
    // The finish fade, then the silence the engine holds before it ends.
    (
        last_start,
        phases + loaded.ceremony.finish_fade + sanctum::timeline::END_SILENCE,
    )
}

#[test]
fn the_demo_renders_audible_unclipped_and_as_long_as_its_plan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("demo.wav");
    let stdout = render(&root().join("scenes/demo"), &out, &["--float"]);
    println!("{stdout}");
    let (samples, rate, frames) = read_float(&out);
    assert_eq!(rate, RATE);
    let (last_start, want) = demo_plan();
    let want_frames = usize::try_from(want.as_millis()).expect("ms") * 48;
    assert_eq!(frames, want_frames, "length = the plan ({want:?})");

    let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    println!("peak {:.2} dBFS", dbfs(f64::from(peak)));
    assert!(peak > 0.0 && peak <= 1.0, "never clips: peak {peak}");

    let seconds = want.as_secs_f64();
    let mut envelope = Vec::new();
    let mut t = 0.0;
    while t < seconds {
        envelope.push((t, rms_db(&samples, t, (t + 1.0).min(seconds))));
        t += 1.0;
    }
    for (t, db) in &envelope {
        println!("{t:>5.0} s {db:>7.1} dBFS");
    }
    // Fades in from silence: the first 10 ms are far below the body of the piece.
    let start = rms_db(&samples, 0.0, 0.01);
    assert!(start < -60.0, "starts from silence: {start:.1} dBFS");
    // Audible all the way through every phase before the last one (which fades out).
    let body: Vec<f64> = envelope
        .iter()
        .filter(|(t, _)| *t >= 5.0 && *t < last_start.as_secs_f64())
        .map(|(_, db)| *db)
        .collect();
    let quietest = body.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(
        quietest > -50.0,
        "audible throughout: quietest {quietest:.1} dBFS"
    );
    // It ends in silence, and gets there by a fade, not a cut: from the last second near the
    // body's level to the first second of silence takes several seconds.
    let end = rms_db(&samples, seconds - 0.05, seconds);
    assert!(end < -80.0, "ends in silence: {end:.1} dBFS");
    let mut sorted = body.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let loud_until = envelope
        .iter()
        .rev()
        .find(|(_, db)| *db > median - 6.0)
        .map_or(0.0, |(t, _)| *t);
    let silent_from = envelope
        .iter()
        .find(|(t, db)| *t > loud_until && *db < -80.0)
        .map_or(seconds, |(t, _)| *t);
    println!("fade-out: {loud_until:.0} s (near {median:.1} dBFS) → silence at {silent_from:.0} s");
    assert!(
        silent_from - loud_until >= 4.0,
        "the end fades rather than cuts: {loud_until:.0} s → {silent_from:.0} s"
    );
}

#[test]
fn renders_are_bit_identical_and_16_bit_is_the_float_mix_dithered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = root().join("tests/fixtures/engine");
    let (a, b, f) = (
        dir.path().join("a.wav"),
        dir.path().join("b.wav"),
        dir.path().join("f.wav"),
    );
    let args = ["--manual-after", "12s"];
    render(&fixture, &a, &args);
    render(&fixture, &b, &args);
    render(&fixture, &f, &[args[0], args[1], "--float"]);
    let bytes_a = std::fs::read(&a).expect("a");
    assert!(
        bytes_a.len() > 1_000_000,
        "a real render: {} bytes",
        bytes_a.len()
    );
    assert!(
        bytes_a == std::fs::read(&b).expect("b"),
        "two renders differ"
    );

    let mut ints = hound::WavReader::open(&a).expect("16-bit wav");
    assert_eq!(ints.spec().bits_per_sample, 16);
    let ints: Vec<i16> = ints.samples::<i16>().map(|s| s.expect("sample")).collect();
    let (floats, _, _) = read_float(&f);
    assert_eq!(ints.len(), floats.len());
    let mut worst = 0.0f32;
    let mut sum = 0.0f64;
    for (i, x) in ints.iter().zip(&floats) {
        let err = f32::from(*i) - x * 32_767.0;
        worst = worst.max(err.abs());
        sum += f64::from(err);
    }
    #[allow(clippy::cast_precision_loss)]
    let mean = sum / ints.len() as f64;
    // TPDF dither spans ±1 LSB before rounding: never more than 1.5 LSB off, zero on average.
    assert!(worst <= 1.5, "worst error {worst} LSB");
    assert!(
        mean.abs() < 0.01,
        "dither is unbiased: mean error {mean} LSB"
    );
}

#[test]
fn manual_phases_move_on_after_the_chosen_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("m.wav");
    let stdout = render(
        &root().join("tests/fixtures/engine"),
        &out,
        &["--manual-after", "12s", "--float", "--rate", "44100"],
    );
    // one 20 s (auto), two 12 s (manual), three 1 m (auto), four 12 s (manual), finish 30 s,
    // then 0.1 s of silence.
    let (_, rate, frames) = read_float(&out);
    assert_eq!(rate, 44_100);
    assert_eq!(frames, 134 * 44_100 + 4_410);
    let plan: Vec<&str> = stdout.lines().filter(|l| l.contains("manual  ")).collect();
    assert_eq!(plan.len(), 2, "{stdout}");
    assert!(
        plan[0].contains(" two ") && plan[0].contains(" 12s "),
        "{stdout}"
    );
    // The last phase's line includes the finish fade and the silence after it.
    assert!(
        plan[1].contains(" four ") && plan[1].contains(" 42.1s "),
        "{stdout}"
    );
}

#[test]
fn a_bad_manual_after_or_phase_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("x.wav");
    for (args, says) in [
        (
            vec!["--manual-after", "soon"],
            "invalid value 'soon' for '--manual-after",
        ),
        (vec!["--from", "nowhere"], "has no phase `nowhere`"),
    ] {
        let assert = Command::cargo_bin("sanctum")
            .expect("binary")
            .arg("render")
            .arg(root().join("scenes/demo"))
            .arg("--out")
            .arg(&out)
            .args(&args)
            .assert()
            .failure();
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!out.exists(), "no file is left behind for a refused render");
    }
}
