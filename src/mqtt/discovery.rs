//! Home Assistant MQTT discovery (reference §4): retained config messages for a ceremony
//! `select` (choosing one starts it), a phase `select`, `next`/`pause`/`stop` `button`s and a
//! phase-end `timestamp` sensor, all on one device per room. Pure: it builds the messages; it must not publish them or decide when
//! (the bus publishes them on every connect and when Home Assistant says `online`).

use serde_json::{Value, json};

use super::topics::{OFFLINE, ONLINE, Topics};
use crate::lights::Publish;

/// Home Assistant's default discovery prefix.
pub const PREFIX: &str = "homeassistant";

/// The discovery config messages (retained) for a room offering `ceremonies` (library ids)
/// and running one with `phases`.
#[must_use]
pub fn configs(topics: &Topics, phases: &[String], ceremonies: &[String]) -> Vec<Publish> {
    let room = &topics.room;
    let node = format!("sanctum_{}", object_id(room));
    let device = json!({
        "identifiers": [node],
        "name": format!("Sanctum {room}"),
        "manufacturer": "sanctum",
        "model": "ceremony daemon",
        "sw_version": env!("CARGO_PKG_VERSION"),
    });
    let common = |name: &str, id: &str| -> Value {
        json!({
            "name": name,
            "unique_id": format!("{node}_{id}"),
            "object_id": format!("{node}_{id}"),
            "availability_topic": topics.status,
            "availability_template": "{{ value_json.status }}",
            "payload_available": ONLINE,
            "payload_not_available": OFFLINE,
            "device": device,
            "origin": {"name": "sanctum", "sw_version": env!("CARGO_PKG_VERSION")},
        })
    };
    let mut out = Vec::new();
    let mut push = |component: &str, id: &str, mut v: Value, extra: Value| {
        if let (Value::Object(base), Value::Object(extra)) = (&mut v, extra) {
            base.extend(extra);
        }
        out.push(Publish {
            topic: format!("{PREFIX}/{component}/{node}/{id}/config"),
            payload: v.to_string(),
            retain: true,
        });
    };
    push(
        "select",
        "ceremony",
        common("Ceremony", "ceremony"),
        json!({"command_topic": topics.cmd, "command_template": "start {{ value }}",
               "state_topic": topics.state,
               "value_template": "{{ value_json.ceremony if value_json.ceremony else 'None' }}",
               "options": ceremonies, "icon": "mdi:candle"}),
    );
    push(
        "select",
        "phase",
        common("Phase", "phase"),
        json!({"command_topic": topics.phase_set, "state_topic": topics.phase,
               "options": phases, "icon": "mdi:meditation"}),
    );
    for (id, name, press, icon) in [
        ("next", "Next phase", "next", "mdi:skip-next"),
        ("pause", "Pause", "pause", "mdi:pause"),
        ("resume", "Resume", "resume", "mdi:play"),
        ("stop", "Stop gently", "stop", "mdi:stop"),
    ] {
        push(
            "button",
            id,
            common(name, id),
            json!({"command_topic": topics.cmd, "payload_press": press, "icon": icon}),
        );
    }
    push(
        "sensor",
        "phase_end",
        common("Phase ends", "phase_end"),
        json!({"state_topic": topics.state, "device_class": "timestamp",
               "value_template": "{{ value_json.phase_ends_at if value_json.phase_ends_at else 'unknown' }}"}),
    );
    out
}

/// `[a-zA-Z0-9_-]` only, as Home Assistant requires of node and object ids.
fn object_id(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_buttons_and_sensor() {
        let topics = Topics::new("temple");
        let msgs = configs(
            &topics,
            &["arrive".into(), "soaking".into()],
            &["sex-medicine".into()],
        );
        assert!(msgs.iter().all(|m| m.retain));
        let find = |t: &str| -> Value {
            let m = msgs.iter().find(|m| m.topic == t).expect(t);
            serde_json::from_str(&m.payload).expect("json")
        };
        let select = find("homeassistant/select/sanctum_temple/phase/config");
        assert_eq!(select["command_topic"], "sanctum/temple/phase/set");
        assert_eq!(select["state_topic"], "sanctum/temple/phase");
        assert_eq!(select["options"], json!(["arrive", "soaking"]));
        assert_eq!(select["availability_topic"], "sanctum/temple/status");
        assert_eq!(select["unique_id"], "sanctum_temple_phase");
        assert_eq!(select["availability_template"], "{{ value_json.status }}");
        let ceremony = find("homeassistant/select/sanctum_temple/ceremony/config");
        assert_eq!(ceremony["options"], json!(["sex-medicine"]));
        assert_eq!(ceremony["command_topic"], "sanctum/temple/cmd");
        assert_eq!(ceremony["command_template"], "start {{ value }}");
        for press in ["next", "pause", "stop"] {
            let b = find(&format!(
                "homeassistant/button/sanctum_temple/{press}/config"
            ));
            assert_eq!(b["command_topic"], "sanctum/temple/cmd");
            assert_eq!(b["payload_press"], press);
            assert_eq!(b["device"]["identifiers"], json!(["sanctum_temple"]));
        }
        let s = find("homeassistant/sensor/sanctum_temple/phase_end/config");
        assert_eq!(s["device_class"], "timestamp");
        assert_eq!(s["state_topic"], "sanctum/temple/state");
    }
}
