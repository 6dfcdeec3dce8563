//! Second stage of reading config: raw serde structs into the resolved domain model, checking
//! every name, range and duration and pointing at the exact span of each problem. Reads only
//! the files it is asked to resolve, and checks that referenced sound files exist and are
//! whole, playable audio (probed once each through `audio::probe`, never decoded whole).

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

mod light;
mod rig;
mod scene;

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

    /// Reads and checks a ceremony folder with the given rig.
    pub fn ceremony(&mut self, dir: &Path, rig_override: Option<&Path>) -> Option<Loaded> {
        let file = self.read(&dir.join("ceremony.toml"))?;
        self.ceremony_source(dir, file, rig_override)
    }

    /// Checks a ceremony whose `ceremony.toml` is already read, as [`Loader::ceremony`] does;
    /// its rig and scenes are read from `dir`.
    pub fn ceremony_source(
        &mut self,
        dir: &Path,
        file: Arc<SourceFile>,
        rig_override: Option<&Path>,
    ) -> Option<Loaded> {
        self.files += 1;
        let before = self.diags.len();
        let raw: RawCeremony = deserialize(&file, &mut self.diags)?;
        let cut = self.diags.len() != before;
        let rig_path = match (rig_override, &raw.rig) {
            (Some(p), _) => Some(p.to_owned()),
            (None, Some(r)) => {
                let p = dir.join(r.get_ref());
                if p.is_file() {
                    Some(p)
                } else {
                    let why = files::what_is(&p).map_or_else(
                        || "not found".to_owned(),
                        |what| format!("is {what}, not a file"),
                    );
                    self.diags
                        .error(&file, r.span(), format!("rig file `{}` {why}", p.display()));
                    None
                }
            }
            (None, None) => {
                let found = find_rig(dir);
                if found.is_none() {
                    self.diags.error(
                        &file,
                        0..0,
                        "no rig found: put a rig.toml in this folder or a parent, set `rig = …`, or pass --rig",
                    );
                }
                found
            }
        };
        let rig = rig_path.and_then(|p| self.rig(&p));
        let sounds = match &raw.sounds {
            Some(s) => {
                let p = dir.join(s.get_ref());
                if p.is_dir() {
                    Some(p)
                } else {
                    let why = files::what_is(&p).map_or_else(
                        || "does not exist".to_owned(),
                        |what| format!("is {what}, not a folder"),
                    );
                    self.diags.error(
                        &file,
                        s.span(),
                        format!("sounds folder `{}` {why}", p.display()),
                    );
                    None
                }
            }
            None => find_sounds(dir),
        };
        let mut ceremony_ok = true;
        let mut ctx = Ctx {
            file: &file,
            diags: &mut self.diags,
            cut,
            sounds: None,
            offset: 0,
        };
        let transition = ctx
            .positive_opt(raw.transition.as_ref(), "transition")
            .unwrap_or(DEFAULT_TRANSITION);
        let finish_fade = ctx
            .positive_opt(raw.finish_fade.as_ref(), "finish_fade")
            .unwrap_or(DEFAULT_FINISH_FADE);
        if raw.phase.is_empty() {
            ctx.error(
                0..0,
                "empty ceremony: add at least one [[phase]] with an id and a scene",
            );
            ceremony_ok = false;
        }
        let mut seen: BTreeMap<String, (String, Range<usize>)> = BTreeMap::new();
        struct Pending {
            id: String,
            title: String,
            guidance: Option<String>,
            advance: Advance,
            after_span: Option<Range<usize>>,
            min: Option<Duration>,
            scene_path: PathBuf,
        }
        let mut pending = Vec::new();
        for phase in &raw.phase {
            let id = phase.id.get_ref().clone();
            ctx.identifier(&phase.id, "phase id");
            // Commands match phase ids without case, so ids must differ in more than case.
            if let Some((first, first_span)) = seen.get(&id.to_ascii_lowercase()) {
                let (line, _) =
                    super::diag::Diagnostic::new(ctx.file, first_span.clone(), "").line_col();
                let what = if *first == id {
                    String::new()
                } else {
                    format!(" as `{first}`; phase ids are matched without case")
                };
                ctx.error(
                    phase.id.span(),
                    format!("duplicate phase id `{id}` (first used on line {line}{what})"),
                );
                ceremony_ok = false;
            } else {
                seen.insert(id.to_ascii_lowercase(), (id.clone(), phase.id.span()));
            }
            let after = ctx.positive_opt(phase.after.as_ref(), "after");
            let min = ctx.positive_opt(phase.min.as_ref(), "min");
            if let (Some(_), Some(m)) = (&phase.after, &phase.min) {
                ctx.error(
                    m.span(),
                    "`min` applies to manual phases; this phase already ends by itself `after` a set time",
                );
            }
            let scene_path = dir.join(phase.scene.get_ref());
            if let Some(what) = files::what_is(&scene_path).filter(|_| !scene_path.is_file()) {
                ctx.error(
                    phase.scene.span(),
                    format!("scene `{}` is {what}, not a file", phase.scene.get_ref()),
                );
                ceremony_ok = false;
                continue;
            }
            if !scene_path.is_file() {
                let others = toml_files_in(dir);
                let names: Vec<&str> = others.iter().map(String::as_str).collect();
                let hint = suggest(phase.scene.get_ref(), &names)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                ctx.error(
                    phase.scene.span(),
                    format!(
                        "unknown scene `{}`: no such file in {}{hint}",
                        phase.scene.get_ref(),
                        dir.display()
                    ),
                );
                ceremony_ok = false;
                continue;
            }
            pending.push(Pending {
                title: phase
                    .title
                    .as_ref()
                    .map_or_else(|| id.clone(), |t| t.get_ref().clone()),
                id,
                guidance: phase.guidance.clone(),
                advance: after.map_or(Advance::Manual, Advance::After),
                after_span: phase.after.as_ref().map(Spanned::span),
                min,
                scene_path,
            });
        }
        let rig = rig?;
        self.check_remote_phases(&rig, &raw);
        let sounds = sounds.unwrap_or_else(|| dir.join("sounds"));
        let mut phases = Vec::new();
        for p in pending {
            let Some((scene, scene_file, cue_spans)) = self.scene(&p.scene_path, &rig, &sounds)
            else {
                ceremony_ok = false;
                continue;
            };
            if let Advance::After(after) = p.advance {
                for (cue, span) in scene.cues.iter().zip(&cue_spans) {
                    if cue.at > after {
                        let (line, _) = super::diag::Diagnostic::new(
                            &file,
                            p.after_span.clone().unwrap_or(0..0),
                            "",
                        )
                        .line_col();
                        self.diags.error(
                            &scene_file,
                            span.clone(),
                            format!(
                                "cue at {} comes after phase `{}` moves on by itself (after {}, {}:{line})",
                                format_duration(cue.at),
                                p.id,
                                format_duration(after),
                                file.path.display()
                            ),
                        );
                        ceremony_ok = false;
                    }
                }
            }
            phases.push(Phase {
                id: p.id,
                title: p.title,
                guidance: p.guidance,
                advance: p.advance,
                min: p.min,
                scene,
            });
        }
        if !ceremony_ok || self.diags.len() != before {
            return None;
        }
        let name = dir
            .canonicalize()
            .unwrap_or_else(|_| dir.to_owned())
            .file_name()
            .map_or_else(
                || "ceremony".to_owned(),
                |n| n.to_string_lossy().into_owned(),
            );
        Some(Loaded {
            ceremony: Ceremony {
                title: raw
                    .title
                    .as_ref()
                    .map_or_else(|| name.clone(), |t| t.get_ref().clone()),
                name,
                dir: dir.to_owned(),
                transition,
                finish_fade,
                phases,
            },
            rig,
        })
    }

    /// Reports remote bindings that `goto` a phase this ceremony does not have.
    fn check_remote_phases(&mut self, rig: &Rig, raw: &RawCeremony) {
        let Some(file) = self.rig_files.get(&canonical(&rig.path)).cloned() else {
            return;
        };
        let ids: Vec<&str> = raw.phase.iter().map(|p| p.id.get_ref().as_str()).collect();
        for remote in &rig.remotes {
            for binding in &remote.actions {
                if let Command::Goto(id) = &binding.command
                    && !ids.iter().any(|known| known.eq_ignore_ascii_case(id))
                {
                    let hint = suggest(id, &ids)
                        .map(|s| format!("did you mean `{s}`? "))
                        .unwrap_or_default();
                    let mut list: Vec<String> = Vec::new();
                    for i in &ids {
                        let item = format!("`{i}`");
                        if !list.contains(&item) {
                            list.push(item);
                        }
                    }
                    self.diags.error(
                        &file,
                        binding.span.clone(),
                        format!(
                            "unknown phase `{id}`: this ceremony has no such phase; {hint}its phases are {}",
                            list.join(", ")
                        ),
                    );
                }
            }
        }
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

fn toml_files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".toml"))
                .collect()
        })
        .unwrap_or_default()
}

