//! Cue timing on the real clock (issue 11): how late each cue fires against its schedule,
//! p50 / p99 / max over 600 cues, against a named floor measured in the same run.
//!
//! sanctum: the room's own wait, as `room::Room::run` does it, on a current-thread tokio
//! runtime as `sanctum run` builds it: the engine's next deadline → `Clock::instant_at` →
//! `tokio::time::sleep_until` → `Clock::now` → `Timeline::advance`, then the events handed to
//! the real outputs (the mixer behind a live, paced `null` output at 48 kHz, and the lights'
//! MQTT output whose bus messages drive a real `LightController`). A cue counts as fired when
//! all its events have been handed over; its lateness is that moment in engine time minus
//! the phase's start plus the cue's offset.
//!
//! Floor: plain `tokio::time::sleep_until` to the same instants on the same runtime, lateness
//! `Instant::now() - instant` (tokio's timer wheel has 1 ms ticks: that is the floor's own
//! granularity, and sanctum's). Ratio = sanctum ÷ floor, per statistic.
//!
//! The cues come every 37 ms (not a multiple of the timer's tick or the mixer's 10 ms block);
//! every cue moves a light, every third changes a layer's gain, every tenth rings a chime
//! (which starts a decoder thread). `cargo bench --bench cue_timing` (about a minute).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sanctum::audio::OutputSpec;
use sanctum::clock::Clock;
use sanctum::command::Command;
use sanctum::lights::controller::LightController;
use sanctum::mqtt::bus::{BusHandle, BusMsg};
use sanctum::mqtt::{MqttOutput, Topics};
use sanctum::run::Output;
use sanctum::sound::Sound;
use sanctum::timeline::{Action, Event, Timeline};
use tokio::time::Instant;

const CUES: usize = 600;
const SPACING_MS: u64 = 37;
const FIRST_MS: u64 = 1_000;

fn write_ceremony(dir: &Path) -> std::path::PathBuf {
    let sounds = dir.join("sounds");
    std::fs::create_dir_all(&sounds).expect("mkdir");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    for (name, frames, hz) in [
        ("bed.wav", 48_000 * 3, 200.0f32),
        ("chime.wav", 12_000, 600.0),
    ] {
        let mut w = hound::WavWriter::create(sounds.join(name), spec).expect("wav");
        for i in 0..frames {
            #[allow(clippy::cast_possible_truncation)]
            let s = (6_000.0 * (std::f32::consts::TAU * hz * i as f32 / 48_000.0).sin()) as i16;
            w.write_sample(s).expect("sample");
            w.write_sample(s).expect("sample");
        }
        w.finalize().expect("finalize");
    }
    let c = dir.join("ceremony");
    std::fs::create_dir_all(&c).expect("mkdir");
    std::fs::write(
        c.join("rig.toml"),
        "room = \"timing\"\n\n[layers.bed]\n\n[lights.altar]\ndriver = \"zigbee2mqtt\"\naddress = \"altar\"\n\n[lights.lamp]\ndriver = \"tasmota\"\naddress = \"lamp\"\n",
    )
    .expect("rig");
    std::fs::write(
        c.join("ceremony.toml"),
        format!(
            "title = \"Timing\"\nsounds = {:?}\n\n[[phase]]\nid = \"only\"\nscene = \"only.toml\"\nafter = \"{}ms\"\n",
            sounds.display().to_string(),
            FIRST_MS + SPACING_MS * CUES as u64 + 1_000
        ),
    )
    .expect("ceremony");
    let mut scene = String::from(
        "[[cue]]\nat = \"0s\"\n[cue.layers.bed]\nfile = \"bed.wav\"\nloop = true\nfade = \"500ms\"\n",
    );
    for k in 0..CUES {
        let at = FIRST_MS + SPACING_MS * k as u64;
        let _ = writeln!(
            scene,
            "\n[[cue]]\nat = \"{at}ms\"\n[cue.lights.{}]\nlevel = 0.{:02}\nfade = \"2s\"",
            ["altar", "lamp"][k % 2],
            10 + k % 80
        );
        if k % 3 == 0 {
            let _ = writeln!(
                scene,
                "[cue.layers.bed]\ngain_db = -{}\nfade = \"1s\"",
                k % 6
            );
        }
        if k % 10 == 0 {
            let _ = writeln!(scene, "[[cue.sounds]]\nfile = \"chime.wav\"\ngain_db = -12");
        }
    }
    std::fs::write(c.join("only.toml"), scene).expect("scene");
    c
}

