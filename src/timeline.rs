//! The ceremony engine: a pure state machine on virtual time. It folds cues into a room state,
//! answers "when is the next thing due", takes commands, and emits the actions that turn the
//! room from one state into the next. It never reads a clock and does no I/O: callers pass
//! `now` (time since the engine's epoch) into every call.
//!
//! The room at (phase k, offset t) is the fold of every cue of phases 0..k (their whole scripts)
//! and of phase k's cues up to t. `goto`, `prev` and starting mid-ceremony therefore land in
//! exactly the room that playing through would reach. Each step applies only the cues that are
//! due, so its cost follows the number of changes, not the number of cues.

mod resume;

use std::sync::Arc;
use std::time::Duration;

use crate::command::Command;
use crate::lights::target::{Effect, LightTarget};
use crate::model::{Advance, Ceremony, Cue, LayerPatch, Rig, Source};
use crate::tween::{Curve, Ramp};
use crate::units::Decibels;

pub use resume::{Place, ResumeError};

/// How far one `louder`/`softer` moves the master.
pub const VOLUME_STEP_DB: f32 = 3.0;
/// The quietest the master goes with `softer`.
pub const MIN_VOLUME_DB: f32 = -60.0;
/// How long a master volume change takes.
pub const VOLUME_FADE: Duration = Duration::from_secs(1);
/// Silence held after the fade of a stop or the finish before the ceremony is over, so the
/// output has played down to nothing (a fade's last 10 ms are still about −70 dBFS) before it
/// closes.
pub const END_SILENCE: Duration = Duration::from_millis(100);

/// What a layer plays, as far as the room is concerned.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerState {
    /// The source, or `None` when the layer is silent.
    pub source: Option<Arc<Source>>,
    /// Its gain.
    pub gain: Decibels,
}

/// The room: every layer and every light. Lights the ceremony has not touched yet are `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomState {
    /// Per layer of the rig.
    pub layers: Vec<LayerState>,
    /// Per light of the rig.
    pub lights: Vec<Option<LightTarget>>,
}

impl RoomState {
    fn silent(rig: &Rig) -> Self {
        Self {
            layers: vec![
                LayerState {
                    source: None,
                    gain: Decibels(0.0),
                };
                rig.layers.len()
            ],
            lights: vec![None; rig.lights.len()],
        }
    }

    /// Folds one cue into the room.
    fn apply(&mut self, cue: &Cue) {
        for lc in &cue.layers {
            let layer = &mut self.layers[lc.layer];
            match &lc.change {
                LayerPatch::Play { source, gain } => {
                    layer.source = Some(Arc::clone(source));
                    if let Some(g) = gain {
                        layer.gain = *g;
                    }
                }
                LayerPatch::Gain(g) => layer.gain = *g,
                LayerPatch::Stop => layer.source = None,
            }
        }
        for lc in &cue.lights {
            for &i in &lc.lights {
                let mut t = self.lights[i].unwrap_or(LightTarget {
                    level: 0.0,
                    color: None,
                    effect: Effect::None,
                });
                if let Some(level) = lc.level {
                    t.level = level;
                }
                if let Some(color) = lc.color {
                    t.color = Some(color);
                }
                if let Some(effect) = lc.effect {
                    t.effect = effect;
                }
                self.lights[i] = Some(t);
            }
        }
    }
}

/// How a change to a layer is to be made.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerChange {
    /// Play `source` at `gain`, crossfading from whatever plays now.
    Play {
        /// What to play.
        source: Arc<Source>,
        /// At what gain.
        gain: Decibels,
        /// Crossfade length.
        fade: Duration,
        /// Crossfade curve.
        curve: Curve,
    },
    /// Keep the source and ramp to `gain`.
    Gain {
        /// The new gain.
        gain: Decibels,
        /// Ramp length.
        fade: Duration,
        /// Ramp curve.
        curve: Curve,
    },
    /// Fade to silence and stop.
    Stop {
        /// Fade length.
        fade: Duration,
        /// Fade curve.
        curve: Curve,
    },
}

