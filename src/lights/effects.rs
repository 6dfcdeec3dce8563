//! Light effects as pure, seeded generators: `candle` (slow random flicker around a level) and
//! `breathe` (a sinusoidal swell at N breaths per minute). Each yields an endless stream of
//! timed device commands that keep to the light's message rate and, where the light fades
//! natively, glide from point to point with transitions. An effect can blend in during its
//! entry fade: its centre follows the fade and its swing grows with the fade's progress.
//! Deterministic for a given seed: it must not read a clock, use a global random source, pace
//! or publish.

use std::time::Duration;

use super::command::LightCommand;
use super::options::LightOptions;
use super::plan::{Fade, LightState, command_for};
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
        /// Time and offset (−1…1, in swings) of the next flicker point, drawn one ahead so a
        /// native transition can glide exactly into it.
        next: (Duration, f32),
        /// Time and offset of the point the light glides from.
        here: (Duration, f32),
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

/// The fade an effect blends in over: its centre follows the fade, its swing grows with the
/// fade's eased progress.
#[derive(Debug, Clone, Copy)]
struct Entry {
    fade: Fade,
    /// How much of the fade had run at `origin` (non-zero after a pause).
    skip: Duration,
    /// Epoch time of `skip`.
    origin: Duration,
    /// Whether the colour changes along the fade (then every command during the entry carries
    /// the colour of its moment, and the first one after it the final colour).
    colored: bool,
}

impl Entry {
    /// How far into the fade epoch time `t` is.
    fn elapsed(&self, t: Duration) -> Duration {
        self.skip + t.saturating_sub(self.origin)
    }

    fn end(&self) -> Duration {
        self.origin + self.fade.duration.saturating_sub(self.skip)
    }
}

