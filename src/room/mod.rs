//! The room: what outlives one ceremony (the sound output, the light bus, state publishing,
//! the saved position) and the loop that swaps a ceremony engine in on `start` and out when it
//! finishes or stops. `sanctum daemon` is a room that waits idle for `start <ceremony>`;
//! `sanctum run` is a room that starts one ceremony at once and exits when it ends. The whole
//! loop is one `select!` over the engine's next deadline, requests, signals, edits and a
//! one-second tick; the engine decides, the room waits and delivers.
//!
//! This file holds the room's types, its loop, its tick and its close; the rest is one concern
//! per file: `start` (resuming a saved position or starting a ceremony), `requests` (commands
//! and signals), `deliver` (the engine's events to the outputs, the end of a ceremony),
//! `publish` (what people are told), `persist` (position and journal), `sound` (a missing or
//! resting sound output), `reload` (edits) and `setup` (building a room).

mod deliver;
mod persist;
mod publish;
mod reload;
mod requests;
pub mod setup;
mod sound;
mod start;

use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::clock::{Clock, sleep_until};
use crate::instance::Instance;
use crate::journal::{By, Record};
use crate::library::{Entry, Library};
use crate::mqtt::state::Offer;
use crate::mqtt::{Bus, MqttOutput};
use crate::position::{Decision, Saver};
use crate::run::Request;
use crate::shutdown::Signal;
use crate::sound::Sound;
use crate::systemd::Notifier;
use crate::timeline::{Event, Timeline};

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
