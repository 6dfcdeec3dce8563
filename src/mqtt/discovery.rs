//! Home Assistant MQTT discovery (reference §4): retained config messages for a ceremony
//! `select` (choosing one starts it), a phase `select`, `next`/`pause`/`resume`/`stop`
//! `button`s and a phase-end `timestamp` sensor, all on one device per room. Pure: it builds
//! the messages; it must not publish them or decide when (the bus publishes them on every
//! connect and when Home Assistant says `online`).
//!
//! What Home Assistant accepts, and where that is written down:
//! - "no value" is the rendered string `None`: HA's MQTT sensor and select set the state to
//!   unknown on it (home-assistant/core#53227 for the select; the MQTT sensor page,
//!   <https://www.home-assistant.io/integrations/sensor.mqtt/>). Anything else that is not
//!   a valid value (`unknown` for a timestamp, `stopping` for a select) is logged as
//!   "Invalid state message" or "Invalid option" and the old state stays.
//! - The phase select reads the state JSON, so outside a phase (idle, stopping, finishing,
//!   stopped, finished) it renders `None` and HA shows nothing selected
//!   (<https://www.home-assistant.io/integrations/select.mqtt/>).
//! - Entities are named with `default_entity_id` (`<domain>.<object id>`, HA 2025.10 and
//!   later) and also with the older `object_id`, which HA deprecates from 2025.10 and stops
//!   reading in 2026.4; an older HA ignores the key it does not know
//!   (<https://www.home-assistant.io/integrations/mqtt/#discovery-messages>).

use serde_json::{Value, json};

use super::topics::{OFFLINE, ONLINE, Topics};
use crate::lights::Publish;

/// Home Assistant's default discovery prefix.
pub const PREFIX: &str = "homeassistant";

/// The ceremony select's state: the running ceremony's id, or `None` (nothing selected).
pub const CEREMONY_TEMPLATE: &str = "{{ value_json.ceremony if value_json.ceremony else 'None' }}";

/// The phase select's state: the phase id while a phase runs or is paused, else `None`
/// (idle, stopping, finishing, stopped and finished are not options).
pub const PHASE_TEMPLATE: &str = "{{ value_json.phase if value_json.phase and \
     value_json.mode in ['running', 'paused'] else 'None' }}";

