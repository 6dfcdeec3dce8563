//! Hot reload for the room: on an edit (or SIGHUP) the library and the rig are read again.
//! A valid edit applies at once to the idle library, and to the running ceremony from its
//! next cue, keeping its place. An invalid one is reported (`path:line:col` in the log, an
//! `error` event each) and the old version keeps running.

use std::path::PathBuf;

use super::Room;
use crate::config::Diagnostics;
use crate::library::{Library, LibraryError};
use crate::model::Rig;
use crate::timeline::Timeline;

/// Where the room's library and rig come from.
#[derive(Debug, Clone)]
pub(super) struct Source {
    pub library: PathBuf,
    pub rig: PathBuf,
}

impl Room {
    /// Reads the library and the rig again and applies what is valid.
    pub(super) fn reload(&mut self, changed: &[PathBuf]) {
        let Some(source) = self.reload.clone() else {
            return;
        };
        self.notifier.reloading();
        if !changed.is_empty() {
            tracing::info!(
                "edited: {}",
                changed
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        match Library::load(&source.library, &source.rig) {
            Err(LibraryError::Rig(_, diags)) => {
                self.report(&diags);
                tracing::error!("the rig has problems; the room keeps the version it has");
            }
            Err(err) => {
                tracing::error!("{err}; the room keeps the library it has");
                self.error_event(&err.to_string());
            }
            Ok(report) => {
                if !same_shape(&report.library.rig, &self.library.rig) {
                    let why = "the rig's lights or layers changed: restart sanctum to use them (`systemctl restart sanctum`); the room keeps the rig it has";
                    tracing::warn!("{why}");
                    self.error_event(why);
                } else {
                    let mut keep = Vec::new();
                    for (id, diags) in &report.failed {
                        self.report(diags);
                        keep.push(id.clone());
                    }
                    self.adopt(report.library, &keep);
                }
            }
        }
        self.notifier
            .ready(&format!("{} ceremony(ies)", self.library.entries().len()));
    }

    /// Puts `library` in place, keeping the old version of the ceremonies in `keep` (their
    /// edit is broken) and of the running one if the new version cannot take over.
    fn adopt(&mut self, mut library: Library, keep: &[String]) {
        for id in keep {
            match self.library.get(id) {
                Some(old) => library.replace(old.clone()),
                None => library.remove(id),
            }
        }
        let now = self.clock.now();
        let mut problem = None;
        if let Some(running) = &mut self.engine {
            match library.get(&running.entry.id).cloned() {
                Some(new) if new.hash != running.entry.hash => {
                    match Timeline::adopt(new.ceremony.clone(), &running.timeline, now) {
                        Ok(timeline) => {
                            tracing::info!(
                                "`{}` changed: the new version takes over from its next cue",
                                new.id
                            );
                            running.timeline = timeline;
                            running.entry = new;
                        }
                        Err(why) => {
                            let text = format!(
                                "`{}` changed, but {why}; it runs on in its old version until it ends",
                                running.entry.id
                            );
                            tracing::warn!("{text}");
                            library.replace(running.entry.clone());
                            problem = Some(text);
                        }
                    }
                }
                Some(_) => {}
                None => library.replace(running.entry.clone()),
            }
        }
        if let Some(text) = problem {
            self.error_event(&text);
        }
        let before = self.library.ids();
        self.library = library;
        if self.library.ids() != before {
            tracing::info!(
                "the library now offers {}",
                super::list(&self.library.ids())
            );
        }
        self.offer_library();
    }

    /// Logs every problem as `path:line:col` and publishes an `error` event for each.
    fn report(&self, diags: &Diagnostics) {
        for d in diags.sorted() {
            tracing::error!("{d}");
            let (line, col) = d.line_col();
            self.event(
                serde_json::json!({
                    "event": "error",
                    "file": d.file.path.display().to_string(),
                    "line": line,
                    "col": col,
                    "error": d.message,
                })
                .to_string(),
            );
        }
    }
}

/// Whether two rigs have the same lights and layers, in the same order (the engine's
/// indices, the light bus and the mixer all depend on them).
fn same_shape(a: &Rig, b: &Rig) -> bool {
    a.room == b.room
        && a.broker == b.broker
        && a.lights == b.lights
        && a.layers
            .iter()
            .map(|l| &l.name)
            .eq(b.layers.iter().map(|l| &l.name))
}
