//! What each subcommand does, wired from the library's parts. Returns exit codes and typed
//! errors; printing to the terminal happens here, argument parsing does not. `run` and
//! `daemon` (one room each) live in `app/ceremony.rs`.

mod ceremony;
mod journal;
mod remote;

pub use ceremony::{daemon, run};
pub use journal::journal;
pub use remote::remote;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::cli::NetArgs;
use crate::clock::Clock;
use crate::command::Command;
use crate::config;
use crate::lights::controller::LightController;
use crate::lights::{LightTarget, Publish};
use crate::model::{MqttSettings, Rig};
use crate::mqtt::bus::BusMsg;
use crate::mqtt::client::{self, ClientError};
use crate::mqtt::{Broker, Bus, BusConfig, ConnectionError, Router, Topics, state};
use crate::render::{self, ManualAfter};
use crate::room::setup::{OpenError, seed};
use crate::settings::{self, Settings, SettingsError};
use crate::timeline::Timeline;
use crate::tween::Curve;
use crate::units::format_clock;

/// Why a subcommand failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The ceremony or its rig has problems (already printed).
    #[error("failed to load the ceremony: {0} problem(s), listed above")]
    Invalid(usize),
    /// `--from` named a phase the ceremony does not have.
    #[error("failed to start: the ceremony has no phase `{id}`; its phases are {known}")]
    UnknownPhase {
        /// The id asked for.
        id: String,
        /// The ceremony's phase ids.
        known: String,
    },
    /// The room could not open.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The config file is missing or has problems.
    #[error(transparent)]
    Settings(SettingsError),
    /// The library folder cannot be read.
    #[error(transparent)]
    Library(crate::library::LibraryError),
    /// A journal entry cannot be found, read or edited.
    #[error("{0}")]
    Journal(String),
    /// `daemon` without a library.
    #[error("failed to find the library: give --library DIR, or `library = \"DIR\"` in the config")]
    NoLibrary,
    /// `status` found the room offline.
    #[error("room `{room}` is offline{last}")]
    Offline {
        /// The room.
        room: String,
        /// Which instance was last seen, if known.
        last: String,
    },
    /// The audio output could not start.
    #[error(transparent)]
    Sound(#[from] crate::sound::SoundError),
    /// The async runtime or the signal handlers could not start.
    #[error("failed to start the runtime: {0}")]
    Runtime(#[from] std::io::Error),
    /// The MQTT connection could not be set up (credentials, TLS, URL).
    #[error(transparent)]
    Mqtt(#[from] ConnectionError),
    /// A one-shot MQTT client failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// `send`, `status` or `lights test` without a broker.
    #[error("failed to reach sanctum: no broker in the rig and no --broker given")]
    NoBroker,
    /// No rig file was found or given.
    #[error(
        "failed to find a rig: give --rig FILE, set `rig` in the config, or give --broker and --room"
    )]
    NoRig,
    /// The rig has no light by that name.
    #[error("failed to test light `{name}`: the rig has no such light; it has {known}")]
    UnknownLight {
        /// Name asked for.
        name: String,
        /// The rig's lights.
        known: String,
    },
    /// The command text cannot be read.
    #[error("failed to read the command: {0}")]
    Command(#[from] crate::command::CommandError),
    /// The broker never answered.
    #[error("failed to connect to the broker at {0} within 5 s")]
    NotConnected(String),
    /// `sanctum remote` without an address.
    #[error(
        "the phone page is off: set `[remote] listen = \"0.0.0.0:8787\"` in the config, or give --remote ADDR"
    )]
    RemoteOff,
    /// The phone page's tokens could not be read.
    #[error(transparent)]
    Remote(crate::web::WebError),
    /// `lights test` while a ceremony runs in the room.
    #[error(transparent)]
    Busy(#[from] crate::guard::RoomBusy),
    /// The render could not write its file or the ceremony would not move on.
    #[error(transparent)]
    Render(#[from] render::RenderError),
}

/// `sanctum check`: prints every problem, then a summary; exit 1 on any problem.
#[must_use]
pub fn check(paths: &[PathBuf], rig: Option<&Path>) -> ExitCode {
    let started = Instant::now();
    let report = config::check(paths, rig);
    let elapsed = started.elapsed();
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    for d in report.diags.sorted() {
        let _ = writeln!(err, "{d}\n");
    }
    if report.diags.is_empty() {
        println!(
            "ok: {} file(s), {} sound file(s), {} ceremony(ies) checked in {:.1} ms",
            report.files,
            report.sounds,
            report.ceremonies,
            elapsed.as_secs_f64() * 1000.0
        );
        ExitCode::SUCCESS
    } else {
        let _ = writeln!(
            err,
            "{} problem(s) in {} file(s) checked",
            report.diags.len(),
            report.files
        );
        ExitCode::FAILURE
    }
}

/// Loads a ceremony (printing its problems) and readies its engine, at `from` if given.
fn load_timeline(
    ceremony: &Path,
    rig: Option<&Path>,
    from: Option<&str>,
) -> Result<Timeline, AppError> {
    let loaded = match config::load_ceremony(ceremony, rig) {
        Ok(loaded) => loaded,
        Err(diags) => {
            eprint!("{diags}");
            return Err(AppError::Invalid(diags.len()));
        }
    };
    let mut timeline = Timeline::new(Arc::new(loaded.ceremony), loaded.rig);
    if let Some(id) = from {
        let known = timeline.ceremony().phase_list();
        timeline
            .start_from(id)
            .map_err(|id| AppError::UnknownPhase { id, known })?;
    }
    Ok(timeline)
}

/// Where and how `sanctum render` writes.
#[derive(Debug, Clone, Copy)]
pub struct RenderJob<'a> {
    /// The WAV file.
    pub out: &'a Path,
    /// How long manual phases last.
    pub manual_after: ManualAfter,
    /// Sample rate.
    pub rate: u32,
    /// 32-bit float instead of dithered 16-bit PCM.
    pub float: bool,
}

