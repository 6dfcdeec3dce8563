//! `sanctum check` on sound files that exist but would not play: empty, not audio, or cut
//! short, in each format sanctum plays (Ogg Vorbis, FLAC, WAV, MP3). Every fixture is made
//! here at run time from a whole file (the repo's `sounds/`, a WAV written with hound, FLAC
//! encoded with sox when it is installed, the small committed `tests/fixtures/sounds/tone.mp3`),
//! then cut with `File::set_len` or replaced by bytes that are not audio.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use sanctum::config;

const RIG: &str = r#"room = "probe"
max_volume_db = 0

[layers.bed]
[layers.texture]
"#;

fn sanctum() -> Command {
    Command::cargo_bin("sanctum").expect("binary built")
}

/// Keeps `fraction` of the file's bytes.
fn cut(path: &Path, fraction: f64) {
    let f = OpenOptions::new().write(true).open(path).expect("open");
    let len = f.metadata().expect("metadata").len();
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    f.set_len((len as f64 * fraction) as u64).expect("set_len");
}

fn write_wav(path: &Path, seconds: u32) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 22_050,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for i in 0..22_050 * seconds {
        #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
        let s = ((i % 100) as i16 - 50) * 200;
        w.write_sample(s).expect("sample");
        w.write_sample(s).expect("sample");
    }
    w.finalize().expect("finalize");
}

/// A 3 s FLAC tone, or `false` when sox is not installed (or lacks FLAC).
fn write_flac(path: &Path) -> bool {
    std::process::Command::new("sox")
        .args(["-n", "-r", "44100", "-c", "2"])
        .arg(path)
        .args(["synth", "3", "sine", "440", "vol", "0.3"])
        .status()
        .is_ok_and(|s| s.success())
}

/// A folder with a rig, a `sounds/` folder of good and bad files, and nothing else yet.
struct Room {
    dir: tempfile::TempDir,
    flac: bool,
}

impl Room {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("rig.toml"), RIG).expect("rig");
        let sounds = dir.path().join("sounds");
        std::fs::create_dir(&sounds).expect("sounds");
        let s = |name: &str| sounds.join(name);

        std::fs::copy("sounds/chime.ogg", s("chime.ogg")).expect("copy ogg");
        std::fs::copy("sounds/bowl-low.ogg", s("cut.ogg")).expect("copy ogg");
        cut(&s("cut.ogg"), 0.5);

        write_wav(&s("tone.wav"), 2);
        write_wav(&s("lying.wav"), 4);
        // Keep the 44-byte header and one second of the four it promises.
        OpenOptions::new()
            .write(true)
            .open(s("lying.wav"))
            .expect("open")
            .set_len(44 + 22_050 * 4)
            .expect("set_len");

        std::fs::copy("tests/fixtures/sounds/tone.mp3", s("tone.mp3")).expect("copy mp3");
        std::fs::copy("tests/fixtures/sounds/tone.mp3", s("cut.mp3")).expect("copy mp3");
        cut(&s("cut.mp3"), 0.5);

        let flac = write_flac(&s("tone.flac"));
        if flac {
            std::fs::copy(s("tone.flac"), s("cut.flac")).expect("copy flac");
            cut(&s("cut.flac"), 0.5);
        } else {
            println!("sox missing or without FLAC: FLAC cases skipped");
        }

        std::fs::write(s("empty.ogg"), b"").expect("empty");
        std::fs::write(
            s("notes.ogg"),
            "bring the oil, warm the towels\n".repeat(10),
        )
        .expect("notes");
        Self { dir, flac }
    }

    /// Writes a scene playing `files` as one-shots in one cue; returns its path and text.
    fn scene(&self, name: &str, files: &[&str]) -> (PathBuf, String) {
        let mut text = String::from("[[cue]]\nat = \"0s\"\n");
        for f in files {
            text.push_str(&format!("[[cue.sounds]]\nfile = \"{f}\"\n"));
        }
        let path = self.dir.path().join(name);
        std::fs::write(&path, &text).expect("scene");
        (path, text)
    }

    fn goods(&self) -> Vec<&'static str> {
        let mut goods = vec!["chime.ogg", "tone.wav", "tone.mp3"];
        if self.flac {
            goods.push("tone.flac");
        }
        goods
    }
}

