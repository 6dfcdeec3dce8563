//! Payloads sanctum publishes about itself: the retained room state (JSON), the retained
//! phase id, and event lines (JSON) for cues, chimes, triggers and errors. Pure: it takes the
//! engine and a wall-clock mapping as parameters; it must not publish, read the clock or
//! decide when to publish.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::instance::Instance;
use crate::run::Request;
use crate::timeline::{Action, EndKind, Event, Mode, Timeline, Trigger};

/// Maps engine time to wall-clock time (the run's [`crate::clock::Clock::wall_at`]).
pub type Wall<'a> = &'a dyn Fn(Duration) -> SystemTime;

/// A ceremony a room can start: its library id and title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Library id (`start <id>`).
    pub id: String,
    /// Human title.
    pub title: String,
}

/// The retained `sanctum/<room>/state` JSON at engine time `now`, for the ceremony running
/// (`None`: the room is idle) and the ceremonies the room offers.
///
/// Fields: `ceremony` (library id, `null` when idle), `ceremony_title`, `mode` (`idle`,
/// `running`, `paused`, `stopping`, `finishing`, `stopped`, `finished`), `phase`, `title`,
/// `guidance`, `index` (0-based), `phases`, `paused`, `volume_db`, `phase_started_at` and
/// `phase_ends_at` (ISO-8601 with offset; `phase_ends_at` is `null` while a phase waits for
/// a trigger or is paused), `phase_min_s` (the phase's `min`, if any) and `ceremonies` (each
/// `{id, title}`, what `start <id>` accepts).
#[must_use]
pub fn state_payload(
    timeline: Option<&Timeline>,
    now: Duration,
    wall: Wall<'_>,
    offers: &[Offer],
) -> String {
    let ceremonies: Vec<Value> = offers
        .iter()
        .map(|o| json!({"id": o.id, "title": o.title}))
        .collect();
    let Some(timeline) = timeline else {
        return json!({
            "ceremony": null, "ceremony_title": null, "mode": "idle", "phase": null,
            "title": null, "guidance": null, "index": null, "phases": 0, "paused": false,
            "volume_db": null, "phase_started_at": null, "phase_ends_at": null,
            "phase_min_s": null, "ceremonies": ceremonies,
        })
        .to_string();
    };
    let status = timeline.status(now);
    let ceremony = timeline.ceremony();
    let phase = status.phase.and_then(|i| ceremony.phases.get(i));
    let v = json!({
        "ceremony": ceremony.name,
        "ceremony_title": ceremony.title,
        "mode": mode_name(status.mode),
        "phase": phase.map(|p| p.id.as_str()),
        "title": phase.map(|p| p.title.as_str()),
        "guidance": phase.and_then(|p| p.guidance.as_deref()),
        "index": status.phase,
        "phases": ceremony.phases.len(),
        "paused": status.mode == Mode::Paused,
        "volume_db": round2(f64::from(status.volume.0)),
        "phase_started_at": status.phase_started_at.map(|t| iso8601(wall(t))),
        "phase_ends_at": status.phase_ends_at.map(|t| iso8601(wall(t))),
        "phase_min_s": phase.and_then(|p| p.min).map(|m| round2(m.as_secs_f64())),
        "ceremonies": ceremonies,
    });
    v.to_string()
}

/// The retained `sanctum/<room>/phase` payload: the current phase id, or the mode
/// (`idle`, `stopping`, `finished`…) when no phase runs.
#[must_use]
pub fn phase_payload(timeline: Option<&Timeline>, now: Duration) -> String {
    let Some(timeline) = timeline else {
        return "idle".to_owned();
    };
    let status = timeline.status(now);
    match status.phase.and_then(|i| timeline.ceremony().phases.get(i)) {
        Some(p) => p.id.clone(),
        None => mode_name(status.mode).to_owned(),
    }
}

/// The retained `sanctum/<room>/status` payload, also the Last Will: availability with the
/// instance that publishes it, e.g.
/// `{"status":"online","instance":"pi-412-19a3f","host":"pi","pid":412,"since":"…"}`.
#[must_use]
pub fn status_payload(online: bool, instance: &Instance) -> String {
    json!({
        "status": if online { super::topics::ONLINE } else { super::topics::OFFLINE },
        "instance": instance.id,
        "host": instance.host,
        "pid": instance.pid,
        "since": iso8601(instance.started),
    })
    .to_string()
}

