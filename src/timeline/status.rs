//! Reading the engine without changing it: the coarse [`Mode`], the [`Status`] snapshot, the
//! rooms wanted and commanded, and the levels the outputs are expected to be at. Queries only:
//! nothing here fires cues or takes commands.

use std::time::Duration;

use super::{EndKind, RoomState, State, Timeline};
use crate::model::Advance;
use crate::units::Decibels;

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

impl Timeline {
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
}