/// `path:line:col:` of `file = "<name>"` in `text` (the column of its opening quote).
fn position(path: &Path, text: &str, name: &str) -> String {
    let needle = format!("file = \"{name}\"");
    let line = text
        .lines()
        .position(|l| l == needle)
        .expect("name in scene");
    format!("{}:{}:8:", path.display(), line + 1)
}

#[test]
fn every_bad_sound_file_is_an_error_at_its_reference_with_the_reason() {
    let room = Room::new();
    let mut bad = vec![
        (
            "empty.ogg",
            "sound file `empty.ogg` is empty (0 bytes)".to_owned(),
        ),
        (
            "notes.ogg",
            "sound file `notes.ogg` is not audio: it looks like a text file".to_owned(),
        ),
        (
            "cut.ogg",
            "sound file `cut.ogg` is truncated: the Ogg stream has no end-of-stream page; the data stops at "
                .to_owned(),
        ),
        (
            "lying.wav",
            "sound file `lying.wav` is truncated: its header promises 4.0 s but the data stops at 1.0 s"
                .to_owned(),
        ),
        (
            "cut.mp3",
            "sound file `cut.mp3` is truncated: its header promises 1.5 s but the data stops at 0.8 s"
                .to_owned(),
        ),
    ];
    if room.flac {
        bad.push((
            "cut.flac",
            "sound file `cut.flac` is truncated: its header promises 3.0 s but the data stops at "
                .to_owned(),
        ));
    }
    let mut files: Vec<&str> = bad.iter().map(|(f, _)| *f).collect();
    files.extend(room.goods());
    let (path, text) = room.scene("bad.toml", &files);

    let out = sanctum().arg("check").arg(&path).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for (file, reason) in &bad {
        let want = format!("{} {reason}", position(&path, &text, file));
        assert!(stderr.contains(&want), "missing {want:?} in:\n{stderr}");
    }
    for good in room.goods() {
        assert!(
            !stderr.contains(&format!("`{good}`")),
            "{good} is whole:\n{stderr}"
        );
    }
    assert!(
        stderr.contains(&format!("{} problem(s)", bad.len())),
        "{stderr}"
    );
}

#[test]
fn whole_files_in_every_format_pass() {
    let room = Room::new();
    let (path, _) = room.scene("good.toml", &room.goods());
    let out = sanctum().arg("check").arg(&path).output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: "));
}

#[test]
fn a_file_referenced_many_times_is_probed_once_and_reported_at_each_reference() {
    let room = Room::new();
    let (path, text) = room.scene(
        "repeat.toml",
        &[
            "chime.ogg",
            "lying.wav",
            "chime.ogg",
            "tone.wav",
            "chime.ogg",
        ],
    );
    // A layer that uses the same bed in a second cue, and the bad file again as a layer.
    let text = format!(
        "{text}\n[[cue]]\nat = \"1m\"\n[cue.layers.bed]\nfile = \"chime.ogg\"\n\
         [cue.layers.texture]\nplaylist = [\"tone.wav\", \"lying.wav\"]\n"
    );
    std::fs::write(&path, &text).expect("scene");
    let report = config::check(std::slice::from_ref(&path), None);
    assert_eq!(
        report.sounds, 3,
        "chime.ogg, tone.wav and lying.wav, once each"
    );
    let messages: Vec<String> = report
        .diags
        .sorted()
        .iter()
        .map(ToString::to_string)
        .collect();
    let lying: Vec<&String> = messages
        .iter()
        .filter(|m| m.contains("sound file `lying.wav` is truncated"))
        .collect();
    assert_eq!(lying.len(), 2, "{messages:#?}");
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(
        lying[0].starts_with(&position(&path, &text, "lying.wav")),
        "{}",
        lying[0]
    );
}

#[test]
fn a_ceremony_with_a_bad_sound_does_not_load_for_run_either() {
    let room = Room::new();
    room.scene("opening.toml", &["chime.ogg", "cut.ogg"]);
    let ceremony = "[[phase]]\nid = \"opening\"\nscene = \"opening.toml\"\n";
    std::fs::write(room.dir.path().join("ceremony.toml"), ceremony).expect("ceremony");
    let diags = config::load_ceremony(room.dir.path(), None).expect_err("cut.ogg is truncated");
    let text = diags.to_string();
    assert!(text.contains("sound file `cut.ogg` is truncated"), "{text}");
    std::fs::copy(
        "sounds/bowl-low.ogg",
        room.dir.path().join("sounds/cut.ogg"),
    )
    .expect("mend");
    config::load_ceremony(room.dir.path(), None).expect("loads once the file is whole");
}