/// Lateness of every cue, as the room's loop fires them.
async fn sanctum_run(folder: &Path) -> Vec<Duration> {
    let loaded = sanctum::config::load_ceremony(folder, None).expect("the ceremony loads");
    let rig = loaded.rig;
    let mut timeline = Timeline::new(Arc::new(loaded.ceremony), Arc::clone(&rig));
    let mut sound = Sound::open(OutputSpec::Null, &rig).expect("null output");
    let (bus, mut rx) = BusHandle::detached();
    let clock = Clock::start(1.0);
    let mut lights = MqttOutput::new(bus, Topics::new("timing"), clock);
    let mut controller = LightController::new(rig.light_specs(), 1);
    let mut events: Vec<Event> = Vec::new();
    let mut late = Vec::with_capacity(CUES);
    let mut phase_start = Duration::ZERO;
    timeline
        .command(clock.now(), &Command::Start, &mut events)
        .expect("start");
    loop {
        let mut cues = Vec::new();
        for e in events.drain(..) {
            match &e.action {
                Action::PhaseStarted { .. } => phase_start = e.at,
                Action::CueFired { at, .. } if !at.is_zero() => cues.push(phase_start + *at),
                _ => {}
            }
            sound.apply(&e, &timeline);
            lights.apply(&e, &timeline);
        }
        while let Ok(msg) = rx.try_recv() {
            if let BusMsg::Light {
                at,
                index,
                target,
                fade,
                curve,
            } = msg
            {
                let _ = controller.apply(at, index, target, fade, curve);
            }
        }
        let handed_over = clock.now();
        late.extend(cues.iter().map(|s| handed_over.saturating_sub(*s)));
        let _ = controller.poll(handed_over);
        if timeline.is_ended() || late.len() >= CUES {
            break;
        }
        let Some(deadline) = timeline.next_deadline() else {
            break;
        };
        tokio::time::sleep_until(clock.instant_at(deadline)).await;
        timeline.advance(clock.now(), &mut events);
    }
    late
}

/// Lateness of plain `sleep_until` to the same schedule.
async fn floor_run() -> Vec<Duration> {
    let origin = Instant::now();
    let mut late = Vec::with_capacity(CUES);
    for k in 0..CUES {
        let at = origin + Duration::from_millis(FIRST_MS + SPACING_MS * k as u64);
        tokio::time::sleep_until(at).await;
        late.push(Instant::now().saturating_duration_since(at));
    }
    late
}

fn stats(mut v: Vec<Duration>) -> [Duration; 4] {
    v.sort();
    let at = |q: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
        v[i]
    };
    [
        at(0.5),
        at(0.99),
        v[v.len() - 1],
        v.iter().sum::<Duration>() / v.len() as u32,
    ]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = write_ceremony(dir.path());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mine = runtime.block_on(sanctum_run(&folder));
    let floor = runtime.block_on(floor_run());
    assert_eq!(mine.len(), CUES, "every cue fired");
    let s = stats(mine);
    let f = stats(floor);
    println!("cue timing over {CUES} cues, {SPACING_MS} ms apart (lateness against schedule)\n");
    println!("| | p50 | p99 | max | mean |\n|---|---|---|---|---|");
    println!(
        "| sanctum (room loop → mixer + lights) | {} | {} | {} | {} |",
        ms(s[0]),
        ms(s[1]),
        ms(s[2]),
        ms(s[3])
    );
    println!(
        "| floor: tokio `sleep_until` | {} | {} | {} | {} |",
        ms(f[0]),
        ms(f[1]),
        ms(f[2]),
        ms(f[3])
    );
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    println!(
        "| sanctum ÷ floor | {:.2}× | {:.2}× | {:.2}× | {:.2}× |",
        ratio(s[0], f[0]),
        ratio(s[1], f[1]),
        ratio(s[2], f[2]),
        ratio(s[3], f[3])
    );
    let target = Duration::from_millis(5);
    println!(
        "\ntarget p99 <= 5 ms: {}",
        if s[1] <= target { "met" } else { "MISSED" }
    );
}
