//! The demo ceremony end to end through the real cpal/ALSA path (design §6): `sanctum run
//! scenes/demo --output default` plays into ALSA's `file` plugin, paced in real time by `pv`.
//! The recording is read back as f32 stereo at 48 kHz and its loudness envelope is checked
//! against the times the scene files give: silence at the start, the bed's fade-in, a
//! crossfade without a dip, a fade-out to silence, no clipping, no dropouts, and a length that
//! matches the plan. Takes the demo's real length, about two minutes.
#![cfg(feature = "cpal")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use toml::{Table, Value};

/// A fresh state folder for one `sanctum` process, so that no test resumes another's
/// ceremony (and none touches the machine's /var/lib/sanctum).
fn fresh_state() -> std::path::PathBuf {
    tempfile::tempdir().expect("tempdir").keep()
}

/// The device rate and layout cpal negotiates with the `file` plugin (design §6).
const RATE: usize = 48_000;
/// Every bed in `sounds/` is normalised to this RMS over its loop (`sounds/README.md`,
/// "Levels"); scene gains, rig layer trims and the master volume move it from there.
const BED_RMS_DBFS: f64 = -24.0;
/// "Silence": the fade-out must reach this, and the plan's tail must stay below it.
const SILENCE_DBFS: f64 = -60.0;
/// Envelope window, printed and used for the silence checks.
const WINDOW: f64 = 0.25;
/// How far a crossfade's level over 1 s may sink below the quieter of its two beds at that
/// moment (each at full planned gain, plus what plays under them). Equal-power gains make the
/// sum a power-weighted mean of the two, never below the quieter: ideally 0 dB. Linear and
/// s-curve crossfades sink up to 3 dB below it at their midpoint. A run of this test with the
/// demo's crossfade set to s-curve measured −2.6 dB; equal-power runs measured about −0.2 dB.
const MAX_CROSSFADE_DIP_DB: f64 = 1.0;
/// How closely the recording must follow the model of an equal-power crossfade of the actual
/// material (RMS over 250 ms windows, in dB): equal-power runs fit within about 0.8 dB (the
/// model ignores the limiter, resampling of nothing, and the 250 ms grid), the s-curve run
/// within 1.6 dB.
const MAX_MODEL_ERROR_DB: f64 = 1.2;

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/demo")
}

