//! Per-light options: which driver encodes the light, what the device can do (native fades,
//! longest fade, first visible level, curve, colour range, message rate) and the driver's own
//! settings, with defaults taken from the MQTT lights reference. Owns the option types and
//! their defaults; it must not encode payloads, parse files or plan fades.

use std::time::Duration;

pub use super::curve::DeviceCurve;

/// Which ecosystem a light speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DriverKind {
    /// Zigbee2MQTT (`<base_topic>/<name>/set`, JSON).
    Zigbee2Mqtt,
    /// Tasmota (`cmnd/<topic>/Backlog`, plain text).
    Tasmota,
    /// Shelly, gen1 (`shellies/<id>/light/<ch>/set`) or gen2+ JSON-RPC (`<id>/rpc`).
    Shelly,
    /// Home Assistant MQTT JSON schema, as ESPHome and many DIY firmwares accept.
    HaJson,
    /// WLED JSON API (`wled/<id>/api`).
    Wled,
    /// User-supplied topic and payload templates.
    Template,
}

impl DriverKind {
    /// Every driver, in the order of [`DriverKind::NAMES`].
    pub const ALL: [Self; 6] = [
        Self::Zigbee2Mqtt,
        Self::Tasmota,
        Self::Shelly,
        Self::HaJson,
        Self::Wled,
        Self::Template,
    ];

    /// The names used in rig files.
    pub const NAMES: [&'static str; 6] = [
        "zigbee2mqtt",
        "tasmota",
        "shelly",
        "ha-json",
        "wled",
        "template",
    ];

    /// Reads a driver name as written in a rig file.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Self::ALL[i])
    }

    /// The name used in rig files.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Zigbee2Mqtt => "zigbee2mqtt",
            Self::Tasmota => "tasmota",
            Self::Shelly => "shelly",
            Self::HaJson => "ha-json",
            Self::Wled => "wled",
            Self::Template => "template",
        }
    }
}

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

/// Driver-specific settings. The variant decides the [`DriverKind`].
#[derive(Debug, Clone, PartialEq)]
pub enum DriverSettings {
    /// Zigbee2MQTT.
    Zigbee2Mqtt {
        /// Z2M `base_topic` (default `zigbee2mqtt`).
        base_topic: String,
    },
    /// Tasmota: no extra settings (the address is the Tasmota `%topic%`).
    Tasmota,
    /// Shelly.
    Shelly {
        /// API generation.
        generation: ShellyGen,
        /// Light channel (`light/<ch>` on gen1, `id` on gen2). Default 0.
        channel: u8,
        /// Component type of the light. Default [`ShellyComponent::Light`].
        component: ShellyComponent,
        /// Gen2 RPC `src`: replies go to `<src>/rpc`. Default `sanctum`.
        src: String,
    },
    /// Home Assistant JSON schema (ESPHome and others).
    HaJson {
        /// Top of the brightness scale (HA `brightness_scale`, default 255).
        brightness_scale: u16,
        /// Send `color_temp` in kelvin instead of mireds (HA `color_temp_kelvin`, default false).
        color_temp_kelvin: bool,
    },
    /// WLED (the address is the device topic, e.g. `wled/kitchen`).
    Wled {
        /// Send colour temperatures as their white point in RGB (`seg.col`) instead of
        /// `seg.cct`, for RGB-only strips, which ignore `cct` (WLED JSON API, `seg.cct`
        /// applies to white channels only). Default false.
        kelvin_as_rgb: bool,
    },
    /// Topic and payload templates, expanded by substitution.
    ///
    /// Placeholders (anything else in braces is rejected by [`check_template`]):
    /// - `{address}`: the light's address as written in the rig;
    /// - `{state}`: `ON` or `OFF`; `{on}`: `true` or `false`;
    /// - `{level}`: device fraction 0..=1 with three decimals; `{level_255}`: 0..=255;
    ///   `{level_254}`: 0..=254; `{level_pct}`: 0..=100;
    /// - `{kelvin}`, `{mired}`: colour temperature, empty when the command sets none;
    /// - `{r}`, `{g}`, `{b}`, `{hex}` (`RRGGBB`): colour, empty when the command sets none;
    /// - `{transition_s}` (seconds, up to three decimals), `{transition_ms}`: `0` when none.
    Template {
        /// Topic template, e.g. `home/{address}/set`.
        topic: String,
        /// Payload template, e.g. `{"state":"{state}","brightness":{level_255}}`.
        payload: String,
    },
}

impl DriverSettings {
    /// The driver these settings belong to.
    #[must_use]
    pub fn kind(&self) -> DriverKind {
        match self {
            Self::Zigbee2Mqtt { .. } => DriverKind::Zigbee2Mqtt,
            Self::Tasmota => DriverKind::Tasmota,
            Self::Shelly { .. } => DriverKind::Shelly,
            Self::HaJson { .. } => DriverKind::HaJson,
            Self::Wled { .. } => DriverKind::Wled,
            Self::Template { .. } => DriverKind::Template,
        }
    }

