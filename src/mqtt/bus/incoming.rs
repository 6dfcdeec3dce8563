//! What the bus reads from the broker, once routed: commands (through the flood gate, told as
//! events, handed to the engine without ever blocking), rejected messages, Home Assistant
//! coming online, and status messages (our echo, another instance's Last Will, or a
//! takeover). It does not parse topics or payloads; the router does.

use tokio::sync::mpsc;

use super::Task;
use crate::mqtt::flood::{self, Verdict};
use crate::mqtt::remote::Routed;
use crate::mqtt::state;

impl Task {
    /// Another message on the room's status topic: our own echo, another instance's Last
    /// Will (which must not leave the room marked offline while we run: say `online` again),
    /// or another instance coming online live, which means it took the room over.
    fn on_status(&mut self, payload: &[u8], retained: bool) {
        let Some(me) = &self.instance else {
            return;
        };
        let Some(seen) = state::read_status(payload) else {
            return;
        };
        if seen.instance.as_deref() == Some(me.id.as_str()) || self.superseded {
            return;
        }
        if !seen.online {
            tracing::debug!("another instance's offline status; this room is still online");
            self.announce(true);
        } else if !retained {
            tracing::error!(
                "another sanctum (pid {} on {}) took this room over; this one stops publishing and obeying commands",
                seen.pid.map_or_else(|| "?".to_owned(), |p| p.to_string()),
                seen.host.as_deref().unwrap_or("?")
            );
            self.superseded = true;
        }
    }

    pub(super) fn on_routed(&mut self, routed: Routed) {
        let event_topic = self.topics.event.clone();
        match routed {
            Routed::Request(_) if self.superseded => {}
            Routed::Request(request) => {
                let now = self.clock.now();
                match self.flood.check(now, &request.source, &request.command) {
                    Verdict::Drop { first } => {
                        if first {
                            let word = flood::word(&request.command);
                            tracing::warn!(
                                "a flood of `{word}` from {}: dropping repeats until it calms",
                                request.source
                            );
                            let why =
                                format!("a flood of `{word}`: repeats are dropped until it calms");
                            let event = state::error_event(&request.source, &why);
                            self.publish(&event_topic, &event, false);
                        }
                        return;
                    }
                    Verdict::Pass { after_flood } if after_flood > 0 => tracing::info!(
                        "the flood of `{}` from {} is over: {after_flood} dropped",
                        flood::word(&request.command),
                        request.source
                    ),
                    Verdict::Pass { .. } => {}
                }
                tracing::info!("{} (from {})", request.command, request.source);
                let event = state::command_event(&request);
                self.publish(&event_topic, &event, false);
                if let Err(err) = self.requests.try_send(request) {
                    let why = match err {
                        mpsc::error::TrySendError::Full(_) => "the engine is busy",
                        mpsc::error::TrySendError::Closed(_) => "the ceremony is over",
                    };
                    let event = state::error_event(&self.topics.cmd, why);
                    self.publish(&event_topic, &event, false);
                }
            }
            Routed::Rejected { topic, why } => {
                tracing::debug!("ignored a message on {topic}: {why}");
                let event = state::error_event(&topic, &why);
                self.publish(&event_topic, &event, false);
            }
            Routed::HomeAssistantOnline => {
                self.announce(true);
                self.republish_retained();
            }
            Routed::Status { payload, retained } => self.on_status(&payload, retained),
            Routed::Ignored(why) => tracing::trace!("ignored: {why}"),
        }
    }
}
