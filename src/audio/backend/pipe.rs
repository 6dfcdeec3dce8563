//! The `pipe:<path>` output: writes the mix as raw interleaved PCM into a FIFO that another
//! program reads, above all a Snapcast server (many synced speakers). Owns the FIFO (create,
//! open, check, reopen), the sample conversion and the queue policy; must not mix, and must
//! never let a missing, slow or vanished reader block or stall the mixer: audio nobody reads
//! is discarded on schedule.
//!
//! Why the FIFO is opened read-write: Debian bookworm's snapserver (0.26) holds its end of the
//! FIFO open only while a writer exists; without one it reads EOF, closes and retries 100 ms
//! later. A writer that opens write-only with `O_NONBLOCK` (and waits for `ENXIO` to go away)
//! therefore never gets in (measured: 0 of 2 646 attempts over 3 s). Linux opens a FIFO
//! `O_RDWR` at once, reader or not (fifo(7)), and since we then hold a read end ourselves a
//! write never fails with `EPIPE`. MPD's fifo output does the same with a second descriptor.
//! The price is that nothing stops the pipe filling while nobody reads, so after every block
//! we look at how much waits (`FIONREAD`) and read back (discard) the oldest audio once more
//! than [`QUEUE_HIGH`] waits, down to [`QUEUE_LOW`]: a reader that comes (or comes back) gets
//! at most that much stale audio, then the live mix.

pub use crate::endpoint::PcmFormat;
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rustix::fs::{CWD, Mode, OFlags};

use super::{AudioBackend, BackendError, Paced};
use crate::audio::AudioProcessor;

/// Above this much queued audio the oldest is discarded (nobody reads, or the reader stalled).
pub const QUEUE_HIGH: Duration = Duration::from_millis(200);
/// What is left queued after discarding: the cushion a (re)connecting reader starts with.
/// snapserver reads 20 ms chunks and pads a short read with silence, so a cushion of several
/// chunks keeps scheduling jitter on either side from becoming clicks.
pub const QUEUE_LOW: Duration = Duration::from_millis(100);
/// How often the writer checks that the path still names the FIFO it holds, and retries
/// opening after a failure.
const RETRY: Duration = Duration::from_secs(1);
/// Without a read for this long, the reader counts as gone (logged once).
const READER_GONE: Duration = Duration::from_secs(1);
/// Linux writes at most this many bytes to a pipe atomically: a block never exceeds it, so a
/// non-blocking write puts a whole block in or nothing, and frames never split.
const PIPE_BUF: usize = 4096;

impl PcmFormat {
    /// Bytes per frame.
    #[must_use]
    pub fn frame_bytes(&self) -> usize {
        let sample = if self.bits == 16 { 2 } else { 4 };
        sample * usize::from(self.channels)
    }

    /// Bytes of `d` of audio, whole frames.
    fn bytes_for(&self, d: Duration) -> usize {
        let frames = usize::try_from(crate::units::frames(d, self.rate)).unwrap_or(usize::MAX);
        frames * self.frame_bytes()
    }

    /// Converts interleaved stereo f32 into this format in `out` (which must hold
    /// `stereo.len() / 2` frames); returns the bytes written. Samples are clamped to ±1 (the
    /// mixer's limiter already keeps them at −1 dBFS).
    pub fn encode(&self, stereo: &[f32], out: &mut [u8]) -> usize {
        let mut at = 0;
        for frame in stereo.chunks_exact(2) {
            if self.channels == 1 {
                at = self.put(0.5 * (frame[0] + frame[1]), out, at);
            } else {
                at = self.put(frame[0], out, at);
                at = self.put(frame[1], out, at);
            }
        }
        at
    }

    fn put(&self, sample: f32, out: &mut [u8], at: usize) -> usize {
        let s = f64::from(sample.clamp(-1.0, 1.0));
        // `as` saturates and maps NaN to 0: no sample can wrap around.
        #[allow(clippy::cast_possible_truncation)]
        match self.bits {
            16 => {
                out[at..at + 2].copy_from_slice(&((s * 32_767.0).round() as i16).to_le_bytes());
                at + 2
            }
            24 => {
                out[at..at + 4].copy_from_slice(&((s * 8_388_607.0).round() as i32).to_le_bytes());
                at + 4
            }
            _ => {
                out[at..at + 4]
                    .copy_from_slice(&((s * 2_147_483_647.0).round() as i32).to_le_bytes());
                at + 4
            }
        }
    }
}