fn read_toml(path: &Path) -> Table {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.parse()
        .unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn secs(v: Option<&Value>, what: &str) -> f64 {
    let text = v
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{what}: missing duration"));
    sanctum::units::parse_duration(text)
        .unwrap_or_else(|e| panic!("{what}: {e}"))
        .as_secs_f64()
}

fn db_of(v: Option<&Value>) -> f64 {
    match v {
        Some(Value::Integer(i)) => f64::from(i32::try_from(*i).expect("small gain")),
        Some(Value::Float(f)) => *f,
        _ => 0.0,
    }
}

/// One cue of the ceremony, at its time from the ceremony's start.
struct PlannedCue {
    at: f64,
    cue: Table,
}

/// A layer change: a fade with its start, length and curve.
#[derive(Debug, Clone)]
struct Fade {
    start: f64,
    len: f64,
    curve: String,
    gain_db: f64,
    /// The file it plays (`None` for gain changes and stops).
    file: Option<String>,
}

/// A layer playing under the crossfade (the texture).
struct Under {
    layer: String,
    file: String,
    fade: Fade,
    /// Scene gain + rig trim + master volume, in dB.
    dbfs_gain: f64,
}

/// What the demo's scene files say will sound when.
struct Plan {
    /// Ceremony start to the end of the finish fade (when `run` exits).
    end: f64,
    /// The first bed fading in at the start.
    fade_in: Fade,
    /// The bed's expected RMS once faded in: bed level + cue gain + rig trim + master.
    bed_dbfs: f64,
    /// The bed layer's rig trim + master volume, in dB.
    bed_trim_db: f64,
    /// Layers other than the bed playing when the crossfade starts.
    under: Vec<Under>,
    /// When the next cue after the fade-in changes the sound (end of the plateau).
    fade_in_plateau_end: f64,
    /// The bed crossfading from one file to another.
    crossfade: Fade,
    /// The fade that silences the last layers.
    fade_out: Fade,
    /// One-shots: start and file.
    one_shots: Vec<(f64, String)>,
}

fn layer_fade(start: f64, layer: &Table) -> Fade {
    Fade {
        start,
        len: secs(layer.get("fade"), "layer fade"),
        curve: layer
            .get("curve")
            .and_then(Value::as_str)
            .unwrap_or("equal-power")
            .to_owned(),
        gain_db: db_of(layer.get("gain_db")),
        file: layer.get("file").and_then(Value::as_str).map(str::to_owned),
    }
}

fn plan() -> Plan {
    let dir = demo();
    let ceremony = read_toml(&dir.join("ceremony.toml"));
    let rig = read_toml(&dir.join("rig.toml"));
    let mut cues = Vec::new();
    let mut t = 0.0;
    for phase in ceremony["phase"].as_array().expect("phases") {
        let scene = read_toml(&dir.join(phase["scene"].as_str().expect("scene file")));
        for cue in scene["cue"].as_array().expect("cues") {
            let cue = cue.as_table().expect("cue table").clone();
            cues.push(PlannedCue {
                at: t + secs(cue.get("at"), "cue at"),
                cue,
            });
        }
        t += secs(
            phase.get("after"),
            "phase after (the demo moves on by itself)",
        );
    }
    let finish_fade = secs(ceremony.get("finish_fade"), "finish_fade");
    let end = t + finish_fade;
    cues.sort_by(|a, b| a.at.total_cmp(&b.at));

    let layers = |c: &PlannedCue| c.cue.get("layers").and_then(Value::as_table).cloned();
    let first = cues.first().expect("a first cue");
    let bed = layers(first)
        .and_then(|l| l.get("bed").and_then(Value::as_table).cloned())
        .expect("the demo's first cue starts the bed");
    let fade_in = layer_fade(first.at, &bed);
    let trim = |layer: &str| {
        rig.get("layers")
            .and_then(|l| l.get(layer))
            .map_or(0.0, |b| db_of(b.get("gain_db")))
            + db_of(rig.get("volume_db"))
    };
    let bed_trim_db = trim("bed");
    let bed_dbfs = BED_RMS_DBFS + fade_in.gain_db + bed_trim_db;
    let fade_in_plateau_end = cues
        .iter()
        .find(|c| c.at > fade_in.start)
        .map_or(end, |c| c.at);

    let crossfade = cues
        .iter()
        .filter(|c| c.at > fade_in.start)
        .find_map(|c| {
            let bed = layers(c)?.get("bed")?.as_table()?.clone();
            bed.contains_key("file").then(|| layer_fade(c.at, &bed))
        })
        .expect("the demo crossfades its bed to another file");
    let mut under = Vec::new();
    for c in cues.iter().filter(|c| c.at < crossfade.start) {
        for (name, l) in layers(c).iter().flatten() {
            let l = l.as_table().expect("layer table");
            if name == "bed" {
                continue;
            }
            assert!(
                l.contains_key("file"),
                "{name} changes before the crossfade: the crossfade model needs plain plays"
            );
            under.retain(|u: &Under| u.layer != *name);
            {
                let fade = layer_fade(c.at, l);
                under.push(Under {
                    layer: name.clone(),
                    file: fade.file.clone().expect("file"),
                    dbfs_gain: fade.gain_db + trim(name),
                    fade,
                });
            }
        }
    }

    // The last cue that leaves no layer playing fades the sound out; without one, the finish
    // fade does.
    let mut playing = std::collections::BTreeSet::new();
    let mut fade_out = None;
    for c in &cues {
        let Some(ls) = layers(c) else { continue };
        let mut longest: Option<Fade> = None;
        for (name, l) in &ls {
            let l = l.as_table().expect("layer table");
            if l.contains_key("file") || l.contains_key("playlist") {
                playing.insert(name.clone());
            } else if l.get("stop").and_then(Value::as_bool) == Some(true) {
                playing.remove(name);
                let f = layer_fade(c.at, l);
                if longest.as_ref().is_none_or(|x| f.len > x.len) {
                    longest = Some(f);
                }
            }
        }
        if playing.is_empty() {
            fade_out = longest;
        }
    }
    let fade_out = fade_out.unwrap_or(Fade {
        start: t,
        len: finish_fade,
        curve: "equal-power".to_owned(),
        gain_db: 0.0,
        file: None,
    });

    let one_shots = cues
        .iter()
        .flat_map(|c| {
            let sounds = c.cue.get("sounds").and_then(Value::as_array);
            sounds.into_iter().flatten().map(|s| {
                let file = s["file"].as_str().expect("one-shot file").to_owned();
                (c.at, file)
            })
        })
        .collect();
    Plan {
        end,
        fade_in,
        bed_dbfs,
        bed_trim_db,
        under,
        fade_in_plateau_end,
        crossfade,
        fade_out,
        one_shots,
    }
}

type Ogg = lewton::inside_ogg::OggStreamReader<std::io::BufReader<std::fs::File>>;

/// Opens a file in `sounds/` for decoding.
fn open_sound(file: &str) -> Ogg {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sounds")
        .join(file);
    let f = std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    Ogg::new(std::io::BufReader::new(f)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Length of a sound file in `sounds/`, in seconds.
fn sound_secs(file: &str) -> f64 {
    let mut r = open_sound(file);
    let rate = f64::from(r.ident_hdr.audio_sample_rate);
    let channels = usize::from(r.ident_hdr.audio_channels);
    let mut samples = 0usize;
    while let Some(p) = r
        .read_dec_packet_itl()
        .unwrap_or_else(|e| panic!("{file}: {e}"))
    {
        samples += p.len();
    }
    #[allow(clippy::cast_precision_loss)]
    let s = (samples / channels) as f64 / rate;
    s
}

/// The recording: interleaved stereo f32, and where the first sound begins.
struct Recording {
    samples: Vec<f32>,
    /// Seconds from the start of the file to the first non-zero sample: the bed voice
    /// starting, i.e. the ceremony's 0 s (plus the decoder's few-ms prefill).
    onset: f64,
    /// How much later than `onset + t` later cues land in the file: cpal runs ahead of the
    /// engine's clock by what the pipe and `pv` buffer. Fitted on the crossfade.
    lag: f64,
}

impl Recording {
    fn frames(&self) -> usize {
        self.samples.len() / 2
    }

    fn secs(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let s = self.frames() as f64 / RATE as f64;
        s
    }

    /// File frame at ceremony time `t` (clamped to the file).
    fn frame_at(&self, t: f64) -> usize {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let f = ((self.onset + t).max(0.0) * RATE as f64).round() as usize;
        f.min(self.frames())
    }

    /// Mean power of both channels over ceremony time `[from, to)`, in dBFS.
    fn level(&self, from: f64, to: f64) -> f64 {
        let (a, b) = (self.frame_at(from), self.frame_at(to));
        assert!(b > a, "empty span {from}..{to} s");
        power_db(&self.samples[a * 2..b * 2])
    }
}

fn power_db(samples: &[f32]) -> f64 {
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    #[allow(clippy::cast_precision_loss)]
    let mean = sum / samples.len().max(1) as f64;
    10.0 * mean.max(1e-20).log10()
}

/// Reads the `file` plugin's output. cpal negotiates F32 stereo at 48 kHz there (design §6);
/// anything else (S16, another rate) shows as insane floats or a wrong length, caught here
/// and by the length check.
fn read_recording(path: &Path) -> Recording {
    let bytes = std::fs::read(path).expect("ALSA's file plugin wrote the recording");
    assert!(
        bytes.len().is_multiple_of(8),
        "{} bytes: not whole f32 stereo frames",
        bytes.len()
    );
    let samples: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let insane = samples
        .iter()
        .filter(|s| !s.is_finite() || s.abs() > 1.0)
        .count();
    assert_eq!(
        insane, 0,
        "{insane} samples are not floats in -1..=1: cpal did not negotiate F32"
    );
    let first = samples
        .iter()
        .position(|&s| s != 0.0)
        .expect("the recording is all silence");
    #[allow(clippy::cast_precision_loss)]
    let onset = (first / 2) as f64 / RATE as f64;
    Recording {
        samples,
        onset,
        lag: 0.0,
    }
}

/// Frames where the output drops out: a 5 ms block more than 20 dB below the median of the
/// 50 ms before it, while that was audible. Mixer underruns (a voice whose decoder fell
/// behind) and lost buffers look like this; the demo's material never does (its fastest
/// fall is an 8 s fade).
fn dropouts(samples: &[f32], until_frame: usize) -> Vec<f64> {
    const BLOCK: usize = 240;
    let blocks: Vec<f64> = samples[..until_frame.min(samples.len() / 2) * 2]
        .chunks_exact(BLOCK * 2)
        .map(power_db)
        .collect();
    let mut found = Vec::new();
    for i in 10..blocks.len() {
        let mut before = blocks[i - 10..i].to_vec();
        before.sort_by(f64::total_cmp);
        let median = before[5];
        if median > SILENCE_DBFS && blocks[i] < median - 20.0 {
            #[allow(clippy::cast_precision_loss)]
            found.push((i * BLOCK) as f64 / RATE as f64);
        }
    }
    found
}

/// Prints the envelope, four 250 ms windows a line, in ceremony time.
fn print_envelope(rec: &Recording) {
    println!(
        "envelope (dBFS RMS per {WINDOW} s window; t = ceremony time, file onset {:.3} s):",
        rec.onset
    );
    let mut t = -rec.onset;
    let mut line = String::new();
    let mut n = 0;
    while rec.frame_at(t + WINDOW) > rec.frame_at(t) {
        if n % 4 == 0 {
            line = format!("{t:7.2}s ");
        }
        let db = rec.level(t, t + WINDOW);
        line.push_str(&format!("{:7.1}", db.max(-120.0)));
        n += 1;
        if n % 4 == 0 {
            println!("{line}");
        }
        t += WINDOW;
    }
    if n % 4 != 0 {
        println!("{line}");
    }
}

fn require_pv() {
    let found = Command::new("pv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`pv` is missing: it paces ALSA's file plugin in real time; run scripts/setup.sh"
    );
}

/// Runs the demo into ALSA's `file` plugin, paced by `pv`, and returns the recording.
fn record_demo(plan: &Plan) -> Recording {
    require_pv();
    let home = tempfile::tempdir().expect("tempdir");
    let raw = home.path().join("out.raw");
    std::fs::write(
        home.path().join(".asoundrc"),
        format!(
            "pcm.!default {{ type file; slave.pcm \"null\"; file \"|pv -q -L {} > '{}'\"; format \"raw\" }}\n",
            RATE * 2 * 4,
            raw.display()
        ),
    )
    .expect("write .asoundrc");
    let started = std::time::Instant::now();
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_sanctum"))
        .env("STATE_DIRECTORY", fresh_state())
        .args(["run", "scenes/demo", "--output", "default", "--no-mqtt"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HOME", home.path())
        .write_stdin("")
        .timeout(Duration::from_secs_f64(plan.end + 60.0))
        .output()
        .expect("sanctum runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!(
        "sanctum ran {:.1} s\n{stdout}{stderr}",
        started.elapsed().as_secs_f64()
    );
    assert!(out.status.success(), "sanctum run failed: {stderr}");
    assert!(
        stdout.trim_end().ends_with("■ finished: Demo"),
        "the demo did not run to its end"
    );
    read_recording(&raw)
}

#[test]
fn the_demo_through_cpal_and_alsa_fades_in_crossfades_and_fades_out_as_planned() {
    let plan = plan();
    let mut rec = record_demo(&plan);
    print_envelope(&rec);

    // Length. The ceremony lasts `plan.end` on the wall clock from its first cue to the end
    // of the finish fade; `pv` lets the stream run no faster than real time, and the pipe
    // (64 KiB ≈ 0.17 s) is all it can run ahead by. Before the onset lie start-up and the
    // decoder's prefill; after the end, the exit and ALSA's drain. A lost second (a stalled
    // callback, xruns) or an extra one (pacing lost) is a failure.
    let run = rec.secs() - rec.onset;
    println!(
        "length: {:.2} s in all, {:.3} s before the first sound, {run:.2} s from it (plan {:.1} s)",
        rec.secs(),
        rec.onset,
        plan.end
    );
    assert!(rec.onset < 5.0, "{:.2} s of start-up silence", rec.onset);
    assert!(
        (run - plan.end).abs() <= 1.0,
        "{run:.2} s of audio from the first sound, planned {:.1} s: real-time pacing was lost (a starved audio thread or `pv`; under heavy CPU load `pv -L` falls behind and does not catch up)",
        plan.end
    );

    // Never clips: the limiter's ceiling is -1 dBFS.
    let peak = rec.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    let peak_db = 20.0 * f64::from(peak).log10();
    println!("peak: {peak_db:.1} dBFS");
    assert!(peak_db <= 0.0, "clipped: peak {peak_db:.2} dBFS");

    // No dropouts from the first sound to the end of the fade-out.
    let holes = dropouts(
        &rec.samples,
        rec.frame_at(plan.fade_out.start + plan.fade_out.len),
    );
    println!("dropouts: {holes:?}");
    assert!(
        holes.is_empty(),
        "the output dropped out at {holes:?} s (file time)"
    );

    check_fade_in(&rec, &plan);
    check_crossfade(&mut rec, &plan);
    check_fade_out(&rec, &plan);
}

fn check_fade_in(rec: &Recording, plan: &Plan) {
    let f = &plan.fade_in;
    let first = power_db(&rec.samples[..rec.frame_at(-rec.onset + WINDOW) * 2]);
    let opening = rec.level(f.start, f.start + WINDOW);
    let plateau = rec.level(f.start + f.len, plan.fade_in_plateau_end);
    let steps: Vec<f64> = (0..6)
        .map(|i| {
            let step = f.len / 6.0;
            rec.level(
                f.start + step * f64::from(i),
                f.start + step * f64::from(i + 1),
            )
        })
        .collect();
    println!(
        "fade-in ({} over {} s): file start {first:.1}, first {WINDOW} s {opening:.1}, sixths {steps:.1?}, then {plateau:.1} dBFS (planned {:.1})",
        f.curve, f.len, plan.bed_dbfs
    );
    assert!(
        first < SILENCE_DBFS,
        "the file starts with sound: {first:.1} dBFS"
    );
    assert!(
        opening < plan.bed_dbfs - 20.0,
        "the fade-in starts loud: {opening:.1} dBFS in its first {WINDOW} s"
    );
    assert!(
        (plateau - plan.bed_dbfs).abs() <= 3.0,
        "the bed settles at {plateau:.1} dBFS, planned {:.1}",
        plan.bed_dbfs
    );
    // It rises over the whole fade, not at once: still well below after a sixth, and each
    // sixth at least as loud as the one before (1 dB allowed for the pad's own breathing).
    assert!(
        steps[0] < plateau - 6.0,
        "the fade-in jumps up: {:.1} dBFS in its first sixth",
        steps[0]
    );
    for w in steps.windows(2) {
        assert!(w[1] >= w[0] - 1.0, "the fade-in falls back: {steps:.1?}");
    }
    assert!(
        steps[5] > steps[0] + 15.0,
        "the fade-in hardly rises: {steps:.1?}"
    );
}

/// The first `secs` of a bed in `sounds/`, interleaved stereo at 48 kHz (beds need no
/// resampling, so the mixer plays exactly these samples, times its gains).
fn decode_head(file: &str, secs: f64) -> Vec<f32> {
    let mut r = open_sound(file);
    assert_eq!(
        r.ident_hdr.audio_sample_rate as usize, RATE,
        "{file}: not 48 kHz"
    );
    assert_eq!(r.ident_hdr.audio_channels, 2, "{file}: not stereo");
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let want = (secs * RATE as f64) as usize * 2;
    let mut out = Vec::with_capacity(want);
    while out.len() < want {
        match r
            .read_dec_packet_generic::<lewton::samples::InterleavedSamples<f32>>()
            .unwrap_or_else(|e| panic!("{file}: {e}"))
        {
            Some(p) => out.extend_from_slice(&p.samples),
            None => break,
        }
    }
    out
}

/// Mean power of `src` (stereo) over `[from, to)` seconds of it, silence outside it.
fn src_power(src: &[f32], from: f64, to: f64) -> f64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let at = |t: f64| ((t.max(0.0) * RATE as f64).round() as usize).min(src.len() / 2);
    let (a, b) = (at(from), at(to));
    let sum: f64 = src[a * 2..b * 2]
        .iter()
        .map(|&s| f64::from(s) * f64::from(s))
        .sum();
    sum / ((to - from) * RATE as f64 * 2.0)
}

fn db(power: f64) -> f64 {
    10.0 * power.max(1e-20).log10()
}

fn check_crossfade(rec: &mut Recording, plan: &Plan) {
    let x = &plan.crossfade;
    let (start, end) = (x.start, x.start + x.len);
    let (from, to) = (start - 4.0, end + 4.0);
    assert_eq!(
        x.curve, "equal-power",
        "the no-dip check expects the demo's bed crossfade to be equal-power"
    );
    // One-shots duck the layers for as long as they sound (plus a 1.5 s release) and add
    // their own ring: none may overlap the crossfade or the spans around it.
    for (at, file) in &plan.one_shots {
        let until = at + sound_secs(file) + 1.5;
        assert!(
            until <= from || *at >= to,
            "{file} at {at} s sounds over the crossfade's {from}..{to} s; the dip cannot be judged"
        );
    }
    // A model of the crossfade from the material itself: the outgoing bed (playing since the
    // fade-in), the incoming one, and the texture under both, each at its planned gain, with
    // equal-power gains. The beds breathe by several dB within seconds, so "no dip" is judged
    // against what each bed does at that very moment, not against averages.
    for l in &plan.under {
        assert!(
            l.fade.start + l.fade.len <= from,
            "{} still fades at {from} s; the crossfade model assumes it steady",
            l.file
        );
    }
    let outgoing = decode_head(
        plan.fade_in
            .file
            .as_deref()
            .expect("the fade-in plays a file"),
        to + 2.0,
    );
    let incoming = decode_head(x.file.as_deref().expect("crossfade file"), to - start + 2.0);
    let under: Vec<(Vec<f32>, f64, f64)> = plan
        .under
        .iter()
        .map(|l| {
            (
                decode_head(&l.file, to - l.fade.start + 2.0),
                l.fade.start,
                l.dbfs_gain,
            )
        })
        .collect();
    let gain = |db: f64| 10f64.powf(db / 10.0);
    let (g_out, g_in) = (
        gain(plan.fade_in.gain_db + plan.bed_trim_db),
        gain(x.gain_db + plan.bed_trim_db),
    );
    let ep = |p: f64| (p.clamp(0.0, 1.0) * std::f64::consts::FRAC_PI_2).sin();
    // `t` is ceremony time; `lag` how much later than `onset + t` the engine's cues land in
    // the file (the pipe and `pv` let cpal run ahead of the engine's clock).
    let model = |t: f64, w: f64, lag: f64| {
        let c = t - start - lag;
        let a = src_power(&outgoing, t, t + w) * g_out;
        let b = src_power(&incoming, c, c + w) * g_in;
        let u: f64 = under
            .iter()
            .map(|(s, at, g)| src_power(s, t - at - lag, t - at - lag + w) * gain(*g))
            .sum();
        let p = (c + w / 2.0) / x.len;
        (
            ep(1.0 - p).powi(2) * a + ep(p).powi(2) * b + u,
            a + u,
            b + u,
        )
    };
    let windows: Vec<f64> = (0..)
        .map(|k| from + f64::from(k) * WINDOW)
        .take_while(|t| t + WINDOW <= to + 1e-9)
        .collect();
    let measured: Vec<f64> = windows.iter().map(|&t| rec.level(t, t + WINDOW)).collect();
    let fit = |lag: f64| {
        let e: f64 = windows
            .iter()
            .zip(&measured)
            .map(|(&t, m)| (m - db(model(t, WINDOW, lag).0)).powi(2))
            .sum();
        #[allow(clippy::cast_precision_loss)]
        let n = windows.len() as f64;
        (e / n).sqrt()
    };
    let (err, lag) = (-10..=30)
        .map(|k| f64::from(k) * 0.05)
        .map(|lag| (fit(lag), lag))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .expect("lags");
    rec.lag = lag;
    println!(
        "crossfade ({} over {} s at {start} s): cues land {lag:.2} s after onset + t; the equal-power model fits {from}..{to} s within {err:.2} dB RMS",
        x.curve, x.len
    );
    let mut worst = f64::INFINITY;
    let mut t = start + lag;
    while t + 1.0 <= end + lag + 1e-9 {
        let m = rec.level(t, t + 1.0);
        let (p, a, b) = model(t, 1.0, lag);
        let above = m - db(a.min(b));
        println!(
            "  {t:6.2} s: {m:6.1} dBFS (model {:6.1}; outgoing alone {:6.1}, incoming alone {:6.1}): {above:+.1} dB over the quieter",
            db(p),
            db(a),
            db(b)
        );
        worst = worst.min(above);
        t += WINDOW;
    }
    assert!(
        err <= MAX_MODEL_ERROR_DB,
        "the crossfade does not follow an equal-power crossfade of the material: {err:.2} dB RMS off"
    );
    assert!(
        worst >= -MAX_CROSSFADE_DIP_DB,
        "the crossfade dips {:.2} dB below the quieter bed of the moment",
        -worst
    );
}

fn check_fade_out(rec: &Recording, plan: &Plan) {
    let f = &plan.fade_out;
    let (start, end) = (f.start + rec.lag, f.start + f.len + rec.lag);
    let before = rec.level(start - 2.0, start);
    let quarters: Vec<f64> = (0..4)
        .map(|i| {
            let q = f.len / 4.0;
            rec.level(start + q * f64::from(i), start + q * f64::from(i + 1))
        })
        .collect();
    let tail_start = end + WINDOW;
    let mut loudest_tail = f64::NEG_INFINITY;
    let mut t = tail_start;
    while rec.frame_at(t + WINDOW) > rec.frame_at(t) + RATE / 8 {
        loudest_tail = loudest_tail.max(rec.level(t, t + WINDOW));
        t += WINDOW;
    }
    println!(
        "fade-out ({} over {} s at {} s): before {before:.1}, quarters {quarters:.1?}, loudest {WINDOW} s after it {loudest_tail:.1} dBFS over {:.1} s",
        f.curve,
        f.len,
        f.start,
        t - tail_start
    );
    // Falls over the whole fade rather than cutting off: the first quarter still close to the
    // level before it, each quarter quieter than the last, audible until the last quarter.
    assert!(
        quarters[0] > before - 3.0,
        "the fade-out drops at once: {before:.1} → {:.1} dBFS",
        quarters[0]
    );
    for w in quarters.windows(2) {
        assert!(w[1] < w[0], "the fade-out does not fall: {quarters:.1?}");
    }
    assert!(
        quarters[2] > SILENCE_DBFS,
        "silent before the fade-out's last quarter: {quarters:.1?}"
    );
    // And reaches silence, which lasts to the end of the recording (the finish fade has
    // nothing left to fade in the demo; if it had, this span would show it).
    assert!(
        t - tail_start >= 1.0,
        "the recording ends {:.1} s after the fade-out; silence not seen",
        t - tail_start
    );
    assert!(
        loudest_tail < SILENCE_DBFS,
        "not silent after the fade-out: {loudest_tail:.1} dBFS"
    );
}
