//! Offline rendering of a whole ceremony: drives the engine on virtual time, presses `next`
//! where a manual phase would wait, and pulls the mixer through a WAV file between deadlines.
//! Owns the virtual clock of a render and the manual-phase policy; must not read the real
//! clock (progress is reported as positions in the ceremony) and must not mix.

use std::fmt;
use std::time::Duration;

use crate::audio::{AudioBackend, BackendError, WavBackend};
use crate::command::Command;
use crate::model::{Advance, Ceremony, Phase};
use crate::run::{Output, deliver};
use crate::timeline::{Action, Event, Timeline};
use crate::units::{format_clock, format_duration, frames, parse_duration};

/// The shortest phase the `min` policy gives a manual phase that has no `min` of its own.
pub const SCRIPT_FLOOR: Duration = Duration::from_secs(60);

/// How long a manual phase lasts in a render, where nobody is there to press `next`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManualAfter {
    /// Each manual phase lasts its `min`; one without `min` lasts until its script has played
    /// out (its last cue plus that cue's longest fade), but at least [`SCRIPT_FLOOR`].
    Min,
    /// Every manual phase lasts this long.
    Fixed(Duration),
}

impl ManualAfter {
    /// Reads `min` or a duration such as `5m` or `90s`.
    ///
    /// # Errors
    /// When the text is neither.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t == "min" {
            return Ok(Self::Min);
        }
        match parse_duration(t) {
            Ok(d) if !d.is_zero() => Ok(Self::Fixed(d)),
            Ok(_) => Err("a manual phase must last longer than 0s".to_owned()),
            Err(e) => Err(format!("{e}; or `min` for each phase's minimum time")),
        }
    }

    /// How long `phase` lasts under this policy (`None` for a phase that moves on by itself).
    #[must_use]
    pub fn length(self, phase: &Phase, transition: Duration) -> Option<Duration> {
        if let Advance::After(_) = phase.advance {
            return None;
        }
        Some(match self {
            Self::Fixed(d) => d,
            Self::Min => phase
                .min
                .unwrap_or_else(|| script_length(phase, transition).max(SCRIPT_FLOOR)),
        })
    }
}

impl fmt::Display for ManualAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Min => f.write_str("min"),
            Self::Fixed(d) => f.write_str(&format_duration(*d)),
        }
    }
}

/// When the last cue of `phase` has finished moving: its offset plus its longest fade.
fn script_length(phase: &Phase, transition: Duration) -> Duration {
    phase
        .scene
        .cues
        .iter()
        .map(|cue| {
            let layer_fades = cue.layers.iter().map(|l| l.fade.unwrap_or(transition));
            let light_fades = cue.lights.iter().map(|l| l.fade.unwrap_or(transition));
            cue.at + layer_fades.chain(light_fades).max().unwrap_or_default()
        })
        .max()
        .unwrap_or_default()
}

/// Why a render failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The WAV file could not be written.
    #[error("failed to render: {0}")]
    Output(#[from] BackendError),
    /// The engine refused the `next` that ends a manual phase.
    #[error("failed to render: `next` at {at} in phase `{phase}` changed nothing ({why})")]
    Stuck {
        /// Ceremony time.
        at: String,
        /// The phase that would not end.
        phase: String,
        /// The engine's reason.
        why: String,
    },
    /// The engine has nothing due and no manual phase to end (it cannot happen with a
    /// started ceremony; reported rather than looped on).
    #[error("failed to render: the ceremony stopped moving at {0}")]
    Stalled(String),
}

/// One phase as the render plays it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPhase {
    /// The phase id.
    pub id: String,
    /// Ceremony time it starts.
    pub start: Duration,
    /// Whether a (virtual) `next` ends it.
    pub manual: bool,
}

/// The whole render, worked out before any audio is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Phases in the order they play.
    pub phases: Vec<PlannedPhase>,
    /// Ceremony time at which it is over (the end of the finish fade).
    pub length: Duration,
}

/// Works out what a render of `timeline` will play, by running a copy of the engine with no
/// outputs (the engine is pure, so this takes microseconds and matches the render exactly).
///
/// # Errors
/// As for [`render`].
pub fn plan(timeline: &Timeline, policy: ManualAfter) -> Result<Plan, RenderError> {
    plan_with(timeline, policy, &mut NoOutput)
}

