//! `sanctum run` and `sanctum daemon`: both open one room (see [`crate::room`]); `run`
//! starts its ceremony at once and ends with it, `daemon` waits for `start <ceremony>`.
//! This file only turns arguments and the config into a [`RoomSpec`] and reports the end.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use super::AppError;
use crate::audio::OutputSpec;
use crate::cli::{DaemonArgs, KeepArgs, NetArgs};
use crate::config;
use crate::library::{Library, LibraryError};
use crate::mqtt::{Broker, ConnectionError};
use crate::render::ManualAfter;
use crate::room::setup::{self, RoomSpec};
use crate::room::{Exit, Plan};
use crate::settings::{self, Settings};
use crate::sound::SoundError;
use crate::web::RemoteSpec;

/// `sanctum run`: a room that starts `ceremony` at once and ends with it.
///
/// # Errors
/// Fails when the ceremony does not load, `--from` is unknown, another instance runs the
/// room, the output cannot open, or the runtime cannot start.
pub fn run(
    ceremony: &Path,
    from: Option<&str>,
    speed: f64,
    output: Option<&str>,
    remote: Option<SocketAddr>,
    net: &NetArgs,
    keep: &KeepArgs,
) -> Result<Exit, AppError> {
    let loaded = match config::load_ceremony(ceremony, net.rig.as_deref()) {
        Ok(loaded) => loaded,
        Err(diags) => {
            crate::console::warn(&diags.to_string());
            return Err(AppError::Invalid(diags.len()));
        }
    };
    if let Some(id) = from
        && loaded.ceremony.phase_index(id).is_none()
    {
        return Err(AppError::UnknownPhase {
            id: id.to_owned(),
            known: loaded.ceremony.phase_list(),
        });
    }
    let spec = output_spec(output, &loaded.rig)?;
    if let OutputSpec::Wav(path) = &spec {
        crate::console::say(
            "`wav:` renders offline, on virtual time (as `sanctum render --float`, manual phases at their minimum times)",
        );
        let job = super::RenderJob {
            out: path,
            manual_after: ManualAfter::Min,
            rate: 48_000,
            float: true,
        };
        let mut timeline = crate::timeline::Timeline::new(Arc::new(loaded.ceremony), loaded.rig);
        if let Some(id) = from {
            timeline
                .start_from(id)
                .map_err(|id| AppError::UnknownPhase {
                    id,
                    known: String::new(),
                })?;
        }
        return super::render_timeline(timeline, ceremony, &job).map(|()| Exit::Done);
    }
    let settings =
        Settings::find(net.config.as_deref(), &settings::real_env).map_err(settings_error)?;
    let rig = Arc::clone(&loaded.rig);
    let library = Library::single(Arc::new(loaded.ceremony), Arc::clone(&rig));
    let id = library.entries()[0].id.clone();
    let room_spec = RoomSpec {
        plan: Plan::Once {
            ceremony: id,
            from: from.map(str::to_owned),
        },
        library,
        reload: None,
        speed,
        output: spec,
        broker: broker(net.no_mqtt, net.broker.as_ref(), None, Some(&rig))?,
        room: net.room.clone().unwrap_or_else(|| rig.room.clone()),
        state_dir: Some(settings::state_dir(
            keep.state_dir.as_deref(),
            &settings,
            &settings::real_env,
        )),
        fresh: keep.fresh,
        resume_within: settings.resume_within,
        force: keep.force,
        terminal: true,
        remote: remote_spec(remote, &settings),
    };
    open_and_run(room_spec)
}