/// The phase-end sensor's state: the planned end (ISO-8601), or `None` while the phase has
/// no end (it waits for a trigger, is paused, or the ceremony stops).
pub const PHASE_END_TEMPLATE: &str =
    "{{ value_json.phase_ends_at if value_json.phase_ends_at else 'None' }}";

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
    let common = |domain: &str, name: &str, id: &str| -> Value {
        json!({
            "name": name,
            "unique_id": format!("{node}_{id}"),
            "default_entity_id": format!("{domain}.{node}_{id}"),
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
        common("select", "Ceremony", "ceremony"),
        json!({"command_topic": topics.cmd, "command_template": "start {{ value }}",
               "state_topic": topics.state,
               "value_template": CEREMONY_TEMPLATE,
               "options": ceremonies, "icon": "mdi:candle"}),
    );
    push(
        "select",
        "phase",
        common("select", "Phase", "phase"),
        json!({"command_topic": topics.phase_set, "state_topic": topics.state,
               "value_template": PHASE_TEMPLATE, "options": phases, "icon": "mdi:meditation"}),
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
            common("button", name, id),
            json!({"command_topic": topics.cmd, "payload_press": press, "icon": icon}),
        );
    }
    push(
        "sensor",
        "phase_end",
        common("sensor", "Phase ends", "phase_end"),
        json!({"state_topic": topics.state, "device_class": "timestamp",
               "value_template": PHASE_END_TEMPLATE}),
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
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::command::Command;
    use crate::mqtt::state::{Offer, state_payload};
    use crate::timeline::Timeline;

    fn msgs() -> Vec<Publish> {
        configs(
            &Topics::new("temple"),
            &["arrive".into(), "soaking".into()],
            &["sex-medicine".into()],
        )
    }

    fn find(msgs: &[Publish], t: &str) -> Value {
        let m = msgs.iter().find(|m| m.topic == t).expect(t);
        serde_json::from_str(&m.payload).expect("json")
    }

    /// Renders a value template the way Home Assistant's MQTT entities do: Jinja with the
    /// payload as `value` and its JSON as `value_json`.
    fn render(template: &str, payload: &str) -> String {
        let env = minijinja::Environment::new();
        let json: Value = serde_json::from_str(payload).expect("json payload");
        env.render_str(
            template,
            minijinja::context! {
                value => payload,
                value_json => minijinja::Value::from(minijinja::value::Serde(&json)),
            },
        )
        .expect("template renders")
    }

    /// Every config, as Home Assistant receives it, following
    /// <https://www.home-assistant.io/integrations/mqtt/#discovery-messages> (topic
    /// `<prefix>/<component>/<node_id>/<object_id>/config`, `default_entity_id` and the
    /// deprecated `object_id`), `select.mqtt`, `button.mqtt` and `sensor.mqtt`.
    #[test]
    fn snapshot_of_every_config() {
        let mut out = String::new();
        for m in msgs() {
            let v: Value = serde_json::from_str(&m.payload).expect("json");
            out.push_str(&format!(
                "{}  retain={}\n{}\n",
                m.topic,
                m.retain,
                serde_json::to_string_pretty(&v).expect("json")
            ));
        }
        insta::assert_snapshot!(out.replace(env!("CARGO_PKG_VERSION"), "<version>"));
    }

    #[test]
    fn select_buttons_and_sensor() {
        let msgs = msgs();
        assert!(msgs.iter().all(|m| m.retain));
        let select = find(&msgs, "homeassistant/select/sanctum_temple/phase/config");
        assert_eq!(select["command_topic"], "sanctum/temple/phase/set");
        assert_eq!(select["state_topic"], "sanctum/temple/state");
        assert_eq!(select["value_template"], PHASE_TEMPLATE);
        assert_eq!(select["options"], json!(["arrive", "soaking"]));
        assert_eq!(select["availability_topic"], "sanctum/temple/status");
        assert_eq!(select["unique_id"], "sanctum_temple_phase");
        assert_eq!(select["availability_template"], "{{ value_json.status }}");
        let ceremony = find(&msgs, "homeassistant/select/sanctum_temple/ceremony/config");
        assert_eq!(ceremony["options"], json!(["sex-medicine"]));
        assert_eq!(ceremony["command_topic"], "sanctum/temple/cmd");
        assert_eq!(ceremony["command_template"], "start {{ value }}");
        for press in ["next", "pause", "resume", "stop"] {
            let b = find(
                &msgs,
                &format!("homeassistant/button/sanctum_temple/{press}/config"),
            );
            assert_eq!(b["command_topic"], "sanctum/temple/cmd");
            assert_eq!(b["payload_press"], press);
            assert_eq!(b["device"]["identifiers"], json!(["sanctum_temple"]));
        }
        let s = find(
            &msgs,
            "homeassistant/sensor/sanctum_temple/phase_end/config",
        );
        assert_eq!(s["device_class"], "timestamp");
        assert_eq!(s["state_topic"], "sanctum/temple/state");
    }

    /// HA 2025.10+ reads `default_entity_id` (`<domain>.<object id>`); older HA reads
    /// `object_id`. Both name the same entity, and the domain is the discovery component.
    #[test]
    fn entities_are_named_for_new_and_old_home_assistant() {
        for m in msgs() {
            let v: Value = serde_json::from_str(&m.payload).expect("json");
            let component = m.topic.split('/').nth(1).expect("component");
            let object_id = v["object_id"].as_str().expect("object_id");
            assert_eq!(v["default_entity_id"], format!("{component}.{object_id}"));
            assert_eq!(v["unique_id"], object_id);
            assert!(
                object_id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                "{object_id}"
            );
        }
    }

    /// Drives a real ceremony through every mode and renders each entity's value template
    /// against the state payload sanctum publishes: the selects give an option or `None`,
    /// the sensor an ISO-8601 time or `None`, never a value HA would log as invalid.
    #[test]
    fn templates_give_home_assistant_only_valid_states() {
        let loaded =
            crate::config::load_ceremony(std::path::Path::new("tests/fixtures/mqtt"), None)
                .expect("fixture loads");
        let phases: Vec<String> = loaded
            .ceremony
            .phases
            .iter()
            .map(|p| p.id.clone())
            .collect();
        let mut tl = Timeline::new(Arc::new(loaded.ceremony), loaded.rig);
        let wall = |t: Duration| UNIX_EPOCH + Duration::from_secs(1_777_663_800) + t;
        let offers = [Offer {
            id: "mqtt".into(),
            title: "MQTT fixture".into(),
        }];
        let s = Duration::from_secs;
        let mut seen = Vec::new();
        let mut check = |tl: Option<&Timeline>, now: Duration| {
            let payload = state_payload(tl, now, &wall, &offers);
            let v: Value = serde_json::from_str(&payload).expect("json");
            let mode = v["mode"].as_str().expect("mode").to_owned();
            let phase = render(PHASE_TEMPLATE, &payload);
            if mode == "running" || mode == "paused" {
                assert!(phases.contains(&phase), "{mode}: {phase}");
            } else {
                assert_eq!(phase, "None", "{mode}");
            }
            let ceremony = render(CEREMONY_TEMPLATE, &payload);
            assert!(
                ceremony == "None" || ceremony == "mqtt",
                "{mode}: {ceremony}"
            );
            let end = render(PHASE_END_TEMPLATE, &payload);
            assert!(end == "None" || end.ends_with("+00:00"), "{mode}: {end}");
            seen.push((mode, phase, end));
        };
        check(None, Duration::ZERO);
        let mut events = Vec::new();
        tl.command(Duration::ZERO, &Command::Start, &mut events)
            .expect("start");
        check(Some(&tl), s(1));
        tl.command(s(2), &Command::Pause, &mut events)
            .expect("pause");
        check(Some(&tl), s(3));
        tl.command(s(4), &Command::Resume, &mut events)
            .expect("resume");
        tl.command(s(5), &Command::Stop, &mut events).expect("stop");
        check(Some(&tl), s(5));
        tl.advance(s(3600), &mut events);
        check(Some(&tl), s(3600));
        let modes: Vec<&str> = seen.iter().map(|(m, _, _)| m.as_str()).collect();
        assert_eq!(modes, ["idle", "running", "paused", "stopping", "stopped"]);
        assert_eq!(seen[1].1, "one");
        // A phase with a planned end passes it through unchanged.
        let ends =
            r#"{"mode":"running","phase":"one","phase_ends_at":"2026-05-01T19:30:05.000+00:00"}"#;
        assert_eq!(
            render(PHASE_END_TEMPLATE, ends),
            "2026-05-01T19:30:05.000+00:00"
        );
        let finishing = r#"{"mode":"finishing","phase":"four","phase_ends_at":null}"#;
        assert_eq!(render(PHASE_TEMPLATE, finishing), "None");
        assert_eq!(render(PHASE_END_TEMPLATE, finishing), "None");
    }
}
