//! Owns the checks on the committed sound set in `sounds/`: every file decodes at its
//! intended rate, beds are long enough, loop without a click and are loudness-matched,
//! one-shots start and end in silence, nothing peaks above −1 dBFS, and the folder
//! stays within its 10 MB budget. Decoding uses `lewton` (pure Rust Vorbis).

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::sync::OnceLock;

use lewton::inside_ogg::OggStreamReader;
use lewton::samples::InterleavedSamples;

/// Looping beds: 48 kHz, at least a minute, gapless, loudness-matched.
const BEDS: &[&str] = &["drone-d", "pad-a", "pad-f", "pad-rise", "rain", "ocean"];
/// One-shots: 44.1 kHz, start and end in silence.
const ONE_SHOTS: &[&str] = &["bowl-low", "bowl-high", "chime"];
/// The loudness every bed is normalised to (RMS, all channels pooled), see
/// `sounds/README.md`.
const BED_RMS_TARGET_DBFS: f64 = -24.0;
/// Budget for the whole `sounds/` folder, in bytes (10 MB).
const FOLDER_BUDGET_BYTES: u64 = 10_000_000;

/// A decoded sound file.
struct Sound {
    name: &'static str,
    rate: u32,
    channels: Vec<Vec<f32>>,
}

impl Sound {
    fn frames(&self) -> usize {
        self.channels[0].len()
    }

    fn seconds(&self) -> f64 {
        self.frames() as f64 / f64::from(self.rate)
    }

    fn rms_dbfs(&self) -> f64 {
        let count: usize = self.channels.iter().map(Vec::len).sum();
        let sum: f64 = self
            .channels
            .iter()
            .flatten()
            .map(|&s| f64::from(s) * f64::from(s))
            .sum();
        to_db((sum / count as f64).sqrt())
    }

    fn peak_dbfs(&self) -> f64 {
        let peak = self
            .channels
            .iter()
            .flatten()
            .fold(0.0f64, |m, &s| m.max(f64::from(s).abs()));
        to_db(peak)
    }
}

fn to_db(gain: f64) -> f64 {
    20.0 * gain.max(1e-12).log10()
}

fn sounds_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sounds")
}

/// Decodes one OGG file of `sounds/` completely, de-interleaved.
fn decode(name: &'static str) -> Sound {
    let path = sounds_dir().join(format!("{name}.ogg"));
    let file = File::open(&path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut reader = OggStreamReader::new(BufReader::new(file))
        .unwrap_or_else(|e| panic!("{name}: not a readable Ogg Vorbis stream: {e}"));
    let count = usize::from(reader.ident_hdr.audio_channels);
    let rate = reader.ident_hdr.audio_sample_rate;
    let mut channels = vec![Vec::new(); count];
    while let Some(packet) = reader
        .read_dec_packet_generic::<InterleavedSamples<f32>>()
        .unwrap_or_else(|e| panic!("{name}: decoding failed: {e}"))
    {
        for frame in packet.samples.chunks_exact(count) {
            for (channel, &sample) in channels.iter_mut().zip(frame) {
                channel.push(sample);
            }
        }
    }
    assert!(
        !channels[0].is_empty(),
        "{name}: decoded to no audio at all"
    );
    Sound {
        name,
        rate,
        channels,
    }
}

/// Every sound, decoded once (two threads: decoding is the slow part of this suite).
fn all() -> &'static [Sound] {
    static SOUNDS: OnceLock<Vec<Sound>> = OnceLock::new();
    SOUNDS.get_or_init(|| {
        let names: Vec<&'static str> = BEDS.iter().chain(ONE_SHOTS).copied().collect();
        let (first, second) = names.split_at(names.len() / 2);
        std::thread::scope(|scope| {
            let other = scope.spawn(|| second.iter().map(|n| decode(n)).collect::<Vec<_>>());
            let mut sounds: Vec<Sound> = first.iter().map(|n| decode(n)).collect();
            sounds.extend(other.join().expect("decoder thread panicked"));
            sounds
        })
    })
}

fn beds() -> impl Iterator<Item = &'static Sound> {
    all().iter().filter(|s| BEDS.contains(&s.name))
}

fn one_shots() -> impl Iterator<Item = &'static Sound> {
    all().iter().filter(|s| ONE_SHOTS.contains(&s.name))
}

#[test]
fn every_sound_decodes_at_its_intended_rate() {
    for sound in all() {
        let want = if BEDS.contains(&sound.name) {
            48_000
        } else {
            44_100
        };
        assert_eq!(sound.rate, want, "{}: sample rate", sound.name);
        assert!(
            (1..=2).contains(&sound.channels.len()),
            "{}: {} channels",
            sound.name,
            sound.channels.len()
        );
        println!(
            "{:<10} {:>6} Hz {} ch {:>7.2} s  rms {:>7.2} dBFS  peak {:>7.2} dBFS",
            sound.name,
            sound.rate,
            sound.channels.len(),
            sound.seconds(),
            sound.rms_dbfs(),
            sound.peak_dbfs()
        );
    }
}

#[test]
fn beds_last_at_least_a_minute() {
    for bed in beds() {
        assert!(
            bed.seconds() >= 60.0,
            "{}: only {:.2} s long, a bed must last at least 60 s",
            bed.name,
            bed.seconds()
        );
    }
}

