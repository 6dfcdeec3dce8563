//! The "no startle" invariant checker. It reads only what left sanctum (the mixer's samples,
//! the drivers' payloads) and the engine's events (what the script asked for, with its fades),
//! and says where the room was startled.
//!
//! ## The audio envelope bound
//! Every voice `i` plays a periodic signal `xᵢ` (period dividing T = 10 ms) under an effective
//! gain `gᵢ(t)` (its ramp × layer trim × master); the output is `s(t) = Σ gᵢ(t)·xᵢ(t)`. The
//! window RMS `R(w)` is the L² norm of `s` over window `w` divided by √N. Shifting window
//! `w+1` back by T, `xᵢ` is unchanged, so by Minkowski's inequality
//!
//! ```text
//! |R(w+1) − R(w)| ≤ Σᵢ rms(xᵢ) · max over the window |gᵢ(t+T) − gᵢ(t)| ≤ T · Σᵢ rms(xᵢ) · max|gᵢ'|
//! ```
//!
//! A ramp from a to b over F along a curve c has `max|g'| = κ(c)·|b − a| / F` with κ = π/2 for
//! equal-power (the slope of sin at 0), 1.5 for the s-curve (6p(1−p) at ½), 1 for linear; the
//! mixer's 32-frame linear segments are chords of the curve, so they are no steeper (mean value
//! theorem). So between two windows the envelope may change by at most
//!
//! ```text
//! ΔR ≤ ε + T · Σ over ramps in motion near w of κ · span · rms / F
//! ```
//!
//! with span the ramp's amplitude range (from wherever the layer may be when it starts: a
//! change during a ramp starts between that ramp's start and its target) and ε = 10⁻⁴
//! (−80 dBFS, silence) + 1 % of the level, for rounding and the mixer's 50 ms loop-point
//! crossfades (a steady tone's RMS moves by a fraction of a percent across one). Windows
//! within 20 ms of a one-shot's start are exempt (a chime's attack is its content); its linear
//! decay is a ramp like any other, and so is a stop's or the finish's fade of every voice from
//! wherever it is (also when a stop hurries the finish, which sends no layer events). A cut
//! of a voice at amplitude a drops R by a·rms in one window, where this bound, with the
//! shortest fade in the grammar (0.5 s), allows at most
//! 10 ms · π/2 · a·rms / 0.5 s ≈ 0.03·a·rms per ramp in motion: a cut fails it by 30×.

use std::f32::consts::FRAC_PI_2;
use std::time::Duration;

use sanctum::lights::effects::swing as swing_of;
use sanctum::lights::options::LightOptions;
use sanctum::lights::target::Effect;
use sanctum::timeline::{Action, EndKind, LayerChange};
use sanctum::tween::{Curve, Ramp};
use sanctum::units::Decibels;

use super::harness::{Outcome, SHUTDOWN_WITHIN, WINDOW};
use super::{CHIMES, Case, LayerOp, PEAK, RATE};

/// Length of a window.
const T: f32 = WINDOW as f32 / RATE as f32;
/// Rounding allowance on the envelope: −80 dBFS, the level the issue calls silence.
const EPSILON: f32 = 1e-4;
/// Relative slack for a steady voice: a loop whose end does not meet its start smoothly gets a
/// 50 ms crossfade at the loop point, which moves the RMS of a tone by a fraction of a percent.
const LOOP_SLACK: f32 = 0.01;
/// −80 dBFS.
const SILENT: f32 = 1e-4;
/// RMS of a tone at full gain.
const TONE_RMS: f32 = PEAK * std::f32::consts::FRAC_1_SQRT_2;
/// Slack in windows around a ramp (limiter look-ahead, block starts).
const MARGIN: f32 = 2.0 * T;

fn kappa(curve: Curve) -> f32 {
    match curve {
        Curve::EqualPower => FRAC_PI_2,
        Curve::SCurve => 1.5,
        Curve::Linear => 1.0,
    }
}

/// A gain in motion: from `start` to `start + len` (seconds on its clock), moving the
/// envelope at most `rate` per second.
#[derive(Debug, Clone, Copy)]
struct Motion {
    start: f32,
    len: f32,
    rate: f32,
    /// On active time (paused fades hold) rather than engine time.
    active: bool,
}