/// [`plan`], also handing every event of the dry run to `watcher` (with the engine as it is
/// after that step), for a picture of the plan.
///
/// # Errors
/// As for [`render`].
pub fn plan_with(
    timeline: &Timeline,
    policy: ManualAfter,
    watcher: &mut dyn Output,
) -> Result<Plan, RenderError> {
    let mut dry = timeline.clone();
    let mut phases = PhaseLog(Vec::new());
    let length = drive(&mut dry, policy, &mut [&mut phases, watcher], &mut |_| {
        Ok(())
    })?;
    Ok(Plan {
        phases: phases.0,
        length,
    })
}

/// Hears nothing.
struct NoOutput;

impl Output for NoOutput {
    fn apply(&mut self, _: &Event, _: &Timeline) {}
}

/// Records phase starts as they happen.
struct PhaseLog(Vec<PlannedPhase>);

impl Output for PhaseLog {
    fn apply(&mut self, event: &Event, timeline: &Timeline) {
        if let Action::PhaseStarted { index, id, .. } = &event.action {
            self.0.push(PlannedPhase {
                id: id.clone(),
                start: event.at,
                manual: timeline.ceremony().phases[*index].advance == Advance::Manual,
            });
        }
    }
}

/// Renders `timeline` into `wav` (already started with the mixer's processor), delivering
/// events to `outputs` (the mixer's player, a printer). `progress` hears the ceremony time
/// rendered so far, at least once per rendered second.
///
/// # Errors
/// When the file cannot be written or the engine refuses to move on.
pub fn render(
    timeline: &mut Timeline,
    policy: ManualAfter,
    wav: &mut WavBackend,
    outputs: &mut [&mut dyn Output],
    progress: &mut dyn FnMut(Duration),
) -> Result<Duration, RenderError> {
    let rate = u64::from(wav.sample_rate());
    drive(timeline, policy, outputs, &mut |to| {
        let end = frames(to, wav.sample_rate());
        while wav.frames() < end {
            wav.render_to(end.min(wav.frames() + rate))?;
            progress(Duration::from_nanos(wav.frames() * 1_000_000_000 / rate));
        }
        Ok(())
    })
}

/// Runs the engine on virtual time to its end. Before each step, `fill` is asked to make
/// everything up to that step's time; events go to `outputs`. Returns the time the ceremony
/// ended.
fn drive(
    timeline: &mut Timeline,
    policy: ManualAfter,
    outputs: &mut [&mut dyn Output],
    fill: &mut dyn FnMut(Duration) -> Result<(), RenderError>,
) -> Result<Duration, RenderError> {
    let transition = timeline.ceremony().transition;
    let mut events = Vec::new();
    let mut now = Duration::ZERO;
    if let Err(why) = timeline.command(now, &Command::Start, &mut events) {
        return Err(stuck(timeline, now, &why.to_string()));
    }
    deliver(&mut events, timeline, outputs);
    fill(now)?;
    while !timeline.is_ended() {
        let status = timeline.status(now);
        let manual_end = status
            .phase
            .zip(status.phase_started_at)
            .and_then(|(p, s)| {
                policy
                    .length(&timeline.ceremony().phases[p], transition)
                    .map(|len| s + len)
            });
        let due = match (timeline.next_deadline(), manual_end) {
            (Some(d), Some(m)) => d.min(m),
            (d, m) => d
                .or(m)
                .ok_or_else(|| RenderError::Stalled(format_clock(now)))?,
        };
        fill(due)?;
        now = due;
        timeline.advance(now, &mut events);
        let still_there = timeline.status(now).phase_started_at == status.phase_started_at;
        if manual_end == Some(now)
            && still_there
            && let Err(why) = timeline.command(now, &Command::Next, &mut events)
        {
            return Err(stuck(timeline, now, &why.to_string()));
        }
        deliver(&mut events, timeline, outputs);
    }
    fill(now)?;
    Ok(now)
}

fn stuck(timeline: &Timeline, at: Duration, why: &str) -> RenderError {
    let phase = timeline
        .status(at)
        .phase
        .map(|p| timeline.ceremony().phases[p].id.clone())
        .unwrap_or_default();
    RenderError::Stuck {
        at: format_clock(at),
        phase,
        why: why.to_owned(),
    }
}

