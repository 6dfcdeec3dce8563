//! Second stage of reading config: raw serde structs into the resolved domain model, checking
//! every name, range and duration and pointing at the exact span of each problem. Reads only
//! the files it is asked to resolve, and checks that referenced sound files exist and are
//! whole, playable audio (probed once each through `crate::probe`, never decoded whole).
//!
//! This file holds the [`Loader`] (what it has read, cached per file, and the sound probes)
//! and the path helpers; the rest is one concern per file: `ceremony` (a ceremony file: its
//! rig, sounds folder and phases), `ctx` (the file being resolved and the checks that report
//! at a span), `rig`, `light` and `scene` (each kind of table into the model).

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;

use super::diag::{Diagnostics, SourceFile};
use super::parse::{cue_parts, deserialize, deserialize_part, suggest};
use super::raw::{Num, RawCeremony, RawCue, RawLayerTarget, RawLightTarget, RawRig, RawScene, Str};
use crate::command::Command;
use crate::files;
use crate::lights::target::{Effect, LightColor, LightTarget};
use crate::model::{
    Advance, AudioSettings, Ceremony, Cue, GroupDef, LayerCue, LayerDef, LayerPatch, LightCue,
    LightDef, MqttSettings, OneShot, Phase, RemoteAction, RemoteDef, Rig, Scene, Source,
};
use crate::probe::{ProbeError, SoundInfo, probe_file};
use crate::tween::Curve;
use crate::units::{Decibels, format_duration, parse_duration};

mod ceremony;
mod ctx;
mod light;
mod rig;
mod scene;

use ctx::{Ctx, unknown_name};
use light::resolve_light;
use rig::resolve_rig;
use scene::{PARTS_FROM, resolve_cues, scene_of};

/// Default window in which a repeated command counts once.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(1500);
/// Default length of a gentle stop.
pub const DEFAULT_STOP_FADE: Duration = Duration::from_secs(10);
/// Default fade for jumps and for cues that name no fade.
pub const DEFAULT_TRANSITION: Duration = Duration::from_secs(10);
/// Default fade to darkness at the end of a ceremony.
pub const DEFAULT_FINISH_FADE: Duration = Duration::from_secs(60);
/// Default crossfade between playlist tracks.
pub const DEFAULT_PLAYLIST_CROSSFADE: Duration = Duration::from_secs(6);

const EFFECTS: [&str; 3] = ["none", "candle", "breathe"];
const LIGHT_CURVES: [&str; 2] = ["linear", "s-curve"];

/// Reads config files into the domain model, caching each file so that a rig or scene shared by
/// several ceremonies is read (and its problems reported) once.
#[derive(Default)]
pub struct Loader {
    /// Every problem found so far.
    pub diags: Diagnostics,
    rigs: HashMap<PathBuf, Option<Arc<Rig>>>,
    rig_files: HashMap<PathBuf, Arc<SourceFile>>,
    scenes: HashMap<(PathBuf, PathBuf), Option<ResolvedScene>>,
    sounds: SoundProbes,
    files: usize,
}

/// Each sound file's probe, by canonical path: a bed referenced by twenty cues is probed once.
type SoundProbes = HashMap<PathBuf, Result<SoundInfo, ProbeError>>;

impl Loader {
    /// A loader with nothing read yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the scene at `path` was already read (with any rig), e.g. for a ceremony.
    #[must_use]
    pub fn has_scene(&self, path: &Path) -> bool {
        let path = canonical(path);
        self.scenes.keys().any(|(scene, _)| *scene == path)
    }

    /// How many files have been read.
    #[must_use]
    pub fn files_read(&self) -> usize {
        self.files
    }

    /// How many distinct sound files have been probed.
    #[must_use]
    pub fn sounds_probed(&self) -> usize {
        self.sounds.len()
    }

    fn read(&mut self, path: &Path) -> Option<Arc<SourceFile>> {
        match files::read_text(path, files::MAX_CONFIG_BYTES) {
            Ok(text) => Some(Arc::new(SourceFile::new(path, text))),
            Err(err) => {
                let file = Arc::new(SourceFile::new(path, String::new()));
                self.diags
                    .error(&file, 0..0, format!("failed to read file: {err}"));
                None
            }
        }
    }

    /// Reads and checks a rig file. A rig with problems is still returned (without its broken
    /// parts) so that scenes can be checked against the rest; the problems are in `diags`.
    pub fn rig(&mut self, path: &Path) -> Option<Arc<Rig>> {
        let key = canonical(path);
        if let Some(cached) = self.rigs.get(&key) {
            return cached.clone();
        }
        match self.read(path) {
            Some(file) => self.rig_source(file),
            None => {
                self.rigs.insert(key, None);
                None
            }
        }
    }

    /// Checks a rig whose text is already read (`file.path` says where it lives, for
    /// relative paths and messages), as [`Loader::rig`] does.
    pub fn rig_source(&mut self, file: Arc<SourceFile>) -> Option<Arc<Rig>> {
        self.files += 1;
        let key = canonical(&file.path);
        self.rig_files.insert(key.clone(), Arc::clone(&file));
        let before = self.diags.len();
        let rig = deserialize::<RawRig>(&file, &mut self.diags).and_then(|raw| {
            let mut ctx = Ctx {
                file: &file,
                cut: self.diags.len() != before,
                diags: &mut self.diags,
                sounds: None,
                offset: 0,
            };
            resolve_rig(&mut ctx, raw, &file.path).map(Arc::new)
        });
        self.rigs.insert(key, rig.clone());
        rig
    }

