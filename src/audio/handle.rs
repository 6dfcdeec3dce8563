//! The control side of the mixer: turns layer changes, one-shots and master moves into
//! commands on the ring, starts decoder threads, and drops the voices the processor hands
//! back. Runs on an ordinary thread (the engine); must never be given to the audio callback.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::command::Command;
use super::decode::{DecodeError, PcmBuffer};
use super::loops::LoopCache;
use super::processor::SharedStats;
use super::ramp::GainRamp;
use super::stream::{StreamPlan, Waiter, spawn_stream};
use super::voice::{Input, Voice, VoiceCounters};
use super::{AudioError, AudioStats, LayerChange, LayerId, MixerSettings, Source, VoiceStats};
use crate::tween::Curve;
use crate::units::Decibels;

struct LiveVoice {
    id: u64,
    layer: Option<LayerId>,
    name: String,
    counters: Arc<VoiceCounters>,
}

/// The control half of the mixer, built by [`super::build`] with its [`super::AudioProcessor`].
pub struct AudioHandle {
    commands: rtrb::Producer<Command>,
    returns: rtrb::Consumer<Voice>,
    layer_names: Vec<String>,
    sample_rate: u32,
    settings: MixerSettings,
    next_id: u64,
    live: Vec<LiveVoice>,
    /// One-shots decoded ahead (`preload`), played without a decoder thread.
    preloaded: HashMap<PathBuf, PcmBuffer>,
    shared: Arc<SharedStats>,
    /// Decoded copies of looping files, within `settings.loop_cache`.
    loops: Arc<LoopCache>,
    /// An offline renderer waiting for this mixer's decoders.
    waiter: Arc<Waiter>,
}

impl std::fmt::Debug for AudioHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioHandle")
            .field("layers", &self.layer_names)
            .field("sample_rate", &self.sample_rate)
            .field("live_voices", &self.live.len())
            .finish_non_exhaustive()
    }
}

impl AudioHandle {
    pub(crate) fn new(
        commands: rtrb::Producer<Command>,
        returns: rtrb::Consumer<Voice>,
        layer_names: Vec<String>,
        sample_rate: u32,
        settings: MixerSettings,
        shared: Arc<SharedStats>,
        waiter: Arc<Waiter>,
    ) -> Self {
        Self {
            loops: LoopCache::new(settings.loop_cache),
            waiter,
            commands,
            returns,
            layer_names,
            sample_rate,
            settings,
            next_id: 0,
            live: Vec::new(),
            preloaded: HashMap::new(),
            shared,
        }
    }

    fn frames(&self, d: Duration) -> u64 {
        crate::units::frames(d, self.sample_rate)
    }

    /// Frames of a fade, never shorter than the click-free minimum.
    fn fade_frames(&self, d: Duration) -> u64 {
        self.frames(d.max(self.settings.min_fade))
    }

    /// Drops the voices the processor has finished with (here, off the audio thread).
    fn reclaim(&mut self) {
        while let Ok(voice) = self.returns.pop() {
            self.live.retain(|l| l.id != voice.id);
            drop(voice);
        }
    }

    fn check_layer(&self, layer: &LayerId) -> Result<(), AudioError> {
        if layer.0 < self.layer_names.len() {
            Ok(())
        } else {
            Err(AudioError::UnknownLayer(layer.0))
        }
    }

    fn ensure_room(&self, commands: usize) -> Result<(), AudioError> {
        if self.commands.slots() < commands {
            return Err(AudioError::QueueFull);
        }
        Ok(())
    }

    fn ensure_voice_slot(&self) -> Result<(), AudioError> {
        if self.live.len() >= self.settings.max_voices {
            return Err(AudioError::TooManyVoices(self.settings.max_voices));
        }
        Ok(())
    }

    fn push(&mut self, cmd: Command) -> Result<(), AudioError> {
        self.commands.push(cmd).map_err(|_| AudioError::QueueFull)
    }

    fn new_voice(
        &mut self,
        layer: Option<LayerId>,
        name: String,
        input: Input,
        ramp: GainRamp,
    ) -> Voice {
        self.next_id += 1;
        let counters = Arc::new(VoiceCounters::default());
        self.live.push(LiveVoice {
            id: self.next_id,
            layer,
            name,
            counters: Arc::clone(&counters),
        });
        Voice {
            id: self.next_id,
            layer: layer.map(|l| l.0),
            input,
            ramp,
            retiring: false,
            finished: false,
            counters,
        }
    }

