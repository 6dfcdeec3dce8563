//! Audio: the real-time mixer of sanctum. Owns the public audio vocabulary (layers, sources,
//! changes, settings, stats, errors) and `build`, which makes the control-side
//! [`AudioHandle`] and the real-time [`AudioProcessor`] as a pair. Must not touch a device:
//! backends drive the processor.
//!
//! Threads: the engine calls the handle; one decoder thread per streaming voice fills that
//! voice's ring (`stream`), sleeping while it is full; the audio callback (or an offline
//! backend) calls `AudioProcessor::process`.

pub mod backend;
mod command;
mod decode;
mod handle;
mod limiter;
mod loops;
mod processor;
mod ramp;
mod stream;
mod voice;

use std::sync::Arc;
use std::time::Duration;

pub use crate::probe::{ProbeError, ProbeErrorKind, SoundInfo, probe_bytes, probe_file};
pub use backend::{
    AudioBackend, BackendError, NullBackend, OutputSpec, PcmFormat, PipeBackend, WavBackend,
    WavFormat,
};
pub use decode::{DecodeError, PcmBuffer, decode_file};
pub use handle::AudioHandle;
pub use processor::AudioProcessor;

use crate::tween::Curve;
use crate::units::Decibels;

/// Index into the rig's layer list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LayerId(pub usize);

/// A layer as the rig declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerSpec {
    /// Name used in scene files (`bed`, `texture`…).
    pub name: String,
    /// Static trim of everything the layer plays.
    pub gain: Decibels,
    /// How far this layer dips under one-shots; `None` = it does not duck.
    pub duck: Option<Decibels>,
}

/// What a layer plays: one file, or a playlist crossfading track to track (the scene model's
/// type: a single file loops gaplessly, a looping playlist wraps to its first track).
pub use crate::model::Source;

/// A change to one layer: the engine's own action type, so engine changes reach the mixer as
/// they are (`Play` crossfades to a shared source, `Gain` ramps it, `Stop` fades it out).
pub use crate::timeline::LayerChange;

/// Mixer settings fixed at build.
#[derive(Debug, Clone, PartialEq)]
pub struct MixerSettings {
    /// Master gain at start.
    pub master: Decibels,
    /// Highest master gain `AudioHandle::master` accepts (louder requests are capped).
    pub max_volume: Decibels,
    /// Voices playing at once, at most (slots are preallocated).
    pub max_voices: usize,
    /// Largest block the processor renders at once; longer buffers are split.
    pub max_block: usize,
    /// How far ahead decoder threads fill each voice's ring. A decoder sleeps while the ring
    /// is full and is woken when it has drained to half, so it wakes about once per half of
    /// this.
    pub stream_ahead: Duration,
    /// Bytes of decoded copies of looping files kept at once (native rate, stereo f32: a
    /// 96 s loop at 48 kHz is 37 MB). A loop whose copy fits is decoded once and replayed; one
    /// that does not fit, or a file that does not loop, streams from its file with only its
    /// ring in memory.
    pub loop_cache: usize,
    /// Frames a streaming voice must have buffered before it starts.
    pub prefill: usize,
    /// Crossfade at the loop point of a file whose end doesn't meet its start.
    pub loop_crossfade: Duration,
    /// Shape of that loop-point crossfade. Linear by default: the two sides of a loop point
    /// are usually the same material (correlated), where linear keeps the level and equal-power
    /// would bump it by up to 3 dB.
    pub loop_curve: Curve,
    /// How fast ducking layers dip when a one-shot starts.
    pub duck_attack: Duration,
    /// How fast they come back after the last one-shot ends.
    pub duck_release: Duration,
    /// The limiter's ceiling (at most 0 dBFS).
    pub limiter_ceiling: Decibels,
    /// The limiter's look-ahead (also its latency).
    pub limiter_lookahead: Duration,
    /// The limiter's release time constant.
    pub limiter_release: Duration,
    /// Shortest fade any layer change, stop or master move gets, so that an "instant" change
    /// never clicks (a hard stop pops: oddio#73, rodio#889).
    pub min_fade: Duration,
    /// Capacity of the command ring.
    pub command_capacity: usize,
}

impl Default for MixerSettings {
    fn default() -> Self {
        Self {
            master: Decibels::UNITY,
            max_volume: Decibels::UNITY,
            max_voices: 64,
            max_block: 1024,
            stream_ahead: Duration::from_secs(3),
            loop_cache: 96 << 20,
            prefill: 2048,
            loop_crossfade: Duration::from_millis(50),
            loop_curve: Curve::Linear,
            duck_attack: Duration::from_millis(300),
            duck_release: Duration::from_millis(1500),
            limiter_ceiling: Decibels(-1.0),
            limiter_lookahead: Duration::from_micros(1500),
            limiter_release: Duration::from_millis(150),
            min_fade: Duration::from_millis(5),
            command_capacity: 256,
        }
    }
}

