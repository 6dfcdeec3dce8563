//! Per-light options: the light's driver with its settings, and what the rig may set over the
//! device's capabilities (native fades, longest fade, first visible level, curve, colour range,
//! message rate, groups). The defaults come from the driver ([`Capabilities`]); this module
//! owns [`LightOptions`] and its checks, and must not encode payloads, parse files or plan
//! fades.

use std::time::Duration;

pub use super::curve::DeviceCurve;

pub use super::drivers::shelly::{
    SHELLY_GEN1_MAX_FADE, SHELLY_GEN2_MAX_FADE, SHELLY_GEN2_MIN_FADE, ShellyComponent, ShellyGen,
};
pub use super::drivers::template::{TEMPLATE_PLACEHOLDERS, TemplateError, check_template};
pub use super::drivers::{BULB_MAX_RATE, Capabilities, DriverKind, DriverSettings};

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

/// Default sustained rate for a group: ≤1 group command per ~2 s (reference §2.1).
pub const GROUP_MAX_RATE: f32 = 0.5;

impl LightOptions {
    /// Defaults for a driver: its [`Capabilities`] with its default settings. Every light
    /// defaults to no colour splitting; see [`LightOptions::as_group`].
    #[must_use]
    pub fn defaults(kind: DriverKind) -> Self {
        Self::with_driver(DriverSettings::defaults(kind))
    }

    /// Defaults for a Shelly of the given generation, channel and component.
    #[must_use]
    pub fn shelly(generation: ShellyGen, channel: u8, component: ShellyComponent) -> Self {
        Self::with_driver(DriverSettings::Shelly(super::drivers::shelly::Shelly::new(
            generation, channel, component,
        )))
    }

    /// Defaults for the given driver settings: what the driver declares the device can do.
    #[must_use]
    pub fn with_driver(driver: DriverSettings) -> Self {
        let caps = driver.capabilities();
        Self {
            driver,
            native_fade: caps.native_fade,
            max_native_fade: caps.max_native_fade,
            min_level: caps.min_level,
            curve: caps.curve,
            kelvin_range: caps.kelvin_range,
            max_rate: caps.max_rate,
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
        self.driver.capabilities().transition_resolution
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
        if let DriverSettings::Template(t) = &self.driver {
            check_template(&t.topic)?;
            check_template(&t.payload)?;
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
    #[error(transparent)]
    Template(#[from] TemplateError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(DriverKind::ALL.len(), DriverKind::NAMES.len());
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
