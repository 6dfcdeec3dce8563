//! A scene's cues into the [`Scene`]: times, layer targets (sources, gains, fades, sound
//! files found and probed), light targets (levels, colours, effects) and one-shot sounds,
//! each problem at its span.

use super::*;

/// Scenes with more cues than this are read a cue at a time ([`Loader::scene_in_parts`]).
pub(super) const PARTS_FROM: usize = 256;

/// Resolves `raw` cues into `out`, each with the span of its `at` in the whole file.
pub(super) fn resolve_cues(
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
pub(super) fn scene_of(
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
