//! Entering a ceremony part-way through, for the daemon: after a crash or a power cut (the
//! room comes back with fades, and chimes that fell in the downtime are not rung late), and
//! after a hot reload (a new version of the ceremony takes over at the same place, from its
//! next cue). Pure, like the rest of the engine: time is a parameter.

use std::sync::Arc;
use std::time::Duration;

use super::{Action, Event, MIN_VOLUME_DB, State, Timeline, Trigger};
use crate::model::{Advance, Ceremony};
use crate::units::Decibels;

/// Where a ceremony was, to be entered again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    /// Phase index.
    pub phase: usize,
    /// Time into the phase (paused time excluded).
    pub offset: Duration,
    /// Whether it was paused.
    pub paused: bool,
    /// Master volume.
    pub volume: Decibels,
}

/// Why a ceremony cannot be entered at a place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResumeError {
    /// The engine already runs a ceremony.
    #[error("the ceremony is already running")]
    NotIdle,
    /// The phase index is not in the ceremony.
    #[error("the ceremony has no phase {0}")]
    NoPhase(usize),
    /// Auto phases ran out while sanctum was away: the ceremony would be over by now.
    #[error("the ceremony would have finished while sanctum was away")]
    RanOut,
    /// The phase running now is not in the new version of the ceremony.
    #[error("the new version of the ceremony has no phase `{0}`")]
    PhaseGone(String),
    /// The ceremony is ending or over; there is nothing to take over.
    #[error("the ceremony is ending")]
    Ending,
}

impl Timeline {
    /// Where `place` lands once auto phases whose time ran out have moved on: the phase and
    /// the offset into it.
    ///
    /// # Errors
    /// [`ResumeError::NoPhase`] for an index out of range, [`ResumeError::RanOut`] when the
    /// last phase would have ended.
    pub fn land(&self, place: &Place) -> Result<(usize, Duration), ResumeError> {
        let phases = &self.ceremony.phases;
        if place.phase >= phases.len() {
            return Err(ResumeError::NoPhase(place.phase));
        }
        let (mut phase, mut offset) = (place.phase, place.offset);
        while let Advance::After(d) = phases[phase].advance {
            if offset < d {
                break;
            }
            offset -= d;
            phase += 1;
            if phase == phases.len() {
                return Err(ResumeError::RanOut);
            }
        }
        Ok((phase, offset))
    }

    /// Enters the ceremony at `place` at engine time `now`, as if it had kept running: every
    /// layer and light reaches that moment's state over the ceremony's `transition` (sound
    /// fades in from silence), the master is set while nothing plays, and one-shots of cues
    /// already past are not rung. `now` must be at least the place's offset (see
    /// [`crate::clock::Clock::start_at`]) so that the phase's start keeps its true time.
    ///
    /// # Errors
    /// See [`ResumeError`]; the engine is unchanged then.
    pub fn resume(
        &mut self,
        now: Duration,
        place: &Place,
        out: &mut Vec<Event>,
    ) -> Result<(), ResumeError> {
        if !matches!(self.state, State::Idle) {
            return Err(ResumeError::NotIdle);
        }
        let (index, offset) = self.land(place)?;
        self.master = Decibels(place.volume.0.clamp(MIN_VOLUME_DB, self.rig.max_volume.0));
        out.push(Event {
            at: now,
            action: Action::Master {
                gain: self.master,
                fade: Duration::ZERO,
            },
        });
        let phase = &self.ceremony.phases[index];
        let scene = Arc::clone(&phase.scene);
        let cursor = scene.cues.iter().take_while(|c| c.at <= offset).count();
        self.room = self.base[index].clone();
        for cue in &scene.cues[..cursor] {
            self.room.apply(cue);
        }
        let entered = now.saturating_sub(offset);
        self.state = State::Running {
            phase: index,
            anchor: self.active(now).saturating_sub(offset),
            entered,
            cursor,
        };
        out.push(Event {
            at: now,
            action: Action::PhaseStarted {
                index,
                id: phase.id.clone(),
                title: phase.title.clone(),
                trigger: Trigger::Resume,
                ends_at: match phase.advance {
                    Advance::After(d) => Some(entered + d),
                    Advance::Manual => None,
                },
            },
        });
        for i in 0..self.room.layers.len() {
            self.sync_layer(i, now, None, out);
        }
        for i in 0..self.room.lights.len() {
            self.sync_light(i, now, None, out);
        }
        if place.paused {
            self.paused_at = Some(now);
            out.push(Event {
                at: now,
                action: Action::Paused,
            });
        }
        Ok(())
    }

    /// A new version of `old`'s ceremony that takes over at the same place at `now`: the
    /// same phase (found by id) and offset, pause, volume and fades in flight. Nothing is
    /// re-sent; the new script applies from its next cue, and fully from the next phase.
    ///
    /// # Errors
    /// [`ResumeError::PhaseGone`] when the running phase's id is not in `ceremony`,
    /// [`ResumeError::Ending`] while `old` ends.
    pub fn adopt(ceremony: Arc<Ceremony>, old: &Self, now: Duration) -> Result<Self, ResumeError> {
        let fresh = Self::new(ceremony, Arc::clone(&old.rig));
        let state = match old.state {
            State::Idle => State::Idle,
            State::Running {
                phase,
                anchor,
                entered,
                ..
            } => {
                let id = &old.ceremony.phases[phase].id;
                let index = fresh
                    .ceremony
                    .phase_index(id)
                    .ok_or_else(|| ResumeError::PhaseGone(id.clone()))?;
                let offset = old.active(now).saturating_sub(anchor);
                let cues = &fresh.ceremony.phases[index].scene.cues;
                State::Running {
                    phase: index,
                    anchor,
                    entered,
                    cursor: cues.iter().take_while(|c| c.at <= offset).count(),
                }
            }
            State::Ending { .. } | State::Ended(_) => return Err(ResumeError::Ending),
        };
        let mut room = old.room.clone();
        if let State::Running { phase, cursor, .. } = state {
            room = fresh.base[phase].clone();
            for cue in &fresh.ceremony.phases[phase].scene.cues[..cursor] {
                room.apply(cue);
            }
        }
        Ok(Self {
            ceremony: fresh.ceremony,
            base: fresh.base,
            state,
            room,
            start_phase: fresh.start_phase,
            ..old.clone()
        })
    }
}
