//! Light effects as pure, seeded generators: `candle` (slow random flicker around a level) and
//! `breathe` (a sinusoidal swell at N breaths per minute). Each yields an endless stream of
//! timed device commands that keep to the light's message rate and, where the light fades
//! natively, glide from point to point with transitions. Deterministic for a given seed: it
//! must not read a clock, use a global random source, pace or publish.

use std::time::Duration;

use super::command::LightCommand;
use super::options::LightOptions;
use super::plan::{LightState, command_for};
use super::target::Effect;

/// The smallest swing an effect makes, in perceived lightness (3 L*, a few just-noticeable
/// differences): a candle at 8 % with a depth of 0.15 would otherwise move by ±1 L*, which on
/// a Zigbee bulb is brightness 10↔11 and nobody sees it.
pub const MIN_SWING: f32 = 0.03;
/// The smallest swing in device steps, so a coarse device (Tasmota's 100 steps, WLED's dim
/// end) still visibly moves.
const MIN_SWING_STEPS: f32 = 2.0;

/// How far an effect swings either side of `base` (perceived lightness): `depth × base`, but
/// at least [`MIN_SWING`] and at least two device steps, and never past dark or full.
#[must_use]
pub fn swing(depth: f32, base: f32, opts: &LightOptions) -> f32 {
    let steps = super::drivers::brightness_steps(opts) as f32;
    let device = opts.curve.device_from_perceived(base, opts.min_level);
    let up = (device + MIN_SWING_STEPS / steps).min(1.0);
    let two_steps = opts.curve.perceived_from_device(up, opts.min_level) - base;
    (depth.clamp(0.0, 1.0) * base)
        .max(MIN_SWING)
        .max(two_steps)
        .min(base.min(1.0 - base).max(0.0))
}

/// Most points per breath for a light with native transitions: peak, trough and the two
/// midpoints; the device glides between them (≤0.4 msg/s at 6 breaths/min).
const NATIVE_POINTS_PER_BREATH: u32 = 4;
/// Most points per breath when stepping in software.
const SOFTWARE_POINTS_PER_BREATH: u32 = 16;

