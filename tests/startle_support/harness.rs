//! Runs a [`Case`] on virtual time through the real parts: the config loader, the engine
//! (`Timeline`), the mixer (`sound::Player` and the processor from `audio::build`, pulled
//! block by block as `render` pulls it) and the lights (`MqttOutput` into a detached bus
//! handle, whose messages drive a real `LightController`, whose drivers' publishes are kept).
//!
//! Nobody sits in the room, so when nothing is due for a while the harness does what a person
//! would: resumes a pause, or presses `next` on a phase that waits.
//!
//! The end is modelled as `run` ends: the audio output closes at the engine's `Ended` (the
//! harness appends the silence a closed device plays), and the lights get what the bus's
//! shutdown delivers: everything the controller still has pending, for at most
//! [`SHUTDOWN_WITHIN`] (the time `sanctum run` gives the bus).

use std::sync::Arc;
use std::time::Duration;

use sanctum::clock::Clock;
use sanctum::command::Command;
use sanctum::lights::Publish;
use sanctum::lights::controller::{LightController, LightSpec};
use sanctum::model::Rig;
use sanctum::mqtt::bus::{BusHandle, BusMsg};
use sanctum::mqtt::{MqttOutput, Topics};
use sanctum::run::Output;
use sanctum::sound::Player;
use sanctum::timeline::{Action, EndKind, Event, Timeline};

use super::{Case, Cmd, RATE};

/// Frames in one envelope window (10 ms).
pub const WINDOW: usize = RATE as usize / 100;
/// How long the bus's shutdown may take to deliver what is still due (as `sanctum run`).
pub const SHUTDOWN_WITHIN: Duration = Duration::from_secs(2);
/// Silence appended after the end, as a closed output plays it.
pub const TAIL: Duration = Duration::from_millis(200);
/// How long the room waits before a person resumes a pause or presses `next`.
pub const PATIENCE: Duration = Duration::from_secs(6);
/// Longest a case may run (virtual time).
pub const LIMIT: Duration = Duration::from_secs(600);
/// Seed for effects.
pub const SEED: u64 = 9;

/// Everything a run produced.
pub struct Outcome {
    /// The rig as loaded.
    pub rig: Arc<Rig>,
    /// The lights' specs (options decide how payloads map to levels).
    pub specs: Vec<LightSpec>,
    /// RMS of channel 0 per 10 ms window, from time 0 to the end plus [`TAIL`].
    pub envelope: Vec<f32>,
    /// Every engine event, in order.
    pub events: Vec<Event>,
    /// Commands the engine accepted, with their times.
    pub accepted: Vec<(Duration, Command)>,
    /// Every light publish, with the engine time it went out.
    pub publishes: Vec<(Duration, usize, Publish)>,
    /// For each publish, how many of `events` the lights had heard when it went out: a
    /// publish at a cue's very instant may still be the old plan's (the harness polls the
    /// lights up to an instant before the engine's events of that instant reach them).
    pub heard: Vec<usize>,
    /// When and how it ended.
    pub end: (Duration, EndKind),
}

fn command(cmd: &Cmd) -> Command {
    match cmd {
        Cmd::Next => Command::Next,
        Cmd::Prev => Command::Prev,
        Cmd::Goto(i) => Command::Goto(format!("p{i}")),
        Cmd::Pause => Command::Pause,
        Cmd::Resume => Command::Resume,
        Cmd::Stop => Command::Stop,
        Cmd::Louder => Command::Louder,
        Cmd::Softer => Command::Softer,
    }
}

struct Lights {
    controller: LightController,
    bus: tokio::sync::mpsc::UnboundedReceiver<BusMsg>,
    output: MqttOutput,
    /// Light index of each address, to attribute publishes.
    addresses: Vec<String>,
    now: Duration,
    out: Vec<(Duration, usize, Publish)>,
    /// Engine events delivered so far, and that count for each of `out`.
    events: usize,
    heard: Vec<usize>,
}

impl Lights {
    fn record(&mut self, at: Duration, batch: Vec<Publish>) {
        for p in batch {
            let light = self
                .addresses
                .iter()
                .position(|a| p.topic.contains(&format!("{a}/")) || p.topic.contains(a))
                .unwrap_or(usize::MAX);
            self.out.push((at, light, p));
            self.heard.push(self.events);
        }
    }

    /// Polls the controller at each of its deadlines up to `to`, then at `to`.
    fn run_to(&mut self, to: Duration) {
        let mut at = self.now;
        loop {
            let batch = self.controller.poll(at);
            self.record(at, batch);
            self.now = at;
            match self.controller.next_deadline() {
                Some(d) if d <= to => at = d.max(at + Duration::from_micros(1)),
                _ => break,
            }
        }
        if to > self.now {
            let batch = self.controller.poll(to);
            self.record(to, batch);
            self.now = to;
        }
    }

    /// Hands the controller what one engine event sent down the bus.
    fn take_bus(&mut self) {
        self.events += 1;
        while let Ok(msg) = self.bus.try_recv() {
            // Publishes (state for phones) are not what these cases check.
            msg.apply_to(&mut self.controller, self.now).unwrap();
        }
    }
}

struct Audio {
    player: Player,
    processor: sanctum::audio::AudioProcessor,
    frames: u64,
    left: Vec<f32>,
    buf: Vec<f32>,
}