/// What caused a phase to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The ceremony started.
    Start,
    /// A `next` command.
    Next,
    /// A `prev` command.
    Prev,
    /// A `goto` command.
    Goto,
    /// The previous phase's time ran out.
    Auto,
    /// sanctum came back after a crash or restart and took up where it was.
    Resume,
}

/// How a ceremony ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndKind {
    /// A gentle stop.
    Stopped,
    /// The last phase ended.
    Finished,
}

/// Something the outputs (printer, mixer, lights, MQTT state) must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A phase began.
    PhaseStarted {
        /// Index in the ceremony.
        index: usize,
        /// Phase id.
        id: String,
        /// Phase title.
        title: String,
        /// What started it.
        trigger: Trigger,
        /// When it will move on by itself (engine time), if it does.
        ends_at: Option<Duration>,
    },
    /// A cue fired.
    CueFired {
        /// Phase index.
        phase: usize,
        /// Cue offset within the phase.
        at: Duration,
        /// The cue's note for the people in the room.
        note: Option<String>,
    },
    /// A layer changes.
    Layer {
        /// Layer index in the rig.
        layer: usize,
        /// The change.
        change: LayerChange,
    },
    /// A one-shot sound plays.
    OneShot {
        /// Resolved file.
        file: std::path::PathBuf,
        /// Gain.
        gain: Decibels,
    },
    /// A light moves to a target.
    Light {
        /// Light index in the rig.
        light: usize,
        /// Where it goes.
        target: LightTarget,
        /// Fade length.
        fade: Duration,
        /// Fade curve in perceived lightness.
        curve: Curve,
    },
    /// The master volume changes.
    Master {
        /// New master gain.
        gain: Decibels,
        /// Ramp length.
        fade: Duration,
    },
    /// The timeline froze: outputs hold every fade where it is.
    Paused,
    /// The timeline continues: outputs continue every held fade.
    Resumed,
    /// A gentle stop began; it completes after `fade`.
    Stopping {
        /// Fade length.
        fade: Duration,
    },
    /// The last phase ended; the room fades to darkness and silence over `fade`.
    Finishing {
        /// Fade length.
        fade: Duration,
    },
    /// The ceremony is over.
    Ended(EndKind),
}

/// An action and the engine time it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Engine time.
    pub at: Duration,
    /// What to do.
    pub action: Action,
}

/// Why a command changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// The same command arrived within the debounce window.
    Debounced,
    /// The command does not apply in the current state (e.g. `resume` while running).
    NotApplicable,
    /// `goto` named a phase the ceremony does not have.
    UnknownPhase,
    /// The volume is already at its limit.
    AtLimit,
}

impl std::fmt::Display for Ignored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Debounced => "repeated within the debounce window",
            Self::NotApplicable => "does not apply now",
            Self::UnknownPhase => "no such phase",
            Self::AtLimit => "volume already at its limit",
        })
    }
}

/// The coarse state of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Not started.
    Idle,
    /// A phase is running.
    Running,
    /// A phase is paused.
    Paused,
    /// Fading out after a stop or the end.
    Ending(EndKind),
    /// Over.
    Ended(EndKind),
}

/// A snapshot of where the ceremony is.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// The coarse state.
    pub mode: Mode,
    /// Current phase index, once started.
    pub phase: Option<usize>,
    /// Time into the current phase (paused time excluded).
    pub offset: Duration,
    /// Engine time the current phase was entered.
    pub phase_started_at: Option<Duration>,
    /// Engine time the current phase will move on by itself (`None` for manual or paused).
    pub phase_ends_at: Option<Duration>,
    /// Master gain.
    pub volume: Decibels,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Idle,
    Running {
        phase: usize,
        /// Active time at which the phase's offset was zero.
        anchor: Duration,
        /// Engine time the phase was entered.
        entered: Duration,
        /// Index of the next cue to fire.
        cursor: usize,
    },
    Ending {
        kind: EndKind,
        until: Duration,
    },
    Ended(EndKind),
}

/// A level moving along a ramp that started at an active time.
#[derive(Debug, Clone, Copy)]
struct Moving {
    ramp: Ramp,
    start: Duration,
}

impl Moving {
    fn at(value: f32) -> Self {
        Self {
            ramp: Ramp::hold(value),
            start: Duration::ZERO,
        }
    }

