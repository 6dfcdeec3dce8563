//! Reading a very large scene: time and peak memory, against parsing the same TOML alone.
//!
//! `cargo bench --bench large_scene` writes a 100,000-cue scene (about 10 MB) and a scene of
//! the same size with 20,000 bad durations, then runs each job in a child process of its own
//! so that peak RSS (VmHWM) belongs to one job:
//! - `toml` alone: `toml::from_str::<toml::Table>`, the floor any TOML reader pays;
//! - `toml` spanned: `toml::de::DeTable::parse`, the tree with spans sanctum's first stage
//!   starts from;
//! - sanctum: both stages (raw structs, then the checked scene against a rig);
//! - sanctum with 20,000 errors: both stages, then every problem placed and printed as `check`
//!   prints it.
//!
//! Memory is peak RSS minus the RSS before the file is read, per cue. Prints a Markdown table
//! for `docs/BENCHMARKS.md`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use sanctum::config::{Loader, SourceFile};

const CUES: usize = 100_000;
const BAD: usize = 20_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn status_kib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}

/// A scene of `cues` cues, each changing a light and a layer, every hundredth playing a file;
/// `bad` of them (spread evenly) with an unreadable `at`.
fn scene(cues: usize, bad: usize) -> String {
    let mut text = String::from("title = \"large\"\n");
    let every = cues.checked_div(bad);
    for i in 0..cues {
        let (h, m, s) = (i / 3600, (i / 60) % 60, i % 60);
        if every.is_some_and(|e| i % e == 0) {
            let _ = writeln!(text, "\n[[cue]]\nat = \"{h}h{m}m{s}x\"");
        } else {
            let _ = writeln!(text, "\n[[cue]]\nat = \"{h}h{m}m{s}s\"");
        }
        let _ = writeln!(text, "note = \"cue {i}\"");
        let _ = writeln!(
            text,
            "[cue.lights.a]\nlevel = 0.{:02}\nfade = \"10s\"",
            i % 100
        );
        if i % 100 == 0 {
            let _ = writeln!(text, "[cue.layers.bed]\nfile = \"tone.wav\"\nfade = \"5s\"");
        } else {
            let _ = writeln!(text, "[cue.layers.texture]\ngain_db = -{}", 6 + i % 20);
        }
    }
    text
}

/// One child's report: wall seconds, memory above the start in KiB, and what it made.
fn report(started: Instant, before_kib: f64, made: usize) {
    println!(
        "{} {} {made}",
        started.elapsed().as_secs_f64(),
        status_kib("VmHWM:") - before_kib
    );
}

fn child(job: &str, path: &Path) {
    let before = status_kib("VmRSS:");
    let started = Instant::now();
    let text = std::fs::read_to_string(path).expect("scene");
    match job {
        "toml" => {
            let table: toml::Table = toml::from_str(&text).expect("valid TOML");
            let cues = table
                .get("cue")
                .and_then(|c| c.as_array())
                .map_or(0, Vec::len);
            report(started, before, cues);
        }
        "spanned" => {
            let table = toml::de::DeTable::parse(&text).expect("valid TOML");
            report(started, before, table.get_ref().len());
        }
        "sanctum" | "errors" => {
            let fixture = root().join("tests/fixtures/engine");
            let mut loader = Loader::new();
            let rig = loader.rig(&fixture.join("rig.toml")).expect("rig");
            let file = Arc::new(SourceFile::new(path, text));
            let scene = loader.scene_source(file, &rig, &root().join("tests/fixtures/sounds"));
            let cues = scene.map_or(0, |s| s.0.cues.len());
            if job == "errors" {
                let printed = loader.diags.to_string();
                assert_eq!(loader.diags.len(), BAD, "every bad duration is reported");
                report(started, before, printed.len());
            } else {
                assert!(loader.diags.is_empty(), "{}", loader.diags);
                report(started, before, cues);
            }
        }
        other => panic!("unknown job {other}"),
    }
}

struct Run {
    wall: f64,
    kib: f64,
    made: usize,
}

fn run(job: &str, path: &Path) -> Run {
    let out = Command::new(std::env::current_exe().expect("self"))
        .args(["child", job])
        .arg(path)
        .output()
        .expect("child runs");
    assert!(
        out.status.success(),
        "{job}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    let v: Vec<&str> = line.split_whitespace().collect();
    Run {
        wall: v[0].parse().expect("wall"),
        kib: v[1].parse().expect("kib"),
        made: v[2].parse().expect("made"),
    }
}

fn best_of(n: usize, job: &str, path: &Path) -> Run {
    (0..n)
        .map(|_| run(job, path))
        .min_by(|a, b| a.wall.total_cmp(&b.wall))
        .expect("at least one run")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child") {
        return child(&args[1], Path::new(&args[2]));
    }
    let dir = std::env::temp_dir().join("sanctum-large-scene");
    std::fs::create_dir_all(&dir).expect("scratch");
    let good = dir.join("large.toml");
    let bad = dir.join("large-errors.toml");
    std::fs::write(&good, scene(CUES, 0)).expect("write");
    std::fs::write(&bad, scene(CUES, BAD)).expect("write");
    let mb = |p: &Path| std::fs::metadata(p).map_or(0.0, |m| m.len() as f64 / 1e6);
    eprintln!("{:.1} MB scene, {CUES} cues; best of 3 each…", mb(&good));
    let toml = best_of(3, "toml", &good);
    let spanned = best_of(3, "spanned", &good);
    let ours = best_of(3, "sanctum", &good);
    let errors = best_of(3, "errors", &bad);
    assert_eq!(ours.made, CUES);
    assert_eq!(toml.made, CUES);
    let per_cue = |r: &Run| r.kib * 1024.0 / CUES as f64;
    println!(
        "\n{:.1} MB scene, {CUES} cues (`benches/large_scene.rs`), best of 3, each job in a child process:\n",
        mb(&good)
    );
    println!(
        "| job | wall time | memory (peak RSS above start) | per cue | × `toml` alone (time, memory) |"
    );
    println!("|---|---|---|---|---|");
    for (name, r) in [
        ("`toml::from_str::<Table>` alone (the floor)", &toml),
        ("`toml` spanned tree (`DeTable::parse`)", &spanned),
        ("sanctum: both stages, checked scene", &ours),
        (
            "sanctum: 20,000 bad durations, every problem printed",
            &errors,
        ),
    ] {
        println!(
            "| {name} | {:.0} ms | {:.0} MiB | {:.0} B | {:.1}×, {:.1}× |",
            r.wall * 1000.0,
            r.kib / 1024.0,
            per_cue(r),
            r.wall / toml.wall,
            r.kib / toml.kib
        );
    }
    println!(
        "\nThe 20,000 problems print as {:.1} MB of `check` output.",
        errors.made as f64 / 1e6
    );
    let _ = std::fs::remove_dir_all(&dir);
}
