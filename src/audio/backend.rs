//! Audio outputs that drive the processor: the `AudioBackend` seam and the output grammar
//! (`OutputSpec`), an offline WAV renderer (`wav:<path>`, faster than real time, bit-identical
//! for the same input), a paced `null` output for headless runs and the paced thread it shares
//! with `pipe:<path>` (in `pipe.rs`). Owns output threads and files; must not mix (that is the
//! processor's job) and must not touch a sound device (that is `cpal.rs`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::AudioProcessor;

#[cfg(feature = "cpal")]
pub mod cpal;
pub mod pipe;

pub use pipe::{PcmFormat, PipeBackend, PipeStats};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_rig_output_grammar() {
        assert_eq!(OutputSpec::parse("null").ok(), Some(OutputSpec::Null));
        assert_eq!(
            OutputSpec::parse(" default ").ok(),
            Some(OutputSpec::Device(None))
        );
        assert_eq!(
            OutputSpec::parse("USB Audio").ok(),
            Some(OutputSpec::Device(Some("USB Audio".into())))
        );
        assert_eq!(
            OutputSpec::parse("wav:/tmp/mix.wav").ok(),
            Some(OutputSpec::Wav("/tmp/mix.wav".into()))
        );
        assert_eq!(
            OutputSpec::parse("pipe:/tmp/snapfifo").ok(),
            Some(OutputSpec::Pipe {
                path: "/tmp/snapfifo".into(),
                format: PcmFormat::default(),
            })
        );
        assert_eq!(
            OutputSpec::parse("pipe:/run/snap fifo?sampleformat=44100:32:2").ok(),
            Some(OutputSpec::Pipe {
                path: "/run/snap fifo".into(),
                format: PcmFormat {
                    rate: 44_100,
                    bits: 32,
                    channels: 2,
                },
            })
        );
        for bad in [
            "",
            "wav:",
            "pipe:",
            "pipe:?sampleformat=48000:16:2",
            "pipe:/tmp/f?format=f32",
            "pipe:/tmp/f?sampleformat=48000:12:2",
        ] {
            assert!(OutputSpec::parse(bad).is_err(), "{bad:?}");
        }
    }
}

/// Why an output failed.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The output name is not one we know.
    #[error(
        "unsupported audio output `{0}`: use `default`, a device name (see `sanctum devices`), `null` (silent, paced), `wav:<path>` (offline render) or `pipe:<path>` (raw PCM into a FIFO, e.g. for Snapcast)"
    )]
    UnknownOutput(String),
    /// A `pipe:` option sanctum does not understand.
    #[error(
        "failed to read the `pipe:` option `{0}`: the only option is `sampleformat=<rate>:<bits>:<channels>` with bits 16, 24 or 32 and 1 or 2 channels, e.g. `pipe:/tmp/snapfifo?sampleformat=48000:16:2`"
    )]
    PipeOption(String),
    /// The FIFO of a `pipe:` output could not be made or opened, or is not a FIFO.
    #[error("failed to {action} the FIFO {}: {why}", path.display())]
    Fifo {
        /// The path given after `pipe:`.
        path: PathBuf,
        /// `create` or `open`.
        action: &'static str,
        /// Why.
        why: String,
    },
    /// The WAV file could not be written.
    #[error("failed to write {path}: {message}")]
    Wav {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The output thread could not start.
    #[error("failed to start the audio output thread: {0}")]
    Spawn(std::io::Error),
    /// The sound device is missing or refused a stream.
    #[error("{0}")]
    Device(String),
    /// This build has no sound-card output.
    #[error(
        "this sanctum was built without the `cpal` feature: use `null` or `wav:<path>`, or rebuild with `--features cpal`"
    )]
    NoDeviceSupport,
    /// `start` was called twice, or render before start.
    #[error("the audio output is {0}")]
    State(&'static str),
}

