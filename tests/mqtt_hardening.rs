//! MQTT faults that must never cost a ceremony, against a private mosquitto: a message over
//! any size limit (even retained) is dropped with one error event and never breaks the
//! connection; a flood of commands never drops a person's `pause`; events from before the
//! first connect and from an outage are delivered late rather than lost; a password in a
//! broker URL is refused without being echoed.

mod mqtt_support;

use std::time::{Duration, Instant};

use mqtt_support::{Daemon, Mosquitto, Recorder, json, mosquitto_pub, says};

const STATE: &str = "sanctum/fixture/state";
const EVENT: &str = "sanctum/fixture/event";

fn start(broker: &Mosquitto) -> Daemon {
    Daemon::start(&[
        "run",
        "--output",
        "null",
        "tests/fixtures/mqtt",
        "--broker",
        &broker.url(),
    ])
}

fn online_count(rec: &Recorder) -> usize {
    rec.on("sanctum/fixture/status")
        .iter()
        .filter(|m| says(m, "online"))
        .count()
}

#[test]
fn an_oversize_message_even_retained_never_breaks_the_connection() {
    let broker = Mosquitto::start();
    let rec = Recorder::new(broker.port, &["sanctum/fixture/#"]);
    // 2 MiB, retained on the every-room topic before sanctum even starts.
    let big = vec![b'x'; 2 << 20];
    rec.publish("sanctum/all/cmd", big.clone(), true);
    std::thread::sleep(Duration::from_millis(300));
    let daemon = start(&broker);
    rec.wait_for(Duration::from_secs(10), |m| {
        m.topic == STATE && json(m)["phase"] == "one"
    })
    .unwrap_or_else(|| panic!("running: {}", daemon.stderr()));
    let at = Instant::now();
    rec.publish("sanctum/fixture/cmd", big, false);
    let err = rec
        .wait_for(Duration::from_secs(5), |m| {
            m.at >= at && m.topic == EVENT && json(m)["event"] == "error"
        })
        .expect("one error event for the oversize command");
    assert!(
        json(&err)["error"]
            .as_str()
            .is_some_and(|e| e.contains("2097152 bytes is more than 4096")),
        "{}",
        err.payload
    );
    std::thread::sleep(Duration::from_millis(1_500));
    let errors = rec
        .all()
        .iter()
        .filter(|m| m.topic == EVENT && json(m)["event"] == "error")
        .count();
    assert_eq!(
        errors, 1,
        "one event, and none for the retained one (retained commands are ignored)"
    );
    assert_eq!(
        online_count(&rec),
        1,
        "never reconnected: {}",
        daemon.stderr()
    );
    mosquitto_pub(broker.port, "sanctum/fixture/cmd", "next", false);
    rec.wait_for(Duration::from_secs(5), |m| {
        m.topic == STATE && json(m)["phase"] == "two"
    })
    .expect("commands still work");
    // Clear the retained message for good measure.
    mosquitto_pub(broker.port, "sanctum/all/cmd", "", true);
}

