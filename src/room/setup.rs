//! Building a room from what the command line and the config say: the saved position and
//! whether to resume it, the clock, the one-instance-per-room check, the sound output, the
//! light bus with its Last Will, the file watcher and the terminal reader. I/O at the edge;
//! the room itself only runs what is built here.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

use super::{Parts, Persistence, Plan, Room};
use crate::audio::OutputSpec;
use crate::clock::{self, Clock};
use crate::command::Command;
use crate::instance::Instance;
use crate::library::Library;
use crate::lights::controller::LightController;
use crate::model::Rig;
use crate::mqtt::state;
use crate::mqtt::{Broker, Bus, BusConfig, ConnectionError, MqttOutput, Router, Topics, client};
use crate::position::{self, Decision, Saver};
use crate::run::Request;
use crate::shutdown::Signal;
use crate::sound::{Sound, SoundError};
use crate::systemd::Notifier;

/// Requests queued for the room at most (a person's command is never among many).
pub const REQUEST_QUEUE: usize = 64;
/// How long the one-instance check waits for the broker.
const CHECK_WITHIN: Duration = Duration::from_secs(3);

/// Everything a room needs to know before it opens.
#[derive(Debug)]
pub struct RoomSpec {
    /// What it does.
    pub plan: Plan,
    /// The ceremonies, on the room's rig.
    pub library: Library,
    /// Where to reload the library and rig from on edits (`None`: no hot reload).
    pub reload: Option<(PathBuf, PathBuf)>,
    /// Engine speed (1 = real time).
    pub speed: f64,
    /// The audio output.
    pub output: OutputSpec,
    /// The broker (`None`: no MQTT).
    pub broker: Option<Broker>,
    /// Room name in topics.
    pub room: String,
    /// Where positions are saved (`None`: not saved, nothing resumed).
    pub state_dir: Option<PathBuf>,
    /// Ignore any saved position.
    pub fresh: bool,
    /// How old a saved position may be and still be resumed.
    pub resume_within: Duration,
    /// Start even if another instance runs this room.
    pub force: bool,
    /// Read commands from the terminal.
    pub terminal: bool,
    /// Serve the phone page (`None`: off).
    pub remote: Option<crate::web::RemoteSpec>,
}