/// `sanctum render`: plays the ceremony on virtual time into a WAV file, with a progress bar.
///
/// # Errors
/// Fails when the ceremony does not load, `--from` is wrong, or the file cannot be written.
pub fn render(
    ceremony: &Path,
    from: Option<&str>,
    rig: Option<&Path>,
    job: &RenderJob<'_>,
) -> Result<(), AppError> {
    let timeline = load_timeline(ceremony, rig, from)?;
    render_timeline(timeline, ceremony, job)
}

/// Renders a loaded ceremony into `job.out`, printing the plan, a progress bar and a summary.
pub(crate) fn render_timeline(
    mut timeline: Timeline,
    ceremony: &Path,
    job: &RenderJob<'_>,
) -> Result<(), AppError> {
    use crate::audio::{AudioBackend, WavBackend, WavFormat};
    use crate::sound::Player;

    let policy = job.manual_after;
    let plan = render::plan(&timeline, policy)?;
    let format = if job.float {
        WavFormat::Float32
    } else {
        WavFormat::Pcm16
    };
    println!(
        "rendering {} ({}) to {}: {} at {} Hz, {}; manual phases: {policy}",
        timeline.ceremony().title,
        ceremony.display(),
        job.out.display(),
        format_clock(plan.length),
        job.rate,
        if job.float { "32-bit float" } else { "16-bit" },
    );
    for line in render::describe(timeline.ceremony(), &plan) {
        println!("{line}");
    }
    let (mut player, processor) = Player::build(timeline.rig(), job.rate);
    let mut wav = WavBackend::new(job.out, job.rate).with_format(format);
    wav.start(processor).map_err(render::RenderError::from)?;
    let bar = progress_bar(plan.length);
    let stopwatch = Clock::start(1.0);
    let rendered = render::render(
        &mut timeline,
        policy,
        &mut wav,
        &mut [&mut player],
        &mut |at| {
            bar.set_position(u64::try_from(at.as_millis()).unwrap_or(u64::MAX));
            bar.set_message(format!(
                "{} of {}  ",
                format_clock(at),
                format_clock(plan.length)
            ));
        },
    );
    bar.finish_and_clear();
    // Only a whole render replaces the file; a failed one leaves the old file as it was.
    let length = match rendered {
        Ok(length) => length,
        Err(e) => {
            wav.abandon();
            return Err(e.into());
        }
    };
    wav.stop().map_err(render::RenderError::from)?;
    let took = stopwatch.now();
    println!(
        "wrote {}: {} of audio in {:.1} s ({:.0}× real time)",
        job.out.display(),
        format_clock(length),
        took.as_secs_f64(),
        length.as_secs_f64() / took.as_secs_f64().max(1e-6),
    );
    Ok(())
}