#[test]
fn a_flood_of_commands_never_drops_a_persons_pause() {
    let broker = Mosquitto::start();
    let rec = Recorder::new(broker.port, &[STATE]);
    let daemon = start(&broker);
    rec.wait_for(Duration::from_secs(10), |m| json(m)["phase"] == "one")
        .unwrap_or_else(|| panic!("running: {}", daemon.stderr()));
    let flooder = Recorder::new(broker.port, &["nothing/here"]);
    let stop_flood = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flood = {
        let stop = stop_flood.clone();
        std::thread::spawn(move || {
            let mut sent = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                flooder.publish("sanctum/fixture/cmd", "louder", false);
                flooder.publish("sanctum/fixture/cmd", "softer", false);
                sent += 2;
                if sent.is_multiple_of(200) {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            sent
        })
    };
    // A person taps pause and resume five times each, from the same topic, amid the flood.
    let mut toggles = 0;
    for i in 0..10 {
        std::thread::sleep(Duration::from_millis(400));
        let (word, paused) = if i % 2 == 0 {
            ("pause", true)
        } else {
            ("resume", false)
        };
        let at = Instant::now();
        mosquitto_pub(broker.port, "sanctum/fixture/cmd", word, false);
        if rec
            .wait_for(Duration::from_secs(3), |m| {
                m.at >= at && json(m)["paused"] == paused
            })
            .is_some()
        {
            toggles += 1;
        }
    }
    stop_flood.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent = flood.join().expect("flood");
    assert!(sent > 2_000, "a real flood: {sent} commands");
    let log = daemon.stderr();
    let heard: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("pause") || l.contains("resume"))
        .collect();
    assert_eq!(
        toggles, 10,
        "every pause and resume took effect: {heard:#?}"
    );
    let lines = log.lines().count();
    assert!(
        lines < 100,
        "a flood is logged once, not per message: {lines} lines"
    );
    assert!(log.contains("a flood of `louder`"), "{log}");
}

#[test]
fn events_from_before_the_connection_and_from_an_outage_are_delivered() {
    let mut broker = Mosquitto::start();
    let rec = Recorder::new(broker.port, &[EVENT]);
    let daemon = start(&broker);
    let first = rec
        .wait_for(Duration::from_secs(10), |m| {
            json(m)["event"] == "phase"
                && json(m)["phase"] == "one"
                && json(m)["trigger"] == "start"
        })
        .unwrap_or_else(|| panic!("the first phase's event: {}", daemon.stderr()));
    assert!(!first.retain);
    drop(rec);
    broker.kill();
    // While the broker is away, the terminal moves the ceremony on.
    let mut daemon = daemon;
    {
        use std::io::Write;
        let stdin = daemon.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "next").expect("type next");
    }
    std::thread::sleep(Duration::from_millis(500));
    broker.restart();
    let rec = Recorder::new(broker.port, &[EVENT]);
    rec.wait_for(Duration::from_secs(10), |m| {
        json(m)["event"] == "phase" && json(m)["phase"] == "two" && json(m)["trigger"] == "next"
    })
    .unwrap_or_else(|| panic!("the outage's event: {}", daemon.stderr()));
}

#[test]
fn a_password_in_the_broker_url_is_refused_and_never_echoed() {
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
        .args(["run", "--output", "null", "tests/fixtures/mqtt"])
        .args(["--broker", "mqtt://user:s3cret@127.0.0.1:1883"])
        .env("STATE_DIRECTORY", mqtt_support::fresh_state())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("s3cret"), "{all}");
    assert!(all.contains("credentials do not go in the URL"), "{all}");
}

#[test]
fn room_names_and_addresses_follow_one_rule_reported_where_they_are_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rig = dir.path().join("rig.toml");
    std::fs::write(
        &rig,
        "room = \"a/b\"\n\n[lights.bulb]\ndriver = \"zigbee2mqtt\"\naddress = \"bulb/#\"\n\n[remotes.button]\naddress = \"btn+\"\n[remotes.button.actions]\nsingle = \"next\"\n",
    )
    .expect("rig");
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
        .arg("check")
        .arg(&rig)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rig.toml:1:8: room name `a/b` may only use"),
        "{err}"
    );
    assert!(
        err.contains("rig.toml:5:11: `address` `bulb/#` has `#`"),
        "{err}"
    );
    assert!(
        err.contains("rig.toml:8:11: `address` `btn+` has `+`"),
        "{err}"
    );
    for room in ["#", "+", "a/b", "", "two words", "all"] {
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
            .args([
                "send",
                "next",
                "--broker",
                "mqtt://127.0.0.1:1",
                "--room",
                room,
            ])
            .output()
            .expect("runs");
        assert_eq!(
            out.status.code(),
            Some(2),
            "--room {room:?} is refused by the parser"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("invalid value") && err.contains("--room"),
            "{err}"
        );
    }
}
