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
use crate::audio::probe::{ProbeError, SoundInfo, probe_file};
use crate::command::Command;
use crate::files;
use crate::lights::target::{Effect, LightColor, LightTarget};
use crate::model::{
    Advance, AudioSettings, Ceremony, Cue, GroupDef, LayerCue, LayerDef, LayerPatch, LightCue,
    LightDef, MqttSettings, OneShot, Phase, RemoteAction, RemoteDef, Rig, Scene, Source,
};
use crate::tween::Curve;
use crate::units::{Decibels, format_duration, parse_duration};

mod light;

use light::resolve_light;

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

#[allow(clippy::too_many_lines)]
fn resolve_rig(ctx: &mut Ctx<'_>, raw: RawRig, path: &Path) -> Option<Rig> {
    if let Err(why) = crate::mqtt::topics::check_room(raw.room.get_ref()) {
        ctx.error(raw.room.span(), why);
    }
    if let Some(b) = &raw.broker {
        check_broker(ctx, b);
    }
    let max_volume = raw
        .max_volume_db
        .as_ref()
        .and_then(|n| ctx.range(n, "max_volume_db", -60.0, 12.0))
        .map_or(Decibels(0.0), |v| Decibels(v as f32));
    let volume = match &raw.volume_db {
        Some(n) => {
            let v = ctx.range(n, "volume_db", -80.0, 12.0).unwrap_or(0.0) as f32;
            if v > max_volume.0 {
                ctx.error(
                    n.span(),
                    format!(
                        "`volume_db` {v:+.1} is above the rig's max_volume_db {:+.1}",
                        max_volume.0
                    ),
                );
            }
            Decibels(v)
        }
        None => Decibels(0f32.min(max_volume.0)),
    };
    let debounce = ctx
        .positive_opt(raw.debounce.as_ref(), "debounce")
        .unwrap_or(DEFAULT_DEBOUNCE);
    let stop_fade = ctx
        .positive_opt(raw.stop_fade.as_ref(), "stop_fade")
        .unwrap_or(DEFAULT_STOP_FADE);
    let mqtt = raw
        .mqtt
        .map_or_else(MqttSettings::default, |m| MqttSettings {
            username: m.username.map(Spanned::into_inner),
            password_env: m.password_env.map(Spanned::into_inner),
            password_file: m.password_file.map(|p| rel(path, p.get_ref())),
            ca_file: m.ca_file.map(|p| rel(path, p.get_ref())),
            cert_file: m.cert_file.map(|p| rel(path, p.get_ref())),
            key_file: m.key_file.map(|p| rel(path, p.get_ref())),
            discovery: m.discovery.unwrap_or(false),
        });
    let audio = match raw.audio {
        Some(a) => AudioSettings {
            output: a
                .output
                .inspect(|o| check_output(ctx, o))
                .map_or_else(|| "default".to_owned(), Spanned::into_inner),
            buffer: match &a.buffer {
                Some(b) => {
                    let d = ctx
                        .positive(b, "buffer")
                        .unwrap_or(Duration::from_millis(30));
                    if d < Duration::from_millis(5) || d > Duration::from_millis(500) {
                        ctx.error(b.span(), "`buffer` must be between 5ms and 500ms");
                    }
                    d
                }
                None => Duration::from_millis(30),
            },
        },
        None => AudioSettings {
            output: "default".to_owned(),
            buffer: Duration::from_millis(30),
        },
    };
    let mut safe_light = LightTarget {
        level: 0.3,
        color: Some(LightColor::Kelvin(2200)),
        effect: Effect::None,
    };
    if let Some(s) = &raw.safe_light {
        if let Some(l) = s
            .level
            .as_ref()
            .and_then(|n| ctx.range(n, "level", 0.0, 1.0))
        {
            safe_light.level = l as f32;
        }
        if let (Some(_), Some(c)) = (&s.kelvin, &s.color) {
            ctx.error(c.span(), "give either `kelvin` or `color`, not both");
        }
        if let Some(k) = s.kelvin.as_ref().and_then(|k| ctx.kelvin(k)) {
            safe_light.color = Some(LightColor::Kelvin(k));
        }
        if let Some(c) = s.color.as_ref().and_then(|c| ctx.color(c)) {
            safe_light.color = Some(LightColor::Rgb(c));
        }
    }
    let mut layers = Vec::new();
    for (name, layer) in &raw.layers {
        ctx.identifier(name, "layer name");
        let gain = layer
            .gain_db
            .as_ref()
            .and_then(|n| ctx.range(n, "gain_db", -80.0, 12.0))
            .map_or(Decibels(0.0), |v| Decibels(v as f32));
        let duck = layer
            .duck_db
            .as_ref()
            .and_then(|n| ctx.range(n, "duck_db", -40.0, 0.0))
            .map(|v| Decibels(v as f32));
        layers.push(LayerDef {
            name: name.get_ref().clone(),
            gain,
            duck,
        });
    }
    let mut lights = Vec::new();
    for (name, light) in &raw.lights {
        ctx.identifier(name, "light name");
        lights.push(resolve_light(ctx, name, light));
    }
    let light_names: Vec<&str> = lights.iter().map(|l: &LightDef| l.name.as_str()).collect();
    let mut groups = Vec::new();
    for (name, members) in &raw.groups {
        ctx.identifier(name, "group name");
        if light_names.contains(&name.get_ref().as_str()) {
            ctx.error(
                name.span(),
                format!("group `{}` has the same name as a light", name.get_ref()),
            );
        }
        if members.get_ref().is_empty() {
            ctx.error(members.span(), "a group needs at least one light");
        }
        let mut indices = Vec::new();
        for m in members.get_ref() {
            match light_names.iter().position(|l| *l == m.get_ref()) {
                Some(i) => indices.push(i),
                None => unknown_name(ctx, m, "light", &light_names),
            }
        }
        groups.push(GroupDef {
            name: name.get_ref().clone(),
            members: indices,
        });
    }
    let mut remotes = Vec::new();
    for (name, remote) in &raw.remotes {
        let driver = match &remote.driver {
            Some(d) => ctx
                .one_of(d, "remote driver", &["zigbee2mqtt"])
                .unwrap_or("zigbee2mqtt"),
            None => "zigbee2mqtt",
        };
        if let Err(why) = crate::mqtt::topics::check_address(remote.address.get_ref()) {
            ctx.error(remote.address.span(), why);
        }
        let mut actions = Vec::new();
        for (action, command) in &remote.actions {
            if action.get_ref().is_empty() {
                ctx.error(action.span(), "an action value must not be empty");
            }
            match Command::parse(command.get_ref()) {
                Ok(cmd) => actions.push(RemoteAction {
                    action: action.get_ref().clone(),
                    command: cmd,
                    span: command.span(),
                }),
                Err(err) => ctx.error(command.span(), format!("{err}")),
            }
        }
        remotes.push(RemoteDef {
            name: name.get_ref().clone(),
            driver: driver.to_owned(),
            address: remote.address.get_ref().clone(),
            actions,
        });
    }
    Some(Rig {
        path: path.to_owned(),
        room: raw.room.into_inner(),
        broker: raw.broker.map(Spanned::into_inner),
        mqtt,
        audio,
        max_volume,
        volume,
        debounce,
        stop_fade,
        safe_light,
        layers,
        lights,
        groups,
        remotes,
    })
}

