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
            speed: if speed.is_finite() && speed > 0.0 {
                speed
            } else {
                1.0
            },
        }
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
