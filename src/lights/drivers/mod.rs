//! The driver registry, and the unit conversions every driver shares. A driver is one file
//! here: its name, its own rig keys and how it reads them, what the device can do
//! ([`Capabilities`]) and a pure encoder from a [`LightCommand`] to the MQTT messages its
//! ecosystem expects, all in one [`Driver`] impl. The `registry!` list below names each once;
//! [`DriverKind`], [`DriverSettings`] and the dispatch follow from it, so a new driver is a
//! file plus a line there. It must not plan fades, pace messages or touch the network.

pub mod ha_json;
pub mod shelly;
pub mod tasmota;
pub mod template;
pub mod wled;
pub mod zigbee2mqtt;

use std::ops::RangeInclusive;
use std::time::Duration;

use super::command::{LightCommand, Publish};
use super::curve::DeviceCurve;
use super::options::LightOptions;
use super::target::LightColor;

/// One light driver: everything sanctum knows of one ecosystem. Its settings are the type
/// itself (`Default` gives the defaults a rig gets when it leaves them out).
pub trait Driver: Clone + PartialEq + std::fmt::Debug + Default {
    /// The name rig files use (`driver = "…"`).
    const NAME: &'static str;
    /// The rig keys of its own settings, beside the ones every light has.
    const KEYS: &'static [&'static str];
    /// Its settings as the rig gives them, defaults for the rest; `keys` reports a bad value
    /// at its place in the file.
    fn read(keys: &mut dyn Keys) -> Self;
    /// What the device can do with these settings.
    fn capabilities(&self) -> Capabilities;
    /// The messages that make the light at `address` do `cmd`: one, or two where the device
    /// needs them apart; never a retained one.
    fn encode(&self, address: &str, opts: &LightOptions, cmd: &LightCommand) -> Vec<Publish>;
    /// Why `address` cannot be this light's command topic, if the ecosystem says so.
    ///
    /// # Errors
    /// A sentence saying what to write instead.
    fn check_address(&self, _address: &str) -> Result<(), String> {
        Ok(())
    }
}

/// A driver's view of its own keys in the rig; `config` implements it over the file, with
/// each problem reported at its span, and the driver never sees a string to parse later.
pub trait Keys {
    /// A string key, if present and accepted by `check` (its error is reported, then `None`).
    fn text(&mut self, key: &str, check: &dyn Fn(&str) -> Result<(), String>) -> Option<String>;
    /// A boolean key, if present.
    fn flag(&mut self, key: &str) -> Option<bool>;
    /// An integer key within `range`, if present.
    fn integer(&mut self, key: &str, range: RangeInclusive<i64>) -> Option<i64>;
    /// A key whose value is one of `choices`, if present.
    fn choice(&mut self, key: &str, choices: &[&'static str]) -> Option<&'static str>;
    /// Reports a problem with the light's settings as a whole (at its `driver`).
    fn problem(&mut self, message: String);
}

/// Which colours a device can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColorModes {
    /// A colour temperature (white channels, or a tunable-white bulb).
    pub kelvin: bool,
    /// An RGB colour.
    pub rgb: bool,
}

impl ColorModes {
    /// Both kinds of colour.
    pub const BOTH: Self = Self {
        kelvin: true,
        rgb: true,
    };
    /// White only, tunable.
    pub const KELVIN: Self = Self {
        kelvin: true,
        rgb: false,
    };
    /// RGB only.
    pub const RGB: Self = Self {
        kelvin: false,
        rgb: true,
    };
    /// Brightness only.
    pub const NONE: Self = Self {
        kelvin: false,
        rgb: false,
    };
}

/// What a device can do, as its driver declares it: the defaults of a light's
/// [`LightOptions`] (a rig may override the first six) and what its wire format allows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capabilities {
    /// Whether it runs transitions itself (otherwise fades are stepped in software).
    pub native_fade: bool,
    /// Longest transition one command can ask for.
    pub max_native_fade: Duration,
    /// Device fraction (0..=1) that is first visibly on.
    pub min_level: f32,
    /// How perceived level maps to the device value.
    pub curve: DeviceCurve,
    /// Colour temperature range in kelvin, `(warmest, coolest)`.
    pub kelvin_range: (u16, u16),
    /// Most messages per second, sustained.
    pub max_rate: f32,
    /// Resolution of the transition field: a segment's length is rounded up to it.
    pub transition_resolution: Duration,
    /// How many brightness steps the wire format has (its resolution): 254 for Zigbee2MQTT,
    /// 255 for WLED, 100 for Tasmota's `Dimmer` and Shelly, the scale for `ha-json`.
    pub brightness_steps: u32,
    /// Which colours it shows; a colour temperature goes as its white point in RGB to a
    /// device that shows RGB only, and a colour it cannot show is left out.
    pub colors: ColorModes,
}

/// Default sustained rate for one bulb: ≈1 unicast command/s (reference §2.1).
pub const BULB_MAX_RATE: f32 = 1.0;

