//! Fade planning: turns "go from here to that target over this long along this easing" into a
//! timed list of device commands. Native-fade lights get a few long native transitions along
//! the perceptual curve; others get software steps of equal ΔL*, never faster than the light's
//! message rate. Pure: no clock (offsets are from the fade start), no I/O, no pacing state.
//!
//! Facts used (reference §0, §2.1, §2.3, §3): fades are modelled in perceived lightness and
//! mapped to device values per light; long fades are piecewise native segments of ≥5 s
//! ("e.g. 6–12 segments over a 10-min fade"), keeping ≤0.2 msg/s; without native fades, steps
//! of equal ΔL* at ≤ max_rate; a fade to 0 ends at the minimum level followed by an explicit
//! OFF, so the light comes back on at a level we chose.

use std::time::Duration;

use super::command::LightCommand;
use super::options::LightOptions;
use super::target::{LightColor, LightTarget};
use crate::tween::Curve;
use crate::units::{kelvin_of_mireds, mireds};

/// Segment length a long native fade aims for: a 10-minute fade becomes about 10 segments.
pub const TARGET_SEGMENT: Duration = Duration::from_secs(60);
/// Shortest native segment made by splitting a fade for accuracy (≤0.2 msg/s; reference §3).
pub const MIN_SEGMENT: Duration = Duration::from_secs(5);
/// Largest allowed gap, in L* units, between the planned perceptual curve and the
/// device's straight-line transition inside a segment before the segment is split.
pub const MAX_SEGMENT_ERROR_L: f32 = 2.0;
/// Perceived step of a software fade, in L* units (about half a just-noticeable difference).
pub const SOFTWARE_STEP_L: f32 = 0.5;
/// Colour step of a software fade, in mireds.
pub const SOFTWARE_STEP_MIRED: f32 = 2.0;

/// Where a light is (or is believed to be): perceived level and colour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LightState {
    /// Perceived lightness 0..=1; 0 is off.
    pub level: f32,
    /// Colour last set, if known.
    pub color: Option<LightColor>,
}

impl LightState {
    /// A light that is off with no known colour.
    pub const OFF: Self = Self {
        level: 0.0,
        color: None,
    };
}

/// A fade in perceived space: from a state to a target over a duration along an easing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fade {
    /// Where the fade starts.
    pub from: LightState,
    /// Where it ends (its `effect` is not part of the fade).
    pub to: LightTarget,
    /// How long the whole fade lasts.
    pub duration: Duration,
    /// Easing, applied to perceived lightness and to mireds alike.
    pub curve: Curve,
}

/// A timed command list: offsets from the start of the plan.
pub type Schedule = Vec<(Duration, LightCommand)>;

impl Fade {
    /// The rest of this fade after `elapsed`, taken up from `level` (where a device really
    /// is, which may not be where the plan had got to) and moving no faster than the whole
    /// fade did on average: what was left of its time, or longer if the light has further
    /// to go, or `at_least` (a device glide that must finish first).
    #[must_use]
    pub fn rest_from(&self, elapsed: Duration, level: f32, at_least: Duration) -> Self {
        let left = self.duration.saturating_sub(elapsed);
        let span = (self.to.level - self.from.level).abs();
        let speed = span / self.duration.as_secs_f32().max(1e-3);
        let needed = if speed > 0.0 {
            Duration::from_secs_f32(((self.to.level - level).abs() / speed).min(86_400.0))
        } else {
            Duration::ZERO
        };
        Self {
            from: LightState {
                level,
                color: self.state_at(elapsed).color,
            },
            to: self.to,
            duration: left.max(needed).max(at_least),
            curve: Curve::Linear,
        }
    }

    /// Eased progress (0..=1) after `elapsed`.
    #[must_use]
    pub fn eased(&self, elapsed: Duration) -> f32 {
        if self.duration.is_zero() || elapsed >= self.duration {
            return 1.0;
        }
        let p = (elapsed.as_secs_f64() / self.duration.as_secs_f64()) as f32;
        self.curve.fade_in(p)
    }

    /// Perceived state after `elapsed`.
    #[must_use]
    pub fn state_at(&self, elapsed: Duration) -> LightState {
        self.state_at_eased(self.eased(elapsed))
    }

    /// Perceived state at eased progress `e`; exactly the target at `e == 1`.
    #[must_use]
    pub fn state_at_eased(&self, e: f32) -> LightState {
        if e >= 1.0 {
            return LightState {
                level: self.to.level.clamp(0.0, 1.0),
                color: self.to.color.or(self.from.color),
            };
        }
        let level = self.from.level + (self.to.level - self.from.level) * e;
        LightState {
            level: level.clamp(0.0, 1.0),
            color: mix_color(self.from.color, self.to.color, e),
        }
    }