/// Engine time → active time (paused spans removed), from the events.
struct Pauses(Vec<(f32, f32)>);

impl Pauses {
    fn from(out: &Outcome) -> Self {
        let mut spans = Vec::new();
        let mut since = None;
        for e in &out.events {
            match e.action {
                Action::Paused => since = Some(e.at.as_secs_f32()),
                Action::Resumed => {
                    if let Some(s) = since.take() {
                        spans.push((s, e.at.as_secs_f32()));
                    }
                }
                _ => {}
            }
        }
        if let Some(s) = since {
            spans.push((s, f32::MAX));
        }
        Self(spans)
    }

    fn active(&self, t: f32) -> f32 {
        let mut a = t;
        for &(s, e) in &self.0 {
            if t > s {
                a -= t.min(e) - s;
            }
        }
        a
    }
}

fn secs(d: Duration) -> f32 {
    d.as_secs_f32()
}

/// Checks the audio invariants: the envelope bound and silence before the end.
pub fn audio(case: &Case, out: &Outcome) -> Result<(), String> {
    let pauses = Pauses::from(out);
    let trims: Vec<f32> = out.rig.layers.iter().map(|l| l.gain.amplitude()).collect();
    let mut layer_amp = vec![0.0f32; trims.len()];
    // Each layer's last ramp (end, from): a change that comes while it is still in
    // motion starts from somewhere between its `from` and its target, not from the target.
    let mut layer_ramp = vec![(0.0f32, 0.0f32); trims.len()];
    let mut master = out.rig.volume.amplitude();
    let loudest = out.rig.max_volume.amplitude();
    let mut motions = Vec::new();
    let mut attacks = Vec::new();
    // One-shots: (start, length, amplitude).
    let mut shots: Vec<(f32, f32, f32)> = Vec::new();
    // Playlists crossfade track to track inside the decoder, whenever their tracks end.
    for p in &case.phases {
        for c in &p.cues {
            for (l, op) in &c.layers {
                if let LayerOp::Play {
                    tones, crossfade, ..
                } = op
                    && tones.len() > 1
                {
                    let rate = FRAC_PI_2 * trims[*l] * TONE_RMS / (*crossfade as f32 / 1000.0);
                    motions.push(Motion {
                        start: 0.0,
                        len: f32::MAX,
                        rate: 2.0 * rate,
                        active: false,
                    });
                }
            }
        }
    }
    for e in &out.events {
        let at = secs(e.at);
        let act = pauses.active(at);
        match &e.action {
            Action::Layer { layer, change } => {
                // A louder master later in the ramp steepens it: take the loudest allowed.
                let trim = trims[*layer] * loudest;
                let target = layer_amp[*layer];
                let (end, from) = layer_ramp[*layer];
                let old = if act < end { target.max(from) } else { target };
                let (fade, curve, spans, new) = match change {
                    LayerChange::Play {
                        gain, fade, curve, ..
                    } => (*fade, *curve, vec![gain.amplitude(), old], gain.amplitude()),
                    LayerChange::Gain { gain, fade, curve } => (
                        *fade,
                        *curve,
                        vec![
                            (gain.amplitude() - old)
                                .abs()
                                .max((gain.amplitude() - target).abs()),
                        ],
                        gain.amplitude(),
                    ),
                    LayerChange::Stop { fade, curve } => (*fade, *curve, vec![old], 0.0),
                };
                let len = secs(fade.max(Duration::from_millis(5)));
                layer_ramp[*layer] = (act + len, old);
                for span in spans {
                    motions.push(Motion {
                        start: act,
                        len,
                        rate: kappa(curve) * span * trim * TONE_RMS / len,
                        active: true,
                    });
                }
                layer_amp[*layer] = new;
            }
            Action::Master { gain, fade } => {
                let all: f32 = layer_amp.iter().zip(&trims).map(|(a, t)| a * t).sum();
                let len = secs(*fade);
                motions.push(Motion {
                    start: act,
                    len,
                    rate: 1.5 * all * TONE_RMS * (gain.amplitude() - master).abs() / len,
                    active: true,
                });
                master = master.max(gain.amplitude());
            }
            Action::Stopping { fade } | Action::Finishing { fade } => {
                // The mixer fades every voice out over `fade` (equal power) from wherever it
                // is, voices already fading out and one-shots included (`fade_all`); a stop
                // during the finish hurries it this way, with no layer events of its own.
                let layers: f32 = (0..trims.len())
                    .map(|l| {
                        let (end, from) = layer_ramp[l];
                        let level = if act < end {
                            layer_amp[l].max(from)
                        } else {
                            layer_amp[l]
                        };
                        level * trims[l]
                    })
                    .sum();
                let chimes: f32 = shots
                    .iter()
                    .filter(|(start, len, _)| at < start + len)
                    .map(|(_, _, amp)| amp)
                    .sum();
                let len = secs(*fade).max(5e-3);
                motions.push(Motion {
                    start: act,
                    len,
                    rate: FRAC_PI_2 * (layers * loudest + chimes) * TONE_RMS / len,
                    active: true,
                });
            }
            Action::OneShot { file, gain } => {
                let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
                let len = CHIMES
                    .iter()
                    .find(|c| c.0 == name)
                    .map_or(1.0, |c| c.2 as f32 / 1000.0);
                attacks.push(at);
                shots.push((at, len, gain.amplitude() * loudest));
                motions.push(Motion {
                    start: at,
                    len,
                    rate: gain.amplitude() * loudest * TONE_RMS / len,
                    active: false,
                });
            }
            _ => {}
        }
    }
    let env = &out.envelope;
    for w in 0..env.len().saturating_sub(1) {
        let t0 = w as f32 * T;
        let t1 = t0 + 2.0 * T;
        if attacks.iter().any(|&a| a >= t0 - 2.0 * T && a <= t1) {
            continue;
        }
        let (a0, a1) = (pauses.active(t0), pauses.active(t1));
        let moving: f32 = motions
            .iter()
            .filter(|m| {
                let (lo, hi) = if m.active { (a0, a1) } else { (t0, t1) };
                m.start <= hi + MARGIN && m.start + m.len >= lo - MARGIN
            })
            .map(|m| m.rate)
            .sum();
        let bound = EPSILON + LOOP_SLACK * env[w].max(env[w + 1]) + T * moving;
        let delta = (env[w + 1] - env[w]).abs();
        if delta > bound {
            return Err(format!(
                "audio: the envelope jumps {:.1} → {:.1} dBFS between {t0:.2} s and {:.2} s ({delta:.2e} > bound {bound:.2e})",
                Decibels::from_amplitude(env[w]).0,
                Decibels::from_amplitude(env[w + 1]).0,
                t0 + T
            ));
        }
    }
    let (end, _) = out.end;
    let last = (secs(end) / T).floor() as usize;
    if last >= 1 && env[last - 1] > SILENT {
        return Err(format!(
            "audio: the output ends at {:.2} s still at {:.1} dBFS (not −80 dBFS or below)",
            secs(end),
            Decibels::from_amplitude(env[last - 1]).0
        ));
    }
    Ok(())
}

