//! Messages from the control side to the real-time side. Owns only their shape: every variant
//! is moved through the `rtrb` command ring, so nothing in here may need the processor to
//! allocate or free when it receives it.

use super::voice::Voice;
use crate::tween::Curve;

/// A change the processor applies at the start of its next block.
pub(crate) enum Command {
    /// Add a voice (its gain ramp already describes its fade-in).
    Start(Voice),
    /// Fade out every non-retiring voice of a layer, then remove it.
    Retire {
        layer: usize,
        frames: u64,
        curve: Curve,
    },
    /// Ramp the non-retiring voices of a layer to a new amplitude.
    LayerGain {
        layer: usize,
        amplitude: f32,
        frames: u64,
        curve: Curve,
    },
    /// Fade every voice (layers, retiring voices, one-shots) to silence within `frames`:
    /// a voice already fading out sooner keeps its own fade.
    FadeAll { frames: u64, curve: Curve },
    /// Ramp the master gain.
    Master { amplitude: f32, frames: u64 },
    /// Freeze (`true`) or continue (`false`) every gain ramp.
    PauseFades(bool),
}
