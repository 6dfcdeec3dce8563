//! Perceptual light units: CIE 1976 L* ↔ relative luminance, and the per-device curve that
//! maps a perceived level (0..=1) to the value a device wants (0..=1) with its `min_level`
//! offset. Pure maths; it must not know about drivers, topics or time.
//!
//! Reference §3: `L* = 116·Y^(1/3) − 16` for `Y > (6/29)³`, else `L* = 903.3·Y`; inverse
//! `Y = ((L*+16)/116)³` for `L* > 8`, else `Y = L*/903.3`. Then `level = min + (1 − min)·Y`
//! (§2.3: store a per-device first-visibly-on level and map 0..1 perceptual onto it).

/// `(6/29)³`: below this luminance CIE L* is linear (the "toe").
const Y_TOE: f32 = 0.008_856;
/// Slope of the linear toe, `(29/3)³`.
const TOE_SLOPE: f32 = 903.3;

/// CIE L* (0..=100) of a relative luminance `y` (0..=1).
#[must_use]
pub fn lightness_from_luminance(y: f32) -> f32 {
    let y = y.clamp(0.0, 1.0);
    if y > Y_TOE {
        116.0 * y.cbrt() - 16.0
    } else {
        TOE_SLOPE * y
    }
}

/// Relative luminance (0..=1) of a CIE L* (0..=100).
#[must_use]
pub fn luminance_from_lightness(l: f32) -> f32 {
    let l = l.clamp(0.0, 100.0);
    if l > 8.0 {
        let f = (l + 16.0) / 116.0;
        f * f * f
    } else {
        l / TOE_SLOPE
    }
}

/// How a perceived level maps to the device's brightness value.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum DeviceCurve {
    /// The device is linear in light output (WLED with its default gamma off, most Zigbee
    /// bulbs as far as anyone knows): send CIE luminance `Y = L*⁻¹(100·p)`.
    #[default]
    Cie,
    /// The device already applies a perceptual or gamma curve (Tasmota `LedTable`, ESPHome
    /// `gamma_correct` 2.8): send the perceived level as it is, so it is not corrected twice.
    Linear,
    /// The device is linear in light output and a power law is wanted instead of CIE L*:
    /// send `p^γ`.
    Gamma(f32),
}

impl DeviceCurve {
    /// Light output fraction (0..=1) for a perceived level `p` (0..=1), before `min_level`.
    #[must_use]
    pub fn output_from_perceived(self, p: f32) -> f32 {
        let p = p.clamp(0.0, 1.0);
        match self {
            Self::Cie => luminance_from_lightness(100.0 * p),
            Self::Linear => p,
            Self::Gamma(g) => p.powf(g.max(0.01)),
        }
    }

    /// Perceived level (0..=1) of a light output fraction `y` (0..=1): the inverse of
    /// [`DeviceCurve::output_from_perceived`].
    #[must_use]
    pub fn perceived_from_output(self, y: f32) -> f32 {
        let y = y.clamp(0.0, 1.0);
        match self {
            Self::Cie => lightness_from_luminance(y) / 100.0,
            Self::Linear => y,
            Self::Gamma(g) => y.powf(1.0 / g.max(0.01)),
        }
    }

    /// Device fraction (0..=1) for perceived level `p`: 0 stays 0 (off); anything above maps
    /// onto `[min_level, 1]`, so the dimmest perceived level is the first visibly-on value.
    #[must_use]
    pub fn device_from_perceived(self, p: f32, min_level: f32) -> f32 {
        if p <= 0.0 || p.is_nan() {
            return 0.0;
        }
        let min = min_level.clamp(0.0, 1.0);
        min + (1.0 - min) * self.output_from_perceived(p)
    }

    /// Perceived level (0..=1) of device fraction `d`: the inverse of
    /// [`DeviceCurve::device_from_perceived`]. Values at or below `min_level` read as 0.
    #[must_use]
    pub fn perceived_from_device(self, d: f32, min_level: f32) -> f32 {
        let min = min_level.clamp(0.0, 1.0);
        if d <= min || d.is_nan() || min >= 1.0 {
            return 0.0;
        }
        self.perceived_from_output((d - min) / (1.0 - min))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cie_matches_known_points() {
        // Mid grey: L* 50 is 18.4 % luminance; the toe meets the cube at L* 8.
        assert!((luminance_from_lightness(50.0) - 0.1842).abs() < 1e-3);
        assert!((lightness_from_luminance(0.1842) - 50.0).abs() < 0.05);
        assert!((luminance_from_lightness(8.0) - 0.008_856).abs() < 1e-5);
        assert_eq!(luminance_from_lightness(100.0), 1.0);
        assert_eq!(lightness_from_luminance(0.0), 0.0);
    }

    #[test]
    fn cie_round_trips_and_is_monotonic() {
        let mut last = -1.0;
        for i in 0..=1000 {
            let l = i as f32 / 10.0;
            let y = luminance_from_lightness(l);
            assert!(y > last, "not increasing at L*={l}");
            last = y;
            assert!((lightness_from_luminance(y) - l).abs() < 0.02, "L*={l}");
        }
    }

    #[test]
    fn device_curves_round_trip_with_min_level() {
        for curve in [
            DeviceCurve::Cie,
            DeviceCurve::Linear,
            DeviceCurve::Gamma(2.2),
        ] {
            for min in [0.0, 0.004, 0.15] {
                assert_eq!(curve.device_from_perceived(0.0, min), 0.0);
                assert!((curve.device_from_perceived(1.0, min) - 1.0).abs() < 1e-6);
                let mut last = 0.0;
                for i in 1..=100 {
                    let p = i as f32 / 100.0;
                    let d = curve.device_from_perceived(p, min);
                    assert!(d >= min && d > last, "{curve:?} min={min} p={p}");
                    last = d;
                    let back = curve.perceived_from_device(d, min);
                    assert!(
                        (back - p).abs() < 2e-3,
                        "{curve:?} min={min} p={p} back={back}"
                    );
                }
            }
        }
    }

    #[test]
    fn cie_is_dimmer_than_linear_in_the_middle() {
        // Half perceived lightness is far less than half the light output.
        let d = DeviceCurve::Cie.device_from_perceived(0.5, 0.0);
        assert!(d < 0.2, "{d}");
        assert_eq!(DeviceCurve::Linear.device_from_perceived(0.5, 0.0), 0.5);
    }
}
