//! The streaming half of a voice: one decoder thread per voice turns a source (one file, a
//! loop, a playlist) into one continuous stream of stereo frames at the device rate, splicing
//! loops and playlist crossfades, into a ring a few seconds ahead of the mixer; and the
//! doorbell by which the ring's two ends wake each other instead of polling. The decoder fills
//! the ring, then sleeps until the mixer has drained it to half; the mixer's read
//! ([`StreamRing::consumed`]) rings it then: one atomic load per block, and one unpark (a
//! futex wake: no lock, no allocation) per refill. An offline renderer waiting for decoders
//! sleeps on a [`Waiter`] that every decoder rings when it has pushed frames or ended. Must
//! not decode (that is `decode.rs`); only `StreamRing` is touched by the real-time side.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, Thread};
use std::time::Duration;

use super::decode::{CHUNK, TrackReader};
use super::loops::LoopCache;
use crate::tween::Curve;

/// What one voice's two ends share to wake each other.
#[derive(Debug)]
struct Doorbell {
    /// The decoder thread (set by itself before it first sleeps).
    decoder: OnceLock<Thread>,
    /// The decoder sleeps until the ring has room.
    decoder_asleep: AtomicBool,
    /// The mixer dropped the voice: the decoder ends.
    closed: AtomicBool,
    /// The offline renderer of this mixer, if one waits.
    waiter: Arc<Waiter>,
}

impl Doorbell {
    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Some(t) = self.decoder.get() {
            t.unpark();
        }
    }
}

/// An offline renderer waiting until decoders are ahead (one per mixer, shared by its voices).
#[derive(Debug, Default)]
pub(crate) struct Waiter {
    thread: Mutex<Option<Thread>>,
    waiting: AtomicBool,
}

impl Waiter {
    /// Offline only (it locks): returns once `ready` holds, sleeping until a decoder pushes
    /// frames or ends between tries.
    pub(crate) fn wait_until(&self, mut ready: impl FnMut() -> bool) {
        while !ready() {
            if let Ok(mut t) = self.thread.lock()
                && t.as_ref().is_none_or(|t| t.id() != thread::current().id())
            {
                *t = Some(thread::current());
            }
            self.waiting.store(true, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            if ready() {
                self.waiting.store(false, Ordering::SeqCst);
                return;
            }
            // A decoder's push unparks this thread; the timeout only guards against a decoder
            // that died without ringing (it never fires otherwise).
            thread::park_timeout(Duration::from_millis(100));
            self.waiting.store(false, Ordering::SeqCst);
        }
    }

    /// A decoder pushed frames or ended.
    fn ring(&self) {
        fence(Ordering::SeqCst);
        if self.waiting.load(Ordering::Relaxed)
            && let Ok(t) = self.thread.lock()
            && let Some(t) = t.as_ref()
        {
            t.unpark();
        }
    }
}

/// The mixer's end of a voice's stream: the ring and the decoder's doorbell. Dropping it ends
/// the decoder.
#[derive(Debug)]
pub(crate) struct StreamRing {
    ring: rtrb::Consumer<f32>,
    bell: Arc<Doorbell>,
    /// Samples in the ring at or below which the decoder is woken (half the ring).
    refill_at: usize,
}

impl StreamRing {
    /// Samples ready to read.
    pub(crate) fn slots(&self) -> usize {
        self.ring.slots()
    }

    /// The decoder has ended (everything it pushed is readable).
    pub(crate) fn is_abandoned(&self) -> bool {
        self.ring.is_abandoned()
    }

    /// The ring, for reading a chunk; call [`StreamRing::consumed`] after committing.
    pub(crate) fn ring_mut(&mut self) -> &mut rtrb::Consumer<f32> {
        &mut self.ring
    }

