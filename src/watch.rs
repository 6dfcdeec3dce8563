//! Watches the library and the rig for edits, for hot reload. Watches folders, not files,
//! because editors save by rename (vim replaces the file, VS Code may truncate first:
//! notify-rs/notify#531), and debounces bursts of events into one "something changed" after
//! [`DEBOUNCE`]. Only `.toml` edits count, and reads are not edits. It says *that* something changed; what to do is
//! the room's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, CreateKind, RemoveKind};
use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::mpsc;

/// How long events must be quiet before a reload.
pub const DEBOUNCE: Duration = Duration::from_millis(500);

/// Whether an event can be an edit. Reading a file is not editing it: without this, every
/// reload's own reads (inotify's open and close-without-write) set off the next reload, twice
/// a second for ever. A close after writing is an edit.
fn counts(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// A folder made or removed (a ceremony copied in or taken out): its files may have come
/// before the watch on it did.
fn is_folder(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(CreateKind::Folder) | EventKind::Remove(RemoveKind::Folder)
    )
}

/// A running watcher; dropping it stops watching.
pub struct Watcher {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watcher")
    }
}

/// Watches `tree` (recursively) and the folder of `file`; each debounced burst of `.toml`
/// changes sends the changed paths on the returned channel.
///
/// # Errors
/// When the watcher cannot be set up (no inotify, a missing folder).
pub fn watch(
    tree: &Path,
    file: &Path,
) -> notify::Result<(Watcher, mpsc::UnboundedReceiver<Vec<PathBuf>>)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut debouncer =
        new_debouncer(
            DEBOUNCE,
            None,
            move |result: DebounceEventResult| match result {
                Ok(events) => {
                    let mut paths: Vec<PathBuf> = events
                        .iter()
                        .filter(|e| counts(&e.kind))
                        .flat_map(|e| {
                            let folder = is_folder(&e.kind);
                            e.paths.iter().filter(move |p| {
                                folder || p.extension().is_some_and(|x| x == "toml")
                            })
                        })
                        .cloned()
                        .collect();
                    paths.sort();
                    paths.dedup();
                    if !paths.is_empty() {
                        let _ = tx.send(paths);
                    }
                }
                Err(errors) => {
                    for e in errors {
                        tracing::warn!("failed to watch for edits: {e}");
                    }
                }
            },
        )?;
    debouncer.watch(tree, RecursiveMode::Recursive)?;
    let folder = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !folder.starts_with(tree) {
        debouncer.watch(folder, RecursiveMode::NonRecursive)?;
    }
    Ok((
        Watcher {
            _debouncer: debouncer,
        },
        rx,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_the_files_is_not_an_edit_and_writing_one_is() {
        let dir = tempfile::tempdir().expect("tempdir");
        let scene = dir.path().join("scene.toml");
        std::fs::write(&scene, "title = \"a\"\n").expect("write");
        let (_watcher, mut rx) = watch(dir.path(), &scene).expect("watch");
        // What a reload does: open and read every file, several times.
        for _ in 0..5 {
            let _ = std::fs::read_to_string(&scene).expect("read");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(DEBOUNCE * 3);
        assert!(rx.try_recv().is_err(), "reads set off a reload");
        std::fs::write(&scene, "title = \"b\"\n").expect("write");
        std::thread::sleep(DEBOUNCE * 3);
        assert_eq!(rx.try_recv().ok(), Some(vec![scene]));
    }
}
