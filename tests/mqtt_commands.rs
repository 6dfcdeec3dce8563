//! Commands through a real mosquitto to a running `sanctum run`: retained commands are
//! ignored, live ones and remote bindings advance the ceremony, and a flood of malformed
//! payloads on every subscribed topic changes nothing.
#![allow(clippy::unwrap_used)]

mod mqtt_support;

use std::time::Duration;

use mqtt_support::{Daemon, Mosquitto, Msg, Recorder, json, mosquitto_pub, says};

const STATE: &str = "sanctum/fixture/state";

fn start_daemon(broker: &Mosquitto) -> Daemon {
    Daemon::start(&[
        "run",
        "--output",
        "null",
        "tests/fixtures/mqtt",
        "--broker",
        &broker.url(),
    ])
}

fn phase_is(phase: &'static str) -> impl Fn(&Msg) -> bool {
    move |m: &Msg| m.topic == STATE && json(m)["phase"] == phase
}

/// The retained state as a fresh subscriber sees it.
fn retained_state(port: u16) -> serde_json::Value {
    let r = Recorder::new(port, &[STATE]);
    let m = r
        .wait_for(Duration::from_secs(3), |m| m.topic == STATE)
        .expect("a retained state");
    assert!(m.retain, "the state is retained");
    json(&m)
}

#[test]
fn retained_commands_are_ignored_live_ones_and_bindings_advance() {
    let broker = Mosquitto::start();
    // Left on the broker by a dashboard that retains by default, and by a button.
    mosquitto_pub(broker.port, "sanctum/fixture/cmd", "next", true);
    mosquitto_pub(broker.port, "sanctum/all/cmd", "next", true);
    mosquitto_pub(broker.port, "sanctum/fixture/phase/set", "four", true);
    mosquitto_pub(
        broker.port,
        "zigbee2mqtt/test_button",
        r#"{"action":"single"}"#,
        true,
    );
    mosquitto_pub(
        broker.port,
        "zigbee2mqtt/test_button/action",
        "single",
        true,
    );
    let rec = Recorder::new(broker.port, &["sanctum/fixture/#"]);
    let mut daemon = start_daemon(&broker);
    rec.wait_for(Duration::from_secs(10), phase_is("one"))
        .unwrap_or_else(|| panic!("the ceremony started: {}", daemon.stderr()));
    rec.wait_for(Duration::from_secs(3), |m| {
        m.topic == "sanctum/fixture/status" && says(m, "online")
    })
    .expect("online");
    // Give the retained messages every chance to act.
    std::thread::sleep(Duration::from_millis(1_500));
    assert!(
        rec.wait_for(Duration::ZERO, |m| m.topic == STATE
            && json(m)["phase"] != "one")
            .is_none(),
        "a retained message moved the ceremony: {:?}",
        rec.on(STATE)
    );
    assert_eq!(retained_state(broker.port)["phase"], "one");

    mosquitto_pub(broker.port, "sanctum/fixture/cmd", "next", false);
    rec.wait_for(Duration::from_secs(3), phase_is("two"))
        .expect("a live `next` advances");
    // The same command again inside the rig's 100 ms debounce would count once.
    std::thread::sleep(Duration::from_millis(300));
    mosquitto_pub(
        broker.port,
        "zigbee2mqtt/test_button",
        r#"{"action":"single","battery":87,"linkquality":199}"#,
        false,
    );
    rec.wait_for(Duration::from_secs(3), phase_is("three"))
        .expect("the button's `single` advances");
    let event = rec.wait_for(Duration::from_secs(1), |m| {
        m.topic == "sanctum/fixture/event" && json(m)["source"] == "remote:button:single"
    });
    assert!(event.is_some(), "the trigger source is published");
    std::thread::sleep(Duration::from_millis(300));
    mosquitto_pub(
        broker.port,
        "zigbee2mqtt/test_button/action",
        "single",
        false,
    );
    rec.wait_for(Duration::from_secs(3), phase_is("four"))
        .expect("the plain action topic advances");
    let state = retained_state(broker.port);
    assert_eq!(state["phase"], "four");
    assert_eq!(state["index"], 3);
    assert_eq!(state["title"], "Four");
    assert_eq!(state["paused"], false);
    assert!(
        state["phase_started_at"]
            .as_str()
            .unwrap()
            .ends_with("+00:00")
    );
    assert!(
        state["phase_ends_at"].is_null(),
        "a manual phase has no end"
    );
    assert!(daemon.running());
}

/// xorshift64*, so the flood is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 24) as u8).collect()
    }
}

fn malformed(rng: &mut Rng, i: usize) -> Vec<u8> {
    match i % 12 {
        0 => {
            let n = (rng.next() % 300) as usize + 1;
            let mut b = rng.bytes(n);
            b[0] = 0xff; // never valid UTF-8
            b
        }
        1 => vec![0xc3, 0x28, b'n', b'e', b'x', b't'],
        2 => {
            // A big JSON document (~300 KB) that is no command.
            let items: Vec<String> = (0..20_000).map(|k| format!("\"k{k}\":{k}")).collect();
            format!("{{{}}}", items.join(",")).into_bytes()
        }
        3 => br#"{"cmd":5}"#.to_vec(),
        4 => br#"{"cmd":"goto","phase":["one"]}"#.to_vec(),
        5 => br#"{"action":{"nested":true}}"#.to_vec(),
        6 => "[".repeat(5_000).into_bytes(),
        7 => br#"{"cmd":"goto","phase":"nowhere"}"#.to_vec(),
        8 => b"dance wildly".to_vec(),
        9 => br#"{"cmd":"next","phase":"two"}"#.to_vec(),
        10 => b"goto".to_vec(),
        _ => format!("{}", rng.next()).into_bytes(),
    }
}

