//! Per-sample gain ramps counted in frames, for the real-time side. Owns the shape of a gain
//! moving between two amplitudes (curves come from `crate::tween`); must not allocate or read
//! a clock: time is the number of frames the mixer says have passed.

use crate::tween::Curve;

/// Frames between two exact curve evaluations; samples in between are linearly interpolated.
/// The curves are smooth, so over 32 frames (0.7 ms at 48 kHz) the straight segment is
/// indistinguishable from the curve, and `sin` is evaluated 15× per 480-frame block instead of
/// 480×. Every sample still gets its own gain, so there is no zipper noise.
const SEGMENT: usize = 32;

/// An amplitude moving from `from` to `to` over `len` frames along a curve.
///
/// Rising ramps follow `curve.fade_in`, falling ramps `curve.fade_out`, so a voice fading in
/// and another fading out with the same equal-power curve keep the summed power constant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct GainRamp {
    from: f32,
    to: f32,
    len: u64,
    pos: u64,
    curve: Curve,
}

impl GainRamp {
    /// A ramp that has arrived at `value`.
    pub(crate) fn hold(value: f32) -> Self {
        Self {
            from: value,
            to: value,
            len: 0,
            pos: 0,
            curve: Curve::Linear,
        }
    }

    /// A ramp from `from` to `to` over `len` frames.
    pub(crate) fn new(from: f32, to: f32, len: u64, curve: Curve) -> Self {
        Self {
            from,
            to,
            len,
            pos: 0,
            curve,
        }
    }

    /// Starts a new ramp from wherever this one is now.
    pub(crate) fn retarget(&mut self, to: f32, len: u64, curve: Curve) {
        *self = Self::new(self.current(), to, len, curve);
    }

    /// The amplitude now.
    pub(crate) fn current(&self) -> f32 {
        self.value_at(self.pos)
    }

    /// The amplitude the ramp ends at.
    pub(crate) fn target(&self) -> f32 {
        self.to
    }

    /// Frames until the ramp arrives.
    pub(crate) fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    /// Whether the ramp has arrived.
    pub(crate) fn is_done(&self) -> bool {
        self.pos >= self.len
    }

    fn value_at(&self, pos: u64) -> f32 {
        if pos >= self.len {
            return self.to;
        }
        #[allow(clippy::cast_precision_loss)]
        let p = (pos as f64 / self.len as f64) as f32;
        self.curve.ramp(self.from, self.to, p)
    }

    /// Writes one gain per frame into `out`. When `advance` is false (fades paused) the ramp
    /// holds its current value.
    pub(crate) fn fill(&mut self, out: &mut [f32], advance: bool) {
        self.fill_scaled(out, advance, 1.0);
    }

    /// Like [`GainRamp::fill`], with every gain multiplied by `scale`.
    pub(crate) fn fill_scaled(&mut self, out: &mut [f32], advance: bool, scale: f32) {
        if !advance || self.is_done() {
            out.fill(self.current() * scale);
            return;
        }
        let mut start = self.value_at(self.pos);
        for seg in out.chunks_mut(SEGMENT) {
            let n = seg.len() as u64;
            let end = self.value_at(self.pos + n);
            #[allow(clippy::cast_precision_loss)]
            let step = (end - start) / n as f32;
            let mut g = start;
            for s in seg.iter_mut() {
                *s = g * scale;
                g += step;
            }
            self.pos = (self.pos + n).min(self.len);
            start = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rising_and_falling_equal_power_keep_power() {
        let mut up = GainRamp::new(0.0, 1.0, 1000, Curve::EqualPower);
        let mut down = GainRamp::new(1.0, 0.0, 1000, Curve::EqualPower);
        let mut a = vec![0.0; 1000];
        let mut b = vec![0.0; 1000];
        up.fill(&mut a, true);
        down.fill(&mut b, true);
        for (x, y) in a.iter().zip(&b) {
            assert!((x * x + y * y - 1.0).abs() < 1e-3, "{x}² + {y}²");
        }
        assert!(up.is_done() && down.is_done());
        assert_eq!(up.current(), 1.0);
        assert_eq!(down.current(), 0.0);
    }

    #[test]
    fn ramps_are_monotonic_per_sample_and_pause_holds() {
        for curve in [Curve::EqualPower, Curve::Linear, Curve::SCurve] {
            let mut r = GainRamp::new(0.2, 0.9, 5000, curve);
            let mut buf = vec![0.0; 480];
            let mut last = 0.0f32;
            for block in 0..12 {
                r.fill(&mut buf, block != 3);
                if block == 3 {
                    assert!(buf.iter().all(|&g| g == buf[0]), "paused ramp moved");
                }
                for &g in &buf {
                    assert!(g >= last - 1e-6, "{curve:?}: {g} < {last}");
                    last = g;
                }
            }
            assert!((last - 0.9).abs() < 1e-6);
        }
    }

    #[test]
    fn the_mixer_and_the_engine_share_one_ramp() {
        for curve in [Curve::EqualPower, Curve::Linear, Curve::SCurve] {
            for (from, to) in [(0.0, 1.0), (1.0, 0.0), (0.7, 0.2)] {
                let engine = crate::tween::Ramp {
                    from,
                    to,
                    duration: std::time::Duration::from_secs(1),
                    curve,
                };
                let mut mixer = GainRamp::new(from, to, 48_000, curve);
                let mut buf = vec![0.0; 24_000];
                mixer.fill(&mut buf, true);
                let half = engine.value(std::time::Duration::from_millis(500));
                assert!(
                    (mixer.current() - half).abs() < 1e-6,
                    "{curve:?} {from}→{to}"
                );
            }
        }
    }

    #[test]
    fn retarget_starts_from_the_current_value() {
        let mut r = GainRamp::new(0.0, 1.0, 100, Curve::Linear);
        let mut buf = [0.0; 50];
        r.fill(&mut buf, true);
        r.retarget(0.0, 10, Curve::Linear);
        assert!((r.current() - 0.5).abs() < 1e-6);
        assert_eq!(r.target(), 0.0);
    }
}