/// The jump from the last sample back to the first must look like any other step of
/// the signal: no larger than the largest step anywhere inside the file, and no
/// larger than twice the largest step within 20 ms either side of the seam (a click
/// that hides below a loud passage elsewhere still stands out locally).
#[test]
fn beds_loop_without_a_click() {
    for bed in beds() {
        let near = (0.02 * f64::from(bed.rate)) as usize;
        for (c, x) in bed.channels.iter().enumerate() {
            let seam = (x[0] - x[x.len() - 1]).abs();
            let max_step = x
                .windows(2)
                .map(|w| (w[1] - w[0]).abs())
                .fold(0.0f32, f32::max);
            let local_step = x[..near]
                .windows(2)
                .chain(x[x.len() - near..].windows(2))
                .map(|w| (w[1] - w[0]).abs())
                .fold(0.0f32, f32::max);
            println!(
                "{:<10} ch{c}: seam step {seam:.6}, max step in file {max_step:.6}, \
                 max step within 20 ms of the seam {local_step:.6}",
                bed.name
            );
            assert!(
                seam <= max_step,
                "{} channel {c}: loop seam jumps {seam:.6} but the largest step inside \
                 the file is {max_step:.6}: the loop clicks",
                bed.name
            );
            assert!(
                seam <= 2.0 * local_step,
                "{} channel {c}: loop seam jumps {seam:.6}, more than twice the largest \
                 step within 20 ms of it ({local_step:.6}): the loop clicks",
                bed.name
            );
        }
    }
}

#[test]
fn beds_are_loudness_matched() {
    let levels: Vec<(&str, f64)> = beds().map(|b| (b.name, b.rms_dbfs())).collect();
    let loudest = levels.iter().map(|l| l.1).fold(f64::MIN, f64::max);
    let softest = levels.iter().map(|l| l.1).fold(f64::MAX, f64::min);
    assert!(
        loudest - softest <= 1.0,
        "bed RMS levels spread over {:.2} dB (more than 1 dB): {levels:?}",
        loudest - softest
    );
    for (name, rms) in &levels {
        assert!(
            (rms - BED_RMS_TARGET_DBFS).abs() <= 1.0,
            "{name}: RMS {rms:.2} dBFS is more than 1 dB from the documented target \
             {BED_RMS_TARGET_DBFS} dBFS"
        );
    }
}

#[test]
fn nothing_peaks_above_minus_one_dbfs() {
    for sound in all() {
        let peak = sound.peak_dbfs();
        assert!(
            peak <= -1.0,
            "{}: peaks at {peak:.2} dBFS, above the −1 dBFS ceiling",
            sound.name
        );
    }
}

/// One-shots peak below the beds' own peaks so a strike never jumps out of the room,
/// the chime softest of all; bowls ring for a long time, the chime briefly.
#[test]
fn one_shots_are_soft_and_sized_for_their_use() {
    let bed_peak = beds().map(Sound::peak_dbfs).fold(f64::MAX, f64::min);
    for shot in one_shots() {
        let peak = shot.peak_dbfs();
        assert!(
            peak <= bed_peak,
            "{}: peaks at {peak:.2} dBFS, louder than the softest-peaking bed ({bed_peak:.2} dBFS)",
            shot.name
        );
        let (shortest, longest, ceiling) = match shot.name {
            "chime" => (4.0, 8.0, -14.0),
            _ => (15.0, 30.0, -10.0),
        };
        assert!(
            (shortest..=longest).contains(&shot.seconds()),
            "{}: lasts {:.2} s, expected {shortest}–{longest} s",
            shot.name,
            shot.seconds()
        );
        assert!(
            peak <= ceiling,
            "{}: peaks at {peak:.2} dBFS, expected at most {ceiling} dBFS",
            shot.name
        );
    }
}

/// A one-shot must neither start nor stop on a click: its first sample is silent and
/// its last 50 ms have died away below −50 dBFS.
#[test]
fn one_shots_start_and_end_in_silence() {
    for shot in one_shots() {
        let tail = (0.05 * f64::from(shot.rate)) as usize;
        for (c, x) in shot.channels.iter().enumerate() {
            let first = to_db(f64::from(x[0].abs()));
            let end_peak = x[x.len() - tail..]
                .iter()
                .fold(0.0f64, |m, &s| m.max(f64::from(s).abs()));
            assert!(
                first <= -60.0,
                "{} channel {c}: starts at {first:.1} dBFS, not in silence",
                shot.name
            );
            assert!(
                to_db(end_peak) <= -50.0,
                "{} channel {c}: the last 50 ms still peak at {:.1} dBFS: it stops abruptly",
                shot.name,
                to_db(end_peak)
            );
        }
    }
}

#[test]
fn sounds_folder_fits_its_budget() {
    let mut total = 0;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(sounds_dir()).expect("sounds/ is readable") {
        let entry = entry.expect("directory entry");
        let meta = entry.metadata().expect("file metadata");
        if meta.is_file() {
            total += meta.len();
            files.push((entry.file_name(), meta.len()));
        }
    }
    assert!(
        total <= FOLDER_BUDGET_BYTES,
        "sounds/ holds {total} bytes, over the {FOLDER_BUDGET_BYTES}-byte budget: {files:?}"
    );
    for name in BEDS.iter().chain(ONE_SHOTS) {
        assert!(
            sounds_dir().join(format!("{name}.ogg")).is_file(),
            "sounds/{name}.ogg is missing"
        );
    }
}
