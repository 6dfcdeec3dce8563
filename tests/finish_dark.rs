//! Issue 9, bug 1, end to end: `sanctum run` on a copy of the demo whose last scene does not
//! fade the lights out by itself, against a real mosquitto. The finish must end dark: every
//! light driver's last message is an explicit off, and `offline` comes from sanctum itself
//! (a clean DISCONNECT), not from the broker's Last Will. Run several times in a row, because
//! the old behaviour got it right about one run in twenty.
#![allow(clippy::unwrap_used)]

mod mqtt_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mqtt_support::{Daemon, Mosquitto, Recorder, json, says, write};

/// Copies the demo into `dir`: sounds from the repository, an ESPHome (`ha-json`) light added
/// to the `all` group, and the closing scene without its "blow out the candles" light cue.
fn demo_without_fade_out(dir: &Path) -> PathBuf {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/demo");
    let ceremony = dir.join("demo");
    std::fs::create_dir_all(&ceremony).unwrap();
    for entry in std::fs::read_dir(&demo).unwrap().flatten() {
        std::fs::copy(entry.path(), ceremony.join(entry.file_name())).unwrap();
    }
    let sounds = Path::new(env!("CARGO_MANIFEST_DIR")).join("sounds");
    let text = std::fs::read_to_string(ceremony.join("ceremony.toml")).unwrap();
    let text = text.replacen(
        "transition =",
        &format!("sounds = {:?}\ntransition =", sounds.display().to_string()),
        1,
    );
    write(&ceremony.join("ceremony.toml"), &text);
    let rig = std::fs::read_to_string(ceremony.join("rig.toml")).unwrap();
    let rig = rig
        .replace(
            "all = [\"candle\", \"lamp\", \"strip\", \"shade\"]",
            "all = [\"candle\", \"lamp\", \"strip\", \"shade\", \"esp\"]",
        )
        .replace(
            "[groups]",
            "[lights.esp]\ndriver = \"ha-json\"\naddress = \"esp/light/altar/command\"\n\n[groups]",
        );
    assert!(rig.contains("\"esp\"]"), "the demo rig changed: {rig}");
    write(&ceremony.join("rig.toml"), &rig);
    let close = std::fs::read_to_string(ceremony.join("close.toml")).unwrap();
    let without = close.replace("[cue.lights.all]\nlevel = 0.0\nfade = \"8s\"\n", "");
    assert_ne!(without, close, "the demo's fade-out cue moved: {close}");
    write(&ceremony.join("close.toml"), &without);
    ceremony
}

/// Whether `payload` on `topic` turns a light off, per driver.
fn is_off(topic: &str, payload: &str) -> bool {
    if topic.starts_with("cmnd/") {
        return payload.trim_end().ends_with("Power OFF") || payload == "OFF";
    }
    let v: serde_json::Value = serde_json::from_str(payload).unwrap_or_default();
    v["state"] == "OFF"
        || v["on"] == false
        || v["params"]["on"] == false
        || v["params"]["brightness"] == 0
}

const LIGHT_TOPICS: [&str; 5] = [
    "zigbee2mqtt/demo_candle/set",
    "cmnd/demo_lamp/",
    "wled/demo/api",
    "shellyduo-demo/rpc",
    "esp/light/altar/command",
];

#[test]
fn the_finish_turns_every_light_off_and_says_offline_itself() {
    let dir = tempfile::tempdir().unwrap();
    let ceremony = demo_without_fade_out(dir.path());
    let broker = Mosquitto::start_with("log_type all\nconnection_messages true\n");
    let rec = Recorder::new(
        broker.port,
        &[
            "sanctum/test/status",
            "zigbee2mqtt/#",
            "cmnd/#",
            "wled/#",
            "shellyduo-demo/#",
            "esp/#",
        ],
    );
    let url = broker.url();
    let runs = 6;
    for run in 0..runs {
        rec.clear();
        let mut daemon = Daemon::start(&[
            "run",
            ceremony.to_str().unwrap(),
            "--from",
            "close",
            "--speed",
            "20",
            "--output",
            "null",
            "--broker",
            &url,
            "--room",
            "test",
        ]);
        let started = Instant::now();
        while daemon.running() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "run {run} did not end: {}",
                daemon.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            daemon.child.wait().unwrap().success(),
            "{}",
            daemon.stderr()
        );
        // Whatever the broker got from sanctum has reached the recorder by now.
        rec.wait_for(Duration::from_secs(2), |m| {
            m.topic == "sanctum/test/status" && says(m, "offline")
        })
        .unwrap_or_else(|| panic!("run {run}: no offline\n{}", daemon.stderr()));
        std::thread::sleep(Duration::from_millis(200));
        let msgs = rec.all();
        for prefix in LIGHT_TOPICS {
            let last = msgs
                .iter()
                .rfind(|m| m.topic.starts_with(prefix))
                .unwrap_or_else(|| panic!("run {run}: nothing for {prefix}"));
            assert!(
                is_off(&last.topic, &last.payload),
                "run {run}: the last message to {prefix} leaves it on: {} {}\n{}",
                last.topic,
                last.payload,
                daemon.stderr()
            );
        }
        let on = msgs
            .iter()
            .filter(|m| m.topic.starts_with("zigbee2mqtt/"))
            .filter(|m| json(m)["state"] == "ON")
            .count();
        assert!(on > 0, "run {run}: the lights were never on");
    }
    // Every run said goodbye: as many clean disconnects of sanctum's client as runs, and no
    // connection that dropped without one (which would have fired the Last Will).
    let log = broker.log();
    let sanctum_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("sanctum-test-"))
        .collect();
    let clean = sanctum_lines
        .iter()
        .filter(|l| l.contains(" disconnected."))
        .count();
    let dropped: Vec<&&str> = sanctum_lines
        .iter()
        .filter(|l| l.contains("closed its connection") || l.contains("disconnected,"))
        .collect();
    assert!(dropped.is_empty(), "{dropped:#?}\n{log}");
    assert_eq!(clean, runs, "{log}");
}
