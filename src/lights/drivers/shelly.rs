//! Shelly encoder, gen1 plain JSON and gen2+ JSON-RPC (reference §1.3, §1.4). Pure; it must
//! not pace, plan or publish.
//!
//! - Gen1: `shellies/<id>/light/<ch>/set` (or `color/<ch>/set` for a colour component) ←
//!   `{"turn":"on","brightness":0–100,"temp":K,"transition":ms}`, transition 0–5000 ms.
//!   Colour mode uses `red`/`green`/`blue` and `gain` (0–100) for brightness.
//! - Gen2+: `<id>/rpc` ← `{"id":0,"src":"<src>","method":"Light.Set","params":{"id":<ch>,
//!   "on":…,"brightness":0–100,"transition_duration":s}}` (Shelly Gen2 API,
//!   `ComponentsAndServices/Light`); the rig's `component = "cct"` picks `CCT.Set`, which adds
//!   `ct` in kelvin (`ComponentsAndServices/CCT`, e.g. the Duo Bulb Gen3), and
//!   `component = "rgb"` picks `RGB.Set` with `rgb` `[r,g,b]`. `transition_duration` is
//!   kept within 0.5–10800 s ([`SHELLY_GEN2_MIN_FADE`], [`SHELLY_GEN2_MAX_FADE`]). The
//!   request `id` is always 0: commands are fire-and-forget and replies (to `<src>/rpc`)
//!   are not awaited.
//! - Colours the component cannot show are left out (a plain dimmer gets no `ct`).

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{kelvin, rgb, scale, seconds, units};
use crate::lights::command::{LightCommand, Publish};
use crate::lights::options::{
    DriverSettings, LightOptions, SHELLY_GEN2_MAX_FADE, SHELLY_GEN2_MIN_FADE, ShellyComponent,
    ShellyGen,
};

/// Gen1 `transition` limit: 5000 ms.
const GEN1_MAX_TRANSITION_MS: u32 = 5000;

/// Encodes one command for the Shelly whose device id (gen1) or topic prefix (gen2) is `address`.
#[must_use]
pub fn encode(address: &str, opts: &LightOptions, cmd: &LightCommand) -> Vec<Publish> {
    let (generation, channel, component, src) = match &opts.driver {
        DriverSettings::Shelly {
            generation,
            channel,
            component,
            src,
        } => (*generation, *channel, *component, src.as_str()),
        _ => (ShellyGen::Gen1, 0, ShellyComponent::Light, "sanctum"),
    };
    match generation {
        ShellyGen::Gen1 => vec![gen1(address, opts, cmd, channel, component)],
        ShellyGen::Gen2 => vec![gen2(address, opts, cmd, channel, component, src)],
    }
}

fn gen1(
    address: &str,
    opts: &LightOptions,
    cmd: &LightCommand,
    channel: u8,
    component: ShellyComponent,
) -> Publish {
    let path = match component {
        ShellyComponent::Rgb => "color",
        ShellyComponent::Light | ShellyComponent::Cct => "light",
    };
    let mut m = Map::new();
    m.insert("turn".into(), json!(if cmd.on { "on" } else { "off" }));
    if cmd.on {
        let pct = scale(cmd.brightness, 100, true);
        match component {
            ShellyComponent::Rgb => {
                if let Some([r, g, b]) = rgb(cmd.color) {
                    m.insert("red".into(), json!(r));
                    m.insert("green".into(), json!(g));
                    m.insert("blue".into(), json!(b));
                }
                m.insert("gain".into(), json!(pct));
            }
            ShellyComponent::Light | ShellyComponent::Cct => {
                m.insert("brightness".into(), json!(pct));
                if let Some(k) = kelvin(cmd.color, opts) {
                    m.insert("temp".into(), json!(k));
                }
            }
        }
    }
    let ms = units(
        cmd.transition.unwrap_or(Duration::ZERO),
        Duration::from_millis(1),
        GEN1_MAX_TRANSITION_MS,
    );
    if cmd.on || cmd.transition.is_some() {
        m.insert("transition".into(), json!(ms));
    }
    Publish::command(
        format!("shellies/{address}/{path}/{channel}/set"),
        Value::Object(m).to_string(),
    )
}

fn gen2(
    address: &str,
    opts: &LightOptions,
    cmd: &LightCommand,
    channel: u8,
    component: ShellyComponent,
    src: &str,
) -> Publish {
    let method = match component {
        ShellyComponent::Light => "Light.Set",
        ShellyComponent::Cct => "CCT.Set",
        ShellyComponent::Rgb => "RGB.Set",
    };
    let mut params = Map::new();
    params.insert("id".into(), json!(channel));
    params.insert("on".into(), json!(cmd.on));
    if cmd.on {
        params.insert("brightness".into(), json!(scale(cmd.brightness, 100, true)));
        match component {
            ShellyComponent::Cct => {
                if let Some(k) = kelvin(cmd.color, opts) {
                    params.insert("ct".into(), json!(k));
                }
            }
            ShellyComponent::Rgb => {
                if let Some(c) = rgb(cmd.color) {
                    params.insert("rgb".into(), json!(c));
                }
            }
            ShellyComponent::Light => {}
        }
    }
    if let Some(t) = cmd.transition {
        let t = t.clamp(SHELLY_GEN2_MIN_FADE, SHELLY_GEN2_MAX_FADE);
        params.insert("transition_duration".into(), json!(seconds(t, 3)));
    }
    let frame = json!({"id": 0, "src": src, "method": method, "params": Value::Object(params)});
    Publish::command(format!("{address}/rpc"), frame.to_string())
}

#[cfg(test)]
mod tests {
    use crate::lights::drivers::tests::report;
    use crate::lights::options::{LightOptions, ShellyComponent, ShellyGen};

    #[test]
    fn snapshot_gen1_duo() {
        let opts = LightOptions::shelly(ShellyGen::Gen1, 0, ShellyComponent::Cct);
        insta::assert_snapshot!(report("shellybulbduo-AABBCC", &opts));
    }

    #[test]
    fn snapshot_gen1_colour() {
        let opts = LightOptions::shelly(ShellyGen::Gen1, 0, ShellyComponent::Rgb);
        insta::assert_snapshot!(report("shellycolorbulb-DDEEFF", &opts));
    }

    /// Shelly Gen2 API, `ComponentsAndServices/Light` (`Light.Set`, `transition_duration` in
    /// seconds, 0.5–10800).
    #[test]
    fn snapshot_gen2_dimmer() {
        let opts = LightOptions::shelly(ShellyGen::Gen2, 1, ShellyComponent::Light);
        insta::assert_snapshot!(report("shellyplusdimmer-a8032abe54dc", &opts));
    }

    /// Shelly Gen2 API, `ComponentsAndServices/CCT` (`CCT.Set` with `ct` in kelvin) for a
    /// tunable-white bulb such as the Duo Bulb Gen3 (`Devices/Gen3/ShellyDuoBulbG3`).
    #[test]
    fn snapshot_gen2_cct() {
        let opts = LightOptions::shelly(ShellyGen::Gen2, 0, ShellyComponent::Cct);
        insta::assert_snapshot!(report("shellyduobulbg3", &opts));
    }
}
