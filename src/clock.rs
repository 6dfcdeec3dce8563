//! The only place sanctum reads the clock. It maps real time to engine time (a `Duration`
//! since the ceremony's start, scaled by `--speed`) and back. Everything else takes time as a
//! parameter.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// Real time ↔ engine time for one run.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
    wall_origin: SystemTime,
    /// Engine time at `origin`.
    base: Duration,
    speed: f64,
}

impl Clock {
    /// Starts engine time at zero now, running `speed` times faster than real time.
    #[must_use]
    pub fn start(speed: f64) -> Self {
        Self::start_at(speed, Duration::ZERO)
    }

    /// Starts engine time at `base` now: a resumed ceremony whose phase began `base` ago can
    /// then be entered at engine time `base` with its start at engine time zero, even right
    /// after a reboot (when the monotonic clock cannot reach that far back).
    #[must_use]
    pub fn start_at(speed: f64, base: Duration) -> Self {
        Self {
            origin: Instant::now(),
            wall_origin: SystemTime::now(),
            base,
            speed: sane(speed),
        }
    }

    /// The same origin at another speed: `at_speed(1.0)` runs on real time (the lights use
    /// it, so that `--speed` never multiplies the message rate to real bulbs).
    #[must_use]
    pub fn at_speed(self, speed: f64) -> Self {
        Self {
            speed: sane(speed),
            ..self
        }
    }

    /// How many times faster than real time this clock runs.
    #[must_use]
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Engine time now.
    #[must_use]
    pub fn now(&self) -> Duration {
        self.base + self.origin.elapsed().mul_f64(self.speed)
    }

    /// The real instant at which engine time reaches `t` (now, for times already past).
    #[must_use]
    pub fn instant_at(&self, t: Duration) -> Instant {
        self.origin + t.saturating_sub(self.base).div_f64(self.speed)
    }

    /// The wall-clock time at which engine time reaches (or reached) `t` (for state shown to
    /// people).
    #[must_use]
    pub fn wall_at(&self, t: Duration) -> SystemTime {
        if t >= self.base {
            self.wall_origin + (t - self.base).div_f64(self.speed)
        } else {
            self.wall_origin - (self.base - t).div_f64(self.speed)
        }
    }
}

/// The wall-clock time now (for saved positions and journal entries).
#[must_use]
pub fn wall_now() -> SystemTime {
    SystemTime::now()
}

/// `speed` if it is a positive number, else 1.
fn sane(speed: f64) -> f64 {
    if speed.is_finite() && speed > 0.0 {
        speed
    } else {
        1.0
    }
}

/// Sleeps until `at`, or for ever when there is nothing to wake for: one arm of a `select!`
/// loop whose next deadline may be `None`.
pub async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
