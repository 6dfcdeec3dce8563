//! Decoding off the audio thread: files → interleaved stereo f32 at the device rate (rodio's
//! decoders, `rubato` FFT resampling, mono upmix), one track at a time (`TrackReader`, which
//! records the first pass of a loop into the loop cache and replays it), and whole short files
//! (`decode_file`, `PcmBuffer`). Owns file I/O; must never be called from the real-time side.
//! Memory is bounded by the chunk and the loop cache's budget, never by the file length.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rodio::Decoder;
use rodio::Source as _;
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use super::loops::{CachedLoop, FileId, LoopCache, Reservation};
use crate::files::{self, FileError};

/// Frames decoded per step (at the file's own rate).
pub(crate) const CHUNK: usize = 1024;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The file could not be opened, is not a regular file (a FIFO, a folder…), or did not
    /// open within [`files::OPEN_TIMEOUT`].
    #[error("failed to open {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: FileError,
    },
    /// The file is not audio that the decoders understand.
    #[error("failed to decode {path}: {message}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        message: String,
    },
    /// The resampler could not be built for this rate pair.
    #[error("failed to resample {path} from {from} Hz to {to} Hz: {message}")]
    Resample {
        /// The file.
        path: PathBuf,
        /// The file's rate.
        from: u32,
        /// The device rate.
        to: u32,
        /// What rubato said.
        message: String,
    },
}

/// Rate conversion state for one track: an FFT resampler fed in fixed input chunks.
struct Conversion {
    fft: Fft<f32>,
    input: Vec<f32>,
    filled: usize,
    output: Vec<f32>,
    /// Output frames still to drop (the resampler's delay).
    skip: usize,
    in_frames: u64,
    out_frames: u64,
    ratio: f64,
}

/// Reads one file as interleaved stereo frames at the device rate.
///
/// When `seamless_loop` is set and the file's last frame runs into its first as smoothly as
/// the signal moves anyway, the reader reopens the file at its end and feeds the resampler
/// without a break, so the loop is gapless to the sample and the resampler never sees an edge.
///
/// Given a loop cache, the reader records the first pass it decodes (when the budget allows)
/// and replays the copy, from then on, instead of decoding the file again; a reader opened on
/// a file the cache holds never opens the file.
pub(crate) struct TrackReader {
    path: PathBuf,
    native_src: Native,
    channels: usize,
    conversion: Option<Conversion>,
    seamless_loop: bool,
    first: Option<[f32; 2]>,
    last: [f32; 2],
    max_step: f32,
    native: Vec<f32>,
    /// Exact frame count from the container, for Ogg only (see `ogg_frame_limit`).
    limit: Option<u64>,
    read_frames: u64,
    eof: bool,
    flushed: bool,
    cache: Option<Arc<LoopCache>>,
    id: Option<FileId>,
    recording: Option<Recording>,
    /// Native frames decoded from the file, and replayed from a cached copy (for the log).
    decoded: u64,
    replayed: u64,
    native_rate: u32,
}

/// Where native frames come from.
enum Native {
    File(Box<Decoder<BufReader<File>>>),
    Memory { copy: Arc<CachedLoop>, pos: usize },
}

/// A pass being recorded for the loop cache.
struct Recording {
    samples: Vec<f32>,
    held: Reservation,
}

/// rodio 0.23 over symphonia 0.5.5 decodes the end padding of an Ogg Vorbis stream's last page
/// (about 500 frames of tail that is not in the original), which would put a glitch into every
/// loop. The Ogg granule position is exact and arrives as the track's duration, so Ogg files are
/// cut there. Other containers' durations can be estimates (VBR MP3), so they are not cut.
fn ogg_frame_limit(path: &Path, decoder: &Decoder<BufReader<File>>) -> Option<u64> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    if !matches!(ext.as_str(), "ogg" | "oga") {
        return None;
    }
    let d = decoder.total_duration()?;
    Some(crate::units::frames(d, decoder.sample_rate().get()))
}

