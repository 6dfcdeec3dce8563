//! What the ceremony engine asks of a light: a perceived level, a colour and an effect. Owns
//! only these plain types; it must not know about devices, drivers, topics or time.

use std::time::Duration;

/// What a light should show. `level` is perceived lightness 0..=1 (CIE L*/100), not device units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LightTarget {
    /// Perceived lightness 0..=1 (CIE L* / 100); 0 means off.
    pub level: f32,
    /// Colour to show, or `None` to leave the bulb's colour as it is.
    pub color: Option<LightColor>,
    /// Effect running around `level` once the light has arrived there.
    pub effect: Effect,
}

/// A light colour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LightColor {
    /// White at a correlated colour temperature in kelvin (2700 K is candle-warm white).
    Kelvin(u16),
    /// An sRGB colour.
    Rgb([u8; 3]),
}

/// A slow, low-rate effect a light runs around its level.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Effect {
    /// Steady light.
    #[default]
    None,
    /// Slow random low-rate flicker around `level`.
    Candle {
        /// Size of the flicker as a fraction of the level (0.2 = ±20 %).
        depth: f32,
        /// Mean time between flicker moves.
        interval: Duration,
    },
    /// Sinusoidal swell around `level`, for co-breathing.
    Breathe {
        /// Breaths per minute (one full swell up and down per breath).
        per_minute: f32,
        /// Size of the swell as a fraction of the level.
        depth: f32,
    },
}

impl LightTarget {
    /// A steady light at `level` with no colour change.
    #[must_use]
    pub fn level(level: f32) -> Self {
        Self {
            level,
            color: None,
            effect: Effect::None,
        }
    }

    /// Off: level 0, no effect.
    #[must_use]
    pub fn off() -> Self {
        Self::level(0.0)
    }
}
