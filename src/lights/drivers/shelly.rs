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
//! - Colours the component cannot show are left out (a plain dimmer gets no `ct`); a colour
//!   temperature for an `rgb` component comes as its white point in RGB ([`super::encode`]).
//! - `model` names a device whose generation, component and white range are known (the
//!   table [`MODELS`], from the Gen1 and Gen2 API pages cited there); `generation`,
//!   `component` and `kelvin_range` written beside it win.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{
    BULB_MAX_RATE, Capabilities, ColorModes, Driver, Keys, kelvin, rgb, scale, seconds, units,
};
use crate::lights::command::{LightCommand, Publish};
use crate::lights::curve::DeviceCurve;
use crate::lights::options::LightOptions;

/// Gen1 `transition` limit: 5000 ms.
const GEN1_MAX_TRANSITION_MS: u32 = 5000;

/// Gen1 `transition`: 0–5000 ms (Shelly Gen1 API, `/light/{index}`; home-assistant/core
/// `shelly/const.py` `BLOCK_MAX_TRANSITION_TIME_MS = 5000`).
pub const SHELLY_GEN1_MAX_FADE: Duration = Duration::from_secs(5);
/// Gen2+ `transition_duration`: seconds, 0.5–10800 (Shelly Gen2 API, `Light.Set`, `CCT.Set`,
/// `RGB.Set`; the bounds as home-assistant/core `shelly/const.py` records them next to
/// `RPC_MIN_TRANSITION_TIME_SEC = 0.5`: "max=10800").
pub const SHELLY_GEN2_MAX_FADE: Duration = Duration::from_secs(10_800);
/// Gen2+ shortest `transition_duration`.
pub const SHELLY_GEN2_MIN_FADE: Duration = Duration::from_millis(500);

/// Shelly API generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ShellyGen {
    /// Gen1 (Dimmer 1/2, Vintage, Duo, Bulb, RGBW2): plain JSON on `shellies/<id>/light/<ch>/set`.
    #[default]
    Gen1,
    /// Gen2/3/4 (Plus/Pro): JSON-RPC on `<id>/rpc`.
    Gen2,
}

/// Which Shelly component drives the light: it picks the gen1 topic path and the gen2 RPC method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ShellyComponent {
    /// A dimmer or white light: gen1 `light/<ch>` (Duo: also `temp`), gen2 `Light.Set`.
    #[default]
    Light,
    /// A tunable-white light: gen1 `light/<ch>` with `temp`, gen2 `CCT.Set` with `ct`.
    Cct,
    /// A colour light: gen1 `color/<ch>` with `red`/`green`/`blue`/`gain`, gen2 `RGB.Set`.
    Rgb,
}

/// A Shelly model the rig can name (`model = "duo"`): its generation, the component that
/// drives its light and its white range, if it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Model {
    /// The name in rig files.
    pub name: &'static str,
    /// Its API generation.
    pub generation: ShellyGen,
    /// The component its light is.
    pub component: ShellyComponent,
    /// Its white range in kelvin, for a light with tunable white.
    pub kelvin_range: Option<(u16, u16)>,
}

/// The models sanctum knows (reference `mqtt-lights.md` §1.3–1.4): Gen1 Dimmer 1/2 and
/// Vintage (`light/0`, brightness only), Duo (`light/0` with `temp` 2700–6500 K), Bulb and
/// RGBW2 in colour mode (`color/0`); Gen2+ Plus and Pro Dimmers (`Light.Set`) and the Duo
/// Bulb Gen3 (`CCT.Set` with `ct`, Shelly Gen2 API `Devices/Gen3/ShellyDuoBulbG3`; its range
/// taken as the Duo's).
pub const MODELS: [Model; 8] = [
    Model::new("dimmer", ShellyGen::Gen1, ShellyComponent::Light, None),
    Model::new("vintage", ShellyGen::Gen1, ShellyComponent::Light, None),
    Model::new(
        "duo",
        ShellyGen::Gen1,
        ShellyComponent::Cct,
        Some((2700, 6500)),
    ),
    Model::new("bulb", ShellyGen::Gen1, ShellyComponent::Rgb, None),
    Model::new("rgbw2", ShellyGen::Gen1, ShellyComponent::Rgb, None),
    Model::new("plus-dimmer", ShellyGen::Gen2, ShellyComponent::Light, None),
    Model::new("pro-dimmer", ShellyGen::Gen2, ShellyComponent::Light, None),
    Model::new(
        "duo-gen3",
        ShellyGen::Gen2,
        ShellyComponent::Cct,
        Some((2700, 6500)),
    ),
];

impl Model {
    const fn new(
        name: &'static str,
        generation: ShellyGen,
        component: ShellyComponent,
        kelvin_range: Option<(u16, u16)>,
    ) -> Self {
        Self {
            name,
            generation,
            component,
            kelvin_range,
        }
    }
}

