//! Offline render speed and memory, against sox in the same run.
//!
//! `cargo bench --bench render` measures, each in a child process of its own so that peak RSS
//! (VmHWM) belongs to one job:
//! 1. `sanctum render` of the full reference ceremony (manual phases at their minimum times)
//!    into a 16-bit WAV on tmpfs, against `sox -m` making the same length of audio from the
//!    same files (two looping beds as the ceremony's two layers, and its one-shots, resampled
//!    where needed, as sanctum does);
//! 2. peak RSS while rendering the ceremony, while rendering a 2-hour file to its end, and
//!    while playing that file through the paced real-time path, against sox streaming the same
//!    file and against a process that only loads the ceremony.
//!
//! Results print as a Markdown table for `docs/BENCHMARKS.md`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sanctum::audio::{AudioBackend, LayerId, NullBackend, Source, WavBackend, WavFormat};
use sanctum::model::LayerPatch;
use sanctum::render::{self, ManualAfter};
use sanctum::sound::Player;
use sanctum::timeline::{LayerChange, Timeline};
use sanctum::tween::Curve;
use sanctum::units::Decibels;

const RATE: u32 = 48_000;
const LONG: Duration = Duration::from_secs(2 * 3600);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch() -> PathBuf {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        shm.join("sanctum-bench")
    } else {
        std::env::temp_dir().join("sanctum-bench")
    };
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Peak resident set of this process, in MiB.
fn peak_rss_mib() -> f64 {
    rss_field(&std::fs::read_to_string("/proc/self/status").unwrap_or_default())
}

fn rss_field(status: &str) -> f64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn load(ceremony: &Path) -> Timeline {
    let loaded = sanctum::config::load_ceremony(ceremony, None).expect("the ceremony loads");
    Timeline::new(Arc::new(loaded.ceremony), loaded.rig)
}

// ---- children: each prints one line `seconds_of_audio wall_seconds peak_rss_mib` ----

fn child_load(ceremony: &Path) {
    let started = Instant::now();
    let timeline = load(ceremony);
    let (_player, _processor) = Player::build(timeline.rig(), RATE);
    println!("0 {} {}", started.elapsed().as_secs_f64(), peak_rss_mib());
}

fn child_render(ceremony: &Path, out: &Path) {
    let mut timeline = load(ceremony);
    let started = Instant::now();
    let (mut player, processor) = Player::build(timeline.rig(), RATE);
    let mut wav = WavBackend::new(out, RATE).with_format(WavFormat::Pcm16);
    wav.start(processor).expect("start");
    let length = render::render(
        &mut timeline,
        ManualAfter::Min,
        &mut wav,
        &mut [&mut player],
        &mut |_| {},
    )
    .expect("render");
    wav.stop().expect("finish the file");
    let wall = started.elapsed().as_secs_f64();
    println!(
        "{} {wall} {} {}",
        length.as_secs_f64(),
        peak_rss_mib(),
        cpu_secs()
    );
}

/// Plays `file` on layer 0, looping: a 2-hour loop is far over the loop cache's budget, so it
/// must stream with only its ring in memory.
fn play_long(player: &mut sanctum::audio::AudioHandle, file: &Path) {
    let source = Arc::new(Source {
        files: vec![file.to_owned()],
        looping: true,
        crossfade: Duration::ZERO,
    });
    player
        .layer(
            LayerId(0),
            LayerChange::Play {
                source,
                gain: Decibels::UNITY,
                fade: Duration::from_millis(50),
                curve: Curve::EqualPower,
            },
        )
        .expect("play");
}

fn one_layer() -> Vec<sanctum::audio::LayerSpec> {
    vec![sanctum::audio::LayerSpec {
        name: "bed".into(),
        gain: Decibels::UNITY,
        duck: None,
    }]
}

/// Renders the whole 2-hour file offline, discarding the mix.
fn child_render_long(file: &Path) {
    let (mut handle, mut processor) =
        sanctum::audio::build(&one_layer(), RATE, sanctum::audio::MixerSettings::default());
    play_long(&mut handle, file);
    let started = Instant::now();
    let mut buf = vec![0.0f32; 1024 * 2];
    let blocks = LONG.as_secs() * u64::from(RATE) / 1024;
    let mut heard = 0.0f32;
    for _ in 0..blocks {
        processor.process_blocking(&mut buf);
        heard = heard.max(buf.iter().fold(0.0f32, |m, s| m.max(s.abs())));
        handle.collect_garbage();
    }
    assert!(heard > 0.01, "the long file played");
    assert_eq!(handle.loop_cache_bytes(), 0, "a 2-hour loop is not copied");
    println!(
        "{} {} {}",
        LONG.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
}

/// Plays the 2-hour file through the paced real-time path (the `null` output) for a while.
fn child_play_long(file: &Path, for_secs: u64) {
    let (mut handle, processor) =
        sanctum::audio::build(&one_layer(), RATE, sanctum::audio::MixerSettings::default());
    let mut null = NullBackend::new(RATE, 480);
    null.start(processor).expect("start");
    play_long(&mut handle, file);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(for_secs));
    let stats = handle.stats();
    assert_eq!(stats.voices_active, 1, "still playing");
    let _ = null.stop();
    println!(
        "{for_secs} {} {} {}",
        started.elapsed().as_secs_f64(),
        peak_rss_mib(),
        stats.underrun_frames
    );
}

