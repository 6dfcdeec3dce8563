//! Driver selection and the unit conversions every driver shares. A driver is a pure encoder
//! from a [`LightCommand`] to the MQTT messages one ecosystem expects; this module picks one by
//! [`DriverKind`]. It must not plan fades, pace messages or touch the network.

pub mod ha_json;
pub mod shelly;
pub mod tasmota;
pub mod template;
pub mod wled;
pub mod zigbee2mqtt;

use std::time::Duration;

use super::command::{LightCommand, Publish};
use super::options::{DriverKind, LightOptions};
use super::target::LightColor;

/// Encodes `cmd` for the light at `address` with the driver `opts` names. Returns one message,
/// or two where the device needs them apart (split colour); never a retained one.
#[must_use]
pub fn encode(address: &str, opts: &LightOptions, cmd: &LightCommand) -> Vec<Publish> {
    match opts.kind() {
        DriverKind::Zigbee2Mqtt => zigbee2mqtt::encode(address, opts, cmd),
        DriverKind::Tasmota => tasmota::encode(address, opts, cmd),
        DriverKind::Shelly => shelly::encode(address, opts, cmd),
        DriverKind::HaJson => ha_json::encode(address, opts, cmd),
        DriverKind::Wled => wled::encode(address, opts, cmd),
        DriverKind::Template => template::encode(address, opts, cmd),
    }
}

/// `fraction` (0..=1) on a `0..=max` integer scale, rounded. A light that is on never gets 0,
/// because 0 means OFF on Z2M, ESPHome, Tasmota and WLED (reference §2.3).
/// How many brightness steps the light's driver has (its resolution): 254 for Zigbee2MQTT,
/// 255 for WLED, 100 for Tasmota's `Dimmer` and Shelly, the scale for `ha-json`.
#[must_use]
pub fn brightness_steps(opts: &LightOptions) -> u32 {
    match (&opts.driver, opts.kind()) {
        (
            super::options::DriverSettings::HaJson {
                brightness_scale, ..
            },
            _,
        ) => u32::from(*brightness_scale).max(1),
        (_, DriverKind::Zigbee2Mqtt) => 254,
        (_, DriverKind::Wled) => 255,
        _ => 100,
    }
}

pub(crate) fn scale(fraction: f32, max: u32, on: bool) -> u32 {
    let f = if fraction.is_nan() {
        0.0
    } else {
        fraction.clamp(0.0, 1.0)
    };
    // `max` is at most a few thousand, so the f64 product fits a u32 after rounding.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let v = (f64::from(f) * f64::from(max)).round() as u32;
    if on { v.max(1).min(max) } else { v.min(max) }
}

/// The colour temperature of `color`, clamped into the bulb's kelvin range.
pub(crate) fn kelvin(color: Option<LightColor>, opts: &LightOptions) -> Option<u16> {
    match color {
        Some(LightColor::Kelvin(k)) => {
            let (warm, cool) = opts.kelvin_range;
            Some(k.clamp(warm.min(cool), cool.max(warm)))
        }
        _ => None,
    }
}

/// The RGB triple of `color`, if it is one.
pub(crate) fn rgb(color: Option<LightColor>) -> Option<[u8; 3]> {
    match color {
        Some(LightColor::Rgb(c)) => Some(c),
        _ => None,
    }
}

/// Mireds of a colour temperature: `round(1e6 / K)` (2700 K ≈ 370).
pub(crate) fn mired(kelvin: u16) -> u16 {
    let k = f64::from(kelvin.max(1));
    // 1e6 / k ≤ 1e6 only for k = 1; kelvin ranges start far above 15 K, so this fits u16.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let m = (1e6 / k).round().min(f64::from(u16::MAX)) as u16;
    m
}

/// A transition in whole units of `unit`, rounded up (a device never fades faster than asked),
/// clamped to `max_units`.
pub(crate) fn units(d: Duration, unit: Duration, max_units: u32) -> u32 {
    let n = (d.as_secs_f64() / unit.as_secs_f64() - 1e-9).ceil();
    // Clamped before the cast.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = n.clamp(0.0, f64::from(max_units)) as u32;
    n
}

/// Seconds of `d` rounded up to `decimals` places (never a faster fade than asked), for JSON
/// fields in float seconds.
pub(crate) fn seconds(d: Duration, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    (d.as_secs_f64() * p - 1e-9).ceil() / p
}

#[cfg(test)]
pub(crate) mod tests {
    use std::fmt::Write as _;
    use std::time::Duration;

    use super::*;

    /// The command cases every driver is snapshot-tested across.
    pub(crate) fn cases() -> Vec<(&'static str, LightCommand)> {
        let on = |brightness, color, transition: Option<f64>| LightCommand {
            on: true,
            brightness,
            color,
            transition: transition.map(Duration::from_secs_f64),
        };
        vec![
            (
                "on at half with a 2.5 s transition",
                on(0.5, None, Some(2.5)),
            ),
            (
                "colour temperature 2700 K, 10 s",
                on(0.8, Some(LightColor::Kelvin(2700)), Some(10.0)),
            ),
            (
                "rgb amber, 1 s",
                on(0.3, Some(LightColor::Rgb([255, 120, 40])), Some(1.0)),
            ),
            ("off", LightCommand::off()),
            (
                "off with a 4 s transition",
                LightCommand {
                    transition: Some(Duration::from_secs(4)),
                    ..LightCommand::off()
                },
            ),
            (
                "no transition, 4000 K",
                on(0.25, Some(LightColor::Kelvin(4000)), None),
            ),
            (
                "clamp: full, 1000 K, 2 h transition",
                on(1.0, Some(LightColor::Kelvin(1000)), Some(7200.0)),
            ),
            (
                "clamp: barely on, 20000 K, 0.04 s",
                on(0.0001, Some(LightColor::Kelvin(20000)), Some(0.04)),
            ),
            ("clamp: brightness above 1", on(1.7, None, Some(0.5))),
        ]
    }

    /// Every case encoded, as text for a snapshot.
    pub(crate) fn report(address: &str, opts: &LightOptions) -> String {
        let mut out = String::new();
        for (name, cmd) in cases() {
            let _ = writeln!(out, "## {name}");
            for p in encode(address, opts, &cmd) {
                assert!(!p.retain, "light commands must never be retained");
                let _ = writeln!(out, "{}  {}", p.topic, p.payload);
            }
        }
        out
    }

    #[test]
    fn conversions() {
        assert_eq!(mired(2700), 370);
        assert_eq!(mired(6500), 154);
        assert_eq!(scale(0.0001, 254, true), 1);
        assert_eq!(scale(0.0, 254, false), 0);
        assert_eq!(scale(1.0, 254, true), 254);
        assert_eq!(scale(0.5, 100, true), 50);
        assert_eq!(
            units(Duration::from_secs(15), Duration::from_millis(500), 40),
            30
        );
        assert_eq!(
            units(Duration::from_secs(60), Duration::from_millis(500), 40),
            40
        );
        assert_eq!(seconds(Duration::from_millis(2549), 1), 2.6);
        assert_eq!(seconds(Duration::from_millis(2500), 1), 2.5);
    }
}
