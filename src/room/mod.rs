//! The room: what outlives one ceremony (the sound output, the light bus, state publishing,
//! the saved position) and the loop that swaps a ceremony engine in on `start` and out when it
//! finishes or stops. `sanctum daemon` is a room that waits idle for `start <ceremony>`;
//! `sanctum run` is a room that starts one ceremony at once and exits when it ends. The whole
//! loop is one `select!` over the engine's next deadline, requests, signals, edits and a
//! one-second tick; the engine decides, the room waits and delivers.

mod persist;
mod publish;
mod reload;
pub mod setup;
mod sound;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::clock::Clock;
use crate::command::Command;
use crate::console;
use crate::instance::Instance;
use crate::journal::{By, Record};
use crate::library::{Entry, Library};
use crate::mqtt::bus::BusMsg;
use crate::mqtt::state::Offer;
use crate::mqtt::{Bus, MqttOutput};
use crate::position::{Decision, Saver};
use crate::printer::describe;
use crate::run::{Output, Request};
use crate::shutdown::Signal;
use crate::sound::Sound;
use crate::systemd::Notifier;
use crate::timeline::{Action, Event, Timeline};
use crate::units::format_duration;

/// How often the room saves a running ceremony's position, at least.
pub const SAVE_EVERY: Duration = Duration::from_secs(5);
/// The room's housekeeping tick (saving, watchdog).
const TICK: Duration = Duration::from_secs(1);
/// First wait before trying a missing sound output again; it doubles up to a minute.
const SOUND_RETRY: Duration = Duration::from_secs(2);

/// What the room does with ceremonies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Start this ceremony of the library at once (at `from`, if given), and end with it.
    Once {
        /// Library id.
        ceremony: String,
        /// `--from`.
        from: Option<String>,
    },
    /// Wait for `start <ceremony>`; return to idle after each one.
    Daemon,
}

/// How a room's loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The ceremony ended (`run`), or a signal stopped the room gently.
    Done,
    /// A second signal: the room quit at once.
    Quit,
}

/// Where the room saves positions, and what it found saved at start.
#[derive(Debug)]
pub struct Persistence {
    /// Writes positions.
    pub saver: Saver,
    /// What the saved position says to do.
    pub decision: Decision,
}

/// A running ceremony: its library entry, its engine, and the last phase it entered (kept
/// through the ending, for the saved position).
struct Running {
    entry: Entry,
    timeline: Timeline,
    last_phase: Option<usize>,
}

impl Running {
    fn new(entry: Entry, timeline: Timeline) -> Self {
        Self {
            entry,
            timeline,
            last_phase: None,
        }
    }
}

/// See the module docs.
pub struct Room {
    plan: Plan,
    library: Library,
    clock: Clock,
    instance: Instance,
    notifier: Notifier,
    sound: Option<Sound>,
    /// The output to try again, when to, and the wait after that.
    sound_retry: Option<(crate::audio::OutputSpec, Duration, Duration)>,
    /// Since when the room has been idle and silent (see `rest_sound`).
    silent_since: Option<Duration>,
    mqtt: Option<MqttOutput>,
    bus: Option<Bus>,
    persistence: Option<Persistence>,
    reload: Option<reload::Source>,
    engine: Option<Running>,
    events: Vec<Event>,
    /// The ceremonies offered, as the state shows them.
    offers: Vec<Offer>,
    /// The room's state JSON (as on `sanctum/<room>/state`), for the phone page.
    feed: watch::Sender<String>,
    /// Where journal entries go (`None`: none are written).
    journal_dir: Option<std::path::PathBuf>,
    /// The running ceremony's journal.
    record: Option<Record>,
    /// Who sent the request being applied (for the journal), and who asked for the stop.
    pending: Option<String>,
    stop_by: By,
    save_due: bool,
    last_save: Duration,
    /// A signal asked the room to end; a second one quits at once.
    signalled: bool,
    done: bool,
}

