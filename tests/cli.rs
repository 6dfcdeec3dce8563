//! The `sanctum` binary end to end: `check` exit codes and messages, and `run` on the real
//! clock (sped up), steered from the terminal and stopped by signals.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;

/// A fresh state folder for one `sanctum` process, so that no test resumes another's
/// ceremony (and none touches the machine's /var/lib/sanctum).
fn fresh_state() -> std::path::PathBuf {
    tempfile::tempdir().expect("tempdir").keep()
}

fn sanctum() -> Command {
    let mut command = Command::cargo_bin("sanctum").expect("binary built");
    command.env("STATE_DIRECTORY", fresh_state());
    command
}

#[test]
fn check_passes_on_the_shipped_scenes() {
    let out = sanctum().args(["check", "scenes/"]).output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("ok: "), "{stdout}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn a_scene_with_a_typo_and_a_bad_duration_fails_naming_both() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let scenes = tmp.path().join("scenes");
    copy_dir(
        Path::new("scenes/sex-medicine"),
        &scenes.join("sex-medicine"),
    );
    std::fs::copy("scenes/rig.toml", scenes.join("rig.toml")).expect("rig");
    let sounds = std::fs::canonicalize("sounds").expect("sounds");
    std::os::unix::fs::symlink(sounds, tmp.path().join("sounds")).expect("link sounds");
    let massage = scenes.join("sex-medicine/massage.toml");
    let text = std::fs::read_to_string(&massage).expect("read");
    let text = text.replacen("level = 0.22", "levle = 0.22", 1).replacen(
        "at = \"15m\"",
        "at = \"15 minutes\"",
        1,
    );
    std::fs::write(&massage, &text).expect("write");
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.contains(needle))
            .expect("present")
            + 1
    };

    let out = sanctum()
        .arg("check")
        .arg(scenes.join("sex-medicine"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let typo = format!(
        "massage.toml:{}:1: unknown key `levle`; did you mean `level`?",
        line_of("levle")
    );
    let duration = format!(
        "massage.toml:{}:6: `at`: invalid duration `15 minutes`",
        line_of("15 minutes")
    );
    assert!(stderr.contains(&typo), "{typo} not in:\n{stderr}");
    assert!(stderr.contains(&duration), "{duration} not in:\n{stderr}");
    assert!(stderr.contains("2 problem(s)"), "{stderr}");
}

#[test]
fn run_plays_the_demo_through_to_its_end() {
    let out = sanctum()
        .args([
            "run",
            "--output",
            "null",
            "scenes/demo",
            "--speed",
            "200",
            "--no-mqtt",
        ])
        .write_stdin("")
        .timeout(Duration::from_secs(30))
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let phases: Vec<&str> = stdout.lines().filter(|l| l.contains("▶ phase")).collect();
    assert_eq!(phases.len(), 5, "{stdout}");
    for (i, id) in ["arrive", "crossfade", "playlist", "deepen", "close"]
        .iter()
        .enumerate()
    {
        assert!(
            phases[i].contains(&format!("phase {}/5 {id}:", i + 1)),
            "{}",
            phases[i]
        );
    }
    assert!(
        stdout.contains("♫ bed       play pad-a.ogg (loop)"),
        "{stdout}"
    );
    assert!(stdout.contains("☼ candle"), "{stdout}");
    assert!(stdout.contains("♪ chime.ogg"), "{stdout}");
    assert!(stdout.trim_end().ends_with("■ finished: Demo"), "{stdout}");
}

#[test]
fn run_takes_commands_typed_on_the_terminal() {
    let out = sanctum()
        .args([
            "run",
            "--output",
            "null",
            "tests/fixtures/engine",
            "--speed",
            "100",
            "--no-mqtt",
        ])
        .write_stdin("goto four\nbogus\nstop\n")
        .timeout(Duration::from_secs(30))
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("▶ phase 4/4 four: Four"), "{stdout}");
    assert!(stdout.contains("(waits for next; by goto)"), "{stdout}");
    assert!(stderr.contains("unknown command `bogus`"), "{stderr}");
    assert!(stdout.contains("■ stopping gently"), "{stdout}");
    assert!(stdout.trim_end().ends_with("■ stopped"), "{stdout}");
}

#[test]
fn run_refuses_an_unknown_start_phase() {
    let out = sanctum()
        .args([
            "run",
            "--output",
            "null",
            "scenes/demo",
            "--from",
            "nowhere",
            "--no-mqtt",
        ])
        .write_stdin("")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("failed to start: the ceremony has no phase `nowhere`"),
        "{stderr}"
    );
}

/// Starts `sanctum run` on a manual ceremony and waits until the first phase has started.
fn start_waiting_run(speed: &str) -> (std::process::Child, BufReader<std::process::ChildStdout>) {
    let mut child = Process::new(assert_cmd::cargo::cargo_bin("sanctum"))
        .env("STATE_DIRECTORY", fresh_state())
        .args([
            "run",
            "--output",
            "null",
            "scenes/sex-medicine",
            "--speed",
            speed,
            "--no-mqtt",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    while reader.read_line(&mut line).expect("reads") > 0 {
        if line.contains("▶ phase 1/7 prepare") {
            return (child, reader);
        }
        line.clear();
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the ceremony never started");
}

fn signal(child: &std::process::Child, name: &str) {
    let status = Process::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

fn rest_of(reader: &mut BufReader<std::process::ChildStdout>) -> String {
    let mut text = String::new();
    let mut line = String::new();
    while reader.read_line(&mut line).expect("reads") > 0 {
        text.push_str(&line);
        line.clear();
    }
    text
}

#[test]
fn sigterm_stops_gently_and_exits_cleanly() {
    // At 10× speed the rig's 10 s stop fade takes one real second.
    let (mut child, mut reader) = start_waiting_run("10");
    let sent = Instant::now();
    signal(&child, "TERM");
    let rest = rest_of(&mut reader);
    let status = child.wait().expect("exits");
    assert!(status.success(), "{status:?}\n{rest}");
    assert!(
        rest.contains("■ stopping gently: safe light and silence over 10s"),
        "{rest}"
    );
    assert!(rest.contains("☼ altar     35% 2200 K over 10s"), "{rest}");
    assert!(rest.trim_end().ends_with("■ stopped"), "{rest}");
    assert!(
        sent.elapsed() >= Duration::from_millis(900),
        "the fade was waited for"
    );
}

#[test]
fn a_second_ctrl_c_quits_at_once() {
    let (mut child, mut reader) = start_waiting_run("1");
    signal(&child, "INT");
    let mut line = String::new();
    while reader.read_line(&mut line).expect("reads") > 0 {
        if line.contains("stopping gently") {
            break;
        }
        line.clear();
    }
    let sent = Instant::now();
    signal(&child, "INT");
    let status = child.wait().expect("exits");
    assert_eq!(status.code(), Some(130), "quitting at once is no success");
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "did not wait out the 10 s stop fade"
    );
    let rest = rest_of(&mut reader);
    assert!(!rest.contains("■ stopped"), "{rest}");
}

#[test]
fn run_says_when_there_is_no_usable_sound_output() {
    let out = sanctum()
        .args([
            "run",
            "scenes/demo",
            "--no-mqtt",
            "--output",
            "no-such-device",
        ])
        .write_stdin("")
        .timeout(Duration::from_secs(30))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("failed to open the audio output"),
        "{stderr}"
    );
    assert!(stderr.contains("--output null"), "{stderr}");
}