/// A light command read back from a driver's payload.
#[derive(Debug, Clone, Copy)]
struct Seen {
    on: bool,
    /// Device fraction 0..=1 (absent when only the colour changes).
    device: Option<f32>,
    transition: f32,
}

fn read(topic: &str, payload: &str) -> Seen {
    if topic.starts_with("cmnd/") {
        let mut s = Seen {
            on: true,
            device: None,
            transition: 0.0,
        };
        for part in payload.split(';').map(str::trim) {
            let mut words = part.split_whitespace();
            match (words.next(), words.next()) {
                (Some("Power"), Some("OFF")) | (Some("OFF"), None) => s.on = false,
                (Some("Speed2"), Some(n)) => s.transition = n.parse::<f32>().unwrap() * 0.5,
                (Some("Dimmer" | "Dimmer3"), Some(n)) => {
                    s.device = Some(n.parse::<f32>().unwrap() / 100.0);
                }
                _ => {}
            }
        }
        if payload == "OFF" {
            s.on = false;
        }
        return s;
    }
    let v: serde_json::Value = serde_json::from_str(payload).unwrap();
    if topic.ends_with("/api") {
        return Seen {
            on: v["on"] != false,
            device: v["bri"].as_f64().map(|b| b as f32 / 255.0),
            transition: v["tt"].as_f64().unwrap_or(0.0) as f32 / 10.0,
        };
    }
    let scale = if topic.ends_with("/set") {
        254.0
    } else {
        255.0
    };
    Seen {
        on: v["state"] != "OFF",
        device: v["brightness"].as_f64().map(|b| b as f32 / scale),
        transition: v["transition"].as_f64().unwrap_or(0.0) as f32,
    }
}

