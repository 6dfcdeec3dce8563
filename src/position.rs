//! The saved position of a room's ceremony, so that a crash, `kill -9` or a power cut costs
//! nothing: what is saved (ceremony, phase, offset, pause, volume, a hash of the files), how
//! (atomically: a temp file, fsync, rename, fsync of the folder, on a thread of its own so a
//! slow or full disk never holds the ceremony up), and the pure decision between resuming and
//! staying idle. Time is a parameter here; the room passes the wall clock in.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::library::Library;
use crate::timeline::Place;
use crate::units::{Decibels, format_duration};

/// Format version of the file.
pub const VERSION: u32 = 1;
/// Largest position file read (it is a few hundred bytes).
const MAX_BYTES: u64 = 64 * 1024;

/// Where a room's ceremony is, as saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// Format version.
    pub version: u32,
    /// Library id of the ceremony.
    pub ceremony: String,
    /// SHA-256 of the ceremony's files when saved.
    pub hash: String,
    /// Phase id.
    pub phase: String,
    /// Phase index.
    pub index: usize,
    /// Time into the phase, in milliseconds (paused time excluded).
    pub offset_ms: u64,
    /// Whether it was paused.
    pub paused: bool,
    /// Master volume.
    pub volume_db: f32,
    /// `false` once the ceremony finished or was stopped: nothing to resume.
    pub running: bool,
    /// When this was saved, in milliseconds since the Unix epoch.
    pub saved_at_ms: u64,
    /// The instance that saved it.
    pub instance: String,
}

impl Position {
    /// When it was saved.
    #[must_use]
    pub fn saved_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.saved_at_ms)
    }
}

/// Milliseconds since the Unix epoch (0 before it).
#[must_use]
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The position file of `room` in the state folder.
#[must_use]
pub fn file_for(state_dir: &Path, room: &str) -> PathBuf {
    state_dir.join(format!("position-{room}.json"))
}

/// Why a saved position could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file cannot be read.
    #[error("failed to read {}: {}", .0.display(), .1)]
    Io(PathBuf, std::io::Error),
    /// Not a position file sanctum can read.
    #[error("failed to read {}: {}", .0.display(), .1)]
    Format(PathBuf, String),
}

/// Reads the saved position; `Ok(None)` when there is none.
///
/// # Errors
/// When the file exists but cannot be read or is not a position (it is then ignored).
pub fn read(path: &Path) -> Result<Option<Position>, ReadError> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ReadError::Io(path.to_owned(), e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| ReadError::Io(path.to_owned(), e))?;
    if !meta.is_file() {
        return Err(ReadError::Format(
            path.to_owned(),
            "not a regular file".into(),
        ));
    }
    let mut text = String::new();
    file.take(MAX_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| ReadError::Io(path.to_owned(), e))?;
    let pos: Position = serde_json::from_str(&text)
        .map_err(|e| ReadError::Format(path.to_owned(), e.to_string()))?;
    if pos.version != VERSION {
        return Err(ReadError::Format(
            path.to_owned(),
            format!("version {} is not {VERSION}", pos.version),
        ));
    }
    Ok(Some(pos))
}

/// Writes `pos` to `path` atomically: a temp file in the same folder, fsync, rename over the
/// old file, then fsync of the folder, so a power cut leaves the old position or the new
/// one, never a torn file.
///
/// # Errors
/// Any I/O error (a read-only or full disk); the old file is then intact.
pub fn write(path: &Path, pos: &Position) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut text = serde_json::to_string_pretty(pos).map_err(std::io::Error::other)?;
    text.push('\n');
    let mut file = atomic_write_file::AtomicWriteFile::open(path)?;
    file.write_all(text.as_bytes())?;
    file.commit()
}

