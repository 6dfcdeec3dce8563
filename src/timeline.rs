//! The ceremony engine: a pure state machine on virtual time. It folds cues into a room state,
//! answers "when is the next thing due", takes commands, and emits the actions that turn the
//! room from one state into the next. It never reads a clock and does no I/O: callers pass
//! `now` (time since the engine's epoch) into every call.
//!
//! The room at (phase k, offset t) is the fold of every cue of phases 0..k (their whole scripts)
//! and of phase k's cues up to t. `goto`, `prev` and starting mid-ceremony therefore land in
//! exactly the room that playing through would reach. Each step applies only the cues that are
//! due, so its cost follows the number of changes, not the number of cues.
//!
//! The engine's state and its clock live in this file; the rest is one concern per file:
//! `room` (the room a script wants, and the fold of a cue into it), `action` (what the engine
//! emits), `status` (queries), `schedule` (what is due, firing it, entering a phase), `sync`
//! (telling the outputs what changed, with fades), `commands`, `ending` (stop and finish) and
//! `resume` (entering a ceremony part-way through).

mod action;
mod commands;
mod ending;
mod resume;
mod room;
mod schedule;
mod status;
mod sync;

use std::sync::Arc;
use std::time::Duration;

use crate::command::Command;
use crate::model::{Ceremony, Rig};
use crate::tween::Ramp;
use crate::units::Decibels;

pub use action::{Action, EndKind, Event, LayerChange, Trigger};
pub use commands::Ignored;
pub use resume::{Place, ResumeError};
pub use room::{LayerState, RoomState};
pub use status::{Mode, Status};

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

    /// Engine time minus paused time: the clock that fades and offsets run on.
    fn active(&self, now: Duration) -> Duration {
        self.paused_at
            .unwrap_or(now)
            .saturating_sub(self.paused_total)
    }
}
