//! Which of a cue's light entries wins for a light that several of them name (a group and one
//! of its members, two overlapping groups). Owns that rule and nothing else; pure, no I/O.
//!
//! The rule depends on what the entries say, never on their names: a light named on its own
//! beats any group; a smaller group beats a larger one; between groups of the same size, the
//! longer fade wins, then the lower level (the gentler entry). Entries are put in order from
//! the least to the most specific, so folding them in order leaves the winner's values.
//! A light's fade and curve come from the most specific entry that sets its level (or, when
//! none does, from the most specific entry that names it).

use std::cmp::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::model::{Ceremony, Cue, LightCue, Rig};
use crate::tween::Curve;

/// A light's fade (`None`: the ceremony's transition) and curve, as its winning entry says.
pub type LightFade = (Option<Duration>, Curve);

fn order(rig: &Rig, transition: Duration, a: &LightCue, b: &LightCue) -> Ordering {
    let single = |lc: &LightCue| rig.lights.iter().any(|l| l.name == lc.target);
    let level = |lc: &LightCue| lc.level.unwrap_or(f32::INFINITY);
    single(a)
        .cmp(&single(b))
        .then(b.lights.len().cmp(&a.lights.len()))
        .then(
            a.fade
                .unwrap_or(transition)
                .cmp(&b.fade.unwrap_or(transition)),
        )
        .then(level(b).total_cmp(&level(a)))
        .then_with(|| {
            let rest = |lc: &LightCue| format!("{:?}", (lc.color, lc.effect, lc.curve));
            rest(a).cmp(&rest(b))
        })
}

/// `ceremony` with every cue's light entries in precedence order (the same `Arc` when they
/// already are).
#[must_use]
pub fn ordered(ceremony: Arc<Ceremony>, rig: &Rig) -> Arc<Ceremony> {
    let t = ceremony.transition;
    let in_order = |cue: &Cue| {
        cue.lights
            .windows(2)
            .all(|w| order(rig, t, &w[0], &w[1]) != Ordering::Greater)
    };
    let all_in_order = ceremony
        .phases
        .iter()
        .all(|p| p.scene.cues.iter().all(in_order));
    if all_in_order {
        return ceremony;
    }
    let mut c = (*ceremony).clone();
    for phase in &mut c.phases {
        let mut scene = (*phase.scene).clone();
        for cue in &mut scene.cues {
            cue.lights.sort_by(|a, b| order(rig, t, a, b));
        }
        phase.scene = Arc::new(scene);
    }
    Arc::new(c)
}

/// Folds the fades of `cue`'s light entries (already [`ordered`]) into `fades`, per light.
/// `sets_level` remembers which lights got their fade from an entry that sets the level; pass
/// the same slices for several cues at one offset, in cue order.
pub fn fold_fades(cue: &Cue, fades: &mut [Option<LightFade>], sets_level: &mut [bool]) {
    for lc in &cue.lights {
        for &i in &lc.lights {
            if lc.level.is_some() || !sets_level[i] {
                fades[i] = Some((lc.fade, lc.curve));
                sets_level[i] = lc.level.is_some();
            }
        }
    }
}