/// A progress bar over the ceremony's length in milliseconds, drawn on stderr only when it is
/// a terminal.
fn progress_bar(length: Duration) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(u64::try_from(length.as_millis()).unwrap_or(u64::MAX));
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{wide_bar}] {percent:>3}%  {msg}eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The rig for `send`, `status` and `lights test`: `--rig`, else the config's rig, else the
/// nearest rig.toml, else (with `--broker` and `--room`) none.
fn net_rig(net: &NetArgs, config_file: &Settings) -> Result<Option<Arc<Rig>>, AppError> {
    let path = net
        .rig
        .clone()
        .or_else(|| config_file.rig.clone())
        .or_else(|| config::find_rig(Path::new(".")));
    let Some(path) = path else {
        return if net.broker.is_some() && net.room.is_some() {
            Ok(None)
        } else {
            Err(AppError::NoRig)
        };
    };
    let mut loader = config::Loader::new();
    match loader.rig(&path) {
        Some(rig) if loader.diags.is_empty() => Ok(Some(rig)),
        _ => {
            crate::console::warn(&loader.diags.to_string());
            Err(AppError::Invalid(loader.diags.len()))
        }
    }
}

/// Broker, room and settings for the one-shot clients, found as the daemon finds them:
/// flags, then the config, then the rig.
fn net_target(net: &NetArgs) -> Result<(Broker, String, MqttSettings), AppError> {
    if net.no_mqtt {
        return Err(AppError::NoBroker);
    }
    let config_file =
        Settings::find(net.config.as_deref(), &settings::real_env).map_err(AppError::Settings)?;
    let rig = net_rig(net, &config_file)?;
    let broker = ceremony::broker(
        false,
        net.broker.as_ref(),
        config_file.broker.as_ref(),
        rig.as_deref(),
    )?
    .ok_or(AppError::NoBroker)?;
    let room = net
        .room
        .clone()
        .or_else(|| config_file.room.clone())
        .or_else(|| rig.as_ref().map(|r| r.room.clone()))
        .ok_or(AppError::NoRig)?;
    let settings = rig.map(|r| r.mqtt.clone()).unwrap_or_default();
    Ok((broker, room, settings))
}

fn current_thread() -> Result<tokio::runtime::Runtime, AppError> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// `sanctum send`: publishes one command on the room's (or every room's) command topic.
///
/// # Errors
/// Fails when the command cannot be read, or the broker cannot be reached or refuses us.
pub fn send(words: &[String], all: bool, net: &NetArgs) -> Result<(), AppError> {
    let text = words.join(" ");
    let command = Command::parse(&text)?;
    let (broker, room, settings) = net_target(net)?;
    let topics = Topics::new(&room);
    let topic = if all { topics.all_cmd } else { topics.cmd };
    let text = command.to_string();
    // JSON, so that the room knows (for its journal) that it came from the command line.
    let payload = serde_json::json!({"cmd": text, "source": "cli"}).to_string();
    current_thread()?.block_on(client::send(
        &broker,
        &settings,
        &topic,
        &payload,
        Duration::from_secs(5),
    ))?;
    crate::console::say(&format!("sent `{text}` to {topic}"));
    Ok(())
}

