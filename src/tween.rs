//! Fade curves and ramps shared by audio gains and light levels. Pure maths on progress
//! values: no clock, no I/O, no allocation (safe to call from the audio callback).

use std::time::Duration;

/// The shape of a fade or crossfade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Curve {
    /// Equal-power (constant-power) curves: `sin`/`cos` quarter waves. The summed power of
    /// two uncorrelated signals crossfading this way stays constant. The default for audio.
    #[default]
    EqualPower,
    /// Straight line from start to end.
    Linear,
    /// Smoothstep (`3p² − 2p³`): starts and ends gently.
    SCurve,
}

impl Curve {
    /// The names used in scene files, in the order they are documented.
    pub const NAMES: [&'static str; 3] = ["equal-power", "linear", "s-curve"];

    /// Reads a curve name as written in a scene file.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "equal-power" => Some(Self::EqualPower),
            "linear" => Some(Self::Linear),
            "s-curve" => Some(Self::SCurve),
            _ => None,
        }
    }

    /// The name used in scene files.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::EqualPower => "equal-power",
            Self::Linear => "linear",
            Self::SCurve => "s-curve",
        }
    }

    /// Gain of the incoming side at progress `p` (clamped to 0..=1): 0 at the start, 1 at the end.
    #[must_use]
    pub fn fade_in(self, p: f32) -> f32 {
        let p = p.clamp(0.0, 1.0);
        match self {
            Self::EqualPower => (p * std::f32::consts::FRAC_PI_2).sin(),
            Self::Linear => p,
            Self::SCurve => p * p * (3.0 - 2.0 * p),
        }
    }

    /// Gain of the outgoing side at progress `p`: 1 at the start, 0 at the end. For
    /// equal-power, `fade_in(p)² + fade_out(p)² == 1` at every `p`.
    #[must_use]
    pub fn fade_out(self, p: f32) -> f32 {
        self.fade_in(1.0 - p.clamp(0.0, 1.0))
    }

    /// Position between `from` and `to` at progress `p`, following this curve's easing.
    #[must_use]
    pub fn interpolate(self, from: f32, to: f32, p: f32) -> f32 {
        from + (to - from) * self.fade_in(p)
    }

    /// The one definition of a ramp from `from` to `to` at progress `p`, shared by the mixer,
    /// the engine's model of the room and the state published to phones: a rising ramp
    /// follows [`Curve::fade_in`], a falling one [`Curve::fade_out`], so a voice fading in and
    /// one fading out along the same equal-power curve keep their summed power. (For the
    /// symmetric curves, linear and s-curve, both readings agree.)
    #[must_use]
    pub fn ramp(self, from: f32, to: f32, p: f32) -> f32 {
        if to >= from {
            from + (to - from) * self.fade_in(p)
        } else {
            to + (from - to) * self.fade_out(p)
        }
    }
}

/// A value moving from `from` to `to` over `duration` along `curve`, evaluated at an elapsed
/// time that the caller supplies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ramp {
    /// Value at the start of the ramp.
    pub from: f32,
    /// Value at the end of the ramp.
    pub to: f32,
    /// How long the ramp lasts; zero means it is already at `to`.
    pub duration: Duration,
    /// Easing of the ramp.
    pub curve: Curve,
}

impl Ramp {
    /// A ramp that has already arrived at `value`.
    #[must_use]
    pub fn hold(value: f32) -> Self {
        Self {
            from: value,
            to: value,
            duration: Duration::ZERO,
            curve: Curve::Linear,
        }
    }

    /// Progress (0..=1) after `elapsed`.
    #[must_use]
    pub fn progress(&self, elapsed: Duration) -> f32 {
        if self.duration.is_zero() || elapsed >= self.duration {
            1.0
        } else {
            (elapsed.as_secs_f64() / self.duration.as_secs_f64()) as f32
        }
    }

    /// The value after `elapsed`.
    #[must_use]
    pub fn value(&self, elapsed: Duration) -> f32 {
        self.curve.ramp(self.from, self.to, self.progress(elapsed))
    }

    /// Whether the ramp has arrived after `elapsed`.
    #[must_use]
    pub fn is_done(&self, elapsed: Duration) -> bool {
        elapsed >= self.duration
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_power_keeps_power_constant() {
        for i in 0..=100 {
            let p = i as f32 / 100.0;
            let a = Curve::EqualPower.fade_in(p);
            let b = Curve::EqualPower.fade_out(p);
            assert!((a * a + b * b - 1.0).abs() < 1e-5, "p={p}: {a}² + {b}² ≠ 1");
        }
    }

    #[test]
    fn every_curve_is_monotonic_and_pinned_at_the_ends() {
        for curve in [Curve::EqualPower, Curve::Linear, Curve::SCurve] {
            assert_eq!(curve.fade_in(0.0), 0.0);
            assert!((curve.fade_in(1.0) - 1.0).abs() < 1e-6);
            let mut last = -1.0;
            for i in 0..=1000 {
                let v = curve.fade_in(i as f32 / 1000.0);
                assert!(v >= last, "{curve:?} not monotonic at {i}");
                last = v;
            }
            assert_eq!(Curve::from_name(curve.name()), Some(curve));
        }
    }

    #[test]
    fn a_falling_equal_power_ramp_is_the_mixers_fade_out() {
        // Issue 9, bug 6: half way through a stop the engine predicted 0.29 while the mixer
        // played 0.71.
        let stop = Ramp {
            from: 1.0,
            to: 0.0,
            duration: Duration::from_secs(10),
            curve: Curve::EqualPower,
        };
        let half = stop.value(Duration::from_secs(5));
        assert!(
            (half - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6,
            "{half}"
        );
        for curve in [Curve::Linear, Curve::SCurve] {
            for i in 0..=20 {
                let p = i as f32 / 20.0;
                let (a, b) = (curve.ramp(0.8, 0.2, p), curve.interpolate(0.8, 0.2, p));
                assert!((a - b).abs() < 1e-6, "{curve:?} at {p}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn ramp_reaches_its_target_and_holds() {
        let ramp = Ramp {
            from: 0.2,
            to: 0.8,
            duration: Duration::from_secs(10),
            curve: Curve::Linear,
        };
        assert!((ramp.value(Duration::ZERO) - 0.2).abs() < 1e-6);
        assert!((ramp.value(Duration::from_secs(5)) - 0.5).abs() < 1e-6);
        assert!((ramp.value(Duration::from_secs(60)) - 0.8).abs() < 1e-6);
        assert!(ramp.is_done(Duration::from_secs(10)));
        assert_eq!(Ramp::hold(0.4).value(Duration::ZERO), 0.4);
    }
}
