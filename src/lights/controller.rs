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
use super::target::LightTarget;
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
    /// The end of the glide the current plan was made over (by [`LightController::apply`],
    /// from the device's level mid-glide): an effect need not wait for that one, only for
    /// glides of its own commands.
    planned_over: Option<Duration>,
}

impl Light {
    /// Whether the device's glide is the one the current plan was made over (the old plan's,
    /// which the plan took up from wherever the device was) rather than one of its own.
    fn glide_is_old(&self) -> bool {
        self.planned_over == Some(self.track.glide_ends())
    }

    /// When an OFF of the current plan may go out: once the device has glided to the plan's
    /// last command (an OFF mid-glide snaps to dark from wherever it had got to), but not
    /// later for an old glide: a fade to dark from where the device was has nothing to glide
    /// first (waiting would leave the light on for as long as the old glide runs, past the end
    /// of a finish).
    fn off_after(&self) -> Duration {
        if self.glide_is_old() {
            Duration::ZERO
        } else {
            self.track.glide_ends()
        }
    }

    /// When an effect's next point may go out, besides when it is due: after the device's
    /// glide to its last command (held, stretched or rounded up by the driver); over an old
    /// glide only after the light's next free slot (`free_at`), from wherever the glide has
    /// taken the device by then.
    fn effect_after(&self, free_at: Duration) -> Duration {
        if self.glide_is_old() {
            free_at
        } else {
            self.track.glide_ends()
        }
    }
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
            pacer.set_rate(i, spec.options.caps.max_rate);
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
                    planned_over: None,
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
        let mut from = self.state_of(index, now);
        // The fade runs from where the device is, which may lag the plan (a command held by
        // its rate, a glide an effect waited for): from the plan's level it would have to
        // catch up, faster than the cue asks. Planned from there, it need not wait for that
        // glide to end: the device takes a new command up from wherever it has got to.
        let mut planned_over = None;
        if !self.paused && self.lights[index].commanded {
            from.level = self.lights[index].track.level_at(now);
            planned_over = Some(self.lights[index].track.glide_ends());
        }
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
        light.planned_over = planned_over;
        Ok(())
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
            let off_after = light.off_after();
            let effect_after = light.effect_after(self.pacer.free_at(&i));
            match &mut light.activity {
                Activity::Fading(run) => {
                    let elapsed = now.saturating_sub(run.origin);
                    let before = run.next;
                    let glided = sent && now >= off_after;
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
                // It also waits while the device still glides to its last command (held,
                // stretched or rounded up): a point sent mid-glide starts from a level the
                // effect never planned, and jumps from there. At the glide's end it goes on
                // from where the device is (`EffectRun::resume_from`). A glide the effect was
                // planned over (`planned_over`, a cue mid-glide) is no reason to wait.
                Activity::Effect(run) if sent => {
                    let due_at = run.next_at().max(effect_after);
                    if due_at <= now {
                        let wait = due_at.saturating_sub(run.next_at());
                        if wait > opts.caps.transition_resolution {
                            run.resume_from(due_at, light.track.level_at(due_at));
                        } else {
                            // A transition the driver rounded up: only later.
                            run.delay(wait);
                        }
                        while run.next_at() <= now {
                            due = run.next().map(|(_, c)| c);
                        }
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
                        Some((t, c)) if !c.on => Some((run.origin + *t).max(light.off_after())),
                        Some((t, _)) => Some(run.origin + *t),
                        // Its last command still waits in the pacer, whose deadline wakes us.
                        None if self.pacer.is_waiting(&i) => None,
                        None => Some(run.end()),
                    },
                    // Its held command's slot (the pacer's deadline) wakes it.
                    Activity::Effect(_) if self.pacer.is_waiting(&i) => None,
                    Activity::Effect(run) => effects.then(|| {
                        run.next_at()
                            .max(light.effect_after(self.pacer.free_at(&i)))
                    }),
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

mod manual;
mod pause;
#[cfg(test)]
mod tests;
