//! A ceremony file into a [`Ceremony`] with its rig: finding the rig and the sounds folder,
//! the ceremony's own settings, each phase (its id, timing and scene file), every scene read
//! against the rig, cues that fall after an auto phase ends, and remote bindings that `goto`
//! a phase the ceremony lacks. Scenes and rigs are read through the [`Loader`]'s caches; this
//! file does not resolve their tables itself.

use super::*;
use crate::config::diag::Diagnostic;

impl Loader {
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
                let (line, _) = Diagnostic::new(ctx.file, first_span.clone(), "").line_col();
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
                        let (line, _) =
                            Diagnostic::new(&file, p.after_span.clone().unwrap_or(0..0), "")
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