/// `sanctum status`: prints the room's retained state, if the room is online.
///
/// # Errors
/// Fails when the broker cannot be reached, the room is offline, or nothing is retained.
pub fn status(net: &NetArgs) -> Result<(), AppError> {
    let (broker, room, settings) = net_target(net)?;
    let topics = Topics::new(&room);
    let within = Duration::from_secs(3);
    let (availability, state) = current_thread()?.block_on(async {
        let availability =
            client::peek_retained(&broker, &settings, &topics.status, within).await?;
        let state = client::peek_retained(&broker, &settings, &topics.state, within).await?;
        Ok::<_, ClientError>((availability, state))
    })?;
    let seen = availability
        .as_deref()
        .and_then(|a| state::read_status(a.as_bytes()));
    match &seen {
        Some(a) if a.online => {}
        _ => {
            let last = seen
                .and_then(|a| Some(format!(" (last: pid {} on {})", a.pid?, a.host?)))
                .unwrap_or_default();
            return Err(AppError::Offline { room, last });
        }
    }
    let state = state.ok_or_else(|| ClientError::NoState(topics.state.clone()))?;
    let text = match serde_json::from_str::<serde_json::Value>(&state) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_else(|_| state.clone()),
        Err(_) => state,
    };
    crate::console::say(&text);
    Ok(())
}

