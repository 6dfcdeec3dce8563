//! What the room keeps of a ceremony: its saved position (for resuming after a crash) and
//! its journal entry, and the broker or device trouble that goes into it.

use std::time::Duration;

use super::Room;
use crate::journal::{self, By};
use crate::position::{self, Position};
use crate::timeline::Mode;

impl Room {
    /// Something went wrong with the broker or a device: for the journal.
    pub(super) fn trouble(&mut self, what: &str) {
        let at = self.clock.wall_at(self.clock.now());
        if let Some(record) = &mut self.record {
            record.trouble(at, what);
        }
    }

    /// Writes the running ceremony's journal entry (a full or read-only disk is a warning).
    pub(super) fn write_journal(&mut self) {
        let Some(record) = self.record.take() else {
            return;
        };
        self.stop_by = By::Sanctum;
        let Some(dir) = &self.journal_dir else {
            return;
        };
        let name = journal::store::file_name(record.id(), record.started());
        match journal::store::write(dir, &name, &record.markdown()) {
            Ok(path) => tracing::info!("journal entry: {}", path.display()),
            Err(err) => tracing::warn!(
                "failed to write the journal entry in {}: {err}; the room goes on",
                dir.display()
            ),
        }
    }

    pub(super) fn save(&mut self) {
        self.save_due = false;
        let now = self.clock.now();
        self.last_save = now;
        let (Some(p), Some(pos)) = (&self.persistence, self.position(now)) else {
            return;
        };
        p.saver.save(pos);
    }

    pub(super) fn save_ended(&self, id: &str, hash: &str) {
        if let Some(p) = &self.persistence {
            p.saver.save(Position {
                version: position::VERSION,
                ceremony: id.to_owned(),
                hash: hash.to_owned(),
                phase: String::new(),
                index: 0,
                offset_ms: 0,
                paused: false,
                volume_db: 0.0,
                running: false,
                saved_at_ms: position::unix_ms(self.clock.wall_at(self.clock.now())),
                instance: self.instance.id.clone(),
            });
        }
    }

    /// The running ceremony's position at `now`.
    pub(super) fn position(&self, now: Duration) -> Option<Position> {
        let r = self.engine.as_ref()?;
        let status = r.timeline.status(now);
        let index = status.phase.or(r.last_phase);
        let phase = index.map(|i| &r.entry.ceremony.phases[i]);
        Some(Position {
            version: position::VERSION,
            ceremony: r.entry.id.clone(),
            hash: r.entry.hash.clone(),
            phase: phase.map(|p| p.id.clone()).unwrap_or_default(),
            index: index.unwrap_or(0),
            offset_ms: u64::try_from(status.offset.as_millis()).unwrap_or(u64::MAX),
            paused: status.mode == Mode::Paused,
            volume_db: status.volume.0,
            running: matches!(status.mode, Mode::Running | Mode::Paused),
            saved_at_ms: position::unix_ms(self.clock.wall_at(now)),
            instance: self.instance.id.clone(),
        })
    }
}
