//! The room's sound output when it is missing or not needed: trying the default device again
//! and bringing a fresh mixer to where the ceremony is when it opens, with a fade; and closing
//! the output while the room is idle and silent (it opens again with the next sound).

use std::sync::Arc;
use std::time::Duration;

use super::Room;

/// How long the room must be idle and silent before the sound output closes (as a sound
/// server suspends an unused sink): a stop and a new start in quick succession keep it open.
pub const REST_AFTER: Duration = Duration::from_secs(5);
use crate::run::Output;
use crate::sound::Sound;
use crate::timeline::{Action, Event, Timeline};

impl Room {
    /// Closes the sound output once no ceremony has run and nothing has sounded for
    /// [`REST_AFTER`] (the tick stops with it, so an idle room does not wake); the next sound
    /// opens it again.
    pub(super) fn rest_sound(&mut self, now: Duration) {
        let Some(sound) = &mut self.sound else {
            return;
        };
        if self.engine.is_some() || sound.is_resting() || !sound.is_silent() {
            self.silent_since = None;
            return;
        }
        let since = *self.silent_since.get_or_insert(now);
        if now.saturating_sub(since) >= REST_AFTER.mul_f64(self.clock.speed()) {
            sound.rest();
            self.silent_since = None;
        }
    }

    /// Tries the missing sound output again when due; once it opens, the room's current
    /// sound comes in with a fade over the ceremony's transition (from silence, as after a
    /// restart).
    pub(super) fn retry_sound(&mut self, now: Duration) {
        let Some((spec, due, wait)) = &mut self.sound_retry else {
            return;
        };
        if now < *due {
            return;
        }
        match Sound::open(spec.clone(), &self.library.rig) {
            Ok(mut sound) => {
                tracing::info!("the sound output is here: the sound fades in");
                self.trouble("the sound output came back");
                if let Some(r) = &self.engine {
                    for event in sound_now(&r.timeline, now) {
                        sound.apply(&event, &r.timeline);
                    }
                }
                self.sound = Some(sound);
                self.sound_retry = None;
            }
            Err(_) => {
                *wait = (*wait * 2).min(Duration::from_secs(60));
                *due = now + wait.mul_f64(self.clock.speed());
            }
        }
    }
}

/// The events that bring a fresh mixer to where `timeline` is: the master volume, then each
/// playing layer fading in over the ceremony's transition.
fn sound_now(timeline: &Timeline, now: Duration) -> Vec<Event> {
    let status = timeline.status(now);
    let mut events = vec![Event {
        at: now,
        action: Action::Master {
            gain: status.volume,
            fade: Duration::ZERO,
        },
    }];
    let fade = timeline.ceremony().transition;
    for (i, layer) in timeline.commanded().layers.iter().enumerate() {
        if let Some(source) = &layer.source {
            events.push(Event {
                at: now,
                action: Action::Layer {
                    layer: i,
                    change: crate::timeline::LayerChange::Play {
                        source: Arc::clone(source),
                        gain: layer.gain,
                        fade,
                        curve: crate::tween::Curve::EqualPower,
                    },
                },
            });
        }
    }
    events
}
