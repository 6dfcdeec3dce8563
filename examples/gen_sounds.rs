//! Owns the synthesis of sanctum's own sound set (drone, pads, rain, ocean, bowls, chime).
//!
//! Run `cargo run --release --example gen_sounds -- <out-dir>`: it writes one 32-bit
//! float WAV master per sound into `<out-dir>`. `scripts/gen-sounds.sh` runs it and
//! encodes the masters to OGG Vorbis in `sounds/`.
//!
//! Everything is synthesised here, from nothing: no recordings, no samples, so the
//! files carry no one else's licence. The output is fully deterministic: every sound
//! has its own fixed seed for a hand-written SplitMix64 generator, and nothing reads
//! the clock.
//!
//! **Gapless loops.** A bed is exactly [`LOOP_SECONDS`] long and every periodic
//! ingredient (partial frequencies, detune beats, LFOs, filter sweeps, wave swells)
//! completes a whole number of cycles in that time. Stateful processing (noise
//! colouring, filters, reverb) runs *circularly*: the processor first runs over the
//! tail of the loop to reach its steady state, then over the loop itself, so the last
//! frame flows into the first exactly as it would in an endless repetition. Random
//! events (rain drops, waves) wrap around the end of the loop.
//!
//! **Levels.** Beds are normalised to [`BED_RMS_DBFS`] RMS (all channels pooled) so a
//! crossfade between any two never jumps in level. One-shots are normalised by peak
//! ([`BOWL_PEAK_DBFS`], [`CHIME_PEAK_DBFS`]), below the beds' own peaks.

use std::error::Error;
use std::f64::consts::{FRAC_PI_2, PI, TAU};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One stereo frame, left then right.
type Frame = [f64; 2];

/// Sample rate of the beds (loops).
const BED_RATE: u32 = 48_000;
/// Sample rate of the one-shots, so the mixer's resampler is exercised both ways.
const ONE_SHOT_RATE: u32 = 44_100;
/// Length of every bed loop. All loop periodicities are whole divisors of it.
const LOOP_SECONDS: usize = 96;
/// RMS level of every bed, all channels pooled.
const BED_RMS_DBFS: f64 = -24.0;
/// Peak level of the singing-bowl strikes.
const BOWL_PEAK_DBFS: f64 = -12.0;
/// Peak level of the chime: softer still, it must never startle.
const CHIME_PEAK_DBFS: f64 = -16.0;
/// Frames per block over which partial gains are interpolated.
const BLOCK: usize = 256;
/// How long circular processing runs before the loop start to reach steady state.
const WARMUP_SECONDS: f64 = 16.0;

/// One sound of the set: its file stem, its seed and its recipe.
struct Sound {
    name: &'static str,
    seed: u64,
    make: fn(&mut Rng) -> Master,
}

/// The whole set, in the order it is reported.
const SOUNDS: &[Sound] = &[
    Sound {
        name: "drone-d",
        seed: 0x5A4C_7D01,
        make: drone_d,
    },
    Sound {
        name: "pad-a",
        seed: 0x5A4C_7D02,
        make: pad_a,
    },
    Sound {
        name: "pad-f",
        seed: 0x5A4C_7D03,
        make: pad_f,
    },
    Sound {
        name: "pad-rise",
        seed: 0x5A4C_7D04,
        make: pad_rise,
    },
    Sound {
        name: "rain",
        seed: 0x5A4C_7D05,
        make: rain,
    },
    Sound {
        name: "ocean",
        seed: 0x5A4C_7D06,
        make: ocean,
    },
    Sound {
        name: "bowl-low",
        seed: 0x5A4C_7D07,
        make: bowl_low,
    },
    Sound {
        name: "bowl-high",
        seed: 0x5A4C_7D08,
        make: bowl_high,
    },
    Sound {
        name: "chime",
        seed: 0x5A4C_7D09,
        make: chime,
    },
];

fn main() -> Result<(), Box<dyn Error>> {
    let out_dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or("usage: gen_sounds <out-dir>")?;
    std::fs::create_dir_all(&out_dir)?;

    let next = AtomicUsize::new(0);
    let reports: Mutex<Vec<(usize, Result<String, String>)>> = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(SOUNDS.len()));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(sound) = SOUNDS.get(i) else { break };
                    let result = render(sound, &out_dir).map_err(|e| e.to_string());
                    reports.lock().expect("report lock").push((i, result));
                }
            });
        }
    });

    let mut reports = reports.into_inner().expect("report lock");
    reports.sort_by_key(|(i, _)| *i);
    println!(
        "{:<10} {:>6} {:>3} {:>7} {:>9} {:>9} {:>9} {:>11} {:>11}",
        "sound", "rate", "ch", "seconds", "rms dBFS", "peak dBFS", "K-LU", "seam step", "max step"
    );
    let mut failed = false;
    for (i, result) in reports {
        match result {
            Ok(line) => println!("{line}"),
            Err(e) => {
                failed = true;
                eprintln!("{}: {e}", SOUNDS[i].name);
            }
        }
    }
    if failed {
        return Err("some sounds failed".into());
    }
    Ok(())
}

