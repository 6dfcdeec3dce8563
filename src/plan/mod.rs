//! The picture of a ceremony before it runs: the dry run of the engine on virtual time that
//! `render` plans with, sampled into lanes (each light's level, colour and effect, each audio
//! layer's gain) with the phases, cues and one-shots placed on one time line. Owns only that
//! sampling; pure (time is a parameter, nothing is read or written). `layout` places it,
//! `svg` draws it, `png` rasterises the drawing and `command` is `sanctum plan`.

pub mod command;
pub mod layout;
pub mod palette;
pub mod png;
pub mod svg;

use std::path::Path;
use std::time::Duration;

use crate::lights::target::{Effect, LightColor};
use crate::model::Rig;
use crate::render::{self, ManualAfter, RenderError};
use crate::run::Output;
use crate::timeline::{Action, Event, LayerChange, Timeline};
use crate::units::Decibels;

/// A ceremony as it will play, sampled for drawing and printing.
#[derive(Debug, Clone)]
pub struct Picture {
    /// The ceremony's title.
    pub title: String,
    /// How long manual phases were taken to last.
    pub policy: ManualAfter,
    /// When it is over (the end of the finish fade).
    pub length: Duration,
    /// When the last phase ends and the finish fade begins.
    pub finish_at: Duration,
    /// The phases in the order they play.
    pub phases: Vec<PhaseSpan>,
    /// One lane per light, or per set of lights that do exactly the same all along.
    pub lights: Vec<LightLane>,
    /// One lane per audio layer of the rig.
    pub layers: Vec<LayerLane>,
    /// Chimes and other one-shot sounds.
    pub one_shots: Vec<OneShotMark>,
    /// Every cue as it fires.
    pub cues: Vec<CueMark>,
    /// Every event of the dry run, in order (for the printed plan).
    pub events: Vec<Event>,
}

/// One phase on the time line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseSpan {
    /// Phase id.
    pub id: String,
    /// Phase title.
    pub title: String,
    /// Ceremony time it starts.
    pub start: Duration,
    /// Ceremony time it ends.
    pub end: Duration,
    /// Whether it waits for a trigger (drawn at the length the policy gives it).
    pub manual: bool,
    /// The phase's `min`, if it has one.
    pub min: Option<Duration>,
}

/// A light lane: what one or more lights do over the ceremony.
#[derive(Debug, Clone, PartialEq)]
pub struct LightLane {
    /// A light's name, the rig group that has exactly these lights, or the names joined.
    pub name: String,
    /// Indices into the rig's lights.
    pub lights: Vec<usize>,
    /// The lane over time, in time order.
    pub samples: Vec<LightSample>,
    /// Each new target as it is sent (time and target), for labels.
    pub targets: Vec<(Duration, crate::lights::target::LightTarget)>,
}

/// A light at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LightSample {
    /// Ceremony time.
    pub at: Duration,
    /// Perceived level 0..=1, following fades as the outputs run them.
    pub level: f32,
    /// The colour it shows or is fading to (`None`: never set).
    pub color: Option<LightColor>,
    /// The effect it runs around its level.
    pub effect: Effect,
}

/// An audio layer's lane.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerLane {
    /// The layer's name in the rig.
    pub name: String,
    /// Amplitude (0..1, before master) over time, in time order.
    pub samples: Vec<(Duration, f32)>,
    /// What starts playing when, and at what gain.
    pub sources: Vec<SourceMark>,
}

/// A layer starting a new source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceMark {
    /// Ceremony time.
    pub at: Duration,
    /// File stems (`pad-a`, or `pad-f → pad-a` for a playlist).
    pub label: String,
    /// The gain it plays at.
    pub gain: Decibels,
}

/// A one-shot sound.
#[derive(Debug, Clone, PartialEq)]
pub struct OneShotMark {
    /// Ceremony time.
    pub at: Duration,
    /// File stem (`chime`).
    pub name: String,
    /// Its gain.
    pub gain: Decibels,
}

