//! The room as the script wants it: what each layer plays and where each light is, and the
//! fold of one cue into that. Pure data: it knows nothing of time, fades or outputs (the
//! engine decides when a cue is folded in; `sync` tells the outputs).

use std::sync::Arc;

use crate::lights::target::{Effect, LightTarget};
use crate::model::{Cue, LayerPatch, Rig, Source};
use crate::units::Decibels;

/// What a layer plays, as far as the room is concerned.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerState {
    /// The source, or `None` when the layer is silent.
    pub source: Option<Arc<Source>>,
    /// Its gain.
    pub gain: Decibels,
}

/// The room: every layer and every light. Lights the ceremony has not touched yet are `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomState {
    /// Per layer of the rig.
    pub layers: Vec<LayerState>,
    /// Per light of the rig.
    pub lights: Vec<Option<LightTarget>>,
}

impl RoomState {
    pub(super) fn silent(rig: &Rig) -> Self {
        Self {
            layers: vec![
                LayerState {
                    source: None,
                    gain: Decibels(0.0),
                };
                rig.layers.len()
            ],
            lights: vec![None; rig.lights.len()],
        }
    }

    /// Folds one cue into the room.
    pub(super) fn apply(&mut self, cue: &Cue) {
        for lc in &cue.layers {
            let layer = &mut self.layers[lc.layer];
            match &lc.change {
                LayerPatch::Play { source, gain } => {
                    layer.source = Some(Arc::clone(source));
                    if let Some(g) = gain {
                        layer.gain = *g;
                    }
                }
                LayerPatch::Gain(g) => layer.gain = *g,
                LayerPatch::Stop => layer.source = None,
            }
        }
        for lc in &cue.lights {
            for &i in &lc.lights {
                let mut t = self.lights[i].unwrap_or(LightTarget {
                    level: 0.0,
                    color: None,
                    effect: Effect::None,
                });
                if let Some(level) = lc.level {
                    t.level = level;
                }
                if let Some(color) = lc.color {
                    t.color = Some(color);
                }
                if let Some(effect) = lc.effect {
                    t.effect = effect;
                }
                self.lights[i] = Some(t);
            }
        }
    }
}
