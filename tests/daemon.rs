//! `sanctum daemon` end to end, against a private mosquitto and (for sound) cpal playing into
//! ALSA's `file` plugin paced in real time by `pv`: a phone starts, steers and stops
//! ceremonies and the daemon waits between them; `kill -9` mid-phase and a restart resume the
//! same phase with fades; hot reload of valid and invalid edits; one instance per room;
//! systemd readiness and watchdog; SIGHUP and a broken stdout on `run`; an idle daemon closes
//! its sound output and opens it again for the next ceremony.

mod mqtt_support;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mqtt_support::{Mosquitto, Recorder, json, says};
use serde_json::Value;

const STATE: &str = "sanctum/library/state";
const CMD: &str = "sanctum/library/cmd";
const RATE: usize = 48_000;

/// A `sanctum` process with its own folders; killed on drop.
struct Sanctum {
    child: Child,
    home: tempfile::TempDir,
}

impl Sanctum {
    /// Starts `sanctum` with `args`, stdout and stderr into files, and (with `audio`) ALSA's
    /// default device sent to the `file` plugin through `pv`, appending (an output closed
    /// while the daemon rests and opened again goes on in the same file).
    fn start(args: &[&str], audio: bool, env: &[(&str, &str)]) -> Self {
        let home = tempfile::tempdir().expect("tempdir");
        if audio {
            let raw = home.path().join("out.raw");
            std::fs::write(
                home.path().join(".asoundrc"),
                format!(
                    "pcm.!default {{ type file; slave.pcm \"null\"; file \"|pv -q -L {} >> '{}'\"; format \"raw\" }}\n",
                    RATE * 8,
                    raw.display()
                ),
            )
            .expect("asoundrc");
        }
        let out = std::fs::File::create(home.path().join("stdout")).expect("stdout");
        let err = std::fs::File::create(home.path().join("stderr")).expect("stderr");
        let child = Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
            .args(args)
            .env("HOME", home.path())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("sanctum starts");
        Self { child, home }
    }

