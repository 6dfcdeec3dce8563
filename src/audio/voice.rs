//! One playing sound on the real-time side: where its frames come from (a streaming ring fed by
//! a decoder thread, or a preloaded buffer), its gain ramp, and its counters. Built on the
//! control side, moved to the processor through the command ring, and moved back to be dropped;
//! must not allocate, free, lock or block while rendering.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::ramp::GainRamp;
use super::stream::StreamRing;

/// Counters one voice shares with the control side (read by `AudioHandle::stats`).
#[derive(Debug, Default)]
pub(crate) struct VoiceCounters {
    /// Blocks in which the voice ran dry while its decoder was still going.
    pub underruns: AtomicU64,
    /// Frames of silence those underruns cost.
    pub underrun_frames: AtomicU64,
}

/// Where a voice's frames come from.
pub(crate) enum Input {
    /// A ring filled by a decoder thread. `started` turns true once it holds `prefill` frames
    /// (or the decoder has finished), so a voice never starts with an underrun.
    Stream { ring: StreamRing, started: bool },
    /// Interleaved stereo decoded ahead of time.
    Buffer {
        data: Arc<[f32]>,
        pos: usize,
        looping: bool,
    },
}

/// A voice: a source, a gain ramp and bookkeeping.
pub(crate) struct Voice {
    pub id: u64,
    /// Layer index; `None` for one-shots.
    pub layer: Option<usize>,
    pub input: Input,
    pub ramp: GainRamp,
    /// Fading out to be removed when the ramp reaches zero.
    pub retiring: bool,
    pub finished: bool,
    pub counters: Arc<VoiceCounters>,
}

/// What a render call did, for the processor's totals.
pub(crate) struct Rendered {
    pub underrun_frames: u64,
}

/// The layer's share of a voice's gain for this block.
#[derive(Clone, Copy)]
pub(crate) enum LayerGain<'a> {
    /// The same for every frame (no ducking in motion): folded into the ramp for free.
    Const(f32),
    /// One value per frame.
    Row(&'a [f32]),
}

/// `bus += src × gain`, frame by frame (one tight loop).
#[inline]
fn mix(bus: &mut [f32], src: &[f32], gains: &[f32]) {
    for ((o, s), g) in bus.chunks_exact_mut(2).zip(src.chunks_exact(2)).zip(gains) {
        o[0] += s[0] * g;
        o[1] += s[1] * g;
    }
}

impl Voice {
    /// Whether the voice is producing sound now (started and not finished).
    pub(crate) fn is_sounding(&self) -> bool {
        !self.finished
            && match &self.input {
                Input::Stream { started, .. } => *started,
                Input::Buffer { .. } => true,
            }
    }

    /// Whether the voice has enough frames buffered to render `frames` without an underrun
    /// (or will never get more). Used by offline backends to wait for decoders.
    pub(crate) fn ready_for(&self, frames: usize, prefill: usize) -> bool {
        match &self.input {
            Input::Stream { ring, started } => {
                let need = if *started {
                    frames
                } else {
                    frames.max(prefill)
                };
                ring.is_abandoned() || ring.slots() >= need * 2
            }
            Input::Buffer { .. } => true,
        }
    }

