//! Shared by the output tests (cpal through ALSA, `pipe:`, `sanctum devices`): a mixer playing
//! a known sine, the measurements that check it came out right, and the ALSA `file`-plugin
//! config that lets cpal play with no sound card (design §6).
#![allow(dead_code)]

use std::f32::consts::TAU;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sanctum::audio::{
    AudioHandle, AudioProcessor, LayerId, LayerSpec, MixerSettings, PcmBuffer, build,
};
use sanctum::tween::Curve;
use sanctum::units::Decibels;

/// The sine the mixer plays: 1 kHz at amplitude 0.5, looped on layer 0 at -6 dB.
pub const SINE_HZ: f32 = 1000.0;

/// The peak that sine has after the mixer's -6 dB.
#[must_use]
pub fn sine_peak() -> f32 {
    0.5 * Decibels(-6.0).amplitude()
}

/// A mixer at `rate` with one layer already playing the sine (one second, looped).
#[must_use]
pub fn sine_mixer(rate: u32) -> (AudioHandle, AudioProcessor) {
    let sine: Vec<f32> = (0..rate)
        .flat_map(|i| {
            #[allow(clippy::cast_precision_loss)]
            let s = 0.5 * (TAU * SINE_HZ * i as f32 / rate as f32).sin();
            [s, s]
        })
        .collect();
    let buffer = PcmBuffer::from_interleaved(sine);
    let layers = [LayerSpec {
        name: "bed".into(),
        gain: Decibels::UNITY,
        duck: None,
    }];
    let (mut h, p) = build(&layers, rate, MixerSettings::default());
    h.layer_buffer(
        LayerId(0),
        &buffer,
        true,
        Decibels(-6.0),
        Duration::ZERO,
        Curve::EqualPower,
    )
    .expect("play");
    (h, p)
}

/// Largest absolute sample.
#[must_use]
pub fn peak(s: &[f32]) -> f32 {
    s.iter().fold(0.0f32, |m, x| m.max(x.abs()))
}

/// Frequency from upward zero crossings of one channel at `rate`.
#[must_use]
pub fn hz(s: &[f32], rate: u32) -> f32 {
    let up = s.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
    #[allow(clippy::cast_precision_loss)]
    let hz = up as f32 * rate as f32 / s.len() as f32;
    hz
}

/// Writes `<home>/.asoundrc` sending ALSA's default PCM to the `file` plugin (raw, over the
/// `null` slave); returns the file cpal's audio will land in.
pub fn file_plugin_home(home: &Path) -> PathBuf {
    let raw = home.join("out.raw");
    std::fs::write(
        home.join(".asoundrc"),
        format!(
            "pcm.!default {{ type file; slave.pcm \"null\"; file \"{}\"; format \"raw\" }}\n",
            raw.display()
        ),
    )
    .expect("asoundrc");
    raw
}
