//! The bus task's select loop: the rumqttc event loop (polled by a future that owns it), the
//! inbox, the light controller's next deadline and shutdown; the inbox's messages applied to
//! the controller; and the shutdown that still delivers what is due, then `offline` and a
//! clean DISCONNECT. It does not publish by itself: everything goes out through `publish`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use rumqttc::{Event, EventLoop};
use tokio::sync::{mpsc, oneshot};

use super::{BusMsg, BusStats, Task};
use crate::clock::sleep_until;
use crate::mqtt::state;

type PollFuture =
    Pin<Box<dyn Future<Output = (EventLoop, Result<Event, rumqttc::ConnectionError>)> + Send>>;

/// Polls the event loop once, after `delay`. The event loop travels with the future, so the
/// select loop never cancels a `poll()` half-way (which would restart a slow TLS connect).
fn poll_after(mut el: EventLoop, delay: Option<Duration>) -> PollFuture {
    Box::pin(async move {
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        let r = el.poll().await;
        (el, r)
    })
}

impl Task {
    pub(super) async fn run(
        mut self,
        eventloop: EventLoop,
        mut inbox: mpsc::UnboundedReceiver<BusMsg>,
        mut shutdown: oneshot::Receiver<Duration>,
    ) -> BusStats {
        let mut poll = poll_after(eventloop, None);
        let mut inbox_open = true;
        let within = loop {
            let deadline = self
                .controller
                .next_deadline()
                .map(|d| self.clock.instant_at(d));
            tokio::select! {
                biased;
                got = &mut shutdown => break got.unwrap_or(Duration::from_secs(1)),
                msg = inbox.recv(), if inbox_open => match msg {
                    Some(msg) => self.on_msg(msg),
                    None => inbox_open = false,
                },
                (el, result) = &mut poll => {
                    let delay = self.on_poll(result);
                    poll = poll_after(el, delay);
                }
                () = sleep_until(deadline) => {}
            }
            self.flush_lights();
        };
        // Whatever came in before the shutdown still goes out, and so does what the lights
        // still have due (a fade's final OFF waiting for the bulb's message spacing), within
        // `within`: the room ends as it was told to, then `offline`, then a clean DISCONNECT.
        while let Ok(msg) = inbox.try_recv() {
            self.on_msg(msg);
        }
        let give_up = tokio::time::Instant::now() + within;
        self.flush_lights();
        while let Some(due) = self.controller.pending_deadline() {
            let at = self.clock.instant_at(due);
            if at > give_up {
                break;
            }
            tokio::select! {
                (el, result) = &mut poll => {
                    let delay = self.on_poll(result);
                    poll = poll_after(el, delay);
                }
                () = tokio::time::sleep_until(at) => {}
            }
            self.flush_lights();
        }
        if !self.connected {
            return self.stats;
        }
        let within = give_up.saturating_duration_since(tokio::time::Instant::now());
        // Stop listening to our own status first, so that our `offline` is not echoed back
        // to a client that is leaving.
        if self.subscriptions.contains(&self.topics.status) {
            let _ = self.client.try_unsubscribe(self.topics.status.clone());
        }
        self.announce(false);
        let _ = self.client.try_disconnect();
        // `Outgoing::Disconnect` means rumqttc has the packet, not that the broker does: poll
        // on until the broker closes the connection after reading it (or `within` passes),
        // so that exiting right after never cuts the DISCONNECT off.
        let _ = tokio::time::timeout(within, async {
            loop {
                let (el, result) = poll.await;
                match result {
                    Err(_) => break,
                    Ok(_) => poll = poll_after(el, None),
                }
            }
        })
        .await;
        self.stats
    }

    fn on_msg(&mut self, msg: BusMsg) {
        match msg.apply_to(&mut self.controller, self.clock.now()) {
            Ok(None) => {}
            Ok(Some(p)) => {
                if p.retain {
                    self.retained.insert(p.topic.clone(), p.payload.clone());
                }
                self.publish(&p.topic, &p.payload, p.retain);
            }
            Err(err) => {
                tracing::warn!("{err}");
                self.tell(format!("lights: {err}"));
                let event = state::device_error_event("lights", &err.to_string());
                let topic = self.topics.event.clone();
                self.publish(&topic, &event, false);
            }
        }
    }
}
