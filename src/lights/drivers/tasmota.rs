//! Tasmota encoder: plain-text commands on `cmnd/<topic>/…` (reference §1.2). Pure; it must
//! not pace, plan or publish.
//!
//! A fade is one `Backlog`: `SetOption117 1` (the fade takes a fixed time rather than a fixed
//! slew rate), `Speed2 n` (one-shot fade of n × 0.5 s, 1..40, so at most 20 s) and the values.
//! The colour goes first because `Color`/`CT` also move the dimmer; `Speed2` is repeated before
//! `Dimmer` since it only covers the next change (`CmndSpeed` `fade_once`). A change without
//! fade uses `Dimmer3` (set without fade). `Dimmer` is 0–100 and a light that is on gets at
//! least 1 (`Dimmer 0` powers off); `CT` is 153–500 mireds.

use std::time::Duration;

use super::{
    BULB_MAX_RATE, Capabilities, ColorModes, Driver, Keys, kelvin, mired, rgb, scale, units,
};
use crate::lights::command::{LightCommand, Publish};
use crate::lights::curve::DeviceCurve;
use crate::lights::options::LightOptions;

/// `Speed2` unit: half a second.
const SPEED_UNIT: Duration = Duration::from_millis(500);
/// Largest `Speed2`: 40 × 0.5 s = 20 s.
const MAX_SPEED: u32 = 40;

/// The `tasmota` driver: no settings of its own (the address is the Tasmota `%topic%`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tasmota;

impl Driver for Tasmota {
    const NAME: &'static str = "tasmota";
    const KEYS: &'static [&'static str] = &[];

    fn read(_keys: &mut dyn Keys) -> Self {
        Self
    }

    /// Native fades up to 20 s (`Speed2 40`) in half seconds, `Dimmer` 0–100 with 1 % the
    /// first visible, linear (Tasmota's `LedTable` gamma does the rest), `CT` 153–500 mireds
    /// (≈6500–2000 K), `Color` for RGB.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            native_fade: true,
            max_native_fade: Duration::from_secs(20),
            min_level: 0.01,
            curve: DeviceCurve::Linear,
            kelvin_range: (2000, 6500),
            max_rate: BULB_MAX_RATE,
            transition_resolution: SPEED_UNIT,
            brightness_steps: 100,
            colors: ColorModes::BOTH,
        }
    }

    fn encode(&self, address: &str, opts: &LightOptions, cmd: &LightCommand) -> Vec<Publish> {
        encode(address, opts, cmd)
    }
}

/// Encodes one command for the Tasmota device whose `%topic%` is `address`.
fn encode(address: &str, opts: &LightOptions, cmd: &LightCommand) -> Vec<Publish> {
    let speed = cmd
        .transition
        .map(|t| units(t, SPEED_UNIT, MAX_SPEED))
        .filter(|&n| n > 0)
        .map(|n| n.max(1));
    if !cmd.on {
        return vec![match speed {
            Some(n) => Publish::command(
                format!("cmnd/{address}/Backlog"),
                format!("SetOption117 1; Speed2 {n}; Power OFF"),
            ),
            None => Publish::command(format!("cmnd/{address}/Power"), "OFF"),
        }];
    }
    let mut parts: Vec<String> = Vec::new();
    if let Some(n) = speed {
        parts.push("SetOption117 1".to_owned());
        parts.push(format!("Speed2 {n}"));
    }
    let color = if let Some(k) = kelvin(cmd.color, opts) {
        Some(format!("CT {}", mired(k).clamp(153, 500)))
    } else {
        rgb(cmd.color).map(|[r, g, b]| format!("Color {r},{g},{b}"))
    };
    let dimmer = scale(cmd.brightness, 100, true);
    match (color, speed) {
        (Some(c), Some(n)) => {
            parts.push(c);
            parts.push(format!("Speed2 {n}"));
            parts.push(format!("Dimmer {dimmer}"));
        }
        (Some(c), None) => {
            parts.push(c);
            parts.push(format!("Dimmer3 {dimmer}"));
        }
        (None, Some(_)) => parts.push(format!("Dimmer {dimmer}")),
        (None, None) => parts.push(format!("Dimmer3 {dimmer}")),
    }
    vec![Publish::command(
        format!("cmnd/{address}/Backlog"),
        parts.join("; "),
    )]
}

#[cfg(test)]
mod tests {
    use crate::lights::drivers::tests::report;
    use crate::lights::options::{DriverKind, LightOptions};

    #[test]
    fn snapshot() {
        let opts = LightOptions::defaults(DriverKind::Tasmota);
        insta::assert_snapshot!(report("lamp", &opts));
    }
}
