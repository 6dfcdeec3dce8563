//! What the ceremony engine asks of a light: a perceived level, an optional colour and an
//! effect. Device units, topics and pacing belong to the drivers, not here.

use std::time::Duration;

/// What a light should show. `level` is perceived lightness 0..=1 (CIE L*/100), not device units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LightTarget {
    /// Perceived lightness, 0 (off) ..= 1 (full).
    pub level: f32,
    /// Colour temperature or RGB colour; `None` leaves the bulb's colour alone.
    pub color: Option<LightColor>,
    /// A living effect around `level`.
    pub effect: Effect,
}

/// A light's colour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LightColor {
    /// White at a colour temperature in kelvin.
    Kelvin(u16),
    /// An RGB colour.
    Rgb([u8; 3]),
}

/// A living effect that moves a light around its level.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Effect {
    /// A steady light.
    #[default]
    None,
    /// Slow random low-rate flicker around the level: `depth` is a fraction of the level,
    /// `interval` the mean time between flicker moves.
    Candle {
        /// Fraction of the level the flicker may dip.
        depth: f32,
        /// Mean time between flicker moves.
        interval: Duration,
    },
    /// A sinusoidal swell at `per_minute` breaths a minute, `depth` a fraction of the level.
    Breathe {
        /// Breaths per minute.
        per_minute: f32,
        /// Fraction of the level the swell spans.
        depth: f32,
    },
}