/// The ceremony's phases and the length each gets under `policy`, for the plan printed
/// before a render.
#[must_use]
pub fn describe(ceremony: &Ceremony, plan: &Plan) -> Vec<String> {
    let mut lines = Vec::new();
    for (i, p) in plan.phases.iter().enumerate() {
        let end = plan.phases.get(i + 1).map_or(plan.length, |n| n.start);
        let how = if p.manual { "manual" } else { "auto" };
        let title = ceremony
            .phase_index(&p.id)
            .map(|i| ceremony.phases[i].title.as_str())
            .unwrap_or_default();
        lines.push(format!(
            "  {}  {:<12} {:>8}  {how:<6}  {title}",
            format_clock(p.start),
            p.id,
            format_duration(end.saturating_sub(p.start)),
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;

    fn engine_fixture() -> Timeline {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/engine");
        let loaded = crate::config::load_ceremony(&dir, None).expect("fixture loads");
        Timeline::new(Arc::new(loaded.ceremony), loaded.rig)
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn reads_min_or_a_duration() {
        assert_eq!(ManualAfter::parse(" min "), Ok(ManualAfter::Min));
        assert_eq!(ManualAfter::parse("90s"), Ok(ManualAfter::Fixed(secs(90))));
        assert_eq!(ManualAfter::parse("2m"), Ok(ManualAfter::Fixed(secs(120))));
        for bad in ["", "0s", "soon", "-5s"] {
            assert!(ManualAfter::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_fixed_time_ends_every_manual_phase_and_auto_phases_keep_theirs() {
        let timeline = engine_fixture();
        let plan = plan(&timeline, ManualAfter::Fixed(secs(10))).expect("plan");
        let got: Vec<(&str, Duration, bool)> = plan
            .phases
            .iter()
            .map(|p| (p.id.as_str(), p.start, p.manual))
            .collect();
        // one: after 20s; two: manual; three: after 1m; four: manual; then a 30 s finish fade
        // and the silence held after it.
        assert_eq!(
            got,
            [
                ("one", secs(0), false),
                ("two", secs(20), true),
                ("three", secs(30), false),
                ("four", secs(90), true),
            ]
        );
        assert_eq!(plan.length, secs(100 + 30) + crate::timeline::END_SILENCE);
    }

    #[test]
    fn min_uses_a_phases_min_else_its_script_else_a_minute() {
        let timeline = engine_fixture();
        let ceremony = timeline.ceremony();
        let transition = ceremony.transition;
        let two = &ceremony.phases[1];
        // Phase two's last cue is at 30 s with the 4 s transition as its fade.
        assert_eq!(script_length(two, transition), secs(34));
        assert_eq!(ManualAfter::Min.length(two, transition), Some(SCRIPT_FLOOR));
        let mut long = two.clone();
        let mut scene = (*long.scene).clone();
        scene.cues[1].at = secs(300);
        long.scene = Arc::new(scene);
        assert_eq!(ManualAfter::Min.length(&long, transition), Some(secs(304)));
        long.min = Some(secs(45));
        assert_eq!(ManualAfter::Min.length(&long, transition), Some(secs(45)));
        assert_eq!(
            ManualAfter::Min.length(&ceremony.phases[0], transition),
            None
        );
    }

    #[test]
    fn the_plan_matches_what_a_render_drives() {
        // The plan is a dry run of the same loop: a run with a recording output sees the same
        // phase starts and the same end.
        let mut timeline = engine_fixture();
        let policy = ManualAfter::Fixed(secs(7));
        let planned = plan(&timeline, policy).expect("plan");
        let mut log = PhaseLog(Vec::new());
        let mut filled = Vec::new();
        let end = drive(&mut timeline, policy, &mut [&mut log], &mut |t| {
            filled.push(t);
            Ok(())
        })
        .expect("drive");
        assert_eq!(log.0, planned.phases);
        assert_eq!(end, planned.length);
        assert!(
            filled.windows(2).all(|w| w[0] <= w[1]),
            "time never runs back"
        );
        assert_eq!(filled.last(), Some(&end));
    }
}