/// Opens `path` for decoding. Never blocks on it: only a regular file is opened (a sound file
/// replaced by a FIFO after the ceremony was checked is refused at once), and an open that
/// hangs (a dead network mount) is given up after [`files::OPEN_TIMEOUT`]; the caller logs.
/// With `cache`, a file the cache holds is not decoded: its copy comes back instead.
fn open_decoder(path: &Path, cache: Option<&LoopCache>) -> Result<(Opened, FileId), DecodeError> {
    let mut file = files::open_regular_within(path, files::OPEN_TIMEOUT).map_err(|source| {
        DecodeError::Open {
            path: path.to_owned(),
            source,
        }
    })?;
    let decode_error = |message: String| DecodeError::Decode {
        path: path.to_owned(),
        message,
    };
    let meta = file.metadata().map_err(|e| decode_error(e.to_string()))?;
    let id = FileId {
        path: path.to_owned(),
        len: meta.len(),
        modified: meta.modified().ok(),
    };
    if let Some(copy) = cache.and_then(|c| c.get(&id)) {
        return Ok((Opened::Copy(copy), id));
    }
    // symphonia would allocate whatever a comment header claims (see `tags`).
    crate::probe::tags::check_metadata_lengths(&mut file, meta.len())
        .map_err(|e| decode_error(e.to_string()))?
        .map_err(decode_error)?;
    // symphonia panics on some malformed headers (a sample rate of 0): an error, not a crash.
    let decoder = crate::probe::contain::contain(move || Decoder::try_from(file))
        .map_err(decode_error)?
        .map_err(|e| decode_error(e.to_string()))?;
    Ok((Opened::Decoder(Box::new(decoder)), id))
}

/// What `open_decoder` found.
enum Opened {
    Decoder(Box<Decoder<BufReader<File>>>),
    Copy(Arc<CachedLoop>),
}

impl TrackReader {
    /// Opens `path` for playback at `rate`. With `cache` (a looping source), the first pass is
    /// recorded when its copy fits the cache's budget, and a copy already there is replayed.
    pub(crate) fn open(
        path: &Path,
        rate: u32,
        seamless_loop: bool,
        cache: Option<&Arc<LoopCache>>,
    ) -> Result<Self, DecodeError> {
        let (source, id) = open_decoder(path, cache.map(|c| &**c))?;
        let (native_src, channels, from, limit) = match source {
            Opened::Copy(copy) => {
                let from = copy.rate;
                (Native::Memory { copy, pos: 0 }, 2, from, None)
            }
            Opened::Decoder(decoder) => {
                let channels = usize::from(decoder.channels().get());
                let from = decoder.sample_rate().get();
                let limit = ogg_frame_limit(path, &decoder);
                (Native::File(decoder), channels, from, limit)
            }
        };
        let conversion = if from == rate {
            None
        } else {
            let err = |e: &dyn std::fmt::Display| DecodeError::Resample {
                path: path.to_owned(),
                from,
                to: rate,
                message: e.to_string(),
            };
            let fft = Fft::<f32>::new(from as usize, rate as usize, CHUNK, 2, FixedSync::Input)
                .map_err(|e| err(&e))?;
            let max_out = fft.output_frames_max();
            let skip = fft.output_delay();
            Some(Conversion {
                input: vec![0.0; fft.input_frames_max() * 2],
                filled: 0,
                output: vec![0.0; max_out * 2],
                skip,
                in_frames: 0,
                out_frames: 0,
                ratio: f64::from(rate) / f64::from(from),
                fft,
            })
        };
        let mut reader = Self {
            path: path.to_owned(),
            limit,
            read_frames: 0,
            native_src,
            channels,
            conversion,
            seamless_loop,
            first: None,
            last: [0.0; 2],
            max_step: 0.0,
            native: Vec::with_capacity(CHUNK * 2),
            eof: false,
            flushed: false,
            cache: cache.cloned(),
            id: Some(id),
            recording: None,
            decoded: 0,
            replayed: 0,
            native_rate: from,
        };
        reader.start_recording();
        Ok(reader)
    }

    /// Starts recording this pass (from its first frame) if a cache was given, the file is
    /// being decoded, its length is known and its copy fits the budget.
    fn start_recording(&mut self) {
        let (Some(cache), Native::File(decoder)) = (&self.cache, &self.native_src) else {
            return;
        };
        let frames = match self.limit {
            Some(l) => l,
            None => match decoder.total_duration() {
                // An estimate (VBR MP3): leave room for 2 % more.
                Some(d) => crate::units::frames(d, self.native_rate) / 50 * 51 + 1,
                None => return,
            },
        };
        let Some(samples) = usize::try_from(frames).ok().and_then(|f| f.checked_mul(2)) else {
            return;
        };
        if let Some(held) = cache.reserve(samples * std::mem::size_of::<f32>()) {
            self.recording = Some(Recording {
                samples: Vec::with_capacity(samples),
                held,
            });
        }
    }

    /// At the end of a recorded pass: keeps the copy in the cache.
    fn finish_recording(&mut self) -> Option<Arc<CachedLoop>> {
        let rec = self.recording.take()?;
        let (cache, id) = (self.cache.as_ref()?, self.id.clone()?);
        let seamless = self.first.is_some_and(|first| {
            let jump = (first[0] - self.last[0])
                .abs()
                .max((first[1] - self.last[1]).abs());
            jump <= self.max_step
        });
        Some(cache.publish(id, rec.samples, seamless, rec.held, self.native_rate))
    }

