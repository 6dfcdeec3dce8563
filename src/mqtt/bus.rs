//! The light bus: the ONE task that owns the rumqttc event loop and the light controller.
//! It selects over the event loop, its inbox (light targets, pause/resume, state and event
//! publishes), the controller's next deadline and shutdown. It publishes only with
//! `try_publish` (never `publish().await` from the polling task, rumqttc #263/#1025), backs
//! off between failed connects (warning once per cause, never giving up: the ceremony and the
//! audio go on without a broker), and on EVERY ConnAck re-subscribes and re-publishes
//! availability, retained state and each light's CURRENT command (no stale steps).
//! It must not decide what lights or state should be; the engine and the controller do.
//!
//! This file holds the bus's types, its handle and the task's state; the task's behaviour is
//! one concern per file: `task` (the select loop, the inbox and the shutdown), `connect`
//! (poll results, backoff and what every ConnAck sends again), `publish` (everything that
//! goes out, with the backlog while the broker is away) and `incoming` (commands and status
//! messages read from the broker).

mod connect;
mod incoming;
mod publish;
mod task;

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use rumqttc::AsyncClient;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::connection::{self, Broker, ConnectionError};
use super::flood::FloodGate;
use super::remote::Router;
use super::state;
use super::topics::Topics;
use crate::clock::Clock;
use crate::instance::Instance;
use crate::lights::Publish;
use crate::lights::controller::{ControllerError, LightController};
use crate::lights::target::LightTarget;
use crate::model::MqttSettings;
use crate::run::Request;
use crate::tween::Curve;

/// Capacity of rumqttc's request channel: room for a reconnect's whole burst (status, state,
/// discovery, one command per light) plus ordinary traffic.
pub const REQUEST_CAPACITY: usize = 1024;
/// First wait after a failed connect; doubles up to [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between connects while the broker is away (so lights are back within about
/// a second of the broker's return).
pub const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// Wait between connects the broker refused (credentials, TLS): retrying fast will not help.
pub const REFUSED_BACKOFF: Duration = Duration::from_secs(5);
/// Event lines kept while the broker is away (before the first connect, or in an outage),
/// published in order when it is back; the oldest go first when more come.
pub const EVENT_BACKLOG: usize = 256;

/// What the bus needs to know besides the controller.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// Where the broker is.
    pub broker: Broker,
    /// MQTT client id (unique per process).
    pub client_id: String,
    /// Credentials and TLS.
    pub settings: MqttSettings,
    /// The room's topics.
    pub topics: Topics,
    /// How incoming messages become requests.
    pub router: Router,
    /// Retained Home Assistant discovery configs (empty when discovery is off).
    pub discovery: Vec<Publish>,
    /// Publish availability (`online`, Last Will and clean `offline`, each naming this
    /// instance) on the status topic. `None` for helpers such as `sanctum lights test`, which
    /// must not mask a running daemon.
    pub instance: Option<Instance>,
    /// Where to tell of broker and device trouble (the room's journal), if anywhere.
    pub trouble: Option<mpsc::UnboundedSender<String>>,
}

/// Something for the bus to do.
#[derive(Debug, Clone, PartialEq)]
pub enum BusMsg {
    /// Move a light (engine `Action::Light`) from engine time `at`.
    Light {
        /// Engine time of the event.
        at: Duration,
        /// Light index in the rig.
        index: usize,
        /// Target.
        target: LightTarget,
        /// Fade length.
        fade: Duration,
        /// Fade curve.
        curve: Curve,
    },
    /// Freeze every light at engine time `at`.
    Pause(Duration),
    /// Continue every light at engine time `at`.
    Resume(Duration),
    /// A short visible fade on one light (`sanctum lights test`).
    TestFade(usize),
    /// Hand one light (or every light the ceremony commands) back to the ceremony's current
    /// state over at least `fade` (the `relight` command).
    Relight {
        /// The light, or `None` for every light the ceremony commands.
        index: Option<usize>,
        /// Shortest glide back.
        fade: Duration,
    },
    /// Publish this (a retained one is remembered and re-published after every reconnect).
    Publish(Publish),
}

impl BusMsg {
    /// Hands what this message asks of the lights to `controller`, at `now` on the engine's
    /// clock for `lights test` and `relight` (the others carry their own time); a publish is
    /// handed back for the caller to send. One place, so the bus task and the test harnesses
    /// that drive a controller without a broker treat each message alike.
    ///
    /// # Errors
    /// The controller's refusal: a light index outside the rig.
    pub fn apply_to(
        self,
        controller: &mut LightController,
        now: Duration,
    ) -> Result<Option<Publish>, ControllerError> {
        match self {
            Self::Light {
                at,
                index,
                target,
                fade,
                curve,
            } => controller.apply(at, index, target, fade, curve)?,
            Self::Pause(at) => controller.pause(at),
            Self::Resume(at) => controller.resume(at),
            Self::TestFade(index) => controller.test_fade(now, index)?,
            Self::Relight {
                index: Some(i),
                fade,
            } => controller.relight(now, i, fade)?,
            Self::Relight { index: None, fade } => controller.relight_all(now, fade)?,
            Self::Publish(p) => return Ok(Some(p)),
        }
        Ok(None)
    }
}

