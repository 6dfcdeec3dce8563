//! The engine's MQTT output: turns engine events into bus work. Light moves go to the light
//! controller (`Action::Light` → `apply`, `Paused`/`Resumed` → `pause`/`resume`); phase,
//! pause, volume and ending changes refresh the retained state and phase; cues, sounds and
//! ignored commands become event lines. It must not block, publish by itself or read the
//! clock other than through the run's [`Clock`] (for wall-clock timestamps).

use super::bus::{BusHandle, BusMsg};
use super::state;
use super::topics::Topics;
use crate::clock::Clock;
use crate::lights::Publish;
use crate::run::{Feedback, Output, Request};
use crate::timeline::{Action, Event, Timeline};

/// See the module docs.
#[derive(Debug)]
pub struct MqttOutput {
    bus: BusHandle,
    topics: Topics,
    clock: Clock,
    last_state: String,
    last_phase: String,
}

impl MqttOutput {
    /// An output feeding `bus` for the room of `topics`, stamping times with `clock`.
    #[must_use]
    pub fn new(bus: BusHandle, topics: Topics, clock: Clock) -> Self {
        Self {
            bus,
            topics,
            clock,
            last_state: String::new(),
            last_phase: String::new(),
        }
    }

    fn publish(&self, topic: &str, payload: String, retain: bool) {
        self.bus.send(BusMsg::Publish(Publish {
            topic: topic.to_owned(),
            payload,
            retain,
        }));
    }

    /// Publishes the retained state and phase if they changed.
    pub fn refresh_state(&mut self, timeline: &Timeline, at: std::time::Duration) {
        let clock = self.clock;
        let wall = move |t| clock.wall_at(t);
        let s = state::state_payload(timeline, at, &wall);
        if s != self.last_state {
            self.publish(&self.topics.state, s.clone(), true);
            self.last_state = s;
        }
        let p = state::phase_payload(timeline, at);
        if p != self.last_phase {
            self.publish(&self.topics.phase, p.clone(), true);
            self.last_phase = p;
        }
    }
}

impl Output for MqttOutput {
    fn apply(&mut self, event: &Event, timeline: &Timeline) {
        match &event.action {
            Action::Light {
                light,
                target,
                fade,
                curve,
            } => {
                self.bus.send(BusMsg::Light {
                    at: event.at,
                    index: *light,
                    target: *target,
                    fade: *fade,
                    curve: *curve,
                });
                return;
            }
            Action::Layer { .. } => return,
            Action::Paused => self.bus.send(BusMsg::Pause(event.at)),
            Action::Resumed => self.bus.send(BusMsg::Resume(event.at)),
            _ => {}
        }
        let clock = self.clock;
        let wall = move |t| clock.wall_at(t);
        if let Some(line) = state::event_payload(event, timeline, &wall) {
            self.publish(&self.topics.event, line, false);
        }
        self.refresh_state(timeline, event.at);
    }
}

impl Feedback for MqttOutput {
    fn ignored(&mut self, _at: std::time::Duration, request: &Request, why: &str) {
        self.publish(
            &self.topics.event,
            state::ignored_event(request, why),
            false,
        );
    }
}
