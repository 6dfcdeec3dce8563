//! The soak run (issue 11): a long ceremony on virtual time through the real parts, measuring
//! memory after warm-up and the drift between the timeline and the audio frame clock. Shared
//! by `benches/soak.rs` (8 hours, release) and `tests/soak.rs` (minutes, in CI).
//!
//! Parts, as `render` and `tests/startle_support` drive them: the config loader, the engine
//! (`Timeline`), the mixer (`sound::Player` and the processor from `audio::build`, pulled in
//! periods of at most 240 frames, each ending exactly on the engine's next deadline, as
//! `render` pulls it), and the lights (`MqttOutput` into a detached bus
//! handle whose messages drive a real `LightController`; its publishes are counted and checked
//! as they go, never kept, so that the recording itself does not grow).
//!
//! The ceremony: eight phases that move on by themselves, each crossfading the bed, changing
//! the texture (a playlist of two tones), ringing a chime, stepping four lights (four
//! drivers) through levels, colour temperatures, `candle` and `breathe`, with `louder` and
//! `softer` pressed mid-phase. In the last phase the layers fade out and, in silence, a click
//! plays at a known time: where its first sample lands in the recording, against where the
//! timeline put it, is the drift.
//!
//! Memory is the process's live heap (bytes allocated minus bytes freed), read through the
//! caller's counting allocator at the same point of every phase (its middle), so phases that
//! do the same work are compared.
#![allow(dead_code, clippy::unwrap_used)]

use std::f32::consts::TAU;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sanctum::clock::Clock;
use sanctum::command::Command;
use sanctum::lights::controller::LightController;
use sanctum::mqtt::bus::{BusHandle, BusMsg};
use sanctum::mqtt::{MqttOutput, Topics};
use sanctum::run::Output;
use sanctum::sound::Player;
use sanctum::timeline::{Action, Event, Timeline};

/// Phases in the soak ceremony.
pub const PHASES: u32 = 8;
/// Frames a sound card pulls at a time (cpal's period with ALSA here, design §6).
pub const PERIOD: usize = 240;
/// Peak of the generated tones.
const PEAK: f32 = 0.2;
/// Peak of the click (its first sample).
const CLICK: f32 = 0.5;
/// How long before the click the recording is searched for it (the layers are silent by
/// then: they stop with a 2 s fade at least 2.5 s before it).
const LISTEN: Duration = Duration::from_millis(500);
/// A sample above this counts as sound when finding the click.
const ONSET: f32 = 0.01;
/// Light names, their drivers and addresses.
const LIGHTS: [(&str, &str); 4] = [
    ("altar", "zigbee2mqtt"),
    ("lamp", "tasmota"),
    ("strip", "wled"),
    ("esp", "ha-json"),
];

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Soak {
    /// Length of the whole ceremony (the finish fade comes on top).
    pub length: Duration,
    /// Mixer and sound-file rate.
    pub rate: u32,
}

/// Heap bytes live now, as the caller's counting allocator says.
pub type LiveBytes = fn() -> i64;

/// Bytes live on the heap counted by `alloc`: allocated minus freed. stats_alloc already
/// counts a reallocation's growth as allocated and its shrinking as freed
/// (`bytes_reallocated` is the same bytes again, not to be added: with the loop cache's
/// growing recordings it made the figure drift by tens of MB a phase).
#[must_use]
pub fn live_bytes(alloc: &stats_alloc::StatsAlloc<std::alloc::System>) -> i64 {
    let s = alloc.stats();
    let net = i128::try_from(s.bytes_allocated).unwrap_or(i128::MAX)
        - i128::try_from(s.bytes_deallocated).unwrap_or(i128::MAX);
    i64::try_from(net).unwrap_or(i64::MAX)
}