/// `sanctum daemon`: a room that waits for `start <ceremony>`, for as long as it lives.
///
/// # Errors
/// Fails when the config, rig or library folder cannot be read, another instance runs the
/// room, the output cannot open, or the runtime cannot start.
pub fn daemon(args: &DaemonArgs) -> Result<Exit, AppError> {
    let settings =
        Settings::find(args.config.as_deref(), &settings::real_env).map_err(settings_error)?;
    if let Some(path) = &settings.path {
        tracing::info!("config: {}", path.display());
    }
    let library_dir = args
        .library
        .clone()
        .or_else(|| settings.library.clone())
        .ok_or(AppError::NoLibrary)?;
    let rig_path = args
        .rig
        .clone()
        .or_else(|| settings.rig.clone())
        .or_else(|| config::find_rig(&library_dir))
        .ok_or(AppError::NoRig)?;
    let report = match Library::load(&library_dir, &rig_path) {
        Ok(report) => report,
        Err(LibraryError::Rig(_, diags)) => {
            crate::console::warn(&diags.to_string());
            return Err(AppError::Invalid(diags.len()));
        }
        Err(err) => return Err(AppError::Library(err)),
    };
    for (id, diags) in &report.failed {
        crate::console::warn(&diags.to_string());
        tracing::error!(
            "`{id}` has problems (listed above); it is not offered until they are fixed"
        );
    }
    for (folder, own) in &report.other_rig {
        tracing::info!(
            "{} runs on its own rig ({}), not this room's; not offered",
            folder.display(),
            own.display()
        );
    }
    let rig = Arc::clone(&report.library.rig);
    tracing::info!(
        "library {}: {}",
        library_dir.display(),
        report.library.ids().join(", ")
    );
    let output = output_spec(
        args.output
            .as_ref()
            .or(settings.output.as_ref())
            .map(String::as_str),
        &rig,
    )?;
    if matches!(output, OutputSpec::Wav(_)) {
        return Err(AppError::Sound(SoundError::WavOnRealClock));
    }
    let spec = RoomSpec {
        plan: Plan::Daemon,
        library: report.library,
        reload: Some((library_dir, rig_path)),
        speed: 1.0,
        output,
        broker: broker(
            false,
            args.broker.as_ref(),
            settings.broker.as_ref(),
            Some(&rig),
        )?,
        room: args
            .room
            .clone()
            .or_else(|| settings.room.clone())
            .unwrap_or_else(|| rig.room.clone()),
        state_dir: Some(settings::state_dir(
            args.keep.state_dir.as_deref(),
            &settings,
            &settings::real_env,
        )),
        fresh: args.keep.fresh,
        resume_within: settings.resume_within,
        force: args.keep.force,
        terminal: false,
        remote: remote_spec(args.phone.remote, &settings),
    };
    open_and_run(spec)
}

/// The broker: none with `--no-mqtt`, else the flag's, the config file's or the rig's (read
/// when the rig was). `run`, `daemon` and the one-shot clients find it this way.
pub(super) fn broker(
    off: bool,
    flag: Option<&String>,
    config: Option<&String>,
    rig: Option<&crate::model::Rig>,
) -> Result<Option<Broker>, AppError> {
    if off {
        return Ok(None);
    }
    match flag.or(config) {
        Some(url) => Ok(Some(Broker::parse(url).map_err(ConnectionError::from)?)),
        None => Ok(rig.and_then(|r| r.broker.clone())),
    }
}

/// The audio output: the flag's (or the config file's) as written, else the rig's (read when
/// the rig was).
fn output_spec(flag: Option<&str>, rig: &crate::model::Rig) -> Result<OutputSpec, AppError> {
    match flag {
        Some(text) => Ok(OutputSpec::parse(text).map_err(|e| SoundError::Spec(e.into()))?),
        None => Ok(rig.audio.output.clone()),
    }
}

/// The phone page: `--remote` wins over the config's `[remote] listen` (keeping its
/// `view_token`); off when neither names an address.
pub(crate) fn remote_spec(flag: Option<SocketAddr>, settings: &Settings) -> Option<RemoteSpec> {
    match flag {
        Some(listen) => Some(RemoteSpec {
            listen,
            view_token: settings.remote.as_ref().is_some_and(|r| r.view_token),
        }),
        None => settings.remote.clone(),
    }
}

pub(crate) fn settings_error(err: settings::SettingsError) -> AppError {
    if let settings::SettingsError::Invalid(diags) = &err {
        crate::console::warn(&diags.to_string());
    }
    AppError::Settings(err)
}

fn open_and_run(spec: RoomSpec) -> Result<Exit, AppError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let opened = setup::open(spec).await?;
        let exit = opened
            .room
            .run(
                opened.requests,
                opened.signals,
                opened.edits,
                opened.trouble,
            )
            .await;
        drop(opened.watcher);
        Ok::<Exit, AppError>(exit)
    });
    // The terminal reader blocks on stdin in a thread of its own; do not wait for it.
    runtime.shutdown_background();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_turns_the_page_on_and_wins_over_the_config_address() {
        let off = Settings::default();
        assert_eq!(remote_spec(None, &off), None, "off by default");
        let flag: SocketAddr = "127.0.0.1:9000".parse().expect("addr");
        assert_eq!(
            remote_spec(Some(flag), &off),
            Some(RemoteSpec {
                listen: flag,
                view_token: false
            })
        );
        let config = Settings {
            remote: Some(RemoteSpec {
                listen: "0.0.0.0:8787".parse().expect("addr"),
                view_token: true,
            }),
            ..Settings::default()
        };
        assert_eq!(remote_spec(None, &config), config.remote);
        assert_eq!(
            remote_spec(Some(flag), &config),
            Some(RemoteSpec {
                listen: flag,
                view_token: true
            }),
            "the flag moves the page, the config's view token stays"
        );
    }
}
