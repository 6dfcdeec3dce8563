//! Fault injection (issue 11): the real `sanctum` binary against faults of its surroundings.
//! - The broker killed (SIGKILL) and restarted ten times during a ceremony that plays through
//!   cpal into ALSA's `file` plugin, paced in real time by `pv` (design §6): after every
//!   reconnect a command is acted on, every light is sent its current target again, and the
//!   recording has no gap, no dropped frame and no level change across the outages.
//! - The state folder turned read-only (a read-only bind mount in a private mount namespace,
//!   which holds for root too) or full (RLIMIT_FSIZE, which fails writes as a full disk does)
//!   in the middle of a run: a warning, and the ceremony plays to its end.
//! - A scene file deleted, then corrupted, while the daemon runs its ceremony: a clear
//!   warning each time, the ceremony goes on with what it had, and the fixed file is taken up.

mod mqtt_support;

use std::f32::consts::TAU;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mqtt_support::{Mosquitto, Msg, Recorder, json};
use serde_json::Value;

/// Rate and layout cpal negotiates with ALSA's `file` plugin.
const RATE: usize = 48_000;
/// The bed: a 400 Hz sine, exactly 120 frames a period, so the recording must repeat every
/// 120 frames for as long as its gain is steady; one dropped or repeated frame breaks that.
const PERIOD: usize = 120;
const PEAK: f32 = 0.25;

/// A `sanctum` process whose stderr is read through a pipe (a file would hit RLIMIT_FSIZE
/// too) and whose stdout goes to a pipe read the same way.
struct Sanctum {
    child: Child,
    log: Arc<Mutex<String>>,
    home: tempfile::TempDir,
}