#[test]
fn a_thousand_malformed_payloads_change_nothing() {
    let broker = Mosquitto::start();
    let rec = Recorder::new(broker.port, &["sanctum/fixture/#"]);
    let mut daemon = start_daemon(&broker);
    rec.wait_for(Duration::from_secs(10), phase_is("one"))
        .unwrap_or_else(|| panic!("the ceremony started: {}", daemon.stderr()));
    std::thread::sleep(Duration::from_millis(300));
    let before = retained_state(broker.port);
    let topics = [
        "sanctum/fixture/cmd",
        "sanctum/all/cmd",
        "sanctum/fixture/phase/set",
        "zigbee2mqtt/test_button",
        "zigbee2mqtt/test_button/action",
        "homeassistant/status",
    ];
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let flood = Recorder::new(broker.port, &["flood/done"]);
    for i in 0..1_000 {
        for topic in topics {
            flood.publish(topic, malformed(&mut rng, i), false);
        }
    }
    // One packet larger than the daemon accepts (1 MiB): it must drop the connection,
    // reconnect and carry on.
    flood.publish("sanctum/fixture/cmd", vec![b'x'; 2 << 20], false);
    flood.publish("flood/done", "done", false);
    flood
        .wait_for(Duration::from_secs(60), |m| m.topic == "flood/done")
        .expect("the broker passed the flood on");
    std::thread::sleep(Duration::from_millis(1_500));
    assert!(daemon.running(), "the daemon died: {}", daemon.stderr());
    let errors = rec
        .on("sanctum/fixture/event")
        .iter()
        .filter(|m| json(m)["event"] == "error")
        .count();
    assert!(errors >= 1_000, "only {errors} error events for the flood");
    let after = retained_state(broker.port);
    assert_eq!(before, after, "the state changed");
    assert!(
        rec.on(STATE).iter().all(|m| json(m)["phase"] == "one"),
        "the phase moved during the flood"
    );
    // Still listening (re-subscribed after the oversized packet).
    mosquitto_pub(broker.port, "sanctum/fixture/cmd", "next", false);
    rec.wait_for(Duration::from_secs(5), phase_is("two"))
        .unwrap_or_else(|| panic!("a live `next` after the flood: {}", daemon.stderr()));
}

#[test]
fn home_assistant_discovery_is_retained_and_republished_on_its_birth() {
    let broker = Mosquitto::start();
    let mut daemon = start_daemon(&broker);
    let rec = Recorder::new(broker.port, &["sanctum/fixture/state"]);
    rec.wait_for(Duration::from_secs(10), phase_is("one"))
        .unwrap_or_else(|| panic!("the ceremony started: {}", daemon.stderr()));
    let ha = Recorder::new(broker.port, &["homeassistant/#"]);
    let select = "homeassistant/select/sanctum_fixture/phase/config";
    let m = ha
        .wait_for(Duration::from_secs(3), |m| m.topic == select)
        .expect("a retained phase select");
    assert!(m.retain);
    let v = json(&m);
    assert_eq!(
        v["options"],
        serde_json::json!(["one", "two", "three", "four"])
    );
    assert_eq!(v["command_topic"], "sanctum/fixture/phase/set");
    for b in ["next", "pause", "stop"] {
        let topic = format!("homeassistant/button/sanctum_fixture/{b}/config");
        assert!(ha.on(&topic).first().is_some_and(|m| m.retain), "{topic}");
    }
    let sensor = "homeassistant/sensor/sanctum_fixture/phase_end/config";
    assert_eq!(json(&ha.on(sensor)[0])["device_class"], "timestamp");
    ha.clear();
    mosquitto_pub(broker.port, "homeassistant/status", "online", false);
    ha.wait_for(Duration::from_secs(3), |m| m.topic == select && !m.retain)
        .expect("discovery again when Home Assistant comes online");
    // The select drives the phase.
    mosquitto_pub(broker.port, "sanctum/fixture/phase/set", "three", false);
    rec.wait_for(Duration::from_secs(3), phase_is("three"))
        .expect("the select's option is a goto");
    assert!(daemon.running());
}

#[test]
fn the_last_will_says_offline_when_the_daemon_dies() {
    let broker = Mosquitto::start();
    let rec = Recorder::new(broker.port, &["sanctum/fixture/status"]);
    let mut daemon = start_daemon(&broker);
    rec.wait_for(Duration::from_secs(10), |m| says(m, "online"))
        .unwrap_or_else(|| panic!("online: {}", daemon.stderr()));
    daemon.child.kill().unwrap();
    daemon.child.wait().unwrap();
    rec.wait_for(Duration::from_secs(5), |m| says(m, "offline"))
        .expect("the broker published the Last Will");
    let r = Recorder::new(broker.port, &["sanctum/fixture/status"]);
    let m = r
        .wait_for(Duration::from_secs(2), |m| {
            m.topic == "sanctum/fixture/status"
        })
        .expect("retained status");
    assert!(m.retain);
    assert!(says(&m, "offline"), "{}", m.payload);
}
