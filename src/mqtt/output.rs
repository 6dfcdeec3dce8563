//! The room's MQTT output: turns engine events into bus work. Light moves go to the light
//! controller (`Action::Light` → `apply`, `Paused`/`Resumed` → `pause`/`resume`); phase,
//! pause, volume and ending changes refresh the retained state and phase; cues, sounds and
//! ignored commands become event lines; the room's idle state (with the ceremonies it
//! offers) and Home Assistant discovery follow the library. It must not block, publish by
//! itself or read the clock other than through the run's [`Clock`] (for wall-clock
//! timestamps).
//!
//! The lights run on real time, whatever `--speed` says: engine times and fade lengths are
//! divided by the run's speed on the way to the bus (whose clock is
//! [`Clock::at_speed`]`(1.0)`), so a sped-up rehearsal fades faster but never sends real
//! bulbs more than their message rate.

use std::time::Duration;

use super::bus::{BusHandle, BusMsg};
use super::discovery;
use super::state::{self, Offer};
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
    offers: Vec<Offer>,
    discovery: bool,
    last_state: String,
    last_phase: String,
    last_discovery: Vec<String>,
}

impl MqttOutput {
    /// An output feeding `bus` for the room of `topics`, stamping times with `clock`.
    #[must_use]
    pub fn new(bus: BusHandle, topics: Topics, clock: Clock) -> Self {
        Self {
            bus,
            topics,
            clock,
            offers: Vec::new(),
            discovery: false,
            last_state: String::new(),
            last_phase: String::new(),
            last_discovery: Vec::new(),
        }
    }

    /// Also publishes Home Assistant discovery, following the library and the ceremony.
    #[must_use]
    pub fn with_discovery(mut self, on: bool) -> Self {
        self.discovery = on;
        self
    }

    /// The ceremonies the room offers (in the state, and in Home Assistant's select).
    pub fn set_offers(&mut self, offers: Vec<Offer>) {
        self.offers = offers;
    }

    /// Publishes an event line.
    pub fn event(&self, line: String) {
        self.publish(&self.topics.event, line, false);
    }

    /// Publishes discovery for `timeline`'s phases (or, idle, every offered ceremony's
    /// phases) if it changed. Retained, so the bus re-publishes it after every reconnect.
    pub fn refresh_discovery(&mut self, phases: Vec<String>) {
        if !self.discovery {
            return;
        }
        let ids: Vec<String> = self.offers.iter().map(|o| o.id.clone()).collect();
        let configs = discovery::configs(&self.topics, &phases, &ids);
        let payloads: Vec<String> = configs.iter().map(|p| p.payload.clone()).collect();
        if payloads == self.last_discovery {
            return;
        }
        for p in configs {
            self.bus.send(BusMsg::Publish(p));
        }
        self.last_discovery = payloads;
    }

    fn publish(&self, topic: &str, payload: String, retain: bool) {
        self.bus.send(BusMsg::Publish(Publish {
            topic: topic.to_owned(),
            payload,
            retain,
        }));
    }

    /// Engine time (or an engine duration) in the lights' real time.
    fn light_time(&self, t: Duration) -> Duration {
        t.div_f64(self.clock.speed())
    }

    /// Publishes the retained state and phase if they changed (`None`: the room is idle).
    pub fn refresh_state(&mut self, timeline: Option<&Timeline>, at: Duration) {
        let clock = self.clock;
        let wall = move |t| clock.wall_at(t);
        let s = state::state_payload(timeline, at, &wall, &self.offers);
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
                    at: self.light_time(event.at),
                    index: *light,
                    target: *target,
                    fade: self.light_time(*fade),
                    curve: *curve,
                });
                return;
            }
            Action::Layer { .. } => return,
            Action::Paused => self.bus.send(BusMsg::Pause(self.light_time(event.at))),
            Action::Resumed => self.bus.send(BusMsg::Resume(self.light_time(event.at))),
            _ => {}
        }
        let clock = self.clock;
        let wall = move |t| clock.wall_at(t);
        if let Some(line) = state::event_payload(event, timeline, &wall) {
            self.publish(&self.topics.event, line, false);
        }
        self.refresh_state(Some(timeline), event.at);
    }
}

impl Feedback for MqttOutput {
    fn ignored(&mut self, _at: Duration, request: &Request, why: &str) {
        self.publish(
            &self.topics.event,
            state::ignored_event(request, why),
            false,
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::command::Command;

    #[test]
    fn engine_events_become_light_calls_state_and_events() {
        let loaded =
            crate::config::load_ceremony(std::path::Path::new("tests/fixtures/mqtt"), None)
                .expect("fixture loads");
        let mut tl = Timeline::new(Arc::new(loaded.ceremony), loaded.rig);
        let (bus, mut rx) = BusHandle::detached();
        let mut out = MqttOutput::new(bus, Topics::new("fixture"), Clock::start(1.0));
        // As the run loop does: each command's events are delivered before the next one.
        for (at, cmd) in [
            (0, Command::Start),
            (2, Command::Pause),
            (3, Command::Resume),
        ] {
            let mut events = Vec::new();
            tl.command(Duration::from_secs(at), &cmd, &mut events)
                .expect("command applies");
            for e in &events {
                out.apply(e, &tl);
            }
        }
        let mut msgs = Vec::new();
        while let Ok(m) = rx.try_recv() {
            msgs.push(m);
        }
        let lights: Vec<usize> = msgs
            .iter()
            .filter_map(|m| match m {
                BusMsg::Light { index, .. } => Some(*index),
                _ => None,
            })
            .collect();
        assert_eq!(lights, vec![0, 1], "both fixture lights move at the start");
        assert!(msgs.contains(&BusMsg::Pause(Duration::from_secs(2))));
        // At 4× the lights get real time: engine 2 s is 0.5 s, a 1 s fade 250 ms.
        let (bus, mut rx) = BusHandle::detached();
        let mut fast = MqttOutput::new(bus, Topics::new("fixture"), Clock::start(4.0));
        fast.apply(
            &Event {
                at: Duration::from_secs(2),
                action: Action::Paused,
            },
            &tl,
        );
        assert_eq!(
            rx.try_recv().ok(),
            Some(BusMsg::Pause(Duration::from_millis(500)))
        );
        assert!(msgs.contains(&BusMsg::Resume(Duration::from_secs(3))));
        let published: Vec<&Publish> = msgs
            .iter()
            .filter_map(|m| match m {
                BusMsg::Publish(p) => Some(p),
                _ => None,
            })
            .collect();
        let states: Vec<&&Publish> = published
            .iter()
            .filter(|p| p.topic == "sanctum/fixture/state")
            .collect();
        assert!(states.iter().all(|p| p.retain));
        assert!(
            states
                .iter()
                .any(|p| p.payload.contains(r#""paused":true"#))
        );
        assert!(
            published
                .iter()
                .any(|p| p.topic == "sanctum/fixture/phase" && p.payload == "one" && p.retain)
        );
        assert!(
            published
                .iter()
                .filter(|p| p.topic == "sanctum/fixture/event")
                .all(|p| !p.retain)
        );
        // Unchanged state is not published twice in a row.
        for w in states.windows(2) {
            assert_ne!(w[0].payload, w[1].payload);
        }
    }
}
