//! A rig's `[lights.<name>]` into a typed [`LightDef`]: the driver, its settings and every
//! device option become [`LightOptions`] here, with the driver's defaults for what the rig
//! leaves out, so that nothing is parsed again later. Each problem is reported at its span;
//! `run` refuses exactly what this refuses.

use super::super::raw::{RawLight, Str};
use super::Ctx;
use crate::lights::curve::DeviceCurve;
use crate::lights::options::{
    DriverKind, DriverSettings, LightOptions, ShellyComponent, ShellyGen, check_template,
};
use crate::model::LightDef;

/// Exponent used when a rig says `curve = "gamma"` without `gamma`.
pub const DEFAULT_GAMMA: f32 = 2.2;

/// Device curves a light may declare.
const DEVICE_CURVES: [&str; 3] = ["cie", "linear", "gamma"];

/// Shelly components a light may declare.
const SHELLY_COMPONENTS: [&str; 3] = ["light", "cct", "rgb"];

/// Resolves one light. A light with problems still comes back (with defaults in place of
/// what is wrong), so that scenes naming it are checked too; the problems are in `ctx`.
#[allow(clippy::too_many_lines, clippy::cast_possible_truncation)]
pub(super) fn resolve_light(ctx: &mut Ctx<'_>, name: &Str, raw: &RawLight) -> LightDef {
    let kind = match &raw.driver {
        Some(d) => ctx
            .one_of(d, "driver", &DriverKind::NAMES)
            .and_then(DriverKind::from_name),
        None => {
            ctx.error(
                name.span(),
                format!(
                    "light `{}` has no `driver`; expected one of {}",
                    name.get_ref(),
                    DriverKind::NAMES.map(|d| format!("`{d}`")).join(", ")
                ),
            );
            None
        }
    };
    let address = match &raw.address {
        Some(a) => match crate::mqtt::topics::check_address(a.get_ref()) {
            Ok(()) => a.get_ref().clone(),
            Err(why) => {
                ctx.error(a.span(), why);
                String::new()
            }
        },
        None => {
            ctx.error(
                name.span(),
                format!("light `{}` has no `address`", name.get_ref()),
            );
            String::new()
        }
    };
    if kind == Some(DriverKind::HaJson)
        && let Some(a) = &raw.address
        && let Some(why) = esphome_topic_problem(a.get_ref())
    {
        ctx.error(a.span(), why);
    }
    for (key, present, wanted) in [
        ("topic", raw.topic.is_some(), DriverKind::Template),
        ("payload", raw.payload.is_some(), DriverKind::Template),
        (
            "base_topic",
            raw.base_topic.is_some(),
            DriverKind::Zigbee2Mqtt,
        ),
        (
            "brightness_scale",
            raw.brightness_scale.is_some(),
            DriverKind::HaJson,
        ),
        (
            "color_temp_kelvin",
            raw.color_temp_kelvin.is_some(),
            DriverKind::HaJson,
        ),
        (
            "kelvin_as_rgb",
            raw.kelvin_as_rgb.is_some(),
            DriverKind::Wled,
        ),
        ("generation", raw.generation.is_some(), DriverKind::Shelly),
        ("component", raw.component.is_some(), DriverKind::Shelly),
    ] {
        if present && kind.is_some_and(|k| k != wanted) {
            ctx.error(
                name.span(),
                format!(
                    "light `{}`: `{key}` only applies to the `{}` driver",
                    name.get_ref(),
                    wanted.name()
                ),
            );
        }
    }
    // An unknown driver is already reported; its settings are not checked against a guess.
    let driver = kind.map_or(DriverSettings::Tasmota, |k| settings(ctx, k, raw));
    let mut opts = LightOptions::with_driver(driver);
    if raw.group == Some(true) {
        opts = opts.as_group();
    }
    if let Some(native) = raw.native_fade {
        opts.native_fade = native;
    }
    if let Some(max) = raw
        .max_fade
        .as_ref()
        .and_then(|d| ctx.positive(d, "max_fade"))
    {
        opts.max_native_fade = max;
    }
    if let Some(min) = raw
        .min_level
        .as_ref()
        .and_then(|n| ctx.range(n, "min_level", 0.0, 0.5))
    {
        opts.min_level = min as f32;
    }
    let curve = raw
        .curve
        .as_ref()
        .and_then(|c| ctx.one_of(c, "device curve", &DEVICE_CURVES));
    let gamma = raw.gamma.as_ref().and_then(|g| {
        if curve != Some("gamma") {
            ctx.error(g.span(), "`gamma` only applies with `curve = \"gamma\"`");
        }
        ctx.range(g, "gamma", 1.0, 4.0).map(|v| v as f32)
    });
    match curve {
        Some("cie") => opts.curve = DeviceCurve::Cie,
        Some("linear") => opts.curve = DeviceCurve::Linear,
        Some(_) => opts.curve = DeviceCurve::Gamma(gamma.unwrap_or(DEFAULT_GAMMA)),
        None => {}
    }
    if let Some(r) = &raw.kelvin_range {
        let [lo, hi] = *r.get_ref();
        if (1000..=10000).contains(&lo) && (1000..=10000).contains(&hi) && lo < hi {
            opts.kelvin_range = (lo as u16, hi as u16);
        } else {
            ctx.error(
                r.span(),
                "`kelvin_range` must be [low, high] with 1000 <= low < high <= 10000",
            );
        }
    }
    // An explicit rate wins over the group default.
    if let Some(rate) = raw
        .max_rate
        .as_ref()
        .and_then(|n| ctx.range(n, "max_rate", 0.05, 20.0))
    {
        opts.max_rate = rate as f32;
    }
    if let Some(split) = raw.split_color {
        opts.split_color = split;
    }
    if let Err(why) = opts.validate() {
        ctx.error(name.span(), format!("light `{}`: {why}", name.get_ref()));
    }
    LightDef {
        name: name.get_ref().clone(),
        address,
        options: opts,
    }
}

