//! `sanctum run scenes/demo --broker … --room test` against a real mosquitto: retained state
//! and status, light messages for the demo's Zigbee2MQTT and Tasmota lights, a live `next`
//! that changes the retained phase, `sanctum status` and `sanctum send`, and `offline` on a
//! clean exit.
#![allow(clippy::unwrap_used)]

mod mqtt_support;

use std::process::Command;
use std::time::Duration;

use mqtt_support::{Daemon, Mosquitto, Recorder, json, mosquitto_pub, says};

/// A fresh state folder for one `sanctum` process, so that no test resumes another's
/// ceremony (and none touches the machine's /var/lib/sanctum).
fn fresh_state() -> std::path::PathBuf {
    tempfile::tempdir().expect("tempdir").keep()
}

fn retained(port: u16, topic: &str) -> Option<mqtt_support::Msg> {
    let r = Recorder::new(port, &[topic]);
    r.wait_for(Duration::from_secs(2), |m| m.topic == topic)
}

#[test]
fn the_demo_publishes_state_status_and_lights_and_follows_a_live_next() {
    let broker = Mosquitto::start();
    let rec = Recorder::new(broker.port, &["sanctum/test/#", "zigbee2mqtt/#", "cmnd/#"]);
    let url = broker.url();
    let mut daemon = Daemon::start(&[
        "run",
        "--output",
        "null",
        "scenes/demo",
        "--broker",
        &url,
        "--room",
        "test",
    ]);
    rec.wait_for(Duration::from_secs(10), |m| {
        m.topic == "sanctum/test/state" && json(m)["phase"] == "arrive"
    })
    .unwrap_or_else(|| panic!("no state: {}", daemon.stderr()));
    let candle = rec.wait_for(Duration::from_secs(3), |m| {
        m.topic == "zigbee2mqtt/demo_candle/set"
    });
    let lamp = rec.wait_for(Duration::from_secs(3), |m| {
        m.topic == "cmnd/demo_lamp/Backlog"
    });
    let candle = candle.expect("a Zigbee2MQTT light message");
    let lamp = lamp.expect("a Tasmota light message");
    assert!(!candle.retain && !lamp.retain);
    assert_eq!(json(&candle)["state"], "ON");
    assert!(lamp.payload.contains("Dimmer"), "{}", lamp.payload);

    // A fresh subscriber (a phone app opening) sees retained state and status.
    let status = retained(broker.port, "sanctum/test/status").expect("status");
    assert!(status.retain);
    assert!(says(&status, "online"), "{}", status.payload);
    let state = retained(broker.port, "sanctum/test/state").expect("state");
    assert!(state.retain);
    let v = json(&state);
    assert_eq!(v["ceremony"], "demo");
    assert_eq!(v["phase"], "arrive");
    assert_eq!(v["index"], 0);
    assert!(v["phase_ends_at"].as_str().unwrap().ends_with("+00:00"));

    // `sanctum status` prints it.
    let out = Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
        .env("STATE_DIRECTORY", fresh_state())
        .args(["status", "--broker", &url, "--room", "test"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["phase"], "arrive");

    // A live `next` moves on, and the retained phase follows.
    mosquitto_pub(broker.port, "sanctum/test/cmd", "next", false);
    rec.wait_for(Duration::from_secs(3), |m| {
        m.topic == "sanctum/test/phase" && m.payload == "crossfade"
    })
    .expect("phase crossfade");
    let phase = retained(broker.port, "sanctum/test/phase").expect("phase");
    assert!(phase.retain);
    assert_eq!(phase.payload, "crossfade");

    // `sanctum send` is a phone in a terminal.
    std::thread::sleep(Duration::from_millis(400));
    let out = Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
        .env("STATE_DIRECTORY", fresh_state())
        .args(["send", "goto", "deepen", "--broker", &url, "--room", "test"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rec.wait_for(Duration::from_secs(3), |m| {
        m.topic == "sanctum/test/phase" && m.payload == "deepen"
    })
    .expect("phase deepen");

    // A gentle stop on SIGINT, then `offline` (retained) on the way out.
    let kill = Command::new("kill")
        .args(["-INT", &daemon.child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while daemon.running() {
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = retained(broker.port, "sanctum/test/status").expect("status");
    assert!(says(&status, "offline"), "{}", status.payload);
    let state = retained(broker.port, "sanctum/test/state").expect("state");
    assert_eq!(json(&state)["mode"], "stopped");
}

#[test]
fn without_a_broker_the_ceremony_goes_on_and_says_so_once() {
    // Nobody listens on this port.
    let port = mqtt_support::free_port();
    let url = format!("mqtt://127.0.0.1:{port}");
    let mut daemon = Daemon::start(&[
        "run",
        "--output",
        "null",
        "scenes/demo",
        "--broker",
        &url,
        "--speed",
        "10",
    ]);
    let waited = std::time::Instant::now();
    while !daemon.stderr().contains("failed to reach the broker")
        && waited.elapsed() < Duration::from_secs(15)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Several reconnects (backoff at most 1 s) later, still one warning.
    std::thread::sleep(Duration::from_millis(2_500));
    assert!(daemon.running(), "{}", daemon.stderr());
    let log = daemon.stderr();
    assert_eq!(
        log.matches("failed to reach the broker").count(),
        1,
        "warn once: {log}"
    );
    assert!(log.contains("keeps trying in the background"), "{log}");
}

#[test]
fn lights_test_fades_one_light_there_and_back() {
    let broker = Mosquitto::start();
    let rec = Recorder::new(broker.port, &["zigbee2mqtt/#", "sanctum/#", "cmnd/#"]);
    let out = Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
        .env("STATE_DIRECTORY", fresh_state())
        .args(["lights", "test", "candle", "--rig", "scenes/demo/rig.toml"])
        .args(["--broker", &broker.url()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let msgs = rec.all();
    let candle: Vec<serde_json::Value> = msgs
        .iter()
        .filter(|m| m.topic == "zigbee2mqtt/demo_candle/set")
        .map(json)
        .collect();
    assert!(
        candle
            .iter()
            .any(|v| v["state"] == "ON" && v["brightness"].as_u64().unwrap_or(0) > 100),
        "a visible fade up: {candle:?}"
    );
    assert_eq!(
        candle.last().unwrap()["state"],
        "OFF",
        "and back: {candle:?}"
    );
    assert!(
        msgs.iter()
            .all(|m| m.topic.starts_with("zigbee2mqtt/demo_candle")),
        "only the tested light, and no availability that would mask a daemon: {msgs:?}"
    );
    let unknown = Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
        .env("STATE_DIRECTORY", fresh_state())
        .args(["lights", "test", "nope", "--rig", "scenes/demo/rig.toml"])
        .args(["--broker", &broker.url()])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        err.contains("no such light") && err.contains("`candle`"),
        "{err}"
    );
}

#[test]
fn a_sped_up_rehearsal_never_speeds_up_the_bulbs_message_rate() {
    let broker = Mosquitto::start();
    let rec = Recorder::new(
        broker.port,
        &["zigbee2mqtt/#", "cmnd/#", "wled/#", "shellyduo-demo/#"],
    );
    // At 20× the demo's candle and breathe phases arrive within seconds.
    let mut daemon = Daemon::start(&[
        "run",
        "--output",
        "null",
        "scenes/demo",
        "--broker",
        &broker.url(),
        "--speed",
        "20",
    ]);
    std::thread::sleep(Duration::from_secs(5));
    assert!(daemon.running(), "{}", daemon.stderr());
    let msgs = rec.all();
    let mut topics: Vec<&str> = msgs.iter().map(|m| m.topic.as_str()).collect();
    topics.sort_unstable();
    topics.dedup();
    assert!(topics.len() >= 3, "{topics:?}");
    for topic in topics {
        let times: Vec<_> = msgs
            .iter()
            .filter(|m| m.topic == topic)
            .map(|m| m.at)
            .collect();
        for w in times.windows(2) {
            let gap = w[1].duration_since(w[0]);
            // 1 msg/s per bulb in real time (Tasmota's OFF may add one more message to a batch,
            // which the pacer counts double); 100 ms of delivery jitter allowed.
            assert!(
                gap >= Duration::from_millis(900),
                "{topic}: {gap:?} apart at --speed 20"
            );
        }
    }
}

/// Issue 9, item 5: `lights test` on a light of a running ceremony is refused; with `--force`
/// it borrows the light, then hands it back, and the room glides it to the ceremony's state.
#[test]
fn lights_test_on_a_running_ceremony_needs_force_and_hands_the_light_back() {
    let broker = Mosquitto::start();
    let rec = Recorder::new(broker.port, &["zigbee2mqtt/#", "sanctum/#"]);
    let mut room = Daemon::start(&[
        "run",
        "--output",
        "null",
        "scenes/demo",
        "--broker",
        &broker.url(),
    ]);
    rec.wait_for(Duration::from_secs(20), |m| {
        m.topic == "sanctum/demo/state" && json(m)["mode"] == "running"
    })
    .expect("the ceremony runs");
    // The arrive phase brings every light to 0.45 over 6 s.
    std::thread::sleep(Duration::from_secs(7));
    let candle = "zigbee2mqtt/demo_candle/set";
    let ceremony = rec
        .all()
        .iter()
        .rev()
        .find(|m| m.topic == candle)
        .map(json)
        .expect("the ceremony lit the candle");
    let test = |force: bool| {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("sanctum"));
        cmd.env("STATE_DIRECTORY", fresh_state())
            .args(["lights", "test", "candle", "--rig", "scenes/demo/rig.toml"])
            .args(["--broker", &broker.url()]);
        if force {
            cmd.arg("--force");
        }
        cmd.output().unwrap()
    };
    let refused = test(false);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "refused while running: {err}");
    assert!(err.contains("--force"), "{err}");
    let before = rec.all().len();
    let forced = test(true);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    rec.wait_for(Duration::from_secs(5), |m| {
        m.topic == "sanctum/demo/cmd" && m.payload == "relight candle"
    })
    .expect("the test hands the light back");
    std::thread::sleep(Duration::from_millis(1_500));
    assert!(room.running(), "{}", room.stderr());
    let msgs = rec.all();
    let sent: Vec<serde_json::Value> = msgs[before..]
        .iter()
        .filter(|m| m.topic == candle)
        .map(json)
        .collect();
    let level = |v: &serde_json::Value| v["brightness"].as_i64().unwrap_or(-1);
    assert!(
        sent.iter().any(|v| level(v) > 100),
        "the test borrowed it: {sent:?}"
    );
    let back = sent.last().expect("the room answers");
    assert_eq!(back["state"], "ON", "{sent:?}");
    assert!(
        (level(back) - level(&ceremony)).abs() <= 2,
        "back to the ceremony's {ceremony} : {back}"
    );
    assert!(
        back["transition"].as_f64().unwrap_or(0.0) >= 4.0,
        "gently, over the ceremony's transition: {back}"
    );
}