/// A room's availability as read from its `status` topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    /// `online`.
    pub online: bool,
    /// The instance that published it (`None` for a bare `online`/`offline`).
    pub instance: Option<String>,
    /// Its host.
    pub host: Option<String>,
    /// Its pid.
    pub pid: Option<u64>,
    /// Since when it runs.
    pub since: Option<String>,
}

/// Reads a `status` payload (JSON as [`status_payload`] writes, or a bare `online` /
/// `offline`); `None` if it is neither.
#[must_use]
pub fn read_status(payload: &[u8]) -> Option<Availability> {
    let text = std::str::from_utf8(payload).ok()?.trim();
    let bare = |online| Availability {
        online,
        instance: None,
        host: None,
        pid: None,
        since: None,
    };
    match text {
        super::topics::ONLINE => return Some(bare(true)),
        super::topics::OFFLINE => return Some(bare(false)),
        _ => {}
    }
    let v: Value = serde_json::from_str(text).ok()?;
    let online = match v.get("status")?.as_str()? {
        super::topics::ONLINE => true,
        super::topics::OFFLINE => false,
        _ => return None,
    };
    let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    Some(Availability {
        online,
        instance: field("instance"),
        host: field("host"),
        pid: v.get("pid").and_then(Value::as_u64),
        since: field("since"),
    })
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
        Trigger::Resume => "resume",
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
        let offers = [Offer {
            id: "mqtt".into(),
            title: "MQTT fixture".into(),
        }];
        let idle: Value =
            serde_json::from_str(&state_payload(None, Duration::ZERO, &wall, &offers))
                .expect("json");
        assert_eq!(idle["mode"], "idle");
        assert!(idle["phase"].is_null());
        assert_eq!(
            idle["ceremonies"],
            json!([{"id": "mqtt", "title": "MQTT fixture"}])
        );
        assert_eq!(phase_payload(None, Duration::ZERO), "idle");
        let fresh: Value =
            serde_json::from_str(&state_payload(Some(&tl), Duration::ZERO, &wall, &offers))
                .expect("json");
        assert_eq!(fresh["mode"], "idle");
        assert_eq!(phase_payload(Some(&tl), Duration::ZERO), "idle");
        let mut events = Vec::new();
        tl.command(Duration::ZERO, &Command::Start, &mut events)
            .expect("start");
        tl.command(Duration::from_secs(5), &Command::Next, &mut events)
            .expect("next");
        let now = Duration::from_secs(6);
        let v: Value =
            serde_json::from_str(&state_payload(Some(&tl), now, &wall, &offers)).expect("json");
        assert_eq!(v["ceremony"], "mqtt");
        assert_eq!(v["phase"], "two");
        assert_eq!(v["title"], "Two");
        assert_eq!(v["index"], 1);
        assert_eq!(v["phases"], 4);
        assert_eq!(v["paused"], false);
        assert_eq!(v["mode"], "running");
        assert_eq!(v["phase_started_at"], "2026-05-01T19:30:05.000+00:00");
        assert!(v["phase_ends_at"].is_null(), "manual phases have no end");
        assert_eq!(phase_payload(Some(&tl), now), "two");
        tl.command(now, &Command::Pause, &mut events)
            .expect("pause");
        let v: Value =
            serde_json::from_str(&state_payload(Some(&tl), now, &wall, &offers)).expect("json");
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
    fn status_carries_the_instance_and_reads_back() {
        let me = Instance {
            id: "pi-412-1".into(),
            host: "pi".into(),
            pid: 412,
            started: UNIX_EPOCH,
        };
        let on = read_status(status_payload(true, &me).as_bytes()).expect("reads");
        assert!(on.online);
        assert_eq!(on.instance.as_deref(), Some("pi-412-1"));
        assert_eq!((on.host.as_deref(), on.pid), (Some("pi"), Some(412)));
        let off = read_status(status_payload(false, &me).as_bytes()).expect("reads");
        assert!(!off.online);
        assert_eq!(read_status(b"online").map(|a| a.online), Some(true));
        assert!(read_status(b"maybe").is_none());
        assert!(read_status(br#"{"status":"sleepy"}"#).is_none());
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
