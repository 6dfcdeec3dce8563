//! The sound-card output through cpal: picks a device and config, runs the processor in the
//! cpal callback, and rebuilds the stream with backoff when the device goes away, keeping the
//! mixer (the processor) and its state; also surveys hosts and devices for `sanctum devices`.
//! The only file that imports cpal; must not mix, and the data callback must stay real-time
//! safe (no allocation, lock or log).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{
    BufferSize, Device, ErrorKind, FromSample, SampleFormat, SizedSample, Stream, StreamConfig,
    SupportedBufferSize,
};

use super::{AudioBackend, BackendError};
use crate::audio::AudioProcessor;

/// Frames per callback we ask for by default when the device allows it (20 ms at 48 kHz):
/// generous for ambience, where latency hardly matters and underruns do.
const PREFERRED_BUFFER: u32 = 960;
/// Largest stereo block rendered at once inside the callback (scratch size).
const SCRATCH_FRAMES: usize = 4096;

/// A sound-card host (ALSA, JACK…) and its outputs, as `sanctum devices` shows them.
#[derive(Debug, Clone)]
pub struct HostOutputs {
    /// cpal's name for the host, e.g. `ALSA`.
    pub name: String,
    /// Whether `--output` can pick its devices (sanctum opens the default host only).
    pub selectable: bool,
    /// Its output devices, or why they could not be listed.
    pub devices: Result<Vec<OutputDevice>, String>,
    /// How many ALSA `null` PCMs were left out: they accept audio as fast as it comes, so a
    /// stream on them busy-spins a core; sanctum's own `null` output is paced instead.
    pub hidden_null: usize,
}

/// One output device.
#[derive(Debug, Clone)]
pub struct OutputDevice {
    /// What `--output` accepts: `default` for the host's default, else the device id
    /// (e.g. `alsa:hw:CARD=PCH,DEV=0`).
    pub name: String,
    /// cpal's description of it (first line).
    pub description: String,
    /// The host's default output.
    pub default: bool,
    /// Its default stream config, checked by opening a (never started) stream, or why that
    /// failed.
    pub config: Result<DeviceConfig, String>,
}

/// A device's default stream config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConfig {
    /// Frames per second.
    pub rate: u32,
    /// Channels.
    pub channels: u16,
    /// Sample format, e.g. `f32`.
    pub format: String,
    /// Smallest and largest callback size in frames, when the device says.
    pub buffer: Option<(u32, u32)>,
}

/// Lists every host cpal can reach and its output devices, each with its default config,
/// trying to open a stream on each (ALSA lists `default` even where nothing can play).
#[must_use]
pub fn survey() -> Vec<HostOutputs> {
    let default_host = cpal::default_host().id();
    cpal::available_hosts()
        .into_iter()
        .map(|id| {
            let name = id.name().to_owned();
            let selectable = id == default_host;
            match cpal::host_from_id(id) {
                Ok(host) => survey_host(&host, name, selectable),
                Err(e) => HostOutputs {
                    name,
                    selectable,
                    devices: Err(e.to_string()),
                    hidden_null: 0,
                },
            }
        })
        .collect()
}

fn survey_host(host: &cpal::Host, name: String, selectable: bool) -> HostOutputs {
    let default = host.default_output_device();
    let default_id = default.as_ref().and_then(|d| d.id().ok());
    let listed = match host.output_devices() {
        Ok(devices) => devices.collect::<Vec<_>>(),
        Err(e) => {
            return HostOutputs {
                name,
                selectable,
                devices: Err(e.to_string()),
                hidden_null: 0,
            };
        }
    };
    let mut hidden_null = 0;
    let mut devices = Vec::new();
    // The default first (ALSA's `default` is often missing from the hint list).
    let mut all: Vec<Device> = default.into_iter().collect();
    all.extend(
        listed
            .into_iter()
            .filter(|d| default_id.is_none() || d.id().ok() != default_id),
    );
    for d in all {
        let id = d.id().ok();
        if id.as_ref().is_some_and(|i| i.id() == "null") {
            hidden_null += 1;
            continue;
        }
        let is_default = id.is_some() && id == default_id;
        let name = if is_default {
            "default".to_owned()
        } else {
            id.map_or_else(|| device_name(&d).unwrap_or_default(), |i| i.to_string())
        };
        devices.push(OutputDevice {
            name,
            description: device_name(&d).unwrap_or_default(),
            default: is_default,
            config: device_config(&d),
        });
    }
    HostOutputs {
        name,
        selectable,
        devices: Ok(devices),
        hidden_null,
    }
}

