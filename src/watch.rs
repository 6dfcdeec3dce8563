//! Watches the library and the rig for edits, for hot reload. Watches folders, not files,
//! because editors save by rename (vim replaces the file, VS Code may truncate first:
//! notify-rs/notify#531), and debounces bursts of events into one "something changed" once
//! they have been quiet for [`DEBOUNCE`]. Only `.toml` edits count, and reads are not edits.
//! The debounce thread sleeps in a blocking receive until inotify has something, so an idle
//! daemon is never woken by it (notify-debouncer-full ticked eight times a second for ever).
//! It says *that* something changed; what to do is the room's.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, CreateKind, RemoveKind};
use notify::{Event, EventKind, RecursiveMode, Watcher as _};
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

/// A running watcher; dropping it stops watching (and ends the debounce thread).
pub struct Watcher {
    _watcher: notify::RecommendedWatcher,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watcher")
    }
}

/// Adds the paths of `event` that can be edits to `paths`; whether it was one.
fn take(event: notify::Result<Event>, paths: &mut Vec<PathBuf>) -> bool {
    match event {
        Ok(e) if counts(&e.kind) => {
            let folder = is_folder(&e.kind);
            paths.extend(
                e.paths
                    .into_iter()
                    .filter(|p| folder || p.extension().is_some_and(|x| x == "toml")),
            );
            true
        }
        Ok(_) => false,
        Err(e) => {
            tracing::warn!("failed to watch for edits: {e}");
            false
        }
    }
}

/// The debounce thread: blocks until an event that can be an edit, then gathers events until
/// none has come for `quiet`, and sends the `.toml` paths among them (if any). Ends when the
/// watcher or the room goes away.
fn debounce(
    raw: &Receiver<notify::Result<Event>>,
    tx: &mpsc::UnboundedSender<Vec<PathBuf>>,
    quiet: Duration,
) {
    let mut paths = Vec::new();
    while let Ok(first) = raw.recv() {
        if !take(first, &mut paths) {
            continue;
        }
        let open = loop {
            match raw.recv_timeout(quiet) {
                Ok(event) => {
                    take(event, &mut paths);
                }
                Err(RecvTimeoutError::Timeout) => break true,
                Err(RecvTimeoutError::Disconnected) => break false,
            }
        };
        paths.sort();
        paths.dedup();
        if !paths.is_empty() && tx.send(std::mem::take(&mut paths)).is_err() {
            return;
        }
        if !open {
            return;
        }
    }
}

/// Watches `tree` (recursively) and the folder of `file`; each debounced burst of `.toml`
/// changes sends the changed paths on the returned channel.
///
/// # Errors
/// When the watcher cannot be set up (no inotify, a missing folder, no thread).
pub fn watch(
    tree: &Path,
    file: &Path,
) -> notify::Result<(Watcher, mpsc::UnboundedReceiver<Vec<PathBuf>>)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let (raw_tx, raw_rx) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(raw_tx)?;
    watcher.watch(tree, RecursiveMode::Recursive)?;
    let folder = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !folder.starts_with(tree) {
        watcher.watch(folder, RecursiveMode::NonRecursive)?;
    }
    std::thread::Builder::new()
        .name("sanctum-watch".into())
        .spawn(move || debounce(&raw_rx, &tx, DEBOUNCE))
        .map_err(notify::Error::io)?;
    Ok((Watcher { _watcher: watcher }, rx))
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