/// What the FIFO writer has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PipeStats {
    /// Frames written into the FIFO.
    pub frames_written: u64,
    /// Frames rendered but never read by anyone: discarded from the queue (nobody reading,
    /// or a stalled reader), dropped because the pipe was full, or rendered while the FIFO
    /// could not be opened.
    pub frames_discarded: u64,
    /// Blocks dropped because the pipe was full at write time.
    pub blocks_dropped: u64,
    /// Times the FIFO was opened again (it was replaced, removed or failed).
    pub reopens: u64,
}

#[derive(Debug, Default)]
struct Counters {
    written: AtomicU64,
    discarded: AtomicU64,
    dropped: AtomicU64,
    reopens: AtomicU64,
}

/// Real-time output into a FIFO: a thread renders one block per block period (10 ms, fewer
/// frames if a block would pass `PIPE_BUF`) and writes it without blocking.
///
/// `open` makes the FIFO if the path does not exist (mode 0666 less the umask, as
/// `snapserver`'s `mode=create` would) and refuses anything that is not a FIFO, above all a
/// regular file: audio appended to a file would grow it by 11 MB a minute forever.
#[derive(Debug)]
pub struct PipeBackend {
    path: PathBuf,
    format: PcmFormat,
    fifo: Option<File>,
    counters: Arc<Counters>,
    paced: Paced,
}

impl PipeBackend {
    /// Opens (creating if needed) the FIFO at `path` for `format`.
    ///
    /// # Errors
    /// [`BackendError::Fifo`] when the path is not a FIFO (a regular file, a folder…), or the
    /// FIFO cannot be made or opened.
    pub fn open(path: &Path, format: PcmFormat) -> Result<Self, BackendError> {
        let fifo = open_fifo(path)?;
        let block = (format.rate / 100).max(1) as usize;
        let block = block.min(PIPE_BUF / format.frame_bytes());
        Ok(Self {
            path: path.to_owned(),
            format,
            fifo: Some(fifo),
            counters: Arc::new(Counters::default()),
            paced: Paced::new(format.rate, block),
        })
    }

    /// Counters since `open`.
    #[must_use]
    pub fn stats(&self) -> PipeStats {
        let c = &self.counters;
        PipeStats {
            frames_written: c.written.load(Ordering::Relaxed),
            frames_discarded: c.discarded.load(Ordering::Relaxed),
            blocks_dropped: c.dropped.load(Ordering::Relaxed),
            reopens: c.reopens.load(Ordering::Relaxed),
        }
    }
}

impl AudioBackend for PipeBackend {
    fn sample_rate(&self) -> u32 {
        self.format.rate
    }

    fn start(&mut self, processor: AudioProcessor) -> Result<(), BackendError> {
        let Some(file) = self.fifo.take() else {
            return Err(BackendError::State("already started"));
        };
        let mut writer = Writer::new(
            self.path.clone(),
            self.format,
            file,
            Arc::clone(&self.counters),
            self.paced.block(),
        );
        tracing::info!(
            "writing {} PCM to the FIFO {}; waiting for a reader such as snapserver",
            self.format,
            self.path.display()
        );
        self.paced
            .start(processor, "sanctum-audio-pipe", move |block| {
                writer.write(block)
            })
    }

    fn stop(&mut self) -> Result<Option<AudioProcessor>, BackendError> {
        Ok(self.paced.stop())
    }
}

fn fifo_error(path: &Path, action: &'static str, why: impl std::fmt::Display) -> BackendError {
    BackendError::Fifo {
        path: path.to_owned(),
        action,
        why: why.to_string(),
    }
}

fn not_a_fifo(path: &Path, kind: std::fs::FileType) -> BackendError {
    let what = if kind.is_file() {
        "it is a regular file, not a FIFO (sanctum never appends audio to a file: remove it or pick another path)"
    } else if kind.is_dir() {
        "it is a folder, not a FIFO"
    } else {
        "it is not a FIFO"
    };
    fifo_error(path, "open", what)
}