/// A cue as it fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CueMark {
    /// Ceremony time.
    pub at: Duration,
    /// Phase index.
    pub phase: usize,
    /// Its note, if any.
    pub note: Option<String>,
}

impl LightLane {
    /// The sample in force at `t` (the last one at or before it).
    #[must_use]
    pub fn at(&self, t: Duration) -> Option<&LightSample> {
        let i = self.samples.partition_point(|s| s.at <= t);
        i.checked_sub(1).map(|i| &self.samples[i])
    }
}

/// Samples what `timeline` (idle, perhaps set to start at a later phase) will do under
/// `policy`: at `columns` even steps over the whole ceremony and at every event.
///
/// # Errors
/// When the dry run cannot move on (as for [`render::plan`]).
pub fn sample(
    timeline: &Timeline,
    policy: ManualAfter,
    columns: usize,
) -> Result<Picture, RenderError> {
    let mut rec = Recorder::default();
    let plan = render::plan_with(timeline, policy, &mut rec)?;
    let ceremony = timeline.ceremony();
    let rig = timeline.rig();
    let finish_at = rec
        .events
        .iter()
        .find(|e| matches!(e.action, Action::Finishing { .. }))
        .map_or(plan.length, |e| e.at);
    let phases = plan
        .phases
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let def = ceremony.phase_index(&p.id).map(|k| &ceremony.phases[k]);
            PhaseSpan {
                id: p.id.clone(),
                title: def.map(|d| d.title.clone()).unwrap_or_default(),
                start: p.start,
                end: plan.phases.get(i + 1).map_or(finish_at, |n| n.start),
                manual: p.manual,
                min: def.and_then(|d| d.min),
            }
        })
        .collect();
    let times = sample_times(plan.length, columns, &rec.events);
    let mut lights: Vec<Vec<LightSample>> = vec![Vec::with_capacity(times.len()); rig.lights.len()];
    let mut layers: Vec<Vec<(Duration, f32)>> =
        vec![Vec::with_capacity(times.len()); rig.layers.len()];
    for &t in &times {
        let i = rec.snapshots.partition_point(|(at, _)| *at <= t);
        let Some((_, snap)) = i.checked_sub(1).map(|i| &rec.snapshots[i]) else {
            continue;
        };
        for (k, level) in snap.light_levels(t).into_iter().enumerate() {
            let target = snap.commanded().lights[k];
            lights[k].push(LightSample {
                at: t,
                level,
                color: target.and_then(|x| x.color),
                effect: target.map(|x| x.effect).unwrap_or_default(),
            });
        }
        for (k, amplitude) in snap.layer_levels(t).into_iter().enumerate() {
            layers[k].push((t, amplitude));
        }
    }
    Ok(Picture {
        title: ceremony.title.clone(),
        policy,
        length: plan.length,
        finish_at,
        phases,
        lights: light_lanes(rig, lights, &rec.events),
        layers: layer_lanes(rig, layers, &rec.events),
        one_shots: one_shots(&rec.events),
        cues: rec
            .events
            .iter()
            .filter_map(|e| match &e.action {
                Action::CueFired { phase, note, .. } => Some(CueMark {
                    at: e.at,
                    phase: *phase,
                    note: note.clone(),
                }),
                _ => None,
            })
            .collect(),
        events: rec.events,
    })
}

/// Keeps every event and the engine as it is after each step of the dry run. The engine only
/// changes in steps that emit events, so between two snapshots its levels follow its ramps.
#[derive(Default)]
struct Recorder {
    events: Vec<Event>,
    snapshots: Vec<(Duration, Timeline)>,
}

impl Output for Recorder {
    fn apply(&mut self, event: &Event, timeline: &Timeline) {
        self.events.push(event.clone());
        match self.snapshots.last_mut() {
            Some((at, snap)) if *at == event.at => *snap = timeline.clone(),
            _ => self.snapshots.push((event.at, timeline.clone())),
        }
    }
}

