//! WLED encoder: JSON API on `<device topic>/api` (reference §1.7). The address is the WLED
//! device topic as configured there (default `wled/<mac>`), so `wled/altar` publishes to
//! `wled/altar/api`. Pure; it must not pace, plan or publish.
//!
//! `{"on":true,"bri":1–255,"tt":n,"seg":[{"cct":K}]}`: `tt` is this call's transition in
//! 100 ms units (0–65535), `cct` in kelvin (1900–10091), colour as `seg[0].col[0]`. OFF is
//! `"on":false` rather than `bri 0`, as the WLED docs recommend.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{kelvin, rgb, scale, units};
use crate::lights::command::{LightCommand, Publish};
use crate::lights::options::LightOptions;

/// `tt` unit: 100 ms.
const TT_UNIT: Duration = Duration::from_millis(100);

/// Encodes one command for the WLED whose device topic is `address`.
#[must_use]
pub fn encode(address: &str, opts: &LightOptions, cmd: &LightCommand) -> Vec<Publish> {
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
    use crate::lights::drivers::tests::report;
    use crate::lights::options::{DriverKind, LightOptions};

    #[test]
    fn snapshot() {
        let opts = LightOptions::defaults(DriverKind::Wled);
        insta::assert_snapshot!(report("wled/altar", &opts));
    }
}