/// Makes the FIFO if `path` does not exist, refuses anything else that is not a FIFO, and
/// opens it read-write and non-blocking (see the module docs for why read-write).
fn open_fifo(path: &Path) -> Result<File, BackendError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.file_type().is_fifo() => {}
        Ok(meta) => return Err(not_a_fifo(path, meta.file_type())),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            rustix::fs::mkfifoat(CWD, path, Mode::from_raw_mode(0o666))
                .map_err(|e| fifo_error(path, "create", std::io::Error::from(e)))?;
            tracing::info!("created the FIFO {}", path.display());
        }
        Err(e) => return Err(fifo_error(path, "open", e)),
    }
    let flags = OFlags::RDWR | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let fd = rustix::fs::open(path, flags, Mode::empty())
        .map_err(|e| fifo_error(path, "open", std::io::Error::from(e)))?;
    let file = File::from(fd);
    // Checked again on the open file: the path could have been swapped in between.
    let meta = file.metadata().map_err(|e| fifo_error(path, "open", e))?;
    if !meta.file_type().is_fifo() {
        return Err(not_a_fifo(path, meta.file_type()));
    }
    Ok(file)
}

/// Bytes waiting in the pipe for a reader.
fn queued_bytes(file: &File) -> Option<usize> {
    rustix::io::ioctl_fionread(file)
        .ok()
        .and_then(|n| usize::try_from(n).ok())
}

/// The FIFO writer, run by the paced thread once per block. Never blocks: the descriptor is
/// non-blocking and a block fits in `PIPE_BUF`.
struct Writer {
    path: PathBuf,
    format: PcmFormat,
    file: Option<File>,
    identity: (u64, u64),
    counters: Arc<Counters>,
    block_frames: u64,
    bytes: Vec<u8>,
    scratch: Vec<u8>,
    high: usize,
    low: usize,
    /// Bytes queued after our last write and discard; what a reader took since is the gap.
    queued: usize,
    last_read: Option<Instant>,
    reader: bool,
    next_check: Instant,
    failing: bool,
}

impl Writer {
    fn new(
        path: PathBuf,
        format: PcmFormat,
        file: File,
        counters: Arc<Counters>,
        block: usize,
    ) -> Self {
        let block_bytes = block * format.frame_bytes();
        let mut w = Self {
            path,
            format,
            file: None,
            identity: (0, 0),
            counters,
            block_frames: block as u64,
            bytes: vec![0; block_bytes],
            scratch: vec![0; 16 * 1024],
            high: 0,
            low: 0,
            queued: 0,
            last_read: None,
            reader: false,
            next_check: Instant::now() + RETRY,
            failing: false,
        };
        w.adopt(file);
        w
    }

    /// Takes `file` as the FIFO and sizes the queue limits to its pipe.
    fn adopt(&mut self, file: File) {
        let frame = self.format.frame_bytes();
        let block_bytes = self.bytes.len();
        let capacity = rustix::pipe::fcntl_getpipe_size(&file).unwrap_or(65_536);
        // Leave two blocks of room, so a write never meets a full pipe because of our queue.
        let room = capacity.saturating_sub(2 * block_bytes) / frame * frame;
        self.high = self.format.bytes_for(QUEUE_HIGH).min(room).max(block_bytes);
        self.low = self
            .format
            .bytes_for(QUEUE_LOW)
            .min(self.high / 2 / frame * frame);
        self.identity = file.metadata().map_or((0, 0), |m| (m.dev(), m.ino()));
        self.queued = queued_bytes(&file).unwrap_or(0);
        self.file = Some(file);
    }

    fn write(&mut self, stereo: &[f32]) {
        let now = Instant::now();
        if now >= self.next_check {
            self.next_check = now + RETRY;
            self.check_path();
        }
        let Some(file) = self.file.as_mut() else {
            self.counters
                .discarded
                .fetch_add(self.block_frames, Ordering::Relaxed);
            return;
        };
        let n = self.format.encode(stereo, &mut self.bytes);
        match file.write(&self.bytes[..n]) {
            Ok(written) => {
                let frames = (written / self.format.frame_bytes()) as u64;
                self.counters.written.fetch_add(frames, Ordering::Relaxed);
                self.queued += written;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                // Full pipe: drop this block rather than wait for the reader.
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                self.counters
                    .discarded
                    .fetch_add(self.block_frames, Ordering::Relaxed);
            }
            Err(e) => {
                self.fail(&e);
                return;
            }
        }
        self.settle(now);
    }

