//! The real-time side of the mixer: applies commands from the ring, renders every voice a
//! block at a time into preallocated scratch, applies layer trims, ducking, master gain and
//! the limiter, and sends finished voices back to be dropped. `process` never allocates,
//! frees, locks, blocks or logs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::command::Command;
use super::limiter::Limiter;
use super::ramp::GainRamp;
use super::stream::Waiter;
use super::voice::{LayerGain, Voice};
use crate::tween::Curve;

/// Totals the processor publishes for `AudioHandle::stats`.
#[derive(Debug, Default)]
pub(crate) struct SharedStats {
    pub frames_rendered: AtomicU64,
    pub voices_active: AtomicUsize,
    pub underrun_frames: AtomicU64,
}

/// Per-layer state on the real-time side.
pub(crate) struct LayerState {
    /// Static trim from the rig (amplitude).
    pub trim: f32,
    /// Amplitude this layer dips to under one-shots, if it ducks.
    pub duck: Option<f32>,
    pub duck_ramp: GainRamp,
    pub ducked: bool,
}

/// Everything `build` hands the processor.
pub(crate) struct ProcessorParts {
    pub commands: rtrb::Consumer<Command>,
    pub returns: rtrb::Producer<Voice>,
    pub layers: Vec<LayerState>,
    pub max_voices: usize,
    pub max_block: usize,
    pub prefill: usize,
    pub duck_attack: u64,
    pub duck_release: u64,
    pub limiter: Limiter,
    pub master: f32,
    pub shared: Arc<SharedStats>,
    pub waiter: Arc<Waiter>,
}

/// The real-time half of the mixer. Move it to the audio callback (or an offline backend) and
/// call [`AudioProcessor::process`] for every buffer.
pub struct AudioProcessor {
    commands: rtrb::Consumer<Command>,
    returns: rtrb::Producer<Voice>,
    voices: Vec<Voice>,
    layers: Vec<LayerState>,
    /// One row of `max_block` per layer: trim × ducking per frame, used while ducking moves.
    layer_gain: Vec<f32>,
    /// Per layer: the constant trim × ducking for this block, or `None` when it moves.
    layer_const: Vec<Option<f32>>,
    gains: Vec<f32>,
    master_gain: Vec<f32>,
    bus: Vec<f32>,
    master: GainRamp,
    limiter: Limiter,
    fades_paused: bool,
    max_block: usize,
    prefill: usize,
    duck_attack: u64,
    duck_release: u64,
    shared: Arc<SharedStats>,
    waiter: Arc<Waiter>,
}

impl AudioProcessor {
    pub(crate) fn new(p: ProcessorParts) -> Self {
        let max_block = p.max_block.max(1);
        Self {
            commands: p.commands,
            returns: p.returns,
            voices: Vec::with_capacity(p.max_voices),
            layer_gain: vec![1.0; p.layers.len() * max_block],
            layer_const: vec![None; p.layers.len()],
            layers: p.layers,
            gains: vec![0.0; max_block],
            master_gain: vec![1.0; max_block],
            bus: vec![0.0; max_block * 2],
            master: GainRamp::hold(p.master),
            limiter: p.limiter,
            fades_paused: false,
            max_block,
            prefill: p.prefill,
            duck_attack: p.duck_attack,
            duck_release: p.duck_release,
            shared: p.shared,
            waiter: p.waiter,
        }
    }

    /// Renders interleaved stereo into `out` (any length; an odd last sample is zeroed).
    /// Real-time safe: no allocation, no locks, no blocking, no logging.
    pub fn process(&mut self, out: &mut [f32]) {
        self.apply_commands();
        let even = out.len() & !1;
        let (frames_out, rest) = out.split_at_mut(even);
        rest.fill(0.0);
        for block in frames_out.chunks_mut(self.max_block * 2) {
            self.render_block(block);
        }
        self.shared
            .voices_active
            .store(self.voices.len(), Ordering::Relaxed);
    }

    /// Applies pending commands and says whether every streaming voice has `frames` frames
    /// buffered (or has ended). Offline backends wait on this before `process` so that a render
    /// faster than real time never outruns the decoders; the callback backend never calls it.
    pub fn ready_for(&mut self, frames: usize) -> bool {
        self.apply_commands();
        let prefill = self.prefill;
        self.voices.iter().all(|v| v.ready_for(frames, prefill))
    }