    /// Adds this voice into `bus` (interleaved stereo, `gains.len()` frames). `layer_gain` is
    /// the layer's trim × ducking. `gains` is scratch.
    pub(crate) fn render(
        &mut self,
        bus: &mut [f32],
        gains: &mut [f32],
        layer_gain: LayerGain<'_>,
        advance_ramps: bool,
        prefill: usize,
    ) -> Rendered {
        let frames = gains.len();
        let mut rendered = Rendered { underrun_frames: 0 };
        if self.finished {
            return rendered;
        }
        if let Input::Stream { ring, started } = &mut self.input
            && !*started
        {
            if ring.is_abandoned() || ring.slots() >= prefill * 2 {
                *started = true;
            } else {
                return rendered; // waiting for the decoder: silent, ramp not advanced
            }
        }
        match layer_gain {
            LayerGain::Const(l) => self.ramp.fill_scaled(gains, advance_ramps, l),
            LayerGain::Row(row) => {
                self.ramp.fill(gains, advance_ramps);
                for (g, l) in gains.iter_mut().zip(row) {
                    *g *= l;
                }
            }
        }
        match &mut self.input {
            Input::Stream { ring, .. } => {
                // Read the abandoned flag first: if the decoder had finished, everything it
                // pushed is visible to the `slots` read that follows.
                let abandoned = ring.is_abandoned();
                let avail = (ring.slots() / 2).min(frames);
                if avail > 0
                    && let Ok(chunk) = ring.ring_mut().read_chunk(avail * 2)
                {
                    let (a, b) = chunk.as_slices();
                    let na = a.len() / 2;
                    mix(&mut bus[..a.len()], a, &gains[..na]);
                    mix(&mut bus[a.len()..avail * 2], b, &gains[na..avail]);
                    chunk.commit_all();
                    ring.consumed();
                }
                if avail < frames {
                    if abandoned {
                        self.finished = true;
                    } else {
                        let missing = (frames - avail) as u64;
                        self.counters.underruns.fetch_add(1, Ordering::Relaxed);
                        self.counters
                            .underrun_frames
                            .fetch_add(missing, Ordering::Relaxed);
                        rendered.underrun_frames = missing;
                    }
                }
            }
            Input::Buffer { data, pos, looping } => {
                let mut done = 0;
                while done < frames {
                    let left = data.len() / 2 - *pos;
                    if left == 0 {
                        if *looping && !data.is_empty() {
                            *pos = 0;
                            continue;
                        }
                        self.finished = true;
                        break;
                    }
                    let n = left.min(frames - done);
                    mix(
                        &mut bus[done * 2..(done + n) * 2],
                        &data[*pos * 2..(*pos + n) * 2],
                        &gains[done..done + n],
                    );
                    *pos += n;
                    done += n;
                }
                if !*looping && *pos * 2 >= data.len() {
                    self.finished = true;
                }
            }
        }
        if self.retiring && self.ramp.is_done() && self.ramp.target() <= 0.0 {
            self.finished = true;
        }
        rendered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_voice(ring: StreamRing) -> Voice {
        Voice {
            id: 1,
            layer: Some(0),
            input: Input::Stream {
                ring,
                started: false,
            },
            ramp: GainRamp::hold(1.0),
            retiring: false,
            finished: false,
            counters: Arc::new(VoiceCounters::default()),
        }
    }

    #[test]
    fn an_underrun_silences_only_that_voice_and_is_counted() {
        let (mut tx, rx) = StreamRing::by_hand(4096);
        let mut starved = stream_voice(rx);
        let mut steady = Voice {
            input: Input::Buffer {
                data: vec![0.25f32; 2000].into(),
                pos: 0,
                looping: true,
            },
            ..stream_voice(StreamRing::by_hand(2).1)
        };
        let unity = LayerGain::Const(1.0);
        let mut gains = [0.0f32; 480];
        let mut bus = vec![0.0f32; 960];
        // Not started yet: silent, not an underrun.
        for _ in 0..100 {
            tx.push(0.5).expect("push");
        }
        let r = starved.render(&mut bus, &mut gains, unity, true, 100);
        assert_eq!(r.underrun_frames, 0);
        assert!(bus.iter().all(|&s| s == 0.0));
        // 50 frames buffered, started: 50 frames sound, 430 are an underrun.
        let r = starved.render(&mut bus, &mut gains, unity, true, 50);
        steady.render(&mut bus, &mut gains, unity, true, 50);
        assert_eq!(r.underrun_frames, 430);
        assert_eq!(starved.counters.underruns.load(Ordering::Relaxed), 1);
        assert_eq!(
            starved.counters.underrun_frames.load(Ordering::Relaxed),
            430
        );
        assert!(bus[..100].iter().all(|&s| (s - 0.75).abs() < 1e-6));
        assert!(
            bus[100..].iter().all(|&s| (s - 0.25).abs() < 1e-6),
            "steady voice plays on"
        );
        assert!(!starved.finished, "an underrun is not the end");
        // The decoder finishes: the voice ends instead of counting underruns.
        drop(tx);
        bus.fill(0.0);
        let r = starved.render(&mut bus, &mut gains, unity, true, 50);
        assert_eq!(r.underrun_frames, 0);
        assert!(starved.finished);
    }
}