/// What a soak run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// Engine time at the end (the finish fade done).
    pub engine_end: Duration,
    /// Frames the mixer rendered, as time.
    pub audio_end: Duration,
    /// Where the timeline scheduled the click.
    pub click_scheduled: Duration,
    /// Where its first sample is in the recording.
    pub click_heard: Option<Duration>,
    /// Live heap at the middle of each phase, less what the mixer holds by design then
    /// (loop copies, one ring per voice: which voices play at that moment differs by phase).
    pub live_mid_phase: Vec<i64>,
    /// Largest live heap seen after warm-up (the end of the first phase), less the decoded
    /// loop copies (bounded by their own budget, checked apart) and voice rings held then.
    pub live_max_after_warmup: i64,
    /// Most bytes of decoded loop copies held at once, and the budget.
    pub loop_cache_peak: (usize, usize),
    /// One voice's stream ring (`MixerSettings::stream_ahead` of stereo f32 at the rate): a
    /// crossfade's incoming voice holds one while the outgoing still plays, so the peak may
    /// pass the warm level by that much.
    pub ring_bytes: i64,
    /// Live heap at the end of the first phase.
    pub live_warm: i64,
    /// Light messages per light.
    pub messages: Vec<usize>,
    /// Shortest spacing seen between two messages to one light, and the spacing allowed.
    pub tightest: Vec<(Duration, Duration)>,
    /// Underrun frames the mixer counted.
    pub underrun_frames: u64,
    /// Engine events.
    pub events: usize,
    /// Phases started.
    pub phases_started: usize,
    /// Samples in 10 ms windows that sounded while the ceremony ran (before the fade-out),
    /// the quietest of them in dBFS: a gap would show as a window near silence.
    pub quietest_window_dbfs: f64,
    /// Whether every light's last message was an explicit off.
    pub lights_off_at_end: bool,
}

impl Report {
    /// Live heap growth from the middle of phase 2 to the middle of the last phase.
    #[must_use]
    pub fn growth(&self) -> i64 {
        let n = self.live_mid_phase.len();
        self.live_mid_phase[n - 1] - self.live_mid_phase[1]
    }

    /// Largest heap after warm-up over the heap at the end of warm-up (both less the decoded
    /// loop copies held at the time).
    #[must_use]
    pub fn peak_growth(&self) -> i64 {
        self.live_max_after_warmup - self.live_warm
    }

    /// |timeline end − audio frame clock end|.
    #[must_use]
    pub fn clock_drift(&self) -> Duration {
        abs_diff(self.engine_end, self.audio_end)
    }

    /// |click heard − click scheduled − the limiter's look-ahead|: the output limiter delays
    /// everything by its look-ahead (1.5 ms, `MixerSettings::limiter_lookahead`), a constant
    /// latency by design, not drift.
    #[must_use]
    pub fn click_drift(&self) -> Option<Duration> {
        let latency = sanctum::audio::MixerSettings::default().limiter_lookahead;
        self.click_heard
            .map(|h| abs_diff(h, self.click_scheduled + latency))
    }

    /// Checks the invariants: returns what failed, one line each.
    #[must_use]
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.growth().abs() >= 1 << 20 {
            out.push(format!(
                "the live heap grew by {} bytes from phase 2 to phase {PHASES} (limit 1 MiB)",
                self.growth()
            ));
        }
        if self.peak_growth() >= (1 << 20) + self.ring_bytes {
            out.push(format!(
                "the live heap peaked {} bytes above its level after warm-up (limit 1 MiB and one stream ring, {} B)",
                self.peak_growth(),
                self.ring_bytes
            ));
        }
        if self.loop_cache_peak.0 > self.loop_cache_peak.1 {
            out.push(format!(
                "decoded loop copies took {} bytes, over their budget of {}",
                self.loop_cache_peak.0, self.loop_cache_peak.1
            ));
        }
        if self.clock_drift() >= Duration::from_millis(1) {
            out.push(format!(
                "timeline end {:?} vs audio frames {:?}",
                self.engine_end, self.audio_end
            ));
        }
        match self.click_drift() {
            Some(d) if d < Duration::from_millis(1) => {}
            Some(d) => out.push(format!(
                "the click sounded {d:?} away from its time plus the limiter's latency ({:?} vs {:?})",
                self.click_heard, self.click_scheduled
            )),
            None => out.push("the click never sounded".to_owned()),
        }
        for (i, (seen, allowed)) in self.tightest.iter().enumerate() {
            // One microsecond of slack: the controller stamps messages on its deadlines.
            if *seen + Duration::from_micros(1) < *allowed {
                out.push(format!(
                    "light {}: two messages {seen:?} apart (allowed {allowed:?})",
                    LIGHTS[i].0
                ));
            }
        }
        if self.messages.iter().any(|m| *m < 10) {
            out.push(format!("too few light messages: {:?}", self.messages));
        }
        if self.underrun_frames > 0 {
            out.push(format!("{} frames of underrun", self.underrun_frames));
        }
        if self.phases_started != PHASES as usize {
            out.push(format!("{} phases started", self.phases_started));
        }
        if self.quietest_window_dbfs < -40.0 {
            out.push(format!(
                "a 10 ms window at {:.1} dBFS while the ceremony sounded (a gap)",
                self.quietest_window_dbfs
            ));
        }
        if !self.lights_off_at_end {
            out.push("a light was not told off at the end".to_owned());
        }
        out
    }
}

