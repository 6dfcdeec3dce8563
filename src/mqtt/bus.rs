//! The light bus: the ONE task that owns the rumqttc event loop and the light controller.
//! It selects over the event loop, its inbox (light targets, pause/resume, state and event
//! publishes), the controller's next deadline and shutdown. It publishes only with
//! `try_publish` (never `publish().await` from the polling task, rumqttc #263/#1025), backs
//! off between failed connects (warning once per cause, never giving up: the ceremony and the
//! audio go on without a broker), and on EVERY ConnAck re-subscribes and re-publishes
//! availability, retained state and each light's CURRENT command (no stale steps).
//! It must not decide what lights or state should be; the engine and the controller do.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, Packet, QoS};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::connection::{self, Broker, ConnectionError};
use super::flood::{self, FloodGate, Verdict};
use super::remote::{Routed, Router};
use super::state;
use super::topics::Topics;
use crate::clock::Clock;
use crate::instance::Instance;
use crate::lights::Publish;
use crate::lights::controller::LightController;
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

type PollFuture =
    Pin<Box<dyn Future<Output = (EventLoop, Result<Event, rumqttc::ConnectionError>)> + Send>>;

/// Polls the event loop once, after `delay`. The event loop travels with the future, so the
/// select loop never cancels a `poll()` half-way (which would restart a slow TLS connect).
fn poll_after(mut el: EventLoop, delay: Option<Duration>) -> PollFuture {
    Box::pin(async move {
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        let r = el.poll().await;
        (el, r)
    })
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

impl Task {
    async fn run(
        mut self,
        eventloop: EventLoop,
        mut inbox: mpsc::UnboundedReceiver<BusMsg>,
        mut shutdown: oneshot::Receiver<Duration>,
    ) -> BusStats {
        let mut poll = poll_after(eventloop, None);
        let mut inbox_open = true;
        let within = loop {
            let deadline = self
                .controller
                .next_deadline()
                .map(|d| self.clock.instant_at(d));
            tokio::select! {
                biased;
                got = &mut shutdown => break got.unwrap_or(Duration::from_secs(1)),
                msg = inbox.recv(), if inbox_open => match msg {
                    Some(msg) => self.on_msg(msg),
                    None => inbox_open = false,
                },
                (el, result) = &mut poll => {
                    let delay = self.on_poll(result);
                    poll = poll_after(el, delay);
                }
                () = sleep_until(deadline) => {}
            }
            self.flush_lights();
        };
        // Whatever came in before the shutdown still goes out, and so does what the lights
        // still have due (a fade's final OFF waiting for the bulb's message spacing), within
        // `within`: the room ends as it was told to, then `offline`, then a clean DISCONNECT.
        while let Ok(msg) = inbox.try_recv() {
            self.on_msg(msg);
        }
        let give_up = tokio::time::Instant::now() + within;
        self.flush_lights();
        while let Some(due) = self.controller.pending_deadline() {
            let at = self.clock.instant_at(due);
            if at > give_up {
                break;
            }
            tokio::select! {
                (el, result) = &mut poll => {
                    let delay = self.on_poll(result);
                    poll = poll_after(el, delay);
                }
                () = tokio::time::sleep_until(at) => {}
            }
            self.flush_lights();
        }
        if !self.connected {
            return self.stats;
        }
        let within = give_up.saturating_duration_since(tokio::time::Instant::now());
        // Stop listening to our own status first, so that our `offline` is not echoed back
        // to a client that is leaving.
        if self.subscriptions.contains(&self.topics.status) {
            let _ = self.client.try_unsubscribe(self.topics.status.clone());
        }
        self.announce(false);
        let _ = self.client.try_disconnect();
        // `Outgoing::Disconnect` means rumqttc has the packet, not that the broker does: poll
        // on until the broker closes the connection after reading it (or `within` passes),
        // so that exiting right after never cuts the DISCONNECT off.
        let _ = tokio::time::timeout(within, async {
            loop {
                let (el, result) = poll.await;
                match result {
                    Err(_) => break,
                    Ok(_) => poll = poll_after(el, None),
                }
            }
        })
        .await;
        self.stats
    }

    fn on_msg(&mut self, msg: BusMsg) {
        let result = match msg {
            BusMsg::Light {
                at,
                index,
                target,
                fade,
                curve,
            } => self.controller.apply(at, index, target, fade, curve),
            BusMsg::Pause(at) => {
                self.controller.pause(at);
                Ok(())
            }
            BusMsg::Resume(at) => {
                self.controller.resume(at);
                Ok(())
            }
            BusMsg::TestFade(index) => self.controller.test_fade(self.clock.now(), index),
            BusMsg::Relight { index, fade } => {
                let now = self.clock.now();
                match index {
                    Some(i) => self.controller.relight(now, i, fade),
                    None => {
                        let owned: Vec<usize> = (0..self.controller.len())
                            .filter(|i| self.controller.is_commanded(*i))
                            .collect();
                        owned
                            .into_iter()
                            .try_for_each(|i| self.controller.relight(now, i, fade))
                    }
                }
            }
            BusMsg::Publish(p) => {
                if p.retain {
                    self.retained.insert(p.topic.clone(), p.payload.clone());
                }
                self.publish(&p.topic, &p.payload, p.retain);
                Ok(())
            }
        };
        if let Err(err) = result {
            tracing::warn!("{err}");
            self.tell(format!("lights: {err}"));
            let event = state::device_error_event("lights", &err.to_string());
            let topic = self.topics.event.clone();
            self.publish(&topic, &event, false);
        }
    }

    /// Handles one result of `poll()`; returns how long to wait before polling again.
    fn on_poll(&mut self, result: Result<Event, rumqttc::ConnectionError>) -> Option<Duration> {
        match result {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                self.on_connect();
                None
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let routed = self.router.route(&p.topic, &p.payload, p.retain);
                self.on_routed(routed);
                None
            }
            Ok(_) => None,
            Err(err) => {
                let text = connection::describe(&self.broker, &err);
                let refused = connection::is_refusal(&err);
                if self.connected {
                    tracing::warn!("lost the broker: {text}; reconnecting in the background");
                    self.tell(format!("lost the broker: {text}"));
                } else if self.last_error.as_deref() != Some(text.as_str()) {
                    if refused {
                        tracing::error!("{text}");
                    } else {
                        tracing::warn!(
                            "{text}; the ceremony goes on, sanctum keeps trying in the background"
                        );
                    }
                }
                self.connected = false;
                self.last_error = Some(text);
                let wait = if refused {
                    REFUSED_BACKOFF
                } else {
                    self.backoff
                };
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                Some(wait)
            }
        }
    }

    fn on_connect(&mut self) {
        if self.last_error.take().is_some() {
            tracing::info!("connected to the broker at {}", self.broker);
            let back = format!("connected to the broker at {}", self.broker);
            self.tell(back);
        } else {
            tracing::debug!("connected to the broker at {}", self.broker);
        }
        self.connected = true;
        self.backoff = MIN_BACKOFF;
        self.stats.connects += 1;
        let filters = self
            .subscriptions
            .iter()
            // QoS 0 from the broker to us: no PUBACK per message, so a flood is read (and
            // dropped by the flood gate) as fast as it comes, and the broker never has to
            // queue (and, past its max_queued_messages, drop) a person's command behind it.
            .map(|t| rumqttc::SubscribeFilter::new(t.clone(), QoS::AtMostOnce));
        if !self.subscriptions.is_empty()
            && let Err(err) = self.client.try_subscribe_many(filters)
        {
            tracing::warn!("failed to subscribe: {err}");
        }
        self.announce(true);
        self.republish_retained();
        let topic = self.topics.event.clone();
        while let Some(line) = self.backlog.pop_front() {
            self.publish(&topic, &line, false);
        }
        let now = self.clock.now();
        for p in self.controller.current_commands(now) {
            self.stats.light_messages += 1;
            self.publish(&p.topic, &p.payload, p.retain);
        }
        let n = self.stats.connects;
        self.connects.send_replace(n);
    }

    fn republish_retained(&mut self) {
        let retained: Vec<(String, String)> = self
            .retained
            .iter()
            .map(|(t, p)| (t.clone(), p.clone()))
            .collect();
        for (topic, payload) in retained {
            self.publish(&topic, &payload, true);
        }
    }

    /// Tells the room of trouble (for its journal).
    fn tell(&self, what: String) {
        if let Some(tx) = &self.trouble {
            let _ = tx.send(what);
        }
    }

    /// Publishes this instance's availability (retained), if it publishes any.
    fn announce(&mut self, online: bool) {
        if self.superseded {
            return;
        }
        if let Some(me) = &self.instance {
            let payload = state::status_payload(online, me);
            let topic = self.topics.status.clone();
            self.publish(&topic, &payload, true);
        }
    }

    /// Another message on the room's status topic: our own echo, another instance's Last
    /// Will (which must not leave the room marked offline while we run: say `online` again),
    /// or another instance coming online live, which means it took the room over.
    fn on_status(&mut self, payload: &[u8], retained: bool) {
        let Some(me) = &self.instance else {
            return;
        };
        let Some(seen) = state::read_status(payload) else {
            return;
        };
        if seen.instance.as_deref() == Some(me.id.as_str()) || self.superseded {
            return;
        }
        if !seen.online {
            tracing::debug!("another instance's offline status; this room is still online");
            self.announce(true);
        } else if !retained {
            tracing::error!(
                "another sanctum (pid {} on {}) took this room over; this one stops publishing and obeying commands",
                seen.pid.map_or_else(|| "?".to_owned(), |p| p.to_string()),
                seen.host.as_deref().unwrap_or("?")
            );
            self.superseded = true;
        }
    }

    fn on_routed(&mut self, routed: Routed) {
        let event_topic = self.topics.event.clone();
        match routed {
            Routed::Request(_) if self.superseded => {}
            Routed::Request(request) => {
                let now = self.clock.now();
                match self.flood.check(now, &request.source, &request.command) {
                    Verdict::Drop { first } => {
                        if first {
                            let word = flood::word(&request.command);
                            tracing::warn!(
                                "a flood of `{word}` from {}: dropping repeats until it calms",
                                request.source
                            );
                            let why =
                                format!("a flood of `{word}`: repeats are dropped until it calms");
                            let event = state::error_event(&request.source, &why);
                            self.publish(&event_topic, &event, false);
                        }
                        return;
                    }
                    Verdict::Pass { after_flood } if after_flood > 0 => tracing::info!(
                        "the flood of `{}` from {} is over: {after_flood} dropped",
                        flood::word(&request.command),
                        request.source
                    ),
                    Verdict::Pass { .. } => {}
                }
                tracing::info!("{} (from {})", request.command, request.source);
                let event = state::command_event(&request);
                self.publish(&event_topic, &event, false);
                if let Err(err) = self.requests.try_send(request) {
                    let why = match err {
                        mpsc::error::TrySendError::Full(_) => "the engine is busy",
                        mpsc::error::TrySendError::Closed(_) => "the ceremony is over",
                    };
                    let event = state::error_event(&self.topics.cmd, why);
                    self.publish(&event_topic, &event, false);
                }
            }
            Routed::Rejected { topic, why } => {
                tracing::debug!("ignored a message on {topic}: {why}");
                let event = state::error_event(&topic, &why);
                self.publish(&event_topic, &event, false);
            }
            Routed::HomeAssistantOnline => {
                self.announce(true);
                self.republish_retained();
            }
            Routed::Status { payload, retained } => self.on_status(&payload, retained),
            Routed::Ignored(why) => tracing::trace!("ignored: {why}"),
        }
    }

    /// Publishes what the controller has due now; while disconnected it is dropped, since
    /// the next ConnAck publishes every light's current command anyway.
    fn flush_lights(&mut self) {
        let due = self.controller.poll(self.clock.now());
        for p in due {
            if self.connected {
                self.stats.light_messages += 1;
            }
            self.publish(&p.topic, &p.payload, p.retain);
        }
    }

    /// `try_publish`: retained messages at QoS 1, everything else at QoS 0. While disconnected,
    /// event lines wait in a bounded backlog; the rest is dropped (and counted), since every
    /// connect re-publishes retained state and each light's current command.
    fn publish(&mut self, topic: &str, payload: &str, retain: bool) {
        if self.superseded {
            return;
        }
        if !self.connected {
            if topic == self.topics.event {
                if self.backlog.len() == EVENT_BACKLOG {
                    self.backlog.pop_front();
                    self.stats.dropped += 1;
                }
                self.backlog.push_back(payload.to_owned());
            } else {
                self.stats.dropped += 1;
            }
            return;
        }
        let qos = if retain {
            QoS::AtLeastOnce
        } else {
            QoS::AtMostOnce
        };
        if let Err(err) = self
            .client
            .try_publish(topic, qos, retain, payload.as_bytes().to_vec())
        {
            if self.stats.dropped == 0 {
                tracing::warn!("failed to queue a message for {topic}: {err}");
            }
            self.stats.dropped += 1;
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
