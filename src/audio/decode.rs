//! Decoding off the audio thread: files → interleaved stereo f32 at the device rate (rodio's
//! decoders, `rubato` FFT resampling, mono upmix), and the per-voice streaming thread that
//! turns a source (one file, a loop, a playlist) into one continuous stream in a ring a few
//! seconds ahead of the mixer. Owns file I/O and the loop/playlist splicing; must never be
//! called from the real-time side. Memory is bounded by the ring and the crossfade length,
//! never by the file length.

use std::collections::VecDeque;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use rodio::Decoder;
use rodio::Source as _;
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use crate::files::{self, FileError};
use crate::tween::Curve;

/// Frames decoded per step (at the file's own rate).
const CHUNK: usize = 1024;

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
pub(crate) struct TrackReader {
    path: PathBuf,
    decoder: Decoder<BufReader<File>>,
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
fn open_decoder(path: &Path) -> Result<Decoder<BufReader<File>>, DecodeError> {
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
    let len = file
        .metadata()
        .map_err(|e| decode_error(e.to_string()))?
        .len();
    // symphonia would allocate whatever a comment header claims (see `tags`).
    super::tags::check_metadata_lengths(&mut file, len)
        .map_err(|e| decode_error(e.to_string()))?
        .map_err(decode_error)?;
    // symphonia panics on some malformed headers (a sample rate of 0): an error, not a crash.
    super::contain::contain(move || Decoder::try_from(file))
        .map_err(decode_error)?
        .map_err(|e| decode_error(e.to_string()))
}

impl TrackReader {
    /// Opens `path` for playback at `rate`.
    pub(crate) fn open(path: &Path, rate: u32, seamless_loop: bool) -> Result<Self, DecodeError> {
        let decoder = open_decoder(path)?;
        let channels = usize::from(decoder.channels().get());
        let from = decoder.sample_rate().get();
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
        let limit = ogg_frame_limit(path, &decoder);
        Ok(Self {
            path: path.to_owned(),
            limit,
            read_frames: 0,
            decoder,
            channels,
            conversion,
            seamless_loop,
            first: None,
            last: [0.0; 2],
            max_step: 0.0,
            native: Vec::with_capacity(CHUNK * 2),
            eof: false,
            flushed: false,
        })
    }

