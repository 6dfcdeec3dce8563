//! Telling the outputs: comparing the room the script wants with what the outputs were last
//! told, and emitting the layer and light changes (with their fades) that close the gap,
//! while following the level each output is expected to be at. It does not decide what the
//! room should be; cues and commands do.

use std::sync::Arc;
use std::time::Duration;

use super::{Action, Event, LayerChange, Moving, Timeline};
use crate::lights::target::{Effect, LightTarget};
use crate::tween::{Curve, Ramp};

impl Timeline {
    /// The fade for a change whose own fade is `own`, or the ceremony's transition.
    fn fade_or_transition(&self, own: Option<Duration>) -> Duration {
        own.unwrap_or(self.ceremony.transition)
    }

    /// Tells the outputs about layer `i` if the room differs from what they were told.
    pub(super) fn sync_layer(
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
    pub(super) fn sync_light(
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

    pub(super) fn send_light(
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
}

#[derive(Clone, Copy)]
enum LevelKind {
    Light,
    Layer,
}
