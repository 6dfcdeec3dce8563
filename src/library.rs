//! The daemon's library: every ceremony folder under one directory that runs on the room's
//! rig, each with its id (the folder name), its title and a hash of its files (so a saved
//! position can tell whether the ceremony changed). Loading reports every problem as
//! `path:line:col`; a broken ceremony is left out, never the whole library.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::config::{self, Diagnostics, Loader};
use crate::model::{Ceremony, Rig};

/// One ceremony of the library.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its id: the folder name (`sex-medicine`), as `start <id>` names it.
    pub id: String,
    /// The ceremony, resolved against the room's rig.
    pub ceremony: Arc<Ceremony>,
    /// Hash of `ceremony.toml` and every scene file it uses.
    pub hash: String,
}

/// The ceremonies a room can run.
#[derive(Debug, Clone)]
pub struct Library {
    /// The room's rig.
    pub rig: Arc<Rig>,
    entries: Vec<Entry>,
}

/// A library as loaded: what loaded, what was left out and why.
#[derive(Debug)]
pub struct LoadReport {
    /// The ceremonies that loaded cleanly.
    pub library: Library,
    /// The ceremonies that did not, by id, with every problem.
    pub failed: Vec<(String, Diagnostics)>,
    /// Ceremony folders skipped because they name another rig: (folder, their rig).
    pub other_rig: Vec<(PathBuf, PathBuf)>,
}

/// Why a library cannot be loaded at all.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// The rig has problems (printed in the diagnostics).
    #[error("failed to load the rig {}: {} problem(s)", .0.display(), .1.len())]
    Rig(PathBuf, Diagnostics),
    /// The library folder cannot be read.
    #[error("failed to read the library {}: {}", .0.display(), .1)]
    Folder(PathBuf, std::io::Error),
}

impl Library {
    /// A library of one ceremony (what `sanctum run` plays).
    #[must_use]
    pub fn single(ceremony: Arc<Ceremony>, rig: Arc<Rig>) -> Self {
        let entry = Entry {
            id: ceremony.name.clone(),
            hash: hash_files(&ceremony),
            ceremony,
        };
        Self {
            rig,
            entries: vec![entry],
        }
    }

    /// Loads every ceremony folder directly under `dir` (sorted by name) against the rig at
    /// `rig`. A folder whose ceremony names another rig (its own `rig.toml`, or `rig = …`)
    /// belongs to another room and is skipped.
    ///
    /// # Errors
    /// When the rig has problems or the folder cannot be read.
    pub fn load(dir: &Path, rig: &Path) -> Result<LoadReport, LibraryError> {
        let mut loader = Loader::new();
        let Some(room_rig) = loader.rig(rig).filter(|_| loader.diags.is_empty()) else {
            return Err(LibraryError::Rig(rig.to_owned(), loader.diags));
        };
        let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| LibraryError::Folder(dir.to_owned(), e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join("ceremony.toml").is_file())
            .collect();
        folders.sort();
        let mut entries = Vec::new();
        let mut other_rig = Vec::new();
        let mut failed = Vec::new();
        for folder in folders {
            if let Some(own) = own_rig(&folder).filter(|own| !same_file(own, rig)) {
                other_rig.push((folder, own));
                continue;
            }
            match config::load_ceremony(&folder, Some(rig)) {
                Ok(loaded) => {
                    let ceremony = Arc::new(loaded.ceremony);
                    entries.push(Entry {
                        id: folder_id(&folder),
                        hash: hash_files(&ceremony),
                        ceremony,
                    });
                }
                Err(problems) => failed.push((folder_id(&folder), problems)),
            }
        }
        Ok(LoadReport {
            library: Self {
                rig: room_rig,
                entries,
            },
            failed,
            other_rig,
        })
    }

    /// The ceremonies, in order.
    #[must_use]
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The ceremony with this id (exact, else ignoring case).
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.id == id)
            .or_else(|| self.entries.iter().find(|e| e.id.eq_ignore_ascii_case(id)))
    }

    /// The ids, for messages and Home Assistant's select.
    #[must_use]
    pub fn ids(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.id.clone()).collect()
    }

    /// Puts `entry` in place of the ceremony with the same id (or adds it), keeping the
    /// order by id.
    pub fn replace(&mut self, entry: Entry) {
        match self.entries.iter_mut().find(|e| e.id == entry.id) {
            Some(old) => *old = entry,
            None => {
                self.entries.push(entry);
                self.entries.sort_by(|a, b| a.id.cmp(&b.id));
            }
        }
    }

    /// Removes the ceremony with this id, if present.
    pub fn remove(&mut self, id: &str) {
        self.entries.retain(|e| e.id != id);
    }
}

/// The library id of a ceremony folder: its name.
#[must_use]
pub fn folder_id(folder: &Path) -> String {
    let canon = folder.canonicalize().unwrap_or_else(|_| folder.to_owned());
    canon.file_name().map_or_else(
        || "ceremony".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The rig a ceremony folder would use by itself, if it names or holds one.
fn own_rig(folder: &Path) -> Option<PathBuf> {
    let beside = folder.join("rig.toml");
    if beside.is_file() {
        return Some(beside);
    }
    let text = std::fs::read_to_string(folder.join("ceremony.toml")).ok()?;
    let table: toml::Table = text.parse().ok()?;
    table
        .get("rig")
        .and_then(toml::Value::as_str)
        .map(|r| folder.join(r))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// SHA-256 over `ceremony.toml` and the scene files of its phases, in phase order (hex).
/// Files that cannot be read hash as empty: the ceremony then counts as changed.
#[must_use]
pub fn hash_files(ceremony: &Ceremony) -> String {
    let mut hasher = Sha256::new();
    let mut files = vec![ceremony.dir.join("ceremony.toml")];
    files.extend(ceremony.phases.iter().map(|p| p.scene.path.clone()));
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_default();
        hasher.update(
            file.file_name()
                .map(|n| n.as_encoded_bytes())
                .unwrap_or(b""),
        );
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_the_reference_library_and_skips_ceremonies_of_other_rooms() {
        let report =
            Library::load(Path::new("scenes"), Path::new("scenes/rig.toml")).expect("library");
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        assert_eq!(report.library.ids(), vec!["sex-medicine".to_owned()]);
        assert_eq!(report.other_rig.len(), 1, "demo has its own rig");
        assert!(report.other_rig[0].0.ends_with("demo"));
        let entry = report
            .library
            .get("SEX-MEDICINE")
            .expect("case-insensitive");
        assert_eq!(entry.ceremony.phases.len(), 7);
        assert_eq!(entry.hash.len(), 64);
        assert_eq!(entry.hash, hash_files(&entry.ceremony), "stable");
    }

    #[test]
    fn a_bad_rig_is_an_error() {
        let err =
            Library::load(Path::new("scenes"), Path::new("nope/rig.toml")).expect_err("no rig");
        assert!(err.to_string().starts_with("failed to load the rig"));
    }
}
