//! Keeps a flood of commands from drowning a person's: each source's commands pass through
//! a token bucket per command word (a burst of [`BURST`], then [`PER_SECOND`]), so 500 `next`
//! a second from one app cost nothing, and a `pause` from the same app or anyone else still
//! gets through. A flood is reported once when it starts and once when it ends. Pure: time
//! is a parameter.

use std::collections::HashMap;
use std::time::Duration;

use crate::command::Command;

/// Commands of one word from one source that pass at once.
pub const BURST: f64 = 5.0;
/// How fast the bucket refills, per second.
pub const PER_SECOND: f64 = 2.0;
/// Buckets kept at most (sources are topics and remotes: a handful).
const MAX_KEYS: usize = 256;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Duration,
    dropped: u64,
}

/// What to do with one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Let it through; `after_flood` counts what was dropped just before (to report the end).
    Pass {
        /// Commands dropped in the flood that just ended (0: there was none).
        after_flood: u64,
    },
    /// Drop it; `first` for the first drop of a flood (to report its start).
    Drop {
        /// The flood starts with this one.
        first: bool,
    },
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct FloodGate {
    buckets: HashMap<(String, &'static str), Bucket>,
}

impl FloodGate {
    /// Decides on `command` from `source` at `now`.
    pub fn check(&mut self, now: Duration, source: &str, command: &Command) -> Verdict {
        let key = (source.to_owned(), word(command));
        if !self.buckets.contains_key(&key) && self.buckets.len() >= MAX_KEYS {
            self.buckets.retain(|_, b| b.dropped > 0);
        }
        let b = self.buckets.entry(key).or_insert(Bucket {
            tokens: BURST,
            at: now,
            dropped: 0,
        });
        let refill = now.saturating_sub(b.at).as_secs_f64() * PER_SECOND;
        b.tokens = (b.tokens + refill).min(BURST);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            let after_flood = std::mem::take(&mut b.dropped);
            Verdict::Pass { after_flood }
        } else {
            b.dropped += 1;
            Verdict::Drop {
                first: b.dropped == 1,
            }
        }
    }
}

/// The command's word (`goto` for every `goto <phase>`).
#[must_use]
pub fn word(command: &Command) -> &'static str {
    match command {
        Command::Start | Command::StartCeremony(_) => "start",
        Command::Next => "next",
        Command::Prev => "prev",
        Command::Goto(_) => "goto",
        Command::Pause => "pause",
        Command::Resume => "resume",
        Command::Stop => "stop",
        Command::Louder => "louder",
        Command::Softer => "softer",
        Command::Relight(_) => "relight",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_flood_of_one_word_never_blocks_another() {
        let mut gate = FloodGate::default();
        let mut passed = 0;
        let mut starts = 0;
        // 500 `next` in 0.5 s from one app.
        for i in 0..500 {
            match gate.check(ms(i), "mqtt:cmd", &Command::Next) {
                Verdict::Pass { .. } => passed += 1,
                Verdict::Drop { first } => starts += u32::from(first),
            }
        }
        assert_eq!(
            passed, 5,
            "the burst, then 2/s (not quite one more in 0.5 s): {passed}"
        );
        assert_eq!(starts, 1, "the flood is reported once");
        // Amid it, the same app's `pause`, and a button's `next`, pass at once.
        assert!(matches!(
            gate.check(ms(250), "mqtt:cmd", &Command::Pause),
            Verdict::Pass { .. }
        ));
        assert!(matches!(
            gate.check(ms(250), "remote:b:single", &Command::Next),
            Verdict::Pass { .. }
        ));
        // After the flood, the next `next` passes and reports how many were dropped.
        let Verdict::Pass { after_flood } = gate.check(ms(3_000), "mqtt:cmd", &Command::Next)
        else {
            panic!("passes after the flood")
        };
        assert_eq!(after_flood, 495);
    }

    #[test]
    fn a_person_tapping_is_never_limited() {
        let mut gate = FloodGate::default();
        for i in 0..100 {
            let v = gate.check(ms(i * 600), "remote:b:single", &Command::Next);
            assert_eq!(v, Verdict::Pass { after_flood: 0 }, "tap {i}");
        }
    }
}