/// Something that pulls frames from an [`AudioProcessor`].
pub trait AudioBackend {
    /// The rate the processor must be built for.
    fn sample_rate(&self) -> u32;
    /// Takes the processor and starts pulling (a real-time output) or holds it until told to
    /// render (an offline one).
    ///
    /// # Errors
    /// If the output cannot start, or already runs.
    fn start(&mut self, processor: AudioProcessor) -> Result<(), BackendError>;
    /// Stops pulling and gives the processor back (so its state survives a rebuild).
    ///
    /// # Errors
    /// If the output failed while running (e.g. the file could not be finished).
    fn stop(&mut self) -> Result<Option<AudioProcessor>, BackendError>;
}

/// The outputs that need no sound card, as `--output` (or the rig's `audio.output`) takes
/// them, each with one line of explanation (`sanctum devices` prints them).
pub const VIRTUAL_OUTPUTS: &[(&str, &str)] = &[
    ("null", "silent, paced in real time (headless runs, tests)"),
    (
        "wav:<path>",
        "renders the whole ceremony offline on virtual time into a 32-bit float WAV file, manual phases at their minimum times (`sanctum render` chooses how long they last)",
    ),
    (
        "pipe:<path>",
        "raw PCM into a FIFO (made if missing), paced in real time, e.g. for a Snapcast server; 48000:16:2 (s16le) unless `?sampleformat=<rate>:<bits>:<channels>` follows",
    ),
];

/// Which output to use, as written on the command line or in the rig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputSpec {
    /// Silent, paced in real time.
    Null,
    /// Render to a WAV file as fast as possible.
    Wav(PathBuf),
    /// A sound card through cpal: the default device (`default`), or one by name.
    Device(Option<String>),
    /// Raw PCM into a FIFO (`pipe:<path>[?sampleformat=<rate>:<bits>:<channels>]`), paced in
    /// real time, for a reader such as Snapcast's server.
    Pipe {
        /// The FIFO (made if missing).
        path: PathBuf,
        /// What goes into it; Snapcast's default `48000:16:2` unless given.
        format: PcmFormat,
    },
}

impl OutputSpec {
    /// Reads the rig's `audio.output`: `default`, a device name, `wav:<path>`, `pipe:<path>`
    /// (optionally `?sampleformat=<rate>:<bits>:<channels>`) or `null`.
    ///
    /// # Errors
    /// [`BackendError::UnknownOutput`] for an empty name and `wav:` or `pipe:` without a path;
    /// [`BackendError::PipeOption`] for a `pipe:` option other than a valid `sampleformat`.
    pub fn parse(text: &str) -> Result<Self, BackendError> {
        let t = text.trim();
        if t == "null" {
            Ok(Self::Null)
        } else if t == "default" {
            Ok(Self::Device(None))
        } else if let Some(path) = t.strip_prefix("wav:") {
            if path.is_empty() {
                Err(BackendError::UnknownOutput(t.to_owned()))
            } else {
                Ok(Self::Wav(PathBuf::from(path)))
            }
        } else if let Some(rest) = t.strip_prefix("pipe:") {
            let (path, option) = match rest.split_once('?') {
                Some((path, option)) => (path, Some(option)),
                None => (rest, None),
            };
            if path.is_empty() {
                return Err(BackendError::UnknownOutput(t.to_owned()));
            }
            let format = match option {
                None => PcmFormat::default(),
                Some(o) => match o.strip_prefix("sampleformat=") {
                    Some(f) => PcmFormat::parse(f)?,
                    None => return Err(BackendError::PipeOption(o.to_owned())),
                },
            };
            Ok(Self::Pipe {
                path: PathBuf::from(path),
                format,
            })
        } else if t.is_empty() {
            Err(BackendError::UnknownOutput(t.to_owned()))
        } else {
            Ok(Self::Device(Some(t.to_owned())))
        }
    }
}