    /// Time at which eased progress reaches `e` (bisection; the curves are monotonic).
    fn time_of_eased(&self, e: f32) -> Duration {
        if e >= 1.0 {
            return self.duration;
        }
        let (mut lo, mut hi) = (0.0f32, 1.0f32);
        for _ in 0..40 {
            let mid = 0.5 * (lo + hi);
            if self.curve.fade_in(mid) < e {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        self.duration.mul_f64(f64::from(hi))
    }
}

/// Colour between two colours at eased progress `e`: colour temperatures move in mireds,
/// RGB per channel; a change of kind (or from unknown) takes the target at once; no target
/// colour means "leave it", so nothing is sent.
#[must_use]
pub fn mix_color(from: Option<LightColor>, to: Option<LightColor>, e: f32) -> Option<LightColor> {
    let e = e.clamp(0.0, 1.0);
    match (from, to) {
        (Some(LightColor::Kelvin(a)), Some(LightColor::Kelvin(b))) => {
            let (ma, mb) = (mireds(a), mireds(b));
            Some(LightColor::Kelvin(kelvin_of_mireds(ma + (mb - ma) * e)))
        }
        (Some(LightColor::Rgb(a)), Some(LightColor::Rgb(b))) => {
            let mut c = [0u8; 3];
            for i in 0..3 {
                let v = f32::from(a[i]) + (f32::from(b[i]) - f32::from(a[i])) * e;
                // Between two u8 values.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let v = v.round().clamp(0.0, 255.0) as u8;
                c[i] = v;
            }
            Some(LightColor::Rgb(c))
        }
        (_, to) => to,
    }
}

fn mired_of(color: Option<LightColor>) -> Option<f32> {
    match color {
        Some(LightColor::Kelvin(k)) => Some(mireds(k)),
        _ => None,
    }
}

/// The device command that shows `state`. A dark state still gets the light's minimum level:
/// turning off is always a separate, explicit OFF command (reference §2.3).
#[must_use]
pub fn command_for(
    state: LightState,
    transition: Option<Duration>,
    opts: &LightOptions,
) -> LightCommand {
    let brightness = opts
        .device_from_perceived(state.level)
        .max(opts.caps.min_level);
    LightCommand {
        on: true,
        brightness,
        color: state.color,
        transition,
    }
}

/// Plans a whole fade from its start. Offsets are from the start of the fade.
#[must_use]
pub fn plan(
    from: LightState,
    to: &LightTarget,
    duration: Duration,
    curve: Curve,
    opts: &LightOptions,
) -> Schedule {
    let fade = Fade {
        from,
        to: *to,
        duration,
        curve,
    };
    plan_remaining(&fade, Duration::ZERO, opts)
}

/// Plans what is left of `fade` after `elapsed` of it has run (used to resume after a pause).
/// Offsets are from the moment the remainder starts.
#[must_use]
pub fn plan_remaining(fade: &Fade, elapsed: Duration, opts: &LightOptions) -> Schedule {
    let rem = fade.duration.saturating_sub(elapsed);
    let e0 = fade.eased(elapsed);
    let now = fade.state_at_eased(e0);
    let end = fade.state_at_eased(1.0);
    let to_zero = end.level <= 0.0;
    let off = LightCommand::off();

    if to_zero && now.level <= 0.0 {
        return vec![(Duration::ZERO, off)];
    }
    let unchanged = (end.level - now.level).abs() < 1e-6 && end.color == now.color;
    let shortest = opts
        .caps
        .transition_resolution
        .max(Duration::from_millis(1));
    if rem < shortest || unchanged {
        let cmd = if to_zero {
            off
        } else {
            command_for(end, None, opts)
        };
        return vec![(Duration::ZERO, cmd)];
    }

    let mut schedule = if opts.fades_natively() {
        native_segments(fade, elapsed, rem, opts)
    } else {
        software_steps(fade, elapsed, rem, e0, opts)
    };
    if to_zero {
        let last = schedule.last().map_or(Duration::ZERO, |(t, _)| *t);
        let at = if opts.fades_natively() {
            rem.max(last + opts.min_spacing())
        } else {
            // The last software step is the OFF itself.
            schedule.pop();
            last.max(
                schedule
                    .last()
                    .map_or(Duration::ZERO, |(t, _)| *t + opts.min_spacing()),
            )
        };
        schedule.push((at, off));
    }
    schedule
}

/// Segment boundaries for `n` equal native segments over `rem`, rounded to the driver's
/// transition resolution (the last boundary is `rem` itself).
fn boundaries(rem: Duration, n: u32, resolution: Duration) -> Vec<Duration> {
    let res = resolution.as_micros().max(1);
    (0..=n)
        .map(|i| {
            if i == n {
                return rem;
            }
            let t = rem.as_micros() * u128::from(i) / u128::from(n);
            let t = (t + res / 2) / res * res;
            Duration::from_micros(u64::try_from(t).unwrap_or(u64::MAX))
        })
        .collect()
}

/// Largest gap in L* between the eased curve and the device's linear transition over each
/// segment (sampled), for segment boundaries `bounds` after `elapsed`.
fn segment_error(fade: &Fade, elapsed: Duration, bounds: &[Duration], opts: &LightOptions) -> f32 {
    let device = |t: Duration| {
        let s = fade.state_at(elapsed + t);
        opts.device_from_perceived(s.level)
    };
    let mut worst = 0.0f32;
    for w in bounds.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (da, db) = (device(a), device(b));
        for k in 1..8 {
            let u = k as f32 / 8.0;
            let t = a + (b - a).mul_f32(u);
            let planned = fade.state_at(elapsed + t).level;
            let shown = opts.perceived_from_device(da + (db - da) * u);
            worst = worst.max((planned - shown).abs() * 100.0);
        }
    }
    worst
}

/// Shortest spacing between two commands of this plan: a command that carries a colour costs
/// two messages on a split-colour light, so it needs twice the light's message spacing.
fn command_spacing(opts: &LightOptions, colored: bool) -> Duration {
    if opts.split_color && colored {
        opts.min_spacing() * 2
    } else {
        opts.min_spacing()
    }
}

fn ceil_div(a: Duration, b: Duration) -> u32 {
    if b.is_zero() {
        return 1;
    }
    let n = a.as_micros().div_ceil(b.as_micros());
    u32::try_from(n).unwrap_or(u32::MAX).max(1)
}

fn native_segments(fade: &Fade, elapsed: Duration, rem: Duration, opts: &LightOptions) -> Schedule {
    let colored = fade.state_at_eased(1.0).color.is_some();
    let spacing = command_spacing(opts, colored).max(opts.caps.transition_resolution);
    // Never more segments than the rate allows (each segment is one message).
    let cap = u32::try_from(rem.as_micros() / spacing.as_micros().max(1))
        .unwrap_or(u32::MAX)
        .max(1);
    let mut n = ceil_div(rem, opts.caps.max_native_fade)
        .max(ceil_div(rem, TARGET_SEGMENT))
        .min(cap);
    let res = opts.caps.transition_resolution;
    let mut bounds = boundaries(rem, n, res);
    while n < cap
        && rem / (n + 1) >= MIN_SEGMENT
        && segment_error(fade, elapsed, &bounds, opts) > MAX_SEGMENT_ERROR_L
    {
        n += 1;
        bounds = boundaries(rem, n, res);
    }
    bounds
        .windows(2)
        .map(|w| {
            let state = fade.state_at(elapsed + w[1]);
            let state = if w[1] == rem {
                fade.state_at_eased(1.0)
            } else {
                state
            };
            (w[0], command_for(state, Some(w[1] - w[0]), opts))
        })
        .collect()
}

fn software_steps(
    fade: &Fade,
    elapsed: Duration,
    rem: Duration,
    e0: f32,
    opts: &LightOptions,
) -> Schedule {
    let now = fade.state_at_eased(e0);
    let end = fade.state_at_eased(1.0);
    let spacing = command_spacing(opts, end.color.is_some());
    let dl = (end.level - now.level).abs() * 100.0;
    let dm = match (mired_of(now.color), mired_of(end.color)) {
        (Some(a), Some(b)) => (a - b).abs(),
        _ => 0.0,
    };
    let wanted = (dl / SOFTWARE_STEP_L).max(dm / SOFTWARE_STEP_MIRED).ceil();
    // Bounded above by the rate cap below, so the cast cannot overflow.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let wanted = wanted.clamp(1.0, 1e6) as u32;
    let cap = u32::try_from(rem.as_micros() / spacing.as_micros().max(1))
        .unwrap_or(u32::MAX)
        .max(1);
    let mut n = wanted.min(cap);
    let times = |n: u32| -> Vec<Duration> {
        (1..=n)
            .map(|k| {
                let e = e0 + (1.0 - e0) * k as f32 / n as f32;
                if k == n {
                    rem
                } else {
                    fade.time_of_eased(e).saturating_sub(elapsed).min(rem)
                }
            })
            .collect()
    };
    let mut ts = times(n);
    loop {
        // The first step may come at once; after that, keep the light's message spacing.
        let min_gap = ts
            .windows(2)
            .map(|w| w[1] - w[0])
            .min()
            .unwrap_or(Duration::MAX);
        if n <= 1 || min_gap >= spacing {
            break;
        }
        // Gaps shrink roughly as 1/n: jump close to the right count, then walk down.
        let guess = (f64::from(n) * min_gap.as_secs_f64() / spacing.as_secs_f64()).floor();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let guess = guess.max(1.0) as u32;
        n = guess.min(n - 1);
        ts = times(n);
    }
    ts.iter()
        .enumerate()
        .map(|(i, &t)| {
            let k = i as f32 + 1.0;
            let state = if i + 1 == ts.len() {
                end
            } else {
                fade.state_at_eased(e0 + (1.0 - e0) * k / ts.len() as f32)
            };
            (t, command_for(state, None, opts))
        })
        .collect()
}

#[cfg(test)]
mod tests;
