//! Home Assistant MQTT JSON-schema encoder, as ESPHome and many DIY firmwares accept
//! (reference §1.5, §1.6). The address is the light's command topic. Pure; it must not pace,
//! plan or publish.
//!
//! `{"state":"ON","brightness":0–brightness_scale,"color_temp":mired|K,"color":{r,g,b},
//! "transition":s}`. A light that is on never gets brightness 0 (ESPHome turns off *and*
//! resets its brightness to 100 %). Every command carries `transition` (0 when immediate)
//! because ESPHome otherwise applies its 1 s `default_transition_length`.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{
    BULB_MAX_RATE, Capabilities, ColorModes, Driver, Keys, kelvin, mired, rgb, scale, seconds,
};
use crate::lights::command::{LightCommand, Publish};
use crate::lights::curve::DeviceCurve;
use crate::lights::options::LightOptions;

/// The `ha-json` driver and its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HaJson {
    /// Top of the brightness scale (HA `brightness_scale`, rig key `brightness_scale`,
    /// default 255).
    pub brightness_scale: u16,
    /// Send `color_temp` in kelvin instead of mireds (HA `color_temp_kelvin`, default false).
    pub color_temp_kelvin: bool,
}

impl Default for HaJson {
    fn default() -> Self {
        Self {
            brightness_scale: 255,
            color_temp_kelvin: false,
        }
    }
}

impl Driver for HaJson {
    const NAME: &'static str = "ha-json";
    const KEYS: &'static [&'static str] = &["brightness_scale", "color_temp_kelvin"];

    fn read(keys: &mut dyn Keys) -> Self {
        let mut d = Self::default();
        if let Some(v) = keys
            .integer("brightness_scale", 1..=65535)
            .and_then(|v| u16::try_from(v).ok())
        {
            d.brightness_scale = v;
        }
        if let Some(k) = keys.flag("color_temp_kelvin") {
            d.color_temp_kelvin = k;
        }
        d
    }

    /// Native fades (ESPHome takes milliseconds; an hour is plenty), the scale's steps with
    /// one step the first visible, linear (ESPHome applies its own gamma 2.8), 2000–6500 K,
    /// both colours.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            native_fade: true,
            max_native_fade: Duration::from_secs(3600),
            min_level: 1.0 / 255.0,
            curve: DeviceCurve::Linear,
            kelvin_range: (2000, 6500),
            max_rate: BULB_MAX_RATE,
            transition_resolution: Duration::from_millis(1),
            brightness_steps: u32::from(self.brightness_scale.max(1)),
            colors: ColorModes::BOTH,
        }
    }

    fn encode(&self, address: &str, opts: &LightOptions, cmd: &LightCommand) -> Vec<Publish> {
        encode(*self, address, opts, cmd)
    }

    /// ESPHome reads commands on `<prefix>/light/<object_id>/command` and publishes its state
    /// on `…/state` (ESPHome MQTT client component, <https://esphome.io/components/mqtt/>:
    /// the command topic defaults to `<TOPIC_PREFIX>/<COMPONENT_TYPE>/<COMPONENT_NAME>/command`).
    fn check_address(&self, address: &str) -> Result<(), String> {
        let parts: Vec<&str> = address.split('/').collect();
        if parts.len() == 3 && parts[1] == "light" {
            return Err(format!(
                "`{address}` is where ESPHome's light lives, not where it reads commands: write \"{address}/command\""
            ));
        }
        if let Some(base) = address.strip_suffix("/state") {
            return Err(format!(
                "`{address}` is a state topic, which the light publishes and never reads: write its command topic, such as \"{base}/command\""
            ));
        }
        Ok(())
    }
}

/// Encodes one command for the JSON-schema light whose command topic is `address`.
fn encode(
    settings: HaJson,
    address: &str,
    opts: &LightOptions,
    cmd: &LightCommand,
) -> Vec<Publish> {
    let HaJson {
        brightness_scale,
        color_temp_kelvin: in_kelvin,
    } = settings;
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
    use crate::lights::drivers::{DriverSettings, ha_json::HaJson};
    use crate::lights::options::{DriverKind, LightOptions};

    #[test]
    fn snapshot_esphome() {
        let opts = LightOptions::defaults(DriverKind::HaJson);
        insta::assert_snapshot!(report("altar/light/candle/command", &opts));
    }

    #[test]
    fn snapshot_kelvin_and_percent_scale() {
        let opts = LightOptions::with_driver(DriverSettings::HaJson(HaJson {
            brightness_scale: 100,
            color_temp_kelvin: true,
        }));
        insta::assert_snapshot!(report("home/lamp/set", &opts));
    }
}
