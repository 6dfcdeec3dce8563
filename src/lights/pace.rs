//! Per-light (or per-group) message pacing: at most `max_rate` messages per second for each
//! key, and when a key's queue backs up only the newest batch is kept, so a backlog never
//! replays stale steps (the Zigbee backlog replay of Koenkk/zigbee2mqtt#29166; reference §2.1).
//! Pure: time is a `Duration` since an epoch the caller picks; it must not read a clock,
//! encode payloads or publish.

use std::collections::BTreeMap;
use std::time::Duration;

use super::command::Publish;
use super::options::BULB_MAX_RATE;

#[derive(Debug, Clone)]
struct Lane {
    spacing: Duration,
    next_free: Duration,
    pending: Option<Vec<Publish>>,
}

impl Lane {
    fn new(max_rate: f32) -> Self {
        Self {
            spacing: spacing(max_rate),
            next_free: Duration::ZERO,
            pending: None,
        }
    }
}

fn spacing(max_rate: f32) -> Duration {
    let rate = if max_rate.is_finite() && max_rate > 0.0 {
        max_rate
    } else {
        BULB_MAX_RATE
    };
    Duration::from_secs_f64(1.0 / f64::from(rate))
}

/// A latest-value-wins rate limiter over keys (light indices, group names…).
///
/// A batch (the one or two messages a driver makes of one command) is released as a unit;
/// a batch of `n` messages keeps the key busy for `n / max_rate`, so the sustained rate stays
/// at `max_rate` and a burst is at most one batch.
#[derive(Debug, Clone, Default)]
pub struct Pacer<K: Ord + Clone> {
    lanes: BTreeMap<K, Lane>,
}

impl<K: Ord + Clone> Pacer<K> {
    /// An empty pacer; keys not configured with [`Pacer::set_rate`] get 1 message/s.
    #[must_use]
    pub fn new() -> Self {
        Self {
            lanes: BTreeMap::new(),
        }
    }

    /// Sets the sustained rate (messages per second) for `key`.
    pub fn set_rate(&mut self, key: K, max_rate: f32) {
        self.lanes
            .entry(key)
            .or_insert_with(|| Lane::new(max_rate))
            .spacing = spacing(max_rate);
    }

    /// Queues `batch` for `key`, replacing any batch still waiting there. Nothing is sent
    /// until [`Pacer::due`] is called.
    pub fn offer(&mut self, _now: Duration, key: K, batch: Vec<Publish>) {
        if batch.is_empty() {
            return;
        }
        self.lanes
            .entry(key)
            .or_insert_with(|| Lane::new(BULB_MAX_RATE))
            .pending = Some(batch);
    }

    /// Every waiting batch whose key is free at `now`, in key order, marking those keys busy.
    pub fn due(&mut self, now: Duration) -> Vec<Publish> {
        let mut out = Vec::new();
        for lane in self.lanes.values_mut() {
            if lane.next_free <= now
                && let Some(batch) = lane.pending.take()
            {
                lane.next_free = now + lane.spacing * u32::try_from(batch.len()).unwrap_or(1);
                out.extend(batch);
            }
        }
        out
    }

    /// Records that `count` messages for `key` went out at `now` outside the queue (a
    /// republish after reconnect): drops the waiting batch, which they supersede, and keeps
    /// the key busy accordingly.
    pub fn sent(&mut self, now: Duration, key: K, count: usize) {
        let lane = self
            .lanes
            .entry(key)
            .or_insert_with(|| Lane::new(BULB_MAX_RATE));
        lane.pending = None;
        lane.next_free = now + lane.spacing * u32::try_from(count).unwrap_or(1);
    }