/// Sample format of a rendered WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WavFormat {
    /// 32-bit float: the mixer's own samples, bit for bit (the default).
    #[default]
    Float32,
    /// 16-bit PCM with TPDF dither from a fixed seed (half the size, plays everywhere; still
    /// deterministic).
    Pcm16,
}

/// Offline output: renders on demand into a stereo WAV file.
///
/// Rendering waits for the decoder threads before each block (`process_blocking`), so the
/// file depends only on the inputs and the commands, never on timing.
pub struct WavBackend {
    path: PathBuf,
    rate: u32,
    block: usize,
    format: WavFormat,
    dither: Dither,
    writer: Option<hound::WavWriter<std::io::BufWriter<std::fs::File>>>,
    processor: Option<AudioProcessor>,
    buf: Vec<f32>,
    frames: u64,
}

impl std::fmt::Debug for WavBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavBackend")
            .field("path", &self.path)
            .field("rate", &self.rate)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// Triangular dither for 16-bit output: the sum of two uniform values of ±½ LSB each, from a
/// xorshift generator with a fixed seed so renders stay bit-identical.
#[derive(Debug, Clone)]
struct Dither(u64);

impl Dither {
    fn uniform(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        #[allow(clippy::cast_precision_loss)]
        let unit = (self.0 >> 40) as f32 / (1u64 << 24) as f32;
        unit - 0.5
    }

    fn quantize(&mut self, sample: f32) -> i16 {
        let scaled = sample * 32_767.0 + self.uniform() + self.uniform();
        #[allow(clippy::cast_possible_truncation)]
        let q = scaled.round().clamp(-32_768.0, 32_767.0) as i16;
        q
    }
}

impl WavBackend {
    /// An output that will write `path` at `rate` as 32-bit float.
    #[must_use]
    pub fn new(path: &Path, rate: u32) -> Self {
        Self {
            path: path.to_owned(),
            rate,
            block: 480,
            format: WavFormat::Float32,
            dither: Dither(0x9E37_79B9_7F4A_7C15),
            writer: None,
            processor: None,
            buf: vec![0.0; 480 * 2],
            frames: 0,
        }
    }

    /// The same output writing `format` instead.
    #[must_use]
    pub fn with_format(mut self, format: WavFormat) -> Self {
        self.format = format;
        self
    }

    /// Frames rendered so far.
    #[must_use]
    pub fn frames(&self) -> u64 {
        self.frames
    }