/// The parts a room is built from (see [`setup`]).
pub struct Parts {
    /// What the room does.
    pub plan: Plan,
    /// The ceremonies it offers, on its rig.
    pub library: Library,
    /// Real time ↔ engine time (started at the resumed offset, if any).
    pub clock: Clock,
    /// This process.
    pub instance: Instance,
    /// systemd.
    pub notifier: Notifier,
    /// The sound output, if any.
    pub sound: Option<Sound>,
    /// The output to keep trying while there is no sound (no sound card at start).
    pub sound_retry: Option<crate::audio::OutputSpec>,
    /// The light bus and its output, if there is a broker.
    pub mqtt: Option<(Bus, MqttOutput)>,
    /// Saving and resuming, if on.
    pub persistence: Option<Persistence>,
    /// Where edits come from, for hot reload.
    pub reload: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// Where journal entries go, if anywhere.
    pub journal: Option<std::path::PathBuf>,
}

impl Room {
    /// A room from its parts, idle.
    #[must_use]
    pub fn new(parts: Parts) -> Self {
        let (bus, mqtt) = match parts.mqtt {
            Some((bus, out)) => (Some(bus), Some(out)),
            None => (None, None),
        };
        Self {
            plan: parts.plan,
            library: parts.library,
            clock: parts.clock,
            instance: parts.instance,
            notifier: parts.notifier,
            sound: parts.sound,
            sound_retry: parts.sound_retry.map(|o| (o, SOUND_RETRY, SOUND_RETRY)),
            silent_since: None,
            mqtt,
            bus,
            persistence: parts.persistence,
            reload: parts
                .reload
                .map(|(library, rig)| reload::Source { library, rig }),
            engine: None,
            events: Vec::new(),
            offers: Vec::new(),
            feed: watch::Sender::new(String::new()),
            journal_dir: parts.journal,
            record: None,
            pending: None,
            stop_by: By::Sanctum,
            save_due: false,
            last_save: Duration::ZERO,
            signalled: false,
            done: false,
        }
    }

    /// The room's state as JSON, the same as the retained `state` topic carries, updated on
    /// every change, with or without a broker (the phone page follows it).
    #[must_use]
    pub fn state_feed(&self) -> watch::Receiver<String> {
        self.feed.subscribe()
    }

    /// Runs the room until its plan is done or a signal ends it, then closes the bus
    /// (delivering what is due, `offline` and a clean disconnect).
    pub async fn run(
        mut self,
        mut requests: mpsc::Receiver<Request>,
        mut signals: mpsc::Receiver<Signal>,
        mut edits: Option<mpsc::UnboundedReceiver<Vec<std::path::PathBuf>>>,
        mut trouble: Option<mpsc::UnboundedReceiver<String>>,
    ) -> Exit {
        self.offer_library();
        self.begin();
        let ready = match &self.engine {
            Some(r) => format!("running {}", r.entry.id),
            None => format!(
                "idle: {} ceremony(ies) to start",
                self.library.entries().len()
            ),
        };
        self.notifier.ready(&ready);
        let mut last_tick = tokio::time::Instant::now();
        let mut requests_open = true;
        let exit = loop {
            self.flush();
            if self.done {
                break Exit::Done;
            }
            let wake = self
                .engine
                .as_ref()
                .and_then(|r| r.timeline.next_deadline())
                .map(|d| self.clock.instant_at(d));
            let tick_at = self.tick_every().map(|every| last_tick + every);
            tokio::select! {
                () = sleep_until(wake) => {
                    let now = self.clock.now();
                    if let Some(r) = &mut self.engine {
                        r.timeline.advance(now, &mut self.events);
                    }
                }
                got = requests.recv(), if requests_open => match got {
                    Some(request) => self.request(&request),
                    None => requests_open = false,
                },
                Some(signal) = signals.recv() => if self.signal(signal) {
                    break Exit::Quit;
                },
                Some(paths) = next_of(&mut edits) => self.reload(&paths),
                Some(what) = next_of(&mut trouble) => self.trouble(&what),
                () = sleep_until(tick_at) => {
                    last_tick = tokio::time::Instant::now();
                    self.tick();
                }
            }
        };
        self.close(exit).await;
        exit
    }