/// The file being resolved and where its problems go.
struct Ctx<'a> {
    file: &'a Arc<SourceFile>,
    diags: &'a mut Diagnostics,
    /// The first stage already cut broken keys from this file: checks that a table "says
    /// something" would only echo those problems, so they are skipped.
    cut: bool,
    /// Where sound files are probed (scenes only).
    sounds: Option<&'a mut SoundProbes>,
    /// Where the part being resolved starts in the file: spans in its raw structs count from
    /// there (a large scene is read a part at a time).
    offset: usize,
}

impl Ctx<'_> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let span = span.start + self.offset..span.end + self.offset;
        self.diags.error(self.file, span, message);
    }

    /// What is wrong with the sound file at `path` (which exists), if anything: probed on
    /// first use, from the cache after that.
    fn sound_problem(&mut self, path: &Path) -> Option<String> {
        let sounds = self.sounds.as_deref_mut()?;
        let probe = sounds
            .entry(canonical(path))
            .or_insert_with(|| probe_file(path));
        probe.as_ref().err().map(|e| e.kind.to_string())
    }

    fn duration(&mut self, s: &Str, what: &str) -> Option<Duration> {
        match parse_duration(s.get_ref()) {
            Ok(d) => Some(d),
            Err(err) => {
                self.error(s.span(), format!("`{what}`: {err}"));
                None
            }
        }
    }

    fn positive(&mut self, s: &Str, what: &str) -> Option<Duration> {
        let d = self.duration(s, what)?;
        if d.is_zero() {
            self.error(
                s.span(),
                format!("`{what}` must be longer than zero, like \"5s\""),
            );
            return None;
        }
        Some(d)
    }

    fn positive_opt(&mut self, s: Option<&Str>, what: &str) -> Option<Duration> {
        s.and_then(|s| self.positive(s, what))
    }

    fn identifier(&mut self, s: &Str, what: &str) -> bool {
        let text = s.get_ref();
        let ok = !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            self.error(
                s.span(),
                format!("{what} `{text}` may only use letters, digits, `-` and `_`"),
            );
        }
        ok
    }

    fn range(&mut self, n: &Num, what: &str, lo: f64, hi: f64) -> Option<f64> {
        let v = *n.get_ref();
        if v.is_finite() && (lo..=hi).contains(&v) {
            Some(v)
        } else {
            self.error(n.span(), format!("`{what}` is {v}, outside {lo}..={hi}"));
            None
        }
    }

    fn one_of<'n>(&mut self, s: &Str, what: &str, names: &[&'n str]) -> Option<&'n str> {
        let text = s.get_ref().as_str();
        if let Some(n) = names.iter().find(|n| **n == text) {
            return Some(n);
        }
        let list = names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let msg = match suggest(text, names) {
            Some(best) => format!("unknown {what} `{text}`; did you mean `{best}`?"),
            None => format!("unknown {what} `{text}`; expected one of {list}"),
        };
        self.error(s.span(), msg);
        None
    }

    fn kelvin(&mut self, k: &Spanned<i64>) -> Option<u16> {
        let v = *k.get_ref();
        if (1000..=10000).contains(&v) {
            u16::try_from(v).ok()
        } else {
            self.error(k.span(), format!("`kelvin` is {v}, outside 1000..=10000"));
            None
        }
    }

    fn color(&mut self, c: &Str) -> Option<[u8; 3]> {
        let text = c.get_ref();
        let hex = text.strip_prefix('#').unwrap_or("");
        let parsed = (hex.len() == 6)
            .then(|| u32::from_str_radix(hex, 16).ok())
            .flatten();
        match parsed {
            Some(v) => Some([(v >> 16) as u8, (v >> 8) as u8, v as u8]),
            None => {
                self.error(
                    c.span(),
                    format!("invalid colour `{text}`: write it as \"#rrggbb\", like \"#ff9329\""),
                );
                None
            }
        }
    }
}

fn unknown_name(ctx: &mut Ctx<'_>, s: &Str, what: &str, known: &[&str]) {
    let text = s.get_ref();
    let msg = match suggest(text, known) {
        Some(best) => format!("unknown {what} `{text}`; did you mean `{best}`?"),
        None if known.is_empty() => format!("unknown {what} `{text}`: the rig declares none"),
        None => format!(
            "unknown {what} `{text}`; the rig has {}",
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    ctx.error(s.span(), msg);
}
