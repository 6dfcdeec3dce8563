//! Payloads sanctum publishes about itself: the retained room state (JSON), the retained
//! phase id, and event lines (JSON) for cues, chimes, triggers and errors. Pure: it takes the
//! engine and a wall-clock mapping as parameters; it must not publish, read the clock or
//! decide when to publish.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::run::Request;
use crate::timeline::{Action, EndKind, Event, Mode, Timeline, Trigger};

/// Maps engine time to wall-clock time (the run's [`crate::clock::Clock::wall_at`]).
pub type Wall<'a> = &'a dyn Fn(Duration) -> SystemTime;

/// The retained `sanctum/<room>/state` JSON at engine time `now`.
///
/// Fields: `ceremony`, `ceremony_title`, `mode` (`idle`, `running`, `paused`, `stopping`,
/// `finishing`, `stopped`, `finished`), `phase`, `title`, `index` (0-based), `phases`,
/// `paused`, `volume_db`, `phase_started_at` and `phase_ends_at` (ISO-8601 with
/// offset; `phase_ends_at` is `null` while a phase waits for a trigger or is paused).
#[must_use]
pub fn state_payload(timeline: &Timeline, now: Duration, wall: Wall<'_>) -> String {
    let status = timeline.status(now);
    let ceremony = timeline.ceremony();
    let phase = status.phase.and_then(|i| ceremony.phases.get(i));
    let v = json!({
        "ceremony": ceremony.name,
        "ceremony_title": ceremony.title,
        "mode": mode_name(status.mode),
        "phase": phase.map(|p| p.id.as_str()),
        "title": phase.map(|p| p.title.as_str()),
        "index": status.phase,
        "phases": ceremony.phases.len(),
        "paused": status.mode == Mode::Paused,
        "volume_db": round2(f64::from(status.volume.0)),
        "phase_started_at": status.phase_started_at.map(|t| iso8601(wall(t))),
        "phase_ends_at": status.phase_ends_at.map(|t| iso8601(wall(t))),
    });
    v.to_string()
}

/// The retained `sanctum/<room>/phase` payload: the current phase id, or the mode
/// (`idle`, `stopping`, `finished`…) when no phase runs.
#[must_use]
pub fn phase_payload(timeline: &Timeline, now: Duration) -> String {
    let status = timeline.status(now);
    match status.phase.and_then(|i| timeline.ceremony().phases.get(i)) {
        Some(p) => p.id.clone(),
        None => mode_name(status.mode).to_owned(),
    }
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Idle => "idle",
        Mode::Running => "running",
        Mode::Paused => "paused",
        Mode::Ending(EndKind::Stopped) => "stopping",
        Mode::Ending(EndKind::Finished) => "finishing",
        Mode::Ended(EndKind::Stopped) => "stopped",
        Mode::Ended(EndKind::Finished) => "finished",
    }
}

fn trigger_name(t: Trigger) -> &'static str {
    match t {
        Trigger::Start => "start",
        Trigger::Next => "next",
        Trigger::Prev => "prev",
        Trigger::Goto => "goto",
        Trigger::Auto => "auto",
    }
}

/// The event line for an engine event, if it is one people care about (light and layer
/// moves are not announced; they are many and visible anyway).
#[must_use]
pub fn event_payload(event: &Event, timeline: &Timeline, wall: Wall<'_>) -> Option<String> {
    let at = iso8601(wall(event.at));
    let ceremony = timeline.ceremony();
    let v = match &event.action {
        Action::PhaseStarted {
            index,
            id,
            title,
            trigger,
            ..
        } => json!({"event": "phase", "phase": id, "title": title, "index": index,
                    "trigger": trigger_name(*trigger), "at": at}),
        Action::CueFired {
            phase,
            at: off,
            note,
        } => json!({
            "event": "cue",
            "phase": ceremony.phases.get(*phase).map(|p| p.id.as_str()),
            "offset_s": round2(off.as_secs_f64()),
            "note": note,
            "at": at,
        }),
        Action::OneShot { file, gain } => json!({
            "event": "sound",
            "file": file.file_name().map(|f| f.to_string_lossy().into_owned()),
            "gain_db": round2(f64::from(gain.0)),
            "at": at,
        }),
        Action::Master { gain, .. } => {
            json!({"event": "volume", "volume_db": round2(f64::from(gain.0)), "at": at})
        }
        Action::Paused => json!({"event": "paused", "at": at}),
        Action::Resumed => json!({"event": "resumed", "at": at}),
        Action::Stopping { fade } => {
            json!({"event": "stopping", "fade_s": round2(fade.as_secs_f64()), "at": at})
        }
        Action::Finishing { fade } => {
            json!({"event": "finishing", "fade_s": round2(fade.as_secs_f64()), "at": at})
        }
        Action::Ended(kind) => json!({"event": "ended", "how": match kind {
            EndKind::Stopped => "stopped",
            EndKind::Finished => "finished",
        }, "at": at}),
        Action::Layer { .. } | Action::Light { .. } => return None,
    };
    Some(v.to_string())
}