    fn stream_input(&self, source: &Source, name: &str) -> Result<Input, AudioError> {
        if source.files.is_empty() {
            return Err(AudioError::EmptySource);
        }
        let ahead = self.settings.stream_ahead.max(Duration::from_millis(100));
        let capacity = usize::try_from(self.frames(ahead)).unwrap_or(usize::MAX) * 2;
        let plan = StreamPlan {
            files: source.files.clone(),
            looping: source.looping,
            #[allow(clippy::cast_possible_truncation)]
            crossfade: self.frames(source.crossfade) as usize,
            #[allow(clippy::cast_possible_truncation)]
            loop_crossfade: self.frames(self.settings.loop_crossfade) as usize,
            loop_curve: self.settings.loop_curve,
            rate: self.sample_rate,
            cache: Some(Arc::clone(&self.loops)),
        };
        let (ring, _thread) = spawn_stream(
            plan,
            capacity.max(self.settings.prefill * 4),
            name,
            Arc::clone(&self.waiter),
        )
        .map_err(AudioError::Spawn)?;
        Ok(Input::Stream {
            ring,
            started: false,
        })
    }

    /// Changes what a layer plays, or its gain.
    ///
    /// `Play` crossfades from whatever the layer plays now to the new source; `Gain` ramps the
    /// playing source; `Stop` fades it out. Files are opened on a decoder thread: one that
    /// cannot be opened or decoded is logged and skipped, never an error here.
    ///
    /// # Errors
    /// [`AudioError::UnknownLayer`] for an index outside the rig's layers,
    /// [`AudioError::EmptySource`] for a source without files, [`AudioError::QueueFull`] /
    /// [`AudioError::TooManyVoices`] when the mixer is saturated, [`AudioError::Spawn`] when
    /// the decoder thread cannot start.
    pub fn layer(&mut self, layer: LayerId, change: LayerChange) -> Result<(), AudioError> {
        self.reclaim();
        self.check_layer(&layer)?;
        match change {
            LayerChange::Play {
                source,
                gain,
                fade,
                curve,
            } => {
                self.ensure_room(2)?;
                self.ensure_voice_slot()?;
                let name = source
                    .files
                    .first()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                let input = self.stream_input(&source, &name)?;
                self.crossfade_to(layer, name, input, gain, fade, curve)
            }
            LayerChange::Gain { gain, fade, curve } => {
                let frames = self.fade_frames(fade);
                self.push(Command::LayerGain {
                    layer: layer.0,
                    amplitude: gain.amplitude(),
                    frames,
                    curve,
                })
            }
            LayerChange::Stop { fade, curve } => {
                let frames = self.fade_frames(fade);
                self.push(Command::Retire {
                    layer: layer.0,
                    frames,
                    curve,
                })
            }
        }
    }

    /// Plays a preloaded buffer on a layer, crossfading from what it plays now (the same as
    /// `LayerChange::Play`, without a decoder thread). For short loops and benchmarks.
    ///
    /// # Errors
    /// As for [`AudioHandle::layer`].
    pub fn layer_buffer(
        &mut self,
        layer: LayerId,
        buffer: &PcmBuffer,
        looping: bool,
        gain: Decibels,
        fade: Duration,
        curve: Curve,
    ) -> Result<(), AudioError> {
        self.reclaim();
        self.check_layer(&layer)?;
        self.ensure_room(2)?;
        self.ensure_voice_slot()?;
        let input = Input::Buffer {
            data: Arc::clone(&buffer.0),
            pos: 0,
            looping,
        };
        self.crossfade_to(layer, "<buffer>".to_owned(), input, gain, fade, curve)
    }

    /// Retires what `layer` plays and starts `input` on it, both over `fade` with `curve`.
    /// The caller has made room on the ring and in the voice slots.
    fn crossfade_to(
        &mut self,
        layer: LayerId,
        name: String,
        input: Input,
        gain: Decibels,
        fade: Duration,
        curve: Curve,
    ) -> Result<(), AudioError> {
        let frames = self.fade_frames(fade);
        let ramp = GainRamp::new(0.0, gain.amplitude(), frames, curve);
        let voice = self.new_voice(Some(layer), name, input, ramp);
        self.push(Command::Retire {
            layer: layer.0,
            frames,
            curve,
        })?;
        self.push(Command::Start(voice))
    }

    /// Decodes a short file (a chime) now and keeps it, so that later `one_shot`s of it start
    /// at once, without a decoder thread. Call it at ceremony start for every one-shot sound.
    /// Memory: the whole file at the device rate (10 s of stereo ≈ 3.8 MB), so keep it for
    /// short sounds.
    ///
    /// # Errors
    /// A [`DecodeError`] if the file cannot be opened, decoded or resampled.
    pub fn preload(&mut self, file: &Path) -> Result<(), DecodeError> {
        if !self.preloaded.contains_key(file) {
            let buffer = PcmBuffer::decode(file, self.sample_rate)?;
            self.preloaded.insert(file.to_owned(), buffer);
        }
        Ok(())
    }

