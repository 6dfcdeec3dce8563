//! Whether `sanctum lights test` may take a light: not while a ceremony runs in the room (the
//! test would pull its light away for seconds), unless the user forces it. Owns that decision
//! and reading the room's retained `status` and `state` for it; decides nothing else.

use std::time::Duration;

use crate::model::MqttSettings;
use crate::mqtt::client;
use crate::mqtt::{Broker, Topics};

/// How long to wait for each retained message (a room nobody runs has none).
const WAIT: Duration = Duration::from_millis(500);

/// A ceremony is running in the room.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "failed to test light `{light}`: a ceremony is {mode} in room `{room}`, and the test would take its light for 6 s; give --force to test anyway"
)]
pub struct RoomBusy {
    /// The light asked for.
    pub light: String,
    /// The room.
    pub room: String,
    /// The ceremony's mode (`running`, `paused`, `stopping`, `finishing`).
    pub mode: String,
}

/// The ceremony's mode when `status` says sanctum is online and `state` says a ceremony is
/// under way; `None` for an idle, ended or absent room.
#[must_use]
pub fn busy_mode(status: Option<&str>, state: Option<&str>) -> Option<String> {
    let online = status
        .and_then(|s| crate::mqtt::state::read_status(s.as_bytes()))
        .is_some_and(|a| a.online);
    if !online {
        return None;
    }
    let state: serde_json::Value = serde_json::from_str(state?).ok()?;
    let mode = state["mode"].as_str()?;
    matches!(mode, "running" | "paused" | "stopping" | "finishing").then(|| mode.to_owned())
}

/// Refuses to test `light` in `room` while a ceremony runs there, unless `force`.
///
/// # Errors
/// [`RoomBusy`] when a ceremony is under way and `force` is not given.
pub fn allow(
    light: &str,
    room: &str,
    status: Option<&str>,
    state: Option<&str>,
    force: bool,
) -> Result<(), RoomBusy> {
    match busy_mode(status, state) {
        Some(mode) if !force => Err(RoomBusy {
            light: light.to_owned(),
            room: room.to_owned(),
            mode,
        }),
        _ => Ok(()),
    }
}

/// The room's retained `status` and `state`, each `None` when nothing is retained or the
/// broker does not answer in time.
pub async fn room(
    broker: &Broker,
    settings: &MqttSettings,
    topics: &Topics,
) -> (Option<String>, Option<String>) {
    let status = client::peek_retained(broker, settings, &topics.status, WAIT).await;
    let state = client::peek_retained(broker, settings, &topics.state, WAIT).await;
    (status.ok().flatten(), state.ok().flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_running_ceremony_of_an_online_sanctum_refuses() {
        let running = r#"{"ceremony":"demo","mode":"running"}"#;
        let paused = r#"{"ceremony":"demo","mode":"paused"}"#;
        let finished = r#"{"ceremony":"demo","mode":"finished"}"#;
        assert_eq!(
            busy_mode(Some("online"), Some(running)).as_deref(),
            Some("running")
        );
        assert_eq!(
            busy_mode(Some("online"), Some(paused)).as_deref(),
            Some("paused")
        );
        assert_eq!(busy_mode(Some("online"), Some(finished)), None);
        // A crashed or ended sanctum leaves `offline` (its Last Will or its goodbye).
        assert_eq!(busy_mode(Some("offline"), Some(running)), None);
        let json_online = r#"{"status":"online","instance":"pi-1-2","host":"pi","pid":1}"#;
        let json_offline = r#"{"status":"offline","instance":"pi-1-2","host":"pi","pid":1}"#;
        assert_eq!(
            busy_mode(Some(json_online), Some(running)).as_deref(),
            Some("running")
        );
        assert_eq!(busy_mode(Some(json_offline), Some(running)), None);
        assert_eq!(busy_mode(None, None), None);
        assert_eq!(busy_mode(Some("online"), Some("not json")), None);
        let err =
            allow("altar", "demo", Some("online"), Some(running), false).expect_err("refused");
        insta::assert_snapshot!(err, @"failed to test light `altar`: a ceremony is running in room `demo`, and the test would take its light for 6 s; give --force to test anyway");
        assert_eq!(
            allow("altar", "demo", Some("online"), Some(running), true),
            Ok(())
        );
        assert_eq!(allow("altar", "demo", None, None, false), Ok(()));
    }
}