macro_rules! registry {
    ($($variant:ident => $module:ident :: $ty:ident),+ $(,)?) => {
        /// Which ecosystem a light speaks: one per driver file (the `registry!` list).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum DriverKind {
            $(
                #[doc = concat!("[`", stringify!($module), "`].")]
                $variant,
            )+
        }

        impl DriverKind {
            /// Every driver, in the registry's order.
            pub const ALL: [Self; [$(stringify!($variant)),+].len()] = [$(Self::$variant),+];

            /// The names used in rig files, in the order of [`DriverKind::ALL`].
            pub const NAMES: [&'static str; [$(stringify!($variant)),+].len()] =
                [$(<$module::$ty as Driver>::NAME),+];

            /// The name used in rig files.
            #[must_use]
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => <$module::$ty as Driver>::NAME,)+
                }
            }

            /// Reads a driver name as written in a rig file.
            #[must_use]
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|k| k.name() == name)
            }

            /// The rig keys of this driver's own settings.
            #[must_use]
            pub fn keys(self) -> &'static [&'static str] {
                match self {
                    $(Self::$variant => <$module::$ty as Driver>::KEYS,)+
                }
            }
        }

        /// A driver with its settings: the variant decides the [`DriverKind`].
        #[derive(Debug, Clone, PartialEq)]
        pub enum DriverSettings {
            $(
                #[doc = concat!("[`", stringify!($module), "`].")]
                $variant($module::$ty),
            )+
        }

        impl DriverSettings {
            /// The driver these settings belong to.
            #[must_use]
            pub fn kind(&self) -> DriverKind {
                match self {
                    $(Self::$variant(_) => DriverKind::$variant,)+
                }
            }

            /// A driver's default settings.
            #[must_use]
            pub fn defaults(kind: DriverKind) -> Self {
                match kind {
                    $(DriverKind::$variant => Self::$variant(<$module::$ty>::default()),)+
                }
            }

            /// A driver's settings as the rig gives them ([`Driver::read`]).
            #[must_use]
            pub fn read(kind: DriverKind, keys: &mut dyn Keys) -> Self {
                match kind {
                    $(DriverKind::$variant => Self::$variant(<$module::$ty as Driver>::read(keys)),)+
                }
            }

            /// What the device can do ([`Driver::capabilities`]).
            #[must_use]
            pub fn capabilities(&self) -> Capabilities {
                match self {
                    $(Self::$variant(d) => d.capabilities(),)+
                }
            }

            /// Why `address` cannot be the light's command topic ([`Driver::check_address`]).
            ///
            /// # Errors
            /// A sentence saying what to write instead.
            pub fn check_address(&self, address: &str) -> Result<(), String> {
                match self {
                    $(Self::$variant(d) => d.check_address(address),)+
                }
            }

            fn encode_for(&self, address: &str, opts: &LightOptions, cmd: &LightCommand) -> Vec<Publish> {
                match self {
                    $(Self::$variant(d) => d.encode(address, opts, cmd),)+
                }
            }
        }
    };
}

// The registry: one line per driver.
registry! {
    Zigbee2Mqtt => zigbee2mqtt::Zigbee2Mqtt,
    Tasmota => tasmota::Tasmota,
    Shelly => shelly::Shelly,
    HaJson => ha_json::HaJson,
    Wled => wled::Wled,
    Template => template::Template,
}

/// Encodes `cmd` for the light at `address` with the driver `opts` names, after putting its
/// colour in a form the device shows ([`Capabilities::colors`]). Returns one message, or two
/// where the device needs them apart (split colour); never a retained one.
#[must_use]
pub fn encode(address: &str, opts: &LightOptions, cmd: &LightCommand) -> Vec<Publish> {
    let colors = opts.caps.colors;
    let color = match cmd.color {
        Some(LightColor::Kelvin(_)) if !colors.kelvin && colors.rgb => {
            kelvin(cmd.color, opts).map(|k| LightColor::Rgb(crate::units::kelvin_rgb(k)))
        }
        Some(LightColor::Kelvin(_)) if !colors.kelvin => None,
        Some(LightColor::Rgb(_)) if !colors.rgb => None,
        c => c,
    };
    let cmd = LightCommand { color, ..*cmd };
    opts.driver.encode_for(address, opts, &cmd)
}

/// `fraction` (0..=1) on a `0..=max` integer scale, rounded. A light that is on never gets 0,
/// because 0 means OFF on Z2M, ESPHome, Tasmota and WLED (reference §2.3).
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
            let (warm, cool) = opts.caps.kelvin_range;
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

/// Mireds of a colour temperature, rounded (2700 K ≈ 370), as the wire formats take them.
pub(crate) fn mired(kelvin: u16) -> u16 {
    // At most 1e6 (for 1 K); kelvin ranges start far above 15 K, so this fits u16.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let m = crate::units::mireds(kelvin)
        .round()
        .min(f32::from(u16::MAX)) as u16;
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
