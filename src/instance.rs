//! Who this sanctum process is: an instance id (host, pid and start time), carried by the
//! room's `status` and Last Will, so that one instance's exit never marks another's room
//! offline and a second instance for a live room can be refused by name.

use std::time::SystemTime;

/// This process, as other sanctum processes and people see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Unique id: `<host>-<pid>-<start in ms, hex>`.
    pub id: String,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// When it started (wall clock).
    pub started: SystemTime,
}

impl Instance {
    /// This process, started at `started` (the caller reads the clock).
    #[must_use]
    pub fn this(started: SystemTime) -> Self {
        let host = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned();
        let pid = std::process::id();
        let ms = crate::position::unix_ms(started);
        Self {
            id: format!("{host}-{pid}-{ms:x}"),
            host,
            pid,
            started,
        }
    }
}