/// A command arrived from `source` (the trigger source, for the journal and the app).
#[must_use]
pub fn command_event(request: &Request) -> String {
    json!({"event": "command", "command": request.command.to_string(), "source": request.source})
        .to_string()
}

/// The engine ignored a command.
#[must_use]
pub fn ignored_event(request: &Request, why: &str) -> String {
    json!({"event": "ignored", "command": request.command.to_string(),
           "source": request.source, "why": why})
    .to_string()
}

/// A message on `topic` could not be read.
#[must_use]
pub fn error_event(topic: &str, why: &str) -> String {
    json!({"event": "error", "topic": topic, "error": why}).to_string()
}

/// A device (light) could not be driven.
#[must_use]
pub fn device_error_event(device: &str, why: &str) -> String {
    json!({"event": "error", "device": device, "error": why}).to_string()
}

fn round2(v: f64) -> Value {
    json!((v * 100.0).round() / 100.0)
}

/// ISO-8601 with offset, in UTC (`2026-05-01T19:30:00.250+00:00`). Home Assistant's
/// `timestamp` sensors accept any offset and show local time themselves.
#[must_use]
pub fn iso8601(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, day) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_iso8601_with_offset() {
        let t = UNIX_EPOCH + Duration::from_millis(1_777_663_800_250);
        assert_eq!(iso8601(t), "2026-05-01T19:30:00.250+00:00");
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000+00:00");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(iso8601(leap), "2000-02-29T00:00:00.000+00:00");
    }

    #[test]
    fn state_follows_the_engine() {
        use std::sync::Arc;

        use crate::command::Command;
        use crate::timeline::Timeline;

        let loaded =
            crate::config::load_ceremony(std::path::Path::new("tests/fixtures/mqtt"), None)
                .expect("fixture loads");
        let mut tl = Timeline::new(Arc::new(loaded.ceremony), loaded.rig);
        let wall = |t: Duration| UNIX_EPOCH + Duration::from_secs(1_777_663_800) + t;
        let idle: Value =
            serde_json::from_str(&state_payload(&tl, Duration::ZERO, &wall)).expect("json");
        assert_eq!(idle["mode"], "idle");
        assert!(idle["phase"].is_null());
        assert_eq!(phase_payload(&tl, Duration::ZERO), "idle");
        let mut events = Vec::new();
        tl.command(Duration::ZERO, &Command::Start, &mut events)
            .expect("start");
        tl.command(Duration::from_secs(5), &Command::Next, &mut events)
            .expect("next");
        let now = Duration::from_secs(6);
        let v: Value = serde_json::from_str(&state_payload(&tl, now, &wall)).expect("json");
        assert_eq!(v["ceremony"], "mqtt");
        assert_eq!(v["phase"], "two");
        assert_eq!(v["title"], "Two");
        assert_eq!(v["index"], 1);
        assert_eq!(v["phases"], 4);
        assert_eq!(v["paused"], false);
        assert_eq!(v["mode"], "running");
        assert_eq!(v["phase_started_at"], "2026-05-01T19:30:05.000+00:00");
        assert!(v["phase_ends_at"].is_null(), "manual phases have no end");
        assert_eq!(phase_payload(&tl, now), "two");
        tl.command(now, &Command::Pause, &mut events)
            .expect("pause");
        let v: Value = serde_json::from_str(&state_payload(&tl, now, &wall)).expect("json");
        assert_eq!(
            (v["paused"].clone(), v["mode"].clone()),
            (json!(true), json!("paused"))
        );
        let lines: Vec<Value> = events
            .iter()
            .filter_map(|e| event_payload(e, &tl, &wall))
            .map(|l| serde_json::from_str(&l).expect("json line"))
            .collect();
        assert!(
            lines
                .iter()
                .any(|l| l["event"] == "phase" && l["trigger"] == "next")
        );
        assert!(lines.iter().any(|l| l["event"] == "paused"));
        assert!(lines.iter().all(|l| l["event"] != "light"));
    }

    #[test]
    fn event_lines_are_json() {
        let req = Request {
            command: crate::command::Command::Goto("soaking".into()),
            source: "remote:button:single".into(),
        };
        let v: Value = serde_json::from_str(&command_event(&req)).expect("json");
        assert_eq!(v["command"], "goto soaking");
        assert_eq!(v["source"], "remote:button:single");
        let v: Value = serde_json::from_str(&error_event("t", "bad \"x\"")).expect("json");
        assert_eq!(v["error"], "bad \"x\"");
    }
}