    fn value(&self, active: Duration) -> f32 {
        self.ramp.value(active.saturating_sub(self.start))
    }

    /// Active time at which the ramp arrives.
    fn ends(&self) -> Duration {
        self.start + self.ramp.duration
    }
}

/// The ceremony engine. See the module documentation.
#[derive(Debug, Clone)]
pub struct Timeline {
    ceremony: Arc<Ceremony>,
    rig: Arc<Rig>,
    /// Room at the entry of each phase, before its own cues.
    base: Vec<RoomState>,
    state: State,
    /// The room the script wants now.
    room: RoomState,
    /// What outputs were last told.
    commanded: RoomState,
    /// Expected light levels and layer amplitudes, in active time, for `levels`.
    light_levels: Vec<Moving>,
    layer_levels: Vec<Moving>,
    master: Decibels,
    paused_at: Option<Duration>,
    paused_total: Duration,
    last_command: Option<(Command, Duration)>,
    start_phase: usize,
    /// How many times faster than real time engine time runs (`--speed`).
    speed: f64,
}

impl Timeline {
    /// An idle engine for `ceremony` on `rig`.
    #[must_use]
    pub fn new(ceremony: Arc<Ceremony>, rig: Arc<Rig>) -> Self {
        let ceremony = crate::precedence::ordered(ceremony, &rig);
        let mut base = Vec::with_capacity(ceremony.phases.len());
        let mut room = RoomState::silent(&rig);
        for phase in &ceremony.phases {
            base.push(room.clone());
            for cue in &phase.scene.cues {
                room.apply(cue);
            }
        }
        let silent = RoomState::silent(&rig);
        Self {
            light_levels: vec![Moving::at(0.0); rig.lights.len()],
            layer_levels: vec![Moving::at(0.0); rig.layers.len()],
            master: rig.volume,
            ceremony,
            base,
            state: State::Idle,
            room: silent.clone(),
            commanded: silent,
            paused_at: None,
            paused_total: Duration::ZERO,
            last_command: None,
            start_phase: 0,
            speed: 1.0,
            rig,
        }
    }

    /// Starts at this phase instead of the first (`run --from`).
    ///
    /// # Errors
    /// Returns the unknown id.
    pub fn start_from(&mut self, id: &str) -> Result<(), String> {
        self.start_phase = self.ceremony.phase_index(id).ok_or_else(|| id.to_owned())?;
        Ok(())
    }

    /// Why a command changed nothing, for a person: the phase ids when `goto` named none.
    #[must_use]
    pub fn explain(&self, why: Ignored) -> String {
        match why {
            Ignored::UnknownPhase => {
                format!("{why}; the phases are {}", self.ceremony.phase_list())
            }
            other => other.to_string(),
        }
    }

    /// Engine time runs `speed` times faster than real time (`run --speed`). The debounce
    /// window is about people's fingers, so it stays in real time: a double tap is one tap
    /// however fast the rehearsal runs.
    pub fn set_speed(&mut self, speed: f64) {
        if speed.is_finite() && speed > 0.0 {
            self.speed = speed;
        }
    }

    /// The ceremony being run.
    #[must_use]
    pub fn ceremony(&self) -> &Ceremony {
        &self.ceremony
    }

    /// The rig being driven.
    #[must_use]
    pub fn rig(&self) -> &Rig {
        &self.rig
    }

    /// The room the script wants at this moment.
    #[must_use]
    pub fn room(&self) -> &RoomState {
        &self.room
    }

    /// The room the outputs were told to reach.
    #[must_use]
    pub fn commanded(&self) -> &RoomState {
        &self.commanded
    }

    /// Expected perceived level of each light at `now`, following every fade as the outputs
    /// run it (held while paused).
    #[must_use]
    pub fn light_levels(&self, now: Duration) -> Vec<f32> {
        let active = self.active(now);
        self.light_levels.iter().map(|m| m.value(active)).collect()
    }

    /// Expected amplitude (0..1, before master) of each layer at `now`.
    #[must_use]
    pub fn layer_levels(&self, now: Duration) -> Vec<f32> {
        let active = self.active(now);
        self.layer_levels.iter().map(|m| m.value(active)).collect()
    }