/// `sanctum lights test <light>`: a short visible fade (3 s there, 3 s back) on one light.
///
/// # Errors
/// Fails without a rig or broker, for an unknown light, or when the broker cannot be reached.
pub fn lights_test(light: &str, net: &NetArgs, force: bool) -> Result<(), AppError> {
    let config_file =
        Settings::find(net.config.as_deref(), &settings::real_env).map_err(AppError::Settings)?;
    let rig = net_rig(net, &config_file)?.ok_or(AppError::NoRig)?;
    let index = rig
        .lights
        .iter()
        .position(|l| l.name == light)
        .ok_or_else(|| AppError::UnknownLight {
            name: light.to_owned(),
            known: rig
                .lights
                .iter()
                .map(|l| format!("`{}`", l.name))
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let (broker, room, settings) = net_target(net)?;
    let topics = Topics::new(&room);
    let config = BusConfig {
        broker,
        client_id: format!("sanctum-lights-{}", std::process::id()),
        settings,
        router: Router::deaf(topics.clone()),
        topics,
        discovery: Vec::new(),
        instance: None,
        trouble: None,
    };
    let broker = config.broker.to_string();
    let specs = rig.light_specs();
    let (status, state) = current_thread()?.block_on(crate::guard::room(
        &config.broker,
        &config.settings,
        &config.topics,
    ));
    crate::guard::allow(
        light,
        &config.topics.room,
        status.as_deref(),
        state.as_deref(),
        force,
    )?;
    // Forced on a running ceremony's light: go there, then hand it back to the room, which
    // glides it to the ceremony's current state (the `relight` command).
    let borrowed = crate::guard::busy_mode(status.as_deref(), state.as_deref()).is_some();
    let cmd_topic = config.topics.cmd.clone();
    current_thread()?.block_on(async {
        let clock = Clock::start(1.0);
        let (tx, _rx) = mpsc::channel(1);
        let mut bus = Bus::start(config, LightController::new(specs, seed()), clock, tx)?;
        if !bus.connected(Duration::from_secs(5)).await {
            bus.shutdown(Duration::from_millis(200)).await;
            return Err(AppError::NotConnected(broker));
        }
        if borrowed {
            crate::console::say(&format!(
                "fading `{light}` up (3 s), then handing it back to the ceremony…"
            ));
            let leg = Duration::from_secs(3);
            bus.handle().send(BusMsg::Light {
                at: clock.now(),
                index,
                target: LightTarget::level(crate::lights::controller::RELIGHT_FROM),
                fade: leg,
                curve: Curve::SCurve,
            });
            tokio::time::sleep(leg + Duration::from_millis(200)).await;
            bus.handle().send(BusMsg::Publish(Publish {
                topic: cmd_topic,
                payload: format!("relight {light}"),
                retain: false,
            }));
        } else {
            crate::console::say(&format!("fading `{light}` there and back (6 s)…"));
            bus.handle().send(BusMsg::TestFade(index));
            tokio::time::sleep(Duration::from_millis(6_500)).await;
        }
        let stats = bus.shutdown(Duration::from_secs(2)).await;
        crate::console::say(&format!(
            "done: {} light message(s) sent",
            stats.light_messages
        ));
        Ok(())
    })
}

/// Sends `tracing` output to stderr; `SANCTUM_LOG` = error, warn, info (default), debug or
/// trace.
pub fn init_logging() {
    let level = match std::env::var("SANCTUM_LOG").as_deref() {
        Ok("error") => tracing::Level::ERROR,
        Ok("warn") => tracing::Level::WARN,
        Ok("debug") => tracing::Level::DEBUG,
        Ok("trace") => tracing::Level::TRACE,
        _ => tracing::Level::INFO,
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// `sanctum devices`: lists the sound-card outputs (hosts, devices, default configs, or why a
/// device cannot be opened) and the outputs that need no sound card, each named as `--output`
/// takes it. Never fails; a closed stdout just ends the listing.
#[must_use]
pub fn devices() -> ExitCode {
    let mut text = String::new();
    sound_cards(&mut text);
    text.push_str("\nOutputs without a sound card:\n");
    for (name, what) in crate::audio::backend::VIRTUAL_OUTPUTS {
        text.push_str(&format!("  {name:<13} {what}\n"));
    }
    text.push_str(
        "\nPick one with `sanctum run <ceremony> --output <name>`, or `output = \"<name>\"` under [audio] in the rig.\n",
    );
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitCode::SUCCESS
}

#[cfg(feature = "cpal")]
fn sound_cards(text: &mut String) {
    use crate::audio::backend::cpal::survey;
    let hosts = survey();
    if hosts.is_empty() {
        text.push_str("Sound cards: cpal knows no audio host on this system.\n");
    }
    let mut usable = false;
    for host in hosts {
        let note = if host.selectable {
            ""
        } else {
            " (not selectable: sanctum opens the default host's devices only)"
        };
        text.push_str(&format!("Sound cards, host {}{note}:\n", host.name));
        let devices = match host.devices {
            Ok(devices) => devices,
            Err(why) => {
                text.push_str(&format!("  unavailable: {why}\n"));
                continue;
            }
        };
        if devices.is_empty() {
            text.push_str("  no output devices\n");
        }
        for d in devices {
            let mark = if d.default { " [default]" } else { "" };
            text.push_str(&format!("  {}  {}{mark}\n", d.name, d.description));
            match d.config {
                Ok(c) => {
                    usable |= host.selectable;
                    let buffer = c
                        .buffer
                        .map(|(lo, hi)| format!(", buffer {lo}–{hi} frames"))
                        .unwrap_or_default();
                    text.push_str(&format!(
                        "      {} Hz, {} ch, {}{buffer}\n",
                        c.rate, c.channels, c.format
                    ));
                }
                Err(why) => text.push_str(&format!("      unavailable: {why}\n")),
            }
        }
        if host.hidden_null > 0 {
            text.push_str(
                "  (ALSA's `null` PCM is not listed: it takes audio as fast as it comes and busy-spins a core; use sanctum's paced `null` below)\n",
            );
        }
    }
    if !usable {
        text.push_str(
            "No sound card opens here: use `null`, `wav:<path>` or `pipe:<path>` below.\n",
        );
    }
}

#[cfg(not(feature = "cpal"))]
fn sound_cards(text: &mut String) {
    text.push_str(
        "Sound cards: none in this build (built without the `cpal` feature; rebuild with `--features cpal`, which needs libasound2-dev).\n",
    );
}
