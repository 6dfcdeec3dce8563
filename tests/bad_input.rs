//! Bad input and special files through the `sanctum` binary: FIFOs, devices, folders and link
//! loops where files should be; `--speed` and `--from` out of bounds; durations too large;
//! phase ids in the wrong case; and renders that fail or are killed half-way, which must leave
//! the previous output file as it was. Each test is one fault; docs/RELIABILITY.md lists them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use sanctum::command::Command as Cmd;
use sanctum::timeline::Timeline;

fn sanctum() -> Command {
    Command::cargo_bin("sanctum").expect("binary built")
}

/// A copy of the engine fixture (rig, ceremony, four scenes) with its sounds beside it.
fn fixture() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("engine");
    std::fs::create_dir(&dir).expect("mkdir");
    for entry in std::fs::read_dir("tests/fixtures/engine").expect("fixture") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy");
    }
    let sounds = tmp.path().join("sounds");
    std::fs::create_dir(&sounds).expect("mkdir");
    for entry in std::fs::read_dir("tests/fixtures/sounds").expect("sounds") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), sounds.join(entry.file_name())).expect("copy");
    }
    (tmp, dir)
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(status.success());
}

/// Runs `check` on `paths`, which must fail within a few seconds; returns its stderr.
fn check_fails(paths: &[&Path]) -> String {
    let started = Instant::now();
    let out = sanctum()
        .arg("check")
        .args(paths)
        .timeout(Duration::from_secs(20))
        .output()
        .expect("runs");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "check took {:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn check_refuses_a_fifo_and_a_link_to_dev_zero_at_once() {
    let (_tmp, dir) = fixture();
    mkfifo(&dir.join("waiting.toml"));
    std::os::unix::fs::symlink("/dev/zero", dir.join("endless.toml")).expect("symlink");
    let err = check_fails(&[&dir]);
    assert!(
        err.contains(
            "waiting.toml:1:1: failed to read file: it is a FIFO (named pipe), not a regular file"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "endless.toml:1:1: failed to read file: it is a character device, not a regular file"
        ),
        "{err}"
    );
    assert!(err.contains("2 problem(s)"), "{err}");
}

#[test]
fn check_refuses_a_config_file_over_the_cap_with_its_size() {
    let (_tmp, dir) = fixture();
    let huge = dir.join("huge.toml");
    let file = std::fs::File::create(&huge).expect("create");
    // A sparse 65 MiB file: over the 64 MiB cap without writing it.
    file.set_len(65 << 20).expect("grow");
    let err = check_fails(&[&huge]);
    assert!(
        err.contains("failed to read file: it is too large (68157440 bytes; files are read up to 67108864 bytes)"),
        "{err}"
    );
}

#[test]
fn check_walks_a_tree_with_a_link_back_up_once() {
    let (tmp, dir) = fixture();
    std::os::unix::fs::symlink(tmp.path(), dir.join("up")).expect("symlink");
    let out = sanctum()
        .args(["check"])
        .arg(&dir)
        .timeout(Duration::from_secs(20))
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    // rig, ceremony and four scenes, each read once although `up/engine/…` reaches them again.
    assert!(stdout.starts_with("ok: 6 file(s)"), "{stdout}");
}

#[test]
fn a_sound_that_is_a_folder_a_fifo_or_a_link_loop_is_named_for_what_it_is() {
    let (tmp, dir) = fixture();
    let sounds = tmp.path().join("sounds");
    std::fs::remove_file(sounds.join("pad.wav")).expect("rm");
    std::fs::create_dir(sounds.join("pad.wav")).expect("mkdir");
    std::fs::remove_file(sounds.join("tone.wav")).expect("rm");
    mkfifo(&sounds.join("tone.wav"));
    std::fs::remove_file(sounds.join("chime.wav")).expect("rm");
    std::os::unix::fs::symlink(sounds.join("chime.wav"), sounds.join("chime.wav"))
        .expect("symlink");
    let err = check_fails(&[&dir]);
    for (name, what) in [
        ("pad.wav", "a directory"),
        ("tone.wav", "a FIFO (named pipe)"),
        ("chime.wav", "a symbolic link loop"),
    ] {
        assert!(
            err.contains(&format!("sound file `{name}` is {what}, not a sound file")),
            "{name}: {err}"
        );
    }
    assert!(!err.contains("did you mean"), "{err}");
    assert!(!err.contains("missing sound file"), "{err}");
}