fn device_config(d: &Device) -> Result<DeviceConfig, String> {
    let config = d.default_output_config().map_err(|e| e.to_string())?;
    probe(d, shape_of(&config, None)).map_err(|e| format!("failed to open a stream: {e}"))?;
    let buffer = match config.buffer_size() {
        SupportedBufferSize::Range { min, max } => Some((*min, *max)),
        SupportedBufferSize::Unknown => None,
    };
    Ok(DeviceConfig {
        rate: config.sample_rate(),
        channels: config.channels(),
        format: config.sample_format().to_string(),
        buffer,
    })
}

fn device_name(d: &Device) -> Option<String> {
    d.description().ok().map(|desc| desc.name().to_owned())
}

fn find_device(name: Option<&str>) -> Result<Device, BackendError> {
    let host = cpal::default_host();
    match name {
        None => host
            .default_output_device()
            .ok_or_else(|| BackendError::Device("no default output device".to_owned())),
        Some(want) => {
            let devices = host
                .output_devices()
                .map_err(|e| BackendError::Device(e.to_string()))?;
            for d in devices {
                let id = d.id().map(|i| i.to_string()).unwrap_or_default();
                if device_name(&d).as_deref() == Some(want) || id == want {
                    return Ok(d);
                }
            }
            Err(BackendError::Device(format!(
                "no output device named `{want}`"
            )))
        }
    }
}

/// The stream shape we settled on at open; rebuilds must keep the rate.
#[derive(Debug, Clone, Copy)]
struct Shape {
    rate: u32,
    channels: u16,
    format: SampleFormat,
    buffer: BufferSize,
}

impl Shape {
    /// The stream config cpal builds this shape with.
    fn config(self) -> StreamConfig {
        StreamConfig {
            channels: self.channels,
            sample_rate: self.rate,
            buffer_size: self.buffer,
        }
    }
}

fn pick_shape(device: &Device, buffer: Option<Duration>) -> Result<Shape, BackendError> {
    let config = device
        .default_output_config()
        .map_err(|e| BackendError::Device(e.to_string()))?;
    Ok(shape_of(&config, buffer))
}

fn shape_of(config: &cpal::SupportedStreamConfig, buffer: Option<Duration>) -> Shape {
    let want = buffer.map_or(PREFERRED_BUFFER, |d| {
        u32::try_from(crate::units::frames(d, config.sample_rate())).unwrap_or(u32::MAX)
    });
    let buffer = match config.buffer_size() {
        SupportedBufferSize::Range { min, max } if (*min..=*max).contains(&want) => {
            BufferSize::Fixed(want)
        }
        _ => BufferSize::Default,
    };
    Shape {
        rate: config.sample_rate(),
        channels: config.channels().max(1),
        format: config.sample_format(),
        buffer,
    }
}

/// Builds a silent stream once and drops it (never started), so "cannot open" surfaces now.
fn probe(dev: &Device, shape: Shape) -> Result<(), cpal::Error> {
    let config = shape.config();
    let stream = match shape.format {
        SampleFormat::F32 => dev.build_output_stream(
            config,
            |d: &mut [f32], _: &cpal::OutputCallbackInfo| d.fill(0.0),
            |_| {},
            None,
        ),
        _ => dev.build_output_stream(
            config,
            |d: &mut [i16], _: &cpal::OutputCallbackInfo| d.fill(0),
            |_| {},
            None,
        ),
    };
    stream.map(drop)
}

/// Owns the processor inside the callback; when the stream (and so the callback) is dropped,
/// the processor goes back to the supervisor through `back`, so a rebuilt stream keeps every
/// voice, ramp and fade where it was.
struct Slot {
    processor: Option<AudioProcessor>,
    back: rtrb::Producer<AudioProcessor>,
    scratch: Vec<f32>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(p) = self.processor.take() {
            let _ = self.back.push(p);
        }
    }
}

impl Slot {
    fn fill<T: SizedSample + FromSample<f32>>(&mut self, data: &mut [T], channels: usize) {
        let Some(p) = self.processor.as_mut() else {
            data.fill(T::EQUILIBRIUM);
            return;
        };
        for out in data.chunks_mut(SCRATCH_FRAMES * channels) {
            let frames = out.len() / channels;
            let stereo = &mut self.scratch[..frames * 2];
            p.process(stereo);
            for (o, s) in out.chunks_exact_mut(channels).zip(stereo.chunks_exact(2)) {
                if channels == 1 {
                    o[0] = T::from_sample(0.5 * (s[0] + s[1]));
                } else {
                    o[0] = T::from_sample(s[0]);
                    o[1] = T::from_sample(s[1]);
                    for x in &mut o[2..] {
                        *x = T::EQUILIBRIUM;
                    }
                }
            }
        }
    }
}

