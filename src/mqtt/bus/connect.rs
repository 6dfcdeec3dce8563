//! The bus's link to the broker: each result of `poll()`, the backoff between failed connects
//! (warning once per cause, never giving up), and on every ConnAck the subscriptions,
//! availability, retained state, backlog and each light's current command sent again. It
//! does not route what comes in (`incoming`) nor queue what goes out (`publish`).

use std::time::Duration;

use rumqttc::{Event, Packet, QoS};

use super::{MAX_BACKOFF, MIN_BACKOFF, REFUSED_BACKOFF, Task};
use crate::mqtt::connection;

impl Task {
    /// Handles one result of `poll()`; returns how long to wait before polling again.
    pub(super) fn on_poll(
        &mut self,
        result: Result<Event, rumqttc::ConnectionError>,
    ) -> Option<Duration> {
        match result {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                self.on_connect();
                None
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let routed = self.router.route(&p.topic, &p.payload, p.retain);
                self.on_routed(routed);
                None
            }
            Ok(_) => None,
            Err(err) => {
                let text = connection::describe(&self.broker, &err);
                let refused = connection::is_refusal(&err);
                if self.connected {
                    tracing::warn!("lost the broker: {text}; reconnecting in the background");
                    self.tell(format!("lost the broker: {text}"));
                } else if self.last_error.as_deref() != Some(text.as_str()) {
                    if refused {
                        tracing::error!("{text}");
                    } else {
                        tracing::warn!(
                            "{text}; the ceremony goes on, sanctum keeps trying in the background"
                        );
                    }
                }
                self.connected = false;
                self.last_error = Some(text);
                let wait = if refused {
                    REFUSED_BACKOFF
                } else {
                    self.backoff
                };
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                Some(wait)
            }
        }
    }

    fn on_connect(&mut self) {
        if self.last_error.take().is_some() {
            tracing::info!("connected to the broker at {}", self.broker);
            let back = format!("connected to the broker at {}", self.broker);
            self.tell(back);
        } else {
            tracing::debug!("connected to the broker at {}", self.broker);
        }
        self.connected = true;
        self.backoff = MIN_BACKOFF;
        self.stats.connects += 1;
        let filters = self
            .subscriptions
            .iter()
            // QoS 0 from the broker to us: no PUBACK per message, so a flood is read (and
            // dropped by the flood gate) as fast as it comes, and the broker never has to
            // queue (and, past its max_queued_messages, drop) a person's command behind it.
            .map(|t| rumqttc::SubscribeFilter::new(t.clone(), QoS::AtMostOnce));
        if !self.subscriptions.is_empty()
            && let Err(err) = self.client.try_subscribe_many(filters)
        {
            tracing::warn!("failed to subscribe: {err}");
        }
        self.announce(true);
        self.republish_retained();
        let topic = self.topics.event.clone();
        while let Some(line) = self.backlog.pop_front() {
            self.publish(&topic, &line, false);
        }
        let now = self.clock.now();
        for p in self.controller.current_commands(now) {
            self.stats.light_messages += 1;
            self.publish(&p.topic, &p.payload, p.retain);
        }
        let n = self.stats.connects;
        self.connects.send_replace(n);
    }
}