#[test]
fn a_duration_too_large_says_so() {
    let (_tmp, dir) = fixture();
    let three = dir.join("three.toml");
    let text = std::fs::read_to_string(&three).expect("read");
    std::fs::write(
        &three,
        format!("{text}\n[[cue]]\nat = \"99999999h\"\nnote = \"x\"\n"),
    )
    .expect("write");
    let err = check_fails(&[&dir]);
    assert!(
        err.contains("`at`: duration `99999999h` is too large: the longest is 277777h"),
        "{err}"
    );
}

#[test]
fn speed_out_of_range_is_refused_by_the_command_line() {
    let (_tmp, dir) = fixture();
    for bad in ["0", "-1", "NaN", "inf", "1e18", "1e25"] {
        let out = sanctum()
            .arg("run")
            .arg(&dir)
            .arg(format!("--speed={bad}"))
            .args(["--output", "null", "--no-mqtt"])
            .timeout(Duration::from_secs(20))
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(
            err.contains(&format!("invalid value '{bad}' for '--speed <X>'"))
                && err.contains("a number from 0.1 to 10000"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn from_an_unknown_phase_lists_the_phases() {
    let (_tmp, dir) = fixture();
    let out = sanctum()
        .arg("run")
        .arg(&dir)
        .args(["--from", "nonexistent", "--output", "null", "--no-mqtt"])
        .timeout(Duration::from_secs(20))
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "the ceremony has no phase `nonexistent`; its phases are `one`, `two`, `three`, `four`"
        ),
        "{err}"
    );
}

#[test]
fn phase_ids_match_without_case_and_an_unknown_one_lists_the_phases() {
    let (_tmp, dir) = fixture();
    let loaded = sanctum::config::load_ceremony(&dir, None).expect("loads");
    let mut timeline = Timeline::new(Arc::new(loaded.ceremony), loaded.rig);
    let mut events = Vec::new();
    let t = Duration::from_secs(1);
    timeline
        .command(Duration::ZERO, &Cmd::Start, &mut events)
        .expect("start");
    timeline
        .command(t, &Cmd::Goto("THREE".into()), &mut events)
        .expect("goto in capitals");
    assert_eq!(timeline.status(t).phase, Some(2));
    let why = timeline
        .command(t * 5, &Cmd::Goto("thre".into()), &mut events)
        .expect_err("unknown");
    assert_eq!(
        timeline.explain(why),
        "no such phase; the phases are `one`, `two`, `three`, `four`"
    );
    assert!(timeline.start_from("Four").is_ok());
}

#[test]
fn phase_ids_that_differ_only_in_case_are_refused() {
    let (_tmp, dir) = fixture();
    let ceremony = dir.join("ceremony.toml");
    let text = std::fs::read_to_string(&ceremony).expect("read");
    std::fs::write(
        &ceremony,
        text.replacen("id = \"three\"", "id = \"One\"", 1),
    )
    .expect("write");
    let err = check_fails(&[&dir]);
    assert!(
        err.contains("duplicate phase id `One` (first used on line 6 as `one`; phase ids are matched without case)"),
        "{err}"
    );
}

/// `sanctum render` of the fixture into `out`, inside a shell that limits file sizes to
/// `limit_kib` (RLIMIT_FSIZE): with `ignore_signal` the write fails with EFBIG (a full disk,
/// as the render sees it), otherwise SIGXFSZ kills it half-way (an interrupted render).
fn render_limited(
    dir: &Path,
    out: &Path,
    limit_kib: u32,
    ignore_signal: bool,
) -> std::process::Output {
    let bin = assert_cmd::cargo::cargo_bin("sanctum");
    let trap = if ignore_signal { "trap '' XFSZ; " } else { "" };
    let script = format!(
        "{trap}ulimit -f {limit_kib}; exec \"$0\" render \"$1\" --out \"$2\" --manual-after 5s --rate 8000"
    );
    std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg(bin)
        .arg(dir)
        .arg(out)
        .output()
        .expect("bash runs")
}

#[test]
fn a_render_that_fails_or_is_killed_half_way_leaves_the_old_file_intact() {
    let (tmp, dir) = fixture();
    let out = tmp.path().join("mix.wav");
    std::fs::write(&out, b"the previous take").expect("write");
    // Disk full: the write fails, the render says so, and the old take is still there.
    let full = render_limited(&dir, &out, 64, true);
    let err = String::from_utf8_lossy(&full.stderr);
    assert_eq!(full.status.code(), Some(1), "{err}");
    assert!(err.contains("failed to render: failed to write"), "{err}");
    assert!(err.contains("File too large"), "{err}");
    assert_eq!(std::fs::read(&out).expect("read"), b"the previous take");
    let litter: Vec<String> = std::fs::read_dir(tmp.path())
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(litter.is_empty(), "a failed render cleans up: {litter:?}");
    // Killed half-way: the old take is still there (the half-written temp file stays beside
    // it, named `.mix.wav.*.part`).
    let killed = render_limited(&dir, &out, 64, false);
    assert_eq!(killed.status.code(), None, "killed by SIGXFSZ: {killed:?}");
    assert_eq!(std::fs::read(&out).expect("read"), b"the previous take");
    // With room to finish, the new take replaces the old one whole.
    let ok = render_limited(&dir, &out, 1 << 20, true);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let reader = hound::WavReader::open(&out).expect("a whole WAV");
    assert_eq!(reader.spec().sample_rate, 8_000);
    assert!(reader.duration() > 8_000 * 60, "{}", reader.duration());
}

#[test]
fn a_large_scene_read_a_cue_at_a_time_places_every_problem_and_keeps_every_cue() {
    // 1,000 cues (read in parts), every 100th with a bad duration and every 250th with a
    // typo'd key: each problem at its own line, the other cues all there, in time order.
    let mut text = String::from("title = \"big\"\n");
    let mut expected = Vec::new();
    for i in 0..1000 {
        let line = text.lines().count() + 1;
        text.push_str("\n[[cue]]\n");
        if i % 100 == 7 {
            text.push_str(&format!("at = \"{i}sec\"\n"));
            expected.push(format!("{}:6: `at`: invalid duration `{i}sec`", line + 2));
        } else {
            text.push_str(&format!("at = \"{}s\"\n", 1000 - i));
        }
        text.push_str("[cue.lights.a]\n");
        if i % 250 == 3 {
            text.push_str("levl = 0.5\n");
            expected.push(format!(
                "{}:1: unknown key `levl`; did you mean `level`?",
                line + 4
            ));
        } else {
            text.push_str("level = 0.5\n");
        }
    }
    let rig = sanctum::config::Loader::new()
        .rig(Path::new("tests/fixtures/engine/rig.toml"))
        .expect("rig");
    let mut loader = sanctum::config::Loader::new();
    let file = Arc::new(sanctum::config::SourceFile::new("big.toml", text));
    let (scene, _, spans) = loader
        .scene_source(file, &rig, Path::new("tests/fixtures/sounds"))
        .expect("the rest of the scene");
    let got: Vec<String> = loader
        .diags
        .sorted()
        .iter()
        .map(|d| {
            let (l, c) = d.line_col();
            format!("{l}:{c}: {}", d.message)
        })
        .collect();
    let got_short: Vec<String> = got
        .iter()
        .map(|m| m.split(": write").next().unwrap_or(m).to_owned())
        .collect();
    assert_eq!(got_short, expected);
    assert_eq!(
        scene.cues.len(),
        1000 - 10,
        "the cues with a bad `at` are left out"
    );
    assert_eq!(spans.len(), scene.cues.len());
    assert!(scene.cues.windows(2).all(|w| w[0].at <= w[1].at));
}