    /// Plays a file once on top of the layers (a chime, a bowl). Layers with a `duck` dip
    /// under it while it sounds. Preloaded files start at once; others stream from a decoder
    /// thread. A file that cannot be read is logged and skipped.
    ///
    /// # Errors
    /// [`AudioError::QueueFull`] / [`AudioError::TooManyVoices`] when the mixer is saturated,
    /// [`AudioError::Spawn`] when the decoder thread cannot start.
    pub fn one_shot(&mut self, file: &Path, gain: Decibels) -> Result<(), AudioError> {
        if let Some(buffer) = self.preloaded.get(file).cloned() {
            return self.one_shot_buffer(&buffer, gain);
        }
        self.reclaim();
        self.ensure_room(1)?;
        self.ensure_voice_slot()?;
        let source = Source {
            files: vec![file.to_owned()],
            looping: false,
            crossfade: Duration::ZERO,
        };
        let name = file.display().to_string();
        let input = self.stream_input(&source, &name)?;
        let voice = self.new_voice(None, name, input, GainRamp::hold(gain.amplitude()));
        self.push(Command::Start(voice))
    }

    /// Plays a preloaded buffer once on top of the layers (ducking like [`Self::one_shot`]).
    ///
    /// # Errors
    /// [`AudioError::QueueFull`] / [`AudioError::TooManyVoices`] when the mixer is saturated.
    pub fn one_shot_buffer(
        &mut self,
        buffer: &PcmBuffer,
        gain: Decibels,
    ) -> Result<(), AudioError> {
        self.reclaim();
        self.ensure_room(1)?;
        self.ensure_voice_slot()?;
        let input = Input::Buffer {
            data: Arc::clone(&buffer.0),
            pos: 0,
            looping: false,
        };
        let voice = self.new_voice(
            None,
            "<buffer>".to_owned(),
            input,
            GainRamp::hold(gain.amplitude()),
        );
        self.push(Command::Start(voice))
    }

    /// Ramps the master gain to `gain` over `fade`, capped at the max volume given at build.
    ///
    /// # Errors
    /// [`AudioError::QueueFull`] when the command ring is full.
    pub fn master(&mut self, gain: Decibels, fade: Duration) -> Result<(), AudioError> {
        self.reclaim();
        let capped = if gain.0 > self.settings.max_volume.0 {
            self.settings.max_volume
        } else {
            gain
        };
        let frames = self.fade_frames(fade);
        self.push(Command::Master {
            amplitude: capped.amplitude(),
            frames,
        })
    }

    /// Fades everything that sounds (every layer's voices, those already fading out, and
    /// one-shots) to silence within `fade`; a voice already fading out sooner keeps its own
    /// fade. A gentle stop and the finish use it, so nothing is left sounding when they end.
    ///
    /// # Errors
    /// [`AudioError::QueueFull`] when the command ring is full.
    pub fn fade_all(&mut self, fade: Duration, curve: Curve) -> Result<(), AudioError> {
        self.reclaim();
        let frames = self.fade_frames(fade);
        self.push(Command::FadeAll { frames, curve })
    }

    /// Freezes every gain ramp where it is; the sound keeps playing.
    pub fn pause_fades(&mut self) {
        self.reclaim();
        if self.push(Command::PauseFades(true)).is_err() {
            tracing::warn!("audio command queue full: pause of fades dropped");
        }
    }

    /// Lets frozen gain ramps continue.
    pub fn resume_fades(&mut self) {
        self.reclaim();
        if self.push(Command::PauseFades(false)).is_err() {
            tracing::warn!("audio command queue full: resume of fades dropped");
        }
    }

    /// Counters: frames rendered, voices active, underruns per voice.
    #[must_use]
    pub fn stats(&self) -> AudioStats {
        AudioStats {
            frames_rendered: self.shared.frames_rendered.load(Ordering::Relaxed),
            voices_active: self.shared.voices_active.load(Ordering::Relaxed),
            underrun_frames: self.shared.underrun_frames.load(Ordering::Relaxed),
            voices: self
                .live
                .iter()
                .map(|l| VoiceStats {
                    id: l.id,
                    layer: l.layer,
                    name: l.name.clone(),
                    underruns: l.counters.underruns.load(Ordering::Relaxed),
                    underrun_frames: l.counters.underrun_frames.load(Ordering::Relaxed),
                })
                .collect(),
        }
    }

    /// Bytes of decoded loop copies held now (at most `MixerSettings::loop_cache`).
    #[must_use]
    pub fn loop_cache_bytes(&self) -> usize {
        self.loops.used()
    }

    /// Drops finished voices now (every other call does this too).
    pub fn collect_garbage(&mut self) {
        self.reclaim();
    }
}