    /// Engine time minus paused time: the clock that fades and offsets run on.
    fn active(&self, now: Duration) -> Duration {
        self.paused_at
            .unwrap_or(now)
            .saturating_sub(self.paused_total)
    }

    /// Where the ceremony is at `now`.
    #[must_use]
    pub fn status(&self, now: Duration) -> Status {
        let (mode, phase, offset, started, ends) = match self.state {
            State::Idle => (Mode::Idle, None, Duration::ZERO, None, None),
            State::Running {
                phase,
                anchor,
                entered,
                ..
            } => {
                let offset = self.active(now).saturating_sub(anchor);
                let paused = self.paused_at.is_some();
                let ends = match self.ceremony.phases[phase].advance {
                    Advance::After(d) if !paused => Some(now + d.saturating_sub(offset)),
                    _ => None,
                };
                let mode = if paused { Mode::Paused } else { Mode::Running };
                (mode, Some(phase), offset, Some(entered), ends)
            }
            State::Ending { kind, .. } => (Mode::Ending(kind), None, Duration::ZERO, None, None),
            State::Ended(kind) => (Mode::Ended(kind), None, Duration::ZERO, None, None),
        };
        Status {
            mode,
            phase,
            offset,
            phase_started_at: started,
            phase_ends_at: ends,
            volume: self.master,
        }
    }

    /// Whether the ceremony is over.
    #[must_use]
    pub fn is_ended(&self) -> bool {
        matches!(self.state, State::Ended(_))
    }