    /// Reads and checks a scene against a rig, with sound files looked up in `sounds`.
    /// Returns the scene, its source and the span of each cue's `at`, in cue order. A scene
    /// with problems is still returned (without its broken parts) so that cross-checks run;
    /// the problems are in `diags`.
    pub fn scene(&mut self, path: &Path, rig: &Arc<Rig>, sounds: &Path) -> Option<ResolvedScene> {
        let key = (canonical(path), canonical(&rig.path));
        if let Some(cached) = self.scenes.get(&key) {
            return cached.clone();
        }
        let result = self
            .read(path)
            .and_then(|file| self.scene_source(file, rig, sounds));
        self.scenes.insert(key, result.clone());
        result
    }

    /// Checks a scene whose text is already read against a rig, as [`Loader::scene`] does
    /// (without caching it).
    pub fn scene_source(
        &mut self,
        file: Arc<SourceFile>,
        rig: &Rig,
        sounds: &Path,
    ) -> Option<ResolvedScene> {
        self.files += 1;
        let parts = cue_parts(&file.text);
        if parts.len() > PARTS_FROM
            && let Some(resolved) = self.scene_in_parts(&file, &parts, rig, sounds)
        {
            return Some(resolved);
        }
        let before = self.diags.len();
        let raw: RawScene = deserialize(&file, &mut self.diags)?;
        let mut ctx = Ctx {
            file: &file,
            cut: self.diags.len() != before,
            diags: &mut self.diags,
            sounds: Some(&mut self.sounds),
            offset: 0,
        };
        let mut cues = Vec::new();
        resolve_cues(&mut ctx, &raw.cue, rig, sounds, &mut cues);
        Some(scene_of(&file, raw.title, cues))
    }

    /// A large scene read a cue at a time, so that only one cue's parse tree and raw structs
    /// exist at once (a whole 100,000-cue tree took 8 KB a cue). `None` when a part is not
    /// valid TOML on its own (the split was unsure): the caller then reads the file whole,
    /// and none of this attempt's problems are kept.
    fn scene_in_parts(
        &mut self,
        file: &Arc<SourceFile>,
        parts: &[usize],
        rig: &Rig,
        sounds: &Path,
    ) -> Option<ResolvedScene> {
        let before = self.diags.len();
        let ends = parts.iter().skip(1).copied().chain([file.text.len()]);
        let mut title = None;
        let mut cues = Vec::new();
        for (i, (start, end)) in parts.iter().copied().zip(ends).enumerate() {
            let part_before = self.diags.len();
            let Ok(raw) = deserialize_part::<RawScene>(file, start..end, &mut self.diags) else {
                self.diags.truncate(before);
                return None;
            };
            let Some(raw) = raw else { continue };
            if i == 0 {
                title = raw.title;
            }
            let mut ctx = Ctx {
                file,
                cut: self.diags.len() != part_before,
                diags: &mut self.diags,
                sounds: Some(&mut self.sounds),
                offset: start,
            };
            resolve_cues(&mut ctx, &raw.cue, rig, sounds, &mut cues);
        }
        Some(scene_of(file, title, cues))
    }
}

/// A checked scene, its source, and the span of each cue's `at`, in cue order.
pub type ResolvedScene = (Arc<Scene>, Arc<SourceFile>, Vec<Range<usize>>);

/// A ceremony with the rig it runs on.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The ceremony.
    pub ceremony: Ceremony,
    /// Its rig.
    pub rig: Arc<Rig>,
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_owned())
}

/// The rig for a ceremony or scene folder: `rig.toml` there or in the nearest parent.
#[must_use]
pub fn find_rig(dir: &Path) -> Option<PathBuf> {
    let dir = canonical(dir);
    dir.ancestors()
        .map(|d| d.join("rig.toml"))
        .find(|p| p.is_file())
        .map(|p| relative_to_cwd(&p))
}

/// The sounds folder for a ceremony: `sounds/` in the folder or the nearest parent.
#[must_use]
pub fn find_sounds(dir: &Path) -> Option<PathBuf> {
    let dir = canonical(dir);
    dir.ancestors()
        .map(|d| d.join("sounds"))
        .find(|p| p.is_dir())
        .map(|p| relative_to_cwd(&p))
}

/// `path` relative to the working directory when it lies below it, so messages stay short.
fn relative_to_cwd(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(canonical(&cwd)).ok().map(Path::to_owned))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| path.to_owned())
}

impl Ctx<'_> {
    /// What is wrong with the sound file at `path` (which exists), if anything: probed on
    /// first use, from the cache after that.
    fn sound_problem(&mut self, path: &Path) -> Option<String> {
        let sounds = self.sounds.as_deref_mut()?;
        let probe = sounds
            .entry(canonical(path))
            .or_insert_with(|| probe_file(path));
        probe.as_ref().err().map(|e| e.kind.to_string())
    }
}