    /// How often the room needs its tick now: every second while a ceremony runs, the sound
    /// output is missing or still open; at rest (idle, silent, output closed) only for the
    /// watchdog, if systemd asked for one, else never, so an idle daemon does not wake.
    fn tick_every(&self) -> Option<Duration> {
        let busy = self.engine.is_some()
            || self.sound_retry.is_some()
            || self.sound.as_ref().is_some_and(|s| !s.is_resting());
        let ping = self.notifier.ping_every();
        if busy {
            Some(ping.map_or(TICK, |p| p.min(TICK)))
        } else {
            ping
        }
    }

    /// Resumes a saved position, or starts `run`'s ceremony, or waits.
    fn begin(&mut self) {
        if self.sound_retry.is_some() {
            self.error_event(
                "no sound output: the ceremony runs without sound until the default device opens (see `sanctum devices`, or --output)",
            );
        }
        let decision = self
            .persistence
            .as_ref()
            .map_or(Decision::Idle, |p| p.decision.clone());
        let wanted = match &self.plan {
            Plan::Once { ceremony, from } => Some((ceremony.clone(), from.clone())),
            Plan::Daemon => None,
        };
        if let Decision::Refused(why) = &decision {
            tracing::warn!("not resuming: {why}");
            self.error_event(&format!("not resuming: {why}"));
        }
        if let Decision::Resume {
            ceremony,
            place,
            downtime,
            note,
        } = decision
        {
            let fits = wanted
                .as_ref()
                .is_none_or(|(id, from)| *id == ceremony && from.is_none());
            if fits && self.resume(&ceremony, &place, downtime, note.as_deref()) {
                return;
            }
        }
        if let Some((id, from)) = wanted {
            let request = Request {
                command: Command::StartCeremony(id),
                source: "run".to_owned(),
            };
            self.start(&request, from.as_deref());
        } else {
            self.say("idle: waiting for `start <ceremony>`");
        }
    }

    fn resume(
        &mut self,
        id: &str,
        place: &crate::timeline::Place,
        downtime: Duration,
        note: Option<&str>,
    ) -> bool {
        let Some(entry) = self.library.get(id).cloned() else {
            return false;
        };
        let now = self.clock.now();
        let mut timeline =
            Timeline::new(Arc::clone(&entry.ceremony), Arc::clone(&self.library.rig));
        // The debounce window is about fingers: real time, however fast a rehearsal runs.
        timeline.set_speed(self.clock.speed());
        match timeline.resume(now, place, &mut self.events) {
            Ok(()) => {
                let phase = timeline
                    .status(now)
                    .phase
                    .map_or("?", |i| entry.ceremony.phases[i].id.as_str());
                let line = format!(
                    "resuming `{id}` at phase `{phase}` after {} away{}",
                    format_duration(Duration::from_secs(downtime.as_secs())),
                    note.map(|n| format!(" ({n})")).unwrap_or_default()
                );
                tracing::info!("{line}");
                self.event(state_line("resumed", &line));
                self.take_up(entry, timeline, now);
                true
            }
            Err(why) => {
                tracing::warn!("not resuming `{id}`: {why}");
                self.error_event(&format!("not resuming `{id}`: {why}"));
                self.save_ended(id, &entry.hash);
                false
            }
        }
    }

    fn request(&mut self, request: &Request) {
        let now = self.clock.now();
        self.pending = Some(request.source.clone());
        if matches!(request.command, Command::Start | Command::StartCeremony(_)) {
            self.start(request, None);
            return;
        }
        let Some(running) = &mut self.engine else {
            self.ignored(
                request,
                "no ceremony is running; start one with `start <ceremony>`",
            );
            return;
        };
        if let Command::Relight(name) = &request.command {
            let fade = running.timeline.ceremony().transition;
            let lights = &running.timeline.rig().lights;
            let index = match name {
                None => None,
                Some(name) => match lights
                    .iter()
                    .position(|l| l.name.eq_ignore_ascii_case(name))
                {
                    Some(i) => Some(i),
                    None => {
                        let names: Vec<String> = lights.iter().map(|l| l.name.clone()).collect();
                        let why = format!("no light `{name}` in the rig; it has {}", list(&names));
                        self.ignored(request, &why);
                        return;
                    }
                },
            };
            match &self.bus {
                Some(bus) => {
                    bus.handle().send(BusMsg::Relight { index, fade });
                    self.say(&format!(
                        "{}  · {} (from {}): back to the ceremony's light over {}",
                        crate::units::format_clock(now),
                        request.command,
                        request.source,
                        format_duration(fade)
                    ));
                }
                None => self.ignored(request, "this room has no broker, so no lights"),
            }
            return;
        }
        match running
            .timeline
            .command(now, &request.command, &mut self.events)
        {
            Ok(()) => self.save_due = true,
            Err(why) => {
                let why = running.timeline.explain(why);
                self.ignored(request, &why);
            }
        }
    }

