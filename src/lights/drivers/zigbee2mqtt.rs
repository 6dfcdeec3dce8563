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

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{
    BULB_MAX_RATE, Capabilities, ColorModes, Driver, Keys, kelvin, mired, rgb, scale, seconds,
};
use crate::endpoint::check_topic_part;
use crate::lights::command::{LightCommand, Publish};
use crate::lights::curve::DeviceCurve;
use crate::lights::options::LightOptions;

/// Longest transition Z2M can carry: ZCL `transtime` is a u16 of tenths.
const MAX_TRANSITION_S: f64 = 6553.5;

/// The `zigbee2mqtt` driver and its settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Zigbee2Mqtt {
    /// Z2M `base_topic` (rig key `base_topic`, default `zigbee2mqtt`).
    pub base_topic: String,
}

impl Default for Zigbee2Mqtt {
    fn default() -> Self {
        Self {
            base_topic: "zigbee2mqtt".to_owned(),
        }
    }
}

impl Driver for Zigbee2Mqtt {
    const NAME: &'static str = "zigbee2mqtt";
    const KEYS: &'static [&'static str] = &["base_topic"];

    fn read(keys: &mut dyn Keys) -> Self {
        let mut d = Self::default();
        if let Some(base) = keys.text("base_topic", &|t| check_topic_part("base_topic", t)) {
            d.base_topic = base;
        }
        d
    }

    /// Native fades up to 6553.5 s (ZCL tenths in a u16), 254 steps with 1/254 the first
    /// visible, the CIE curve, 2200–6500 K (≈454–153 mired), tenths of a second, both colours.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            native_fade: true,
            max_native_fade: Duration::from_millis(6_553_500),
            min_level: 1.0 / 254.0,
            curve: DeviceCurve::Cie,
            kelvin_range: (2200, 6500),
            max_rate: BULB_MAX_RATE,
            transition_resolution: Duration::from_millis(100),
            brightness_steps: 254,
            colors: ColorModes::BOTH,
        }
    }

    fn encode(&self, address: &str, opts: &LightOptions, cmd: &LightCommand) -> Vec<Publish> {
        encode(&self.base_topic, address, opts, cmd)
    }
}

/// Encodes one command for the Z2M device or group `address` (its friendly name).
fn encode(base: &str, address: &str, opts: &LightOptions, cmd: &LightCommand) -> Vec<Publish> {
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
    use crate::lights::drivers::{DriverSettings, zigbee2mqtt::Zigbee2Mqtt};
    use crate::lights::options::{DriverKind, LightOptions};

    #[test]
    fn snapshot() {
        let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
        insta::assert_snapshot!(report("altar candle", &opts));
    }

    #[test]
    fn snapshot_split_colour_group_with_custom_base() {
        let mut opts = LightOptions::with_driver(DriverSettings::Zigbee2Mqtt(Zigbee2Mqtt {
            base_topic: "z2m".to_owned(),
        }))
        .as_group();
        opts.split_color = true;
        insta::assert_snapshot!(report("room/ikea", &opts));
    }
}
