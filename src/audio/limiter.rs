//! The output limiter: a look-ahead soft limiter that keeps the stereo bus under a ceiling.
//! Owns only the gain-reduction envelope and its delay line, all preallocated at build; must
//! not allocate, and never lets a sample past 0 dBFS.

/// Look-ahead soft limiter.
///
/// For every frame it computes the gain that would bring the frame's peak down to the ceiling,
/// takes the minimum of that over the next `window` frames (instant attack, seen early thanks to
/// the delay line), lets it recover exponentially (release), and smooths it with a moving
/// average over `window` frames. Because the average of values that are each at most the gain
/// required by a frame is itself at most that gain, the output never exceeds the ceiling, and
/// the gain changes over `window` frames instead of in one step (no clicks, unlike a clipper).
/// Latency: `window` frames.
#[derive(Debug)]
pub(crate) struct Limiter {
    ceiling: f32,
    window: usize,
    release: f32,
    /// Delayed stereo frames, `window` of them.
    delay: Vec<f32>,
    /// Envelope values of the last `window` frames, for the moving average.
    env_ring: Vec<f32>,
    env_sum: f64,
    idx: usize,
    env: f32,
    /// Monotonic deque (ring) of (frame, required gain) for the sliding minimum.
    dq: Vec<(u64, f32)>,
    dq_head: usize,
    dq_len: usize,
    t: u64,
}

impl Limiter {
    /// A limiter with `ceiling` (linear amplitude), `window` frames of look-ahead and a release
    /// time constant of `release_frames`.
    pub(crate) fn new(ceiling: f32, window: usize, release_frames: f32) -> Self {
        let window = window.max(1);
        Self {
            ceiling: ceiling.clamp(0.0, 1.0),
            window,
            release: 1.0 - (-1.0 / release_frames.max(1.0)).exp(),
            delay: vec![0.0; window * 2],
            env_ring: vec![1.0; window],
            #[allow(clippy::cast_precision_loss)]
            env_sum: window as f64,
            idx: 0,
            env: 1.0,
            dq: vec![(0, 1.0); window + 2],
            dq_head: 0,
            dq_len: 0,
            t: 0,
        }
    }

    /// Whether the limiter is at rest: no gain reduction anywhere in its state.
    fn idle(&self) -> bool {
        #[allow(clippy::cast_precision_loss, clippy::float_cmp)]
        let full = self.env_sum == self.window as f64;
        self.env == 1.0 && full && self.dq_len > 0 && self.dq[self.dq_head].1 >= 1.0
    }