/// A running effect: an endless iterator of `(time, command)` with times measured on the
/// caller's epoch, starting at the `start` it was created with.
#[derive(Debug, Clone)]
pub struct EffectRun {
    kind: Kind,
    /// The level (and colour) the effect swings around once any entry fade is over.
    base: LightState,
    entry: Option<Entry>,
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
        Self::start(effect, base, None, start, seed, opts)
    }

    /// Starts `effect` at `start` blending in along `fade`, of which `skip` has already run:
    /// the effect's centre follows the fade and its swing grows from nothing with the fade's
    /// eased progress, so a candle lit over 20 s flickers gently from the first seconds
    /// instead of waiting for the fade to end. `None` for [`Effect::None`] or a fade to dark.
    #[must_use]
    pub fn blend_in(
        effect: Effect,
        fade: Fade,
        skip: Duration,
        start: Duration,
        seed: u64,
        opts: &LightOptions,
    ) -> Option<Self> {
        let base = fade.state_at_eased(1.0);
        let entry = Entry {
            fade,
            skip,
            origin: start,
            colored: fade.state_at(skip).color != base.color,
        };
        let entry = (skip < fade.duration).then_some(entry);
        Self::start(effect, base, entry, start, seed, opts)
    }

    fn start(
        effect: Effect,
        base: LightState,
        entry: Option<Entry>,
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
                let offset = candle_offset(&mut rng);
                let first = (start + candle_gap(interval, spacing, &mut rng), offset);
                Kind::Candle {
                    swing,
                    interval,
                    rng,
                    next: first,
                    here: (start, 0.0),
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
        let from = entry.map_or(base.level, |e| e.fade.state_at(e.skip).level);
        Some(Self {
            kind,
            base,
            entry,
            opts: opts.clone(),
            at: start,
            color_sent: false,
            shown: (start, from, from, Duration::ZERO),
        })
    }

    /// Moves the rest of the effect (its next points, its entry fade) `by` later: its last
    /// command went out that late.
    pub fn delay(&mut self, by: Duration) {
        if by.is_zero() {
            return;
        }
        self.at += by;
        self.shown.0 += by;
        if let Some(e) = &mut self.entry {
            e.origin += by;
        }
        match &mut self.kind {
            Kind::Candle { next, here, .. } => {
                next.0 += by;
                here.0 += by;
            }
            Kind::Breathe { origin, .. } => *origin += by,
        }
    }

    /// The level the effect swings around once its entry fade (if any) is over.
    #[must_use]
    pub fn base(&self) -> LightState {
        self.base
    }

    /// The centre of the swing at `t`: along the entry fade while it runs, then the base.
    #[must_use]
    pub fn base_at(&self, t: Duration) -> LightState {
        match &self.entry {
            Some(e) if t < e.end() => e.fade.state_at(e.elapsed(t)),
            _ => self.base,
        }
    }

    /// The entry fade still running at `now` and how much of it has run, if any (a pause
    /// keeps this and blends the effect in again over what is left).
    #[must_use]
    pub fn entry_at(&self, now: Duration) -> Option<(Fade, Duration)> {
        self.entry
            .filter(|e| now < e.end())
            .map(|e| (e.fade, e.elapsed(now)))
    }

    /// How much of its swing the effect shows at `t` (the entry fade's eased progress).
    fn scale_at(&self, t: Duration) -> f32 {
        match &self.entry {
            Some(e) if t < e.end() => e.fade.eased(e.elapsed(t)),
            _ => 1.0,
        }
    }

    /// The level of a point at `t` that sits `offset` swings from the centre.
    fn level_of(&self, t: Duration, swing: f32, offset: f32) -> f32 {
        (self.base_at(t).level + swing * self.scale_at(t) * offset).clamp(0.0, 1.0)
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

    /// The command heading for `level`, arriving at epoch time `arrive`.
    fn command(
        &mut self,
        level: f32,
        transition: Option<Duration>,
        arrive: Duration,
    ) -> LightCommand {
        let transition = transition.map(|t| t.min(self.opts.max_native_fade));
        let blending = self.entry.is_some_and(|e| e.colored && arrive < e.end());
        let color = if blending {
            // The colour follows the entry fade, arriving with each point.
            self.color_sent = false;
            self.base_at(arrive).color
        } else if self.color_sent {
            None
        } else {
            self.color_sent = true;
            self.base.color
        };
        command_for(LightState { level, color }, transition, &self.opts)
    }
}

impl EffectRun {
    /// While an entry fade runs and ends before the next point, a native light glides to
    /// where the effect is at the fade's end first, so the fade keeps its length and shape
    /// (a slow breath must not stretch a 0.8 s fade into a 5 s glide).
    fn entry_knot(&mut self, at: Duration) -> Option<(Duration, LightCommand)> {
        let end = self.entry.map(|e| e.end()).filter(|end| at < *end)?;
        let (point_at, offset, swing) = match &self.kind {
            Kind::Candle {
                next, here, swing, ..
            } => {
                let ((t0, o0), (t1, o1)) = (*here, *next);
                let p = if t1 > t0 {
                    (end.saturating_sub(t0).as_secs_f64() / (t1 - t0).as_secs_f64()) as f32
                } else {
                    1.0
                };
                (t1, o0 + (o1 - o0) * p.clamp(0.0, 1.0), *swing)
            }
            Kind::Breathe {
                origin,
                period,
                swing,
                points,
                index,
            } => {
                let next = *origin + period.mul_f64((*index + 1) as f64 / f64::from(*points));
                let phase = end.saturating_sub(*origin).as_secs_f64() / period.as_secs_f64();
                let offset = -(std::f64::consts::TAU * phase).cos() as f32;
                (next, offset, *swing)
            }
        };
        if end >= point_at {
            return None;
        }
        let level = self.level_of(end, swing, offset);
        self.show(at, level, Some(end - at));
        let cmd = self.command(level, Some(end - at), end);
        self.at = end;
        if let Kind::Candle { here, .. } = &mut self.kind {
            *here = (end, offset);
        }
        Some((at, cmd))
    }
}

/// A flicker point's offset from the centre, in swings (−1…1).
fn candle_offset(rng: &mut SplitMix64) -> f32 {
    2.0 * rng.next_unit() as f32 - 1.0
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
        if native && let Some(knot) = self.entry_knot(at) {
            return Some(knot);
        }
        match &mut self.kind {
            Kind::Candle {
                swing,
                interval,
                rng,
                next,
                here,
            } => {
                let (next_at, next_offset) = *next;
                let (depth, interval) = (*swing, *interval);
                // Draw order kept from the first version, so seeded flickers stay the same.
                *next = if native {
                    let gap = candle_gap(interval, spacing, rng);
                    (next_at + gap, candle_offset(rng))
                } else {
                    let offset = candle_offset(rng);
                    (next_at + candle_gap(interval, spacing, rng), offset)
                };
                self.at = next_at;
                *here = (next_at, next_offset);
                if native {
                    // Glide from here into the next point.
                    let level = self.level_of(next_at, depth, next_offset);
                    self.show(at, level, Some(next_at - at));
                    Some((at, self.command(level, Some(next_at - at), next_at)))
                } else {
                    // Step to a point now; the next one comes after a random gap.
                    let level = self.level_of(at, depth, next_offset);
                    self.show(at, level, None);
                    Some((at, self.command(level, None, at)))
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
                let offset_of = |i: u64| {
                    let phase = (i % u64::from(points)) as f64 / f64::from(points);
                    -(std::f64::consts::TAU * phase).cos() as f32
                };
                let i = *index;
                *index += 1;
                self.at = time_of(i + 1);
                let cmd = if native {
                    let arrive = time_of(i + 1);
                    let level = self.level_of(arrive, amplitude, offset_of(i + 1));
                    let t = arrive - at;
                    self.show(at, level, Some(t));
                    self.command(level, Some(t), arrive)
                } else {
                    let level = self.level_of(at, amplitude, offset_of(i));
                    self.show(at, level, None);
                    self.command(level, None, at)
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

    /// A 20 s s-curve fade from dark at 2700 K to 0.35 at 2200 K.
    fn entry() -> Fade {
        Fade {
            from: LightState {
                level: 0.0,
                color: Some(LightColor::Kelvin(2700)),
            },
            to: crate::lights::LightTarget {
                level: 0.35,
                color: Some(LightColor::Kelvin(2200)),
                effect: candle(),
            },
            duration: Duration::from_secs(20),
            curve: crate::tween::Curve::SCurve,
        }
    }

    #[test]
    fn effects_blend_in_during_their_entry_fade() {
        // Issue 9, item 4: a candle lit over 20 s used to hold still until the fade was over.
        for kind in [DriverKind::Zigbee2Mqtt, DriverKind::Template] {
            let opts = LightOptions::defaults(kind);
            let fade = entry();
            let start = Duration::from_secs(100);
            for effect in [
                candle(),
                Effect::Breathe {
                    per_minute: 6.0,
                    depth: 0.25,
                },
            ] {
                let swing = swing(0.25, 0.35, &opts);
                let mut swung = 0.0;
                let mut moves = 0;
                for seed in 0..8 {
                    let run = EffectRun::blend_in(effect, fade, Duration::ZERO, start, seed, &opts)
                        .expect("an effect");
                    let cmds = take_until(run.clone(), start + Duration::from_secs(60));
                    let perceived = |c: &LightCommand| {
                        opts.curve
                            .perceived_from_device(c.brightness, opts.min_level)
                    };
                    let mut worst_seen = 0.0f32;
                    let mut during = 0;
                    for (at, c) in &cmds {
                        // Where the command heads: the next point for a glide, here for a step.
                        let arrive = *at + c.transition.unwrap_or_default();
                        let into = arrive.saturating_sub(start);
                        let centre = fade.state_at(into).level;
                        let scale = fade.eased(into);
                        let off = (perceived(c) - centre).abs();
                        assert!(
                            off <= swing * scale + 0.01,
                            "{kind:?} {effect:?}: {off:.3} from the centre at {into:?} (swing {swing:.3} × {scale:.2})"
                        );
                        if into < fade.duration {
                            during += 1;
                            if into >= fade.duration / 2 {
                                worst_seen = worst_seen.max(off / swing);
                            }
                            // The colour follows the fade, arriving with each point.
                            assert_eq!(c.color, fade.state_at(into).color, "{kind:?} at {into:?}");
                        }
                    }
                    assert!(
                        during >= 2,
                        "{kind:?} {effect:?}: {during} moves during the fade"
                    );
                    moves += during;
                    swung += worst_seen / 8.0;
                    // After the fade, the final colour is sent once, then no more colour.
                    let after: Vec<_> = cmds
                        .iter()
                        .filter(|(t, c)| {
                            *t + c.transition.unwrap_or_default() >= start + fade.duration
                        })
                        .collect();
                    assert_eq!(after[0].1.color, Some(LightColor::Kelvin(2200)), "{kind:?}");
                    assert!(
                        after[1..].iter().all(|(_, c)| c.color.is_none()),
                        "{kind:?}"
                    );
                    // Where it is shown at the start: the fade's first level.
                    assert!(run.level_at(start) < 1e-6);
                    assert_eq!(run.base_at(start + Duration::from_secs(30)).level, 0.35);
                }
                // Visible while it is lit: in the second half of the fade the effect reaches,
                // on average over seeds, well over a third of its full swing.
                assert!(
                    moves >= 8 * 4,
                    "{kind:?} {effect:?}: {moves} moves in 8 fades"
                );
                assert!(
                    swung > 0.35,
                    "{kind:?} {effect:?}: the second half of the fade swings {swung:.2} of the swing"
                );
            }
        }
    }

    #[test]
    fn a_blend_resumed_part_way_continues_from_where_the_fade_was() {
        let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
        let fade = entry();
        let skip = Duration::from_secs(10);
        let run =
            EffectRun::blend_in(candle(), fade, skip, Duration::ZERO, 5, &opts).expect("effect");
        assert_eq!(run.base_at(Duration::ZERO), fade.state_at(skip));
        assert_eq!(
            run.entry_at(Duration::from_secs(4)).map(|(_, s)| s),
            Some(Duration::from_secs(14))
        );
        assert!(run.entry_at(Duration::from_secs(10)).is_none());
        // A run created past the end of its fade has no entry at all.
        let done = EffectRun::blend_in(candle(), fade, fade.duration, Duration::ZERO, 5, &opts)
            .expect("effect");
        assert!(done.entry_at(Duration::ZERO).is_none());
        assert_eq!(done.base_at(Duration::ZERO).level, 0.35);
    }

    #[test]
    fn no_effect_or_dark_light_makes_no_run() {
        let opts = LightOptions::defaults(DriverKind::Wled);
        assert!(EffectRun::new(Effect::None, base(), Duration::ZERO, 0, &opts).is_none());
        assert!(EffectRun::new(candle(), LightState::OFF, Duration::ZERO, 0, &opts).is_none());
    }
}
