//! The per-rig light controller: the stateful but pure core the MQTT bus and the ceremony
//! engine drive. It holds each light's options and what the light is doing (a planned fade,
//! an effect, or resting), turns engine targets into paced, encoded publishes, and answers
//! "what should every light show right now" after a reconnect. Time is always a parameter
//! (a `Duration` since an epoch the caller picks); it must not read a clock, own a broker
//! connection or publish anything itself.

use std::time::Duration;

use super::command::{LightCommand, Publish};
use super::drivers;
use super::effects::{EffectRun, SplitMix64};
use super::glide::Track;
use super::options::LightOptions;
use super::pace::Pacer;
use super::plan::{Fade, LightState, Schedule, command_for, plan_remaining};
use super::target::{Effect, LightTarget};
use crate::tween::Curve;

/// Where `sanctum lights test` leaves a light the ceremony has dark (its fade goes to 80 %
/// from a dim light), so a relight fades it out from there rather than snapping it off.
pub const RELIGHT_FROM: f32 = 0.8;

/// One light (or group address) of the rig.
#[derive(Debug, Clone, PartialEq)]
pub struct LightSpec {
    /// Device address as the driver expects it (Z2M friendly name, Tasmota topic, …).
    pub address: String,
    /// The light's options.
    pub options: LightOptions,
}

/// Why the controller refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControllerError {
    /// The light index is not part of the rig.
    #[error("failed to address light {index}: the rig has {count} lights")]
    NoSuchLight {
        /// Index asked for.
        index: usize,
        /// Number of lights in the rig.
        count: usize,
    },
}

/// A fade queued to start when the current one ends (the way back of a test fade).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Queued {
    target: LightTarget,
    duration: Duration,
    curve: Curve,
}

#[derive(Debug, Clone)]
struct FadeRun {
    fade: Fade,
    /// How much of the fade had run when `schedule` was planned (non-zero after a resume).
    skip: Duration,
    /// Epoch time of the schedule's offset 0.
    origin: Duration,
    /// Planned commands; empty while paused.
    schedule: Schedule,
    /// Index of the first command not yet handed to the pacer.
    next: usize,
    /// How much of the device's own glide was left when it was paused (it may lag the plan
    /// when its message rate held a command back); resume lets it finish no faster.
    lag: Duration,
    then: Option<Queued>,
}

impl FadeRun {
    fn new(fade: Fade, origin: Duration, opts: &LightOptions, paused: bool) -> Self {
        let schedule = if paused {
            Vec::new()
        } else {
            plan_remaining(&fade, Duration::ZERO, opts)
        };
        Self {
            fade,
            skip: Duration::ZERO,
            origin,
            schedule,
            next: 0,
            then: None,
            lag: Duration::ZERO,
        }
    }

    /// How far into the whole fade `now` is.
    fn elapsed(&self, now: Duration) -> Duration {
        (self.skip + now.saturating_sub(self.origin)).min(self.fade.duration)
    }

    /// Epoch time at which the schedule is over (the fade's end, or its trailing OFF).
    fn end(&self) -> Duration {
        let rem = self.fade.duration.saturating_sub(self.skip);
        let last = self.schedule.last().map_or(Duration::ZERO, |(t, _)| *t);
        self.origin + rem.max(last)
    }

    /// The scheduled command in force at `now`, with its transition shortened by however
    /// late it is, so it never replays a stale step.
    fn command_at(&self, now: Duration) -> Option<LightCommand> {
        let elapsed = now.saturating_sub(self.origin);
        let j = self.schedule.iter().rposition(|(t, _)| *t <= elapsed)?;
        let (t, mut cmd) = self.schedule[j];
        cmd.transition = cmd
            .transition
            .map(|tr| tr.saturating_sub(elapsed - t))
            .filter(|tr| !tr.is_zero());
        Some(cmd)
    }
}

#[derive(Debug, Clone)]
enum Activity {
    /// Resting at `Light::state`.
    Idle,
    Fading(FadeRun),
    Effect(EffectRun),
}

#[derive(Debug, Clone)]
struct Light {
    spec: LightSpec,
    activity: Activity,
    /// Resting state (meaningful when idle); also the target of the last finished fade.
    state: LightState,
    /// The last target the engine asked for (its effect blends in during the fade).
    target: LightTarget,
    /// Whether sanctum has ever commanded this light (never-touched lights are not
    /// republished after a reconnect).
    commanded: bool,
    effects_started: u64,
    /// The glide the device is in and the command waiting in the pacer: a held command keeps
    /// its speed, and an OFF waits for the glide, since a device told OFF mid-glide snaps to
    /// dark from wherever it had got to.
    track: Track,
}

/// Drives every light of one rig. See the module docs.
#[derive(Debug, Clone)]
pub struct LightController {
    lights: Vec<Light>,
    pacer: Pacer<usize>,
    paused: bool,
    seed: u64,
}