/// Why a room could not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The audio output could not start.
    #[error(transparent)]
    Sound(#[from] SoundError),
    /// The MQTT connection could not be set up (credentials, TLS, URL).
    #[error(transparent)]
    Mqtt(#[from] ConnectionError),
    /// Signal handlers or threads could not start.
    #[error("failed to start: {0}")]
    Io(#[from] std::io::Error),
    /// The phone page could not start.
    #[error(transparent)]
    Web(#[from] crate::web::WebError),
    /// Another instance runs this room.
    #[error(
        "failed to start: room `{room}` already has a live sanctum (pid {pid} on {host}, since {since}); stop it first, or pass --force to take the room over"
    )]
    Duplicate {
        /// The room.
        room: String,
        /// The other's host.
        host: String,
        /// The other's pid.
        pid: String,
        /// Since when it runs.
        since: String,
    },
}

/// A room ready to run, with its inputs.
pub struct Opened {
    /// The room.
    pub room: Room,
    /// Requests from the terminal and MQTT.
    pub requests: mpsc::Receiver<Request>,
    /// SIGINT, SIGTERM, SIGHUP.
    pub signals: mpsc::Receiver<Signal>,
    /// Debounced edits of the library and rig.
    pub edits: Option<mpsc::UnboundedReceiver<Vec<PathBuf>>>,
    /// Keeps the file watcher alive.
    pub watcher: Option<crate::watch::Watcher>,
    /// Broker and device trouble, for the journal.
    pub trouble: Option<mpsc::UnboundedReceiver<String>>,
}

/// Opens a room on the current tokio runtime.
///
/// # Errors
/// See [`OpenError`].
pub async fn open(spec: RoomSpec) -> Result<Opened, OpenError> {
    let signals = crate::shutdown::signals()?;
    let started = clock::wall_now();
    let instance = Instance::this(started);
    let rig = Arc::clone(&spec.library.rig);
    let topics = Topics::new(&spec.room);
    let broker = spec.broker.clone();
    if let Some(broker) = &broker
        && !spec.force
    {
        check_alone(broker, &rig, &topics).await?;
    }
    let persistence = match &spec.state_dir {
        Some(dir) if spec.speed == 1.0 => Some(persistence(dir, &spec, started)?),
        _ => None,
    };
    let base = match persistence.as_ref().map(|p| &p.decision) {
        Some(Decision::Resume { place, .. }) => place.offset,
        _ => Duration::ZERO,
    };
    let clock = Clock::start_at(spec.speed, base);
    // No sound card is like a lost broker: the ceremony runs, and the room keeps trying the
    // default device. A device named on purpose must open now.
    let (sound, sound_retry) = match Sound::open(spec.output.clone(), &rig) {
        Ok(sound) => (Some(sound), None),
        Err(err) if spec.output == OutputSpec::Device(None) => {
            tracing::warn!(
                "no sound output: {err}. The ceremony runs without sound; sanctum keeps trying the default device (see `sanctum devices`, or choose one with --output)"
            );
            (None, Some(spec.output.clone()))
        }
        Err(err) => return Err(err.into()),
    };
    let (tx, requests) = mpsc::channel(REQUEST_QUEUE);
    let (trouble_tx, trouble) = mpsc::unbounded_channel();
    let mqtt = match broker {
        Some(broker) => {
            let config = BusConfig {
                broker,
                client_id: format!("sanctum-{}-{}", spec.room, std::process::id()),
                settings: rig.mqtt.clone(),
                topics: topics.clone(),
                router: Router::new(topics.clone(), &rig.remotes, rig.mqtt.discovery)
                    .watching_status(),
                discovery: Vec::new(),
                instance: Some(instance.clone()),
                trouble: Some(trouble_tx),
            };
            let controller = LightController::new(rig.light_specs(), seed());
            // Lights run on real time so that --speed never multiplies bulb rates.
            let bus = Bus::start(config, controller, clock.at_speed(1.0), tx.clone())?;
            let out =
                MqttOutput::new(bus.handle(), topics, clock).with_discovery(rig.mqtt.discovery);
            Some((bus, out))
        }
        None => None,
    };
    let (watcher, edits) = match &spec.reload {
        Some((library, rig_path)) => match crate::watch::watch(library, rig_path) {
            Ok((w, rx)) => (Some(w), Some(rx)),
            Err(err) => {
                tracing::warn!(
                    "failed to watch {} for edits: {err}; send SIGHUP to reload",
                    library.display()
                );
                (None, None)
            }
        },
        None => (None, None),
    };
    if spec.terminal {
        tokio::spawn(read_terminal(tx.clone()));
    }
    let journal = match &spec.state_dir {
        Some(dir) if spec.speed == 1.0 => Some(crate::journal::store::folder(dir)),
        _ => None,
    };
    let room = Room::new(Parts {
        plan: spec.plan,
        library: spec.library,
        clock,
        instance,
        notifier: Notifier::from_env(),
        sound,
        sound_retry,
        mqtt,
        persistence,
        reload: spec.reload,
        journal,
    });
    if let Some(remote) = &spec.remote {
        crate::web::start(remote, spec.state_dir.as_deref(), room.state_feed(), tx).await?;
    }
    Ok(Opened {
        room,
        requests,
        signals,
        edits,
        watcher,
        trouble: Some(trouble),
    })
}

/// Reads the saved position and decides whether to resume it.
fn persistence(
    dir: &std::path::Path,
    spec: &RoomSpec,
    now: std::time::SystemTime,
) -> std::io::Result<Persistence> {
    let file = position::file_for(dir, &spec.room);
    let saved = match position::read(&file) {
        Ok(saved) => saved,
        Err(err) => {
            tracing::warn!("{err}; starting without it");
            None
        }
    };
    let decision = if spec.fresh {
        Decision::Idle
    } else {
        position::decide(saved.as_ref(), now, spec.resume_within, &spec.library)
    };
    Ok(Persistence {
        saver: Saver::start(file)?,
        decision,
    })
}

/// Refuses to open a room whose status says another live instance runs it. A broker that
/// cannot be reached is no reason to refuse: the ceremony goes on without it.
async fn check_alone(broker: &Broker, rig: &Rig, topics: &Topics) -> Result<(), OpenError> {
    match client::peek_retained(broker, &rig.mqtt, &topics.status, CHECK_WITHIN).await {
        Ok(Some(payload)) => match state::read_status(payload.as_bytes()) {
            Some(other) if other.online => Err(OpenError::Duplicate {
                room: topics.room.clone(),
                host: other.host.unwrap_or_else(|| "an unknown host".to_owned()),
                pid: other
                    .pid
                    .map_or_else(|| "unknown".to_owned(), |p| p.to_string()),
                since: other.since.unwrap_or_else(|| "an unknown time".to_owned()),
            }),
            _ => Ok(()),
        },
        Ok(None) => Ok(()),
        Err(err) => {
            // The bus says once that the broker is away; no second warning here.
            tracing::debug!("could not check for another instance of this room: {err}");
            Ok(())
        }
    }
}

/// Reads commands typed on the terminal, one per line.
async fn read_terminal(tx: mpsc::Sender<Request>) {
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        match Command::parse(&line) {
            Ok(command) => {
                let request = Request {
                    command,
                    source: "terminal".to_owned(),
                };
                if tx.send(request).await.is_err() {
                    break;
                }
            }
            Err(err) => crate::console::warn(&format!("{err}\n")),
        }
    }
}

/// A seed for light effects that differs between runs.
#[must_use]
pub fn seed() -> u64 {
    u64::from(std::process::id()) ^ 0x5EED_CAFE_F00D
}