    /// Default settings for a driver (Shelly: gen1, channel 0).
    #[must_use]
    pub fn defaults(kind: DriverKind) -> Self {
        match kind {
            DriverKind::Zigbee2Mqtt => Self::Zigbee2Mqtt {
                base_topic: "zigbee2mqtt".to_owned(),
            },
            DriverKind::Tasmota => Self::Tasmota,
            DriverKind::Shelly => Self::Shelly {
                generation: ShellyGen::Gen1,
                channel: 0,
                component: ShellyComponent::Light,
                src: "sanctum".to_owned(),
            },
            DriverKind::HaJson => Self::HaJson {
                brightness_scale: 255,
                color_temp_kelvin: false,
            },
            DriverKind::Wled => Self::Wled {
                kelvin_as_rgb: false,
            },
            DriverKind::Template => Self::Template {
                topic: "{address}/set".to_owned(),
                payload: r#"{"state":"{state}","brightness":{level_255}}"#.to_owned(),
            },
        }
    }
}

/// Everything sanctum needs to know to drive one light (or one group address).
#[derive(Debug, Clone, PartialEq)]
pub struct LightOptions {
    /// Driver and its settings.
    pub driver: DriverSettings,
    /// Whether the device runs transitions itself. When false, fades are stepped in software.
    pub native_fade: bool,
    /// Longest transition to ask of the device in one command; longer fades are chained.
    pub max_native_fade: Duration,
    /// Device fraction (0..=1) that is first visibly on; perceived 0⁺ maps here.
    pub min_level: f32,
    /// How perceived level maps to the device value.
    pub curve: DeviceCurve,
    /// Colour temperature range of the bulb in kelvin, `(warmest, coolest)`; colour
    /// temperatures are clamped into it.
    pub kelvin_range: (u16, u16),
    /// Most messages per second to send to this light (sustained).
    pub max_rate: f32,
    /// Send brightness and colour as separate messages (IKEA bulbs drop the brightness
    /// transition when both come in one Z2M command; reference §1.1).
    pub split_color: bool,
    /// The address is a group (a Zigbee broadcast). Set it with [`LightOptions::as_group`],
    /// which also lowers `max_rate` to the group default of 0.5 message/s.
    pub group: bool,
}

/// Gen1 `transition`: 0–5000 ms (Shelly Gen1 API, `/light/{index}`; home-assistant/core
/// `shelly/const.py` `BLOCK_MAX_TRANSITION_TIME_MS = 5000`).
pub const SHELLY_GEN1_MAX_FADE: Duration = Duration::from_secs(5);
/// Gen2+ `transition_duration`: seconds, 0.5–10800 (Shelly Gen2 API, `Light.Set`, `CCT.Set`,
/// `RGB.Set`; the bounds as home-assistant/core `shelly/const.py` records them next to
/// `RPC_MIN_TRANSITION_TIME_SEC = 0.5`: "max=10800").
pub const SHELLY_GEN2_MAX_FADE: Duration = Duration::from_secs(10_800);
/// Gen2+ shortest `transition_duration`.
pub const SHELLY_GEN2_MIN_FADE: Duration = Duration::from_millis(500);

/// The longest native fade of a Shelly, by API generation (see the two constants).
fn shelly_max_fade(driver: &DriverSettings) -> Duration {
    match driver {
        DriverSettings::Shelly {
            generation: ShellyGen::Gen2,
            ..
        } => SHELLY_GEN2_MAX_FADE,
        _ => SHELLY_GEN1_MAX_FADE,
    }
}

/// Default sustained rate for one bulb: ≈1 unicast command/s (reference §2.1).
pub const BULB_MAX_RATE: f32 = 1.0;
/// Default sustained rate for a group: ≤1 group command per ~2 s (reference §2.1).
pub const GROUP_MAX_RATE: f32 = 0.5;

impl LightOptions {
    /// Defaults for a driver, from the reference:
    ///
    /// | driver | native fade, longest | min level | curve | kelvin |
    /// |---|---|---|---|---|
    /// | zigbee2mqtt | yes, 6553.5 s (ZCL tenths, u16) | 1/254 | CIE | 2200–6500 (≈454–153 mired) |
    /// | tasmota | yes, 20 s (`Speed2 40`) | 1 % | linear (`LedTable` gamma) | 2000–6500 (`CT` 500–153) |
    /// | shelly gen1 | yes, 5 s (`transition` ≤ 5000 ms) | 1 % | CIE (undocumented) | 2700–6500 (Duo) |
    /// | shelly gen2+ | yes, 10800 s (`transition_duration` s, 0.5–10800) | 1 % | CIE | 2700–6500 |
    /// | ha-json | yes, 3600 s (ESPHome: ms) | 1/255 | linear (ESPHome gamma 2.8) | 2000–6500 |
    /// | wled | yes, 6553.5 s (`tt` ×100 ms, u16) | 1/255 | CIE (gamma off) | 1900–10091 |
    /// | template | no | 1 % | CIE | 2000–6500 |
    ///
    /// Every light defaults to 1 message/s and no colour splitting; see
    /// [`LightOptions::as_group`].
    #[must_use]
    pub fn defaults(kind: DriverKind) -> Self {
        Self::with_driver(DriverSettings::defaults(kind))
    }

