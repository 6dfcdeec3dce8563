//! How long the current phase has been paused, for the page's "time in phase". The state JSON
//! gives when a phase began (wall time, pauses included) and whether it is paused now; this
//! book watches every state the room publishes and adds up the pauses of the phase it is in.
//! Pure: the wall time of each observation is a parameter.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// Pauses of the phase the room is in, as seen so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PauseBook {
    /// Which phase: ceremony, index and start time, as the state gives them.
    phase: Option<(String, u64, String)>,
    /// Pauses that ended.
    closed: Duration,
    /// When the pause going on now began.
    since: Option<SystemTime>,
}

impl PauseBook {
    /// Takes in a state JSON published at `now`.
    pub fn observe(&mut self, state: &str, now: SystemTime) {
        let Ok(v) = serde_json::from_str::<Value>(state) else {
            return;
        };
        let key = match (
            v["ceremony"].as_str(),
            v["index"].as_u64(),
            v["phase_started_at"].as_str(),
        ) {
            (Some(c), Some(i), Some(s)) => Some((c.to_owned(), i, s.to_owned())),
            _ => None,
        };
        if key != self.phase {
            *self = Self {
                phase: key,
                ..Self::default()
            };
        }
        let paused = v["paused"].as_bool().unwrap_or(false) && self.phase.is_some();
        match (paused, self.since) {
            (true, None) => self.since = Some(now),
            (false, Some(since)) => {
                self.closed += now.duration_since(since).unwrap_or_default();
                self.since = None;
            }
            _ => {}
        }
    }

    /// Time the phase has spent paused, up to `now`.
    #[must_use]
    pub fn paused(&self, now: SystemTime) -> Duration {
        let open = self
            .since
            .map(|s| now.duration_since(s).unwrap_or_default())
            .unwrap_or_default();
        self.closed + open
    }

    /// The page's `clock` event at `now`: the server's wall time and the phase's paused time,
    /// both in milliseconds, so the page can count the phase's time on its own (monotonic)
    /// clock without trusting the phone's wall clock.
    #[must_use]
    pub fn clock_json(&self, now: SystemTime) -> String {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let now_ms = ms(now.duration_since(UNIX_EPOCH).unwrap_or_default());
        format!(
            "{{\"now_ms\":{now_ms},\"paused_ms\":{}}}",
            ms(self.paused(now))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(index: u64, started: &str, paused: bool) -> String {
        serde_json::json!({"ceremony": "evening", "index": index,
            "phase_started_at": started, "paused": paused})
        .to_string()
    }

    #[test]
    fn adds_up_the_pauses_of_the_current_phase_only() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut book = PauseBook::default();
        book.observe(&state(0, "a", false), at(0));
        book.observe(&state(0, "a", true), at(10));
        assert_eq!(book.paused(at(15)), Duration::from_secs(5), "open pause");
        book.observe(&state(0, "a", true), at(20));
        book.observe(&state(0, "a", false), at(40));
        assert_eq!(book.paused(at(100)), Duration::from_secs(30));
        book.observe(&state(0, "a", true), at(100));
        book.observe(&state(0, "a", false), at(102));
        assert_eq!(book.paused(at(200)), Duration::from_secs(32));
        assert_eq!(
            book.clock_json(at(200)),
            format!("{{\"now_ms\":{},\"paused_ms\":32000}}", 1_000_200_000)
        );
        book.observe(&state(1, "b", false), at(210));
        assert_eq!(
            book.paused(at(300)),
            Duration::ZERO,
            "a new phase starts clean"
        );
        book.observe(&state(1, "b", true), at(300));
        book.observe(r#"{"ceremony":null,"mode":"idle","paused":false}"#, at(310));
        assert_eq!(book.paused(at(400)), Duration::ZERO, "idle has no phase");
        book.observe("not json", at(500));
        assert_eq!(book.paused(at(600)), Duration::ZERO);
    }
}