impl Sanctum {
    /// Runs `program args` with HOME at a private folder (with `audio`, its `.asoundrc` sends
    /// ALSA's default device to `out.raw` through `pv`).
    fn spawn(program: &str, args: &[&str], audio: bool) -> Self {
        let home = tempfile::tempdir().expect("tempdir");
        if audio {
            std::fs::write(
                home.path().join(".asoundrc"),
                format!(
                    "pcm.!default {{ type file; slave.pcm \"null\"; file \"|pv -q -L {} > '{}'\"; format \"raw\" }}\n",
                    RATE * 8,
                    home.path().join("out.raw").display()
                ),
            )
            .expect("asoundrc");
        }
        let mut child = Command::new(program)
            .args(args)
            .env("HOME", home.path())
            .env("STATE_DIRECTORY", home.path().join("default-state"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts");
        let log = Arc::new(Mutex::new(String::new()));
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        for pipe in [
            Box::new(out) as Box<dyn std::io::Read + Send>,
            Box::new(err),
        ] {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut l = log.lock().expect("log");
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        Self { child, log, home }
    }

    fn start(args: &[&str], audio: bool) -> Self {
        Self::spawn(
            assert_cmd::cargo::cargo_bin("sanctum")
                .to_str()
                .expect("utf8"),
            args,
            audio,
        )
    }

    fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }

    fn wait_log(&self, within: Duration, what: &str) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.log().contains(what) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
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

    fn raw(&self) -> PathBuf {
        self.home.path().join("out.raw")
    }

    /// The recording's left channel, once `pv` (which outlives sanctum) has written it all.
    fn final_audio(&self) -> Vec<f32> {
        let size = || std::fs::metadata(self.raw()).map_or(0, |m| m.len());
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = (size(), Instant::now());
        while Instant::now() < deadline && last.1.elapsed() < Duration::from_millis(1_000) {
            std::thread::sleep(Duration::from_millis(100));
            if size() != last.0 {
                last = (size(), Instant::now());
            }
        }
        std::fs::read(self.raw())
            .unwrap_or_default()
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

/// Writes a ceremony folder: a rig (room `room`, a Zigbee bulb and a Tasmota lamp, one bed
/// layer) and `phases` (id, `after` or manual, scene text); the bed sine is `sounds/sine.wav`.
fn ceremony(dir: &Path, room: &str, phases: &[(&str, Option<&str>, &str)]) -> PathBuf {
    let c = dir.join("ceremony");
    std::fs::create_dir_all(c.join("sounds")).expect("mkdir");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(c.join("sounds/sine.wav"), spec).expect("wav");
    for i in 0..RATE {
        let s = PEAK * (TAU * (i % PERIOD) as f32 / PERIOD as f32).sin();
        w.write_sample(s).expect("sample");
        w.write_sample(s).expect("sample");
    }
    w.finalize().expect("finalize");
    std::fs::write(
        c.join("rig.toml"),
        format!(
            "room = \"{room}\"\ndebounce = \"100ms\"\nstop_fade = \"1s\"\n\n[layers.bed]\n\n[lights.bulb]\ndriver = \"zigbee2mqtt\"\naddress = \"{room}_bulb\"\n\n[lights.lamp]\ndriver = \"tasmota\"\naddress = \"{room}_lamp\"\n\n[groups]\nall = [\"bulb\", \"lamp\"]\n"
        ),
    )
    .expect("rig");
    let mut text = String::from("title = \"Faults\"\ntransition = \"1s\"\nfinish_fade = \"1s\"\n");
    for (id, after, scene) in phases {
        text.push_str(&format!(
            "\n[[phase]]\nid = \"{id}\"\nscene = \"{id}.toml\"\n"
        ));
        if let Some(a) = after {
            text.push_str(&format!("after = \"{a}\"\n"));
        }
        std::fs::write(c.join(format!("{id}.toml")), scene).expect("scene");
    }
    std::fs::write(c.join("ceremony.toml"), text).expect("ceremony");
    c
}

/// A scene that plays the sine and sets both lights.
fn steady_scene(bulb: f32, lamp: f32) -> String {
    format!(
        "[[cue]]\nat = \"0s\"\n[cue.layers.bed]\nfile = \"sine.wav\"\nloop = true\ngain_db = -3\nfade = \"1s\"\n[cue.lights.bulb]\nlevel = {bulb}\nfade = \"1s\"\n[cue.lights.lamp]\nlevel = {lamp}\nfade = \"1s\"\n"
    )
}

/// Device brightness in a light message: Zigbee2MQTT `brightness`, Tasmota `Dimmer`.
fn brightness(m: &Msg) -> Option<f64> {
    if m.topic.starts_with("cmnd/") {
        return m.payload.split(';').find_map(|p| {
            // `Dimmer 31` in a fade, `Dimmer3 31` (every channel) in a resync.
            p.trim()
                .strip_prefix("Dimmer")
                .and_then(|r| r.split_whitespace().last())
                .and_then(|n| n.parse::<f64>().ok())
        });
    }
    json(m)["brightness"].as_f64()
}

fn rms_db(s: &[f32]) -> f64 {
    let p = s.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() / s.len().max(1) as f64;
    10.0 * p.max(1e-20).log10()
}

#[test]
fn the_broker_killed_ten_times_loses_no_command_resyncs_every_light_and_drops_no_audio() {
    assert!(
        Command::new("pv").arg("--version").output().is_ok(),
        "`pv` is missing: it paces ALSA's file plugin; run scripts/setup.sh"
    );
    // Persistence and queued QoS 0 keep the recorder's session across each restart, so it
    // sees what sanctum sends after the broker's return whoever reconnects first (as in
    // `mqtt_lights::after_a_broker_restart_every_light_holds_its_current_target`).
    let mut broker = Mosquitto::start_with(
        "persistence true\npersistence_location {dir}/\nautosave_interval 1\nqueue_qos0_messages true\n",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = ceremony(
        dir.path(),
        "outage",
        &[("hold", None, &steady_scene(0.5, 0.3))],
    );
    let state = dir.path().join("state");
    let rec = Recorder::with_session(
        broker.port,
        &["sanctum/outage/#", "zigbee2mqtt/#", "cmnd/#"],
        Some("faults-recorder"),
    );
    let t0 = Instant::now();
    let mut run = Sanctum::start(
        &[
            "run",
            folder.to_str().expect("utf8"),
            "--broker",
            &broker.url(),
            "--output",
            "default",
            "--state-dir",
            state.to_str().expect("utf8"),
        ],
        true,
    );
    let lights = ["zigbee2mqtt/outage_bulb/set", "cmnd/outage_lamp/Backlog"];
    // Both lights reach their levels (1 s fades), the bed has faded in.
    let mut target = [0.0; 2];
    for topic in lights {
        let m = rec
            .wait_for(Duration::from_secs(10), |m| m.topic == topic)
            .unwrap_or_else(|| panic!("{topic}: no message\n{}", run.log()));
        assert!(m.at >= t0);
    }
    std::thread::sleep(Duration::from_millis(2_500));
    for (i, topic) in lights.iter().enumerate() {
        target[i] = rec
            .on(topic)
            .last()
            .and_then(brightness)
            .expect("a brightness");
        assert!(target[i] > 0.0, "{topic} is lit");
    }
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let (audio_t0, audio_s0) = (Instant::now(), size(&run.raw()));
    let outages_start = Instant::now();
    let mut paused = false;
    let mut resync_ms = Vec::new();
    let mut command_ms = Vec::new();
    for round in 0..10 {
        broker.kill();
        std::thread::sleep(Duration::from_millis(300));
        let back = broker.restart();
        // sanctum reconnects and sends every light its current target again (a light
        // message is never retained: each one seen after the return was sent after it)…
        for (i, topic) in lights.iter().enumerate() {
            let m = rec
                .wait_for(Duration::from_secs(5), |m| {
                    m.at >= back && m.topic == *topic && brightness(m).is_some()
                })
                .unwrap_or_else(|| {
                    let seen: Vec<String> = rec
                        .all()
                        .iter()
                        .filter(|m| m.topic.contains("outage_"))
                        .map(|m| format!("{:?} {} {}", m.at.duration_since(t0), m.topic, m.payload))
                        .collect();
                    panic!(
                        "round {round}: {topic} not resynced (back at {:?}); light messages: {seen:#?}\n{}",
                        back.duration_since(t0),
                        run.log()
                    )
                });
            let got = brightness(&m).expect("brightness");
            assert!(
                (got - target[i]).abs() <= 1.0,
                "round {round}: {topic} resynced to {got}, its target is {}",
                target[i]
            );
            resync_ms.push(m.at.duration_since(back).as_millis());
        }
        // …and acts on a command sent after the reconnect.
        paused = !paused;
        let at = Instant::now();
        rec.publish(
            "sanctum/outage/cmd",
            if paused { "pause" } else { "resume" },
            false,
        );
        let m = rec
            .wait_for(Duration::from_secs(5), |m| {
                m.at >= at
                    && m.topic == "sanctum/outage/state"
                    && json(m)["paused"] == Value::Bool(paused)
            })
            .unwrap_or_else(|| panic!("round {round}: the command was lost\n{}", run.log()));
        command_ms.push(m.at.duration_since(at).as_millis());
    }
    let outages = outages_start.elapsed();
    let (audio_t1, audio_s1) = (Instant::now(), size(&run.raw()));
    eprintln!("resync after the broker's return (ms): {resync_ms:?}");
    eprintln!("command acted on after sending (ms): {command_ms:?}");
    assert_eq!(resync_ms.len(), 20);
    assert_eq!(command_ms.len(), 10);
    rec.publish("sanctum/outage/cmd", "stop", false);
    let status = run
        .wait(Duration::from_secs(15))
        .unwrap_or_else(|| panic!("`run` ends after the stop\n{}", run.log()));
    assert!(status.success(), "{status:?}\n{}", run.log());

    // Frames written while the broker came and went, against the wall clock (pv paces the
    // file at 384,000 B/s; it writes in bursts of about 0.1 s).
    let frames = (audio_s1 - audio_s0) as f64 / 8.0;
    let secs = audio_t1.duration_since(audio_t0).as_secs_f64();
    let ratio = frames / (secs * RATE as f64);
    eprintln!(
        "{frames:.0} frames written in {secs:.2} s of outages and reconnects: {ratio:.4} of real time"
    );
    assert!(
        (ratio - 1.0).abs() < 0.02,
        "{frames} frames in {secs:.2} s: audio did not keep pace"
    );

    // The recording: its steady part (every 10 ms window within 0.5 dB of the median, the
    // longest such run) must span all the outages, repeat every 120 frames sample for sample
    // (no dropped, repeated or zeroed frame), and never dip.
    let audio = run.final_audio();
    let windows: Vec<f64> = audio.chunks_exact(RATE / 100).map(rms_db).collect();
    let mut sorted: Vec<f64> = windows.iter().copied().filter(|w| *w > -60.0).collect();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let (mut best, mut from) = ((0, 0), 0);
    for (i, w) in windows.iter().enumerate() {
        if (w - median).abs() > 0.5 {
            from = i + 1;
        } else if i + 1 - from > best.1 - best.0 {
            best = (from, i + 1);
        }
    }
    let steady = &audio[best.0 * RATE / 100..best.1 * RATE / 100];
    let steady_secs = steady.len() as f64 / RATE as f64;
    let want = 20.0 * f64::from(PEAK / 2f32.sqrt()).log10();
    eprintln!(
        "steady for {steady_secs:.2} s at {median:.2} dBFS (the sine's {want:.2} dBFS less the gains); outages took {:.2} s",
        outages.as_secs_f64()
    );
    assert!(
        steady_secs > outages.as_secs_f64(),
        "the sound was steady for {steady_secs:.2} s, less than the {:.2} s of outages",
        outages.as_secs_f64()
    );
    let broken: Vec<usize> = (PERIOD..steady.len())
        .filter(|&n| (steady[n] - steady[n - PERIOD]).abs() > 1e-3 * PEAK)
        .collect();
    assert!(
        broken.is_empty(),
        "{} frames break the 120-frame period, the first at {:.4} s into the steady part",
        broken.len(),
        broken[0] as f64 / RATE as f64
    );
    let peak = steady.iter().fold(0.0f32, |a, x| a.max(x.abs()));
    assert!(peak > 0.05, "the steady part sounds ({peak})");
}

/// A short ceremony that moves on by itself: three phases of 1.5 s, then a 1 s finish.
fn short_ceremony(dir: &Path) -> PathBuf {
    let scene = steady_scene(0.4, 0.4);
    ceremony(
        dir,
        "disk",
        &[
            ("one", Some("1500ms"), &scene),
            ("two", Some("1500ms"), &scene),
            ("three", Some("1500ms"), &scene),
        ],
    )
}

/// Checks a run whose state folder failed half-way: it ended normally, after all three
/// phases, and said once that the position could not be saved (`why`).
fn went_on_to_its_end(run: &mut Sanctum, why: &str) {
    let status = run
        .wait(Duration::from_secs(20))
        .unwrap_or_else(|| panic!("the ceremony ends\n{}", run.log()));
    let log = run.log();
    assert!(status.success(), "{status:?}\n{log}");
    for phase in ["one", "two", "three"] {
        assert!(
            log.contains(&format!("/3 {phase}:")),
            "phase {phase}\n{log}"
        );
    }
    assert!(log.contains("finished"), "{log}");
    let warned = log
        .lines()
        .filter(|l| l.contains("failed to save the position to") && l.contains(why))
        .count();
    assert_eq!(warned, 1, "one warning, not one per save:\n{log}");
    assert!(
        log.contains("the ceremony goes on, but a crash would start it over"),
        "{log}"
    );
    assert!(
        log.contains("failed to write the journal entry") && log.contains("the room goes on"),
        "{log}"
    );
}

#[test]
fn a_state_folder_turned_read_only_mid_run_is_a_warning_and_the_ceremony_ends_normally() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = short_ceremony(dir.path());
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).expect("mkdir");
    let bin = assert_cmd::cargo::cargo_bin("sanctum");
    // A private mount namespace (and user namespace, so that it needs no privilege): the
    // state folder is bind-mounted on itself, sanctum starts, and 1.2 s later the mount turns
    // read-only. Permissions would not do: root ignores them, and CI runs as root.
    let script = format!(
        "mount --bind '{s}' '{s}' || exit 97\n'{bin}' run '{f}' --output null --no-mqtt --state-dir '{s}' &\nsleep 1.2\nmount -o remount,ro,bind '{s}' || exit 98\necho 'state folder is read-only now' >&2\nwait $!",
        s = state.display(),
        bin = bin.display(),
        f = folder.display()
    );
    let mut run = Sanctum::spawn("unshare", &["-rm", "sh", "-c", &script], false);
    assert!(
        run.wait_log(Duration::from_secs(10), "state folder is read-only now"),
        "could not make the folder read-only (unshare -rm, mount --bind):\n{}",
        run.log()
    );
    went_on_to_its_end(&mut run, "Read-only file system");
    // What was saved before the folder turned read-only is still there, whole.
    let saved = std::fs::read_dir(&state)
        .expect("state")
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .map(|e| std::fs::read_to_string(e.path()).expect("read"))
        .unwrap_or_else(|| panic!("a position saved before\n{}", run.log()));
    let v: Value = serde_json::from_str(&saved).expect("the saved position is whole JSON");
    assert_eq!(v["ceremony"], "ceremony", "{v}");
}

#[test]
fn a_full_state_folder_mid_run_is_a_warning_and_the_ceremony_ends_normally() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = short_ceremony(dir.path());
    let state = dir.path().join("state");
    let bin = assert_cmd::cargo::cargo_bin("sanctum");
    // SIGXFSZ ignored, as a daemon's would be; then every write that grows a file fails
    // with EFBIG, as writes to a full disk fail with ENOSPC.
    let script = format!(
        "trap '' XFSZ\nexec '{bin}' run '{f}' --output null --no-mqtt --state-dir '{s}'",
        bin = bin.display(),
        f = folder.display(),
        s = state.display()
    );
    let mut run = Sanctum::spawn("bash", &["-c", &script], false);
    std::thread::sleep(Duration::from_millis(1_200));
    let limited = Command::new("prlimit")
        .args(["--pid", &run.child.id().to_string(), "--fsize=0:0"])
        .status()
        .expect("prlimit runs");
    assert!(limited.success(), "prlimit --fsize");
    went_on_to_its_end(&mut run, "File too large");
}

/// A copy of the fixture library (the daemon tests' room).
fn library() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for e in std::fs::read_dir(from).expect("read dir").flatten() {
            if e.path().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
            }
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    copy(Path::new("tests/fixtures/library"), dir.path());
    copy(
        Path::new("tests/fixtures/sounds"),
        &dir.path().join("sounds"),
    );
    dir
}

#[test]
fn a_scene_deleted_then_corrupted_mid_run_keeps_its_old_version_until_fixed() {
    let broker = Mosquitto::start();
    let lib = library();
    let state = tempfile::tempdir().expect("tempdir");
    let rec = Recorder::new(broker.port, &["sanctum/library/#", "zigbee2mqtt/#"]);
    let daemon = Sanctum::start(
        &[
            "daemon",
            "--library",
            lib.path().to_str().expect("utf8"),
            "--broker",
            &broker.url(),
            "--state-dir",
            state.path().to_str().expect("utf8"),
            "--output",
            "null",
        ],
        false,
    );
    let state_after = |since: Instant, what: &str, pred: &dyn Fn(&Value) -> bool| {
        rec.wait_for(Duration::from_secs(10), |m| {
            m.topic == "sanctum/library/state" && m.at >= since && pred(&json(m))
        })
        .unwrap_or_else(|| panic!("no state where {what}\n{}", daemon.log()))
    };
    let send = |cmd: &str| {
        let at = Instant::now();
        rec.publish("sanctum/library/cmd", cmd, false);
        at
    };
    let bulb_after = |at: Instant| {
        let m = rec
            .wait_for(Duration::from_secs(5), |m| {
                m.at >= at && m.topic == "zigbee2mqtt/lib_bulb/set"
            })
            .unwrap_or_else(|| panic!("the bulb moves\n{}", daemon.log()));
        json(&m)["brightness"].as_f64().expect("brightness")
    };
    let error_after = |at: Instant, file: &str| {
        let m = rec
            .wait_for(Duration::from_secs(10), |m| {
                m.at >= at
                    && m.topic == "sanctum/library/event"
                    && json(m)["event"] == "error"
                    && m.payload.contains(file)
            })
            .unwrap_or_else(|| panic!("an error event naming {file}\n{}", daemon.log()));
        json(&m)
    };
    state_after(Instant::now(), "idle", &|v| v["mode"] == "idle");
    let at = send("start evening");
    state_after(at, "arrive", &|v| v["phase"] == "arrive");

    // 1. The next phases' scene file is deleted: a warning names it; the ceremony goes on
    //    and plays the scene as it was read (rest: level 0.1, brightness 1–25).
    let rest = lib.path().join("evening/rest.toml");
    let rest_text = std::fs::read_to_string(&rest).expect("read");
    let at = Instant::now();
    std::fs::remove_file(&rest).expect("delete");
    let e = error_after(at, "rest.toml");
    eprintln!("deleted: {e}");
    assert!(
        daemon.wait_log(Duration::from_secs(5), "keeps the library it has")
            || daemon.log().contains("rest.toml"),
        "{}",
        daemon.log()
    );
    let at = send("next");
    state_after(at, "hold", &|v| v["phase"] == "hold");
    // The same command twice within the rig's debounce (100 ms) counts once.
    std::thread::sleep(Duration::from_millis(300));
    let at = send("next");
    state_after(at, "rest", &|v| v["phase"] == "rest");
    let level = bulb_after(at);
    assert!(level > 0.0 && level < 25.0, "the old rest plays: {level}");

    // 2. The phase before is corrupted: a warning with its place; `prev` plays the old hold
    //    (level 0.25, brightness 8).
    let hold = lib.path().join("evening/hold.toml");
    let hold_text = std::fs::read_to_string(&hold).expect("read");
    let at = Instant::now();
    std::fs::write(&hold, "[[cue]\nat = \"0s\n\u{0}\u{1}garbage").expect("corrupt");
    let e = error_after(at, "hold.toml");
    eprintln!("corrupted: {e}");
    assert!(e["line"].is_u64(), "a place in the file: {e}");
    let at = send("prev");
    state_after(at, "hold again", &|v| v["phase"] == "hold");
    let level = bulb_after(at);
    assert!(level > 0.0 && level < 25.0, "the old hold plays: {level}");

    // 3. Both files are fixed, with new levels: the edit is taken up, and the phases play
    //    the new versions (hold 0.45 → brightness 43; rest 0.6 → brightness 88).
    std::fs::write(&rest, rest_text.replace("level = 0.1", "level = 0.6")).expect("fix");
    std::fs::write(&hold, hold_text.replace("level = 0.25", "level = 0.45")).expect("fix");
    assert!(
        daemon.wait_log(
            Duration::from_secs(10),
            "`evening` changed: the new version takes over"
        ),
        "{}",
        daemon.log()
    );
    let at = send("next");
    state_after(at, "rest", &|v| v["phase"] == "rest");
    let level = bulb_after(at);
    assert!(level > 60.0, "the fixed rest plays: {level}");
    let at = send("prev");
    state_after(at, "hold", &|v| v["phase"] == "hold");
    let level = bulb_after(at);
    assert!(
        level > 25.0 && level < 60.0,
        "the fixed hold plays: {level}"
    );
}