    /// Starts the ceremony a `start` names (or the only one, or `run`'s).
    fn start(&mut self, request: &Request, from: Option<&str>) {
        if let Some(r) = &self.engine {
            let why = format!("`{}` is running; stop it first", r.entry.id);
            self.ignored(request, &why);
            return;
        }
        let id = match (&request.command, &self.plan) {
            (Command::StartCeremony(id), _) => Some(id.clone()),
            (_, Plan::Once { ceremony, .. }) => Some(ceremony.clone()),
            _ if self.library.entries().len() == 1 => Some(self.library.entries()[0].id.clone()),
            _ => None,
        };
        let Some(entry) = id.as_deref().and_then(|id| self.library.get(id)).cloned() else {
            let ids = self.library.ids();
            let why = match id {
                Some(id) => format!("no ceremony `{id}` in the library; it has {}", list(&ids)),
                None => format!("start which ceremony? the library has {}", list(&ids)),
            };
            self.ignored(request, &why);
            return;
        };
        let now = self.clock.now();
        let mut timeline =
            Timeline::new(Arc::clone(&entry.ceremony), Arc::clone(&self.library.rig));
        // The debounce window is about fingers: real time, however fast a rehearsal runs.
        timeline.set_speed(self.clock.speed());
        if let Some(from) = from
            && timeline.start_from(from).is_err()
        {
            self.ignored(request, &format!("no phase `{from}`"));
            return;
        }
        // The mixer may still hold the last ceremony's volume; reset it while all is silent.
        self.events.push(Event {
            at: now,
            action: Action::Master {
                gain: timeline.status(now).volume,
                fade: Duration::ZERO,
            },
        });
        tracing::info!("starting `{}` ({})", entry.id, request.source);
        if let Err(why) = timeline.command(now, &Command::Start, &mut self.events) {
            self.ignored(request, &why.to_string());
            return;
        }
        self.pending = Some(request.source.clone());
        self.take_up(entry, timeline, now);
    }

    /// Makes `timeline` (just started or resumed at `now`) the room's ceremony: its journal
    /// begins, its position is saved, Home Assistant's phase select follows it.
    fn take_up(&mut self, entry: Entry, timeline: Timeline, now: Duration) {
        self.record = Some(Record::new(
            &entry.id,
            &entry.ceremony.title,
            self.clock.wall_at(now),
        ));
        self.engine = Some(Running::new(entry, timeline));
        self.save_due = true;
        self.refresh_discovery();
    }

    /// Returns whether the room must quit at once.
    fn signal(&mut self, signal: Signal) -> bool {
        if signal == Signal::HangUp && self.plan == Plan::Daemon {
            tracing::info!("SIGHUP: reloading the library and the rig");
            self.reload(&[]);
            return false;
        }
        if self.signalled {
            return true;
        }
        self.signalled = true;
        let now = self.clock.now();
        let Some(running) = &mut self.engine else {
            self.done = true;
            return false;
        };
        let stop = Command::Stop;
        if running
            .timeline
            .command(now, &stop, &mut self.events)
            .is_ok()
        {
            self.save_due = true;
        }
        false
    }

    fn tick(&mut self) {
        let now = self.clock.now();
        if self.engine.is_some() && now.saturating_sub(self.last_save) >= SAVE_EVERY {
            self.save_due = true;
        }
        // The tick runs at least twice per watchdog period: a ping per tick proves the loop
        // turns.
        self.notifier.ping();
        self.retry_sound(now);
        self.flush();
        self.rest_sound(now);
    }

