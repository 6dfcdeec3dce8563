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

/// Checks one scene on its own. If a `ceremony.toml` in its folder or a parent names it (see
/// [`ceremony_naming`]), the scene is checked as that ceremony plays it: with the ceremony's
/// rig and `sounds =` folder. Otherwise the rig and `sounds/` are the nearest ones.
fn check_loose_scene(loader: &mut Loader, scene: &Path, rig: Option<&Path>) {
    let dir = scene.parent().unwrap_or(Path::new(".")).to_owned();
    let owner = ceremony_naming(scene);
    let rig_path = rig
        .map(Path::to_owned)
        .or_else(|| owner.as_ref().and_then(|o| o.rig.clone()))
        .or_else(|| find_rig(owner.as_ref().map_or(&dir, |o| &o.dir)));
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
    let sounds = match owner {
        Some(Owner {
            sounds: Some(sounds),
            ..
        }) => sounds,
        Some(Owner { dir: cdir, .. }) => find_sounds(&cdir).unwrap_or_else(|| cdir.join("sounds")),
        None => find_sounds(&dir).unwrap_or_else(|| dir.join("sounds")),
    };
    loader.scene(scene, &rig, &sounds);
}

/// The ceremony a lone scene belongs to: its folder, and the `rig =` and `sounds =` it names
/// (resolved against that folder; `None` when it names none).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owner {
    dir: PathBuf,
    rig: Option<PathBuf>,
    sounds: Option<PathBuf>,
}

/// The nearest ceremony that names `scene` in one of its phases: `ceremony.toml` in the
/// scene's folder, then in each parent folder, and at each level also in the folders right
/// below it (so a scene shared from `scenes/shared/` is found by `scenes/rite/ceremony.toml`).
/// A ceremony that does not parse is skipped here; checking it reports why.
fn ceremony_naming(scene: &Path) -> Option<Owner> {
    let target = scene.canonicalize().ok()?;
    let start = target.parent()?.to_owned();
    for dir in start.ancestors() {
        let mut candidates = vec![dir.join("ceremony.toml")];
        if let Ok(entries) = std::fs::read_dir(dir) {
            let mut below: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path().join("ceremony.toml"))
                .collect();
            below.sort();
            candidates.extend(below);
        }
        for path in candidates {
            if let Some(owner) = names_scene(&path, &target) {
                return Some(owner);
            }
        }
    }
    None
}

/// The ceremony at `path`, if it is one and one of its phases plays `scene` (canonical).
fn names_scene(path: &Path, scene: &Path) -> Option<Owner> {
    if !path.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let raw: raw::RawCeremony = toml::from_str(&text).ok()?;
    let dir = path.parent()?.to_owned();
    let plays = raw.phase.iter().any(|p| {
        dir.join(p.scene.get_ref())
            .canonicalize()
            .is_ok_and(|c| c == scene)
    });
    plays.then(|| Owner {
        rig: raw.rig.as_ref().map(|r| dir.join(r.get_ref())),
        sounds: raw.sounds.as_ref().map(|s| dir.join(s.get_ref())),
        dir,
    })
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