fn perceived(opts: &LightOptions, device: f32) -> f32 {
    opts.perceived_from_device(device)
}

/// Perceived size of one device step at perceived level `p`, plus the light's lowest step.
fn resolution(opts: &LightOptions, p: f32, step: f32) -> f32 {
    let d = opts.device_from_perceived(p);
    let up = perceived(opts, (d + step).min(1.0)) - perceived(opts, d);
    let low = perceived(opts, opts.caps.min_level + 2.0 * step);
    up.max(low)
}

/// Slack on a light's move, in perceived lightness (5 L*): device rounding of levels and
/// transitions, and the checker's straight-line reading of a device's glide. A snap of a
/// lit bulb to dark, or to a level the scene reaches only over seconds, is far larger.
const SLACK_L: f32 = 0.05;

/// A light level in motion (engine ramp or effect), on active time.
#[derive(Debug, Clone, Copy)]
struct LightMotion {
    start: f32,
    end: f32,
    rate: f32,
    /// An effect's own motion, which rides on the fade (the two add up while it blends in).
    effect: bool,
}

/// The perceived level a light shows just before `at`, reading its messages as the device
/// does: each glides in a straight line from where the light was over its transition.
fn shown_at(mine: &[(f32, Seen)], opts: &LightOptions, at: f32) -> f32 {
    let (mut from, mut to, mut t0, mut len) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
    let level = |t: f32, from: f32, to: f32, t0: f32, len: f32| {
        if len <= 0.0 || t >= t0 + len {
            to
        } else {
            from + (to - from) * (t - t0) / len
        }
    };
    for &(t, seen) in mine.iter().take_while(|(t, _)| *t < at) {
        let shown = level(t, from, to, t0, len);
        let target = if seen.on {
            seen.device.map_or(shown, |d| perceived(opts, d))
        } else {
            0.0
        };
        (from, to, t0, len) = (shown, target, t, seen.transition);
    }
    level(at, from, to, t0, len)
}

