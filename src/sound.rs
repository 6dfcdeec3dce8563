//! Plays the engine's audio actions through the mixer: opens the output the rig or `--output`
//! names, builds the mixer for the rig's layers, and turns layer, one-shot, master and pause
//! actions into handle calls; closes the output while the room rests in silence and opens it
//! again for the next sound. Decides nothing; a failing file is a logged skip.

use std::time::Duration;

use crate::audio::{
    self, AudioBackend, AudioHandle, AudioProcessor, AudioStats, BackendError, LayerId, LayerSpec,
    MixerSettings, NullBackend, OutputSpec, PipeBackend,
};
use crate::model::Rig;
use crate::run::Output;
use crate::timeline::{Action, Event, Timeline};
use crate::tween::Curve;

/// Sample rate of the silent `null` output.
const NULL_RATE: u32 = 48_000;
/// Frames the `null` output renders per wake-up (50 ms): nobody hears it, so a long period
/// costs nothing and saves wake-ups. Fades stay sample-accurate; commands land within it.
const NULL_BLOCK: usize = 2_400;

/// Why the audio output could not start.
#[derive(Debug, thiserror::Error)]
pub enum SoundError {
    /// The output name is not one sanctum knows.
    #[error("failed to read the audio output: {0}")]
    Spec(BackendError),
    /// The output could not be opened or started.
    #[error("failed to open the audio output: {0}")]
    Open(BackendError),
    /// `wav:` renders offline; it has no place on the real clock.
    #[error(
        "failed to open the audio output: `wav:` cannot follow the real clock; render the ceremony offline with `sanctum render <ceremony> --out FILE.wav`, or play with `--output null` or a device"
    )]
    WavOnRealClock,
}

/// The mixer and the output it plays through.
pub struct Sound {
    player: Player,
    backend: Box<dyn AudioBackend>,
    /// The mixer while the output is closed (the room rests in silence).
    resting: Option<AudioProcessor>,
}

/// The mixer's control half as an engine output: plays layer, one-shot, master and pause
/// actions. Shared by `run` (behind a live output) and `render` (behind the WAV file).
pub struct Player {
    handle: AudioHandle,
}

impl Player {
    /// Builds the mixer for `rig`'s layers and volumes at `rate`: the player and the
    /// processor an output must drive.
    #[must_use]
    pub fn build(rig: &Rig, rate: u32) -> (Self, AudioProcessor) {
        let layers: Vec<LayerSpec> = rig
            .layers
            .iter()
            .map(|l| LayerSpec {
                name: l.name.clone(),
                gain: l.gain,
                duck: l.duck,
            })
            .collect();
        let settings = MixerSettings {
            master: rig.volume,
            max_volume: rig.max_volume,
            ..MixerSettings::default()
        };
        let (handle, processor) = audio::build(&layers, rate, settings);
        (Self { handle }, processor)
    }

    /// The mixer's counters (underruns, voices).
    #[must_use]
    pub fn stats(&self) -> AudioStats {
        self.handle.stats()
    }

    /// Bytes of decoded loop copies the mixer holds now (within its loop-cache budget).
    #[must_use]
    pub fn loop_cache_bytes(&self) -> usize {
        self.handle.loop_cache_bytes()
    }
}

impl Sound {
    /// Opens the output `spec` names (`default`, `null`, `pipe:/tmp/snapfifo`, a device) and
    /// starts the mixer for `rig`.
    /// One-shots stream like beds (they start a few milliseconds after their cue); preloading
    /// them all decoded ~70 s of audio before the ceremony could start.
    ///
    /// # Errors
    /// When the device cannot be opened, or for `wav:` (an offline render, not a live output).
    pub fn open(spec: OutputSpec, rig: &Rig) -> Result<Self, SoundError> {
        let backend: Box<dyn AudioBackend> = match spec {
            OutputSpec::Null => Box::new(NullBackend::new(NULL_RATE, NULL_BLOCK)),
            OutputSpec::Wav(_) => return Err(SoundError::WavOnRealClock),
            OutputSpec::Device(name) => open_device(name.as_deref(), rig.audio.buffer)?,
            OutputSpec::Pipe { path, format } => {
                Box::new(PipeBackend::open(&path, format).map_err(SoundError::Open)?)
            }
        };
        let (player, processor) = Player::build(rig, backend.sample_rate());
        let mut backend = backend;
        backend.start(processor).map_err(SoundError::Open)?;
        Ok(Self {
            player,
            backend,
            resting: None,
        })
    }

