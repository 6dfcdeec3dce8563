//! The journal end to end: a finished and a stopped ceremony each leave a Markdown entry with
//! the right phases, their real lengths, pauses and what triggered each change (command
//! line, phone, button, timer), broker trouble, and the closing questions; `sanctum journal`
//! lists, prints and opens entries; a journal folder that cannot be written never stops a
//! ceremony.

mod mqtt_support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mqtt_support::{Mosquitto, Recorder, json};

fn sanctum(args: &[&str]) -> std::process::Output {
    Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("runs")
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs the evening fixture from the terminal: next, a 1.2 s pause, next, next (the finish).
fn run_evening_from_the_terminal(state: &Path) -> std::process::Output {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
        .args([
            "run",
            "tests/fixtures/library/evening",
            "--output",
            "null",
            "--no-mqtt",
        ])
        .args(["--state-dir", state.to_str().expect("utf8")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let mut stdin = child.stdin.take().expect("stdin");
    for (wait, line) in [
        (700, "next"),
        (300, "pause"),
        (1_200, "resume"),
        (300, "next"),
        (400, "next"),
    ] {
        std::thread::sleep(Duration::from_millis(wait));
        writeln!(stdin, "{line}").expect("type");
    }
    child.wait_with_output().expect("ends")
}

#[test]
fn a_finished_ceremony_leaves_an_entry_with_its_phases_pause_and_triggers() {
    let state = tempfile::tempdir().expect("tempdir");
    let out = run_evening_from_the_terminal(state.path());
    assert!(out.status.success(), "{}", text(&out));
    let dir = state.path().to_str().expect("utf8");
    let list = sanctum(&["journal", "--state-dir", dir]);
    assert!(list.status.success(), "{}", text(&list));
    let listing = String::from_utf8_lossy(&list.stdout);
    assert_eq!(listing.lines().count(), 1, "{listing}");
    assert!(listing.contains("  1  Evening — 20"), "{listing}");
    let show = sanctum(&["journal", "show", "--state-dir", dir]);
    let md = String::from_utf8_lossy(&show.stdout);
    assert!(md.contains(", finished at "), "{md}");
    let rows: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| #"))
        .collect();
    assert_eq!(rows.len(), 3, "{md}");
    assert!(
        rows[0].starts_with("| 1 | Arrive |")
            && rows[0].ends_with("start, from the command line |"),
        "{md}"
    );
    assert!(
        rows[1].starts_with("| 2 | Hold |") && rows[1].ends_with("next, from the command line |"),
        "{md}"
    );
    assert!(rows[2].starts_with("| 3 | Rest |"), "{md}");
    // Hold lasted from its `next` to the last `next`: the pause (1.2 s) and the rest, about 2 s.
    let hold_len = rows[1].split('|').nth(4).expect("length").trim();
    assert!(
        ["1s", "2s", "3s"].contains(&hold_len),
        "hold lasted {hold_len}: {md}"
    );
    let pause = md.lines().find(|l| {
        l.starts_with("- ") && l.contains(", from the command line") && l.contains(" for ")
    });
    let pause = pause.unwrap_or_else(|| panic!("a pause line: {md}"));
    assert!(pause.contains("for 1s"), "{pause}");
    for q in [
        "What was the experience like?",
        "What do you want to take away",
        "What would you like to do next time?",
    ] {
        assert!(md.contains(q), "{q}: {md}");
    }
    // `edit` opens it in $EDITOR.
    let edit = Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
        .args(["journal", "edit", "1", "--state-dir", dir])
        .env("EDITOR", "cat")
        .env_remove("VISUAL")
        .output()
        .expect("runs");
    assert!(edit.status.success(), "{}", text(&edit));
    assert!(String::from_utf8_lossy(&edit.stdout).starts_with("# Evening — "));
    let missing = sanctum(&["journal", "show", "7", "--state-dir", dir]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing).contains("failed to find the journal entry `7`"),
        "{}",
        text(&missing)
    );
}

#[test]
fn a_stopped_ceremony_names_the_phone_the_timer_the_command_line_and_broker_trouble() {
    let mut broker = Mosquitto::start();
    let url = broker.url();
    let state = tempfile::tempdir().expect("tempdir");
    let dir = state.path().to_str().expect("utf8");
    let mut daemon = mqtt_support::Daemon::start(&[
        "daemon",
        "--library",
        "tests/fixtures/library",
        "--broker",
        &url,
        "--state-dir",
        dir,
        "--output",
        "null",
    ]);
    let rec = Recorder::new(broker.port, &["sanctum/library/state"]);
    rec.wait_for(Duration::from_secs(10), |m| json(m)["mode"] == "idle")
        .unwrap_or_else(|| panic!("idle: {}", daemon.stderr()));
    rec.publish("sanctum/library/cmd", "start morning", false);
    rec.wait_for(Duration::from_secs(10), |m| json(m)["phase"] == "rise")
        .expect("the timer moves wake on to rise");
    drop(rec);
    broker.kill();
    std::thread::sleep(Duration::from_millis(800));
    broker.restart();
    let rec = Recorder::new(broker.port, &["sanctum/library/state"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !daemon.stderr().contains("connected to the broker") {
        assert!(Instant::now() < deadline, "{}", daemon.stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = sanctum(&["send", "stop", "--broker", &url, "--room", "library"]);
    assert!(out.status.success(), "{}", text(&out));
    rec.wait_for(Duration::from_secs(10), |m| {
        json(m)["mode"] == "idle" && !m.retain
    })
    .expect("idle again");
    let deadline = Instant::now() + Duration::from_secs(5);
    let md = loop {
        let show = sanctum(&["journal", "show", "--state-dir", dir]);
        if show.status.success() {
            break String::from_utf8_lossy(&show.stdout).into_owned();
        }
        assert!(Instant::now() < deadline, "no entry: {}", daemon.stderr());
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(md.starts_with("# Morning — "), "{md}");
    assert!(md.contains("stopped gently from the command line"), "{md}");
    assert!(
        md.contains("| 1 | Wake |") && md.contains("start, from the phone |"),
        "{md}"
    );
    assert!(
        md.contains("| 2 | Rise |") && md.contains("its time (timer) |"),
        "{md}"
    );
    let wake = md
        .lines()
        .find(|l| l.starts_with("| 1 | Wake |"))
        .expect("wake row");
    assert!(wake.contains("| 3s |"), "wake ran its 3 s: {wake}");
    assert!(md.contains("lost the broker"), "{md}");
    assert!(md.contains("connected to the broker at"), "{md}");
    assert!(daemon.running());
}

#[test]
fn a_journal_folder_that_cannot_be_written_never_stops_a_ceremony() {
    let state = tempfile::tempdir().expect("tempdir");
    // A file where the journal folder should be: creating the folder fails.
    std::fs::write(state.path().join("journal"), "not a folder").expect("write");
    let out = run_evening_from_the_terminal(state.path());
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("■ finished"), "{log}");
    assert!(log.contains("failed to write the journal entry"), "{log}");
}