/// Saves positions on a thread of its own. Sends never block; when saves queue up only the
/// latest is written. A failing disk is reported once (and once more when it recovers),
/// never to the ceremony.
#[derive(Debug)]
pub struct Saver {
    tx: Option<mpsc::Sender<Position>>,
    thread: Option<JoinHandle<()>>,
}

impl Saver {
    /// A saver writing to `path`.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn start(path: PathBuf) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Position>();
        let thread = std::thread::Builder::new()
            .name("sanctum position".into())
            .spawn(move || {
                let mut failing: Option<String> = None;
                while let Ok(mut pos) = rx.recv() {
                    while let Ok(newer) = rx.try_recv() {
                        pos = newer;
                    }
                    match write(&path, &pos) {
                        Ok(()) => {
                            if failing.take().is_some() {
                                tracing::info!("saving the position works again ({})", path.display());
                            }
                        }
                        Err(err) => {
                            let why = err.to_string();
                            if failing.as_deref() != Some(why.as_str()) {
                                tracing::warn!(
                                    "failed to save the position to {}: {why}; the ceremony goes on, but a crash would start it over",
                                    path.display()
                                );
                            }
                            failing = Some(why);
                        }
                    }
                }
            })?;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues `pos` to be saved.
    pub fn save(&self, pos: Position) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(pos);
        }
    }

    /// Writes what is queued and stops the thread.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Saver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What to do with a saved position at start.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Nothing to resume.
    Idle,
    /// Resume this ceremony at this place.
    Resume {
        /// Library id.
        ceremony: String,
        /// Where (before auto phases that ran out move on).
        place: Place,
        /// How long sanctum was away.
        downtime: Duration,
        /// Why the place was found by phase id rather than index, if it was.
        note: Option<String>,
    },
    /// A position was saved but cannot be resumed: why, for the log and an event.
    Refused(String),
}

/// Decides, at wall time `now`, whether `saved` is resumed with `library`: a running
/// position younger than `max_age` is, at its offset plus the downtime (unless it was
/// paused); a changed ceremony resumes by phase id when that phase still exists.
#[must_use]
pub fn decide(
    saved: Option<&Position>,
    now: SystemTime,
    max_age: Duration,
    library: &Library,
) -> Decision {
    let Some(pos) = saved else {
        return Decision::Idle;
    };
    if !pos.running {
        return Decision::Idle;
    }
    let downtime = now.duration_since(pos.saved_at()).unwrap_or_default();
    if downtime > max_age {
        return Decision::Refused(format!(
            "the saved position of `{}` is {} old, more than the {} limit",
            pos.ceremony,
            format_duration(round_s(downtime)),
            format_duration(max_age)
        ));
    }
    let Some(entry) = library.get(&pos.ceremony) else {
        return Decision::Refused(format!(
            "the saved ceremony `{}` is no longer in the library",
            pos.ceremony
        ));
    };
    let phases = &entry.ceremony.phases;
    let (index, note) =
        if entry.hash == pos.hash && phases.get(pos.index).is_some_and(|p| p.id == pos.phase) {
            (pos.index, None)
        } else {
            match entry.ceremony.phase_index(&pos.phase) {
                Some(i) => (
                    i,
                    Some(format!(
                        "the ceremony's files changed; resuming by phase id `{}`",
                        pos.phase
                    )),
                ),
                None => {
                    return Decision::Refused(format!(
                        "the ceremony `{}` changed and no longer has phase `{}`",
                        pos.ceremony, pos.phase
                    ));
                }
            }
        };
    let offset =
        Duration::from_millis(pos.offset_ms) + if pos.paused { Duration::ZERO } else { downtime };
    Decision::Resume {
        ceremony: entry.id.clone(),
        place: Place {
            phase: index,
            offset,
            paused: pos.paused,
            volume: Decibels(pos.volume_db),
        },
        downtime,
        note,
    }
}

