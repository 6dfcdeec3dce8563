//! Home Assistant MQTT JSON-schema encoder, as ESPHome and many DIY firmwares accept
//! (reference §1.5, §1.6). The address is the light's command topic. Pure; it must not pace,
//! plan or publish.
//!
//! `{"state":"ON","brightness":0–brightness_scale,"color_temp":mired|K,"color":{r,g,b},
//! "transition":s}`. A light that is on never gets brightness 0 (ESPHome turns off *and*
//! resets its brightness to 100 %). Every command carries `transition` (0 when immediate)
//! because ESPHome otherwise applies its 1 s `default_transition_length`.

use serde_json::{Map, Value, json};

use super::{kelvin, mired, rgb, scale, seconds};
use crate::lights::command::{LightCommand, Publish};
use crate::lights::options::{DriverSettings, LightOptions};

/// Encodes one command for the JSON-schema light whose command topic is `address`.
#[must_use]
pub fn encode(address: &str, opts: &LightOptions, cmd: &LightCommand) -> Vec<Publish> {
    let (brightness_scale, in_kelvin) = match &opts.driver {
        DriverSettings::HaJson {
            brightness_scale,
            color_temp_kelvin,
        } => (*brightness_scale, *color_temp_kelvin),
        _ => (255, false),
    };
    let mut m = Map::new();
    m.insert("state".into(), json!(if cmd.on { "ON" } else { "OFF" }));
    if cmd.on {
        m.insert(
            "brightness".into(),
            json!(scale(
                cmd.brightness,
                u32::from(brightness_scale.max(1)),
                true
            )),
        );
        if let Some(k) = kelvin(cmd.color, opts) {
            let value = if in_kelvin { k } else { mired(k) };
            m.insert("color_temp".into(), json!(value));
        } else if let Some([r, g, b]) = rgb(cmd.color) {
            m.insert("color".into(), json!({"r": r, "g": g, "b": b}));
        }
    }
    let t = cmd.transition.map_or(0.0, |t| seconds(t, 3));
    m.insert("transition".into(), json!(t));
    vec![Publish::command(address, Value::Object(m).to_string())]
}

#[cfg(test)]
mod tests {
    use crate::lights::drivers::tests::report;
    use crate::lights::options::{DriverKind, DriverSettings, LightOptions};

    #[test]
    fn snapshot_esphome() {
        let opts = LightOptions::defaults(DriverKind::HaJson);
        insta::assert_snapshot!(report("altar/light/candle/command", &opts));
    }

    #[test]
    fn snapshot_kelvin_and_percent_scale() {
        let mut opts = LightOptions::defaults(DriverKind::HaJson);
        opts.driver = DriverSettings::HaJson {
            brightness_scale: 100,
            color_temp_kelvin: true,
        };
        insta::assert_snapshot!(report("home/lamp/set", &opts));
    }
}
