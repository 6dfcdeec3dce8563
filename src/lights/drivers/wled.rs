//! WLED encoder: JSON API on `<device topic>/api` (reference §1.7). The address is the WLED
//! device topic as configured there (default `wled/<mac>`), so `wled/altar` publishes to
//! `wled/altar/api`. Pure; it must not pace, plan or publish.
//!
//! `{"on":true,"bri":1–255,"tt":n,"seg":[{"cct":K}]}`: `tt` is this call's transition in
//! 100 ms units (0–65535), `cct` in kelvin (1900–10091), colour as `seg[0].col[0]`. OFF is
//! `"on":false` rather than `bri 0`, as the WLED docs recommend (WLED JSON API,
//! <https://kno.wled.ge/interfaces/json-api/>: `bri`, `tt`, `seg.col`, `seg.cct`).
//!
//! `seg.cct` only sets the white channels' temperature: an RGB-only strip ignores it and keeps
//! whatever colour it last had. With the rig's `kelvin_as_rgb = true` a colour temperature is
//! sent as its white point in RGB (`seg.col`, the black-body tint of
//! [`crate::units::kelvin_rgb`]), so a `kelvin` cue, or the safe light, after a `color` cue
//! really turns the strip white.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{BULB_MAX_RATE, Capabilities, ColorModes, Driver, Keys, kelvin, rgb, scale, units};
use crate::lights::command::{LightCommand, Publish};
use crate::lights::curve::DeviceCurve;
use crate::lights::options::LightOptions;

/// `tt` unit: 100 ms.
const TT_UNIT: Duration = Duration::from_millis(100);

/// The `wled` driver and its settings (the address is the device topic, e.g. `wled/kitchen`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Wled {
    /// The strip has no white channels (rig key `kelvin_as_rgb`, default false): a colour
    /// temperature goes as its white point in RGB (`seg.col`) instead of `seg.cct`, which
    /// applies to white channels only (WLED JSON API).
    pub kelvin_as_rgb: bool,
}

impl Driver for Wled {
    const NAME: &'static str = "wled";
    const KEYS: &'static [&'static str] = &["kelvin_as_rgb"];

    fn read(keys: &mut dyn Keys) -> Self {
        Self {
            kelvin_as_rgb: keys.flag("kelvin_as_rgb").unwrap_or(false),
        }
    }

    /// Native fades up to 6553.5 s (`tt` in 100 ms, u16), `bri` 1–255, the CIE curve (WLED's
    /// gamma off), `cct` 1900–10091 K, or RGB only with `kelvin_as_rgb`.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            native_fade: true,
            max_native_fade: Duration::from_millis(6_553_500),
            min_level: 1.0 / 255.0,
            curve: DeviceCurve::Cie,
            kelvin_range: (1900, 10091),
            max_rate: BULB_MAX_RATE,
            transition_resolution: TT_UNIT,
            brightness_steps: 255,
            colors: if self.kelvin_as_rgb {
                ColorModes::RGB
            } else {
                ColorModes::BOTH
            },
        }
    }

    fn encode(&self, address: &str, opts: &LightOptions, cmd: &LightCommand) -> Vec<Publish> {
        encode(address, opts, cmd)
    }
}

/// Encodes one command for the WLED whose device topic is `address` (a colour temperature
/// for an RGB-only strip already came in as RGB, see [`super::encode`]).
fn encode(address: &str, opts: &LightOptions, cmd: &LightCommand) -> Vec<Publish> {
    let mut m = Map::new();
    m.insert("on".into(), json!(cmd.on));
    if cmd.on {
        m.insert("bri".into(), json!(scale(cmd.brightness, 255, true)));
        if let Some(k) = kelvin(cmd.color, opts) {
            m.insert("seg".into(), json!([{"cct": k.clamp(1900, 10091)}]));
        } else if let Some(c) = rgb(cmd.color) {
            m.insert("seg".into(), json!([{"col": [c]}]));
        }
    }
    let tt = units(
        cmd.transition.unwrap_or(Duration::ZERO),
        TT_UNIT,
        u32::from(u16::MAX),
    );
    m.insert("tt".into(), json!(tt));
    vec![Publish::command(
        format!("{address}/api"),
        Value::Object(m).to_string(),
    )]
}

#[cfg(test)]
mod tests {
    use crate::lights::command::LightCommand;
    use crate::lights::drivers::encode;
    use crate::lights::drivers::tests::report;
    use crate::lights::drivers::{DriverSettings, wled::Wled};
    use crate::lights::options::{DriverKind, LightOptions};
    use crate::lights::target::LightColor;

    /// WLED JSON API (<https://kno.wled.ge/interfaces/json-api/>): `seg.cct` in kelvin for
    /// strips with white channels.
    #[test]
    fn snapshot() {
        let opts = LightOptions::defaults(DriverKind::Wled);
        insta::assert_snapshot!(report("wled/altar", &opts));
    }

    fn rgb_strip() -> LightOptions {
        LightOptions::with_driver(DriverSettings::Wled(Wled {
            kelvin_as_rgb: true,
        }))
    }

    /// WLED JSON API, `seg.col` (`[[r,g,b]]`): an RGB-only strip gets the white point.
    #[test]
    fn snapshot_rgb_only_strip() {
        insta::assert_snapshot!(report("wled/strip", &rgb_strip()));
    }

    /// After a `color` cue, a `kelvin` cue (as the safe light is) replaces the colour with
    /// warm white on an RGB-only strip: red full, green well below, blue lowest, no `cct`.
    #[test]
    fn kelvin_after_colour_turns_an_rgb_strip_white() {
        let opts = rgb_strip();
        let cmd = |color| LightCommand {
            on: true,
            brightness: 0.3,
            color: Some(color),
            transition: None,
        };
        let red = encode("wled/strip", &opts, &cmd(LightColor::Rgb([255, 30, 0])));
        let warm = encode("wled/strip", &opts, &cmd(LightColor::Kelvin(2200)));
        let v: serde_json::Value = serde_json::from_str(&warm[0].payload).expect("json");
        let col = &v["seg"][0]["col"][0];
        let [r, g, b] = [0, 1, 2].map(|i| col[i].as_u64().expect("channel"));
        assert_eq!(r, 255);
        assert!(g > 120 && g < 200 && b < g, "{col}");
        assert!(v["seg"][0].get("cct").is_none());
        assert_ne!(red[0].payload, warm[0].payload);
        let cool = encode("wled/strip", &opts, &cmd(LightColor::Kelvin(6500)));
        let v: serde_json::Value = serde_json::from_str(&cool[0].payload).expect("json");
        let col = &v["seg"][0]["col"][0];
        assert!(
            (0..3).all(|i| col[i].as_u64().expect("channel") > 235),
            "{col}"
        );
    }
}