// ---- the parent ----

struct Measured {
    audio: f64,
    wall: f64,
    rss: f64,
    /// CPU seconds (user + sys, all threads), when the job reports them.
    cpu: f64,
}

fn child(args: &[&str]) -> Measured {
    let exe = std::env::current_exe().expect("bench binary");
    let out = Command::new(exe).args(args).output().expect("run child");
    assert!(
        out.status.success(),
        "child {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or_default();
    let v: Vec<f64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(v.len() >= 3, "child {args:?} said {line:?}");
    Measured {
        audio: v[0],
        wall: v[1],
        rss: v[2],
        cpu: v.get(3).copied().unwrap_or(f64::NAN),
    }
}

/// CPU seconds this process has used (user + sys, every thread, finished ones included).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    let hz = 100.0; // USER_HZ on Linux
    f.iter().sum::<f64>() / hz
}

/// Runs a command, polling its peak RSS, and returns (wall seconds, peak MiB).
fn timed(cmd: &mut Command) -> (f64, f64) {
    let started = Instant::now();
    let mut proc = cmd.spawn().expect("spawn");
    let status_path = format!("/proc/{}/status", proc.id());
    let mut peak = 0.0f64;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            let rss = rss_field(&text);
            if rss.is_finite() {
                peak = peak.max(rss);
            }
        }
        if let Some(status) = proc.try_wait().expect("wait") {
            assert!(status.success(), "{cmd:?} failed");
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    (started.elapsed().as_secs_f64(), peak)
}

fn best_of(n: usize, mut f: impl FnMut() -> Measured) -> Measured {
    (0..n)
        .map(|_| f())
        .min_by(|a, b| a.wall.total_cmp(&b.wall))
        .expect("at least one run")
}

/// The files sox mixes: the ceremony's first bed and first texture source (looped for the
/// whole ceremony, as its two layers play throughout) and every one-shot it rings.
fn sox_inputs(timeline: &Timeline, length: Duration, decode_every_pass: bool) -> Vec<String> {
    let mut beds: Vec<Option<PathBuf>> = vec![None; timeline.rig().layers.len()];
    let mut shots: Vec<PathBuf> = Vec::new();
    for phase in &timeline.ceremony().phases {
        for cue in &phase.scene.cues {
            for l in &cue.layers {
                if let LayerPatch::Play { source, .. } = &l.change
                    && beds[l.layer].is_none()
                {
                    beds[l.layer] = source.files.first().cloned();
                }
            }
            shots.extend(cue.sounds.iter().map(|s| s.file.clone()));
        }
    }
    let secs = length.as_secs_f64();
    let mut inputs: Vec<String> = beds
        .into_iter()
        .flatten()
        .map(|f| {
            let file_secs = duration_of(&f);
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let repeats = (secs / file_secs).ceil() as u64;
            if decode_every_pass {
                // sox concatenates its inputs: the file is decoded again for every pass, as a
                // streaming player (sanctum) does.
                let passes =
                    vec![f.display().to_string(); usize::try_from(repeats + 1).unwrap_or(1)];
                format!("|sox {} -p rate {RATE} trim 0 {secs}", passes.join(" "))
            } else {
                // `repeat` decodes once and replays from a temporary file.
                format!(
                    "|sox {} -p rate {RATE} repeat {repeats} trim 0 {secs}",
                    f.display()
                )
            }
        })
        .collect();
    inputs.extend(
        shots
            .iter()
            .map(|f| format!("|sox {} -p rate {RATE} channels 2", f.display())),
    );
    inputs
}

/// A file's length in seconds, as sox reads it.
fn duration_of(file: &Path) -> f64 {
    let out = Command::new("soxi")
        .arg("-D")
        .arg(file)
        .output()
        .expect("soxi");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("soxi gives a length")
}

/// The 1-minute load average (how busy the shared machine was).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

