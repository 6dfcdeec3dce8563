//! Test rig for the MQTT tests (design §6): a private `mosquitto` on a free loopback port,
//! killed on drop, and small rumqttc clients that record or publish. Never touches a broker
//! that happens to be running.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rumqttc::{Client, Event, MqttOptions, Packet, QoS};

/// A fresh state folder for one `sanctum` process, so that no test resumes another's
/// ceremony (and none touches the machine's /var/lib/sanctum).
pub fn fresh_state() -> std::path::PathBuf {
    tempfile::tempdir().expect("tempdir").keep()
}

/// A private mosquitto.
pub struct Mosquitto {
    child: Option<Child>,
    /// Its port.
    pub port: u16,
    /// Its config and data folder.
    pub dir: tempfile::TempDir,
    extra: String,
}

/// Lets mosquitto, which drops from root to its own user, read (and for its data folder,
/// write) a private temp folder and the files in it.
pub fn open_up(dir: &Path, writable: bool) {
    use std::os::unix::fs::PermissionsExt;
    let mode = if writable { 0o777 } else { 0o755 };
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).expect("chmod dir");
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        if entry.path().is_file() {
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o644))
                .expect("chmod file");
        }
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("addr").port()
}

impl Mosquitto {
    /// Starts mosquitto on a free port with anonymous access.
    pub fn start() -> Self {
        Self::start_with("")
    }

    /// Starts mosquitto on a free port with `extra` config lines (`listener` is written
    /// first; `extra` may replace `allow_anonymous` and add TLS and persistence settings).
    pub fn start_with(extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut m = Self {
            child: None,
            port: free_port(),
            dir,
            extra: extra.to_owned(),
        };
        m.launch();
        m
    }