/// Counters for one voice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceStats {
    /// Voice number (in start order).
    pub id: u64,
    /// Its layer; `None` for one-shots.
    pub layer: Option<LayerId>,
    /// Its first file.
    pub name: String,
    /// Blocks in which it ran dry while its decoder was still going.
    pub underruns: u64,
    /// Frames of silence that cost.
    pub underrun_frames: u64,
}

/// Mixer counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioStats {
    /// Frames rendered since build.
    pub frames_rendered: u64,
    /// Voices in the processor after its last block.
    pub voices_active: usize,
    /// Frames of underrun across all voices since build.
    pub underrun_frames: u64,
    /// Voices not yet handed back.
    pub voices: Vec<VoiceStats>,
}

/// Why the mixer refused a request.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The layer index is not in the rig.
    #[error("failed to change layer {0}: the rig has no such layer")]
    UnknownLayer(usize),
    /// A source without files.
    #[error("failed to play: the source lists no files")]
    EmptySource,
    /// The command ring is full (the processor is not running?).
    #[error(
        "failed to send to the mixer: its command queue is full (is the audio output running?)"
    )]
    QueueFull,
    /// Every voice slot is taken.
    #[error("failed to start a voice: all {0} voice slots are playing")]
    TooManyVoices(usize),
    /// The decoder thread could not start.
    #[error("failed to start a decoder thread: {0}")]
    Spawn(std::io::Error),
}

use crate::units::frames;

/// Builds the mixer for `layers` at `sample_rate` (the device rate): the control half and the
/// real-time half. Everything the processor needs is allocated here.
#[must_use]
pub fn build(
    layers: &[LayerSpec],
    sample_rate: u32,
    settings: MixerSettings,
) -> (AudioHandle, AudioProcessor) {
    let (cmd_tx, cmd_rx) = rtrb::RingBuffer::new(settings.command_capacity.max(4));
    let (ret_tx, ret_rx) = rtrb::RingBuffer::new(settings.max_voices.max(1) * 2);
    let shared = Arc::new(processor::SharedStats::default());
    let waiter = Arc::new(stream::Waiter::default());
    let ceiling = settings.limiter_ceiling.amplitude().min(1.0);
    #[allow(clippy::cast_possible_truncation)]
    let window = frames(settings.limiter_lookahead, sample_rate).max(1) as usize;
    #[allow(clippy::cast_precision_loss)]
    let release = frames(settings.limiter_release, sample_rate) as f32;
    let master = if settings.master.0 > settings.max_volume.0 {
        settings.max_volume
    } else {
        settings.master
    };
    let processor = AudioProcessor::new(processor::ProcessorParts {
        commands: cmd_rx,
        returns: ret_tx,
        layers: layers
            .iter()
            .map(|l| processor::LayerState {
                trim: l.gain.amplitude(),
                duck: l.duck.map(Decibels::amplitude),
                duck_ramp: ramp::GainRamp::hold(1.0),
                ducked: false,
            })
            .collect(),
        max_voices: settings.max_voices,
        max_block: settings.max_block,
        prefill: settings.prefill,
        duck_attack: frames(settings.duck_attack, sample_rate),
        duck_release: frames(settings.duck_release, sample_rate),
        limiter: limiter::Limiter::new(ceiling, window, release),
        master: master.amplitude(),
        shared: Arc::clone(&shared),
        waiter: Arc::clone(&waiter),
    });
    let handle = AudioHandle::new(
        cmd_tx,
        ret_rx,
        layers.iter().map(|l| l.name.clone()).collect(),
        sample_rate,
        settings,
        shared,
        waiter,
    );
    (handle, processor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_halves_can_move_to_their_threads() {
        fn is_send<T: Send>() {}
        is_send::<AudioHandle>();
        is_send::<AudioProcessor>();
    }

    #[test]
    fn unknown_layers_and_empty_sources_are_errors() {
        let (mut h, _p) = build(
            &[LayerSpec {
                name: "bed".into(),
                gain: Decibels::UNITY,
                duck: None,
            }],
            48_000,
            MixerSettings::default(),
        );
        let stop = LayerChange::Stop {
            fade: Duration::ZERO,
            curve: Curve::Linear,
        };
        assert!(matches!(
            h.layer(LayerId(3), stop.clone()),
            Err(AudioError::UnknownLayer(3))
        ));
        let empty = LayerChange::Play {
            source: std::sync::Arc::new(Source {
                files: vec![],
                looping: false,
                crossfade: Duration::ZERO,
            }),
            gain: Decibels::UNITY,
            fade: Duration::ZERO,
            curve: Curve::EqualPower,
        };
        assert!(matches!(
            h.layer(LayerId(0), empty),
            Err(AudioError::EmptySource)
        ));
        // Nobody drains the ring: it fills, and the handle says so instead of blocking.
        let mut result = Ok(());
        for _ in 0..1000 {
            result = h.layer(LayerId(0), stop.clone());
            if result.is_err() {
                break;
            }
        }
        assert!(matches!(result, Err(AudioError::QueueFull)));
    }
}