    /// Whether nothing sounds: no voice left, not even fading out.
    pub fn is_silent(&mut self) -> bool {
        self.player.handle.collect_garbage();
        self.player.stats().voices.is_empty()
    }

    /// Closes the output if nothing sounds: no callbacks and no wake-ups while the room is
    /// idle, and the sound card is free for others. The mixer keeps its state; the next sound
    /// opens the output again. Outputs that cannot reopen (`pipe:`, whose reader would see the
    /// end of the stream) keep running. Returns whether the output is closed now.
    pub fn rest(&mut self) -> bool {
        if self.resting.is_some() {
            return true;
        }
        if !self.backend.restartable() || !self.is_silent() {
            return false;
        }
        match self.backend.stop() {
            Ok(Some(processor)) => {
                tracing::debug!("nothing sounds: the audio output closes until the next sound");
                self.resting = Some(processor);
                true
            }
            Ok(None) => false,
            Err(err) => {
                tracing::warn!(%err, "the audio output did not close cleanly");
                false
            }
        }
    }

    /// Whether the output is closed while the room rests.
    #[must_use]
    pub fn is_resting(&self) -> bool {
        self.resting.is_some()
    }

    /// Opens the output again after a rest. The mixer rested in silence, so the output starts
    /// from silence and each sound comes in with its own fade (never shorter than the mixer's
    /// click-free minimum).
    fn wake(&mut self) {
        if let Some(processor) = self.resting.take() {
            tracing::debug!("a sound: the audio output opens again");
            if let Err(err) = self.backend.start(processor) {
                tracing::warn!(%err, "failed to open the audio output again; the ceremony goes on without sound");
            }
        }
    }
}

#[cfg(feature = "cpal")]
fn open_device(name: Option<&str>, buffer: Duration) -> Result<Box<dyn AudioBackend>, SoundError> {
    audio::backend::cpal::CpalBackend::open(name, Some(buffer))
        .map(|b| Box::new(b) as Box<dyn AudioBackend>)
        .map_err(SoundError::Open)
}

#[cfg(not(feature = "cpal"))]
fn open_device(_: Option<&str>, _: Duration) -> Result<Box<dyn AudioBackend>, SoundError> {
    Err(SoundError::Open(BackendError::NoDeviceSupport))
}

impl Output for Sound {
    fn apply(&mut self, event: &Event, timeline: &Timeline) {
        if matches!(
            event.action,
            Action::Layer { .. } | Action::OneShot { .. } | Action::Master { .. }
        ) {
            self.wake();
        }
        self.player.apply(event, timeline);
    }
}

impl Output for Player {
    fn apply(&mut self, event: &Event, _: &Timeline) {
        self.handle.collect_garbage();
        let result = match &event.action {
            Action::Layer { layer, change } => self.handle.layer(LayerId(*layer), change.clone()),
            Action::OneShot { file, gain } => self.handle.one_shot(file, *gain),
            Action::Master { gain, fade } => self.handle.master(*gain, *fade),
            Action::Stopping { fade } | Action::Finishing { fade } => {
                self.handle.fade_all(*fade, Curve::EqualPower)
            }
            Action::Paused => {
                self.handle.pause_fades();
                Ok(())
            }
            Action::Resumed => {
                self.handle.resume_fades();
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(err) = result {
            tracing::warn!(%err, "failed to play an audio action; the ceremony goes on");
        }
    }
}

impl Drop for Sound {
    fn drop(&mut self) {
        if let Err(err) = self.backend.stop() {
            tracing::warn!(%err, "the audio output did not close cleanly");
        }
        // Underruns are counted on the real-time side, which must not log; say so once here.
        let stats = self.player.stats();
        if stats.underrun_frames > 0 {
            tracing::warn!(
                frames = stats.underrun_frames,
                "some voices ran dry during the ceremony (their decoders fell behind)"
            );
        }
    }
}
