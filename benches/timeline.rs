//! Criterion benchmarks of the ceremony engine: the cost of one step must follow the number of
//! changes it makes, not the number of cues in the ceremony; plus loading and checking.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sanctum::command::Command;
use sanctum::config;
use sanctum::timeline::Timeline;

const LIGHTS: usize = 100;

/// Writes a one-phase ceremony of `cues` cues, one second apart, each changing `changes`
/// lights, and returns its folder.
fn synthetic(dir: &Path, cues: usize, changes: usize) -> PathBuf {
    let folder = dir.join(format!("c{cues}x{changes}"));
    std::fs::create_dir_all(&folder).expect("mkdir");
    let mut rig = String::from("room = \"bench\"\n[layers.bed]\n");
    for i in 0..LIGHTS {
        let _ = write!(
            rig,
            "[lights.l{i}]\ndriver = \"zigbee2mqtt\"\naddress = \"bulb_{i}\"\n"
        );
    }
    std::fs::write(folder.join("rig.toml"), rig).expect("rig");
    let sounds = std::fs::canonicalize("tests/fixtures/sounds").expect("fixture sounds");
    std::fs::write(
        folder.join("ceremony.toml"),
        format!(
            "sounds = \"{}\"\n[[phase]]\nid = \"only\"\nscene = \"scene.toml\"\n[[phase]]\nid = \"after\"\nscene = \"scene.toml\"\n",
            sounds.display()
        ),
    )
    .expect("ceremony");
    let mut scene = String::new();
    for c in 0..cues {
        let _ = write!(scene, "[[cue]]\nat = \"{}s\"\n", c + 1);
        for k in 0..changes {
            let light = (c * changes + k) % LIGHTS;
            let level = ((c + k) % 90) as f64 / 100.0 + 0.05;
            let _ = write!(
                scene,
                "[cue.lights.l{light}]\nlevel = {level:.2}\nfade = \"5s\"\n"
            );
        }
    }
    std::fs::write(folder.join("scene.toml"), scene).expect("scene");
    folder
}

fn started(folder: &Path) -> Timeline {
    let loaded = config::load_ceremony(folder, None).expect("synthetic ceremony loads");
    let mut tl = Timeline::new(Arc::new(loaded.ceremony), loaded.rig);
    let mut out = Vec::new();
    tl.command(Duration::ZERO, &Command::Start, &mut out)
        .expect("start");
    tl
}

/// Times `iters` single steps (each firing the next due cue) on copies of `fresh`.
fn time_steps(fresh: &Timeline, iters: u64) -> Duration {
    let mut tl = fresh.clone();
    let mut out = Vec::with_capacity(256);
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let due = match tl.next_deadline() {
            Some(d) if tl.status(d).phase == Some(0) => d,
            _ => {
                tl = fresh.clone();
                tl.next_deadline().expect("a cue is due")
            }
        };
        out.clear();
        let t0 = Instant::now();
        tl.advance(black_box(due), &mut out);
        total += t0.elapsed();
        black_box(&out);
    }
    total
}

fn step_cost(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut group = c.benchmark_group("step: cues in ceremony (1 change each)");
    for cues in [100, 1_000, 10_000] {
        let tl = started(&synthetic(dir.path(), cues, 1));
        group.bench_with_input(BenchmarkId::from_parameter(cues), &tl, |b, tl| {
            b.iter_custom(|iters| time_steps(tl, iters));
        });
    }
    group.finish();
    let mut group = c.benchmark_group("step: changes per cue (10,000 cues)");
    for changes in [1, 10, 100] {
        let tl = started(&synthetic(dir.path(), 10_000, changes));
        group.bench_with_input(BenchmarkId::from_parameter(changes), &tl, |b, tl| {
            b.iter_custom(|iters| time_steps(tl, iters));
        });
    }
    group.finish();
    let tl = started(&synthetic(dir.path(), 10_000, 1));
    c.bench_function("goto: enter a phase after 10,000 cues (100 lights)", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut out = Vec::with_capacity(256);
            for i in 0..iters {
                let mut t = tl.clone();
                out.clear();
                let target = if i % 2 == 0 { "after" } else { "only" };
                let t0 = Instant::now();
                let _ = t.command(
                    Duration::from_secs(1),
                    &Command::Goto(target.to_owned()),
                    &mut out,
                );
                total += t0.elapsed();
                black_box(&out);
            }
            total
        });
    });
}

fn loading(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = synthetic(dir.path(), 10_000, 1);
    let mut group = c.benchmark_group("config");
    group.sample_size(20);
    group.bench_function("load a 10,000-cue ceremony", |b| {
        b.iter(|| config::load_ceremony(black_box(&folder), None).expect("loads"));
    });
    group.bench_function("check the shipped scenes/ tree", |b| {
        b.iter(|| {
            let report = config::check(&[PathBuf::from("scenes")], None);
            assert!(report.diags.is_empty());
            report
        });
    });
    group.finish();
}

criterion_group!(benches, step_cost, loading);
criterion_main!(benches);
