//! How a ceremony ends: a gentle stop (to the rig's safe light) or the finish (to darkness),
//! each fading sound and light out before the silence that closes it, and a stop that hurries
//! a finish already under way. It does not decide when to end: commands and the schedule do.

use std::time::Duration;

use super::{Action, END_SILENCE, EndKind, Event, Ignored, State, Timeline};
use crate::lights::target::{Effect, LightTarget};
use crate::tween::Curve;

impl Timeline {
    pub(super) fn end(&mut self, t: Duration, kind: EndKind, out: &mut Vec<Event>) {
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
    pub(super) fn hurry_finish(
        &mut self,
        t: Duration,
        out: &mut Vec<Event>,
    ) -> Result<(), Ignored> {
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

    pub(super) fn finish(&mut self, t: Duration, out: &mut Vec<Event>) {
        self.end(t, EndKind::Finished, out);
    }
}
