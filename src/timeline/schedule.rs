//! Moving the engine along in time: when the next thing is due, firing what is due (a cue,
//! an auto phase change, the end of an ending), and entering a phase (its room at entry and
//! its opening cues). It never reads a clock: `now` comes from the caller. What commands do
//! lives in `commands`, and how outputs are told in `sync`.

use std::sync::Arc;
use std::time::Duration;

use super::{Action, Event, State, Timeline, Trigger};
use crate::model::{Advance, Cue};

impl Timeline {
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

    /// Enters phase `index` at engine time `t`.
    pub(super) fn enter(
        &mut self,
        index: usize,
        t: Duration,
        trigger: Trigger,
        out: &mut Vec<Event>,
    ) {
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
