//! Watches the library and the rig for edits, for hot reload. Watches folders, not files,
//! because editors save by rename (vim replaces the file, VS Code may truncate first:
//! notify-rs/notify#531), and debounces bursts of events into one "something changed" after
//! [`DEBOUNCE`]. Only `.toml` edits count. It says *that* something changed; what to do is
//! the room's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::mpsc;

/// How long events must be quiet before a reload.
pub const DEBOUNCE: Duration = Duration::from_millis(500);

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
                        .flat_map(|e| e.paths.iter())
                        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
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