    /// When the next waiting batch may go out, if any is waiting.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Duration> {
        self.lanes
            .values()
            .filter(|l| l.pending.is_some())
            .map(|l| l.next_free)
            .min()
    }

    /// Drops the batch waiting for `key`, if any (a new plan supersedes it).
    pub fn cancel(&mut self, key: &K) {
        if let Some(lane) = self.lanes.get_mut(key) {
            lane.pending = None;
        }
    }

    /// When `key` may send next (now or earlier if it is free).
    #[must_use]
    pub fn free_at(&self, key: &K) -> Duration {
        self.lanes.get(key).map_or(Duration::ZERO, |l| l.next_free)
    }

    /// Whether `key` may send at `now`.
    #[must_use]
    pub fn is_free(&self, key: &K, now: Duration) -> bool {
        self.lanes.get(key).is_none_or(|l| l.next_free <= now)
    }

    /// Whether a batch is waiting for `key`.
    #[must_use]
    pub fn is_waiting(&self, key: &K) -> bool {
        self.lanes.get(key).is_some_and(|l| l.pending.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn msg(text: &str) -> Vec<Publish> {
        vec![Publish::command("t", text)]
    }

    #[test]
    fn first_message_goes_at_once_then_latest_wins() {
        let mut p = Pacer::new();
        p.offer(ms(0), 1, msg("a"));
        assert_eq!(p.due(ms(0)), msg("a"));
        // Three steps pile up inside the busy second: only the newest goes out.
        p.offer(ms(100), 1, msg("b"));
        p.offer(ms(200), 1, msg("c"));
        p.offer(ms(300), 1, msg("d"));
        assert_eq!(p.due(ms(500)), vec![]);
        assert_eq!(p.next_deadline(), Some(ms(1000)));
        assert_eq!(p.due(ms(1000)), msg("d"));
        assert_eq!(p.next_deadline(), None);
        assert_eq!(p.due(ms(5000)), vec![]);
    }

    #[test]
    fn keys_are_independent_and_groups_slower() {
        let mut p = Pacer::new();
        p.set_rate("group", 0.5);
        for t in 0..10u64 {
            p.offer(ms(t * 1000), "bulb", msg("b"));
            p.offer(ms(t * 1000), "group", msg("g"));
            let out = p.due(ms(t * 1000));
            let groups = out.iter().filter(|m| m.payload == "g").count();
            let bulbs = out.iter().filter(|m| m.payload == "b").count();
            assert_eq!(bulbs, 1, "t={t}");
            assert_eq!(groups, usize::from(t % 2 == 0), "t={t}");
        }
    }

    #[test]
    fn a_two_message_batch_costs_two_slots() {
        let mut p = Pacer::new();
        let two = vec![Publish::command("t", "x"), Publish::command("t", "y")];
        p.offer(ms(0), 0, two.clone());
        assert_eq!(p.due(ms(0)).len(), 2);
        p.offer(ms(1000), 0, msg("z"));
        assert_eq!(p.due(ms(1999)), vec![]);
        assert_eq!(p.due(ms(2000)), msg("z"));
    }

    #[test]
    fn sustained_offers_never_exceed_the_rate() {
        // Offers every 100 ms for a minute: at most one message per second gets through.
        let mut p = Pacer::new();
        let mut sent = Vec::new();
        for i in 0..600u64 {
            let now = ms(i * 100);
            p.offer(now, 0, msg(&i.to_string()));
            for m in p.due(now) {
                sent.push((now, m.payload));
            }
        }
        assert_eq!(sent.len(), 60);
        assert!(sent.windows(2).all(|w| w[1].0 - w[0].0 >= ms(1000)));
        // Every message sent is the newest offered at that moment.
        assert!(
            sent.iter()
                .all(|(t, v)| *v == (t.as_millis() / 100).to_string())
        );
    }

    #[test]
    fn a_republish_supersedes_the_waiting_batch() {
        let mut p = Pacer::new();
        p.offer(ms(0), 0, msg("a"));
        p.due(ms(0));
        p.offer(ms(100), 0, msg("stale"));
        p.sent(ms(200), 0, 1);
        assert!(!p.is_waiting(&0));
        assert_eq!(p.due(ms(5000)), vec![]);
    }
}