/// A cheap, cloneable way to hand the bus work; never blocks.
#[derive(Debug, Clone)]
pub struct BusHandle {
    tx: mpsc::UnboundedSender<BusMsg>,
}

impl BusHandle {
    /// A handle whose messages go to the returned receiver instead of a bus (for tests and
    /// for recording what an output would do).
    #[must_use]
    pub fn detached() -> (Self, mpsc::UnboundedReceiver<BusMsg>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx }, rx)
    }

    /// Queues `msg`; silently dropped once the bus has stopped.
    pub fn send(&self, msg: BusMsg) {
        let _ = self.tx.send(msg);
    }
}

/// Counters the bus keeps, returned when it stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BusStats {
    /// Successful connects (ConnAcks).
    pub connects: u32,
    /// Light commands handed to rumqttc.
    pub light_messages: u64,
    /// Messages not published because rumqttc's queue was full or the broker was away.
    pub dropped: u64,
}

/// A running bus task.
#[derive(Debug)]
pub struct Bus {
    handle: BusHandle,
    shutdown: oneshot::Sender<Duration>,
    connects: watch::Receiver<u32>,
    task: JoinHandle<BusStats>,
}

impl Bus {
    /// Starts the bus task on the current tokio runtime. Lights are driven in engine time
    /// (`clock`); requests read from the broker go to `requests`.
    ///
    /// # Errors
    /// A [`ConnectionError`] when the password, certificates or key cannot be read. An
    /// unreachable broker is no error: the bus keeps trying in the background.
    pub fn start(
        config: BusConfig,
        controller: LightController,
        clock: Clock,
        requests: mpsc::Sender<Request>,
    ) -> Result<Self, ConnectionError> {
        let will = config.instance.as_ref().map(|i| {
            (
                config.topics.status.clone(),
                state::status_payload(false, i),
            )
        });
        let opts =
            connection::mqtt_options(&config.client_id, &config.broker, &config.settings, will)?;
        let (client, mut eventloop) = AsyncClient::new(opts, REQUEST_CAPACITY);
        eventloop.set_network_options(connection::network_options());
        let (tx, rx) = mpsc::unbounded_channel();
        let (shutdown, shutdown_rx) = oneshot::channel();
        let (connects_tx, connects) = watch::channel(0);
        let mut retained = BTreeMap::new();
        for p in &config.discovery {
            retained.insert(p.topic.clone(), p.payload.clone());
        }
        let task = Task {
            client,
            broker: config.broker,
            subscriptions: config.router.subscriptions(),
            router: config.router,
            topics: config.topics,
            controller,
            clock,
            requests,
            retained,
            instance: config.instance,
            trouble: config.trouble,
            backlog: VecDeque::new(),
            flood: FloodGate::default(),
            superseded: false,
            connected: false,
            backoff: MIN_BACKOFF,
            last_error: None,
            stats: BusStats::default(),
            connects: connects_tx,
        };
        let task = tokio::spawn(task.run(eventloop, rx, shutdown_rx));
        Ok(Self {
            handle: BusHandle { tx },
            shutdown,
            connects,
            task,
        })
    }

    /// A handle for outputs.
    #[must_use]
    pub fn handle(&self) -> BusHandle {
        self.handle.clone()
    }

    /// Waits until the bus has connected at least once, or `within` passes. Returns whether
    /// it connected.
    pub async fn connected(&mut self, within: Duration) -> bool {
        tokio::time::timeout(within, self.connects.wait_for(|n| *n > 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Publishes what is still due, `offline` (retained) and a clean DISCONNECT, waiting at
    /// most `within` for it to go out; then stops the task.
    pub async fn shutdown(self, within: Duration) -> BusStats {
        let _ = self.shutdown.send(within);
        self.task.await.unwrap_or_default()
    }
}

struct Task {
    client: AsyncClient,
    broker: Broker,
    router: Router,
    subscriptions: Vec<String>,
    topics: Topics,
    controller: LightController,
    clock: Clock,
    requests: mpsc::Sender<Request>,
    /// Retained messages by topic, re-published after every connect.
    retained: BTreeMap<String, String>,
    instance: Option<Instance>,
    trouble: Option<mpsc::UnboundedSender<String>>,
    /// Event lines waiting for a connection.
    backlog: VecDeque<String>,
    /// Per-source, per-word limits on incoming commands.
    flood: FloodGate,
    /// Another instance took this room over (`--force`): publish and obey nothing more.
    superseded: bool,
    connected: bool,
    backoff: Duration,
    last_error: Option<String>,
    stats: BusStats,
    connects: watch::Sender<u32>,
}
