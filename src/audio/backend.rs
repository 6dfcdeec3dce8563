//! Audio outputs that drive the processor: the `AudioBackend` seam and the output grammar
//! (`OutputSpec`), a paced `null` output for headless runs and the paced thread it shares with
//! `pipe:<path>` (in `pipe.rs`); the offline WAV renderer (`wav:<path>`) is in `wav.rs`. Owns
//! output threads and files; must not mix (that is the processor's job) and must not touch a
//! sound device (that is `cpal.rs`).

pub use crate::endpoint::{EndpointError, OutputSpec};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::AudioProcessor;

#[cfg(feature = "cpal")]
pub mod cpal;
pub mod pipe;
pub mod wav;

pub use pipe::{PcmFormat, PipeBackend, PipeStats};
pub use wav::{WavBackend, WavFormat};

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
    /// The output as written cannot be read ([`EndpointError::UnknownOutput`],
    /// [`EndpointError::PipeOption`]).
    #[error(transparent)]
    Spec(#[from] EndpointError),
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
    /// The WAV file could not be written (its previous contents, if any, are kept).
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
    /// Whether `start` works again after `stop` (so the output can close while the room
    /// rests in silence and open for the next sound).
    fn restartable(&self) -> bool {
        false
    }
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

    fn restartable(&self) -> bool {
        true
    }
}
