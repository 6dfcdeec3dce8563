//! What the engine emits: [`Action`]s at engine times ([`Event`]), with the layer changes,
//! triggers and endings they carry. Only the vocabulary: the engine decides which to emit and
//! the outputs (printer, mixer, lights, MQTT state) carry them out; nothing here acts.

use std::sync::Arc;
use std::time::Duration;

use crate::lights::target::LightTarget;
use crate::model::Source;
use crate::tween::Curve;
use crate::units::Decibels;

/// How a change to a layer is to be made.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerChange {
    /// Play `source` at `gain`, crossfading from whatever plays now.
    Play {
        /// What to play.
        source: Arc<Source>,
        /// At what gain.
        gain: Decibels,
        /// Crossfade length.
        fade: Duration,
        /// Crossfade curve.
        curve: Curve,
    },
    /// Keep the source and ramp to `gain`.
    Gain {
        /// The new gain.
        gain: Decibels,
        /// Ramp length.
        fade: Duration,
        /// Ramp curve.
        curve: Curve,
    },
    /// Fade to silence and stop.
    Stop {
        /// Fade length.
        fade: Duration,
        /// Fade curve.
        curve: Curve,
    },
}

/// What caused a phase to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The ceremony started.
    Start,
    /// A `next` command.
    Next,
    /// A `prev` command.
    Prev,
    /// A `goto` command.
    Goto,
    /// The previous phase's time ran out.
    Auto,
    /// sanctum came back after a crash or restart and took up where it was.
    Resume,
}

/// How a ceremony ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndKind {
    /// A gentle stop.
    Stopped,
    /// The last phase ended.
    Finished,
}

/// Something the outputs (printer, mixer, lights, MQTT state) must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A phase began.
    PhaseStarted {
        /// Index in the ceremony.
        index: usize,
        /// Phase id.
        id: String,
        /// Phase title.
        title: String,
        /// What started it.
        trigger: Trigger,
        /// When it will move on by itself (engine time), if it does.
        ends_at: Option<Duration>,
    },
    /// A cue fired.
    CueFired {
        /// Phase index.
        phase: usize,
        /// Cue offset within the phase.
        at: Duration,
        /// The cue's note for the people in the room.
        note: Option<String>,
    },
    /// A layer changes.
    Layer {
        /// Layer index in the rig.
        layer: usize,
        /// The change.
        change: LayerChange,
    },
    /// A one-shot sound plays.
    OneShot {
        /// Resolved file.
        file: std::path::PathBuf,
        /// Gain.
        gain: Decibels,
    },
    /// A light moves to a target.
    Light {
        /// Light index in the rig.
        light: usize,
        /// Where it goes.
        target: LightTarget,
        /// Fade length.
        fade: Duration,
        /// Fade curve in perceived lightness.
        curve: Curve,
    },
    /// The master volume changes.
    Master {
        /// New master gain.
        gain: Decibels,
        /// Ramp length.
        fade: Duration,
    },
    /// The timeline froze: outputs hold every fade where it is.
    Paused,
    /// The timeline continues: outputs continue every held fade.
    Resumed,
    /// A gentle stop began; it completes after `fade`.
    Stopping {
        /// Fade length.
        fade: Duration,
    },
    /// The last phase ended; the room fades to darkness and silence over `fade`.
    Finishing {
        /// Fade length.
        fade: Duration,
    },
    /// The ceremony is over.
    Ended(EndKind),
}

/// An action and the engine time it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Engine time.
    pub at: Duration,
    /// What to do.
    pub action: Action,
}