    fn err(&self, e: &dyn std::fmt::Display) -> BackendError {
        BackendError::Wav {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    /// Renders `frames` more frames into the file.
    ///
    /// # Errors
    /// If the output was not started or the file cannot be written.
    pub fn render(&mut self, frames: u64) -> Result<(), BackendError> {
        let (Some(p), Some(w)) = (self.processor.as_mut(), self.writer.as_mut()) else {
            return Err(BackendError::State("not started"));
        };
        let mut left = frames;
        while left > 0 {
            #[allow(clippy::cast_possible_truncation)]
            let n = left.min(self.block as u64) as usize;
            let out = &mut self.buf[..n * 2];
            p.process_blocking(out);
            let written = match self.format {
                WavFormat::Float32 => out.iter().try_for_each(|s| w.write_sample(*s)),
                WavFormat::Pcm16 => {
                    let dither = &mut self.dither;
                    out.iter()
                        .try_for_each(|s| w.write_sample(dither.quantize(*s)))
                }
            };
            if let Err(e) = written {
                return Err(BackendError::Wav {
                    path: self.path.clone(),
                    message: e.to_string(),
                });
            }
            left -= n as u64;
            self.frames += n as u64;
        }
        Ok(())
    }

    /// Renders until the file holds `frame` frames (nothing if it already does). Rendering to
    /// absolute positions keeps long renders free of rounding drift.
    ///
    /// # Errors
    /// As for [`WavBackend::render`].
    pub fn render_to(&mut self, frame: u64) -> Result<(), BackendError> {
        self.render(frame.saturating_sub(self.frames))
    }

    /// Renders `d` of audio.
    ///
    /// # Errors
    /// As for [`WavBackend::render`].
    pub fn render_for(&mut self, d: Duration) -> Result<(), BackendError> {
        self.render(crate::units::frames(d, self.rate))
    }
}

impl AudioBackend for WavBackend {
    fn sample_rate(&self) -> u32 {
        self.rate
    }

    fn start(&mut self, processor: AudioProcessor) -> Result<(), BackendError> {
        if self.processor.is_some() {
            return Err(BackendError::State("already started"));
        }
        let (bits_per_sample, sample_format) = match self.format {
            WavFormat::Float32 => (32, hound::SampleFormat::Float),
            WavFormat::Pcm16 => (16, hound::SampleFormat::Int),
        };
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: self.rate,
            bits_per_sample,
            sample_format,
        };
        let writer = hound::WavWriter::create(&self.path, spec).map_err(|e| self.err(&e))?;
        self.writer = Some(writer);
        self.processor = Some(processor);
        Ok(())
    }

    fn stop(&mut self) -> Result<Option<AudioProcessor>, BackendError> {
        if let Some(w) = self.writer.take() {
            w.finalize().map_err(|e| self.err(&e))?;
        }
        Ok(self.processor.take())
    }
}

/// A thread that renders one block per block period in real time and hands each block to a
/// sink, sleeping in between (never busy-spins, unlike ALSA's `null` PCM). Shared by the `null`
/// and `pipe:` outputs.
#[derive(Debug)]
struct Paced {
    rate: u32,
    block: usize,
    running: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<AudioProcessor>>,
}

impl Paced {
    fn new(rate: u32, block: usize) -> Self {
        Self {
            rate,
            block: block.max(1),
            running: Arc::new(AtomicBool::new(false)),
            thread: None,
        }
    }

    fn block(&self) -> usize {
        self.block
    }

    fn start(
        &mut self,
        mut processor: AudioProcessor,
        name: &str,
        mut sink: impl FnMut(&[f32]) + Send + 'static,
    ) -> Result<(), BackendError> {
        if self.thread.is_some() {
            return Err(BackendError::State("already started"));
        }
        self.running.store(true, Ordering::SeqCst);
        let running = Arc::clone(&self.running);
        let block = self.block;
        #[allow(clippy::cast_precision_loss)]
        let period = Duration::from_secs_f64(block as f64 / f64::from(self.rate));
        let handle = thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let mut buf = vec![0.0f32; block * 2];
                let start = Instant::now();
                let mut blocks = 0u32;
                while running.load(Ordering::SeqCst) {
                    processor.process(&mut buf);
                    sink(&buf);
                    blocks += 1;
                    let due = start + period * blocks;
                    let now = Instant::now();
                    if due > now {
                        thread::sleep(due - now);
                    }
                }
                processor
            })
            .map_err(BackendError::Spawn)?;
        self.thread = Some(handle);
        Ok(())
    }

    fn stop(&mut self) -> Option<AudioProcessor> {
        self.running.store(false, Ordering::SeqCst);
        self.thread.take().and_then(|t| t.join().ok())
    }
}

impl Drop for Paced {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Silent output paced in real time: renders one block per block period and discards it.
#[derive(Debug)]
pub struct NullBackend {
    paced: Paced,
}

impl NullBackend {
    /// A paced silent output at `rate`, rendering `block` frames per period.
    #[must_use]
    pub fn new(rate: u32, block: usize) -> Self {
        Self {
            paced: Paced::new(rate, block),
        }
    }
}

impl AudioBackend for NullBackend {
    fn sample_rate(&self) -> u32 {
        self.paced.rate
    }

    fn start(&mut self, processor: AudioProcessor) -> Result<(), BackendError> {
        self.paced.start(processor, "sanctum-audio-null", |_| {})
    }

    fn stop(&mut self) -> Result<Option<AudioProcessor>, BackendError> {
        Ok(self.paced.stop())
    }
}
