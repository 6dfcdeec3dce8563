//! Per-light options: the light's driver with its settings, and what the rig may set over the
//! device's capabilities (native fades, longest fade, first visible level, curve, colour range,
//! message rate, groups). The defaults come from the driver ([`Capabilities`]); this module
//! owns [`LightOptions`], and must not encode payloads, parse files or plan fades (the rig's
//! values are checked where they are read, in `config`).

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
    /// What the device can do: its driver's [`Capabilities`], with what the rig overrides
    /// (native fades, longest fade, first visible level, curve, colour range, rate).
    pub caps: Capabilities,
    /// Send brightness and colour as separate messages (IKEA bulbs drop the brightness
    /// transition when both come in one Z2M command; reference §1.1).
    pub split_color: bool,
    /// The address is a group (a Zigbee broadcast). Set it with [`LightOptions::as_group`],
    /// which also lowers the rate to the group default of 0.5 message/s.
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
            caps,
            split_color: false,
            group: false,
        }
    }

    /// The same options for a group address: `group` set and the rate lowered to
    /// [`GROUP_MAX_RATE`] (a Zigbee group command is a broadcast; reference §2.1).
    #[must_use]
    pub fn as_group(mut self) -> Self {
        self.group = true;
        self.caps.max_rate = self.caps.max_rate.min(GROUP_MAX_RATE);
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
        self.caps.native_fade && !self.caps.max_native_fade.is_zero()
    }

    /// Shortest spacing between two messages to this light, `1 / max_rate`.
    #[must_use]
    pub fn min_spacing(&self) -> Duration {
        let rate = self.caps.max_rate;
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            BULB_MAX_RATE
        };
        Duration::from_secs_f64(1.0 / f64::from(rate))
    }

    /// The device value (0..=1) that shows perceived level `perceived`, through the light's
    /// curve from its first visible level.
    #[must_use]
    pub fn device_from_perceived(&self, perceived: f32) -> f32 {
        self.caps
            .curve
            .device_from_perceived(perceived, self.caps.min_level)
    }

    /// The perceived level a device value shows: the inverse of
    /// [`LightOptions::device_from_perceived`].
    #[must_use]
    pub fn perceived_from_device(&self, device: f32) -> f32 {
        self.caps
            .curve
            .perceived_from_device(device, self.caps.min_level)
    }
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
        assert!(z2m.caps.native_fade);
        assert_eq!(z2m.caps.curve, DeviceCurve::Cie);
        assert_eq!(z2m.caps.max_rate, 1.0);
        let tasmota = LightOptions::defaults(DriverKind::Tasmota);
        assert_eq!(tasmota.caps.max_native_fade, Duration::from_secs(20));
        assert_eq!(tasmota.caps.curve, DeviceCurve::Linear);
        assert_eq!(
            LightOptions::defaults(DriverKind::Shelly)
                .caps
                .max_native_fade,
            Duration::from_secs(5)
        );
        assert_eq!(
            LightOptions::shelly(ShellyGen::Gen2, 0, ShellyComponent::Cct)
                .caps
                .max_native_fade,
            Duration::from_secs(10_800)
        );
        assert_eq!(
            LightOptions::defaults(DriverKind::HaJson).caps.curve,
            DeviceCurve::Linear
        );
        let group = z2m.as_group();
        assert!(group.group);
        assert_eq!(group.caps.max_rate, 0.5);
        assert_eq!(group.min_spacing(), Duration::from_secs(2));
        // Every driver declares what a light can use (the rig's keys are range-checked
        // where they are written; these are the defaults where it writes none).
        for kind in DriverKind::ALL {
            let caps = LightOptions::defaults(kind).caps;
            assert!(caps.max_rate.is_finite() && caps.max_rate > 0.0, "{kind:?}");
            assert!((0.0..1.0).contains(&caps.min_level), "{kind:?}");
            let (warm, cool) = caps.kelvin_range;
            assert!(warm > 0 && warm < cool, "{kind:?}");
            if let DeviceCurve::Gamma(g) = caps.curve {
                assert!(g.is_finite() && g > 0.0, "{kind:?}");
            }
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
    }
}
