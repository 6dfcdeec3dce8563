//! Commands: `start`, `next`, `prev`, `goto`, `pause`, `resume`, `stop`, `louder` and
//! `softer`, debounced, each applied after everything due before it has fired, and why one
//! changed nothing ([`Ignored`]). It decides what a command does to the engine; entering and
//! ending phases live in `schedule` and `ending`.

use std::time::Duration;

use super::{
    Action, EndKind, Event, MIN_VOLUME_DB, State, Timeline, Trigger, VOLUME_FADE, VOLUME_STEP_DB,
};
use crate::command::Command;
use crate::units::Decibels;

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

impl Timeline {
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

    pub(super) fn resume_at(&mut self, t: Duration, out: &mut Vec<Event>) {
        if let Some(p) = self.paused_at.take() {
            self.paused_total += t.saturating_sub(p);
            out.push(Event {
                at: t,
                action: Action::Resumed,
            });
        }
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