/// Checks the light invariants: moves covered and never faster than asked, an explicit off
/// after the finish, the safe light after a stop, and the message rate.
pub fn lights(out: &Outcome) -> Result<(), String> {
    let pauses = Pauses::from(out);
    let n = out.specs.len();
    let mut motions: Vec<Vec<LightMotion>> = vec![Vec::new(); n];
    let mut level = vec![0.0f32; n];
    let mut swing = vec![0.0f32; n];
    let mut ramps = vec![(Ramp::hold(0.0), 0.0f32); n];
    let mines: Vec<Vec<(f32, Seen)>> = (0..n)
        .map(|i| {
            out.publishes
                .iter()
                .filter(|(_, l, _)| *l == i)
                .map(|(t, _, p)| (secs(*t), read(&p.topic, &p.payload)))
                .collect()
        })
        .collect();
    let mut kappas = vec![1.0f32; n];
    let mut paused_at = 0.0f32;
    for (j, e) in out.events.iter().enumerate() {
        if matches!(e.action, Action::Paused) {
            paused_at = secs(e.at);
        }
        if matches!(e.action, Action::Resumed) {
            // A resumed fade goes on from where the pause froze the light, which is where
            // the device was (it may lag the plan when its message rate held a command back),
            // and keeps its remaining time.
            let start = pauses.active(secs(e.at));
            for (i, m) in motions.iter_mut().enumerate() {
                let Some(last) = m.last().copied().filter(|l| l.end > start) else {
                    continue;
                };
                let device = shown_at(&mines[i], &out.specs[i].options, secs(e.at));
                let remaining = (last.end - start).max(1e-3);
                m.push(LightMotion {
                    start,
                    end: last.end,
                    rate: kappas[i] * ((level[i] - device).abs() + swing[i]) / remaining,
                    effect: false,
                });
            }
            // And a device glide the pause froze goes on at its own pace.
            for (i, m) in motions.iter_mut().enumerate() {
                let opts = &out.specs[i].options;
                let mine = &mines[i];
                let Some(k) = mine.iter().rposition(|(t, _)| *t < paused_at) else {
                    continue;
                };
                let (t, seen) = mine[k];
                if seen.transition <= 0.0 || t + seen.transition <= paused_at {
                    continue;
                }
                let from = shown_at(mine, opts, t);
                let to = if seen.on {
                    seen.device.map_or(from, |d| perceived(opts, d))
                } else {
                    0.0
                };
                m.push(LightMotion {
                    start,
                    end: start + (t + seen.transition - paused_at),
                    rate: (to - from).abs() / seen.transition,
                    effect: false,
                });
            }
            continue;
        }
        if let Action::Light {
            light,
            target,
            fade,
            curve,
        } = &e.action
        {
            let start = pauses.active(secs(e.at));
            let len = secs(*fade).max(1e-3);
            let k = kappa(*curve);
            kappas[*light] = k;
            // The new ramp starts wherever the previous one had got to.
            let (ramp, since) = ramps[*light];
            let now_level = ramp.value(Duration::from_secs_f32((start - since).max(0.0)));
            // A cue's fade runs from wherever the light is: the engine's ramp, or where the
            // device really is when the cue reaches it (its message rate may hold the cue's
            // first command back while the light glides on).
            let opts = &out.specs[*light].options;
            // The first message the light got after the cue reached the controller (one at
            // the cue's very instant may still be the old plan's, gliding on).
            let reached = out
                .publishes
                .iter()
                .zip(&out.heard)
                .find(|((_, l, _), heard)| *l == *light && **heard > j)
                .map_or(secs(e.at), |((t, _, _), _)| secs(*t));
            let device = shown_at(&mines[*light], opts, reached);
            let span = (target.level - now_level)
                .abs()
                .max((target.level - device).abs());
            ramps[*light] = (
                Ramp {
                    from: now_level,
                    to: target.level,
                    duration: *fade,
                    curve: *curve,
                },
                start,
            );
            let m = &mut motions[*light];
            // A new target ends whatever ran before (the effect, too), and starts from
            // wherever that left the light: the level, give or take the effect's swing.
            for prev in m.iter_mut() {
                prev.end = prev.end.min(start);
            }
            // A device that hears the cue late (its message rate held the first command
            // back) finishes the fade as late: it may go on at the fade's rate for as long.
            let lag = (reached - secs(e.at)).max(0.0);
            // And the engine takes the fade up from where the device is by then at no more
            // than the fade's average speed (`Fade::rest_from`): a device that glided on away
            // from the target meanwhile takes as much longer.
            let at_cue = (target.level - shown_at(&mines[*light], opts, secs(e.at))).abs();
            let stretch = if at_cue > 1e-3 {
                ((target.level - device).abs() / at_cue).max(1.0)
            } else {
                1.0
            };
            m.push(LightMotion {
                start,
                end: start + lag + len * stretch,
                rate: k * (span + swing[*light]) / len,
                effect: false,
            });
            let spacing = opts.min_spacing().as_secs_f32();
            let effect_swing = match target.effect {
                Effect::None => 0.0,
                Effect::Candle { depth, .. } => 2.0 * swing_of(depth, target.level, opts),
                Effect::Breathe { depth, per_minute } => {
                    2.0 * swing_of(depth, target.level, opts)
                        * (spacing * per_minute / 60.0 * 4.0).max(1.0)
                }
            };
            if effect_swing > 0.0 {
                // The effect blends in from the start of the fade, on top of it.
                m.push(LightMotion {
                    start,
                    end: f32::MAX,
                    rate: 1.2 * effect_swing / spacing,
                    effect: true,
                });
            }
            level[*light] = target.level;
            swing[*light] = effect_swing;
        }
    }
    let (end, kind) = out.end;
    for (i, spec) in out.specs.iter().enumerate() {
        let opts = &spec.options;
        let step = match opts.kind() {
            sanctum::lights::DriverKind::Tasmota => 0.01,
            sanctum::lights::DriverKind::Zigbee2Mqtt => 1.0 / 254.0,
            _ => 1.0 / 255.0,
        };
        let mine = &mines[i];
        // The message rate: distinct send times at least the light's spacing apart.
        let spacing = opts.min_spacing().as_secs_f32();
        for w in mine.windows(2) {
            let gap = w[1].0 - w[0].0;
            if gap > 0.0 && gap < spacing - 1e-3 {
                return Err(format!(
                    "lights: {} got two messages {gap:.3} s apart at {:.2} s (its rate allows one per {spacing:.2} s)",
                    spec.address, w[1].0
                ));
            }
        }
        // Every change covered and never faster than the engine's ramps (and effects) allow.
        let (mut from, mut to, mut t0, mut len) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
        let mut last_at: Option<f32> = None;
        for &(t, seen) in mine {
            let shown = if len <= 0.0 || t >= t0 + len {
                to
            } else {
                from + (to - from) * (t - t0) / len
            };
            let target = if seen.on {
                seen.device.map_or(shown, |d| perceived(opts, d))
            } else {
                0.0
            };
            let jump = (target - shown).abs();
            let cover = if seen.transition > 0.0 {
                seen.transition
            } else {
                last_at.map_or(0.0, |l| t - l)
            };
            let (a0, a1) = (
                pauses.active(t - cover.max(seen.transition)),
                pauses.active(t + seen.transition),
            );
            let fastest = |effect: bool| {
                motions[i]
                    .iter()
                    .filter(|m| m.effect == effect && m.start <= a1 + 0.05 && m.end >= a0 - 0.05)
                    .map(|m| m.rate)
                    .fold(0.0f32, f32::max)
            };
            let rate = fastest(false) + fastest(true);
            let allowed = cover * rate + SLACK_L + resolution(opts, target.max(shown), step);
            if jump > allowed {
                return Err(format!(
                    "lights: {} moves {shown:.3} → {target:.3} at {t:.2} s over {cover:.2} s (allowed {allowed:.3})",
                    spec.address
                ));
            }
            (from, to, t0, len, last_at) = (shown, target, t, seen.transition, Some(t));
        }
        let Some(&(t_last, last)) = mine.last() else {
            continue;
        };
        match kind {
            EndKind::Finished => {
                if last.on {
                    return Err(format!(
                        "lights: after the finish at {:.2} s, {} was last told {last:?} at {t_last:.2} s, never an explicit off",
                        secs(end),
                        spec.address
                    ));
                }
            }
            EndKind::Stopped => {
                let safe = out.rig.safe_light.level;
                let shown = last.device.map_or(-1.0, |d| perceived(opts, d));
                if !last.on || (shown - safe).abs() > resolution(opts, safe, step) + 0.01 {
                    return Err(format!(
                        "lights: after the stop, {} was last told {last:?} (perceived {shown:.3}), not the safe light {safe:.2}",
                        spec.address
                    ));
                }
            }
        }
        if t_last > secs(end + SHUTDOWN_WITHIN) {
            return Err(format!(
                "lights: {} got a message after the bus closed",
                spec.address
            ));
        }
    }
    Ok(())
}

/// The same case with groups renamed must send exactly the same light messages.
pub fn name_blind(out: &Outcome, twin: &Outcome) -> Result<(), String> {
    let a: Vec<_> = out.publishes.iter().collect();
    let b: Vec<_> = twin.publishes.iter().collect();
    if let Some(k) = (0..a.len().max(b.len())).find(|&k| a.get(k) != b.get(k)) {
        return Err(format!(
            "names: renaming groups changed the light messages; first difference #{k}: {:?} vs {:?}",
            a.get(k),
            b.get(k)
        ));
    }
    Ok(())
}