    /// The next engine time at which something is due, if any.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Duration> {
        match self.state {
            State::Running {
                phase,
                anchor,
                cursor,
                ..
            } => {
                let paused_at = self.paused_at;
                if paused_at.is_some() {
                    return None;
                }
                let to_engine = |offset: Duration| anchor + offset + self.paused_total;
                let cues = &self.ceremony.phases[phase].scene.cues;
                let cue = cues.get(cursor).map(|c| to_engine(c.at));
                let auto = match self.ceremony.phases[phase].advance {
                    Advance::After(d) => Some(to_engine(d)),
                    Advance::Manual => None,
                };
                match (cue, auto) {
                    (Some(c), Some(a)) => Some(c.min(a)),
                    (c, a) => c.or(a),
                }
            }
            State::Ending { until, .. } => Some(until),
            State::Idle | State::Ended(_) => None,
        }
    }

    /// Fires everything due at or before `now`, in order, each at its own deadline.
    pub fn advance(&mut self, now: Duration, out: &mut Vec<Event>) {
        while let Some(deadline) = self.next_deadline() {
            if deadline > now {
                break;
            }
            self.fire(deadline, out);
        }
    }

    fn fire(&mut self, t: Duration, out: &mut Vec<Event>) {
        match self.state {
            State::Running {
                phase,
                anchor,
                entered,
                cursor,
            } => {
                let scene = Arc::clone(&self.ceremony.phases[phase].scene);
                let offset = self.active(t).saturating_sub(anchor);
                if let Some(cue) = scene.cues.get(cursor).filter(|c| c.at <= offset) {
                    self.state = State::Running {
                        phase,
                        anchor,
                        entered,
                        cursor: cursor + 1,
                    };
                    self.fire_cue(t, phase, cue, out);
                } else if phase + 1 < self.ceremony.phases.len() {
                    self.enter(phase + 1, t, Trigger::Auto, out);
                } else {
                    self.finish(t, out);
                }
            }
            State::Ending { kind, .. } => {
                self.state = State::Ended(kind);
                out.push(Event {
                    at: t,
                    action: Action::Ended(kind),
                });
            }
            State::Idle | State::Ended(_) => {}
        }
    }

    fn fire_cue(&mut self, t: Duration, phase: usize, cue: &Cue, out: &mut Vec<Event>) {
        out.push(cue_fired(t, phase, cue));
        self.room.apply(cue);
        for lc in &cue.layers {
            self.sync_layer(lc.layer, t, Some((lc.fade, lc.curve)), out);
        }
        let n = self.room.lights.len();
        let (mut fades, mut sets_level) = (vec![None; n], vec![false; n]);
        crate::precedence::fold_fades(cue, &mut fades, &mut sets_level);
        for (i, fade) in fades.into_iter().enumerate() {
            if fade.is_some() {
                self.sync_light(i, t, fade, out);
            }
        }
        push_one_shots(t, cue, out);
    }

    /// The fade for a change whose own fade is `own`, or the ceremony's transition.
    fn fade_or_transition(&self, own: Option<Duration>) -> Duration {
        own.unwrap_or(self.ceremony.transition)
    }

    /// Tells the outputs about layer `i` if the room differs from what they were told.
    fn sync_layer(
        &mut self,
        i: usize,
        t: Duration,
        fade: Option<(Option<Duration>, Curve)>,
        out: &mut Vec<Event>,
    ) {
        let want = self.room.layers[i].clone();
        let have = &self.commanded.layers[i];
        if want == *have {
            return;
        }
        let (fade, curve) = match fade {
            Some((f, c)) => (self.fade_or_transition(f), c),
            None => (self.ceremony.transition, Curve::EqualPower),
        };
        let change = match (&want.source, &have.source) {
            (None, None) => {
                self.commanded.layers[i] = want;
                return;
            }
            (None, Some(_)) => LayerChange::Stop { fade, curve },
            (Some(w), Some(h)) if w == h => LayerChange::Gain {
                gain: want.gain,
                fade,
                curve,
            },
            (Some(w), _) => LayerChange::Play {
                source: Arc::clone(w),
                gain: want.gain,
                fade,
                curve,
            },
        };
        let target = if want.source.is_some() {
            want.gain.amplitude()
        } else {
            0.0
        };
        self.move_level(LevelKind::Layer, i, t, target, fade, curve);
        self.commanded.layers[i] = want;
        out.push(Event {
            at: t,
            action: Action::Layer { layer: i, change },
        });
    }

    /// Tells the outputs about light `i` if the room differs from what they were told.
    fn sync_light(
        &mut self,
        i: usize,
        t: Duration,
        fade: Option<(Option<Duration>, Curve)>,
        out: &mut Vec<Event>,
    ) {
        let want = match (self.room.lights[i], self.commanded.lights[i]) {
            (Some(want), _) => want,
            // A jump back to before the ceremony first touched this light: it goes dark
            // again, as it was then.
            (None, Some(c)) if c.level > 0.0 || c.effect != Effect::None => LightTarget {
                level: 0.0,
                effect: Effect::None,
                ..c
            },
            (None, _) => return,
        };
        if self.commanded.lights[i] == Some(want) {
            return;
        }
        let (fade, curve) = match fade {
            Some((f, c)) => (self.fade_or_transition(f), c),
            None => (self.ceremony.transition, Curve::Linear),
        };
        self.send_light(i, t, want, fade, curve, out);
    }

    fn send_light(
        &mut self,
        i: usize,
        t: Duration,
        target: LightTarget,
        fade: Duration,
        curve: Curve,
        out: &mut Vec<Event>,
    ) {
        self.move_level(LevelKind::Light, i, t, target.level, fade, curve);
        self.commanded.lights[i] = Some(target);
        out.push(Event {
            at: t,
            action: Action::Light {
                light: i,
                target,
                fade,
                curve,
            },
        });
    }

    fn move_level(
        &mut self,
        kind: LevelKind,
        i: usize,
        t: Duration,
        to: f32,
        fade: Duration,
        curve: Curve,
    ) {
        let active = self.active(t);
        let levels = match kind {
            LevelKind::Light => &mut self.light_levels,
            LevelKind::Layer => &mut self.layer_levels,
        };
        let from = levels[i].value(active);
        levels[i] = Moving {
            ramp: Ramp {
                from,
                to,
                duration: fade,
                curve,
            },
            start: active,
        };
    }

    /// Enters phase `index` at engine time `t`.
    fn enter(&mut self, index: usize, t: Duration, trigger: Trigger, out: &mut Vec<Event>) {
        if self.paused_at.is_some() {
            self.resume_at(t, out);
        }
        let phase = &self.ceremony.phases[index];
        let scene = Arc::clone(&phase.scene);
        let anchor = self.active(t);
        self.room = self.base[index].clone();
        // The fades of the phase's opening cues; everything else reaches its state over the
        // ceremony's transition.
        let mut layer_fades = vec![None; self.room.layers.len()];
        let mut light_fades = vec![None; self.room.lights.len()];
        let mut sets_level = vec![false; self.room.lights.len()];
        let mut cursor = 0;
        while let Some(cue) = scene.cues.get(cursor).filter(|c| c.at.is_zero()) {
            self.room.apply(cue);
            for lc in &cue.layers {
                layer_fades[lc.layer] = Some((lc.fade, lc.curve));
            }
            crate::precedence::fold_fades(cue, &mut light_fades, &mut sets_level);
            cursor += 1;
        }
        self.state = State::Running {
            phase: index,
            anchor,
            entered: t,
            cursor,
        };
        out.push(Event {
            at: t,
            action: Action::PhaseStarted {
                index,
                id: phase.id.clone(),
                title: phase.title.clone(),
                trigger,
                ends_at: match phase.advance {
                    Advance::After(d) => Some(t + d),
                    Advance::Manual => None,
                },
            },
        });
        for cue in &scene.cues[..cursor] {
            out.push(cue_fired(t, index, cue));
        }
        for (i, fade) in layer_fades.into_iter().enumerate() {
            self.sync_layer(i, t, fade, out);
        }
        for (i, fade) in light_fades.into_iter().enumerate() {
            self.sync_light(i, t, fade, out);
        }
        for cue in &scene.cues[..cursor] {
            push_one_shots(t, cue, out);
        }
    }

    fn resume_at(&mut self, t: Duration, out: &mut Vec<Event>) {
        if let Some(p) = self.paused_at.take() {
            self.paused_total += t.saturating_sub(p);
            out.push(Event {
                at: t,
                action: Action::Resumed,
            });
        }
    }

    fn end(&mut self, t: Duration, kind: EndKind, out: &mut Vec<Event>) {
        self.resume_at(t, out);
        let (fade, action) = match kind {
            EndKind::Stopped => (
                self.rig.stop_fade,
                Action::Stopping {
                    fade: self.rig.stop_fade,
                },
            ),
            EndKind::Finished => (
                self.ceremony.finish_fade,
                Action::Finishing {
                    fade: self.ceremony.finish_fade,
                },
            ),
        };
        out.push(Event { at: t, action });
        for layer in &mut self.room.layers {
            layer.source = None;
        }
        for i in 0..self.room.layers.len() {
            self.sync_layer(i, t, Some((Some(fade), Curve::EqualPower)), out);
        }
        for i in 0..self.room.lights.len() {
            let target = match kind {
                EndKind::Stopped => Some(self.rig.safe_light),
                EndKind::Finished => {
                    self.room.lights[i]
                        .or(self.commanded.lights[i])
                        .map(|t| LightTarget {
                            level: 0.0,
                            effect: Effect::None,
                            ..t
                        })
                }
            };
            self.room.lights[i] = target;
            match target {
                // Already headed there, but more slowly than the end allows (a cue's long
                // fade to dark when the finish comes): the end's fade takes over, so the
                // light is there, and told off, when the room ends.
                Some(want)
                    if self.commanded.lights[i] == Some(want)
                        && self.light_levels[i].ends() > self.active(t) + fade =>
                {
                    self.send_light(i, t, want, fade, Curve::Linear, out);
                }
                _ => self.sync_light(i, t, Some((Some(fade), Curve::Linear)), out),
            }
        }
        self.state = State::Ending {
            kind,
            until: t + fade + END_SILENCE,
        };
    }

    /// A stop during the finish: the room still goes dark and silent, but within the stop's
    /// fade when that is sooner than what is left of the finish.
    fn hurry_finish(&mut self, t: Duration, out: &mut Vec<Event>) -> Result<(), Ignored> {
        let State::Ending {
            kind: EndKind::Finished,
            until,
        } = self.state
        else {
            return Err(Ignored::NotApplicable);
        };
        let fade = self.rig.stop_fade;
        if t + fade + END_SILENCE >= until {
            return Err(Ignored::NotApplicable);
        }
        out.push(Event {
            at: t,
            action: Action::Finishing { fade },
        });
        for i in 0..self.room.lights.len() {
            if let Some(target) = self.commanded.lights[i] {
                self.send_light(i, t, target, fade, Curve::Linear, out);
            }
        }
        self.state = State::Ending {
            kind: EndKind::Finished,
            until: t + fade + END_SILENCE,
        };
        Ok(())
    }

    fn finish(&mut self, t: Duration, out: &mut Vec<Event>) {
        self.end(t, EndKind::Finished, out);
    }

    /// Applies a command at `now`, after firing everything due before it.
    ///
    /// # Errors
    /// Returns why the command changed nothing.
    pub fn command(
        &mut self,
        now: Duration,
        cmd: &Command,
        out: &mut Vec<Event>,
    ) -> Result<(), Ignored> {
        self.advance(now, out);
        if let Some((last, at)) = &self.last_command
            && last == cmd
            && now.saturating_sub(*at) < self.rig.debounce.mul_f64(self.speed)
        {
            return Err(Ignored::Debounced);
        }
        let result = self.apply_command(now, cmd, out);
        if result.is_ok() {
            self.last_command = Some((cmd.clone(), now));
        }
        result
    }

    fn apply_command(
        &mut self,
        now: Duration,
        cmd: &Command,
        out: &mut Vec<Event>,
    ) -> Result<(), Ignored> {
        let running = match self.state {
            State::Running { phase, .. } => Some(phase),
            _ => None,
        };
        match (cmd, running) {
            (Command::Start, None) if matches!(self.state, State::Idle) => {
                self.enter(self.start_phase, now, Trigger::Start, out);
            }
            (Command::Next, Some(p)) => {
                if p + 1 < self.ceremony.phases.len() {
                    self.enter(p + 1, now, Trigger::Next, out);
                } else {
                    self.finish(now, out);
                }
            }
            (Command::Prev, Some(p)) => self.enter(p.saturating_sub(1), now, Trigger::Prev, out),
            (Command::Goto(id), Some(_)) => {
                let index = self.ceremony.phase_index(id).ok_or(Ignored::UnknownPhase)?;
                self.enter(index, now, Trigger::Goto, out);
            }
            (Command::Pause, Some(_)) if self.paused_at.is_none() => {
                self.paused_at = Some(now);
                out.push(Event {
                    at: now,
                    action: Action::Paused,
                });
            }
            (Command::Resume, Some(_)) if self.paused_at.is_some() => self.resume_at(now, out),
            (Command::Stop, Some(_)) => self.end(now, EndKind::Stopped, out),
            (Command::Stop, None) => self.hurry_finish(now, out)?,
            (Command::Louder | Command::Softer, _) if !self.is_ended() => {
                let step = if *cmd == Command::Louder {
                    VOLUME_STEP_DB
                } else {
                    -VOLUME_STEP_DB
                };
                let gain =
                    Decibels((self.master.0 + step).clamp(MIN_VOLUME_DB, self.rig.max_volume.0));
                if (gain.0 - self.master.0).abs() < f32::EPSILON {
                    return Err(Ignored::AtLimit);
                }
                self.master = gain;
                out.push(Event {
                    at: now,
                    action: Action::Master {
                        gain,
                        fade: VOLUME_FADE,
                    },
                });
            }
            _ => return Err(Ignored::NotApplicable),
        }
        Ok(())
    }
}

fn cue_fired(t: Duration, phase: usize, cue: &Cue) -> Event {
    Event {
        at: t,
        action: Action::CueFired {
            phase,
            at: cue.at,
            note: cue.note.clone(),
        },
    }
}

fn push_one_shots(t: Duration, cue: &Cue, out: &mut Vec<Event>) {
    out.extend(cue.sounds.iter().map(|s| Event {
        at: t,
        action: Action::OneShot {
            file: s.file.clone(),
            gain: s.gain,
        },
    }));
}

#[derive(Clone, Copy)]
enum LevelKind {
    Light,
    Layer,
}
