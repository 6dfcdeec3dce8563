//! The colours of the ceremony picture: a dark, warm ground that suits a candle-lit room, the
//! colour a light shows (kelvin as its black-body tint, sRGB as itself) and the cool hues of
//! audio layers. Pure colour arithmetic; it knows nothing of layout.

use crate::lights::target::LightColor;
use crate::units::channel;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub [u8; 3]);

impl Rgb {
    /// `#rrggbb`, as SVG writes it.
    #[must_use]
    pub fn hex(self) -> String {
        let [r, g, b] = self.0;
        format!("#{r:02x}{g:02x}{b:02x}")
    }

    /// This colour at `alpha` (0..=1) over `ground`, as one opaque colour (so that touching
    /// areas leave no seam where their edges overlap).
    #[must_use]
    pub fn over(self, ground: Self, alpha: f64) -> Self {
        let a = alpha.clamp(0.0, 1.0);
        let mix = |c: u8, g: u8| channel(f64::from(c) * a + f64::from(g) * (1.0 - a));
        Self([
            mix(self.0[0], ground.0[0]),
            mix(self.0[1], ground.0[1]),
            mix(self.0[2], ground.0[2]),
        ])
    }

    /// Reads `#rrggbb` (the palette's own constants).
    #[must_use]
    pub const fn from_u32(v: u32) -> Self {
        let [_, r, g, b] = v.to_be_bytes();
        Self([r, g, b])
    }
}

/// The picture's ground: a warm near-black.
pub const BACKGROUND: Rgb = Rgb::from_u32(0x0013_100e);
/// A lane's own ground, a shade lighter.
pub const LANE: Rgb = Rgb::from_u32(0x001d_1915);
/// Main text: warm off-white.
pub const TEXT: Rgb = Rgb::from_u32(0x00f0_e4d2);
/// Secondary text.
pub const MUTED: Rgb = Rgb::from_u32(0x00a8_9a8a);
/// Grid and phase boundary lines.
pub const RULE: Rgb = Rgb::from_u32(0x0062_5446);
/// Chime marks: pale gold.
pub const CHIME: Rgb = Rgb::from_u32(0x00f4_d69c);
/// A light whose colour the ceremony never sets: neutral warm white.
pub const UNSET_LIGHT: Rgb = Rgb::from_u32(0x00d8_cfc0);

/// Audio layers, in rig order (repeating): cool, quiet hues that never read as light.
const LAYERS: [Rgb; 4] = [
    Rgb::from_u32(0x0079_9bc8),
    Rgb::from_u32(0x0083_b39c),
    Rgb::from_u32(0x00a4_8fcb),
    Rgb::from_u32(0x006f_b3b8),
];

/// The colour of the `i`th audio layer.
#[must_use]
pub fn layer(i: usize) -> Rgb {
    LAYERS[i % LAYERS.len()]
}

/// The colour a light shows: its sRGB colour, the tint of its colour temperature, or
/// [`UNSET_LIGHT`].
#[must_use]
pub fn light(color: Option<LightColor>) -> Rgb {
    match color {
        Some(LightColor::Rgb(rgb)) => Rgb(rgb),
        Some(LightColor::Kelvin(k)) => kelvin(k),
        None => UNSET_LIGHT,
    }
}

/// The sRGB tint of black-body light at `k` kelvin ([`crate::units::kelvin_rgb`]).
#[must_use]
pub fn kelvin(k: u16) -> Rgb {
    Rgb(crate::units::kelvin_rgb(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_is_amber_and_cool_is_pale() {
        let candle = kelvin(1800);
        let warm = kelvin(2700);
        let day = kelvin(6500);
        // Blue rises and the red-blue gap closes as light cools.
        assert!(candle.0[2] < warm.0[2] && warm.0[2] < day.0[2]);
        assert!(candle.0[1] < warm.0[1] && warm.0[1] < day.0[1]);
        assert_eq!(candle.0[0], 255);
        assert!(day.0.iter().all(|&c| c > 235), "{day:?} is near white");
        // 1800 K is amber: strong red, half green, no blue.
        assert!((100..=150).contains(&candle.0[1]) && candle.0[2] < 10);
    }

    #[test]
    fn a_light_shows_its_own_colour() {
        assert_eq!(light(Some(LightColor::Rgb([255, 74, 24]))).hex(), "#ff4a18");
        assert_eq!(light(Some(LightColor::Kelvin(2400))), kelvin(2400));
        assert_eq!(light(None), UNSET_LIGHT);
    }

    #[test]
    fn constants_read_as_written() {
        assert_eq!(BACKGROUND.hex(), "#13100e");
        assert_eq!(layer(0), layer(4));
        assert_eq!(TEXT.over(BACKGROUND, 1.0), TEXT);
        assert_eq!(TEXT.over(BACKGROUND, 0.0), BACKGROUND);
        assert_eq!(
            Rgb([200, 100, 0]).over(Rgb([0, 0, 100]), 0.5),
            Rgb([100, 50, 50])
        );
    }
}