/// The `shelly` driver and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shelly {
    /// The model the rig named, if any (it set the defaults of the next three).
    pub model: Option<Model>,
    /// API generation (rig key `generation`, 1 or 2; default 1).
    pub generation: ShellyGen,
    /// Light channel (`light/<ch>` on gen1, `id` on gen2; rig key `channel`, default 0).
    pub channel: u8,
    /// Component type of the light (rig key `component`, default `light`).
    pub component: ShellyComponent,
    /// Gen2 RPC `src`: replies go to `<src>/rpc`. Always `sanctum`.
    pub src: String,
}

impl Default for Shelly {
    fn default() -> Self {
        Self::new(ShellyGen::Gen1, 0, ShellyComponent::Light)
    }
}

impl Shelly {
    /// A Shelly of the given generation, channel and component, no model named.
    #[must_use]
    pub fn new(generation: ShellyGen, channel: u8, component: ShellyComponent) -> Self {
        Self {
            model: None,
            generation,
            channel,
            component,
            src: "sanctum".to_owned(),
        }
    }
}

/// Component names in rig files.
const COMPONENTS: [&str; 3] = ["light", "cct", "rgb"];

impl Driver for Shelly {
    const NAME: &'static str = "shelly";
    const KEYS: &'static [&'static str] = &["model", "generation", "channel", "component"];

    fn read(keys: &mut dyn Keys) -> Self {
        let mut d = Self::default();
        let names = MODELS.map(|m| m.name);
        if let Some(name) = keys.choice("model", &names) {
            let model = MODELS.iter().find(|m| m.name == name).copied();
            if let Some(m) = model {
                d.generation = m.generation;
                d.component = m.component;
            }
            d.model = model;
        }
        match keys.integer("generation", 1..=2) {
            Some(1) => d.generation = ShellyGen::Gen1,
            Some(_) => d.generation = ShellyGen::Gen2,
            None => {}
        }
        if let Some(c) = keys
            .integer("channel", 0..=7)
            .and_then(|c| u8::try_from(c).ok())
        {
            d.channel = c;
        }
        match keys.choice("component", &COMPONENTS) {
            Some("cct") => d.component = ShellyComponent::Cct,
            Some("rgb") => d.component = ShellyComponent::Rgb,
            Some(_) => d.component = ShellyComponent::Light,
            None => {}
        }
        d
    }

    /// Native fades up to 5 s on Gen1 and 10,800 s on Gen2+ ([`SHELLY_GEN1_MAX_FADE`],
    /// [`SHELLY_GEN2_MAX_FADE`]), `brightness` 0–100 with 1 % the first visible, the CIE
    /// curve (undocumented), the model's white range or 2700–6500 K (Duo); colours by
    /// component: `light` a Gen1 Duo's `temp` (a Gen2 `Light.Set` takes none), `cct` kelvin,
    /// `rgb` RGB.
    fn capabilities(&self) -> Capabilities {
        let colors = match (self.component, self.generation) {
            (ShellyComponent::Light, ShellyGen::Gen1) if self.model.is_none() => ColorModes::KELVIN,
            (ShellyComponent::Light, _) => ColorModes::NONE,
            (ShellyComponent::Cct, _) => ColorModes::KELVIN,
            (ShellyComponent::Rgb, _) => ColorModes::RGB,
        };
        Capabilities {
            native_fade: true,
            max_native_fade: match self.generation {
                ShellyGen::Gen1 => SHELLY_GEN1_MAX_FADE,
                ShellyGen::Gen2 => SHELLY_GEN2_MAX_FADE,
            },
            min_level: 0.01,
            curve: DeviceCurve::Cie,
            kelvin_range: self
                .model
                .and_then(|m| m.kelvin_range)
                .unwrap_or((2700, 6500)),
            max_rate: BULB_MAX_RATE,
            transition_resolution: Duration::from_millis(1),
            brightness_steps: 100,
            colors,
        }
    }

    fn encode(&self, address: &str, opts: &LightOptions, cmd: &LightCommand) -> Vec<Publish> {
        encode(self, address, opts, cmd)
    }
}

/// Encodes one command for the Shelly whose device id (gen1) or topic prefix (gen2) is `address`.
fn encode(shelly: &Shelly, address: &str, opts: &LightOptions, cmd: &LightCommand) -> Vec<Publish> {
    let (generation, channel, component, src) = (
        shelly.generation,
        shelly.channel,
        shelly.component,
        shelly.src.as_str(),
    );
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
    use super::{ShellyComponent, ShellyGen};
    use crate::lights::drivers::tests::report;
    use crate::lights::options::LightOptions;

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