    /// Reads up to one chunk of native frames as stereo into `self.native`. Returns false at
    /// the end of the file (after a seamless loop restart, keeps going).
    fn read_native(&mut self) -> bool {
        self.native.clear();
        if let Native::Memory { copy, pos } = &mut self.native_src {
            let mut n = (CHUNK * 2).min(copy.samples.len() - *pos);
            if n == 0 && self.seamless_loop && copy.seamless && !copy.samples.is_empty() {
                *pos = 0;
                n = (CHUNK * 2).min(copy.samples.len());
            }
            self.native.extend_from_slice(&copy.samples[*pos..*pos + n]);
            *pos += n;
            self.replayed += n as u64 / 2;
            return n > 0;
        }
        let c = self.channels;
        let mut frame = [0.0f32; 8];
        'frames: while self.native.len() < CHUNK * 2 {
            let Native::File(decoder) = &mut self.native_src else {
                break;
            };
            let at_limit = self.limit.is_some_and(|l| self.read_frames >= l);
            for (ch, slot) in frame.iter_mut().enumerate().take(c.min(8)) {
                match if at_limit { None } else { decoder.next() } {
                    Some(s) => *slot = s,
                    None if ch == 0 => {
                        if self.native.is_empty() && self.try_seamless_restart() {
                            if matches!(self.native_src, Native::Memory { .. }) {
                                return self.read_native();
                            }
                            continue 'frames;
                        }
                        break 'frames;
                    }
                    None => break 'frames,
                }
            }
            for _ in 8..c {
                let _ = decoder.next();
            }
            let (l, r) = if c == 1 {
                (frame[0], frame[0])
            } else {
                (frame[0], frame[1])
            };
            if self.first.is_none() {
                self.first = Some([l, r]);
            } else {
                let step = (l - self.last[0]).abs().max((r - self.last[1]).abs());
                self.max_step = self.max_step.max(step);
            }
            self.last = [l, r];
            self.read_frames += 1;
            self.native.push(l);
            self.native.push(r);
        }
        self.decoded += self.native.len() as u64 / 2;
        if let Some(rec) = &mut self.recording {
            if rec.samples.len() + self.native.len() <= rec.samples.capacity() {
                rec.samples.extend_from_slice(&self.native);
            } else {
                // Longer than its header said: not kept.
                self.recording = None;
            }
        }
        if self.native.is_empty() {
            // The end of the file: a recorded pass is complete.
            self.finish_recording();
        }
        !self.native.is_empty()
    }

    /// At the end of a looping file: if its end meets its start smoothly, go on from its
    /// start: from the cached copy of it when there is one, else by opening it again.
    fn try_seamless_restart(&mut self) -> bool {
        if !self.seamless_loop {
            return false;
        }
        let Some(first) = self.first else {
            return false;
        };
        let jump = (first[0] - self.last[0])
            .abs()
            .max((first[1] - self.last[1]).abs());
        if jump > self.max_step {
            return false;
        }
        let copy = self
            .finish_recording()
            .or_else(|| self.cache.as_ref()?.get(self.id.as_ref()?));
        if let Some(copy) = copy {
            self.native_src = Native::Memory { copy, pos: 0 };
            return true;
        }
        match open_decoder(&self.path, None) {
            Ok((Opened::Decoder(d), _)) => {
                self.native_src = Native::File(d);
                self.read_frames = 0;
                self.start_recording();
                true
            }
            Ok((Opened::Copy(_), _)) => false,
            Err(e) => {
                tracing::warn!("{e}; loop ends here");
                self.seamless_loop = false;
                false
            }
        }
    }

    /// Appends the next frames (stereo, device rate) to `out`; may append none while the
    /// resampler fills a chunk. Returns false once the track has ended and nothing was appended.
    pub(crate) fn read(&mut self, out: &mut Vec<f32>) -> bool {
        if self.flushed {
            return false;
        }
        let start = out.len();
        if self.eof {
            self.native.clear();
        } else if !self.read_native() {
            self.eof = true;
        }
        let Some(conv) = self.conversion.as_mut() else {
            out.extend_from_slice(&self.native);
            self.flushed = self.eof;
            return out.len() > start || !self.flushed;
        };
        let mut src = 0;
        loop {
            let need = conv.fft.input_frames_next();
            let take = (need - conv.filled).min((self.native.len() - src) / 2);
            conv.input[conv.filled * 2..(conv.filled + take) * 2]
                .copy_from_slice(&self.native[src..src + take * 2]);
            conv.filled += take;
            src += take * 2;
            conv.in_frames += take as u64;
            let full = conv.filled == need;
            if !full && !self.eof {
                break;
            }
            // At the end: pad with silence until every input frame has come out.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let expected = (conv.in_frames as f64 * conv.ratio).round() as u64;
            if !full && conv.out_frames >= expected {
                self.flushed = true;
                break;
            }
            conv.input[conv.filled * 2..].fill(0.0);
            let produced = {
                let Ok(inp) = InterleavedSlice::new(&conv.input[..], 2, need) else {
                    break;
                };
                let frames_out = conv.output.len() / 2;
                let Ok(mut outp) = InterleavedSlice::new_mut(&mut conv.output[..], 2, frames_out)
                else {
                    break;
                };
                let idx = Indexing::new().partial_len(conv.filled);
                match conv.fft.process_into_buffer(&inp, &mut outp, Some(&idx)) {
                    Ok((_, n)) => n,
                    Err(e) => {
                        tracing::warn!("resampling {} failed: {e}", self.path.display());
                        self.flushed = true;
                        break;
                    }
                }
            };
            conv.filled = 0;
            let skip = conv.skip.min(produced);
            conv.skip -= skip;
            let mut n = produced - skip;
            if self.eof {
                #[allow(clippy::cast_possible_truncation)]
                let left = expected.saturating_sub(conv.out_frames) as usize;
                n = n.min(left);
            }
            out.extend_from_slice(&conv.output[skip * 2..(skip + n) * 2]);
            conv.out_frames += n as u64;
            if src >= self.native.len() && !self.eof {
                break;
            }
            if self.eof && out.len() > start {
                break;
            }
        }
        out.len() > start || !self.flushed
    }
}