/// `columns + 1` even steps from 0 to `length`, and every event time, sorted, once each.
fn sample_times(length: Duration, columns: usize, events: &[Event]) -> Vec<Duration> {
    let columns = u32::try_from(columns.max(1)).unwrap_or(u32::MAX);
    let mut times: Vec<Duration> = (0..=columns).map(|i| length * i / columns).collect();
    times.extend(events.iter().map(|e| e.at));
    times.sort_unstable();
    times.dedup();
    times
}

/// One lane per light, merging lights that do exactly the same all along.
fn light_lanes(rig: &Rig, per_light: Vec<Vec<LightSample>>, events: &[Event]) -> Vec<LightLane> {
    let mut lanes: Vec<LightLane> = Vec::new();
    for (i, samples) in per_light.into_iter().enumerate() {
        if let Some(lane) = lanes.iter_mut().find(|l| l.samples == samples) {
            lane.lights.push(i);
        } else {
            lanes.push(LightLane {
                name: String::new(),
                lights: vec![i],
                samples,
                targets: Vec::new(),
            });
        }
    }
    for lane in &mut lanes {
        lane.name = lane_name(rig, &lane.lights);
        let first = lane.lights[0];
        lane.targets = events
            .iter()
            .filter_map(|e| match e.action {
                Action::Light { light, target, .. } if light == first => Some((e.at, target)),
                _ => None,
            })
            .collect();
    }
    lanes
}

/// The light's name, the group that has exactly these lights, or their names joined.
fn lane_name(rig: &Rig, lights: &[usize]) -> String {
    if let [one] = lights {
        return rig.lights[*one].name.clone();
    }
    let mut wanted = lights.to_vec();
    wanted.sort_unstable();
    let group = rig.groups.iter().find(|g| {
        let mut members = g.members.clone();
        members.sort_unstable();
        members.dedup();
        members == wanted
    });
    match group {
        Some(g) => g.name.clone(),
        None => lights
            .iter()
            .map(|&i| rig.lights[i].name.as_str())
            .collect::<Vec<_>>()
            .join(" + "),
    }
}

fn layer_lanes(
    rig: &Rig,
    per_layer: Vec<Vec<(Duration, f32)>>,
    events: &[Event],
) -> Vec<LayerLane> {
    per_layer
        .into_iter()
        .enumerate()
        .map(|(i, samples)| LayerLane {
            name: rig.layers[i].name.clone(),
            samples,
            sources: events
                .iter()
                .filter_map(|e| match &e.action {
                    Action::Layer {
                        layer,
                        change: LayerChange::Play { source, gain, .. },
                    } if *layer == i => Some(SourceMark {
                        at: e.at,
                        label: source
                            .files
                            .iter()
                            .map(|f| stem(f))
                            .collect::<Vec<_>>()
                            .join(" → "),
                        gain: *gain,
                    }),
                    _ => None,
                })
                .collect(),
        })
        .collect()
}

fn one_shots(events: &[Event]) -> Vec<OneShotMark> {
    events
        .iter()
        .filter_map(|e| match &e.action {
            Action::OneShot { file, gain } => Some(OneShotMark {
                at: e.at,
                name: stem(file),
                gain: *gain,
            }),
            _ => None,
        })
        .collect()
}

/// A file's name without folder or extension.
fn stem(path: &Path) -> String {
    path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_times_are_even_steps_plus_events_once_each() {
        let ev = |s: u64| Event {
            at: Duration::from_secs(s),
            action: Action::Paused,
        };
        let times = sample_times(Duration::from_secs(10), 5, &[ev(3), ev(4), ev(3)]);
        let secs: Vec<u64> = times.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [0, 2, 3, 4, 6, 8, 10]);
    }
}