    /// For offline rendering only (never in a callback): waits until the decoders are ahead,
    /// then renders like [`AudioProcessor::process`]. The result depends only on the files
    /// and the commands, not on thread timing, so renders are repeatable bit for bit. The wait
    /// sleeps until a decoder pushes frames (no polling), so the decoders keep the other cores
    /// busy while this thread mixes.
    pub fn process_blocking(&mut self, out: &mut [f32]) {
        let block = self.max_block * 2;
        for chunk in out.chunks_mut(block) {
            let frames = chunk.len() / 2;
            let waiter = Arc::clone(&self.waiter);
            waiter.wait_until(|| self.ready_for(frames));
            self.process(chunk);
        }
    }

    fn apply_commands(&mut self) {
        while let Ok(cmd) = self.commands.pop() {
            match cmd {
                Command::Start(voice) => {
                    if self.voices.len() < self.voices.capacity() {
                        self.voices.push(voice);
                    } else {
                        // No slot: hand it straight back (the handle limits this anyway).
                        let _ = self.returns.push(voice);
                    }
                }
                Command::Retire {
                    layer,
                    frames,
                    curve,
                } => {
                    for v in &mut self.voices {
                        if v.layer == Some(layer) && !v.retiring {
                            v.retiring = true;
                            v.ramp.retarget(0.0, frames, curve);
                        }
                    }
                }
                Command::LayerGain {
                    layer,
                    amplitude,
                    frames,
                    curve,
                } => {
                    for v in &mut self.voices {
                        if v.layer == Some(layer) && !v.retiring {
                            v.ramp.retarget(amplitude, frames, curve);
                        }
                    }
                }
                Command::FadeAll { frames, curve } => {
                    for v in &mut self.voices {
                        if v.ramp.target() > 0.0 || v.ramp.remaining() > frames {
                            v.ramp.retarget(0.0, frames, curve);
                        }
                        v.retiring = true;
                    }
                }
                Command::Master { amplitude, frames } => {
                    self.master.retarget(amplitude, frames, Curve::SCurve);
                }
                Command::PauseFades(paused) => self.fades_paused = paused,
            }
        }
    }

    fn render_block(&mut self, out: &mut [f32]) {
        let frames = out.len() / 2;
        let bus = &mut self.bus[..frames * 2];
        bus.fill(0.0);
        let advance = !self.fades_paused;

        // Ducking follows whether any one-shot is sounding.
        let one_shot = self
            .voices
            .iter()
            .any(|v| v.layer.is_none() && v.is_sounding());
        for (i, layer) in self.layers.iter_mut().enumerate() {
            let mut constant = Some(layer.trim);
            if let Some(duck) = layer.duck {
                if one_shot != layer.ducked {
                    layer.ducked = one_shot;
                    let (to, len) = if one_shot {
                        (duck, self.duck_attack)
                    } else {
                        (1.0, self.duck_release)
                    };
                    layer.duck_ramp.retarget(to, len, Curve::SCurve);
                }
                if layer.duck_ramp.is_done() {
                    constant = Some(layer.trim * layer.duck_ramp.current());
                } else {
                    // Ducking reacts to one-shots, so it keeps moving while fades are paused.
                    let row = &mut self.layer_gain[i * self.max_block..i * self.max_block + frames];
                    layer.duck_ramp.fill_scaled(row, true, layer.trim);
                    constant = None;
                }
            }
            self.layer_const[i] = constant;
        }

        let gains = &mut self.gains[..frames];
        let mut underrun = 0;
        for v in &mut self.voices {
            let lg = match v.layer {
                Some(l) => match self.layer_const[l] {
                    Some(c) => LayerGain::Const(c),
                    None => LayerGain::Row(
                        &self.layer_gain[l * self.max_block..l * self.max_block + frames],
                    ),
                },
                None => LayerGain::Const(1.0),
            };
            underrun += v
                .render(bus, gains, lg, advance, self.prefill)
                .underrun_frames;
        }

        if self.master.is_done() || !advance {
            let g = self.master.current();
            #[allow(clippy::float_cmp)]
            if g != 1.0 {
                for s in bus.iter_mut() {
                    *s *= g;
                }
            }
        } else {
            let master = &mut self.master_gain[..frames];
            self.master.fill(master, advance);
            for (f, g) in bus.chunks_exact_mut(2).zip(master.iter()) {
                f[0] *= g;
                f[1] *= g;
            }
        }
        self.limiter.process(bus, out);

        // Hand finished voices back; keep one for later if the return ring is full.
        let mut i = 0;
        while i < self.voices.len() {
            if self.voices[i].finished && self.returns.slots() > 0 {
                let v = self.voices.swap_remove(i);
                let _ = self.returns.push(v);
            } else {
                i += 1;
            }
        }
        if underrun > 0 {
            self.shared
                .underrun_frames
                .fetch_add(underrun, Ordering::Relaxed);
        }
        self.shared
            .frames_rendered
            .fetch_add(frames as u64, Ordering::Relaxed);
    }
}
