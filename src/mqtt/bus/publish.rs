//! Everything the bus sends: `try_publish` only (never `publish().await` from the polling
//! task), retained messages at QoS 1 and the rest at QoS 0, event lines kept in a bounded
//! backlog while the broker is away, the lights' due commands, availability, and trouble for
//! the room's journal. Nothing goes out once another instance took the room over. It does not
//! decide what to say; the engine, the controller and the rest of the task do.

use rumqttc::QoS;

use super::{EVENT_BACKLOG, Task};
use crate::mqtt::state;

impl Task {
    pub(super) fn republish_retained(&mut self) {
        let retained: Vec<(String, String)> = self
            .retained
            .iter()
            .map(|(t, p)| (t.clone(), p.clone()))
            .collect();
        for (topic, payload) in retained {
            self.publish(&topic, &payload, true);
        }
    }

    /// Tells the room of trouble (for its journal).
    pub(super) fn tell(&self, what: String) {
        if let Some(tx) = &self.trouble {
            let _ = tx.send(what);
        }
    }

    /// Publishes this instance's availability (retained), if it publishes any.
    pub(super) fn announce(&mut self, online: bool) {
        if self.superseded {
            return;
        }
        if let Some(me) = &self.instance {
            let payload = state::status_payload(online, me);
            let topic = self.topics.status.clone();
            self.publish(&topic, &payload, true);
        }
    }

    /// Publishes what the controller has due now; while disconnected it is dropped, since
    /// the next ConnAck publishes every light's current command anyway.
    pub(super) fn flush_lights(&mut self) {
        let due = self.controller.poll(self.clock.now());
        for p in due {
            if self.connected {
                self.stats.light_messages += 1;
            }
            self.publish(&p.topic, &p.payload, p.retain);
        }
    }

    /// `try_publish`: retained messages at QoS 1, everything else at QoS 0. While disconnected,
    /// event lines wait in a bounded backlog; the rest is dropped (and counted), since every
    /// connect re-publishes retained state and each light's current command.
    pub(super) fn publish(&mut self, topic: &str, payload: &str, retain: bool) {
        if self.superseded {
            return;
        }
        if !self.connected {
            if topic == self.topics.event {
                if self.backlog.len() == EVENT_BACKLOG {
                    self.backlog.pop_front();
                    self.stats.dropped += 1;
                }
                self.backlog.push_back(payload.to_owned());
            } else {
                self.stats.dropped += 1;
            }
            return;
        }
        let qos = if retain {
            QoS::AtLeastOnce
        } else {
            QoS::AtMostOnce
        };
        if let Err(err) = self
            .client
            .try_publish(topic, qos, retain, payload.as_bytes().to_vec())
        {
            if self.stats.dropped == 0 {
                tracing::warn!("failed to queue a message for {topic}: {err}");
            }
            self.stats.dropped += 1;
        }
    }
}