    fn launch(&mut self) {
        open_up(self.dir.path(), true);
        let conf = self.dir.path().join("mosquitto.conf");
        let anon = if self.extra.contains("allow_anonymous") {
            ""
        } else {
            "allow_anonymous true\n"
        };
        let extra = self
            .extra
            .replace("{dir}", &self.dir.path().display().to_string());
        std::fs::write(
            &conf,
            format!("listener {} 127.0.0.1\n{anon}{extra}\n", self.port),
        )
        .expect("write mosquitto.conf");
        let log = std::fs::File::create(self.dir.path().join("mosquitto.log")).expect("log");
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("mosquitto is installed (Debian package `mosquitto`)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not listen on {}: {}\n{}",
                self.port,
                self.log(),
                std::fs::read_to_string(&conf).unwrap_or_default()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// The broker's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }

    /// `mqtt://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Kills the broker (SIGKILL: no goodbye to anyone).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port with the same config; returns when it listens.
    pub fn restart(&mut self) -> Instant {
        self.kill();
        self.launch();
        Instant::now()
    }

    /// Path of a file in the broker's folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One message as a test client saw it.
#[derive(Debug, Clone)]
pub struct Msg {
    /// When it arrived.
    pub at: Instant,
    /// Topic.
    pub topic: String,
    /// Payload, lossy UTF-8.
    pub payload: String,
    /// Retain flag as delivered.
    pub retain: bool,
}

/// Records every message on some topic filters; reconnects and resubscribes on its own.
pub struct Recorder {
    msgs: Arc<Mutex<Vec<Msg>>>,
    connects: Arc<Mutex<Vec<Instant>>>,
    client: Client,
}

impl Recorder {
    /// Connects to `port`, subscribes to `filters` and waits for the SubAck.
    pub fn new(port: u16, filters: &[&str]) -> Self {
        Self::with_session(port, filters, None)
    }

    /// Like [`Recorder::new`] with a persistent session (`clean_session = false`) under
    /// `client_id`, so a broker with persistence keeps queueing for it while it is away.
    pub fn with_session(port: u16, filters: &[&str], client_id: Option<&str>) -> Self {
        let id = client_id.map_or_else(
            || format!("rec-{}-{}", std::process::id(), free_port()),
            str::to_owned,
        );
        let mut opts = MqttOptions::new(id, "127.0.0.1", port);
        opts.set_max_packet_size(4 << 20, 4 << 20);
        opts.set_keep_alive(Duration::from_secs(5));
        opts.set_clean_session(client_id.is_none());
        let (client, mut conn) = Client::new(opts, 1024);
        let msgs = Arc::new(Mutex::new(Vec::new()));
        let connects = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let filters: Vec<String> = filters.iter().map(|f| (*f).to_owned()).collect();
        {
            let msgs = msgs.clone();
            let connects = connects.clone();
            let client = client.clone();
            thread::spawn(move || {
                for ev in conn.iter() {
                    match ev {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            connects.lock().unwrap().push(Instant::now());
                            for f in &filters {
                                let _ = client.try_subscribe(f.clone(), QoS::AtLeastOnce);
                            }
                        }
                        Ok(Event::Incoming(Packet::SubAck(_))) => {
                            let _ = ready_tx.send(());
                        }
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            msgs.lock().unwrap().push(Msg {
                                at: Instant::now(),
                                topic: p.topic.clone(),
                                payload: String::from_utf8_lossy(&p.payload).into_owned(),
                                retain: p.retain,
                            });
                        }
                        Ok(_) => {}
                        Err(rumqttc::ConnectionError::RequestsDone) => break,
                        Err(_) => thread::sleep(Duration::from_millis(10)),
                    }
                }
            });
        }
        ready_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the recorder subscribed");
        Self {
            msgs,
            connects,
            client,
        }
    }

    /// Everything recorded so far.
    pub fn all(&self) -> Vec<Msg> {
        self.msgs.lock().unwrap().clone()
    }

    /// Recorded messages on `topic`.
    pub fn on(&self, topic: &str) -> Vec<Msg> {
        self.all()
            .into_iter()
            .filter(|m| m.topic == topic)
            .collect()
    }

    /// When the recorder (re)connected.
    pub fn connects(&self) -> Vec<Instant> {
        self.connects.lock().unwrap().clone()
    }

    /// Waits until a message matching `pred` has arrived, or `within` passes.
    pub fn wait_for(&self, within: Duration, pred: impl Fn(&Msg) -> bool) -> Option<Msg> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(m) = self.all().into_iter().find(|m| pred(m)) {
                return Some(m);
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Publishes from the recorder's own connection (QoS 1).
    pub fn publish(&self, topic: &str, payload: impl Into<Vec<u8>>, retain: bool) {
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload.into())
            .expect("queue a publish");
    }

    /// Forgets what was recorded.
    pub fn clear(&self) {
        self.msgs.lock().unwrap().clear();
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.client.try_disconnect();
    }
}

/// Publishes one message with `mosquitto_pub` (QoS 1) and waits for it to be sent.
pub fn mosquitto_pub(port: u16, topic: &str, payload: &str, retain: bool) {
    let mut cmd = Command::new("mosquitto_pub");
    cmd.args([
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-q",
        "1",
        "-t",
        topic,
        "-m",
        payload,
    ]);
    if retain {
        cmd.arg("-r");
    }
    let status = cmd.status().expect("mosquitto_pub is installed");
    assert!(status.success(), "mosquitto_pub failed");
}

/// The JSON payload, or `Value::Null`.
pub fn json(m: &Msg) -> serde_json::Value {
    serde_json::from_str(&m.payload).unwrap_or(serde_json::Value::Null)
}

/// Whether `m` is a status message saying `what` (`online` or `offline`); the status is JSON
/// naming the instance.
pub fn says(m: &Msg, what: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(&m.payload)
        .ok()
        .is_some_and(|v| v["status"] == what)
}

/// Writes `text` to `path`.
pub fn write(path: &Path, text: &str) {
    let mut f = std::fs::File::create(path).expect("create");
    f.write_all(text.as_bytes()).expect("write");
}

/// A running `sanctum` binary, killed on drop.
pub struct Daemon {
    /// The process.
    pub child: Child,
    /// Its stderr file.
    pub stderr: PathBuf,
    _dir: tempfile::TempDir,
}

impl Daemon {
    /// Starts `sanctum` with `args`, stdin kept open, stdout discarded, stderr to a file.
    pub fn start(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let stderr = dir.path().join("stderr");
        let err = std::fs::File::create(&stderr).expect("stderr file");
        let child = Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
            .env("STATE_DIRECTORY", fresh_state())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("sanctum starts");
        Self {
            child,
            stderr,
            _dir: dir,
        }
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What it printed on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A light bus running in-process on its own thread and runtime, as `sanctum run` runs it.
pub struct BusThread {
    /// Hands the bus work.
    pub handle: sanctum::mqtt::BusHandle,
    /// The bus's engine clock.
    pub clock: sanctum::clock::Clock,
    /// Requests the bus read from the broker.
    pub requests: tokio::sync::mpsc::Receiver<sanctum::run::Request>,
    stop: Option<std::sync::mpsc::Sender<()>>,
    join: Option<thread::JoinHandle<sanctum::mqtt::bus::BusStats>>,
}

impl BusThread {
    /// Starts a bus for `lights` (name, spec) in room `room` on `port`, with its clock
    /// running `speed` times faster than real time.
    pub fn start(
        port: u16,
        room: &str,
        specs: Vec<sanctum::lights::controller::LightSpec>,
        speed: f64,
    ) -> Self {
        use sanctum::mqtt::{Broker, Bus, BusConfig, Router, Topics};
        let topics = Topics::new(room);
        let config = BusConfig {
            broker: Broker::parse(&format!("mqtt://127.0.0.1:{port}")).unwrap(),
            client_id: format!("bus-{}-{}", std::process::id(), free_port()),
            settings: sanctum::model::MqttSettings::default(),
            topics: topics.clone(),
            router: Router::new(topics, &[], false).watching_status(),
            discovery: Vec::new(),
            instance: Some(sanctum::instance::Instance::this(
                std::time::SystemTime::now(),
            )),
            trouble: None,
        };
        let clock = sanctum::clock::Clock::start(speed);
        let (req_tx, requests) = tokio::sync::mpsc::channel(64);
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = std::sync::mpsc::channel::<()>();
        let join = thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let controller = sanctum::lights::controller::LightController::new(specs, 7);
                let mut bus = Bus::start(config, controller, clock, req_tx).unwrap();
                handle_tx.send(bus.handle()).unwrap();
                assert!(bus.connected(Duration::from_secs(5)).await, "bus connected");
                while let Err(std::sync::mpsc::TryRecvError::Empty) = stop_rx.try_recv() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                bus.shutdown(Duration::from_secs(2)).await
            })
        });
        let handle = handle_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("bus started");
        Self {
            handle,
            clock,
            requests,
            stop: Some(stop),
            join: Some(join),
        }
    }

    /// Stops the bus (offline + disconnect) and returns its counters.
    pub fn stop(&mut self) -> sanctum::mqtt::bus::BusStats {
        drop(self.stop.take());
        self.join
            .take()
            .map(|j| j.join().expect("bus thread"))
            .unwrap_or_default()
    }

    /// Waits for a request from the broker.
    pub fn next_request(&mut self, within: Duration) -> Option<sanctum::run::Request> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(r) = self.requests.try_recv() {
                return Some(r);
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for BusThread {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A light spec from a driver name with that driver's default options, or with `settings`.
pub fn spec(
    driver: &str,
    address: &str,
    settings: Option<sanctum::lights::options::DriverSettings>,
) -> sanctum::lights::controller::LightSpec {
    let kind = sanctum::lights::DriverKind::from_name(driver).expect("a driver name");
    let settings =
        settings.unwrap_or_else(|| sanctum::lights::options::DriverSettings::defaults(kind));
    assert_eq!(settings.kind(), kind, "settings for {driver}");
    sanctum::lights::controller::LightSpec {
        address: address.to_owned(),
        options: sanctum::lights::LightOptions::with_driver(settings),
    }
}