    /// Defaults for a Shelly of the given generation, channel and component.
    #[must_use]
    pub fn shelly(generation: ShellyGen, channel: u8, component: ShellyComponent) -> Self {
        Self::with_driver(DriverSettings::Shelly {
            generation,
            channel,
            component,
            src: "sanctum".to_owned(),
        })
    }

    /// Defaults for the given driver settings.
    #[must_use]
    pub fn with_driver(driver: DriverSettings) -> Self {
        let secs = Duration::from_secs;
        let (native_fade, max_native_fade, min_level, curve, kelvin_range) = match driver.kind() {
            DriverKind::Zigbee2Mqtt => (
                true,
                Duration::from_millis(6_553_500),
                1.0 / 254.0,
                DeviceCurve::Cie,
                (2200, 6500),
            ),
            DriverKind::Tasmota => (true, secs(20), 0.01, DeviceCurve::Linear, (2000, 6500)),
            DriverKind::Shelly => (
                true,
                shelly_max_fade(&driver),
                0.01,
                DeviceCurve::Cie,
                (2700, 6500),
            ),
            DriverKind::HaJson => (
                true,
                secs(3600),
                1.0 / 255.0,
                DeviceCurve::Linear,
                (2000, 6500),
            ),
            DriverKind::Wled => (
                true,
                Duration::from_millis(6_553_500),
                1.0 / 255.0,
                DeviceCurve::Cie,
                (1900, 10091),
            ),
            DriverKind::Template => (false, Duration::ZERO, 0.01, DeviceCurve::Cie, (2000, 6500)),
        };
        Self {
            driver,
            native_fade,
            max_native_fade,
            min_level,
            curve,
            kelvin_range,
            max_rate: BULB_MAX_RATE,
            split_color: false,
            group: false,
        }
    }

    /// The same options for a group address: `group` set and the rate lowered to
    /// [`GROUP_MAX_RATE`] (a Zigbee group command is a broadcast; reference §2.1).
    #[must_use]
    pub fn as_group(mut self) -> Self {
        self.group = true;
        self.max_rate = self.max_rate.min(GROUP_MAX_RATE);
        self
    }

    /// The driver that encodes this light.
    #[must_use]
    pub fn kind(&self) -> DriverKind {
        self.driver.kind()
    }

    /// Whether fades should use native transitions.
    #[must_use]
    pub fn fades_natively(&self) -> bool {
        self.native_fade && !self.max_native_fade.is_zero()
    }

    /// Shortest spacing between two messages to this light, `1 / max_rate`.
    #[must_use]
    pub fn min_spacing(&self) -> Duration {
        let rate = if self.max_rate.is_finite() && self.max_rate > 0.0 {
            self.max_rate
        } else {
            BULB_MAX_RATE
        };
        Duration::from_secs_f64(1.0 / f64::from(rate))
    }

    /// Resolution of the driver's transition field: segment lengths are rounded to it.
    #[must_use]
    pub fn transition_resolution(&self) -> Duration {
        match self.kind() {
            // Z2M: tenths of a second on the wire; WLED `tt`: 100 ms units.
            DriverKind::Zigbee2Mqtt | DriverKind::Wled => Duration::from_millis(100),
            // Tasmota `Speed2`: 0.5 s units.
            DriverKind::Tasmota => Duration::from_millis(500),
            DriverKind::Shelly | DriverKind::HaJson | DriverKind::Template => {
                Duration::from_millis(1)
            }
        }
    }

    /// Checks the options for values no driver can use.
    ///
    /// # Errors
    /// Returns an [`OptionsError`] naming the bad field.
    pub fn validate(&self) -> Result<(), OptionsError> {
        if !(self.max_rate.is_finite() && self.max_rate > 0.0) {
            return Err(OptionsError::Rate(self.max_rate));
        }
        if !(0.0..1.0).contains(&self.min_level) {
            return Err(OptionsError::MinLevel(self.min_level));
        }
        let (warm, cool) = self.kelvin_range;
        if warm == 0 || warm > cool {
            return Err(OptionsError::KelvinRange(warm, cool));
        }
        if let DeviceCurve::Gamma(g) = self.curve
            && !(g.is_finite() && g > 0.0)
        {
            return Err(OptionsError::Gamma(g));
        }
        if let DriverSettings::Template { topic, payload } = &self.driver {
            check_template(topic)?;
            check_template(payload)?;
        }
        Ok(())
    }
}

