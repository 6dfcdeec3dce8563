//! Reading configuration: rig, ceremony and scene files, in two stages (raw serde structs,
//! then resolved domain types) with every problem reported as `path:line:col: message`.
//! Also `check`, which walks a path and checks everything it finds.

pub mod diag;
pub mod parse;
pub mod raw;
pub mod resolve;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use diag::{Diagnostic, Diagnostics, SourceFile};
pub use resolve::{Loaded, Loader, find_rig, find_sounds};

/// What kind of file a `.toml` is, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `rig.toml` (or `*.rig.toml`).
    Rig,
    /// `ceremony.toml`.
    Ceremony,
    /// Any other `.toml`: a scene.
    Scene,
}

/// Classifies a config file by its name.
#[must_use]
pub fn kind_of(path: &Path) -> FileKind {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name == "ceremony.toml" {
        FileKind::Ceremony
    } else if name == "rig.toml" || name.ends_with(".rig.toml") {
        FileKind::Rig
    } else {
        FileKind::Scene
    }
}

/// Loads a ceremony folder (or its `ceremony.toml`) with its rig, or returns every problem.
///
/// # Errors
/// Returns the diagnostics when anything in the ceremony, its rig or its scenes is wrong.
pub fn load_ceremony(path: &Path, rig: Option<&Path>) -> Result<Loaded, Diagnostics> {
    let dir = if path.is_file() {
        path.parent().unwrap_or(Path::new(".")).to_owned()
    } else {
        path.to_owned()
    };
    let mut loader = Loader::new();
    match loader.ceremony(&dir, rig) {
        Some(loaded) if loader.diags.is_empty() => Ok(loaded),
        _ => {
            if loader.diags.is_empty() {
                let file = Arc::new(SourceFile::new(dir.join("ceremony.toml"), String::new()));
                loader
                    .diags
                    .error(&file, 0..0, "failed to load the ceremony");
            }
            Err(loader.diags)
        }
    }
}

/// Result of `sanctum check`.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Config files read.
    pub files: usize,
    /// Ceremonies checked.
    pub ceremonies: usize,
    /// Distinct sound files probed.
    pub sounds: usize,
    /// Every problem found.
    pub diags: Diagnostics,
}

/// Checks rigs, ceremonies and scenes at each path: a file, a ceremony folder or a tree.
#[must_use]
pub fn check(paths: &[PathBuf], rig: Option<&Path>) -> CheckReport {
    let mut loader = Loader::new();
    let mut report = CheckReport::default();
    let mut loose_scenes = Vec::new();
    for path in paths {
        let mut files = Vec::new();
        if path.is_dir() {
            collect_toml(path, &mut files, &mut HashSet::new());
        } else {
            files.push(path.clone());
        }
        files.sort();
        for file in files {
            match kind_of(&file) {
                FileKind::Rig => {
                    if rig.is_none() {
                        loader.rig(&file);
                    }
                }
                FileKind::Ceremony => {
                    report.ceremonies += 1;
                    let dir = file.parent().unwrap_or(Path::new(".")).to_owned();
                    loader.ceremony(&dir, rig);
                }
                FileKind::Scene => loose_scenes.push(file),
            }
        }
    }
    for scene in loose_scenes {
        if loader.has_scene(&scene) {
            continue;
        }
        check_loose_scene(&mut loader, &scene, rig);
    }
    report.files = loader.files_read();
    report.sounds = loader.sounds_probed();
    report.diags = std::mem::take(&mut loader.diags);
    report
}

fn check_loose_scene(loader: &mut Loader, scene: &Path, rig: Option<&Path>) {
    let dir = scene.parent().unwrap_or(Path::new(".")).to_owned();
    let rig_path = rig.map(Path::to_owned).or_else(|| find_rig(&dir));
    let Some(rig_path) = rig_path else {
        let file = Arc::new(SourceFile::new(scene.to_owned(), String::new()));
        loader.diags.error(
            &file,
            0..0,
            "no rig found for this scene: put a rig.toml beside it or in a parent, or pass --rig",
        );
        return;
    };
    let Some(rig) = loader.rig(&rig_path) else {
        return;
    };
    let sounds = find_sounds(&dir).unwrap_or_else(|| dir.join("sounds"));
    loader.scene(scene, &rig, &sounds);
}

/// Every `.toml` below `dir`, following links to folders but entering each folder once (a
/// link back up the tree is not a loop). Anything named `.toml` is listed, whatever it is, so
/// that a FIFO or a device is reported by the reader rather than skipped in silence.
fn collect_toml(dir: &Path, out: &mut Vec<PathBuf>, seen: &mut HashSet<PathBuf>) {
    let Ok(real) = dir.canonicalize() else {
        return;
    };
    if !seen.insert(real) {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            collect_toml(&path, out, seen);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}