fn abs_diff(a: Duration, b: Duration) -> Duration {
    a.abs_diff(b)
}

fn ms(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// Writes the sounds, rig, ceremony and scenes into `dir`; returns the ceremony folder.
fn write_ceremony(dir: &Path, soak: Soak) -> std::path::PathBuf {
    let rate = soak.rate;
    let sounds = dir.join("sounds");
    std::fs::create_dir_all(&sounds).unwrap();
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let write = |name: &str, frames: u32, f: &dyn Fn(u32) -> f32| {
        let mut w = hound::WavWriter::create(sounds.join(name), spec).unwrap();
        for i in 0..frames {
            let s = f(i);
            w.write_sample(s).unwrap();
            w.write_sample(s).unwrap();
        }
        w.finalize().unwrap();
    };
    // Whole cycles in each file, so loops are seamless and 10 ms windows hold whole cycles.
    for hz in [200u32, 300, 500, 700] {
        write(&format!("tone-{hz}.wav"), rate * 3, &|i| {
            PEAK * (TAU * hz as f32 * i as f32 / rate as f32).sin()
        });
    }
    write("chime.wav", rate / 2, &|i| {
        let decay = 1.0 - i as f32 / (rate / 2) as f32;
        PEAK * decay * (TAU * 600.0 * i as f32 / rate as f32).sin()
    });
    // Full height from its first sample: its onset is exact to the frame.
    write("click.wav", rate / 20, &|i| {
        CLICK * (TAU * 400.0 * i as f32 / rate as f32).cos()
    });

    let c = dir.join("ceremony");
    std::fs::create_dir_all(&c).unwrap();
    let mut rig = String::from(
        "room = \"soak\"\nmax_volume_db = 0\nvolume_db = -6\n\n[audio]\noutput = \"null\"\n\n[layers.bed]\n\n[layers.texture]\ngain_db = -6\n\n",
    );
    for (i, (name, driver)) in LIGHTS.iter().enumerate() {
        let _ = writeln!(
            rig,
            "[lights.{name}]\ndriver = \"{driver}\"\naddress = \"dev{i}\"\n"
        );
    }
    rig.push_str("[groups]\nall = [\"altar\", \"lamp\", \"strip\", \"esp\"]\n");
    std::fs::write(c.join("rig.toml"), rig).unwrap();

    let phase = soak.length / PHASES;
    let mut cer = format!(
        "title = \"Soak\"\nsounds = {:?}\ntransition = \"2s\"\nfinish_fade = \"4s\"\n",
        sounds.display().to_string()
    );
    for p in 0..PHASES {
        let _ = writeln!(
            cer,
            "\n[[phase]]\nid = \"p{p}\"\nscene = \"p{p}.toml\"\nafter = \"{}\"",
            ms(phase)
        );
        std::fs::write(
            c.join(format!("p{p}.toml")),
            scene(p, phase, p + 1 == PHASES),
        )
        .unwrap();
    }
    std::fs::write(c.join("ceremony.toml"), cer).unwrap();
    c
}

/// One phase's scene: the same work in every phase (so memory can be compared), and in the
/// last one the fade-out and the click.
fn scene(p: u32, phase: Duration, last: bool) -> String {
    let bed = ["tone-200.wav", "tone-500.wav"][p as usize % 2];
    let mut s = format!(
        "[[cue]]\nat = \"0s\"\n[cue.layers.bed]\nfile = \"{bed}\"\nloop = true\ngain_db = -3\nfade = \"8s\"\n\n[cue.layers.texture]\nplaylist = [\"tone-300.wav\", \"tone-700.wav\"]\ncrossfade = \"1s\"\nloop = true\nfade = \"4s\"\n\n[cue.lights.all]\nlevel = 0.4\nkelvin = 2400\nfade = \"6s\"\n"
    );
    // Twelve cues a phase (every 10 minutes in the 8-hour run); the last phase leaves its
    // last tenth to the fade-out and the click.
    let step = phase / 12;
    for k in (1..12u32).filter(|k| !last || *k <= 10) {
        let at = step * k;
        let _ = writeln!(s, "\n[[cue]]\nat = \"{}\"", ms(at));
        match k % 4 {
            0 => {
                let _ = writeln!(
                    s,
                    "[cue.lights.altar]\neffect = \"candle\"\nlevel = 0.35\ndepth = 0.3\ninterval = \"1500ms\"\n[cue.lights.lamp]\nlevel = 0.2\nfade = \"20s\""
                );
            }
            1 => {
                let _ = writeln!(
                    s,
                    "[cue.lights.strip]\neffect = \"breathe\"\nper_minute = 6\ndepth = 0.4\nlevel = 0.5\n[cue.layers.texture]\ngain_db = -12\nfade = \"10s\"\n[[cue.sounds]]\nfile = \"chime.wav\"\ngain_db = -6"
                );
            }
            2 => {
                let _ = writeln!(
                    s,
                    "[cue.lights.all]\nlevel = 0.6\nkelvin = 2700\nfade = \"30s\"\ncurve = \"s-curve\"\n[cue.layers.texture]\ngain_db = 0\nfade = \"10s\""
                );
            }
            _ => {
                let _ = writeln!(
                    s,
                    "[cue.lights.esp]\nlevel = 0.15\nfade = \"5s\"\n[cue.lights.altar]\nlevel = 0.5\nfade = \"10s\"\n[[cue.sounds]]\nfile = \"chime.wav\"\ngain_db = -9"
                );
            }
        }
    }
    if last {
        // Everything quiet well before the end, then the click alone.
        let quiet = phase - phase / 10;
        let _ = writeln!(
            s,
            "\n[[cue]]\nat = \"{}\"\n[cue.layers.bed]\nstop = true\nfade = \"2s\"\n[cue.layers.texture]\nstop = true\nfade = \"2s\"",
            ms(quiet)
        );
        let _ = writeln!(
            s,
            "\n[[cue]]\nat = \"{}\"\n[[cue.sounds]]\nfile = \"click.wav\"",
            ms(phase - phase / 20)
        );
    }
    s
}

struct Lights {
    controller: LightController,
    bus: tokio::sync::mpsc::UnboundedReceiver<BusMsg>,
    now: Duration,
    last_at: Vec<Option<Duration>>,
    tightest: Vec<Duration>,
    messages: Vec<usize>,
    last_off: Vec<bool>,
    addresses: Vec<String>,
}

impl Lights {
    fn record(&mut self, at: Duration) {
        for p in self.controller.poll(at) {
            let Some(i) = self.addresses.iter().position(|a| p.topic.contains(a)) else {
                continue;
            };
            self.messages[i] += 1;
            if let Some(prev) = self.last_at[i] {
                self.tightest[i] = self.tightest[i].min(at - prev);
            }
            self.last_at[i] = Some(at);
            let text = p.payload.to_ascii_lowercase();
            self.last_off[i] = text.contains("off") || text.contains("\"on\":false");
        }
    }

    fn run_to(&mut self, to: Duration) {
        let mut at = self.now;
        loop {
            self.record(at);
            self.now = at;
            match self.controller.next_deadline() {
                Some(d) if d <= to => at = d.max(at + Duration::from_micros(1)),
                _ => break,
            }
        }
        if to > self.now {
            self.record(to);
            self.now = to;
        }
    }

    fn take_bus(&mut self) {
        while let Ok(msg) = self.bus.try_recv() {
            // Publishes (state for phones) are not what these cases check.
            msg.apply_to(&mut self.controller, self.now).unwrap();
        }
    }
}

struct Audio {
    player: Player,
    processor: sanctum::audio::AudioProcessor,
    rate: u32,
    frames: u64,
    buf: Vec<f32>,
    /// Quietest 10 ms window while sounding, and the current window's sum of squares.
    window: (usize, f64),
    quietest: f64,
    /// Count windows from here (the bed has faded in) until `quiet_from` (its fade-out).
    loud_from: u64,
    quiet_from: u64,
    /// First frame at or after `listen_from` whose left sample passes [`ONSET`].
    listen_from: u64,
    heard: Option<u64>,
}

impl Audio {
    /// Heap the mixer holds by design at this moment, not state that could leak: the decoded
    /// loop copies (within their budget) and one stream ring per voice not yet handed back.
    fn held_bytes(&self, ring_bytes: i64) -> i64 {
        let copies = i64::try_from(self.player.loop_cache_bytes()).unwrap_or(i64::MAX);
        let voices = i64::try_from(self.player.stats().voices.len()).unwrap_or(i64::MAX);
        copies + voices * ring_bytes
    }

    fn frame_at(&self, t: Duration) -> u64 {
        u64::try_from((t.as_nanos() * u128::from(self.rate) + 500_000_000) / 1_000_000_000).unwrap()
    }

    /// Pulls periods of at most [`PERIOD`] frames until the frame clock is at `t` exactly,
    /// as `render` does (live, a command waits for the next period; here it lands on its
    /// frame, so any offset found is the mixer's, not the period's).
    fn render_to(&mut self, t: Duration) {
        let end = self.frame_at(t);
        let window = self.rate as usize / 100;
        while self.frames < end {
            let n = usize::try_from((end - self.frames).min(PERIOD as u64)).unwrap();
            let buf = &mut self.buf[..n * 2];
            self.processor.process_blocking(buf);
            for (k, frame) in buf.chunks_exact(2).enumerate() {
                let at = self.frames + k as u64;
                let x = f64::from(frame[0]);
                if at >= self.loud_from && at < self.quiet_from {
                    self.window.0 += 1;
                    self.window.1 += x * x;
                    if self.window.0 == window {
                        let rms = (self.window.1 / window as f64).sqrt();
                        self.quietest = self.quietest.min(rms);
                        self.window = (0, 0.0);
                    }
                }
                if self.heard.is_none() && at >= self.listen_from && frame[0].abs() > ONSET {
                    self.heard = Some(at);
                }
            }
            self.frames += n as u64;
        }
    }
}

/// Runs the soak; `live` reads the caller's counting allocator.
#[must_use]
pub fn run(soak: Soak, live: LiveBytes) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let folder = write_ceremony(dir.path(), soak);
    let loaded = sanctum::config::load_ceremony(&folder, None)
        .unwrap_or_else(|d| panic!("the soak ceremony loads:\n{d}"));
    let rig = loaded.rig;
    let mut timeline = Timeline::new(Arc::new(loaded.ceremony), Arc::clone(&rig));
    let specs = rig.light_specs();
    let spacing: Vec<Duration> = specs.iter().map(|s| s.options.min_spacing()).collect();
    let (bus, rx) = BusHandle::detached();
    let mut output = MqttOutput::new(bus, Topics::new("soak"), Clock::start(1.0));
    let n = specs.len();
    let mut lights = Lights {
        addresses: specs.iter().map(|s| s.address.clone()).collect(),
        controller: LightController::new(specs, 11),
        bus: rx,
        now: Duration::ZERO,
        last_at: vec![None; n],
        tightest: vec![Duration::MAX; n],
        messages: vec![0; n],
        last_off: vec![false; n],
    };
    let (player, processor) = Player::build(&rig, soak.rate);
    let phase = soak.length / PHASES;
    let mut audio = Audio {
        player,
        processor,
        rate: soak.rate,
        frames: 0,
        buf: vec![0.0; PERIOD * 2],
        window: (0, 0.0),
        quietest: f64::INFINITY,
        loud_from: 0,
        quiet_from: 0,
        listen_from: u64::MAX,
        heard: None,
    };
    // Sounding from the end of the first fade-in to the last phase's fade-out.
    audio.loud_from = audio.frame_at(Duration::from_secs(10));
    audio.quiet_from = audio.frame_at(phase * (PHASES - 1) + (phase - phase / 10));
    let click_offset = phase - phase / 20;

    let mut events: Vec<Event> = Vec::new();
    let mut report = Report {
        engine_end: Duration::ZERO,
        audio_end: Duration::ZERO,
        click_scheduled: Duration::ZERO,
        click_heard: None,
        live_mid_phase: Vec::new(),
        live_max_after_warmup: i64::MIN,
        live_warm: 0,
        loop_cache_peak: (0, sanctum::audio::MixerSettings::default().loop_cache),
        ring_bytes: {
            let ahead = sanctum::audio::MixerSettings::default().stream_ahead;
            (ahead.as_secs_f64() * f64::from(soak.rate) * 8.0) as i64
        },
        messages: Vec::new(),
        tightest: Vec::new(),
        underrun_frames: 0,
        events: 0,
        phases_started: 0,
        quietest_window_dbfs: 0.0,
        lights_off_at_end: false,
    };
    let mut deliver = |events: &mut Vec<Event>,
                       timeline: &Timeline,
                       audio: &mut Audio,
                       lights: &mut Lights,
                       report: &mut Report| {
        for e in events.drain(..) {
            if let Action::PhaseStarted { index, .. } = e.action {
                report.phases_started += 1;
                if index + 1 == PHASES as usize {
                    report.click_scheduled = e.at + click_offset;
                    let listen = (e.at + click_offset).saturating_sub(LISTEN);
                    audio.listen_from = audio.frame_at(listen);
                }
            }
            audio.player.apply(&e, timeline);
            output.apply(&e, timeline);
            lights.take_bus();
            report.events += 1;
        }
    };
    // Memory samples (mid-phase) and the two presses a phase, on a fixed grid.
    let mut marks: Vec<(Duration, Option<Command>)> = Vec::new();
    for p in 0..PHASES {
        let start = phase * p;
        marks.push((start + phase / 3, Some(Command::Louder)));
        marks.push((start + phase / 2, None));
        marks.push((start + phase * 2 / 3, Some(Command::Softer)));
    }
    let mut marks = marks.into_iter().peekable();
    let warm_at = phase;

    let mut now = Duration::ZERO;
    timeline.command(now, &Command::Start, &mut events).unwrap();
    deliver(&mut events, &timeline, &mut audio, &mut lights, &mut report);
    // The heap is sampled no more often than every virtual second.
    let mut next_peek = Duration::ZERO;
    while !timeline.is_ended() {
        let mark = marks.peek().map(|m| m.0);
        let mut due = [timeline.next_deadline(), mark, Some(next_peek)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now + Duration::from_secs(1));
        due = due.max(now);
        audio.render_to(due);
        lights.run_to(due);
        now = due;
        timeline.advance(now, &mut events);
        if mark == Some(now)
            && let Some((_, press)) = marks.next()
        {
            match press {
                Some(cmd) => {
                    let _ = timeline.command(now, &cmd, &mut events);
                }
                None => {
                    let held = audio.held_bytes(report.ring_bytes);
                    report.live_mid_phase.push(live() - held);
                }
            }
        }
        deliver(&mut events, &timeline, &mut audio, &mut lights, &mut report);
        lights.run_to(now);
        if now >= next_peek {
            next_peek = now + Duration::from_secs(1);
            let copies = audio.player.loop_cache_bytes();
            report.loop_cache_peak.0 = report.loop_cache_peak.0.max(copies);
            if now >= warm_at {
                let beyond_copies = live() - audio.held_bytes(report.ring_bytes);
                if report.live_warm == 0 {
                    report.live_warm = beyond_copies;
                }
                report.live_max_after_warmup = report.live_max_after_warmup.max(beyond_copies);
            }
        }
    }
    // The bus's shutdown: what is pending still goes out, within the 2 s `run` gives it.
    while let Some(d) = lights.controller.pending_deadline() {
        if d > now + Duration::from_secs(2) {
            break;
        }
        lights.run_to(d);
    }
    report.engine_end = now;
    report.audio_end = Duration::from_nanos(
        u64::try_from(u128::from(audio.frames) * 1_000_000_000 / u128::from(soak.rate)).unwrap(),
    );
    report.click_heard = audio
        .heard
        .map(|f| Duration::from_nanos(f * 1_000_000_000 / u64::from(soak.rate)));
    report.messages = lights.messages;
    report.tightest = lights.tightest.into_iter().zip(spacing).collect();
    report.underrun_frames = audio.player.stats().underrun_frames;
    report.quietest_window_dbfs = 20.0 * audio.quietest.max(1e-12).log10();
    report.lights_off_at_end = lights.last_off.iter().all(|o| *o);
    report
}