/// Flags the error callback raises for the supervisor, which it then wakes (atomics and an
/// unpark only: it may run on the audio thread).
#[derive(Debug)]
struct Faults {
    lost: AtomicBool,
    xruns: AtomicU64,
    supervisor: thread::Thread,
}

fn build_stream<T: SizedSample + FromSample<f32>>(
    device: &Device,
    shape: Shape,
    mut slot: Slot,
    faults: Arc<Faults>,
) -> Result<Stream, cpal::Error> {
    let channels = usize::from(shape.channels);
    device.build_output_stream(
        shape.config(),
        move |data: &mut [T], _info: &cpal::OutputCallbackInfo| slot.fill(data, channels),
        move |e: cpal::Error| {
            match e.kind() {
                ErrorKind::Xrun => {
                    faults.xruns.fetch_add(1, Ordering::Relaxed);
                }
                ErrorKind::DeviceChanged => return, // rerouted by the host; keeps playing
                _ => faults.lost.store(true, Ordering::Relaxed),
            }
            faults.supervisor.unpark();
        },
        None,
    )
}

fn build_any(
    device: &Device,
    shape: Shape,
    slot: Slot,
    faults: Arc<Faults>,
) -> Result<Stream, cpal::Error> {
    match shape.format {
        SampleFormat::I16 => build_stream::<i16>(device, shape, slot, faults),
        SampleFormat::I32 => build_stream::<i32>(device, shape, slot, faults),
        SampleFormat::U16 => build_stream::<u16>(device, shape, slot, faults),
        SampleFormat::F64 => build_stream::<f64>(device, shape, slot, faults),
        _ => build_stream::<f32>(device, shape, slot, faults),
    }
}

/// Sound-card output. `open` checks that the device really opens (ALSA always lists a
/// "default" device, even in a container without sound), so a missing card is reported at
/// start-up with a hint, not discovered later.
#[derive(Debug)]
pub struct CpalBackend {
    name: Option<String>,
    shape: Shape,
    shared: Arc<Shared>,
    thread: Option<thread::JoinHandle<Option<AudioProcessor>>>,
}

/// What the backend and its supervisor thread share.
#[derive(Debug, Default)]
struct Shared {
    running: AtomicBool,
    xruns: AtomicU64,
    rebuilds: AtomicU64,
    /// Set by `simulate_loss`: treated exactly like a lost device.
    drop_stream: AtomicBool,
}

impl CpalBackend {
    /// Opens the default output device, or the one named `device` (as `sanctum devices` shows it),
    /// asking for callbacks of `buffer` (the rig's `audio.buffer`; 20 ms when `None`). A length
    /// the device does not support falls back to the device's default.
    ///
    /// # Errors
    /// [`BackendError::Device`] when the device is missing or refuses a stream; the message
    /// suggests `--output null` or `--output wav:<path>`.
    pub fn open(device: Option<&str>, buffer: Option<Duration>) -> Result<Self, BackendError> {
        let hint = |e: String| {
            BackendError::Device(format!(
                "{}: no usable sound output here? run with `--output null` (silent) or `--output wav:<path>` (render to a file)",
                e.trim_end_matches('.')
            ))
        };
        let dev = find_device(device).map_err(|e| hint(e.to_string()))?;
        let shape = pick_shape(&dev, buffer).map_err(|e| hint(e.to_string()))?;
        probe(&dev, shape).map_err(|e| hint(format!("failed to open the audio output: {e}")))?;
        Ok(Self {
            name: device.map(str::to_owned),
            shape,
            shared: Arc::new(Shared::default()),
            thread: None,
        })
    }

    /// Xruns the device reported so far.
    #[must_use]
    pub fn xruns(&self) -> u64 {
        self.shared.xruns.load(Ordering::Relaxed)
    }

    /// Times the stream was rebuilt after the device was lost.
    #[must_use]
    pub fn rebuilds(&self) -> u64 {
        self.shared.rebuilds.load(Ordering::Relaxed)
    }

    /// Drops the live stream as if the device had gone away; the supervisor then recovers
    /// exactly as after a real loss. A real unplug cannot be scripted, so tests use this to
    /// drive the recovery path on a real ALSA device.
    #[doc(hidden)]
    pub fn simulate_loss(&self) {
        self.shared.drop_stream.store(true, Ordering::Relaxed);
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
    }
}