impl Drop for TrackReader {
    fn drop(&mut self) {
        // What this track cost, for scripts/live-cpu.sh (which decodes the same with sox).
        tracing::debug!(
            "decoded {}: {} frames at {} Hz ({} more replayed from a cached copy)",
            self.path.display(),
            self.decoded,
            self.native_rate,
            self.replayed
        );
    }
}

/// Decodes a whole file into memory (stereo, device rate). For short one-shots and tests.
///
/// # Errors
/// Returns a [`DecodeError`] if the file cannot be opened, decoded or resampled.
pub fn decode_file(path: &Path, rate: u32) -> Result<Vec<f32>, DecodeError> {
    let mut reader = TrackReader::open(path, rate, false, None)?;
    let mut out = Vec::new();
    while reader.read(&mut out) {}
    Ok(out)
}

/// Interleaved stereo frames at the device rate, decoded ahead of time and shared.
#[derive(Debug, Clone)]
pub struct PcmBuffer(pub(crate) Arc<[f32]>);

impl PcmBuffer {
    /// Wraps interleaved stereo samples (an odd trailing sample is dropped).
    #[must_use]
    pub fn from_interleaved(mut samples: Vec<f32>) -> Self {
        samples.truncate(samples.len() & !1);
        Self(samples.into())
    }

    /// Decodes a whole file (for short one-shots). Resampled to `rate`, upmixed to stereo.
    ///
    /// # Errors
    /// Returns a [`DecodeError`] if the file cannot be opened, decoded or resampled.
    pub fn decode(path: &Path, rate: u32) -> Result<Self, DecodeError> {
        decode_file(path, rate).map(Self::from_interleaved)
    }

    /// Number of stereo frames.
    #[must_use]
    pub fn frames(&self) -> usize {
        self.0.len() / 2
    }

    /// The interleaved samples.
    #[must_use]
    pub fn samples(&self) -> &[f32] {
        &self.0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes a mono float WAV of a 0.5-amplitude sine at `rate`.
    pub(crate) fn write(path: &Path, rate: u32, frames: usize) {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: rate,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(path, spec).expect("create");
        for i in 0..frames {
            #[allow(clippy::cast_precision_loss)]
            let s = 0.5 * (i as f32 * 0.1).sin();
            w.write_sample(s).expect("write");
        }
        w.finalize().expect("finalize");
    }

    #[test]
    fn resampled_length_matches_the_rate_ratio() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (rate, frames, device, want) in [
            (44_100, 88_200, 48_000, 96_000),
            (48_000, 1000, 48_000, 1000),
            (44_100, 441, 48_000, 480),
            (48_000, 96_000, 44_100, 88_200),
        ] {
            let path = dir.path().join(format!("t{rate}_{frames}.wav"));
            write(&path, rate, frames);
            let out = decode_file(&path, device).expect("decode");
            assert_eq!(
                out.len() / 2,
                want,
                "{rate} Hz → {device} Hz, {frames} frames"
            );
        }
    }
}
