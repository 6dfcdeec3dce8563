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
    speed: f64,
}

impl Clock {
    /// Starts engine time at zero now, running `speed` times faster than real time.
    #[must_use]
    pub fn start(speed: f64) -> Self {
        Self {
            origin: Instant::now(),
            wall_origin: SystemTime::now(),
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
        self.origin.elapsed().mul_f64(self.speed)
    }

    /// The real instant at which engine time reaches `t`.
    #[must_use]
    pub fn instant_at(&self, t: Duration) -> Instant {
        self.origin + t.div_f64(self.speed)
    }

    /// The wall-clock time at which engine time reaches `t` (for state shown to people).
    #[must_use]
    pub fn wall_at(&self, t: Duration) -> SystemTime {
        self.wall_origin + t.div_f64(self.speed)
    }
}

/// `speed` if it is a positive number, else 1.
fn sane(speed: f64) -> f64 {
    if speed.is_finite() && speed > 0.0 {
        speed
    } else {
        1.0
    }
}