impl Audio {
    fn frame_at(t: Duration) -> u64 {
        u64::try_from((t.as_nanos() * u128::from(RATE) + 500_000_000) / 1_000_000_000).unwrap()
    }

    fn render_to(&mut self, t: Duration) {
        let end = Self::frame_at(t);
        while self.frames < end {
            let n = usize::try_from((end - self.frames).min(1024)).unwrap();
            let buf = &mut self.buf[..n * 2];
            self.processor.process_blocking(buf);
            self.left.extend(buf.iter().step_by(2));
            self.frames += n as u64;
        }
    }
}

/// Runs `case`; without `audio`, no mixer is built (for the renamed twin, which compares
/// lights only).
pub fn run(case: &Case, audio: bool) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let folder = case.write(dir.path());
    let loaded = match sanctum::config::load_ceremony(&folder, None) {
        Ok(l) => l,
        Err(d) => panic!("the grammar made a ceremony that does not load:\n{d}\n{case:#?}"),
    };
    let rig = loaded.rig;
    let mut timeline = Timeline::new(Arc::new(loaded.ceremony), Arc::clone(&rig));
    let specs = rig.light_specs();
    let (bus, rx) = BusHandle::detached();
    let mut lights = Lights {
        controller: LightController::new(specs.clone(), SEED),
        bus: rx,
        output: MqttOutput::new(bus, Topics::new("startle"), Clock::start(1.0)),
        addresses: specs.iter().map(|s| s.address.clone()).collect(),
        now: Duration::ZERO,
        out: Vec::new(),
        events: 0,
        heard: Vec::new(),
    };
    let mut mixer = audio.then(|| {
        let (player, processor) = Player::build(&rig, RATE);
        Audio {
            player,
            processor,
            frames: 0,
            left: Vec::new(),
            buf: vec![0.0; 2048],
        }
    });
    let mut events = Vec::new();
    let mut log = Vec::new();
    let mut accepted = Vec::new();
    let mut commands = case
        .commands
        .iter()
        .map(|(at, c)| (Duration::from_millis(u64::from(*at)), command(c)))
        .peekable();
    let mut deliver = |events: &mut Vec<Event>,
                       timeline: &Timeline,
                       mixer: &mut Option<Audio>,
                       lights: &mut Lights| {
        for e in events.drain(..) {
            if let Some(m) = mixer.as_mut() {
                m.player.apply(&e, timeline);
            }
            lights.output.apply(&e, timeline);
            lights.take_bus();
            log.push(e);
        }
    };
    let mut now = Duration::ZERO;
    timeline.command(now, &Command::Start, &mut events).unwrap();
    accepted.push((now, Command::Start));
    deliver(&mut events, &timeline, &mut mixer, &mut lights);
    let mut last_change = now;
    while !timeline.is_ended() {
        assert!(now < LIMIT, "the case ran past {LIMIT:?}");
        let nudge = last_change + PATIENCE;
        let cmd_at = commands.peek().map(|c| c.0);
        let mut due = nudge;
        for d in [timeline.next_deadline(), cmd_at].into_iter().flatten() {
            due = due.min(d);
        }
        let due = due.max(now);
        if let Some(m) = mixer.as_mut() {
            m.render_to(due);
        }
        lights.run_to(due);
        now = due;
        timeline.advance(now, &mut events);
        let mut sent = None;
        if cmd_at == Some(now) {
            sent = commands.next().map(|c| c.1);
        } else if now >= nudge && timeline.next_deadline().is_none_or(|d| d > now) {
            // Whether or not it changes anything (a debounced `next`), the room waits again.
            last_change = now;
            let paused = matches!(timeline.status(now).mode, sanctum::timeline::Mode::Paused);
            sent = Some(if paused {
                Command::Resume
            } else {
                Command::Next
            });
        }
        if let Some(cmd) = sent
            && timeline.command(now, &cmd, &mut events).is_ok()
        {
            accepted.push((now, cmd));
        }
        if !events.is_empty() {
            last_change = now;
        }
        deliver(&mut events, &timeline, &mut mixer, &mut lights);
        lights.run_to(now);
    }
    let kind = log
        .iter()
        .rev()
        .find_map(|e| match e.action {
            Action::Ended(k) => Some(k),
            _ => None,
        })
        .unwrap();
    let end = now;
    // The bus's shutdown: what is pending still goes out, within its time.
    while let Some(d) = lights.controller.pending_deadline() {
        if d > end + SHUTDOWN_WITHIN {
            break;
        }
        lights.run_to(d);
    }
    let mut envelope = Vec::new();
    if let Some(mut m) = mixer {
        m.render_to(end);
        let tail = usize::try_from(Audio::frame_at(TAIL)).unwrap();
        m.left.extend(std::iter::repeat_n(0.0, tail));
        envelope = m
            .left
            .chunks_exact(WINDOW)
            .map(|w| (w.iter().map(|s| s * s).sum::<f32>() / WINDOW as f32).sqrt())
            .collect();
    }
    Outcome {
        rig,
        specs,
        envelope,
        events: log,
        accepted,
        publishes: lights.out,
        heard: lights.heard,
        end: (end, kind),
    }
}
