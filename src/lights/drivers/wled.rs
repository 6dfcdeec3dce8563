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

use super::{kelvin, rgb, scale, units};
use crate::lights::command::{LightCommand, Publish};
use crate::lights::options::{DriverSettings, LightOptions};
use crate::units::kelvin_rgb;

/// `tt` unit: 100 ms.
const TT_UNIT: Duration = Duration::from_millis(100);

/// Encodes one command for the WLED whose device topic is `address`.
#[must_use]
pub fn encode(address: &str, opts: &LightOptions, cmd: &LightCommand) -> Vec<Publish> {
    let mut m = Map::new();
    m.insert("on".into(), json!(cmd.on));
    if cmd.on {
        m.insert("bri".into(), json!(scale(cmd.brightness, 255, true)));
        let as_rgb = matches!(
            opts.driver,
            DriverSettings::Wled {
                kelvin_as_rgb: true
            }
        );
        if let Some(k) = kelvin(cmd.color, opts) {
            if as_rgb {
                m.insert("seg".into(), json!([{"col": [kelvin_rgb(k)]}]));
            } else {
                m.insert("seg".into(), json!([{"cct": k.clamp(1900, 10091)}]));
            }
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
    use crate::lights::options::{DriverKind, DriverSettings, LightOptions};
    use crate::lights::target::LightColor;

    /// WLED JSON API (<https://kno.wled.ge/interfaces/json-api/>): `seg.cct` in kelvin for
    /// strips with white channels.
    #[test]
    fn snapshot() {
        let opts = LightOptions::defaults(DriverKind::Wled);
        insta::assert_snapshot!(report("wled/altar", &opts));
    }

    fn rgb_strip() -> LightOptions {
        LightOptions::with_driver(DriverSettings::Wled {
            kelvin_as_rgb: true,
        })
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