fn long_file(dir: &Path) -> PathBuf {
    let path = dir.join("two-hours.ogg");
    if !path.exists() {
        eprintln!("making a 2-hour Ogg file for the memory runs (once)…");
        let started = Instant::now();
        let status = Command::new("sox")
            .args(["-n", "-r", "48000", "-c", "2", "-C", "0"])
            .arg(&path)
            .args(["synth", "7200", "pinknoise", "vol", "0.2"])
            .status()
            .expect("sox");
        assert!(status.success(), "sox could not make the long file");
        eprintln!("  took {:.0} s", started.elapsed().as_secs_f64());
    }
    path
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| PathBuf::from(args.get(i).cloned().unwrap_or_default());
    match args.first().map(String::as_str) {
        Some("child-load") => return child_load(&arg(1)),
        Some("child-render") => return child_render(&arg(1), &arg(2)),
        Some("child-render-long") => return child_render_long(&arg(1)),
        Some("child-play-long") => return child_play_long(&arg(1), 20),
        _ => {}
    }
    let load_before = loadavg();
    let dir = scratch();
    let ceremony = root().join("scenes/sex-medicine");
    let ceremony_arg = ceremony.to_string_lossy().into_owned();
    let out = dir.join("ceremony.wav");
    let out_arg = out.to_string_lossy().into_owned();

    eprintln!("rendering the reference ceremony (3 runs)…");
    let ours = best_of(3, || child(&["child-render", &ceremony_arg, &out_arg]));
    let length = Duration::from_secs_f64(ours.audio);
    let sox_out = dir.join("sox.wav");
    let sox_run = |inputs: &[String]| {
        best_of(3, || {
            let (wall, rss) = timed(
                Command::new("sox")
                    .arg("-m")
                    .args(inputs)
                    .args(["-b", "16"])
                    .arg(&sox_out)
                    .args(["trim", "0", &format!("{}", length.as_secs_f64())]),
            );
            Measured {
                audio: length.as_secs_f64(),
                wall,
                rss,
                cpu: f64::NAN,
            }
        })
    };
    let timeline = load(&ceremony);
    let inputs = sox_inputs(&timeline, length, false);
    eprintln!(
        "sox -m over {} inputs, beds decoded once (3 runs)…",
        inputs.len()
    );
    let sox = sox_run(&inputs);
    eprintln!("sox -m, beds decoded every pass (3 runs)…");
    let sox_every = sox_run(&sox_inputs(&timeline, length, true));
    let baseline = child(&["child-load", &ceremony_arg]);

    let long = long_file(&dir);
    let long_arg = long.to_string_lossy().into_owned();
    eprintln!("rendering the 2-hour file offline…");
    let long_render = child(&["child-render-long", &long_arg]);
    eprintln!("playing the 2-hour file through the paced output for 20 s…");
    let long_play = child(&["child-play-long", &long_arg]);
    let (sox_long_wall, sox_long_rss) = timed(Command::new("sox").arg(&long).args([
        "-t",
        "raw",
        "-e",
        "float",
        "-b",
        "32",
        "/dev/null",
    ]));
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(&sox_out);

    let x = |m: &Measured| m.audio / m.wall;
    println!(
        "\nMachine load (1-minute load average, 2 cores): {load_before} before, {} after.",
        loadavg()
    );
    println!("\n## Offline render (`benches/render.rs`)\n");
    println!(
        "The reference ceremony (`scenes/sex-medicine`, manual phases at their minimum times, {}) into a 16-bit WAV on tmpfs; best of 3:\n",
        sanctum::units::format_clock(length)
    );
    println!("| job | wall time | × real time | peak RSS |\n|---|---|---|---|");
    println!(
        "| `sanctum render` ({:.0} % CPU of the 200 % there is) | {:.1} s | {:.0}× | {:.1} MiB |",
        100.0 * ours.cpu / ours.wall,
        ours.wall,
        x(&ours),
        ours.rss
    );
    println!(
        "| `sox -m`, beds decoded once and repeated (`repeat`), {} inputs | {:.1} s | {:.0}× | {:.1} MiB |",
        inputs.len(),
        sox.wall,
        x(&sox),
        sox.rss
    );
    println!(
        "| `sox -m`, beds decoded on every pass (concatenated inputs) | {:.1} s | {:.0}× | {:.1} MiB |",
        sox_every.wall,
        x(&sox_every),
        sox_every.rss
    );
    println!(
        "\nsanctum ÷ sox speed: **{:.2}×** against `repeat`, **{:.2}×** against decoding every pass.\n",
        x(&ours) / x(&sox),
        x(&ours) / x(&sox_every)
    );
    println!("## Memory with a 2-hour file\n");
    println!("| job | peak RSS | note |\n|---|---|---|");
    println!(
        "| load the reference ceremony and build the mixer | {:.1} MiB | baseline |",
        baseline.rss
    );
    println!(
        "| render a 2-hour Ogg (looping: too long for the loop cache) to its end, offline | {:.1} MiB | {:.0}× real time |",
        long_render.rss,
        x(&long_render)
    );
    println!(
        "| play it through the paced output for 20 s | {:.1} MiB | real time |",
        long_play.rss
    );
    println!(
        "| `sox` streaming the same file to /dev/null | {:.1} MiB | {:.0}× real time |",
        sox_long_rss,
        LONG.as_secs_f64() / sox_long_wall
    );
}