/// splitmix64: a tiny, well-mixed, deterministic generator (Steele, Lea & Flood 2014).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number in `[0, 1)`.
    pub fn next_unit(&mut self) -> f64 {
        // 53 random bits: exactly representable in an f64 mantissa.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Debug, Clone)]
enum Kind {
    Candle {
        /// Swing either side of the base (perceived lightness).
        swing: f32,
        interval: Duration,
        rng: SplitMix64,
        /// Time and level of the next flicker point, drawn one ahead so a native transition
        /// can glide exactly into it.
        next: (Duration, f32),
    },
    Breathe {
        origin: Duration,
        period: Duration,
        /// Swing either side of the base (perceived lightness).
        swing: f32,
        points: u32,
        index: u64,
    },
}

/// A running effect: an endless iterator of `(time, command)` with times measured on the
/// caller's epoch, starting at the `start` it was created with.
#[derive(Debug, Clone)]
pub struct EffectRun {
    kind: Kind,
    base: LightState,
    opts: LightOptions,
    /// Time of the command to yield next.
    at: Duration,
    /// Whether the colour has been sent (only the first command carries it, so split-colour
    /// lights do not pay two messages per flicker).
    color_sent: bool,
    /// The last command yielded, as a move: its time, the level it started from, its level
    /// and its transition (for where the light is between two points).
    shown: (Duration, f32, f32, Duration),
}

impl EffectRun {
    /// Starts `effect` around `base` at `start`, or `None` for [`Effect::None`] or a light
    /// that is off.
    #[must_use]
    pub fn new(
        effect: Effect,
        base: LightState,
        start: Duration,
        seed: u64,
        opts: &LightOptions,
    ) -> Option<Self> {
        if base.level <= 0.0 {
            return None;
        }
        let spacing = opts.min_spacing();
        let kind = match effect {
            Effect::None => return None,
            Effect::Candle { depth, interval } => {
                let mut rng = SplitMix64::new(seed);
                let swing = swing(depth, base.level, opts);
                let level = candle_level(base.level, swing, &mut rng);
                let first = (start + candle_gap(interval, spacing, &mut rng), level);
                Kind::Candle {
                    swing,
                    interval,
                    rng,
                    next: first,
                }
            }
            Effect::Breathe { per_minute, depth } => {
                let per_minute = if per_minute.is_finite() && per_minute > 0.0 {
                    per_minute
                } else {
                    6.0
                };
                let period = Duration::from_secs_f64(60.0 / f64::from(per_minute));
                let most = if opts.fades_natively() {
                    NATIVE_POINTS_PER_BREATH
                } else {
                    SOFTWARE_POINTS_PER_BREATH
                };
                let fit = (period.as_secs_f64() / spacing.as_secs_f64()).floor();
                // Clamped to 2..=16 before the cast.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let points = fit.clamp(2.0, f64::from(most)) as u32;
                Kind::Breathe {
                    origin: start,
                    period,
                    swing: swing(depth, base.level, opts),
                    points,
                    index: 0,
                }
            }
        };
        Some(Self {
            kind,
            base,
            opts: opts.clone(),
            at: start,
            color_sent: false,
            shown: (start, base.level, base.level, Duration::ZERO),
        })
    }

    /// The level the effect swings around.
    #[must_use]
    pub fn base(&self) -> LightState {
        self.base
    }

    /// Where the light is at `now`: part way along the move the last command started (a
    /// native light glides between points), so a pause freezes it where it is, not at the
    /// base.
    #[must_use]
    pub fn level_at(&self, now: Duration) -> f32 {
        let (at, from, to, len) = self.shown;
        if len.is_zero() || now >= at + len {
            return to;
        }
        let p = (now.saturating_sub(at).as_secs_f64() / len.as_secs_f64()) as f32;
        from + (to - from) * p
    }

    fn show(&mut self, at: Duration, level: f32, transition: Option<Duration>) {
        let from = self.level_at(at);
        let len = transition.map_or(Duration::ZERO, |t| t.min(self.opts.max_native_fade));
        self.shown = (at, from, level, len);
    }

    /// When the next command is due.
    #[must_use]
    pub fn next_at(&self) -> Duration {
        self.at
    }

    fn command(&mut self, level: f32, transition: Option<Duration>) -> LightCommand {
        let transition = transition.map(|t| t.min(self.opts.max_native_fade));
        let color = if self.color_sent {
            None
        } else {
            self.color_sent = true;
            self.base.color
        };
        command_for(LightState { level, color }, transition, &self.opts)
    }
}

fn candle_level(base: f32, swing: f32, rng: &mut SplitMix64) -> f32 {
    let u = rng.next_unit() as f32;
    (base + swing * (2.0 * u - 1.0)).clamp(0.0, 1.0)
}

/// Exponentially distributed gap with mean `interval`, never shorter than the light's message
/// spacing and never longer than four means (so the flame never stalls).
fn candle_gap(interval: Duration, spacing: Duration, rng: &mut SplitMix64) -> Duration {
    let u = rng.next_unit();
    let gap = interval.mul_f64((-(1.0 - u).ln()).min(4.0));
    gap.max(spacing)
}

impl Iterator for EffectRun {
    type Item = (Duration, LightCommand);

    fn next(&mut self) -> Option<Self::Item> {
        let native = self.opts.fades_natively();
        let spacing = self.opts.min_spacing();
        let at = self.at;
        match &mut self.kind {
            Kind::Candle {
                swing,
                interval,
                rng,
                next,
            } => {
                let (next_at, next_level) = *next;
                let (depth, interval) = (*swing, *interval);
                if native {
                    // Glide from here into the next point.
                    let following = (
                        next_at + candle_gap(interval, spacing, rng),
                        candle_level(self.base.level, depth, rng),
                    );
                    *next = following;
                    self.at = next_at;
                    self.show(at, next_level, Some(next_at - at));
                    Some((at, self.command(next_level, Some(next_at - at))))
                } else {
                    // Step to a point now; the next one comes after a random gap.
                    let level = candle_level(self.base.level, depth, rng);
                    *next = (next_at + candle_gap(interval, spacing, rng), level);
                    self.at = next_at;
                    self.show(at, next_level, None);
                    Some((at, self.command(next_level, None)))
                }
            }
            Kind::Breathe {
                origin,
                period,
                swing: amplitude,
                points,
                index,
            } => {
                let (origin, period, amplitude, points) = (*origin, *period, *amplitude, *points);
                // Times come from the origin, not from the previous point, so nothing drifts.
                let time_of = |i: u64| origin + period.mul_f64(i as f64 / f64::from(points));
                let level_of = |i: u64| {
                    let phase = (i % u64::from(points)) as f64 / f64::from(points);
                    let swing = (std::f64::consts::TAU * phase).cos() as f32;
                    (self.base.level - amplitude * swing).clamp(0.0, 1.0)
                };
                let i = *index;
                *index += 1;
                self.at = time_of(i + 1);
                let cmd = if native {
                    let (level, t) = (level_of(i + 1), time_of(i + 1) - time_of(i));
                    self.show(at, level, Some(t));
                    self.command(level, Some(t))
                } else {
                    let level = level_of(i);
                    self.show(at, level, None);
                    self.command(level, None)
                };
                Some((at, cmd))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lights::LightColor;
    use crate::lights::options::DriverKind;

    fn base() -> LightState {
        LightState {
            level: 0.4,
            color: Some(LightColor::Kelvin(2200)),
        }
    }

    fn candle() -> Effect {
        Effect::Candle {
            depth: 0.25,
            interval: Duration::from_secs(3),
        }
    }

    fn take_until(run: EffectRun, end: Duration) -> Vec<(Duration, LightCommand)> {
        run.take_while(|(t, _)| *t < end).collect()
    }

    #[test]
    fn splitmix_is_deterministic_and_spread() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        let xs: Vec<f64> = (0..1000).map(|_| a.next_unit()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        assert_eq!(
            xs[..5],
            (0..5).map(|_| b.next_unit()).collect::<Vec<_>>()[..]
        );
        let mean = xs.iter().sum::<f64>() / 1000.0;
        assert!((mean - 0.5).abs() < 0.05, "{mean}");
    }

    #[test]
    fn ten_candles_for_a_minute_stay_within_rate_and_depth() {
        for (kind, group) in [
            (DriverKind::Zigbee2Mqtt, false),
            (DriverKind::Zigbee2Mqtt, true),
            (DriverKind::Template, false),
        ] {
            let mut opts = LightOptions::defaults(kind);
            if group {
                opts = opts.as_group();
            }
            let minute = Duration::from_secs(60);
            let mut total = 0;
            for bulb in 0..10u64 {
                let run = EffectRun::new(candle(), base(), Duration::ZERO, bulb, &opts)
                    .expect("candle runs");
                let cmds = take_until(run, minute);
                total += cmds.len();
                for w in cmds.windows(2) {
                    assert!(
                        w[1].0 - w[0].0 >= opts.min_spacing(),
                        "{kind:?} bulb {bulb}"
                    );
                }
                // At most rate × 60 s (+1 for the first command at t = 0).
                let cap = (60.0 * opts.max_rate) as usize + 1;
                assert!(cmds.len() <= cap, "{kind:?} bulb {bulb}: {}", cmds.len());
                assert!(cmds.len() >= 5, "a candle must move: {}", cmds.len());
                for (_, c) in &cmds {
                    let l = opts
                        .curve
                        .perceived_from_device(c.brightness, opts.min_level);
                    assert!((0.3 - 1e-3..=0.5 + 1e-3).contains(&l), "level {l}");
                    if opts.fades_natively() {
                        assert!(c.transition.is_some());
                    }
                }
                assert_eq!(cmds[0].1.color, Some(LightColor::Kelvin(2200)));
                assert!(cmds[1..].iter().all(|(_, c)| c.color.is_none()));
            }
            println!("{kind:?} group={group}: 10 candles × 60 s = {total} messages");
        }
    }

    #[test]
    fn candle_depends_only_on_its_seed() {
        let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
        let end = Duration::from_secs(120);
        let run = |seed| {
            take_until(
                EffectRun::new(candle(), base(), Duration::ZERO, seed, &opts).expect("runs"),
                end,
            )
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
    }

    #[test]
    fn native_candle_transitions_end_where_the_next_move_starts() {
        let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
        let run =
            EffectRun::new(candle(), base(), Duration::from_secs(10), 3, &opts).expect("runs");
        let cmds = take_until(run, Duration::from_secs(200));
        assert_eq!(cmds[0].0, Duration::from_secs(10));
        for w in cmds.windows(2) {
            assert_eq!(w[0].0 + w[0].1.transition.expect("native"), w[1].0);
        }
    }

    #[test]
    fn breathe_period_matches_breaths_per_minute() {
        for (kind, per_minute) in [
            (DriverKind::Zigbee2Mqtt, 6.0),
            (DriverKind::Zigbee2Mqtt, 4.5),
            (DriverKind::Template, 6.0),
            (DriverKind::Tasmota, 12.0),
        ] {
            let opts = LightOptions::defaults(kind);
            let effect = Effect::Breathe {
                per_minute,
                depth: 0.3,
            };
            let run = EffectRun::new(effect, base(), Duration::ZERO, 0, &opts).expect("runs");
            let cmds = take_until(run, Duration::from_secs(600));
            let top = cmds
                .iter()
                .map(|(_, c)| c.brightness)
                .fold(f32::MIN, f32::max);
            // The moments the light is told to head for (native) or show (software) the peak.
            let peaks: Vec<Duration> = cmds
                .iter()
                .filter(|(_, c)| (c.brightness - top).abs() < 1e-6)
                .map(|(t, _)| *t)
                .collect();
            let period = Duration::from_secs_f64(60.0 / f64::from(per_minute));
            assert!(peaks.len() >= 10, "{kind:?}: {}", peaks.len());
            for w in peaks.windows(2) {
                let d = (w[1] - w[0]).as_secs_f64();
                assert!(
                    (d - period.as_secs_f64()).abs() < 1e-3,
                    "{kind:?}: {d} vs {period:?}"
                );
            }
            for w in cmds.windows(2) {
                assert!(w[1].0 - w[0].0 >= opts.min_spacing());
            }
            let peak = opts.curve.perceived_from_device(top, opts.min_level);
            assert!((peak - 0.4 * 1.3).abs() < 2e-3, "{kind:?} peak {peak}");
        }
    }

    #[test]
    fn dim_candles_and_breaths_move_by_visible_device_steps() {
        // Issue 9, bug 4: at 6–10 % a candle of depth 0.15 moved by one device step (Zigbee
        // brightness 10↔11, WLED 2↔3), which nobody sees.
        for kind in [
            DriverKind::Zigbee2Mqtt,
            DriverKind::Wled,
            DriverKind::Tasmota,
        ] {
            let opts = LightOptions::defaults(kind);
            let steps = crate::lights::drivers::brightness_steps(&opts) as f32;
            for level in [0.06, 0.08, 0.1] {
                let dim = LightState { level, color: None };
                for effect in [
                    Effect::Candle {
                        depth: 0.15,
                        interval: Duration::from_secs(2),
                    },
                    Effect::Breathe {
                        per_minute: 6.0,
                        depth: 0.15,
                    },
                ] {
                    let run =
                        EffectRun::new(effect, dim, Duration::ZERO, 7, &opts).expect("an effect");
                    let device: Vec<f32> = take_until(run, Duration::from_secs(120))
                        .iter()
                        .map(|(_, c)| (c.brightness * steps).round())
                        .collect();
                    let lo = device.iter().copied().fold(f32::MAX, f32::min);
                    let hi = device.iter().copied().fold(0.0, f32::max);
                    assert!(
                        hi - lo >= 3.0,
                        "{kind:?} {effect:?} at {level}: device {lo}..{hi}"
                    );
                    // Visible, yet still a gentle swing around the level, never dark.
                    assert!(lo >= 1.0, "{kind:?} {effect:?} at {level}: {lo}");
                    assert!(swing(0.15, level, &opts) <= level);
                }
            }
        }
    }

    #[test]
    fn no_effect_or_dark_light_makes_no_run() {
        let opts = LightOptions::defaults(DriverKind::Wled);
        assert!(EffectRun::new(Effect::None, base(), Duration::ZERO, 0, &opts).is_none());
        assert!(EffectRun::new(candle(), LightState::OFF, Duration::ZERO, 0, &opts).is_none());
    }
}