impl LightController {
    /// A controller for `lights`; `seed` makes effects reproducible.
    #[must_use]
    pub fn new(lights: Vec<LightSpec>, seed: u64) -> Self {
        let mut pacer = Pacer::new();
        for (i, spec) in lights.iter().enumerate() {
            pacer.set_rate(i, spec.options.max_rate);
        }
        Self {
            lights: lights
                .into_iter()
                .map(|spec| Light {
                    spec,
                    activity: Activity::Idle,
                    state: LightState::OFF,
                    target: LightTarget::off(),
                    commanded: false,
                    effects_started: 0,
                    track: Track::default(),
                })
                .collect(),
            pacer,
            paused: false,
            seed,
        }
    }

    /// Number of lights in the rig.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lights.len()
    }

    /// Whether the rig has no lights.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lights.is_empty()
    }

    /// Whether the ceremony has ever commanded light `index` (a relight of every light leaves
    /// the others alone).
    #[must_use]
    pub fn is_commanded(&self, index: usize) -> bool {
        self.lights.get(index).is_some_and(|l| l.commanded)
    }

    /// Whether the controller is paused.
    #[must_use]
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    fn check(&self, index: usize) -> Result<(), ControllerError> {
        if index < self.lights.len() {
            Ok(())
        } else {
            Err(ControllerError::NoSuchLight {
                index,
                count: self.lights.len(),
            })
        }
    }

    /// The perceived state light `index` is in (or is believed to be in) at `now`.
    ///
    /// # Errors
    /// [`ControllerError::NoSuchLight`] for an index outside the rig.
    pub fn state(&self, now: Duration, index: usize) -> Result<LightState, ControllerError> {
        self.check(index)?;
        Ok(self.state_of(index, now))
    }

    fn state_of(&self, index: usize, now: Duration) -> LightState {
        let light = &self.lights[index];
        match &light.activity {
            Activity::Idle => light.state,
            Activity::Fading(run) if self.paused => run.fade.state_at(run.skip),
            Activity::Fading(run) => run.fade.state_at(run.elapsed(now)),
            Activity::Effect(run) => run.base_at(now),
        }
    }

    /// Starts moving light `index` to `target` over `fade` along `curve`, from wherever it is
    /// at `now`. Any running fade or effect on that light is replaced. A target's effect
    /// blends in during the fade (its swing grows with the fade's progress). While paused,
    /// the fade is kept and starts on [`LightController::resume`].
    ///
    /// # Errors
    /// [`ControllerError::NoSuchLight`] for an index outside the rig.
    pub fn apply(
        &mut self,
        now: Duration,
        index: usize,
        target: LightTarget,
        fade: Duration,
        curve: Curve,
    ) -> Result<(), ControllerError> {
        self.check(index)?;
        let from = self.state_of(index, now);
        let paused = self.paused;
        let seed = self.effect_seed(index);
        let light = &mut self.lights[index];
        let fade = Fade {
            from,
            to: target,
            duration: fade,
            curve,
        };
        let blend = if paused || fade.duration.is_zero() || !light.spec.options.fades_natively() {
            None
        } else {
            EffectRun::blend_in(
                target.effect,
                fade,
                Duration::ZERO,
                now,
                seed,
                &light.spec.options,
            )
        };
        light.activity = match blend {
            Some(run) => {
                light.effects_started += 1;
                Activity::Effect(run)
            }
            None => Activity::Fading(FadeRun::new(fade, now, &light.spec.options, paused)),
        };
        // A command of the old plan still waiting for the light's slot is stale now (the
        // new plan's first command would replace it anyway, but an effect waits for it).
        if !paused {
            self.pacer.cancel(&index);
            light.track.drop_held();
        }
        light.target = target;
        light.commanded = true;
        Ok(())
    }

    /// A short visible fade on light `index` for `sanctum lights test`: 3 s towards a clearly
    /// different level (80 % from a dim light, 20 % from a bright one), then 3 s back to where
    /// it was, effect included.
    ///
    /// # Errors
    /// [`ControllerError::NoSuchLight`] for an index outside the rig.
    pub fn test_fade(&mut self, now: Duration, index: usize) -> Result<(), ControllerError> {
        self.check(index)?;
        let was = self.state_of(index, now);
        let back = LightTarget {
            level: was.level,
            color: was.color,
            effect: self.lights[index].target.effect,
        };
        let there = LightTarget {
            level: if was.level < 0.5 { 0.8 } else { 0.2 },
            color: was.color,
            effect: Effect::None,
        };
        let leg = Duration::from_secs(3);
        self.apply(now, index, there, leg, Curve::SCurve)?;
        if let Activity::Fading(run) = &mut self.lights[index].activity {
            run.then = Some(Queued {
                target: back,
                duration: leg,
                curve: Curve::SCurve,
            });
        }
        self.lights[index].target = back;
        Ok(())
    }

    /// Hands light `index` back to what the ceremony has it doing at `now`, after something
    /// else moved it (`sanctum lights test --force`, a hand on the switch): the light glides
    /// from wherever it is to the ceremony's level over at least `fade`; a running fade or
    /// effect goes on. A light the ceremony has dark fades out over `fade` from where
    /// `lights test` leaves it, then gets an explicit OFF.
    ///
    /// # Errors
    /// [`ControllerError::NoSuchLight`] for an index outside the rig.
    pub fn relight(
        &mut self,
        now: Duration,
        index: usize,
        fade: Duration,
    ) -> Result<(), ControllerError> {
        self.check(index)?;
        let state = self.state_of(index, now);
        let paused = self.paused;
        let light = &mut self.lights[index];
        let opts = &light.spec.options;
        let stretch = |cmd: LightCommand| LightCommand {
            transition: cmd.transition.max(Some(fade)),
            ..cmd
        };
        let cmd = match &light.activity {
            _ if state.level <= 0.0 => {
                // Dark in the ceremony: out over `fade`, then OFF, as any fade to black.
                let out = Fade {
                    from: LightState {
                        level: RELIGHT_FROM,
                        color: state.color,
                    },
                    to: LightTarget {
                        level: 0.0,
                        color: state.color,
                        effect: Effect::None,
                    },
                    duration: fade,
                    curve: Curve::Linear,
                };
                let mut run = FadeRun::new(out, now, opts, paused);
                run.then = match &light.activity {
                    Activity::Fading(r) => r.then,
                    _ => None,
                };
                light.activity = Activity::Fading(run);
                light.commanded = true;
                return Ok(());
            }
            Activity::Fading(run) if !paused => run
                .command_at(now)
                .map_or_else(|| command_for(state, Some(fade), opts), stretch),
            _ => command_for(state, Some(fade), opts),
        };
        let batch = drivers::encode(&light.spec.address, opts, &cmd);
        light.track.hold(now, cmd, opts);
        self.pacer.offer(now, index, batch);
        light.commanded = true;
        Ok(())
    }

    /// Freezes every light where it is (sent with no transition) and
    /// stops the clock of every fade, keeping what remains of it; effects hold their base
    /// level. The freeze commands come out of [`LightController::poll`].
    pub fn pause(&mut self, now: Duration) {
        if self.paused {
            return;
        }
        for i in 0..self.lights.len() {
            let state = self.state_of(i, now);
            let light = &mut self.lights[i];
            // Frozen where the device is, which may lag the plan when its message rate held a
            // command back: a freeze at the plan's level would snap it there.
            let shown = LightState {
                level: light.track.level_at(now),
                ..state
            };
            let lag = light.track.glide_ends().saturating_sub(now);
            let mut entry = None;
            let freeze = match &mut light.activity {
                Activity::Idle => None,
                Activity::Fading(run) => {
                    run.skip = run.elapsed(now);
                    run.schedule.clear();
                    run.next = 0;
                    run.lag = lag;
                    Some(shown)
                }
                Activity::Effect(run) => {
                    // An effect still blending in is paused as the fade it rides on, so
                    // resume blends it in again over what is left.
                    if let Some((fade, skip)) = run.entry_at(now) {
                        let mut rest = FadeRun::new(fade, now, &light.spec.options, true);
                        rest.skip = skip;
                        rest.lag = lag;
                        entry = Some(rest);
                    }
                    Some(shown)
                }
            };
            if let Some(rest) = entry {
                light.activity = Activity::Fading(rest);
            }
            if let Some(state) = freeze {
                let cmd = resting_command(state, &light.spec.options);
                let batch = drivers::encode(&light.spec.address, &light.spec.options, &cmd);
                light.track.hold(now, cmd, &light.spec.options);
                self.pacer.offer(now, i, batch);
            }
        }
        self.paused = true;
    }

    /// Continues every paused fade from where it stopped, with the rest of its curve and its
    /// remaining time (an effect blending in blends in again over that rest), and restarts
    /// effects.
    pub fn resume(&mut self, now: Duration) {
        if !self.paused {
            return;
        }
        self.paused = false;
        for i in 0..self.lights.len() {
            let seed = self.effect_seed(i);
            let light = &mut self.lights[i];
            match &mut light.activity {
                Activity::Idle => {}
                Activity::Fading(run) => {
                    let rem = run.fade.duration.saturating_sub(run.skip);
                    if run.lag > rem {
                        // The device lagged the plan: it goes on from where it froze, over
                        // what was left of its own glide.
                        run.fade = Fade {
                            from: LightState {
                                level: light.track.level_at(now),
                                color: run.fade.state_at(run.skip).color,
                            },
                            to: run.fade.to,
                            duration: run.lag,
                            curve: Curve::Linear,
                        };
                        run.skip = Duration::ZERO;
                    }
                    let blend = if run.then.is_none() && light.spec.options.fades_natively() {
                        EffectRun::blend_in(
                            light.target.effect,
                            run.fade,
                            run.skip,
                            now,
                            seed,
                            &light.spec.options,
                        )
                    } else {
                        None
                    };
                    if let Some(effect) = blend {
                        light.effects_started += 1;
                        light.activity = Activity::Effect(effect);
                    } else {
                        run.schedule = plan_remaining(&run.fade, run.skip, &light.spec.options);
                        run.origin = now;
                        run.next = 0;
                    }
                }
                Activity::Effect(run) => {
                    let base = run.base();
                    match EffectRun::new(light.target.effect, base, now, seed, &light.spec.options)
                    {
                        Some(run) => light.activity = Activity::Effect(run),
                        None => {
                            light.state = base;
                            light.activity = Activity::Idle;
                        }
                    }
                    light.effects_started += 1;
                }
            }
        }
    }

    fn effect_seed(&self, index: usize) -> u64 {
        let mut mix = SplitMix64::new(
            self.seed ^ ((index as u64) << 32) ^ self.lights[index].effects_started,
        );
        mix.next_u64()
    }

    /// Everything due at `now`, paced per light: at most each light's `max_rate`, and only
    /// the newest command of a light whose messages backed up.
    pub fn poll(&mut self, now: Duration) -> Vec<Publish> {
        if !self.paused {
            for i in 0..self.lights.len() {
                self.advance(i, now);
            }
        }
        for (i, light) in self.lights.iter_mut().enumerate() {
            if self.pacer.is_free(&i, now)
                && let Some(cmd) = light.track.release(now, &light.spec.options)
            {
                let batch = drivers::encode(&light.spec.address, &light.spec.options, &cmd);
                self.pacer.offer(now, i, batch);
            }
        }
        let out = self.pacer.due(now);
        for (i, light) in self.lights.iter_mut().enumerate() {
            if light.track.is_holding() && !self.pacer.is_waiting(&i) {
                let wait = light.track.released(now, &light.spec.options);
                // An effect whose point was held back goes on from when it went out, so its
                // next point is not due before the device got anywhere near this one.
                if let Activity::Effect(run) = &mut light.activity {
                    run.delay(wait);
                }
            }
        }
        out
    }

    /// Moves light `i` along its fade or effect up to `now`, offering the newest due command.
    fn advance(&mut self, i: usize, now: Duration) {
        loop {
            let seed = self.effect_seed(i);
            // A fade is over only once its last command has gone out: an effect starting
            // earlier would replace it in the pacer, and the light would glide to the
            // effect's first point from wherever it was.
            let sent = !self.pacer.is_waiting(&i);
            let light = &mut self.lights[i];
            let opts = &light.spec.options;
            let mut due: Option<LightCommand> = None;
            let mut finished_at = None;
            match &mut light.activity {
                Activity::Fading(run) => {
                    let elapsed = now.saturating_sub(run.origin);
                    let before = run.next;
                    let glided = sent && now >= light.track.glide_ends();
                    while run.next < run.schedule.len() && run.schedule[run.next].0 <= elapsed {
                        if !run.schedule[run.next].1.on && (!glided || run.next > before) {
                            // The OFF waits until the command before it has gone out (it was
                            // maybe held back by the rate) and the light has glided there.
                            break;
                        }
                        run.next += 1;
                    }
                    if run.next > before {
                        due = run.command_at(now);
                    }
                    if run.next == run.schedule.len() && now >= run.end() && sent {
                        finished_at = Some(run.end().max(now));
                    }
                }
                // An effect waits while its last command is held back by the rate: the
                // newest point would replace it, and the one held may be where an entry fade
                // ends, which keeps the fade's length.
                Activity::Effect(run) if sent => {
                    while run.next_at() <= now {
                        due = run.next().map(|(_, c)| c);
                    }
                }
                Activity::Idle | Activity::Effect(_) => {}
            }
            if let Some(cmd) = due {
                let batch = drivers::encode(&light.spec.address, opts, &cmd);
                light.track.hold(now, cmd, opts);
                self.pacer.offer(now, i, batch);
            }
            let Some(end) = finished_at else {
                return;
            };
            // The fade is over: queue the next fade, start the effect, or rest.
            let Activity::Fading(run) = &light.activity else {
                return;
            };
            let arrived = run.fade.state_at_eased(1.0);
            let then = run.then;
            light.state = arrived;
            light.activity = match then {
                Some(q) => {
                    let fade = Fade {
                        from: arrived,
                        to: q.target,
                        duration: q.duration,
                        curve: q.curve,
                    };
                    Activity::Fading(FadeRun::new(fade, end, opts, false))
                }
                None => {
                    light.effects_started += 1;
                    match EffectRun::new(light.target.effect, arrived, end, seed, opts) {
                        Some(run) => Activity::Effect(run),
                        None => Activity::Idle,
                    }
                }
            };
            if matches!(light.activity, Activity::Idle) {
                return;
            }
        }
    }

    /// When [`LightController::poll`] next has something to do, if ever.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Duration> {
        self.deadline(true)
    }

    /// When something other than an endless effect is next due (a fade's step, a paced
    /// command, a fade's final OFF), if anything is. A shutdown waits for this to be `None`,
    /// so that the room ends as it was asked to, not with the last step still queued.
    #[must_use]
    pub fn pending_deadline(&self) -> Option<Duration> {
        self.deadline(false)
    }

    fn deadline(&self, effects: bool) -> Option<Duration> {
        let mut next = self.pacer.next_deadline();
        if !self.paused {
            for (i, light) in self.lights.iter().enumerate() {
                let t = match &light.activity {
                    Activity::Idle => None,
                    Activity::Fading(run) => match run.schedule.get(run.next) {
                        // An OFF waits for the command before it to go out and glide.
                        Some((_, c)) if !c.on && self.pacer.is_waiting(&i) => None,
                        Some((t, c)) if !c.on => {
                            Some((run.origin + *t).max(light.track.glide_ends()))
                        }
                        Some((t, _)) => Some(run.origin + *t),
                        // Its last command still waits in the pacer, whose deadline wakes us.
                        None if self.pacer.is_waiting(&i) => None,
                        None => Some(run.end()),
                    },
                    // Its held command's slot (the pacer's deadline) wakes it.
                    Activity::Effect(_) if self.pacer.is_waiting(&i) => None,
                    Activity::Effect(run) => effects.then(|| run.next_at()),
                };
                next = match (next, t) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        next
    }

    /// What every commanded light should show at `now`, as publishes, for republishing after
    /// an MQTT reconnect: a fading light gets its running segment with only the remaining
    /// transition (never an old step), a paused light its frozen level, an effect light its
    /// base level, a resting light its state. Any paced command still waiting for those
    /// lights is dropped, since these supersede it.
    pub fn current_commands(&mut self, now: Duration) -> Vec<Publish> {
        let mut out = Vec::new();
        for i in 0..self.lights.len() {
            if !self.lights[i].commanded {
                continue;
            }
            let state = self.state_of(i, now);
            let light = &self.lights[i];
            let opts = &light.spec.options;
            let cmd = match &light.activity {
                Activity::Fading(run) if !self.paused => run
                    .command_at(now)
                    .unwrap_or_else(|| resting_command(state, opts)),
                _ => resting_command(state, opts),
            };
            let batch = drivers::encode(&light.spec.address, opts, &cmd);
            let opts = opts.clone();
            self.pacer.sent(now, i, batch.len());
            self.lights[i].track.sent(now, &cmd, &opts);
            out.extend(batch);
        }
        out
    }
}

/// The command that shows `state` at once: OFF for a dark state.
fn resting_command(state: LightState, opts: &LightOptions) -> LightCommand {
    if state.level <= 0.0 {
        LightCommand::off()
    } else {
        command_for(state, None, opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lights::LightColor;
    use crate::lights::options::DriverKind;
    use serde_json::Value;

    fn us(v: u64) -> Duration {
        Duration::from_micros(v)
    }
    fn secs(v: u64) -> Duration {
        Duration::from_secs(v)
    }

    fn z2m(names: &[&str]) -> LightController {
        let lights = names
            .iter()
            .map(|n| LightSpec {
                address: (*n).to_owned(),
                options: LightOptions::defaults(DriverKind::Zigbee2Mqtt),
            })
            .collect();
        LightController::new(lights, 42)
    }

    fn json(p: &Publish) -> Value {
        serde_json::from_str(&p.payload).expect("json payload")
    }

    fn brightness(p: &Publish) -> Option<u64> {
        json(p)["brightness"].as_u64()
    }

    /// Runs the controller event by event (at each `next_deadline`) until `end`.
    fn run(c: &mut LightController, from: Duration, end: Duration) -> Vec<(Duration, Publish)> {
        let mut out = Vec::new();
        let mut now = from;
        loop {
            for p in c.poll(now) {
                out.push((now, p));
            }
            match c.next_deadline() {
                Some(t) if t <= end => now = t.max(now + us(1)),
                _ => return out,
            }
        }
    }

    fn warm(level: f32) -> LightTarget {
        LightTarget {
            level,
            color: Some(LightColor::Kelvin(2200)),
            effect: Effect::None,
        }
    }

    #[test]
    fn a_ten_minute_fade_goes_out_as_a_few_segments() {
        let mut c = z2m(&["altar"]);
        c.apply(us(0), 0, warm(0.3), secs(600), Curve::SCurve)
            .expect("light 0");
        let out = run(&mut c, us(0), secs(3600));
        assert!((8..=12).contains(&out.len()), "{}", out.len());
        assert!(out.windows(2).all(|w| w[1].0 - w[0].0 >= secs(5)));
        let b: Vec<u64> = out.iter().filter_map(|(_, p)| brightness(p)).collect();
        assert!(b.windows(2).all(|w| w[1] >= w[0]), "{b:?}");
        let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
        let want = drivers::scale(
            opts.curve.device_from_perceived(0.3, opts.min_level),
            254,
            true,
        );
        assert_eq!(*b.last().expect("published"), u64::from(want));
        assert!(
            out.iter()
                .all(|(_, p)| p.topic == "zigbee2mqtt/altar/set" && !p.retain)
        );
        assert_eq!(c.next_deadline(), None, "idle after the fade");
    }

    #[test]
    fn pause_freezes_at_the_current_level_and_resume_finishes_the_rest() {
        let mut c = z2m(&["altar"]);
        let from_full = LightTarget::level(1.0);
        c.apply(us(0), 0, from_full, Duration::ZERO, Curve::Linear)
            .expect("light 0");
        run(&mut c, us(0), secs(1));
        c.apply(
            secs(10),
            0,
            LightTarget::level(0.2),
            secs(600),
            Curve::Linear,
        )
        .expect("light 0");
        let before = run(&mut c, secs(10), secs(310));
        assert!(!before.is_empty());
        // Half way: perceived 0.6. A segment just went out at 310 s, so the freeze waits
        // for the light's 1 s message spacing.
        c.pause(secs(310));
        assert!(c.poll(secs(310)).is_empty());
        assert_eq!(c.next_deadline(), Some(secs(311)));
        let frozen = c.poll(secs(311));
        assert_eq!(frozen.len(), 1);
        let v = json(&frozen[0]);
        assert_eq!(v["transition"].as_f64(), Some(0.0));
        let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
        let want = drivers::scale(
            opts.curve.device_from_perceived(0.6, opts.min_level),
            254,
            true,
        );
        assert_eq!(v["brightness"].as_u64(), Some(u64::from(want)));
        // Paused: nothing for a long while, and no deadline.
        assert_eq!(c.next_deadline(), None);
        assert!(c.poll(secs(900)).is_empty());
        assert!((c.state(secs(900), 0).expect("light").level - 0.6).abs() < 1e-6);
        // Resume at 15 min: the remaining 5 min run and end exactly at the target.
        c.resume(secs(900));
        let after = run(&mut c, secs(900), secs(3600));
        let (t_last, last) = after.last().expect("resumed");
        let end = json(last);
        assert_eq!(
            end["transition"]
                .as_f64()
                .map(|t| *t_last + Duration::from_secs_f64(t)),
            Some(secs(1200))
        );
        let want = drivers::scale(
            opts.curve.device_from_perceived(0.2, opts.min_level),
            254,
            true,
        );
        assert_eq!(end["brightness"].as_u64(), Some(u64::from(want)));
        assert!(after.len() >= 4 && after.len() <= 7, "{}", after.len());
    }

    #[test]
    fn a_late_poll_sends_only_the_running_segment_with_what_is_left() {
        let mut c = z2m(&["altar"]);
        c.apply(us(0), 0, warm(0.5), secs(600), Curve::Linear)
            .expect("light 0");
        assert_eq!(c.poll(us(0)).len(), 1);
        // The bus was stuck for 7.5 minutes: one message, not seven.
        let late = c.poll(secs(450));
        assert_eq!(late.len(), 1);
        let t = json(&late[0])["transition"].as_f64().expect("transition");
        assert!(t > 0.0 && t <= 60.0, "{t}");
        // It heads for the end of the segment running at 7.5 min, i.e. 8 min.
        let want = c.state(secs(480), 0).expect("light");
        let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
        let b = drivers::scale(
            opts.curve.device_from_perceived(want.level, opts.min_level),
            254,
            true,
        );
        assert_eq!(brightness(&late[0]), Some(u64::from(b)));
        assert!((t - 30.0).abs() < 1e-9);
    }

    #[test]
    fn reconnect_republishes_current_targets_not_stale_steps() {
        let mut c = z2m(&["altar", "floor", "never"]);
        c.apply(us(0), 0, warm(0.5), secs(600), Curve::Linear)
            .expect("light 0");
        c.apply(
            us(0),
            1,
            LightTarget::level(0.7),
            Duration::ZERO,
            Curve::Linear,
        )
        .expect("light 1");
        run(&mut c, us(0), secs(125));
        let now = secs(125);
        let again = c.current_commands(now);
        assert_eq!(again.len(), 2, "the untouched light is left alone");
        let fading = json(&again[0]);
        assert_eq!(fading["transition"].as_f64(), Some(55.0));
        assert_eq!(again[1].topic, "zigbee2mqtt/floor/set");
        assert_eq!(json(&again[1])["transition"].as_f64(), Some(0.0));
        // Nothing doubles up right after.
        assert!(c.poll(now).is_empty());
    }

    #[test]
    fn a_fade_to_black_ends_with_an_explicit_off() {
        let mut c = z2m(&["altar"]);
        c.apply(
            us(0),
            0,
            LightTarget::level(0.6),
            Duration::ZERO,
            Curve::Linear,
        )
        .expect("light 0");
        c.poll(us(0));
        c.apply(secs(5), 0, LightTarget::off(), secs(30), Curve::SCurve)
            .expect("light 0");
        let out = run(&mut c, secs(5), secs(100));
        let (t, last) = out.last().expect("published");
        assert_eq!(*t, secs(35));
        assert_eq!(last.payload, r#"{"state":"OFF"}"#);
        assert_eq!(
            brightness(&out[out.len() - 2].1),
            Some(1),
            "min level before off"
        );
        assert_eq!(c.state(secs(100), 0).expect("light").level, 0.0);
    }

    #[test]
    fn applies_faster_than_the_rate_keep_only_the_newest() {
        let mut c = z2m(&["altar"]);
        c.apply(
            us(0),
            0,
            LightTarget::level(0.2),
            Duration::ZERO,
            Curve::Linear,
        )
        .expect("light 0");
        assert_eq!(c.poll(us(0)).len(), 1);
        for (i, level) in [0.3, 0.4, 0.5].into_iter().enumerate() {
            let now = us(200_000 * (i as u64 + 1));
            c.apply(
                now,
                0,
                LightTarget::level(level),
                Duration::ZERO,
                Curve::Linear,
            )
            .expect("light 0");
            assert!(c.poll(now).is_empty(), "inside the 1 s window");
        }
        assert_eq!(c.next_deadline(), Some(secs(1)));
        let out = c.poll(secs(1));
        assert_eq!(out.len(), 1);
        let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
        let b = drivers::scale(
            opts.curve.device_from_perceived(0.5, opts.min_level),
            254,
            true,
        );
        assert_eq!(brightness(&out[0]), Some(u64::from(b)));
    }

    #[test]
    fn candles_blend_in_during_the_fade_and_keep_every_bulb_within_rate() {
        let names: Vec<String> = (0..10).map(|i| format!("bulb{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut c = z2m(&refs);
        let candle = LightTarget {
            level: 0.35,
            color: Some(LightColor::Kelvin(2200)),
            effect: Effect::Candle {
                depth: 0.2,
                interval: secs(2),
            },
        };
        for i in 0..10 {
            c.apply(us(0), i, candle, secs(20), Curve::SCurve)
                .expect("light");
        }
        let out = run(&mut c, us(0), secs(80));
        for name in &names {
            let topic = format!("zigbee2mqtt/{name}/set");
            let times: Vec<Duration> = out
                .iter()
                .filter(|(_, p)| p.topic == topic)
                .map(|(t, _)| *t)
                .collect();
            assert!(times.windows(2).all(|w| w[1] - w[0] >= secs(1)), "{name}");
            let flickers = times.iter().filter(|t| **t > secs(20)).count();
            assert!((10..=61).contains(&flickers), "{name}: {flickers}");
            // The flame is already moving while it is being lit.
            let lighting = times.iter().filter(|t| **t < secs(20)).count();
            assert!(lighting >= 4, "{name}: {lighting} moves during the fade");
        }
        let total = out.iter().filter(|(t, _)| *t > secs(20)).count();
        println!(
            "10 candle bulbs, 60 s: {total} messages ({:.2}/s per bulb)",
            total as f64 / 600.0
        );
    }

    #[test]
    fn a_pause_while_an_effect_blends_in_freezes_it_and_resume_blends_in_the_rest() {
        let mut c = z2m(&["altar"]);
        let candle = LightTarget {
            level: 0.4,
            color: None,
            effect: Effect::Candle {
                depth: 0.2,
                interval: secs(2),
            },
        };
        c.apply(us(0), 0, candle, secs(20), Curve::Linear)
            .expect("light");
        let before = run(&mut c, us(0), secs(8));
        assert!(before.len() >= 3, "{}", before.len());
        let centre = c.state(secs(8), 0).expect("light").level;
        assert!(
            (centre - 0.16).abs() < 0.01,
            "half-way up a linear fade: {centre}"
        );
        c.pause(secs(8));
        let frozen = run(&mut c, secs(8), secs(30));
        assert_eq!(frozen.len(), 1, "only the freeze while paused");
        assert_eq!(c.state(secs(29), 0).expect("light").level, centre);
        c.resume(secs(30));
        let after = run(&mut c, secs(30), secs(60));
        // Resumed with the rest of the fade (12 s), still blending in: the first point is
        // near where the fade stood, the flicker reaches the top only after the rest.
        let levels: Vec<(Duration, f32)> = after
            .iter()
            .filter_map(|(t, p)| brightness(p).map(|b| (*t, b as f32 / 254.0)))
            .collect();
        let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
        let seen = |b: f32| opts.curve.perceived_from_device(b, opts.min_level);
        let first = seen(levels[0].1);
        assert!(
            (first - centre).abs() < 0.1,
            "resumed at {first}, fade stood at {centre}"
        );
        assert!(
            levels.iter().any(|(t, _)| *t < secs(42)),
            "moves during the rest"
        );
        assert_eq!(c.state(secs(45), 0).expect("light").level, 0.4);
    }

    #[test]
    fn relight_glides_back_to_the_ceremony_and_lets_its_fade_go_on() {
        // Issue 9, item 5: after `lights test --force`, the light goes back to the ceremony's
        // current state at once, gently.
        let mut c = z2m(&["altar", "lamp", "spare"]);
        let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
        let device = |level: f32| {
            u64::from(drivers::scale(
                opts.curve.device_from_perceived(level, opts.min_level),
                254,
                true,
            ))
        };
        c.apply(us(0), 0, LightTarget::level(0.3), secs(60), Curve::Linear)
            .expect("altar");
        c.apply(us(0), 1, LightTarget::off(), Duration::ZERO, Curve::Linear)
            .expect("lamp");
        run(&mut c, us(0), secs(20));
        assert!(!c.is_commanded(2), "the ceremony never touched the spare");
        // Altar, mid-fade: glides to where its running segment heads, over at least 4 s.
        c.relight(secs(20), 0, secs(4)).expect("altar");
        c.relight(secs(20), 1, secs(4)).expect("lamp");
        let out = run(&mut c, secs(20), secs(90));
        let altar: Vec<_> = out
            .iter()
            .filter(|(_, p)| p.topic == "zigbee2mqtt/altar/set")
            .collect();
        let first = json(&altar[0].1);
        assert!(
            altar[0].0 <= secs(21),
            "at once, within its message spacing"
        );
        assert!(
            first["transition"].as_f64().unwrap_or(0.0) >= 4.0,
            "{first}"
        );
        let heading = brightness(&altar[0].1).expect("a level");
        assert!(heading > device(0.1) && heading <= device(0.3), "{heading}");
        // The ceremony's fade goes on to its end.
        let last = altar.last().expect("more");
        assert_eq!(brightness(&last.1), Some(device(0.3)));
        assert_eq!(c.state(secs(60), 0).expect("altar").level, 0.3);
        // Lamp, dark in the ceremony: out from where the test left it over 4 s, then OFF.
        let lamp: Vec<_> = out
            .iter()
            .filter(|(_, p)| p.topic == "zigbee2mqtt/lamp/set")
            .collect();
        assert_eq!(lamp.len(), 2, "{lamp:?}");
        assert_eq!(json(&lamp[0].1)["state"], "ON");
        assert_eq!(json(&lamp[0].1)["transition"].as_f64(), Some(4.0));
        assert_eq!(json(&lamp[1].1)["state"], "OFF");
        assert!(lamp[1].0 >= secs(24), "{:?}", lamp[1].0);
        assert!(out.iter().all(|(_, p)| p.topic != "zigbee2mqtt/spare/set"));
    }

    #[test]
    fn test_fade_goes_there_and_back() {
        let mut c = z2m(&["altar"]);
        c.apply(
            us(0),
            0,
            LightTarget::level(0.3),
            Duration::ZERO,
            Curve::Linear,
        )
        .expect("light 0");
        let first = c.poll(us(0));
        c.test_fade(secs(10), 0).expect("light 0");
        let out = run(&mut c, secs(10), secs(60));
        assert_eq!(out.len(), 2, "{out:?}");
        let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
        let peak = drivers::scale(
            opts.curve.device_from_perceived(0.8, opts.min_level),
            254,
            true,
        );
        assert_eq!(brightness(&out[0].1), Some(u64::from(peak)));
        assert_eq!(out[1].0, secs(13));
        assert_eq!(brightness(&out[1].1), brightness(&first[0]));
        assert_eq!(json(&out[1].1)["transition"].as_f64(), Some(3.0));
    }

    #[test]
    fn unknown_lights_are_refused() {
        let mut c = z2m(&["altar"]);
        let err = c
            .apply(us(0), 3, LightTarget::off(), Duration::ZERO, Curve::Linear)
            .expect_err("no light 3");
        insta::assert_snapshot!(err, @"failed to address light 3: the rig has 1 lights");
    }
}