fn rel(base_file: &Path, p: &str) -> PathBuf {
    base_file
        .parent()
        .map_or_else(|| PathBuf::from(p), |d| d.join(p))
}

/// The broker URL, read by the same parser `run` uses ([`crate::mqtt::connection::Broker`]).
fn check_broker(ctx: &mut Ctx<'_>, b: &Str) {
    if let Err(why) = crate::mqtt::connection::Broker::parse(b.get_ref()) {
        ctx.error(b.span(), why.to_string());
    }
}

/// The audio output, read by the same parser `run` uses ([`crate::audio::OutputSpec`]).
fn check_output(ctx: &mut Ctx<'_>, o: &Str) {
    if let Err(why) = crate::audio::OutputSpec::parse(o.get_ref()) {
        ctx.error(o.span(), why.to_string());
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

/// Scenes with more cues than this are read a cue at a time ([`Loader::scene_in_parts`]).
const PARTS_FROM: usize = 256;

/// Resolves `raw` cues into `out`, each with the span of its `at` in the whole file.
fn resolve_cues(
    ctx: &mut Ctx<'_>,
    raw: &[RawCue],
    rig: &Rig,
    sounds: &Path,
    out: &mut Vec<(Cue, Range<usize>)>,
) {
    for cue in raw {
        if let Some(c) = resolve_cue(ctx, cue, rig, sounds) {
            let at = cue.at.span();
            out.push((c, at.start + ctx.offset..at.end + ctx.offset));
        }
    }
}

/// The checked scene from its cues, in time order (a scene written in order is not copied).
fn scene_of(
    file: &Arc<SourceFile>,
    title: Option<String>,
    mut cues: Vec<(Cue, Range<usize>)>,
) -> ResolvedScene {
    if !cues.is_sorted_by_key(|(c, _)| c.at) {
        cues.sort_by_key(|(c, _)| c.at);
    }
    let spans: Vec<Range<usize>> = cues.iter().map(|(_, span)| span.clone()).collect();
    let mut cues: Vec<Cue> = cues.into_iter().map(|(cue, _)| cue).collect();
    cues.shrink_to_fit();
    let scene = Scene {
        path: file.path.clone(),
        title,
        cues,
    };
    (Arc::new(scene), Arc::clone(file), spans)
}

fn resolve_cue(ctx: &mut Ctx<'_>, raw: &RawCue, rig: &Rig, sounds: &Path) -> Option<Cue> {
    let at = ctx.duration(&raw.at, "at");
    let layer_names: Vec<&str> = rig.layers.iter().map(|l| l.name.as_str()).collect();
    let mut layers = Vec::new();
    for (name, target) in &raw.layers {
        let Some(layer) = rig.layer_index(name.get_ref()) else {
            unknown_name(ctx, name, "layer", &layer_names);
            continue;
        };
        if let Some(change) = resolve_layer_target(ctx, name, target, rig, sounds) {
            layers.push(LayerCue {
                layer,
                change: change.0,
                fade: change.1,
                curve: change.2,
            });
        }
    }
    let mut target_names: Vec<&str> = rig.lights.iter().map(|l| l.name.as_str()).collect();
    target_names.extend(rig.groups.iter().map(|g| g.name.as_str()));
    let mut lights = Vec::new();
    for (name, target) in &raw.lights {
        let Some(indices) = rig.resolve_lights(name.get_ref()) else {
            unknown_name(ctx, name, "light or group", &target_names);
            continue;
        };
        if let Some(mut cue) = resolve_light_target(ctx, name, target) {
            cue.lights = indices;
            lights.push(cue);
        }
    }
    let mut one_shots = Vec::new();
    for sound in &raw.sounds {
        let file = sound_file(ctx, &sound.file, sounds);
        let gain = sound.gain_db.as_ref().and_then(|g| gain(ctx, g, rig));
        if let Some(file) = file {
            one_shots.push(OneShot {
                file,
                gain: gain.unwrap_or(Decibels(0.0)),
            });
        }
    }
    // A vector's first push makes room for four; most cues change one or two things, and a
    // 100,000-cue scene keeps every cue.
    layers.shrink_to_fit();
    lights.shrink_to_fit();
    one_shots.shrink_to_fit();
    Some(Cue {
        at: at?,
        note: raw.note.clone(),
        layers,
        lights,
        sounds: one_shots,
    })
}

fn gain(ctx: &mut Ctx<'_>, g: &Num, rig: &Rig) -> Option<Decibels> {
    let v = *g.get_ref();
    if !v.is_finite() || v < -80.0 {
        ctx.error(
            g.span(),
            format!("`gain_db` is {v}; use -80 (silence) or more"),
        );
        return None;
    }
    if v > f64::from(rig.max_volume.0) {
        ctx.error(
            g.span(),
            format!(
                "`gain_db` {v:+.1} is above the rig's max_volume_db {:+.1}",
                rig.max_volume.0
            ),
        );
        return None;
    }
    Some(Decibels(v as f32))
}

fn sound_file(ctx: &mut Ctx<'_>, s: &Str, sounds: &Path) -> Option<PathBuf> {
    let path = sounds.join(s.get_ref());
    if let Some(what) = files::what_is(&path) {
        ctx.error(
            s.span(),
            format!(
                "sound file `{}` is {what}, not a sound file (looked in {})",
                s.get_ref(),
                sounds.display()
            ),
        );
        return None;
    }
    if path.is_file() {
        if let Some(problem) = ctx.sound_problem(&path) {
            ctx.error(
                s.span(),
                format!("sound file `{}` is {problem}", s.get_ref()),
            );
            return None;
        }
        return Some(path);
    }
    let names: Vec<String> = std::fs::read_dir(sounds)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let hint = suggest(s.get_ref(), &refs)
        .map(|b| format!("; did you mean `{b}`?"))
        .unwrap_or_default();
    ctx.error(
        s.span(),
        format!(
            "missing sound file `{}` (looked in {}){hint}",
            s.get_ref(),
            sounds.display()
        ),
    );
    None
}

type LayerChange = (LayerPatch, Option<Duration>, Curve);

fn resolve_layer_target(
    ctx: &mut Ctx<'_>,
    name: &Str,
    raw: &RawLayerTarget,
    rig: &Rig,
    sounds: &Path,
) -> Option<LayerChange> {
    let before = ctx.diags.len();
    let fade = ctx.positive_opt(raw.fade.as_ref(), "fade");
    let curve = raw
        .curve
        .as_ref()
        .and_then(|c| ctx.one_of(c, "curve", &Curve::NAMES))
        .and_then(Curve::from_name)
        .unwrap_or(Curve::EqualPower);
    let gain_db = raw.gain_db.as_ref().and_then(|g| gain(ctx, g, rig));
    let stop = raw.stop.as_ref().is_some_and(|s| *s.get_ref());
    if let (Some(_), Some(p)) = (&raw.file, &raw.playlist) {
        ctx.error(p.span(), "give either `file` or `playlist`, not both");
    }
    if stop && (raw.file.is_some() || raw.playlist.is_some() || raw.gain_db.is_some()) {
        let span = raw.stop.as_ref().map_or(name.span(), Spanned::span);
        ctx.error(
            span,
            "`stop` fades the layer out; it cannot also set file, playlist or gain_db",
        );
    }
    let mut files = Vec::new();
    if let Some(f) = &raw.file {
        files.extend(sound_file(ctx, f, sounds));
    }
    if let Some(list) = &raw.playlist {
        if list.get_ref().is_empty() {
            ctx.error(list.span(), "a playlist needs at least one file");
        }
        for f in list.get_ref() {
            files.extend(sound_file(ctx, f, sounds));
        }
    }
    let has_source = raw.file.is_some() || raw.playlist.is_some();
    if raw.looping.is_some() && !has_source {
        ctx.error(name.span(), "`loop` needs a `file` or `playlist` to loop");
    }
    let crossfade = match &raw.crossfade {
        Some(c) => {
            if raw.playlist.is_none() {
                ctx.error(
                    c.span(),
                    "`crossfade` sets the fade between playlist tracks; use `fade` for a change of file",
                );
            }
            ctx.positive(c, "crossfade")
        }
        None => None,
    };
    if !has_source && !stop && raw.gain_db.is_none() && !ctx.cut {
        ctx.error(
            name.span(),
            format!(
                "layer `{}` says nothing to do: give `file`, `playlist`, `gain_db` or `stop = true`",
                name.get_ref()
            ),
        );
    }
    if ctx.diags.len() != before {
        return None;
    }
    let patch = if stop {
        LayerPatch::Stop
    } else if has_source {
        LayerPatch::Play {
            source: Arc::new(Source {
                files,
                looping: raw.looping.unwrap_or(true),
                crossfade: crossfade.unwrap_or(DEFAULT_PLAYLIST_CROSSFADE),
            }),
            gain: gain_db,
        }
    } else {
        LayerPatch::Gain(gain_db?)
    };
    Some((patch, fade, curve))
}

fn resolve_light_target(ctx: &mut Ctx<'_>, name: &Str, raw: &RawLightTarget) -> Option<LightCue> {
    let before = ctx.diags.len();
    let level = raw
        .level
        .as_ref()
        .and_then(|n| ctx.range(n, "level", 0.0, 1.0))
        .map(|v| v as f32);
    if let (Some(_), Some(c)) = (&raw.kelvin, &raw.color) {
        ctx.error(c.span(), "give either `kelvin` or `color`, not both");
    }
    let mut color = raw
        .kelvin
        .as_ref()
        .and_then(|k| ctx.kelvin(k))
        .map(LightColor::Kelvin);
    if let Some(c) = raw.color.as_ref().and_then(|c| ctx.color(c)) {
        color = Some(LightColor::Rgb(c));
    }
    let fade = ctx.positive_opt(raw.fade.as_ref(), "fade");
    let curve = match &raw.curve {
        Some(c) if c.get_ref() == "equal-power" => {
            ctx.error(
                c.span(),
                "`equal-power` is for audio crossfades; lights fade in perceived lightness: use `linear` or `s-curve`",
            );
            None
        }
        Some(c) => ctx
            .one_of(c, "light curve", &LIGHT_CURVES)
            .and_then(Curve::from_name),
        None => None,
    }
    .unwrap_or(Curve::Linear);
    let effect_name = raw
        .effect
        .as_ref()
        .and_then(|e| ctx.one_of(e, "effect", &EFFECTS));
    let depth = raw
        .depth
        .as_ref()
        .and_then(|n| ctx.range(n, "depth", 0.0, 1.0))
        .map(|v| v as f32);
    let interval = raw
        .interval
        .as_ref()
        .and_then(|i| ctx.positive(i, "interval"));
    let per_minute = raw
        .per_minute
        .as_ref()
        .and_then(|n| ctx.range(n, "per_minute", 1.0, 30.0))
        .map(|v| v as f32);
    let param_needs = [
        (
            "depth",
            raw.depth.as_ref().map(Spanned::span),
            &["candle", "breathe"][..],
        ),
        (
            "interval",
            raw.interval.as_ref().map(Spanned::span),
            &["candle"][..],
        ),
        (
            "per_minute",
            raw.per_minute.as_ref().map(Spanned::span),
            &["breathe"][..],
        ),
    ];
    for (key, span, effects) in param_needs {
        if let Some(span) = span
            && !effect_name.is_some_and(|e| effects.contains(&e))
        {
            let wanted = effects
                .iter()
                .map(|e| format!("`effect = \"{e}\"`"))
                .collect::<Vec<_>>()
                .join(" or ");
            ctx.error(span, format!("`{key}` needs {wanted} in the same target"));
        }
    }
    let effect = effect_name.map(|e| match e {
        "candle" => Effect::Candle {
            depth: depth.unwrap_or(0.15),
            interval: interval.unwrap_or(Duration::from_secs(2)),
        },
        "breathe" => Effect::Breathe {
            per_minute: per_minute.unwrap_or(6.0),
            depth: depth.unwrap_or(0.3),
        },
        _ => Effect::None,
    });
    if level.is_none() && color.is_none() && effect.is_none() && ctx.diags.len() == before {
        if ctx.cut {
            return None;
        }
        ctx.error(
            name.span(),
            format!(
                "light `{}` says nothing to do: give `level`, `kelvin`, `color` or `effect`",
                name.get_ref()
            ),
        );
    }
    (ctx.diags.len() == before).then(|| LightCue {
        target: name.get_ref().clone(),
        lights: Vec::new(),
        level,
        color,
        effect,
        fade,
        curve,
    })
}