    /// Limits `input` (interleaved stereo) into `out`, delayed by the look-ahead.
    pub(crate) fn process(&mut self, input: &[f32], out: &mut [f32]) {
        let peak = input.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        if peak <= self.ceiling && self.idle() {
            // Nothing to limit now or within the look-ahead: a plain delay. The state ends
            // exactly where the full path would leave it (all gains 1), so output is identical.
            let w2 = self.window * 2;
            let n2 = input.len().min(out.len());
            if n2 >= w2 {
                // Oldest delayed frames first (from `idx` round the ring), then the input.
                let split = self.idx * 2;
                let tail = w2 - split;
                out[..tail].copy_from_slice(&self.delay[split..]);
                out[tail..w2].copy_from_slice(&self.delay[..split]);
                out[w2..n2].copy_from_slice(&input[..n2 - w2]);
                self.delay.copy_from_slice(&input[n2 - w2..n2]);
                self.idx = 0;
            } else {
                for (x, y) in input.chunks_exact(2).zip(out.chunks_exact_mut(2)) {
                    let d = self.idx * 2;
                    y[0] = self.delay[d];
                    y[1] = self.delay[d + 1];
                    self.delay[d] = x[0];
                    self.delay[d + 1] = x[1];
                    self.idx += 1;
                    if self.idx == self.window {
                        self.idx = 0;
                    }
                }
            }
            self.t += (input.len() / 2) as u64;
            self.dq_head = 0;
            self.dq_len = 1;
            self.dq[0] = (self.t.saturating_sub(1), 1.0);
            return;
        }
        let cap = self.dq.len();
        let w = self.window as u64;
        #[allow(clippy::cast_precision_loss)]
        let inv_w = 1.0 / self.window as f64;
        for (x, y) in input.chunks_exact(2).zip(out.chunks_exact_mut(2)) {
            let peak = x[0].abs().max(x[1].abs());
            let req = if peak > self.ceiling {
                self.ceiling / peak
            } else {
                1.0
            };
            // Sliding minimum over frames t-w ..= t.
            while self.dq_len > 0 {
                let back = (self.dq_head + self.dq_len - 1) % cap;
                if self.dq[back].1 >= req {
                    self.dq_len -= 1;
                } else {
                    break;
                }
            }
            let slot = (self.dq_head + self.dq_len) % cap;
            self.dq[slot] = (self.t, req);
            self.dq_len += 1;
            while self.dq[self.dq_head].0 + w < self.t {
                self.dq_head = (self.dq_head + 1) % cap;
                self.dq_len -= 1;
            }
            let wmin = self.dq[self.dq_head].1;
            // Instant attack, exponential release.
            self.env = wmin.min(self.env + (1.0 - self.env) * self.release);
            // Moving average over the last `window` envelope values.
            self.env_sum += f64::from(self.env) - f64::from(self.env_ring[self.idx]);
            self.env_ring[self.idx] = self.env;
            #[allow(clippy::cast_possible_truncation)]
            let gain = (self.env_sum * inv_w) as f32;
            let d = self.idx * 2;
            let (l, r) = (self.delay[d], self.delay[d + 1]);
            self.delay[d] = x[0];
            self.delay[d + 1] = x[1];
            // The clamp only catches float rounding in the running sum.
            y[0] = (l * gain).clamp(-1.0, 1.0);
            y[1] = (r * gain).clamp(-1.0, 1.0);
            self.idx += 1;
            if self.idx == self.window {
                self.idx = 0;
            }
            self.t += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loud_input_stays_under_the_ceiling_and_quiet_input_passes() {
        let ceiling = 0.891;
        let mut lim = Limiter::new(ceiling, 64, 4800.0);
        let frames = 48_000;
        let mut input = vec![0.0f32; frames * 2];
        for (i, f) in input.chunks_exact_mut(2).enumerate() {
            let amp = if (10_000..30_000).contains(&i) {
                3.5
            } else {
                0.3
            };
            #[allow(clippy::cast_precision_loss)]
            let s = amp * (i as f32 * 0.05).sin();
            f[0] = s;
            f[1] = -s;
        }
        let mut out = vec![0.0f32; frames * 2];
        lim.process(&input, &mut out);
        let peak = out.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!(peak <= ceiling + 1e-4, "peak {peak}");
        // Before the loud part the signal passes untouched (delayed by 64 frames).
        for i in 100..9_000 {
            assert!((out[(i + 64) * 2] - input[i * 2]).abs() < 1e-6);
        }
    }

    #[test]
    fn block_by_block_matches_one_pass() {
        // The quiet fast path must give the same samples as the full path.
        let frames = 20_000;
        let input: Vec<f32> = (0..frames * 2)
            .map(|i| {
                #[allow(clippy::cast_precision_loss)]
                let t = i as f32;
                let amp = if (6_000..9_000).contains(&(i / 2)) {
                    2.0
                } else {
                    0.5
                };
                amp * (t * 0.013).sin()
            })
            .collect();
        let mut one = Limiter::new(0.9, 64, 2000.0);
        let mut a = vec![0.0; frames * 2];
        // One pass sees a loud peak, so it takes the full path throughout; in 480-frame blocks
        // the quiet blocks take the fast path.
        one.process(&input, &mut a);
        let mut blocks = Limiter::new(0.9, 64, 2000.0);
        let mut b = vec![0.0; frames * 2];
        for (i, o) in input.chunks(480 * 2).zip(b.chunks_mut(480 * 2)) {
            blocks.process(i, o);
        }
        assert_eq!(a, b);
    }
}