/// The driver's own settings: its defaults, then what the rig sets.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn settings(ctx: &mut Ctx<'_>, kind: DriverKind, raw: &RawLight) -> DriverSettings {
    let mut driver = DriverSettings::defaults(kind);
    match &mut driver {
        DriverSettings::Zigbee2Mqtt { base_topic } => {
            if let Some(b) = &raw.base_topic {
                base_topic.clone_from(b.get_ref());
            }
        }
        DriverSettings::Tasmota => {}
        DriverSettings::Shelly {
            generation,
            channel,
            component,
            ..
        } => {
            if let Some(g) = &raw.generation {
                match *g.get_ref() {
                    1 => *generation = ShellyGen::Gen1,
                    2 => *generation = ShellyGen::Gen2,
                    other => ctx.error(
                        g.span(),
                        format!("`generation` is {other}; Shelly devices are 1 or 2"),
                    ),
                }
            }
            if let Some(c) = &raw.component {
                match ctx.one_of(c, "Shelly component", &SHELLY_COMPONENTS) {
                    Some("cct") => *component = ShellyComponent::Cct,
                    Some("rgb") => *component = ShellyComponent::Rgb,
                    Some(_) => *component = ShellyComponent::Light,
                    None => {}
                }
            }
            if let Some(c) = &raw.channel {
                let v = *c.get_ref();
                if (0..=7).contains(&v) {
                    *channel = v as u8;
                } else {
                    ctx.error(c.span(), format!("`channel` is {v}, outside 0..=7"));
                }
            }
        }
        DriverSettings::HaJson {
            brightness_scale,
            color_temp_kelvin,
        } => {
            if let Some(b) = &raw.brightness_scale {
                let v = *b.get_ref();
                if (1..=65535).contains(&v) {
                    *brightness_scale = v as u16;
                } else {
                    ctx.error(
                        b.span(),
                        format!("`brightness_scale` is {v}, outside 1..=65535"),
                    );
                }
            }
            if let Some(k) = raw.color_temp_kelvin {
                *color_temp_kelvin = k;
            }
        }
        DriverSettings::Wled { kelvin_as_rgb } => {
            if let Some(k) = raw.kelvin_as_rgb {
                *kelvin_as_rgb = k;
            }
        }
        DriverSettings::Template { topic, payload } => {
            if raw.topic.is_none() || raw.payload.is_none() {
                let span = raw.driver.as_ref().map_or(0..0, Str::span);
                ctx.error(
                    span,
                    "the `template` driver needs `topic` and `payload` templates",
                );
            }
            for (slot, given) in [(topic, &raw.topic), (payload, &raw.payload)] {
                if let Some(t) = given {
                    match check_template(t.get_ref()) {
                        Ok(()) => slot.clone_from(t.get_ref()),
                        Err(why) => ctx.error(t.span(), why.to_string()),
                    }
                }
            }
        }
    }
    driver
}

/// Why an `ha-json` address cannot be a light's command topic, if it cannot: ESPHome reads
/// commands on `<prefix>/light/<object_id>/command` and publishes its state on `…/state`
/// (ESPHome MQTT client component, <https://esphome.io/components/mqtt/>: the command topic
/// defaults to `<TOPIC_PREFIX>/<COMPONENT_TYPE>/<COMPONENT_NAME>/command`).
fn esphome_topic_problem(address: &str) -> Option<String> {
    let parts: Vec<&str> = address.split('/').collect();
    if parts.len() == 3 && parts[1] == "light" {
        return Some(format!(
            "`{address}` is where ESPHome's light lives, not where it reads commands: write \"{address}/command\""
        ));
    }
    if let Some(base) = address.strip_suffix("/state") {
        return Some(format!(
            "`{address}` is a state topic, which the light publishes and never reads: write its command topic, such as \"{base}/command\""
        ));
    }
    None
}
