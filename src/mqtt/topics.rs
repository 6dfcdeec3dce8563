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
