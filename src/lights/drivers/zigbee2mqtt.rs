//! Zigbee2MQTT encoder: `<base_topic>/<name>/set` with JSON (reference §1.1). Pure; it must
//! not pace, plan or publish.
//!
//! - `brightness` 0–254, `color_temp` in mireds (clamped to the bulb's range), `color`
//!   `{r,g,b}`, `transition` in seconds (float; Z2M sends tenths on the wire).
//! - A light that is on never gets brightness 0: `brightness: 0` means OFF (§2.3). OFF is an
//!   explicit `"state":"OFF"`, with the transition only when one was asked for (some bulbs
//!   mishandle OFF with a transition, §2.2).
//! - An immediate change sends `"transition":0` so a per-device default transition configured
//!   in Z2M does not stretch it.
//! - `split_color`: brightness and colour go as two messages, because Z2M drops the brightness
//!   transition when both come in one command (IKEA, Koenkk/zigbee2mqtt#1810).

use serde_json::{Map, Value, json};

use super::{kelvin, mired, rgb, scale, seconds};
use crate::lights::command::{LightCommand, Publish};
use crate::lights::options::{DriverSettings, LightOptions};

/// Longest transition Z2M can carry: ZCL `transtime` is a u16 of tenths.
const MAX_TRANSITION_S: f64 = 6553.5;

/// Encodes one command for the Z2M device or group `address` (its friendly name).
#[must_use]
pub fn encode(address: &str, opts: &LightOptions, cmd: &LightCommand) -> Vec<Publish> {
    let base = match &opts.driver {
        DriverSettings::Zigbee2Mqtt { base_topic } => base_topic.as_str(),
        _ => "zigbee2mqtt",
    };
    let topic = format!("{base}/{address}/set");
    let transition = cmd.transition.map(|t| seconds(t, 1).min(MAX_TRANSITION_S));
    let send =
        |fields: Map<String, Value>| Publish::command(&topic, Value::Object(fields).to_string());

    let mut light = Map::new();
    if !cmd.on {
        light.insert("state".into(), json!("OFF"));
        if let Some(t) = transition {
            light.insert("transition".into(), json!(t));
        }
        return vec![send(light)];
    }
    light.insert("state".into(), json!("ON"));
    light.insert("brightness".into(), json!(scale(cmd.brightness, 254, true)));
    let t = transition.unwrap_or(0.0);

    let mut color = Map::new();
    if let Some(k) = kelvin(cmd.color, opts) {
        color.insert("color_temp".into(), json!(mired(k)));
    } else if let Some([r, g, b]) = rgb(cmd.color) {
        color.insert("color".into(), json!({"r": r, "g": g, "b": b}));
    }

    if opts.split_color && !color.is_empty() {
        light.insert("transition".into(), json!(t));
        color.insert("transition".into(), json!(t));
        vec![send(light), send(color)]
    } else {
        light.extend(color);
        light.insert("transition".into(), json!(t));
        vec![send(light)]
    }
}

#[cfg(test)]
mod tests {
    use crate::lights::drivers::tests::report;
    use crate::lights::options::{DriverKind, DriverSettings, LightOptions};

    #[test]
    fn snapshot() {
        let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
        insta::assert_snapshot!(report("altar candle", &opts));
    }

    #[test]
    fn snapshot_split_colour_group_with_custom_base() {
        let mut opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt).as_group();
        opts.split_color = true;
        opts.driver = DriverSettings::Zigbee2Mqtt {
            base_topic: "z2m".to_owned(),
        };
        insta::assert_snapshot!(report("room/ikea", &opts));
    }
}
