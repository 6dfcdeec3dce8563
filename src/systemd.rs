//! Talking to systemd (`Type=notify`): readiness once the config and library are loaded,
//! watchdog pings from the room's own loop (so a hung loop is noticed, which a free-running
//! thread would hide), status lines, and `STOPPING=1`. Outside systemd (no `NOTIFY_SOCKET`)
//! it sends nothing.

use std::time::Duration;

use sd_notify::NotifyState;

/// The service manager's side of the room.
#[derive(Debug, Clone, Copy)]
pub struct Notifier {
    watchdog: Option<Duration>,
}

impl Notifier {
    /// Reads `WATCHDOG_USEC` (sd-notify's own check also wants `WATCHDOG_PID`, which
    /// systemd does not always set: lnicola/sd-notify#19).
    #[must_use]
    pub fn from_env() -> Self {
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|us| *us > 0)
            .map(Duration::from_micros);
        Self { watchdog }
    }

    /// How often to ping the watchdog: half its timeout, as systemd advises.
    #[must_use]
    pub fn ping_every(&self) -> Option<Duration> {
        self.watchdog.map(|w| w / 2)
    }

    /// `READY=1` with a status line.
    pub fn ready(&self, status: &str) {
        send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// `WATCHDOG=1`.
    pub fn ping(&self) {
        if self.watchdog.is_some() {
            send(&[NotifyState::Watchdog]);
        }
    }

    /// A status line (`systemctl status` shows it).
    pub fn status(&self, status: &str) {
        send(&[NotifyState::Status(status)]);
    }

    /// `RELOADING=1`, then `READY=1` when done (systemd 252 has no `notify-reload`).
    pub fn reloading(&self) {
        send(&[NotifyState::Reloading]);
    }

    /// `STOPPING=1`.
    pub fn stopping(&self) {
        send(&[NotifyState::Stopping]);
    }
}

fn send(states: &[NotifyState<'_>]) {
    if let Err(err) = sd_notify::notify(states) {
        tracing::debug!("failed to notify systemd: {err}");
    }
}