    /// After a read: wakes the decoder once the ring has drained to half. Real-time safe: an
    /// atomic load, and at most one unpark per refill.
    pub(crate) fn consumed(&self) {
        if self.ring.slots() > self.refill_at {
            return;
        }
        fence(Ordering::SeqCst);
        if self.bell.decoder_asleep.load(Ordering::Relaxed)
            && self.bell.decoder_asleep.swap(false, Ordering::AcqRel)
            && let Some(t) = self.bell.decoder.get()
        {
            t.unpark();
        }
    }
}

#[cfg(test)]
impl StreamRing {
    /// A ring fed by hand through the returned producer (no decoder thread).
    pub(crate) fn by_hand(capacity: usize) -> (rtrb::Producer<f32>, Self) {
        let (producer, ring) = rtrb::RingBuffer::new(capacity);
        let bell = Arc::new(Doorbell {
            decoder: OnceLock::new(),
            decoder_asleep: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            waiter: Arc::new(Waiter::default()),
        });
        let refill_at = capacity / 2;
        (
            producer,
            Self {
                ring,
                bell,
                refill_at,
            },
        )
    }
}

impl Drop for StreamRing {
    fn drop(&mut self) {
        self.bell.close();
    }
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
    /// Where loops keep decoded copies (`None`: decode every pass).
    pub cache: Option<Arc<LoopCache>>,
}

/// Spawns the thread that keeps a ring of `capacity` samples filled with `plan`, and returns
/// the mixer's end of it (and the thread, which may be left to run). The thread ends when the plan is played out (dropping the producer
/// tells the mixer the voice has ended) or when the mixer drops its end.
pub(crate) fn spawn_stream(
    plan: StreamPlan,
    capacity: usize,
    name: &str,
    waiter: Arc<Waiter>,
) -> std::io::Result<(StreamRing, thread::JoinHandle<()>)> {
    let capacity = capacity.max(4) & !1;
    let (producer, consumer) = rtrb::RingBuffer::new(capacity);
    let bell = Arc::new(Doorbell {
        decoder: OnceLock::new(),
        decoder_asleep: AtomicBool::new(false),
        closed: AtomicBool::new(false),
        waiter,
    });
    let theirs = Arc::clone(&bell);
    let thread = thread::Builder::new()
        .name(format!("sanctum-decode {name}"))
        .spawn(move || {
            let _ = theirs.decoder.set(thread::current());
            let waiter = Arc::clone(&theirs.waiter);
            Streamer::new(plan, producer, theirs).run();
            // The producer is gone: the voice's end is visible to a waiting renderer.
            waiter.ring();
        })?;
    let ring = StreamRing {
        ring: consumer,
        bell,
        refill_at: capacity / 2,
    };
    Ok((ring, thread))
}

struct Streamer {
    plan: StreamPlan,
    ring: rtrb::Producer<f32>,
    bell: Arc<Doorbell>,
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
    fn new(plan: StreamPlan, ring: rtrb::Producer<f32>, bell: Arc<Doorbell>) -> Self {
        Self {
            plan,
            ring,
            bell,
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
            let cache = if self.plan.looping {
                self.plan.cache.as_ref()
            } else {
                None
            };
            match TrackReader::open(path, self.plan.rate, self.single_loop(), cache) {
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
            if self.ring.is_abandoned() || self.bell.closed.load(Ordering::SeqCst) {
                return;
            }
            self.push_staged();
            if self.staging.is_empty() {
                if self.done {
                    return; // drops the producer: end of stream
                }
                self.step();
                continue;
            }
            self.wait_for_room();
        }
    }

    /// Moves what is staged into the ring, as far as it fits.
    fn push_staged(&mut self) {
        let n = (self.ring.slots() & !1).min(self.staging.len());
        if n == 0 {
            return;
        }
        if let Ok(mut chunk) = self.ring.write_chunk(n) {
            let src = &self.staging.make_contiguous()[..n];
            let (a, b) = chunk.as_mut_slices();
            let na = a.len();
            a.copy_from_slice(&src[..na]);
            b.copy_from_slice(&src[na..]);
            chunk.commit_all();
            self.staging.drain(..n);
            self.bell.waiter.ring();
        }
    }

    /// The ring is full: sleeps until the mixer has drained it to half (it rings), or drops
    /// the voice.
    fn wait_for_room(&mut self) {
        let room = self.ring.buffer().capacity() / 2;
        self.bell.decoder_asleep.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if self.ring.slots() >= room
            || self.ring.is_abandoned()
            || self.bell.closed.load(Ordering::SeqCst)
        {
            self.bell.decoder_asleep.store(false, Ordering::SeqCst);
            return;
        }
        thread::park();
        self.bell.decoder_asleep.store(false, Ordering::SeqCst);
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
            self.stage_beyond(hold);
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
        self.stage_beyond(hold);
    }

    /// Moves all but the last `hold` samples of the tail to the staging queue.
    fn stage_beyond(&mut self, hold: usize) {
        let n = self.tail.len().saturating_sub(hold);
        if n == 0 {
            return;
        }
        let (a, b) = self.tail.as_slices();
        let na = a.len().min(n);
        self.staging.extend(a[..na].iter().copied());
        self.staging.extend(b[..n - na].iter().copied());
        self.tail.drain(..n);
    }

    fn flush_tail(&mut self) {
        self.stage_beyond(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::decode::tests::write;

    /// Everything a streamer puts in its ring, until it ends or `limit` frames arrive.
    fn stream(plan: StreamPlan, limit: usize) -> Vec<f32> {
        let waiter = Arc::new(Waiter::default());
        let (mut rx, thread) =
            spawn_stream(plan, 48_000 * 2, "test", Arc::clone(&waiter)).expect("spawn");
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while got.len() < limit * 2 && std::time::Instant::now() < deadline {
            waiter.wait_until(|| rx.slots() > 0 || rx.is_abandoned());
            match rx.ring_mut().pop() {
                Ok(s) => got.push(s),
                Err(_) if rx.is_abandoned() => break,
                Err(_) => {}
            }
            rx.consumed();
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
            cache: None,
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
        let err = TrackReader::open(&b, 48_000, false, None)
            .err()
            .expect("refused");
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
}
