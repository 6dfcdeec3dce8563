//! The MQTT topic contract of one room (design §4): which topics sanctum listens on and
//! publishes to. Owns only topic names; it must not build payloads or talk to a broker.

/// Every topic of one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    /// Room name (`sanctum/<room>/…`).
    pub room: String,
    /// Commands for this room, in: plain text or JSON.
    pub cmd: String,
    /// Commands for every room, in.
    pub all_cmd: String,
    /// Phase picker (Home Assistant `select`), in: a phase id.
    pub phase_set: String,
    /// Retained JSON state, out.
    pub state: String,
    /// Retained current phase id, out.
    pub phase: String,
    /// Retained availability (`online`/`offline`, also the Last Will), out.
    pub status: String,
    /// Event lines (JSON), out, not retained.
    pub event: String,
    /// Home Assistant's birth topic, in (when discovery is on).
    pub ha_status: String,
}

/// Availability payload while sanctum is connected.
pub const ONLINE: &str = "online";
/// Availability payload after a clean disconnect or as the Last Will.
pub const OFFLINE: &str = "offline";

/// Checks a room name: it becomes one level of every topic (`sanctum/<room>/…`), so it may
/// only use letters, digits, `-` and `_` (no `/`, no wildcards, no spaces), and `all` is
/// taken by the every-room command topic.
///
/// # Errors
/// Says what is wrong, lowercase.
pub fn check_room(room: &str) -> Result<(), String> {
    let ok = !room.is_empty()
        && room
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(format!(
            "room name `{room}` may only use letters, digits, `-` and `_`"
        ));
    }
    if room == "all" {
        return Err("room name `all` is taken: `sanctum/all/cmd` speaks to every room".into());
    }
    Ok(())
}

/// Checks a device address that becomes part of a topic (a light's or remote's): not empty,
/// and without MQTT's wildcards `#` and `+` or a NUL, which brokers refuse in a topic one
/// publishes to (every message would be dropped without a word).
///
/// # Errors
/// Says what is wrong, lowercase.
pub fn check_address(address: &str) -> Result<(), String> {
    crate::endpoint::check_topic_part("address", address)
}

impl Topics {
    /// The topics of `room`.
    #[must_use]
    pub fn new(room: &str) -> Self {
        let base = format!("sanctum/{room}");
        Self {
            room: room.to_owned(),
            cmd: format!("{base}/cmd"),
            all_cmd: "sanctum/all/cmd".to_owned(),
            phase_set: format!("{base}/phase/set"),
            state: format!("{base}/state"),
            phase: format!("{base}/phase"),
            status: format!("{base}/status"),
            event: format!("{base}/event"),
            ha_status: "homeassistant/status".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_are_one_safe_topic_level() {
        for good in ["temple", "room-2", "a_b"] {
            assert_eq!(check_room(good), Ok(()));
        }
        for bad in ["", "a/b", "#", "+", "two words", "all"] {
            assert!(check_room(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn addresses_have_no_wildcards() {
        assert_eq!(check_address("living room/lamp"), Ok(()));
        for bad in ["", " ", "lamp/#", "a+b", "x\0"] {
            assert!(check_address(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn follows_the_contract() {
        let t = Topics::new("temple");
        assert_eq!(t.cmd, "sanctum/temple/cmd");
        assert_eq!(t.all_cmd, "sanctum/all/cmd");
        assert_eq!(t.phase_set, "sanctum/temple/phase/set");
        assert_eq!(t.state, "sanctum/temple/state");
        assert_eq!(t.phase, "sanctum/temple/phase");
        assert_eq!(t.status, "sanctum/temple/status");
        assert_eq!(t.event, "sanctum/temple/event");
    }
}