/// Renders one sound, levels it, writes its WAV master and returns a report line.
fn render(sound: &Sound, out_dir: &Path) -> Result<String, Box<dyn Error>> {
    let mut rng = Rng::new(sound.seed);
    let master = (sound.make)(&mut rng);
    let mut channels: Vec<Vec<f64>> = if master.mono {
        vec![master.frames.iter().map(|f| 0.5 * (f[0] + f[1])).collect()]
    } else {
        (0..2)
            .map(|c| master.frames.iter().map(|f| f[c]).collect())
            .collect()
    };

    let gain = match master.level {
        Level::Rms(db) => db_to_gain(db) / rms(&channels),
        Level::Peak(db) => db_to_gain(db) / peak(&channels),
    };
    for ch in &mut channels {
        ch.iter_mut().for_each(|s| *s *= gain);
    }

    let spec = hound::WavSpec {
        channels: u16::try_from(channels.len())?,
        sample_rate: master.rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let path = out_dir.join(format!("{}.wav", sound.name));
    let mut writer = hound::WavWriter::create(&path, spec)?;
    for n in 0..channels[0].len() {
        for ch in &channels {
            writer.write_sample(ch[n] as f32)?;
        }
    }
    writer.finalize()?;

    let (seam, max_step) = seam_and_max_step(&channels);
    Ok(format!(
        "{:<10} {:>6} {:>3} {:>7.2} {:>9.2} {:>9.2} {:>9.2} {:>11.6} {:>11.6}",
        sound.name,
        master.rate,
        channels.len(),
        channels[0].len() as f64 / f64::from(master.rate),
        gain_to_db(rms(&channels)),
        gain_to_db(peak(&channels)),
        k_loudness(&channels, f64::from(master.rate)),
        seam,
        max_step,
    ))
}

// ---------------------------------------------------------------------------
// Randomness, levels and small helpers
// ---------------------------------------------------------------------------

/// SplitMix64: tiny, fast and good enough for audio noise; fully deterministic.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in [lo, hi].
    fn int(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// Standard normal (Box–Muller).
    fn gauss(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
    }

    /// A random phase in radians.
    fn phase(&mut self) -> f64 {
        self.range(0.0, TAU)
    }
}

/// How a master is levelled before it is written.
enum Level {
    /// Whole-file RMS, all channels pooled, in dBFS.
    Rms(f64),
    /// Sample peak in dBFS.
    Peak(f64),
}

/// A rendered sound before levelling.
struct Master {
    rate: u32,
    /// Downmix to one channel before writing (saves space for diffuse textures).
    mono: bool,
    frames: Vec<Frame>,
    level: Level,
}

fn db_to_gain(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

fn gain_to_db(gain: f64) -> f64 {
    20.0 * gain.max(1e-12).log10()
}

fn rms(channels: &[Vec<f64>]) -> f64 {
    let count: usize = channels.iter().map(Vec::len).sum();
    let sum: f64 = channels.iter().flatten().map(|s| s * s).sum();
    (sum / count as f64).sqrt()
}

fn peak(channels: &[Vec<f64>]) -> f64 {
    channels.iter().flatten().fold(0.0, |m, s| m.max(s.abs()))
}

/// Largest jump across the loop seam (last frame to first) and largest jump inside.
fn seam_and_max_step(channels: &[Vec<f64>]) -> (f64, f64) {
    let mut seam = 0.0f64;
    let mut max_step = 0.0f64;
    for ch in channels {
        if let (Some(first), Some(last)) = (ch.first(), ch.last()) {
            seam = seam.max((first - last).abs());
        }
        for w in ch.windows(2) {
            max_step = max_step.max((w[1] - w[0]).abs());
        }
    }
    (seam, max_step)
}

/// Ungated ITU-R BS.1770 K-weighted loudness (LUFS-like), for the report only.
fn k_loudness(channels: &[Vec<f64>], rate: f64) -> f64 {
    let mut total = 0.0;
    for ch in channels {
        // Stage 1: high shelf (head effect); stage 2: RLB high-pass.
        let k = (PI * 1_681.974_450_955_533 / rate).tan();
        let q = 0.707_175_236_955_419_6;
        let vh = 10f64.powf(3.999_843_853_973_347 / 20.0);
        let vb = vh.powf(0.499_666_774_154_541_6);
        let a0 = 1.0 + k / q + k * k;
        let mut shelf = Biquad::new(
            [
                (vh + vb * k / q + k * k) / a0,
                2.0 * (k * k - vh) / a0,
                (vh - vb * k / q + k * k) / a0,
            ],
            [2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0],
        );
        let k = (PI * 38.135_470_876_024_44 / rate).tan();
        let q = 0.500_327_037_323_877_3;
        let a0 = 1.0 + k / q + k * k;
        let mut high_pass = Biquad::new(
            [1.0, -2.0, 1.0],
            [2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0],
        );
        let sum: f64 = ch
            .iter()
            .map(|&x| high_pass.tick(shelf.tick(x)).powi(2))
            .sum();
        total += sum / ch.len() as f64;
    }
    -0.691 + 10.0 * total.max(1e-20).log10()
}

/// A direct-form-I biquad, used only for the loudness meter.
struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
    x: [f64; 2],
    y: [f64; 2],
}

impl Biquad {
    fn new(b: [f64; 3], a: [f64; 2]) -> Self {
        Self {
            b,
            a,
            x: [0.0; 2],
            y: [0.0; 2],
        }
    }

    fn tick(&mut self, x: f64) -> f64 {
        let y = self.b[0] * x + self.b[1] * self.x[0] + self.b[2] * self.x[1]
            - self.a[0] * self.y[0]
            - self.a[1] * self.y[1];
        self.x = [x, self.x[0]];
        self.y = [y, self.y[0]];
        y
    }
}

/// Equal-power pan gains for a position in [0, 1] (0 = left).
fn pan_gains(pan: f64) -> (f64, f64) {
    let p = pan.clamp(0.0, 1.0) * FRAC_PI_2;
    (p.cos(), p.sin())
}

/// Phase after `n` frames of something that completes `cycles` cycles per loop of
/// `frames` frames, computed exactly (integer modulo) so it never drifts.
fn loop_phase(cycles: u64, n: usize, frames: usize) -> f64 {
    let frames = frames as u64;
    TAU * ((cycles * (n as u64 % frames)) % frames) as f64 / frames as f64
}

/// A slow sine modulator that completes a whole number of cycles per loop.
#[derive(Clone, Copy)]
struct Lfo {
    cycles: u64,
    depth: f64,
    phase: f64,
}

impl Lfo {
    const NONE: Lfo = Lfo {
        cycles: 0,
        depth: 0.0,
        phase: 0.0,
    };

    /// `1 + depth * sin(...)` at frame `n`.
    fn gain(&self, n: usize, frames: usize) -> f64 {
        1.0 + self.depth * (self.phase + loop_phase(self.cycles, n, frames)).sin()
    }

    /// `sin(...)` at frame `n`, in [-1, 1].
    fn wave(&self, n: usize, frames: usize) -> f64 {
        (self.phase + loop_phase(self.cycles, n, frames)).sin()
    }
}

/// Magnitude of an n-th order Butterworth low-pass at `f` for cutoff `fc`.
fn lowpass_gain(f: f64, fc: f64, order: i32) -> f64 {
    1.0 / (1.0 + (f / fc).powi(2 * order)).sqrt()
}

/// Runs a stateful per-frame processor over a periodic signal so that its output is
/// periodic too. The processor first runs over the last `warmup` frames (wrapping)
/// so its state is in steady state when it reaches frame 0. The closure receives the
/// frame index, for time-varying parameters, and the input frame.
fn process_circular(
    input: &[Frame],
    warmup: usize,
    mut f: impl FnMut(usize, Frame) -> Frame,
) -> Vec<Frame> {
    let len = input.len();
    let warmup = warmup.min(len);
    let mut out = vec![[0.0; 2]; len];
    for k in 0..warmup + len {
        let i = (k + len - warmup) % len;
        let y = f(i, input[i]);
        if k >= warmup {
            out[i] = y;
        }
    }
    out
}

/// Gently rounds off the rare Gaussian tails of a noise texture: samples below a
/// knee `crest_db - 4` dB above the RMS pass untouched, louder ones bend smoothly
/// (tanh) towards a ceiling `crest_db` above the RMS. Memoryless, so it keeps a loop
/// seamless; on noise it is inaudible but buys mixing headroom.
fn tame_peaks(frames: &mut [Frame], crest_db: f64) {
    let sum: f64 = frames.iter().map(|f| f[0] * f[0] + f[1] * f[1]).sum();
    let rms = (sum / (2 * frames.len()) as f64).sqrt();
    let ceiling = rms * db_to_gain(crest_db);
    let knee = rms * db_to_gain(crest_db - 4.0);
    for s in frames.iter_mut().flatten() {
        let a = s.abs();
        if a > knee {
            *s = s.signum() * (knee + (ceiling - knee) * ((a - knee) / (ceiling - knee)).tanh());
        }
    }
}

/// Mixes `wet` into `dry` at `mix`.
fn add_scaled(dry: &mut [Frame], wet: &[Frame], mix: f64) {
    for (d, w) in dry.iter_mut().zip(wet) {
        d[0] += mix * w[0];
        d[1] += mix * w[1];
    }
}

// ---------------------------------------------------------------------------
// Filters and reverb
// ---------------------------------------------------------------------------

/// Zero-delay-feedback state-variable filter (trapezoidal integration); stable under
/// fast cutoff modulation.
#[derive(Clone, Copy, Default)]
struct Svf {
    ic1: f64,
    ic2: f64,
}

/// Outputs of one [`Svf`] step.
struct SvfOut {
    low: f64,
    band: f64,
    high: f64,
}

impl Svf {
    fn tick(&mut self, x: f64, cutoff: f64, q: f64, rate: f64) -> SvfOut {
        let g = (PI * cutoff.min(0.45 * rate) / rate).tan();
        let k = 1.0 / q;
        let a1 = 1.0 / (1.0 + g * (g + k));
        let a2 = g * a1;
        let a3 = g * a2;
        let v3 = x - self.ic2;
        let v1 = a1 * self.ic1 + a2 * v3;
        let v2 = self.ic2 + a2 * self.ic1 + a3 * v3;
        self.ic1 = 2.0 * v1 - self.ic1;
        self.ic2 = 2.0 * v2 - self.ic2;
        SvfOut {
            low: v2,
            band: v1,
            high: x - k * v1 - v2,
        }
    }
}

/// One-pole low-pass.
#[derive(Clone, Copy, Default)]
struct OnePole {
    y: f64,
}

impl OnePole {
    fn coef(cutoff: f64, rate: f64) -> f64 {
        1.0 - (-TAU * cutoff / rate).exp()
    }

    fn tick(&mut self, x: f64, coef: f64) -> f64 {
        self.y += coef * (x - self.y);
        self.y
    }
}

/// Paul Kellet's refined pink-noise filter (−3 dB/octave within ±0.05 dB).
#[derive(Clone, Copy, Default)]
struct Pink {
    b: [f64; 7],
}

impl Pink {
    fn tick(&mut self, white: f64) -> f64 {
        let b = &mut self.b;
        b[0] = 0.99886 * b[0] + white * 0.055_517_9;
        b[1] = 0.99332 * b[1] + white * 0.075_075_9;
        b[2] = 0.96900 * b[2] + white * 0.153_852;
        b[3] = 0.86650 * b[3] + white * 0.310_485_6;
        b[4] = 0.55000 * b[4] + white * 0.532_952_2;
        b[5] = -0.7616 * b[5] - white * 0.016_898;
        let pink = b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + white * 0.5362;
        b[6] = white * 0.115_926;
        pink * 0.11
    }
}

/// An 8-line feedback delay network with a Householder matrix and damping in each
/// line: a smooth, warm room without metallic ringing. Time-invariant, so it can run
/// circularly over a loop.
struct Reverb {
    lines: Vec<Vec<f64>>,
    pos: [usize; 8],
    feedback: [f64; 8],
    damp: [OnePole; 8],
    damp_coef: f64,
}

impl Reverb {
    /// `rt60` in seconds; `damp_hz` sets how fast highs die; `size` scales the room.
    fn new(rate: f64, rt60: f64, damp_hz: f64, size: f64) -> Self {
        const MS: [f64; 8] = [31.3, 37.9, 41.2, 47.3, 53.1, 59.7, 67.9, 73.1];
        let mut lines = Vec::with_capacity(8);
        let mut feedback = [0.0; 8];
        for (k, ms) in MS.iter().enumerate() {
            let len = ((ms * size * rate / 1000.0).round() as usize).max(1);
            feedback[k] = 10f64.powf(-3.0 * len as f64 / (rt60 * rate));
            lines.push(vec![0.0; len]);
        }
        Self {
            lines,
            pos: [0; 8],
            feedback,
            damp: [OnePole::default(); 8],
            damp_coef: OnePole::coef(damp_hz, rate),
        }
    }

    fn tick(&mut self, x: Frame) -> Frame {
        let mut o = [0.0; 8];
        for (k, o) in o.iter_mut().enumerate() {
            let raw = self.lines[k][self.pos[k]];
            *o = self.damp[k].tick(raw, self.damp_coef) * self.feedback[k];
        }
        let mix = o.iter().sum::<f64>() * 0.25;
        for (k, line) in self.lines.iter_mut().enumerate() {
            line[self.pos[k]] = o[k] - mix + 0.35 * x[k % 2];
            self.pos[k] = (self.pos[k] + 1) % line.len();
        }
        [
            o[0] - o[2] + o[4] - o[6] + 0.5 * (o[1] - o[5]),
            o[1] - o[3] + o[5] - o[7] + 0.5 * (o[2] - o[6]),
        ]
    }
}

/// Adds circular reverb to a loop (the tail of the loop's end rings into its start).
fn reverb_loop(dry: &mut [Frame], rate: f64, rt60: f64, damp_hz: f64, mix: f64) {
    let mut verb = Reverb::new(rate, rt60, damp_hz, 1.0);
    let warmup = (WARMUP_SECONDS * rate) as usize;
    let wet = process_circular(dry, warmup, |_, x| verb.tick(x));
    add_scaled(dry, &wet, mix);
}

/// Adds ordinary (linear, non-wrapping) reverb to a one-shot.
fn reverb_one_shot(dry: &mut [Frame], rate: f64, rt60: f64, damp_hz: f64, mix: f64) {
    let mut verb = Reverb::new(rate, rt60, damp_hz, 1.2);
    for d in dry.iter_mut() {
        let w = verb.tick(*d);
        d[0] += mix * w[0];
        d[1] += mix * w[1];
    }
}

// ---------------------------------------------------------------------------
// Additive synthesis of periodic tones
// ---------------------------------------------------------------------------

/// One sine partial of a loop, with a whole number of cycles per loop.
struct Partial {
    cycles: u64,
    phase: f64,
    amp: f64,
    pan: f64,
    motion: [Lfo; 2],
}

/// A sustained note built from detuned unison voices of a soft sawtooth-like spectrum.
struct Note {
    hz: f64,
    amp: f64,
    unison: usize,
    /// Spread of the unison voices, ± cents: slow beating and chorus.
    detune_cents: f64,
    /// Stereo width of the voices, 0 (centre) to 1 (hard left/right).
    width: f64,
    /// Harmonic `h` has amplitude `h^-tilt`; higher is darker.
    tilt: f64,
    /// Slow swell of the whole note (chord colour moving in and out).
    motion: Lfo,
}

/// A partial set plus the brightness sweep applied to it.
struct Tone {
    frames: usize,
    rate: f64,
    partials: Vec<Partial>,
    /// Low-pass cutoff sweep: `cutoff * (1 + depth * sweep)`.
    cutoff: f64,
    sweep: Lfo,
    order: i32,
}

impl Tone {
    fn new(rate: u32, cutoff: f64, sweep: Lfo, order: i32) -> Self {
        Self {
            frames: LOOP_SECONDS * rate as usize,
            rate: f64::from(rate),
            partials: Vec::new(),
            cutoff,
            sweep,
            order,
        }
    }

    fn cutoff_at(&self, n: usize) -> f64 {
        self.cutoff * (1.0 + self.sweep.depth * self.sweep.wave(n, self.frames))
    }

    /// Adds the partials of one note, dropping those the low-pass would bury below
    /// −70 dB even at the top of its sweep, and anything above 12 kHz.
    fn add_note(&mut self, rng: &mut Rng, note: &Note) {
        let seconds = LOOP_SECONDS as f64;
        let top_cutoff = self.cutoff * (1.0 + self.sweep.depth);
        let voice_amp = note.amp / (note.unison as f64).sqrt();
        for u in 0..note.unison {
            let spread = if note.unison == 1 {
                0.0
            } else {
                2.0 * u as f64 / (note.unison - 1) as f64 - 1.0
            };
            let cents = note.detune_cents * (spread + rng.range(-0.15, 0.15));
            let hz = note.hz * 2f64.powf(cents / 1200.0);
            let base = ((hz * seconds).round() as u64).max(1);
            // Golden-ratio spacing keeps detune and stereo side uncorrelated.
            let pan = 0.5 + 0.5 * note.width * (2.0 * ((u as f64 + 0.5) * 0.618_034).fract() - 1.0);
            let shimmer = Lfo {
                cycles: rng.int(1, 4),
                depth: 0.12,
                phase: rng.phase(),
            };
            for h in 1u64.. {
                let cycles = base * h;
                let f = cycles as f64 / seconds;
                let amp = voice_amp * (h as f64).powf(-note.tilt);
                if f > 12_000.0 || amp * lowpass_gain(f, top_cutoff, self.order) < 3e-4 * voice_amp
                {
                    break;
                }
                self.partials.push(Partial {
                    cycles,
                    phase: rng.phase(),
                    amp,
                    pan,
                    motion: [note.motion, shimmer],
                });
            }
        }
    }

    /// Adds a single sine partial (for sub tones and airy overtones).
    fn add_sine(&mut self, rng: &mut Rng, hz: f64, amp: f64, pan: f64, motion: Lfo) {
        let cycles = ((hz * LOOP_SECONDS as f64).round() as u64).max(1);
        self.partials.push(Partial {
            cycles,
            phase: rng.phase(),
            amp,
            pan,
            motion: [motion, Lfo::NONE],
        });
    }

    /// Renders the loop. Phases are recomputed exactly at each block start and
    /// rotated within the block, so the sum is periodic to the last frame.
    fn render(&self) -> Vec<Frame> {
        let frames = self.frames;
        let mut out = vec![[0.0; 2]; frames];
        let gain = |p: &Partial, n: usize, fc: f64| {
            let f = p.cycles as f64 * self.rate / frames as f64;
            p.amp
                * p.motion[0].gain(n, frames)
                * p.motion[1].gain(n, frames)
                * lowpass_gain(f, fc, self.order)
        };
        for start in (0..frames).step_by(BLOCK) {
            let len = BLOCK.min(frames - start);
            let (fc0, fc1) = (self.cutoff_at(start), self.cutoff_at(start + len));
            let block = &mut out[start..start + len];
            for p in &self.partials {
                let g0 = gain(p, start, fc0);
                let dg = (gain(p, start + len, fc1) - g0) / len as f64;
                let (mut s, mut c) = (p.phase + loop_phase(p.cycles, start, frames)).sin_cos();
                let (ds, dc) = (TAU * p.cycles as f64 / frames as f64).sin_cos();
                let (pl, pr) = pan_gains(p.pan);
                let mut g = g0;
                for frame in block.iter_mut() {
                    let v = s * g;
                    frame[0] += v * pl;
                    frame[1] += v * pr;
                    (s, c) = (s * dc + c * ds, c * dc - s * ds);
                    g += dg;
                }
            }
        }
        out
    }
}

/// The just-intonation interval `ratio` above `root` (pure fifths and thirds beat
/// only as slowly as the unison detune makes them).
fn just(root: f64, ratio: f64) -> f64 {
    root * ratio
}

// ---------------------------------------------------------------------------
// The beds
// ---------------------------------------------------------------------------

/// D2, the root of the drone and of the rising pad.
const D2: f64 = 73.416_191_979_351_6;
/// A2, the root of the A pad.
const A2: f64 = 110.0;
/// F2, the root of the F pad.
const F2: f64 = 87.307_057_858_250_97;

/// Warm drone in D: root, just fifth and octave, each three slowly beating voices,
/// dark spectrum under a gently breathing low-pass, a little room.
fn drone_d(rng: &mut Rng) -> Master {
    let sweep = Lfo {
        cycles: 2,
        depth: 0.22,
        phase: 0.0,
    };
    let mut tone = Tone::new(BED_RATE, 520.0, sweep, 2);
    let notes = [
        (1.0, 1.0, 3.5, 0.5, 1.25, 1),
        (1.5, 0.55, 3.0, 0.75, 1.35, 2),
        (2.0, 0.42, 2.5, 0.9, 1.4, 3),
    ];
    for (ratio, amp, cents, width, tilt, cycles) in notes {
        let motion = Lfo {
            cycles,
            depth: 0.12,
            phase: rng.phase(),
        };
        tone.add_note(
            rng,
            &Note {
                hz: just(D2, ratio),
                amp,
                unison: 3,
                detune_cents: cents,
                width,
                tilt,
                motion,
            },
        );
    }
    let mut frames = tone.render();
    reverb_loop(&mut frames, tone.rate, 3.2, 3_500.0, 0.22);
    bed(frames, false)
}

/// A soft pad: a chord of unison notes whose upper colour tones swell in and out
/// slowly, under a breathing low-pass, in a soft room.
fn pad(rng: &mut Rng, root: f64, chord: &[(f64, f64, f64)], cutoff: f64) -> Master {
    let sweep = Lfo {
        cycles: 2,
        depth: 0.28,
        phase: rng.phase(),
    };
    let mut tone = Tone::new(BED_RATE, cutoff, sweep, 2);
    for &(ratio, amp, motion_depth) in chord {
        let motion = Lfo {
            cycles: rng.int(1, 3),
            depth: motion_depth,
            phase: rng.phase(),
        };
        tone.add_note(
            rng,
            &Note {
                hz: just(root, ratio),
                amp,
                unison: 4,
                detune_cents: 5.0,
                width: 0.85,
                tilt: 1.05,
                motion,
            },
        );
    }
    let mut frames = tone.render();
    reverb_loop(&mut frames, tone.rate, 3.6, 3_000.0, 0.32);
    bed(frames, false)
}

/// Soft pad in A: A2, E3, A3 with C#4, E4 and B4 drifting in and out (A add9).
fn pad_a(rng: &mut Rng) -> Master {
    let chord = [
        (1.0, 1.0, 0.08),
        (1.5, 0.7, 0.12),
        (2.0, 0.55, 0.15),
        (2.5, 0.36, 0.5),
        (3.0, 0.3, 0.45),
        (4.5, 0.16, 0.6),
    ];
    pad(rng, A2, &chord, 1_000.0)
}

/// Soft pad in F: F2, C3, F3 with A3, E4 and G4 drifting in and out (F maj9).
fn pad_f(rng: &mut Rng) -> Master {
    let chord = [
        (1.0, 1.0, 0.08),
        (1.5, 0.7, 0.12),
        (2.0, 0.55, 0.15),
        (2.5, 0.4, 0.5),
        (3.75, 0.24, 0.55),
        (4.5, 0.17, 0.6),
    ];
    pad(rng, F2, &chord, 950.0)
}

/// Fuller, brighter, more present pad in D for the release phase: a wide D major
/// add9 voicing over two octaves, more voices, a higher and livelier low-pass, a
/// pure sine under the root for weight, and less room (closer).
fn pad_rise(rng: &mut Rng) -> Master {
    let sweep = Lfo {
        cycles: 4,
        depth: 0.25,
        phase: rng.phase(),
    };
    let mut tone = Tone::new(BED_RATE, 1_900.0, sweep, 2);
    let chord = [
        (1.0, 0.9, 0.06),
        (1.5, 0.75, 0.1),
        (2.0, 0.7, 0.1),
        (2.5, 0.5, 0.3),
        (3.0, 0.5, 0.2),
        (4.0, 0.4, 0.25),
        (4.5, 0.25, 0.6),
        (5.0, 0.3, 0.5),
        (6.0, 0.25, 0.5),
    ];
    for (ratio, amp, motion_depth) in chord {
        let motion = Lfo {
            cycles: rng.int(2, 4),
            depth: motion_depth,
            phase: rng.phase(),
        };
        tone.add_note(
            rng,
            &Note {
                hz: just(D2, ratio),
                amp,
                unison: 5,
                detune_cents: 6.0,
                width: 0.95,
                tilt: 0.95,
                motion,
            },
        );
    }
    let sub = Lfo {
        cycles: 1,
        depth: 0.1,
        phase: rng.phase(),
    };
    tone.add_sine(rng, D2, 0.35, 0.5, sub);
    // Airy octave shimmer, very soft.
    for (ratio, pan) in [(8.0, 0.3), (12.0, 0.7)] {
        let motion = Lfo {
            cycles: rng.int(1, 3),
            depth: 0.8,
            phase: rng.phase(),
        };
        tone.add_sine(rng, just(D2, ratio), 0.05, pan, motion);
    }
    let mut frames = tone.render();
    reverb_loop(&mut frames, tone.rate, 2.8, 4_500.0, 0.2);
    bed(frames, false)
}

/// Levels a loop as a bed.
fn bed(frames: Vec<Frame>, mono: bool) -> Master {
    Master {
        rate: BED_RATE,
        mono,
        frames,
        level: Level::Rms(BED_RMS_DBFS),
    }
}

/// A periodic white-noise loop: any sequence of independent samples loops without a
/// seam, and circular filtering keeps it that way.
fn white_loop(rng: &mut Rng, frames: usize) -> Vec<Frame> {
    (0..frames).map(|_| [rng.gauss(), rng.gauss()]).collect()
}

/// Soft rain: a pink-noise wash, band-limited to keep it gentle, breathing a little
/// in intensity, with sparse soft drop "plinks" and leaf taps, in a small room.
fn rain(rng: &mut Rng) -> Master {
    let rate = f64::from(BED_RATE);
    let frames = LOOP_SECONDS * BED_RATE as usize;
    let noise = white_loop(rng, frames);
    let swell = [
        Lfo {
            cycles: 3,
            depth: 0.12,
            phase: rng.phase(),
        },
        Lfo {
            cycles: 7,
            depth: 0.07,
            phase: rng.phase(),
        },
    ];
    let mut pink = [Pink::default(); 2];
    let mut hp = [Svf::default(); 2];
    let mut lp = [Svf::default(); 2];
    let warmup = (WARMUP_SECONDS * rate) as usize;
    let mut dry = process_circular(&noise, warmup, |n, x| {
        // Partly shared noise: a wide but not hollow image.
        let common = 0.55 * (x[0] + x[1]) * std::f64::consts::FRAC_1_SQRT_2;
        let level = swell[0].gain(n, frames) * swell[1].gain(n, frames);
        let mut y = [0.0; 2];
        for c in 0..2 {
            let w = common + 0.835 * x[c];
            let p = pink[c].tick(w);
            let band = hp[c].tick(p, 250.0, 0.6, rate).high;
            y[c] = level * lp[c].tick(band, 2_400.0, 0.6, rate).low;
        }
        y
    });

    // Drops: short rising sine chirps (a bubble's ring) and soft filtered-noise taps,
    // scattered at random and wrapped around the loop end.
    let drops = LOOP_SECONDS * 12;
    for _ in 0..drops {
        let at = rng.int(0, frames as u64 - 1) as usize;
        let f0 = 1_300.0 * 2f64.powf(rng.range(0.0, 1.4));
        let decay = rng.range(0.004, 0.012);
        let amp = 0.6 * db_to_gain(rng.range(-24.0, 0.0));
        let (pl, pr) = pan_gains(rng.range(0.1, 0.9));
        let len = (decay * 7.0 * rate) as usize;
        let mut phase = 0.0;
        for k in 0..len {
            let t = k as f64 / rate;
            let f = f0 * (1.0 + 0.6 * t / (decay * 7.0));
            phase += TAU * f / rate;
            let env = (1.0 - (-t / 0.001).exp()) * (-t / decay).exp();
            let v = amp * env * phase.sin();
            let frame = &mut dry[(at + k) % frames];
            frame[0] += v * pl;
            frame[1] += v * pr;
        }
    }
    let taps = LOOP_SECONDS * 80;
    for _ in 0..taps {
        let at = rng.int(0, frames as u64 - 1) as usize;
        let decay = rng.range(0.002, 0.008);
        let amp = db_to_gain(rng.range(-30.0, 0.0));
        let (pl, pr) = pan_gains(rng.range(0.0, 1.0));
        let cutoff = 1_200.0 * 2f64.powf(rng.range(0.0, 1.9));
        let mut filter = Svf::default();
        let len = (decay * 8.0 * rate) as usize;
        for k in 0..len {
            let t = k as f64 / rate;
            let env = (1.0 - (-t / 0.001).exp()) * (-t / decay).exp();
            let v = amp * env * filter.tick(rng.gauss(), cutoff, 1.0, rate).band;
            let frame = &mut dry[(at + k) % frames];
            frame[0] += v * pl;
            frame[1] += v * pr;
        }
    }

    // Final softening above ~6 kHz (12 dB/octave), then a small room.
    let mut soft = [Svf::default(); 2];
    let mut dry = process_circular(&dry, warmup, |_, x| {
        [
            soft[0].tick(x[0], 6_000.0, 0.6, rate).low,
            soft[1].tick(x[1], 6_000.0, 0.6, rate).low,
        ]
    });
    reverb_loop(&mut dry, rate, 1.4, 5_000.0, 0.25);
    tame_peaks(&mut dry, 14.0);
    bed(dry, false)
}

/// One wave's shape over time since it began to build, in seconds: a smooth rise to
/// the break, then an exponential wash.
fn wave_shape(t: f64, rise: f64, fall: f64) -> f64 {
    if t < rise {
        (0.5 - 0.5 * (PI * t / rise).cos()).powf(1.6)
    } else {
        (-(t - rise) / fall).exp()
    }
}

/// A wave of the ocean loop.
struct Wave {
    start: f64,
    rise: f64,
    fall: f64,
    strength: f64,
    pan: f64,
}

/// Slow swelling waves: brown/pink noise under a low-pass that opens as each wave
/// builds and breaks, a soft foam hiss lagging each break, waves of varied size and
/// position; the wave pattern and every swell repeat exactly once per loop.
fn ocean(rng: &mut Rng) -> Master {
    let rate = f64::from(BED_RATE);
    let frames = LOOP_SECONDS * BED_RATE as usize;
    let seconds = LOOP_SECONDS as f64;
    let count = 9;
    let waves: Vec<Wave> = (0..count)
        .map(|k| Wave {
            start: (k as f64 + rng.range(-0.12, 0.12)) * seconds / count as f64,
            rise: rng.range(3.2, 4.6),
            fall: rng.range(2.2, 3.4),
            strength: rng.range(0.65, 1.0),
            pan: rng.range(0.25, 0.75),
        })
        .collect();
    // Per-frame envelopes are cheap to precompute; each wave wraps around the loop.
    let envelope = |n: usize| -> ([f64; 2], [f64; 2]) {
        let t = n as f64 / rate;
        let mut body = [0.0; 2];
        let mut foam = [0.0; 2];
        for w in &waves {
            let age = (t - w.start).rem_euclid(seconds);
            let (pl, pr) = pan_gains(w.pan);
            let b = w.strength * wave_shape(age, w.rise, w.fall);
            // Foam: a smooth gamma-shaped swell that starts just before the break,
            // peaks a second after it and washes out slowly.
            let x = (age - (w.rise - 0.6)) / 0.9;
            let f = if x > 0.0 {
                w.strength * (x * x * (-x).exp()) / (4.0 * (-2.0f64).exp())
            } else {
                0.0
            };
            body[0] += b * pl * std::f64::consts::SQRT_2;
            body[1] += b * pr * std::f64::consts::SQRT_2;
            foam[0] += f * pl * std::f64::consts::SQRT_2;
            foam[1] += f * pr * std::f64::consts::SQRT_2;
        }
        (body, foam)
    };
    let tide = Lfo {
        cycles: 1,
        depth: 0.12,
        phase: rng.phase(),
    };

    let noise = white_loop(rng, frames);
    let foam_noise = white_loop(rng, frames);
    let mut brown = [0.0f64; 2];
    let mut pink = [Pink::default(); 2];
    let mut body_lp = [[Svf::default(); 2]; 2];
    let mut rumble_hp = [Svf::default(); 2];
    let mut foam_bp = [Svf::default(); 2];
    let mut foam_lp = [OnePole::default(); 2];
    let foam_coef = OnePole::coef(5_000.0, rate);
    let warmup = (WARMUP_SECONDS * rate) as usize;
    let mut dry = process_circular(&noise, warmup, |n, x| {
        let (body_env, foam_env) = envelope(n);
        let level = tide.gain(n, frames);
        let common = 0.5 * (x[0] + x[1]) * std::f64::consts::FRAC_1_SQRT_2;
        let fx = foam_noise[n];
        let mut y = [0.0; 2];
        for c in 0..2 {
            let w = common + 0.866 * x[c];
            brown[c] = 0.996 * brown[c] + 0.09 * w;
            let colour = 0.45 * brown[c] + pink[c].tick(w);
            let e = body_env[c];
            let cutoff = 200.0 + 1_000.0 * e.powf(1.4);
            let mut s = body_lp[0][c].tick(colour, cutoff, 0.6, rate).low;
            s = body_lp[1][c].tick(s, cutoff * 1.4, 0.6, rate).low;
            s = rumble_hp[c].tick(s, 45.0, 0.7, rate).high;
            let body = s * (0.45 + 0.75 * e);
            let hiss = foam_bp[c].tick(fx[c], 1_800.0, 0.4, rate).band;
            let foam = foam_lp[c].tick(hiss, foam_coef) * 0.8 * foam_env[c];
            y[c] = level * (body + foam);
        }
        y
    });
    reverb_loop(&mut dry, rate, 1.6, 4_000.0, 0.18);
    tame_peaks(&mut dry, 16.0);
    // Put the loop seam in the foam just after the first break, where broadband
    // wash masks everything, rather than in a quiet trough: a lossy codec's small
    // error at the file's edges is then buried. Rotating a periodic signal keeps it
    // exactly periodic.
    let seam = (waves[0].start + waves[0].rise + 1.0).rem_euclid(seconds);
    dry.rotate_left((seam * rate) as usize % frames);
    bed(dry, false)
}

// ---------------------------------------------------------------------------
// One-shots
// ---------------------------------------------------------------------------

/// A mode of a struck bowl or chime: frequency ratio to the fundamental, amplitude,
/// decay (fraction of the fundamental's T60) and the split of its doublet in Hz.
struct Mode {
    ratio: f64,
    amp: f64,
    decay: f64,
    split: f64,
}

/// A soft strike on a resonant body: every mode is a slightly detuned pair (real
/// bowls are never perfectly round, hence the slow beating), each with a mallet-soft
/// attack and its own exponential decay, plus a faint felt thump, in a warm room.
/// The file ends with a short fade so it never stops on a click.
fn strike(
    rng: &mut Rng,
    f0: f64,
    modes: &[Mode],
    t60: f64,
    seconds: f64,
    attack: f64,
) -> Vec<Frame> {
    let rate = f64::from(ONE_SHOT_RATE);
    let len = (seconds * rate) as usize;
    let mut out = vec![[0.0; 2]; len];
    for mode in modes {
        let f = f0 * mode.ratio * (1.0 + rng.range(-0.004, 0.004));
        let tau = t60 * mode.decay / 6.908; // e-folding time
        // Higher modes are excited a little more sharply by the mallet.
        let rise = attack / mode.ratio.sqrt();
        let balance = rng.range(0.45, 0.55);
        let halves = [
            (f - mode.split / 2.0, balance, rng.range(0.2, 0.4)),
            (f + mode.split / 2.0, 1.0 - balance, rng.range(0.6, 0.8)),
        ];
        for (hz, share, pan) in halves {
            let (pl, pr) = pan_gains(pan);
            let w = TAU * hz / rate;
            let (mut s, mut c) = (0.0f64, 1.0f64);
            let (ds, dc) = w.sin_cos();
            let decay_step = (-1.0 / (tau * rate)).exp();
            let mut env = mode.amp * share;
            for (k, frame) in out.iter_mut().enumerate() {
                let t = k as f64 / rate;
                let onset = 1.0 - (-t / rise).exp();
                let v = s * env * onset;
                frame[0] += v * pl;
                frame[1] += v * pr;
                (s, c) = (s * dc + c * ds, c * dc - s * ds);
                env *= decay_step;
            }
        }
    }
    // The felt mallet's thump: a very soft low-passed noise puff.
    let mut filter = Svf::default();
    let thump_len = (0.08 * rate) as usize;
    for (k, frame) in out.iter_mut().take(thump_len).enumerate() {
        let t = k as f64 / rate;
        let env = 0.02 * (1.0 - (-t / 0.003).exp()) * (-t / 0.015).exp();
        let v = env * filter.tick(rng.gauss(), 500.0, 0.7, rate).low;
        frame[0] += v;
        frame[1] += v;
    }
    reverb_one_shot(&mut out, rate, 2.4, 3_500.0, 0.16);
    // Raised-cosine fade over the last 1.5 s.
    let fade = ((1.5 * rate) as usize).min(len);
    for (k, frame) in out[len - fade..].iter_mut().enumerate() {
        let g = 0.5 + 0.5 * (PI * k as f64 / fade as f64).cos();
        frame[0] *= g;
        frame[1] *= g;
    }
    out
}

/// Singing-bowl modes: ratios near 1, 2.7, 5.1, 8.2, 11.9 as measured on real bowls.
fn bowl_modes(brightness: f64) -> Vec<Mode> {
    let table = [
        (1.0, 1.0, 1.0, 0.6),
        (2.71, 0.55, 0.62, 1.3),
        (5.12, 0.26, 0.4, 2.1),
        (8.21, 0.11, 0.26, 2.9),
        (11.9, 0.045, 0.17, 3.8),
    ];
    table
        .iter()
        .enumerate()
        .map(|(i, &(ratio, amp, decay, split))| Mode {
            ratio,
            amp: amp * brightness.powi(i as i32),
            decay,
            split,
        })
        .collect()
}

/// Large singing bowl on A2 (110 Hz): deep, long (T60 ≈ 22 s).
fn bowl_low(rng: &mut Rng) -> Master {
    let frames = strike(rng, A2, &bowl_modes(1.0), 22.0, 25.0, 0.012);
    one_shot(frames, BOWL_PEAK_DBFS)
}

/// Smaller singing bowl on D4 (293.7 Hz): brighter, shorter (T60 ≈ 16 s), its upper
/// modes tamed so it sings rather than rings.
fn bowl_high(rng: &mut Rng) -> Master {
    let frames = strike(rng, D2 * 4.0, &bowl_modes(0.75), 16.0, 19.0, 0.009);
    one_shot(frames, BOWL_PEAK_DBFS)
}

/// Soft chime on A4 (440 Hz): a tubular-chime spectrum (free-bar modes 1, 2.76,
/// 5.40) with the upper modes very low and short-lived, a slow mallet attack, about
/// 6 s of ring. It marks the passing of time and must not startle.
fn chime(rng: &mut Rng) -> Master {
    let modes = [
        Mode {
            ratio: 1.0,
            amp: 1.0,
            decay: 1.0,
            split: 0.7,
        },
        Mode {
            ratio: 2.76,
            amp: 0.16,
            decay: 0.45,
            split: 1.2,
        },
        Mode {
            ratio: 5.40,
            amp: 0.035,
            decay: 0.22,
            split: 2.0,
        },
    ];
    let frames = strike(rng, 440.0, &modes, 5.5, 7.0, 0.008);
    one_shot(frames, CHIME_PEAK_DBFS)
}

/// Levels a one-shot by peak.
fn one_shot(frames: Vec<Frame>, peak_dbfs: f64) -> Master {
    Master {
        rate: ONE_SHOT_RATE,
        mono: false,
        frames,
        level: Level::Peak(peak_dbfs),
    }
}