/// Waits (briefly) for the processor to come back after a stream was dropped.
fn take_back(rx: &mut rtrb::Consumer<AudioProcessor>) -> Option<AudioProcessor> {
    for _ in 0..200 {
        if let Ok(p) = rx.pop() {
            return Some(p);
        }
        thread::sleep(Duration::from_millis(10));
    }
    tracing::error!("the audio processor did not come back from the closed stream");
    None
}

/// The supervisor: owns the cpal stream (never moved between threads), rebuilds it with
/// backoff (250 ms doubling to 5 s) when the device is lost, logs once per outage. Between
/// events it sleeps (parked) until the error callback, `stop` or `simulate_loss` wakes it: no
/// wake-ups while the stream plays well.
fn supervise(
    name: Option<String>,
    shape: Shape,
    processor: AudioProcessor,
    shared: &Shared,
) -> Option<AudioProcessor> {
    let mut held = Some(processor);
    let mut current: Option<(Stream, rtrb::Consumer<AudioProcessor>, Arc<Faults>)> = None;
    let mut backoff = Duration::from_millis(250);
    let mut outage_logged = false;
    let mut built_once = false;
    while shared.running.load(Ordering::SeqCst) {
        let simulated = shared.drop_stream.swap(false, Ordering::Relaxed);
        if let Some((_, _, faults)) = &current
            && (faults.lost.swap(false, Ordering::Relaxed) || simulated)
        {
            tracing::warn!("audio output lost; rebuilding (mixer state kept)");
            if let Some((stream, mut rx, _)) = current.take() {
                drop(stream);
                held = take_back(&mut rx);
            }
        }
        if current.is_none() {
            let p = held.take()?;
            let faults = Arc::new(Faults {
                lost: AtomicBool::new(false),
                xruns: AtomicU64::new(0),
                supervisor: thread::current(),
            });
            let (tx, mut rx) = rtrb::RingBuffer::new(1);
            let slot = Slot {
                processor: Some(p),
                back: tx,
                scratch: vec![0.0; SCRATCH_FRAMES * 2],
            };
            let attempt = match find_device(name.as_deref()) {
                Ok(dev) => build_any(&dev, shape, slot, Arc::clone(&faults))
                    .and_then(|s| s.play().map(|()| s))
                    .map_err(|e| e.to_string()),
                Err(e) => {
                    drop(slot);
                    Err(e.to_string())
                }
            };
            match attempt {
                Ok(stream) => {
                    if outage_logged {
                        tracing::info!("audio output back");
                    }
                    current = Some((stream, rx, faults));
                    if built_once {
                        shared.rebuilds.fetch_add(1, Ordering::Relaxed);
                    }
                    built_once = true;
                    backoff = Duration::from_millis(250);
                    outage_logged = false;
                }
                Err(e) => {
                    if !outage_logged {
                        tracing::warn!("audio output unavailable: {e}; retrying with backoff");
                        outage_logged = true;
                    }
                    held = take_back(&mut rx);
                    thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            }
        }
        if let Some((_, _, faults)) = &current {
            shared
                .xruns
                .store(faults.xruns.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        thread::park();
    }
    if let Some((stream, mut rx, _)) = current.take() {
        drop(stream);
        held = take_back(&mut rx);
    }
    held
}

impl AudioBackend for CpalBackend {
    fn sample_rate(&self) -> u32 {
        self.shape.rate
    }

    fn start(&mut self, processor: AudioProcessor) -> Result<(), BackendError> {
        if self.thread.is_some() {
            return Err(BackendError::State("already started"));
        }
        self.shared.running.store(true, Ordering::SeqCst);
        let shared = Arc::clone(&self.shared);
        let name = self.name.clone();
        let shape = self.shape;
        let handle = thread::Builder::new()
            .name("sanctum-audio".to_owned())
            .spawn(move || supervise(name, shape, processor, &shared))
            .map_err(BackendError::Spawn)?;
        self.thread = Some(handle);
        Ok(())
    }

    fn stop(&mut self) -> Result<Option<AudioProcessor>, BackendError> {
        self.shared.running.store(false, Ordering::SeqCst);
        let thread = self.thread.take();
        if let Some(t) = &thread {
            t.thread().unpark();
        }
        Ok(thread.and_then(|t| t.join().ok().flatten()))
    }

    fn restartable(&self) -> bool {
        true
    }
}

impl Drop for CpalBackend {
    fn drop(&mut self) {
        self.shared.running.store(false, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}
