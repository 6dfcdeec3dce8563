//! Human-readable lines for what the engine does, for the terminal running `sanctum run`.
//! Pure formatting: it neither decides nor performs anything.

use std::path::Path;

use crate::lights::target::{Effect, LightColor, LightTarget};
use crate::model::{Ceremony, Rig};
use crate::timeline::{Action, EndKind, Event, LayerChange, Trigger};
use crate::units::{format_clock, format_duration};

/// Formats one event as one or more lines, prefixed with its engine time.
#[must_use]
pub fn describe(event: &Event, ceremony: &Ceremony, rig: &Rig) -> String {
    let time = format_clock(event.at);
    let pad = " ".repeat(time.len());
    match &event.action {
        Action::PhaseStarted {
            index,
            id,
            title,
            trigger,
            ends_at,
        } => {
            let how = match ends_at {
                Some(end) => format!(
                    "moves on after {}",
                    format_duration(end.saturating_sub(event.at))
                ),
                None => "waits for next".to_owned(),
            };
            let why = match trigger {
                Trigger::Start => "start",
                Trigger::Next => "next",
                Trigger::Prev => "prev",
                Trigger::Goto => "goto",
                Trigger::Auto => "time",
                Trigger::Resume => "resume after a restart",
            };
            let mut text = format!(
                "{time}  ▶ phase {}/{} {id}: {title} ({how}; by {why})",
                index + 1,
                ceremony.phases.len()
            );
            if let Some(g) = &ceremony.phases[*index].guidance {
                text.push_str(&format!("\n{pad}    {g}"));
            }
            text
        }
        Action::CueFired { at, note, .. } => match note {
            Some(n) => format!("{time}  ✎ {n}"),
            None => format!("{time}  · cue at {}", format_duration(*at)),
        },
        Action::Layer { layer, change } => {
            let name = &rig.layers[*layer].name;
            let what = match change {
                LayerChange::Play {
                    source,
                    gain,
                    fade,
                    curve,
                } => {
                    let files: Vec<String> = source.files.iter().map(|f| file_name(f)).collect();
                    let looping = if source.looping { " (loop)" } else { "" };
                    let list = if files.len() > 1 {
                        format!(
                            "playlist {}{looping}, tracks crossfade {}",
                            files.join(" → "),
                            format_duration(source.crossfade)
                        )
                    } else {
                        format!("{}{looping}", files.join(""))
                    };
                    format!(
                        "play {list} at {gain}, crossfade {} {}",
                        format_duration(*fade),
                        curve.name()
                    )
                }
                LayerChange::Gain { gain, fade, curve } => {
                    format!("to {gain} over {} {}", format_duration(*fade), curve.name())
                }
                LayerChange::Stop { fade, curve } => {
                    format!("fade out over {} {}", format_duration(*fade), curve.name())
                }
            };
            format!("{time}  ♫ {name:<9} {what}")
        }
        Action::OneShot { file, gain } => format!("{time}  ♪ {} at {gain}", file_name(file)),
        Action::Light {
            light,
            target,
            fade,
            curve,
        } => format!(
            "{time}  ☼ {:<9} {} over {} {}",
            rig.lights[*light].name,
            light_text(target),
            format_duration(*fade),
            curve.name()
        ),
        Action::Master { gain, fade } => format!(
            "{time}  ♫ master    to {gain} over {}",
            format_duration(*fade)
        ),
        Action::Paused => format!("{time}  ⏸ paused: every wait and fade is held"),
        Action::Resumed => format!("{time}  ⏵ resumed"),
        Action::Stopping { fade } => format!(
            "{time}  ■ stopping gently: safe light and silence over {}",
            format_duration(*fade)
        ),
        Action::Finishing { fade } => format!(
            "{time}  ■ the ceremony closes: darkness and silence over {}",
            format_duration(*fade)
        ),
        Action::Ended(kind) => match kind {
            EndKind::Stopped => format!("{time}  ■ stopped"),
            EndKind::Finished => format!("{time}  ■ finished: {}", ceremony.title),
        },
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// A light target in words: `35% 2400 K candle`.
#[must_use]
pub fn light_text(t: &LightTarget) -> String {
    let mut text = if t.level <= 0.0 {
        "off".to_owned()
    } else {
        format!("{:.0}%", t.level * 100.0)
    };
    match t.color {
        Some(LightColor::Kelvin(k)) => text.push_str(&format!(" {k} K")),
        Some(LightColor::Rgb([r, g, b])) => text.push_str(&format!(" #{r:02x}{g:02x}{b:02x}")),
        None => {}
    }
    match t.effect {
        Effect::None => {}
        Effect::Candle { depth, interval } => text.push_str(&format!(
            " candle ±{:.0}% every ~{}",
            depth * 100.0,
            format_duration(interval)
        )),
        Effect::Breathe { per_minute, depth } => {
            text.push_str(&format!(" breathe {per_minute}/min ±{:.0}%", depth * 100.0))
        }
    }
    text
}