    /// Works out whether someone reads, logs when that changes, and trims the queue.
    fn settle(&mut self, now: Instant) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        let queued = queued_bytes(file).unwrap_or(self.queued);
        if queued < self.queued {
            self.last_read = Some(now);
            if !self.reader {
                self.reader = true;
                tracing::info!("a reader is taking audio from {}", self.path.display());
            }
        } else if self.reader && self.last_read.is_some_and(|t| now - t > READER_GONE) {
            self.reader = false;
            tracing::info!(
                "nobody has read {} for a second: keeping at most the newest {} ms queued and discarding older audio until a reader comes back",
                self.path.display(),
                QUEUE_HIGH.as_millis()
            );
        }
        self.queued = queued;
        if queued > self.high {
            self.discard_to(self.low);
        }
    }

    /// Reads (and throws away) the oldest queued audio until at most `keep` bytes wait.
    fn discard_to(&mut self, keep: usize) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        let frame = self.format.frame_bytes();
        let mut excess = self.queued.saturating_sub(keep) / frame * frame;
        while excess > 0 {
            let chunk = excess.min(self.scratch.len() / frame * frame);
            match file.read(&mut self.scratch[..chunk]) {
                Ok(0) => break,
                Ok(got) => {
                    excess = excess.saturating_sub(got);
                    self.queued = self.queued.saturating_sub(got);
                    self.counters
                        .discarded
                        .fetch_add((got / frame) as u64, Ordering::Relaxed);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break, // WouldBlock: a reader emptied it meanwhile
            }
        }
    }

    /// Once a second: is the path still our FIFO? (A restarted snapserver, or a user, may have
    /// removed and made it again; we would be writing into a pipe nobody can open.) Also the
    /// retry after a failed open.
    fn check_path(&mut self) {
        let same = std::fs::metadata(&self.path)
            .is_ok_and(|m| m.file_type().is_fifo() && (m.dev(), m.ino()) == self.identity);
        if same && self.file.is_some() {
            return;
        }
        match open_fifo(&self.path) {
            Ok(file) => {
                if self.file.is_some() {
                    tracing::info!(
                        "the FIFO {} was replaced; writing to the new one",
                        self.path.display()
                    );
                } else {
                    tracing::info!("the FIFO {} is open again", self.path.display());
                }
                self.counters.reopens.fetch_add(1, Ordering::Relaxed);
                self.failing = false;
                self.reader = false;
                self.adopt(file);
            }
            Err(e) => {
                if !self.failing {
                    tracing::warn!("{e}; discarding audio and retrying about once a second");
                    self.failing = true;
                }
                self.file = None;
            }
        }
    }

    fn fail(&mut self, e: &std::io::Error) {
        tracing::warn!(
            "failed to write to the FIFO {}: {e}; discarding audio and reopening about once a second",
            self.path.display()
        );
        self.failing = true;
        self.file = None;
        self.next_check = Instant::now() + RETRY;
        self.counters
            .discarded
            .fetch_add(self.block_frames, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_snapcast_sample_formats() {
        assert_eq!(
            PcmFormat::parse("48000:16:2").ok(),
            Some(PcmFormat::default())
        );
        let f = PcmFormat::parse("44100:24:1").expect("valid");
        assert_eq!((f.rate, f.bits, f.channels), (44_100, 24, 1));
        assert_eq!(f.frame_bytes(), 4);
        assert_eq!(f.to_string(), "44100:24:1");
        for bad in [
            "",
            "48000",
            "48000:16",
            "48000:8:2",
            "48000:16:6",
            "1:16:2",
            "a:b:c",
            "48000:16:2:1",
        ] {
            assert!(PcmFormat::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn converts_with_clamping() {
        let stereo = [0.0, 1.0, -1.0, 0.5, 2.0, -3.0, f32::NAN, -0.25];
        let mut out = [0u8; 32];
        let s16 = PcmFormat::default();
        let n = s16.encode(&stereo, &mut out);
        assert_eq!(n, 16);
        let samples: Vec<i16> = out[..n]
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(
            samples,
            [0, 32_767, -32_767, 16_384, 32_767, -32_767, 0, -8_192]
        );

        let s32 = PcmFormat { bits: 32, ..s16 };
        let n = s32.encode(&stereo[..4], &mut out);
        let samples: Vec<i32> = out[..n]
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(samples, [0, i32::MAX, -i32::MAX, 1_073_741_824]);

        let mono24 = PcmFormat {
            bits: 24,
            channels: 1,
            ..s16
        };
        let n = mono24.encode(&[1.0, 0.0, -2.0, -2.0], &mut out);
        let samples: Vec<i32> = out[..n]
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(samples, [4_194_304, -8_388_607]);
    }
}