    /// Reads up to one chunk of native frames as stereo into `self.native`. Returns false at
    /// the end of the file (after a seamless loop restart, keeps going).
    fn read_native(&mut self) -> bool {
        self.native.clear();
        let c = self.channels;
        let mut frame = [0.0f32; 8];
        'frames: while self.native.len() < CHUNK * 2 {
            let at_limit = self.limit.is_some_and(|l| self.read_frames >= l);
            for (ch, slot) in frame.iter_mut().enumerate().take(c.min(8)) {
                match if at_limit { None } else { self.decoder.next() } {
                    Some(s) => *slot = s,
                    None if ch == 0 => {
                        if self.native.is_empty() && self.try_seamless_restart() {
                            continue 'frames;
                        }
                        break 'frames;
                    }
                    None => break 'frames,
                }
            }
            for _ in 8..c {
                let _ = self.decoder.next();
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
        !self.native.is_empty()
    }

    /// At the end of a looping file: if its end meets its start smoothly, reopen it and go on.
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
        match open_decoder(&self.path) {
            Ok(d) => {
                self.decoder = d;
                self.read_frames = 0;
                true
            }
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

/// Decodes a whole file into memory (stereo, device rate). For short one-shots and tests.
///
/// # Errors
/// Returns a [`DecodeError`] if the file cannot be opened, decoded or resampled.
pub fn decode_file(path: &Path, rate: u32) -> Result<Vec<f32>, DecodeError> {
    let mut reader = TrackReader::open(path, rate, false)?;
    let mut out = Vec::new();
    while reader.read(&mut out) {}
    Ok(out)
}

/// What a streaming voice plays.
#[derive(Debug, Clone)]
pub(crate) struct StreamPlan {
    pub files: Vec<PathBuf>,
    pub looping: bool,
    /// Track-to-track crossfade (playlists), frames.
    pub crossfade: usize,
    /// Crossfade at the loop point of a single looping file whose ends don't meet, frames.
    pub loop_crossfade: usize,
    pub loop_curve: Curve,
    pub rate: u32,
}

/// Spawns the thread that keeps `ring` filled with `plan` a few seconds ahead. The thread ends
/// when the plan is played out (dropping the producer tells the mixer the voice has ended) or
/// when the mixer side drops the voice (the consumer is abandoned).
pub(crate) fn spawn_stream(
    plan: StreamPlan,
    ring: rtrb::Producer<f32>,
    name: String,
) -> std::io::Result<thread::JoinHandle<()>> {
    thread::Builder::new()
        .name(format!("sanctum-decode {name}"))
        .spawn(move || Streamer::new(plan, ring).run())
}

struct Streamer {
    plan: StreamPlan,
    ring: rtrb::Producer<f32>,
    /// Frames decoded but held back because the next transition may overlap them.
    tail: VecDeque<f32>,
    /// Frames ready for the ring.
    staging: VecDeque<f32>,
    scratch: Vec<f32>,
    track: Option<TrackReader>,
    index: usize,
    /// Frames the current track has produced, and how many tracks in a row produced none.
    track_frames: usize,
    empty_tracks: usize,
    done: bool,
}

impl Streamer {
    fn new(plan: StreamPlan, ring: rtrb::Producer<f32>) -> Self {
        Self {
            plan,
            ring,
            tail: VecDeque::new(),
            staging: VecDeque::new(),
            scratch: Vec::with_capacity(CHUNK * 4),
            track: None,
            index: 0,
            track_frames: 0,
            empty_tracks: 0,
            done: false,
        }
    }

    fn single_loop(&self) -> bool {
        self.plan.looping && self.plan.files.len() == 1
    }

    fn has_next(&self, index: usize) -> bool {
        self.plan.looping || index + 1 < self.plan.files.len()
    }

    /// Frames to hold back before the transition after track `index`.
    fn hold(&self, index: usize) -> usize {
        if !self.has_next(index) {
            0
        } else if self.single_loop() {
            self.plan.loop_crossfade
        } else {
            self.plan.crossfade
        }
    }

    /// Opens track `index` (wrapping), skipping files that fail. None if no file in a whole
    /// round can be opened.
    fn open_from(&mut self, mut index: usize) -> Option<(usize, TrackReader)> {
        let n = self.plan.files.len();
        for _ in 0..n {
            if index >= n {
                if !self.plan.looping {
                    return None;
                }
                index = 0;
            }
            let path = &self.plan.files[index];
            match TrackReader::open(path, self.plan.rate, self.single_loop()) {
                Ok(r) => return Some((index, r)),
                Err(e) => tracing::warn!("skipping: {e}"),
            }
            index += 1;
            if index >= n && !self.plan.looping {
                return None;
            }
        }
        None
    }

    fn run(mut self) {
        match self.open_from(0) {
            Some((i, r)) => {
                self.index = i;
                self.track = Some(r);
            }
            None => self.done = true,
        }
        loop {
            if self.ring.is_abandoned() {
                return;
            }
            // Push what is staged.
            let space = self.ring.slots() & !1;
            let n = space.min(self.staging.len());
            if n > 0
                && let Ok(chunk) = self.ring.write_chunk_uninit(n)
            {
                chunk.fill_from_iter(self.staging.drain(..n));
            }
            if self.staging.is_empty() {
                if self.done {
                    return; // drops the producer: end of stream
                }
                self.step();
                continue;
            }
            if self.ring.slots() < 2 {
                // The ring holds seconds; topping it up every 20 ms is plenty.
                thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Decodes one more chunk or performs one transition.
    fn step(&mut self) {
        let Some(track) = self.track.as_mut() else {
            self.flush_tail();
            self.done = true;
            return;
        };
        self.scratch.clear();
        if track.read(&mut self.scratch) {
            self.track_frames += self.scratch.len() / 2;
            self.tail.extend(self.scratch.iter().copied());
            let hold = self.hold(self.index) * 2;
            while self.tail.len() > hold {
                let move_n = self.tail.len() - hold;
                self.staging.extend(self.tail.drain(..move_n));
            }
            return;
        }
        // End of this track.
        if self.track_frames == 0 {
            self.empty_tracks += 1;
        } else {
            self.empty_tracks = 0;
        }
        self.track_frames = 0;
        if !self.has_next(self.index) || self.empty_tracks >= self.plan.files.len() {
            // Played out, or a loop whose every file is empty.
            self.track = None;
            self.flush_tail();
            self.done = true;
            return;
        }
        let single = self.single_loop();
        let Some((next, mut reader)) = self.open_from(self.index + 1) else {
            self.track = None;
            self.flush_tail();
            self.done = true;
            return;
        };
        let (k_max, curve) = if single {
            (self.plan.loop_crossfade, self.plan.loop_curve)
        } else {
            (self.plan.crossfade, Curve::EqualPower)
        };
        let k_max = k_max.min(self.tail.len() / 2);
        // Read the head of the next track: twice the crossfade, so that a crossfade never
        // covers more than half of a track. Each transition then leaves more in the tail than
        // it takes, and a playlist of tracks shorter than its crossfade still moves on
        // (otherwise the tail never outgrows the hold and nothing reaches the ring).
        self.scratch.clear();
        while self.scratch.len() < k_max * 4 && reader.read(&mut self.scratch) {}
        let k = k_max.min(self.scratch.len() / 4);
        let t0 = self.tail.len() / 2 - k;
        for i in 0..k {
            #[allow(clippy::cast_precision_loss)]
            let p = (i as f32 + 0.5) / k as f32;
            let (a, b) = (curve.fade_out(p), curve.fade_in(p));
            for ch in 0..2 {
                let t = &mut self.tail[(t0 + i) * 2 + ch];
                *t = *t * a + self.scratch[i * 2 + ch] * b;
            }
        }
        self.tail.extend(self.scratch[k * 2..].iter().copied());
        self.track_frames = self.scratch.len() / 2;
        self.index = next;
        self.track = Some(reader);
        let hold = self.hold(self.index) * 2;
        if self.tail.len() > hold {
            let move_n = self.tail.len() - hold;
            self.staging.extend(self.tail.drain(..move_n));
        }
    }

    fn flush_tail(&mut self) {
        self.staging.extend(self.tail.drain(..));
    }
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
mod tests {
    use super::*;

    fn write(path: &Path, rate: u32, frames: usize) {
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

    /// Everything a streamer puts in its ring, until it ends or `limit` frames arrive.
    fn stream(plan: StreamPlan, limit: usize) -> Vec<f32> {
        let (tx, mut rx) = rtrb::RingBuffer::new(48_000 * 2);
        let thread = spawn_stream(plan, tx, "test".into()).expect("spawn");
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while got.len() < limit * 2 && std::time::Instant::now() < deadline {
            match rx.pop() {
                Ok(s) => got.push(s),
                Err(_) if rx.is_abandoned() => break,
                Err(_) => thread::sleep(Duration::from_millis(1)),
            }
        }
        drop(rx);
        thread
            .join()
            .expect("the streamer ends when the voice is dropped");
        got
    }

    /// A two-track playlist at 48 kHz with a `crossfade` of that many frames.
    fn two_tracks(a: PathBuf, b: PathBuf, looping: bool, crossfade: usize) -> StreamPlan {
        StreamPlan {
            files: vec![a, b],
            looping,
            crossfade,
            loop_crossfade: 2_400,
            loop_curve: Curve::Linear,
            rate: 48_000,
        }
    }

    #[test]
    fn a_playlist_of_tracks_shorter_than_its_crossfade_still_plays() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a.wav"), dir.path().join("b.wav"));
        write(&a, 48_000, 12_000);
        write(&b, 44_100, 11_025);
        let plan = two_tracks(a, b, true, 3 * 48_000);
        // Ten seconds of 0.25 s tracks under a 3 s crossfade: it used to spin forever with
        // the whole playlist held back and the ring empty.
        let got = stream(plan, 480_000);
        assert_eq!(got.len(), 480_000 * 2, "the ring filled");
        let peak = got.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.2, "and it is the tracks' audio: peak {peak}");
    }

    #[test]
    fn a_non_looping_playlist_ends_with_every_track_heard() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a.wav"), dir.path().join("b.wav"));
        write(&a, 48_000, 12_000);
        write(&b, 48_000, 12_000);
        let plan = two_tracks(a, b, false, 48_000);
        let got = stream(plan, 1_000_000);
        // The crossfade is capped at half a track: 24,000 − 6,000 frames overlap.
        assert_eq!(got.len() / 2, 24_000 - 6_000);
    }

    #[test]
    fn a_sound_file_that_became_a_fifo_is_skipped_not_waited_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a.wav"), dir.path().join("b.wav"));
        write(&a, 48_000, 12_000);
        write(&b, 48_000, 12_000);
        // After the ceremony was checked, b.wav is swapped for a FIFO nobody writes to.
        std::fs::remove_file(&b).expect("remove");
        rustix::fs::mkfifoat(rustix::fs::CWD, &b, rustix::fs::Mode::from_raw_mode(0o600))
            .expect("mkfifo");
        let started = std::time::Instant::now();
        let err = TrackReader::open(&b, 48_000, false).err().expect("refused");
        assert!(
            err.to_string()
                .ends_with("b.wav: it is a FIFO (named pipe), not a regular file"),
            "{err}"
        );
        // A playlist with it plays its other track and ends; nothing waits on the FIFO.
        let got = stream(two_tracks(a, b.clone(), false, 0), 1_000_000);
        assert_eq!(got.len() / 2, 12_000);
        let alone = StreamPlan {
            files: vec![b],
            ..two_tracks(PathBuf::new(), PathBuf::new(), true, 0)
        };
        assert!(stream(alone, 1_000).is_empty());
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
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
