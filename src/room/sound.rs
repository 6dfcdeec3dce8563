//! The room without a sound card: trying the default device again, and bringing a fresh
//! mixer to where the ceremony is when it opens, with a fade.

use std::sync::Arc;
use std::time::Duration;

use super::Room;
use crate::run::Output;
use crate::sound::Sound;
use crate::timeline::{Action, Event, Timeline};

impl Room {
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
