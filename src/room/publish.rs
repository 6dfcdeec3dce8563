//! What the room tells people: the ceremonies it offers, its state (MQTT and the phone
//! page's feed), Home Assistant discovery, event lines and ignored commands.

use std::sync::Arc;

use super::Room;
use crate::console;
use crate::mqtt::state::{self, Offer};
use crate::run::Request;
use crate::units::format_clock;

impl Room {
    pub(super) fn offer_library(&mut self) {
        let offers: Vec<Offer> = self
            .library
            .entries()
            .iter()
            .map(|e| Offer {
                id: e.id.clone(),
                title: e.ceremony.title.clone(),
            })
            .collect();
        let now = self.clock.now();
        let engine = self.engine.as_ref().map(|r| &r.timeline);
        if let Some(mqtt) = &mut self.mqtt {
            mqtt.set_offers(offers.clone());
            mqtt.refresh_state(engine, now);
        }
        self.offers = offers;
        self.refresh_discovery();
        self.refresh_feed();
    }

    /// Sends the state JSON to the feed if it changed.
    pub(super) fn refresh_feed(&self) {
        let clock = self.clock;
        let wall = move |t| clock.wall_at(t);
        let engine = self.engine.as_ref().map(|r| &r.timeline);
        let json = state::state_payload(engine, clock.now(), &wall, &self.offers);
        self.feed.send_if_modified(|old| {
            if *old == json {
                false
            } else {
                *old = json;
                true
            }
        });
    }

    /// Home Assistant's phase select offers the running ceremony's phases, or (idle) every
    /// phase of the library.
    pub(super) fn refresh_discovery(&mut self) {
        let mut phases: Vec<String> = Vec::new();
        let ceremonies: Vec<&Arc<crate::model::Ceremony>> = match &self.engine {
            Some(r) => vec![&r.entry.ceremony],
            None => self.library.entries().iter().map(|e| &e.ceremony).collect(),
        };
        for c in ceremonies {
            for p in &c.phases {
                if !phases.contains(&p.id) {
                    phases.push(p.id.clone());
                }
            }
        }
        if let Some(mqtt) = &mut self.mqtt {
            mqtt.refresh_discovery(phases);
        }
    }

    pub(super) fn ignored(&mut self, request: &Request, why: &str) {
        let now = self.clock.now();
        self.say(&format!(
            "{}  · {} (from {}) ignored: {why}",
            format_clock(now),
            request.command,
            request.source
        ));
        if let Some(mqtt) = &mut self.mqtt {
            mqtt.event(state::ignored_event(request, why));
        }
    }

    pub(super) fn say(&self, line: &str) {
        console::say(line);
    }

    pub(super) fn event(&self, line: String) {
        if let Some(mqtt) = &self.mqtt {
            mqtt.event(line);
        }
    }

    pub(super) fn error_event(&self, why: &str) {
        self.event(serde_json::json!({"event": "error", "error": why}).to_string());
    }
}
