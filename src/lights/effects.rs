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
    let steps = opts.caps.brightness_steps as f32;
    let device = opts.device_from_perceived(base);
    let up = (device + MIN_SWING_STEPS / steps).min(1.0);
    let two_steps = opts.perceived_from_device(up) - base;
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
        /// How many points into a breath the effect starts (about a quarter: near the centre,
        /// on the way up, where the light already is).
        lead: u32,
        index: u64,
        /// Offset (in swings) the light glides from towards the next point: the centre at the
        /// start, then the last point.
        here: f32,
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
                    lead: (points + 2) / 4,
                    index: 0,
                    here: 0.0,
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

    /// Goes on at `now` after waiting for the device's glide to a command the effect did not
    /// plan for (held back, stretched or rounded up), from `level`, where the device is: the
    /// rest moves later by the wait, and a running entry fade starts again from that level
    /// over what was left of it, or longer if the light has further to go
    /// ([`Fade::rest_from`]), so it never moves faster than the entry asked.
    pub fn resume_from(&mut self, now: Duration, level: f32) {
        self.delay(now.saturating_sub(self.at));
        self.shown = (now, level, level, Duration::ZERO);
        let Some(e) = &mut self.entry else {
            return;
        };
        let ran = e.elapsed(now);
        let rest = e.fade.rest_from(ran, level, Duration::ZERO);
        if rest.duration.is_zero() {
            self.entry = None;
            return;
        }
        e.fade = rest;
        e.skip = Duration::ZERO;
        e.origin = now;
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
        let len = transition.map_or(Duration::ZERO, |t| t.min(self.opts.caps.max_native_fade));
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
        let transition = transition.map(|t| t.min(self.opts.caps.max_native_fade));
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
                lead,
                index,
                here,
            } => {
                // The light glides in a straight line from `here` to the next point; the knot
                // sits on that line, so it moves no faster than the breath would.
                let next = *origin + period.mul_f64((*index + 1) as f64 / f64::from(*points));
                let to = breath_point(*points, *lead, *index + 1);
                let p = if next > at {
                    (end.saturating_sub(at).as_secs_f64() / (next - at).as_secs_f64()) as f32
                } else {
                    1.0
                };
                (next, *here + (to - *here) * p.clamp(0.0, 1.0), *swing)
            }
        };
        if end >= point_at {
            return None;
        }
        let level = self.level_of(end, swing, offset);
        self.show(at, level, Some(end - at));
        let cmd = self.command(level, Some(end - at), end);
        self.at = end;
        match &mut self.kind {
            Kind::Candle { here, .. } => *here = (end, offset),
            Kind::Breathe { here, .. } => *here = offset,
        }
        Some((at, cmd))
    }
}

/// Where a breath is at `phase` (0…1 of a period), in swings from its centre (−1…1): at the
/// bottom at 0, the top at ½. An effect starts a quarter in (its `lead`), at the centre on the
/// way up, so a breath begins where the light already is; a start at the bottom dropped a
/// whole swing at once, or as fast as an entry fade's last moment allowed.
fn breath_offset(phase: f64) -> f32 {
    -(std::f64::consts::TAU * phase).cos() as f32
}

/// The offset of point `i` of a breath of `points` points that starts `lead` points in.
fn breath_point(points: u32, lead: u32, i: u64) -> f32 {
    let points = u64::from(points.max(1));
    breath_offset(((i + u64::from(lead)) % points) as f64 / points as f64)
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
                lead,
                index,
                here,
            } => {
                let (origin, period, amplitude, points, lead) =
                    (*origin, *period, *amplitude, *points, *lead);
                // Times come from the origin, not from the previous point, so nothing drifts.
                let time_of = |i: u64| origin + period.mul_f64(i as f64 / f64::from(points));
                let offset_of = |i: u64| breath_point(points, lead, i);
                let i = *index;
                *index += 1;
                *here = offset_of(i + 1);
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
mod tests;