    fn log(&self) -> String {
        let read = |n: &str| std::fs::read_to_string(self.home.path().join(n)).unwrap_or_default();
        format!("{}{}", read("stdout"), read("stderr"))
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "kill -{name}");
    }

    fn wait(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The whole recording, once the process has ended: waits until `pv` (which outlives
    /// it, writing what it buffered at its paced rate) has stopped writing.
    fn final_audio(&self) -> Vec<f32> {
        let path = self.home.path().join("out.raw");
        let size = || std::fs::metadata(&path).map_or(0, |m| m.len());
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = (size(), Instant::now());
        while Instant::now() < deadline && last.1.elapsed() < Duration::from_millis(1_000) {
            std::thread::sleep(Duration::from_millis(100));
            let now = size();
            if now != last.0 {
                last = (now, Instant::now());
            }
        }
        self.audio()
    }

    /// The audio played so far, left channel.
    fn audio(&self) -> Vec<f32> {
        let bytes = std::fs::read(self.home.path().join("out.raw")).unwrap_or_default();
        bytes
            .chunks_exact(8)
            .map(|f| f32::from_le_bytes([f[0], f[1], f[2], f[3]]))
            .collect()
    }
}

impl Drop for Sanctum {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn require_pv() {
    let found = Command::new("pv").arg("--version").output().is_ok();
    assert!(
        found,
        "`pv` is missing: it paces ALSA's file plugin; run scripts/setup.sh"
    );
}

/// A copy of the fixture library in a temp folder (so edits and saved files stay private).
fn library() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(Path::new("tests/fixtures/library"), dir.path());
    copy_dir(
        Path::new("tests/fixtures/sounds"),
        &dir.path().join("sounds"),
    );
    dir
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

fn daemon_args<'a>(lib: &'a Path, state: &'a Path, url: &'a str, output: &'a str) -> Vec<&'a str> {
    vec![
        "daemon",
        "--library",
        lib.to_str().expect("utf8"),
        "--broker",
        url,
        "--state-dir",
        state.to_str().expect("utf8"),
        "--output",
        output,
    ]
}

/// Waits for a retained-state message (after `since`) that satisfies `pred`.
fn state_after(rec: &Recorder, since: Instant, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let m = rec
        .wait_for(Duration::from_secs(15), |m| {
            m.topic == STATE && m.at >= since && pred(&json(m))
        })
        .unwrap_or_else(|| {
            let last = rec
                .on(STATE)
                .last()
                .map(|m| m.payload.clone())
                .unwrap_or_default();
            panic!("no state where {what}; last: {last}")
        });
    json(&m)
}

fn send(rec: &Recorder, payload: &str) -> Instant {
    let at = Instant::now();
    rec.publish(CMD, payload, false);
    at
}

/// RMS in dBFS of `s`.
fn rms_db(s: &[f32]) -> f64 {
    if s.is_empty() {
        return -200.0;
    }
    let p: f64 = s.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>() / s.len() as f64;
    10.0 * p.max(1e-20).log10()
}

/// The first frame whose 10 ms window rises above −70 dBFS.
fn first_sound(s: &[f32]) -> Option<usize> {
    s.chunks(RATE / 100)
        .position(|w| rms_db(w) > -70.0)
        .map(|i| i * RATE / 100)
}

/// A daemon on the library with its own broker and sound through ALSA's `file` plugin, and a
/// recorder of its topics; `t0` is just before it started.
struct Started {
    broker: Mosquitto,
    url: String,
    lib: tempfile::TempDir,
    state: tempfile::TempDir,
    rec: Recorder,
    t0: Instant,
    daemon: Sanctum,
}

fn start_daemon_with_sound() -> Started {
    require_pv();
    let broker = Mosquitto::start();
    let url = broker.url();
    let lib = library();
    let state = tempfile::tempdir().expect("tempdir");
    let rec = Recorder::new(broker.port, &["sanctum/library/#"]);
    let t0 = Instant::now();
    let daemon = Sanctum::start(
        &daemon_args(lib.path(), state.path(), &url, "default"),
        true,
        &[],
    );
    Started {
        broker,
        url,
        lib,
        state,
        rec,
        t0,
        daemon,
    }
}

#[test]
fn a_phone_starts_steers_and_stops_ceremonies_and_the_daemon_waits_between_them() {
    let Started {
        broker: _broker,
        url,
        lib: _lib,
        state: _state,
        rec,
        t0,
        mut daemon,
    } = start_daemon_with_sound();
    let idle = state_after(&rec, t0, "idle", |v| v["mode"] == "idle");
    assert_eq!(idle["ceremonies"][0]["id"], "evening", "{idle}");
    assert_eq!(idle["ceremonies"][1]["title"], "Morning", "{idle}");
    let status = rec
        .wait_for(Duration::from_secs(5), |m| {
            m.topic == "sanctum/library/status" && says(m, "online")
        })
        .expect("online");
    assert_eq!(json(&status)["pid"], daemon.child.id());
    std::thread::sleep(Duration::from_millis(800));

    let at = send(&rec, r#"{"cmd":"start","ceremony":"evening"}"#);
    let v = state_after(&rec, at, "evening runs", |v| {
        v["phase"] == "arrive" && v["mode"] == "running"
    });
    assert_eq!(v["ceremony"], "evening");
    let at = send(&rec, "next");
    state_after(&rec, at, "hold", |v| v["phase"] == "hold");
    let at = send(&rec, "pause");
    let v = state_after(&rec, at, "paused", |v| v["paused"] == true);
    assert_eq!(v["mode"], "paused");
    let at = send(&rec, "resume");
    state_after(&rec, at, "resumed", |v| {
        v["paused"] == false && v["phase"] == "hold"
    });
    let at = send(&rec, "goto rest");
    state_after(&rec, at, "rest", |v| v["phase"] == "rest");
    let at = send(&rec, "louder");
    let v = state_after(&rec, at, "louder", |v| v["volume_db"] == -3.0);
    assert_eq!(v["phase"], "rest");
    std::thread::sleep(Duration::from_millis(1_500));
    let at = send(&rec, "stop");
    state_after(&rec, at, "stopping", |v| v["mode"] == "stopping");
    let v = state_after(&rec, at, "idle again", |v| v["mode"] == "idle");
    assert!(v["ceremony"].is_null());
    std::thread::sleep(Duration::from_millis(1_500));
    assert!(
        daemon.child.try_wait().expect("wait").is_none(),
        "the daemon waits on"
    );

    // A second ceremony, started the way a person at a terminal would.
    let at = Instant::now();
    let out = Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
        .args([
            "send", "start", "morning", "--broker", &url, "--room", "library",
        ])
        .output()
        .expect("send runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = state_after(&rec, at, "morning", |v| v["phase"] == "wake");
    assert_eq!(v["ceremony"], "morning");
    let at = send(&rec, "start evening");
    let ignored = rec
        .wait_for(Duration::from_secs(5), |m| {
            m.at >= at && m.topic == "sanctum/library/event" && json(m)["event"] == "ignored"
        })
        .expect("a start while one runs is refused");
    assert!(
        json(&ignored)["why"]
            .as_str()
            .is_some_and(|w| w.contains("`morning` is running"))
    );
    // A stop that comes before a voice has sounded (its decoder still filling, as on a
    // loaded machine) rightly fades it from silence; let the second ceremony be heard first.
    assert!(
        wait_for_sound_regions(&daemon, 2),
        "the second ceremony is heard\n{}",
        daemon.log()
    );

    daemon.signal("TERM");
    let code = daemon
        .wait(Duration::from_secs(15))
        .expect("exits after a gentle stop");
    assert!(code.success(), "{code:?}\n{}", daemon.log());
    rec.wait_for(Duration::from_secs(5), |m| {
        m.topic == "sanctum/library/status" && says(m, "offline")
    })
    .expect("a clean offline on the way out");
    check_two_ceremonies_of_sound(&daemon.final_audio());
    let status = Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
        .args(["status", "--broker", &url, "--room", "library"])
        .output()
        .expect("status runs");
    assert_eq!(status.status.code(), Some(1));
    let err = String::from_utf8_lossy(&status.stderr);
    assert!(err.contains("room `library` is offline"), "{err}");
}

/// The whole recording (read after the daemon exits, so `pv`'s lag does not matter): silence
/// while idle, the first ceremony fading in and out, silence while the daemon waits, the
/// second ceremony, silence at the end; every entry a rise from silence, never a jump.
fn check_two_ceremonies_of_sound(audio: &[f32]) {
    let windows: Vec<f64> = audio.chunks(RATE / 100).map(rms_db).collect();
    let regions = sound_regions(&windows);
    let summary: Vec<String> = regions
        .iter()
        .map(|(a, b)| format!("{:.2}–{:.2} s", *a as f64 / 100.0, *b as f64 / 100.0))
        .collect();
    assert_eq!(
        regions.len(),
        2,
        "two ceremonies of sound with silence between: {summary:?}"
    );
    assert!(regions[0].0 >= 50, "silence while idle first: {summary:?}");
    assert!(
        regions[1].0 - regions[0].1 >= 80,
        "the daemon waits in silence: {summary:?}"
    );
    let last = windows.last().copied().unwrap_or(-200.0);
    assert!(
        last < -60.0,
        "faded out at the end: {last:.1} dBFS, {summary:?}"
    );
    for (start, end) in &regions {
        let peak = windows[*start..=*end]
            .iter()
            .copied()
            .fold(f64::MIN, f64::max);
        assert!(peak > -60.0, "audible: peak {peak:.1} dBFS in {summary:?}");
        assert!(
            windows[*start] < peak - 12.0,
            "a rise from silence, not a jump: {:.1} dBFS",
            windows[*start]
        );
        assert!(
            windows[*end] < peak - 12.0,
            "a fade to silence, not a cut: {:.1} dBFS",
            windows[*end]
        );
    }
}

/// The stretches of sound in 10 ms windows of dBFS, as (first, last) window: above −70 dBFS,
/// with gaps under 300 ms (a crossfade's quiet middle) counted as part of the same stretch.
fn sound_regions(windows: &[f64]) -> Vec<(usize, usize)> {
    let mut regions: Vec<(usize, usize)> = Vec::new();
    for (i, db) in windows.iter().enumerate() {
        if *db > -70.0 {
            match regions.last_mut() {
                Some((_, end)) if i - *end <= 30 => *end = i,
                _ => regions.push((i, i)),
            }
        }
    }
    regions
}

/// Waits (up to 15 s) until the recording so far holds `n` stretches of sound.
fn wait_for_sound_regions(daemon: &Sanctum, n: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let windows: Vec<f64> = daemon.audio().chunks(RATE / 100).map(rms_db).collect();
        if sound_regions(&windows).len() >= n {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn kill_9_mid_phase_then_a_restart_resumes_the_same_phase_with_fades() {
    require_pv();
    let broker = Mosquitto::start();
    let url = broker.url();
    let lib = library();
    let state = tempfile::tempdir().expect("tempdir");
    let rec = Recorder::new(
        broker.port,
        &["sanctum/library/#", "zigbee2mqtt/#", "cmnd/#"],
    );
    let args = daemon_args(lib.path(), state.path(), &url, "null");
    let mut first = Sanctum::start(&args, false, &[]);
    let t0 = Instant::now();
    state_after(&rec, t0, "idle", |v| v["mode"] == "idle");
    let at = send(&rec, "start evening");
    state_after(&rec, at, "arrive", |v| v["phase"] == "arrive");
    let at = send(&rec, "next");
    let hold = state_after(&rec, at, "hold", |v| v["phase"] == "hold");
    let started = hold["phase_started_at"]
        .as_str()
        .expect("start time")
        .to_owned();
    std::thread::sleep(Duration::from_millis(2_500));
    first.child.kill().expect("kill -9");
    first.child.wait().expect("reaped");
    let will = rec
        .wait_for(Duration::from_secs(10), |m| {
            m.topic == "sanctum/library/status" && says(m, "offline")
        })
        .expect("the Last Will");
    assert_eq!(json(&will)["pid"], first.child.id());
    // Long enough that the chime 4 s into `hold` falls in the downtime.
    std::thread::sleep(Duration::from_millis(2_500));
    let restart = Instant::now();
    let args = daemon_args(lib.path(), state.path(), &url, "default");
    let second = Sanctum::start(&args, true, &[]);
    let v = state_after(&rec, restart, "resumed in hold", |v| {
        v["phase"] == "hold" && v["mode"] == "running"
    });
    let again = v["phase_started_at"].as_str().expect("start time");
    let gap = iso_secs(again) - iso_secs(&started);
    assert!(
        gap.abs() < 1.0,
        "phase_started_at moved by {gap:.3} s: {started} → {again}"
    );
    // The first light messages after the restart fade (the ceremony's 2 s transition).
    let bulb = rec
        .wait_for(Duration::from_secs(5), |m| {
            m.at >= restart && m.topic == "zigbee2mqtt/lib_bulb/set"
        })
        .expect("the bulb is told where to be");
    let transition = json(&bulb)["transition"].as_f64().unwrap_or(0.0);
    assert!(transition >= 1.0, "a fade, not a jump: {}", bulb.payload);
    let lamp = rec
        .wait_for(Duration::from_secs(5), |m| {
            m.at >= restart && m.topic.starts_with("cmnd/lib_lamp")
        })
        .expect("the lamp is told too");
    assert!(
        lamp.payload.contains("Fade") || lamp.payload.contains("Speed"),
        "the lamp fades natively: {}",
        lamp.payload
    );
    // The chime at 4 s into `hold` fell in the downtime: it is not rung late.
    std::thread::sleep(Duration::from_millis(2_500));
    let late = rec.all().into_iter().any(|m| {
        m.at >= restart && m.topic == "sanctum/library/event" && json(&m)["event"] == "sound"
    });
    assert!(!late, "a chime from the downtime was rung late");
    let log = second.log();
    assert!(log.contains("resuming `evening` at phase `hold`"), "{log}");
    // Sound comes back from silence and rises over the transition (read once the process
    // has ended, so that `pv`'s lag does not matter).
    let mut second = second;
    second.signal("TERM");
    second.wait(Duration::from_secs(10)).expect("exits");
    let audio = second.final_audio();
    let start = first_sound(&audio).unwrap_or_else(|| panic!("sound after the restart\n{log}"));
    // The median of 10 ms windows over a stretch, so that one dropout under a loaded CI
    // machine (a starved decoder) does not decide.
    let level = |from: f64, to: f64| {
        let a = start + (from * RATE as f64) as usize;
        let b = (start + (to * RATE as f64) as usize).min(audio.len());
        let mut w: Vec<f64> = audio[a..b].chunks(RATE / 100).map(rms_db).collect();
        w.sort_by(f64::total_cmp);
        w.get(w.len() / 2).copied().unwrap_or(-200.0)
    };
    let (early, mid, late) = (level(0.0, 0.1), level(0.6, 1.0), level(1.6, 2.0));
    assert!(
        rms_db(&audio[..start]) < -90.0,
        "silence before the fade-in"
    );
    assert!(
        early < mid - 3.0 && mid < late,
        "a rise: {early:.1} → {mid:.1} → {late:.1} dBFS"
    );
}

/// Seconds since the epoch of an ISO-8601 UTC time as sanctum writes it (same day only).
fn iso_secs(t: &str) -> f64 {
    let time = &t[11..23];
    let h: f64 = time[0..2].parse().expect("h");
    let m: f64 = time[3..5].parse().expect("m");
    let s: f64 = time[6..].parse().expect("s");
    h * 3600.0 + m * 60.0 + s
}

#[test]
fn edits_reload_live_and_broken_edits_keep_the_old_version() {
    let broker = Mosquitto::start();
    let url = broker.url();
    let lib = library();
    let state = tempfile::tempdir().expect("tempdir");
    let rec = Recorder::new(broker.port, &["sanctum/library/#", "zigbee2mqtt/#"]);
    let t0 = Instant::now();
    let daemon = Sanctum::start(
        &daemon_args(lib.path(), state.path(), &url, "null"),
        false,
        &[],
    );
    state_after(&rec, t0, "idle", |v| v["mode"] == "idle");
    let at = send(&rec, "start evening");
    state_after(&rec, at, "arrive", |v| v["phase"] == "arrive");

    // A valid edit to the next phase, saved the way editors do: a new file renamed over.
    let hold = lib.path().join("evening/hold.toml");
    let text = std::fs::read_to_string(&hold)
        .expect("read")
        .replace("level = 0.25", "level = 0.45");
    let tmp = lib.path().join("evening/.hold.toml.swp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, &hold).expect("rename");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !daemon
        .log()
        .contains("`evening` changed: the new version takes over")
    {
        assert!(Instant::now() < deadline, "no reload:\n{}", daemon.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let at = send(&rec, "next");
    let bulb = rec
        .wait_for(Duration::from_secs(5), |m| {
            m.at >= at && m.topic == "zigbee2mqtt/lib_bulb/set"
        })
        .expect("the bulb moves");
    let level = json(&bulb)["brightness"].as_f64().expect("brightness");
    // 0.45 perceived is brightness 43 on the CIE curve; the old 0.25 would be 8.
    assert!(level > 25.0, "the edited level applies: {}", bulb.payload);

    // A broken edit: reported with its position, and the old version keeps running.
    let rest = lib.path().join("evening/rest.toml");
    let before = std::fs::read_to_string(&rest).expect("read");
    std::fs::write(&rest, before.replace("level = 0.1", "levle = 0.9")).expect("write");
    let err = rec
        .wait_for(Duration::from_secs(10), |m| {
            m.topic == "sanctum/library/event"
                && json(m)["event"] == "error"
                && json(m)["line"].is_u64()
        })
        .unwrap_or_else(|| panic!("an error event\n{}", daemon.log()));
    let e = json(&err);
    assert!(
        e["file"].as_str().is_some_and(|f| f.ends_with("rest.toml")),
        "{e}"
    );
    assert!(
        e["error"].as_str().is_some_and(|m| m.contains("levle")),
        "{e}"
    );
    assert!(
        daemon.log().contains("rest.toml:"),
        "path:line:col in the log"
    );
    let at = send(&rec, "next");
    let bulb = rec
        .wait_for(Duration::from_secs(5), |m| {
            m.at >= at && m.topic == "zigbee2mqtt/lib_bulb/set"
        })
        .expect("the bulb moves");
    let level = json(&bulb)["brightness"].as_f64().expect("brightness");
    assert!(
        level < 25.0 && level > 0.0,
        "the old rest (0.1) runs: {}",
        bulb.payload
    );

    // A new ceremony folder appears in the idle library's offer.
    let at = send(&rec, "stop");
    state_after(&rec, at, "idle", |v| v["mode"] == "idle");
    copy_dir(&lib.path().join("morning"), &lib.path().join("night"));
    let at = Instant::now();
    state_after(&rec, at, "night offered", |v| {
        v["ceremonies"]
            .as_array()
            .is_some_and(|c| c.iter().any(|e| e["id"] == "night"))
    });
}

#[test]
fn a_second_instance_for_a_live_room_is_refused_unless_forced() {
    let broker = Mosquitto::start();
    let url = broker.url();
    let lib = library();
    let (s1, s2) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let rec = Recorder::new(broker.port, &["sanctum/library/#"]);
    let first = Sanctum::start(
        &daemon_args(lib.path(), s1.path(), &url, "null"),
        false,
        &[],
    );
    rec.wait_for(Duration::from_secs(10), |m| {
        m.topic == "sanctum/library/status" && says(m, "online")
    })
    .expect("online");
    let mut second = Sanctum::start(
        &daemon_args(lib.path(), s2.path(), &url, "null"),
        false,
        &[],
    );
    let code = second
        .wait(Duration::from_secs(10))
        .expect("refused at once");
    assert_eq!(code.code(), Some(1));
    let log = second.log();
    assert!(
        log.contains(&format!(
            "already has a live sanctum (pid {} on",
            first.child.id()
        )),
        "{log}"
    );
    // `run` for the same room is refused too.
    let out = Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
        .args([
            "run",
            "--output",
            "null",
            "--state-dir",
            s2.path().to_str().expect("utf8"),
        ])
        .arg(lib.path().join("morning"))
        .args(["--broker", &url])
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));

    // Forced: the new one takes over; the old one's Last Will then never marks it offline.
    let mut args = daemon_args(lib.path(), s2.path(), &url, "null");
    args.push("--force");
    let forced = Sanctum::start(&args, false, &[]);
    let mine = rec
        .wait_for(Duration::from_secs(10), |m| {
            m.topic == "sanctum/library/status"
                && says(m, "online")
                && json(m)["pid"] == forced.child.id()
        })
        .expect("the forced one is online");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !first.log().contains("took this room over") {
        assert!(Instant::now() < deadline, "{}", first.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut first = first;
    first.child.kill().expect("kill -9 the old one");
    first.child.wait().expect("reaped");
    rec.wait_for(Duration::from_secs(10), |m| {
        m.at > mine.at && m.topic == "sanctum/library/status" && says(m, "offline")
    })
    .expect("the old one's Last Will");
    std::thread::sleep(Duration::from_millis(500));
    let last = rec
        .on("sanctum/library/status")
        .last()
        .cloned()
        .expect("status");
    assert!(
        says(&last, "online"),
        "the room is still online: {}",
        last.payload
    );
    assert_eq!(json(&last)["pid"], forced.child.id());
}

#[test]
fn systemd_hears_ready_watchdog_pings_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().expect("tempdir");
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let lib = library();
    let state = tempfile::tempdir().expect("tempdir");
    let mut args = daemon_args(lib.path(), state.path(), "", "null");
    args.drain(3..5); // no broker
    let mut daemon = Sanctum::start(
        &args,
        false,
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().expect("utf8")),
            ("WATCHDOG_USEC", "1000000"),
        ],
    );
    let mut got: Vec<(Instant, String)> = Vec::new();
    let mut buf = [0u8; 4096];
    let until = Instant::now() + Duration::from_secs(8);
    while Instant::now() < until {
        if let Ok(n) = sock.recv(&mut buf) {
            got.push((
                Instant::now(),
                String::from_utf8_lossy(&buf[..n]).into_owned(),
            ));
        }
        if got.iter().filter(|(_, m)| m.contains("WATCHDOG=1")).count() >= 4 {
            break;
        }
    }
    let ready = got.iter().position(|(_, m)| m.contains("READY=1"));
    assert!(ready.is_some(), "READY=1: {got:?}\n{}", daemon.log());
    let pings: Vec<Instant> = got
        .iter()
        .filter(|(_, m)| m.contains("WATCHDOG=1"))
        .map(|(t, _)| *t)
        .collect();
    assert!(pings.len() >= 4, "watchdog pings: {got:?}");
    for w in pings.windows(2) {
        assert!(
            w[1] - w[0] <= Duration::from_millis(700),
            "pinged within half the 1 s watchdog"
        );
    }
    daemon.signal("TERM");
    let code = daemon.wait(Duration::from_secs(10)).expect("exits");
    assert!(code.success());
    let mut stopping = false;
    while let Ok(n) = sock.recv(&mut buf) {
        stopping |= String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1");
    }
    assert!(stopping, "STOPPING=1");
}

/// Starts `sanctum run` on a manual ceremony with stdout piped; returns once its first phase
/// has started.
fn waiting_run(state: &Path) -> (Child, BufReader<std::process::ChildStdout>, PathBuf) {
    let err = state.join("stderr");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
        .args([
            "run",
            "--output",
            "null",
            "tests/fixtures/library/evening",
            "--no-mqtt",
        ])
        .args(["--state-dir", state.to_str().expect("utf8")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err).expect("stderr"))
        .spawn()
        .expect("spawns");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    while reader.read_line(&mut line).expect("reads") > 0 {
        if line.contains("▶ phase 1/3 arrive") {
            return (child, reader, err);
        }
        line.clear();
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the run never started");
}

#[test]
fn sighup_stops_a_run_gently_and_a_broken_stdout_stops_nothing() {
    let state = tempfile::tempdir().expect("tempdir");
    let (mut child, mut reader, _) = waiting_run(state.path());
    let hup = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status();
    assert!(hup.expect("kill").success());
    let mut rest = String::new();
    reader.read_to_string(&mut rest).expect("reads");
    let status = child.wait().expect("exits");
    assert!(status.success(), "{status:?}");
    assert!(
        rest.contains("stopping gently") && rest.contains("■ stopped"),
        "{rest}"
    );

    // Close the terminal's end of stdout, then make the run print: it carries on.
    let state = tempfile::tempdir().expect("tempdir");
    let (mut child, reader, err) = waiting_run(state.path());
    drop(reader);
    let mut stdin = child.stdin.take().expect("stdin");
    std::io::Write::write_all(&mut stdin, b"next\n").expect("type next");
    std::thread::sleep(Duration::from_millis(1_000));
    assert!(child.try_wait().expect("wait").is_none(), "still running");
    std::io::Write::write_all(&mut stdin, b"stop\n").expect("type stop");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    let log = std::fs::read_to_string(err).unwrap_or_default();
    assert!(status.success(), "{status:?}: {log}");
    assert!(!log.contains("panicked"), "{log}");
    let saved = std::fs::read_to_string(state.path().join("position-library.json")).expect("saved");
    let v: Value = serde_json::from_str(&saved).expect("json");
    assert_eq!(
        v["phase"], "hold",
        "the `next` typed after stdout closed was obeyed: {v}"
    );
    assert_eq!(v["running"], false, "a stopped ceremony is not resumed");
}

#[test]
fn daemon_send_and_status_find_the_room_through_the_config_from_any_folder() {
    let broker = Mosquitto::start();
    let url = broker.url();
    let lib = library();
    let state = tempfile::tempdir().expect("tempdir");
    let xdg = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(xdg.path().join("sanctum")).expect("mkdir");
    std::fs::write(
        xdg.path().join("sanctum/sanctum.toml"),
        format!(
            "rig = \"{lib}/rig.toml\"\nlibrary = \"{lib}\"\nstate_dir = \"{state}\"\nbroker = \"{url}\"\noutput = \"null\"\n",
            lib = lib.path().display(),
            state = state.path().display()
        ),
    )
    .expect("config");
    let rec = Recorder::new(broker.port, &["sanctum/library/#"]);
    let env = [("XDG_CONFIG_HOME", xdg.path().to_str().expect("utf8"))];
    let t0 = Instant::now();
    let daemon = Sanctum::start(&["daemon"], false, &env);
    state_after(&rec, t0, "idle", |v| v["mode"] == "idle");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let cli = |args: &[&str]| {
        Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
            .args(args)
            .envs(env)
            .current_dir(elsewhere.path())
            .output()
            .expect("runs")
    };
    let at = Instant::now();
    let sent = cli(&["send", "start", "evening"]);
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    state_after(&rec, at, "evening", |v| v["phase"] == "arrive");
    let status = cli(&["status"]);
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let v: Value = serde_json::from_slice(&status.stdout).expect("state JSON");
    assert_eq!(v["ceremony"], "evening");
    assert!(
        state.path().join("position-library.json").is_file(),
        "{}",
        daemon.log()
    );
}

#[test]
fn a_second_ctrl_c_quits_at_once_and_still_leaves_the_room_offline_and_not_stopping() {
    let broker = Mosquitto::start();
    let url = broker.url();
    let state = tempfile::tempdir().expect("tempdir");
    let rec = Recorder::new(broker.port, &["sanctum/library/#"]);
    let t0 = Instant::now();
    let mut run = Sanctum::start(
        &[
            "run",
            "tests/fixtures/library/evening",
            "--output",
            "null",
            "--broker",
            &url,
            "--state-dir",
            state.path().to_str().expect("utf8"),
        ],
        false,
        &[],
    );
    state_after(&rec, t0, "arrive", |v| v["phase"] == "arrive");
    run.signal("INT");
    let stopping = state_after(&rec, t0, "stopping", |v| v["mode"] == "stopping");
    assert!(stopping["ceremony"] == "evening");
    let sent = Instant::now();
    run.signal("INT");
    let code = run.wait(Duration::from_secs(5)).expect("quits at once");
    assert_eq!(code.code(), Some(130), "{}", run.log());
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "did not wait out the 2 s stop fade"
    );
    rec.wait_for(Duration::from_secs(3), |m| {
        m.topic == "sanctum/library/status" && says(m, "offline")
    })
    .expect("offline, from sanctum itself");
    std::thread::sleep(Duration::from_millis(300));
    let last = rec.on(STATE).last().map(json).expect("state");
    assert_ne!(last["mode"], "stopping", "never `stopping` forever: {last}");
}

#[test]
fn without_a_sound_card_the_ceremony_runs_and_the_sound_fades_in_when_one_appears() {
    require_pv();
    let state = tempfile::tempdir().expect("tempdir");
    let s = state.path().to_str().expect("utf8");
    // No ALSA config at all: cpal lists `default`, but it does not open.
    let mut run = Sanctum::start(
        &[
            "run",
            "tests/fixtures/library/evening",
            "--no-mqtt",
            "--state-dir",
            s,
        ],
        false,
        &[],
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(run.log().contains("no sound output") && run.log().contains("▶ phase 1/3 arrive")) {
        assert!(Instant::now() < deadline, "{}", run.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(run.log().matches("no sound output").count(), 1, "said once");
    assert!(
        run.child.try_wait().expect("wait").is_none(),
        "the ceremony runs"
    );
    // The sound card appears (an ALSA config sending `default` to the file plugin).
    let raw = run.home.path().join("out.raw");
    std::fs::write(
        run.home.path().join(".asoundrc"),
        format!(
            "pcm.!default {{ type file; slave.pcm \"null\"; file \"|pv -q -L {} > '{}'\"; format \"raw\" }}\n",
            RATE * 8,
            raw.display()
        ),
    )
    .expect("asoundrc");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !run.log().contains("the sound output is here") {
        assert!(Instant::now() < deadline, "{}", run.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(2_500));
    run.signal("TERM");
    run.wait(Duration::from_secs(10)).expect("stops");
    let audio = run.final_audio();
    let start = first_sound(&audio).unwrap_or_else(|| panic!("sound came: {}", run.log()));
    let at = |from: f64| {
        let a = start + (from * RATE as f64) as usize;
        rms_db(&audio[a..(a + RATE / 10).min(audio.len())])
    };
    // The device opens mid-ceremony, so the file starts right in the fade: its first 10 ms
    // are far below where the fade arrives, never a jump to full level.
    let first = rms_db(&audio[start..start + RATE / 100]);
    assert!(
        first < at(1.5) - 12.0,
        "a rise from near silence: {first:.1} dBFS"
    );
    assert!(
        at(0.0) < at(1.5) - 3.0,
        "a fade in: {:.1} → {:.1} dBFS",
        at(0.0),
        at(1.5)
    );
    // A device named on purpose must open at start.
    let out = Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
        .args([
            "run",
            "tests/fixtures/library/evening",
            "--no-mqtt",
            "--state-dir",
            s,
        ])
        .args(["--output", "hw:9,9"])
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
}

/// The threads of process `pid` whose name starts with `prefix`.
fn threads_named(pid: u32, prefix: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| {
            tasks
                .flatten()
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|c| c.starts_with(prefix))
                })
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn an_idle_daemon_closes_its_sound_output_and_opens_it_for_the_next_ceremony() {
    let Started {
        broker: _broker,
        url: _url,
        lib: _lib,
        state: _state,
        rec,
        t0,
        mut daemon,
    } = start_daemon_with_sound();
    state_after(&rec, t0, "idle", |v| v["mode"] == "idle");
    let pid = daemon.child.id();
    assert!(threads_named(pid, "sanctum-audio") >= 1, "open at start");
    // Idle and silent for 5 s: the output closes (no audio thread, nothing written).
    let deadline = Instant::now() + Duration::from_secs(10);
    while threads_named(pid, "sanctum-audio") > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(threads_named(pid, "sanctum-audio"), 0, "{}", daemon.log());
    let rested = daemon.final_audio().len();
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(
        daemon.audio().len(),
        rested,
        "nothing is written while it rests"
    );
    assert!(rested > 0, "the silence before the rest was played");

    let at = send(&rec, "start evening");
    state_after(&rec, at, "evening runs", |v| v["mode"] == "running");
    std::thread::sleep(Duration::from_millis(3_000));
    assert!(threads_named(pid, "sanctum-audio") >= 1, "open again");
    daemon.signal("TERM");
    daemon.wait(Duration::from_secs(15)).expect("exits");
    let audio = daemon.final_audio();
    assert!(audio.len() > rested + RATE, "it played again");
    // Before the rest: silence. After it, the sound rises from silence with the ceremony's
    // 2 s transition, as after a start on an open output.
    assert!(rms_db(&audio[..rested]) < -90.0, "silence while idle");
    let after = &audio[rested..];
    let start = first_sound(after).unwrap_or_else(|| panic!("sound\n{}", daemon.log()));
    let window = |from: f64, to: f64| {
        let a = start + (from * RATE as f64) as usize;
        let b = (start + (to * RATE as f64) as usize).min(after.len());
        rms_db(&after[a..b])
    };
    let (early, late) = (window(0.0, 0.1), window(1.6, 2.0));
    assert!(early < late - 6.0, "a rise: {early:.1} → {late:.1} dBFS");
}