fn round_s(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn library() -> Library {
        let loaded =
            crate::config::load_ceremony(Path::new("tests/fixtures/mqtt"), None).expect("fixture");
        Library::single(Arc::new(loaded.ceremony), loaded.rig)
    }

    fn saved(lib: &Library) -> Position {
        let e = &lib.entries()[0];
        Position {
            version: VERSION,
            ceremony: e.id.clone(),
            hash: e.hash.clone(),
            phase: "two".into(),
            index: 1,
            offset_ms: 30_000,
            paused: false,
            volume_db: -9.0,
            running: true,
            saved_at_ms: 1_000_000,
            instance: "test".into(),
        }
    }

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    const SIX_HOURS: Duration = Duration::from_secs(6 * 3600);

    #[test]
    fn resumes_at_the_offset_plus_the_downtime() {
        let lib = library();
        let pos = saved(&lib);
        let d = decide(Some(&pos), at(1_000_000 + 42_000), SIX_HOURS, &lib);
        let Decision::Resume {
            place,
            downtime,
            note,
            ..
        } = d
        else {
            panic!("resume expected, got {d:?}")
        };
        assert_eq!(place.phase, 1);
        assert_eq!(place.offset, Duration::from_secs(72));
        assert_eq!(downtime, Duration::from_secs(42));
        assert_eq!(place.volume, Decibels(-9.0));
        assert!(note.is_none());
    }

    #[test]
    fn a_paused_ceremony_keeps_its_offset() {
        let lib = library();
        let pos = Position {
            paused: true,
            ..saved(&lib)
        };
        let Decision::Resume { place, .. } = decide(Some(&pos), at(1_500_000), SIX_HOURS, &lib)
        else {
            panic!("resume expected")
        };
        assert_eq!(place.offset, Duration::from_secs(30));
        assert!(place.paused);
    }

    #[test]
    fn ended_old_unknown_and_changed_positions_are_not_resumed() {
        let lib = library();
        let ended = Position {
            running: false,
            ..saved(&lib)
        };
        assert_eq!(
            decide(Some(&ended), at(1_000_001), SIX_HOURS, &lib),
            Decision::Idle
        );
        assert_eq!(decide(None, at(0), SIX_HOURS, &lib), Decision::Idle);
        let old = saved(&lib);
        let late = at(1_000_000 + 6 * 3_600_000 + 1_000);
        assert!(
            matches!(decide(Some(&old), late, SIX_HOURS, &lib), Decision::Refused(w) if w.contains("6h limit"))
        );
        let gone = Position {
            ceremony: "elsewhere".into(),
            ..saved(&lib)
        };
        assert!(matches!(
            decide(Some(&gone), at(1_000_001), SIX_HOURS, &lib),
            Decision::Refused(_)
        ));
        let changed = Position {
            hash: "0".repeat(64),
            index: 3,
            ..saved(&lib)
        };
        let Decision::Resume { place, note, .. } =
            decide(Some(&changed), at(1_000_001), SIX_HOURS, &lib)
        else {
            panic!("resume by id expected")
        };
        assert_eq!(place.phase, 1, "found by id, not by the stale index");
        assert!(note.is_some_and(|n| n.contains("by phase id")));
        let removed = Position {
            hash: "0".repeat(64),
            phase: "seven".into(),
            ..saved(&lib)
        };
        assert!(
            matches!(decide(Some(&removed), at(1_000_001), SIX_HOURS, &lib), Decision::Refused(w) if w.contains("no longer has phase `seven`"))
        );
    }

    #[test]
    fn writes_atomically_and_reads_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = file_for(dir.path(), "temple");
        assert!(read(&path).expect("no file is fine").is_none());
        let lib = library();
        let pos = saved(&lib);
        write(&path, &pos).expect("write");
        assert_eq!(read(&path).expect("read"), Some(pos.clone()));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temp file left behind: {names:?}");
        std::fs::write(&path, "{ torn").expect("tear");
        assert!(matches!(read(&path), Err(ReadError::Format(..))));
    }
}