    /// Delivers pending events, ends a finished ceremony, and saves if due.
    fn flush(&mut self) {
        let events = std::mem::take(&mut self.events);
        if let Some(r) = &mut self.engine {
            for event in &events {
                if let Action::PhaseStarted { index, .. } = event.action {
                    r.last_phase = Some(index);
                }
                if let Some(record) = &mut self.record {
                    let by = By::of(self.pending.as_deref().unwrap_or("run"));
                    let at = self.clock.wall_at(event.at);
                    match &event.action {
                        Action::PhaseStarted { title, trigger, .. } => {
                            let by = if *trigger == crate::timeline::Trigger::Auto {
                                By::Timer
                            } else {
                                by
                            };
                            record.phase(at, title, *trigger, by);
                        }
                        Action::Paused => record.paused(at, by),
                        Action::Resumed => record.resumed(at),
                        Action::Master { gain, fade } if !fade.is_zero() => {
                            record.change(at, &format!("volume to {gain}"), by);
                        }
                        Action::Stopping { .. } => self.stop_by = by,
                        Action::Ended(kind) => record.ended(at, *kind, self.stop_by),
                        _ => {}
                    }
                }
                if matches!(
                    event.action,
                    Action::PhaseStarted { .. }
                        | Action::Paused
                        | Action::Resumed
                        | Action::Master { .. }
                        | Action::Stopping { .. }
                        | Action::Finishing { .. }
                ) {
                    self.save_due = true;
                }
                console::say(&describe(event, r.timeline.ceremony(), r.timeline.rig()));
                if let Some(sound) = &mut self.sound {
                    sound.apply(event, &r.timeline);
                }
                if let Some(mqtt) = &mut self.mqtt {
                    mqtt.apply(event, &r.timeline);
                }
            }
        }
        if self.save_due {
            self.save();
        }
        self.refresh_feed();
        self.pending = None;
        if self.engine.as_ref().is_some_and(|r| r.timeline.is_ended()) {
            self.engine = None;
            self.write_journal();
            if self.signalled || self.plan != Plan::Daemon {
                // The room ends too: its last state (`stopped`, `finished`) stays retained
                // beside `offline`.
                self.done = true;
            } else {
                let now = self.clock.now();
                if let Some(mqtt) = &mut self.mqtt {
                    mqtt.refresh_state(None, now);
                }
                self.refresh_discovery();
                self.refresh_feed();
                self.say("idle: waiting for `start <ceremony>`");
                self.notifier.status("idle");
            }
        }
    }

    /// Ends the room: saves, tells systemd, publishes the final idle state, closes sound and
    /// bus (with less patience after a second signal).
    async fn close(mut self, exit: Exit) {
        self.notifier.stopping();
        let now = self.clock.now();
        if exit == Exit::Quit {
            if let Some(r) = &self.engine {
                let (id, hash) = (r.entry.id.clone(), r.entry.hash.clone());
                self.save_ended(&id, &hash);
            }
            self.engine = None;
            self.write_journal();
            if let Some(mqtt) = &mut self.mqtt {
                mqtt.refresh_state(None, now);
            }
        }
        if let Some(p) = self.persistence.take() {
            p.saver.finish();
        }
        drop(self.sound.take());
        drop(self.mqtt.take());
        if let Some(bus) = self.bus.take() {
            let within = match exit {
                Exit::Done => Duration::from_secs(2),
                Exit::Quit => Duration::from_millis(500),
            };
            let stats = bus.shutdown(within).await;
            tracing::debug!(?stats, "mqtt bus stopped");
        }
    }
}

fn state_line(event: &str, text: &str) -> String {
    serde_json::json!({"event": event, "text": text}).to_string()
}

fn list(ids: &[String]) -> String {
    if ids.is_empty() {
        "no ceremonies".to_owned()
    } else {
        ids.iter()
            .map(|i| format!("`{i}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

async fn next_of<T>(rx: &mut Option<mpsc::UnboundedReceiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(wake: Option<tokio::time::Instant>) {
    match wake {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