/// Why a light's options cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptionsError {
    /// `max_rate` is zero, negative or not a number.
    #[error("failed to use max_rate {0}: it must be a positive number of messages per second")]
    Rate(f32),
    /// `min_level` is outside 0..1.
    #[error(
        "failed to use min_level {0}: it must be a device fraction from 0 up to (not including) 1"
    )]
    MinLevel(f32),
    /// `kelvin_range` is empty or reversed.
    #[error("failed to use kelvin_range {0}..{1}: write the warmest first, like 2200..6500")]
    KelvinRange(u16, u16),
    /// A gamma curve with a non-positive exponent.
    #[error("failed to use gamma {0}: the exponent must be positive, like 2.2")]
    Gamma(f32),
    /// A template names a placeholder that does not exist.
    #[error("failed to read template `{template}`: unknown placeholder `{{{name}}}`")]
    UnknownPlaceholder {
        /// The whole template.
        template: String,
        /// The placeholder name without braces.
        name: String,
    },
}

/// Placeholders a template may use (see [`DriverSettings::Template`]).
pub const TEMPLATE_PLACEHOLDERS: [&str; 15] = [
    "address",
    "state",
    "on",
    "level",
    "level_255",
    "level_254",
    "level_pct",
    "kelvin",
    "mired",
    "r",
    "g",
    "b",
    "hex",
    "transition_s",
    "transition_ms",
];

/// Checks that every `{name}` in a template is a known placeholder. Braces that do not wrap a
/// lowercase identifier (such as JSON object braces) are left alone.
///
/// # Errors
/// Returns [`OptionsError::UnknownPlaceholder`] for the first unknown name.
pub fn check_template(template: &str) -> Result<(), OptionsError> {
    for name in placeholders(template) {
        if !TEMPLATE_PLACEHOLDERS.contains(&name) {
            return Err(OptionsError::UnknownPlaceholder {
                template: template.to_owned(),
                name: name.to_owned(),
            });
        }
    }
    Ok(())
}

/// The `{name}` placeholders in a template, where `name` is `[a-z0-9_]+`.
pub(crate) fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template.match_indices('{').filter_map(move |(start, _)| {
        let rest = &template[start + 1..];
        let end =
            rest.find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))?;
        (end > 0 && rest[end..].starts_with('}')).then(|| &rest[..end])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (kind, name) in DriverKind::ALL.iter().zip(DriverKind::NAMES) {
            assert_eq!(kind.name(), name);
            assert_eq!(DriverKind::from_name(name), Some(*kind));
        }
        assert_eq!(DriverKind::from_name("hue"), None);
    }

    #[test]
    fn defaults_follow_the_reference() {
        let z2m = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
        assert!(z2m.native_fade);
        assert_eq!(z2m.curve, DeviceCurve::Cie);
        assert_eq!(z2m.max_rate, 1.0);
        let tasmota = LightOptions::defaults(DriverKind::Tasmota);
        assert_eq!(tasmota.max_native_fade, Duration::from_secs(20));
        assert_eq!(tasmota.curve, DeviceCurve::Linear);
        assert_eq!(
            LightOptions::defaults(DriverKind::Shelly).max_native_fade,
            Duration::from_secs(5)
        );
        assert_eq!(
            LightOptions::shelly(ShellyGen::Gen2, 0, ShellyComponent::Cct).max_native_fade,
            Duration::from_secs(10_800)
        );
        assert_eq!(
            LightOptions::defaults(DriverKind::HaJson).curve,
            DeviceCurve::Linear
        );
        let group = z2m.as_group();
        assert!(group.group);
        assert_eq!(group.max_rate, 0.5);
        assert_eq!(group.min_spacing(), Duration::from_secs(2));
        for kind in DriverKind::ALL {
            assert_eq!(LightOptions::defaults(kind).validate(), Ok(()), "{kind:?}");
        }
    }

    #[test]
    fn templates_reject_unknown_placeholders_but_not_json_braces() {
        assert_eq!(
            check_template(r#"{"state":"{state}","b":{level_255},"t":{transition_s}}"#),
            Ok(())
        );
        let err = check_template("{address}/{brightness}").expect_err("unknown");
        insta::assert_snapshot!(err, @"failed to read template `{address}/{brightness}`: unknown placeholder `{brightness}`");
        let mut opts = LightOptions::defaults(DriverKind::Template);
        opts.kelvin_range = (6500, 2200);
        insta::assert_snapshot!(opts.validate().expect_err("reversed"), @"failed to use kelvin_range 6500..2200: write the warmest first, like 2200..6500");
    }
}
