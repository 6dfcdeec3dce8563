//! Raw serde mirrors of the rig, ceremony and scene files: exactly what the TOML says, with
//! spans on everything a later check may point at. No defaults, no validation, no logic.
#![allow(missing_docs)] // Field meanings are documented for users in docs/scene-format.md.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// A spanned string.
pub type Str = Spanned<String>;
/// A spanned number.
pub type Num = Spanned<f64>;

/// `rig.toml`: the room's hardware.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRig {
    pub room: Str,
    pub broker: Option<Str>,
    pub max_volume_db: Option<Num>,
    pub volume_db: Option<Num>,
    pub debounce: Option<Str>,
    pub stop_fade: Option<Str>,
    pub mqtt: Option<RawMqtt>,
    pub audio: Option<RawAudio>,
    pub safe_light: Option<RawSafeLight>,
    #[serde(default)]
    pub layers: BTreeMap<Str, RawLayer>,
    #[serde(default)]
    pub lights: BTreeMap<Str, RawLight>,
    #[serde(default)]
    pub groups: BTreeMap<Str, Spanned<Vec<Str>>>,
    #[serde(default)]
    pub remotes: BTreeMap<Str, RawRemote>,
}

/// `[mqtt]` in the rig.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMqtt {
    pub username: Option<Str>,
    pub password_env: Option<Str>,
    pub password_file: Option<Str>,
    pub ca_file: Option<Str>,
    pub cert_file: Option<Str>,
    pub key_file: Option<Str>,
    pub discovery: Option<bool>,
}

/// `[audio]` in the rig.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAudio {
    pub output: Option<Str>,
    pub buffer: Option<Str>,
}

/// `[safe_light]` in the rig.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSafeLight {
    pub level: Option<Num>,
    pub kelvin: Option<Spanned<i64>>,
    pub color: Option<Str>,
}

/// `[layers.<name>]` in the rig.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLayer {
    pub gain_db: Option<Num>,
    pub duck_db: Option<Num>,
}

/// `[lights.<name>]` in the rig: its keys as written, each with its span. Which keys a light
/// takes depends on its driver (every light's own, and its driver's settings, declared in the
/// driver's file), so `resolve` reads them and reports unknown ones, not serde.
pub type RawLight = BTreeMap<Str, Spanned<toml::Value>>;

/// `[remotes.<name>]` in the rig.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRemote {
    pub driver: Option<Str>,
    pub address: Str,
    pub actions: BTreeMap<Str, Str>,
}

/// `ceremony.toml`: the ordered phases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCeremony {
    pub title: Option<Str>,
    pub description: Option<String>,
    pub rig: Option<Str>,
    pub sounds: Option<Str>,
    pub transition: Option<Str>,
    pub finish_fade: Option<Str>,
    #[serde(default)]
    pub phase: Vec<RawPhase>,
}

/// `[[phase]]` in a ceremony.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPhase {
    pub id: Str,
    pub title: Option<Str>,
    pub scene: Str,
    pub after: Option<Str>,
    pub min: Option<Str>,
    pub guidance: Option<String>,
}

/// A scene file: timed cues.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScene {
    pub title: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub cue: Vec<RawCue>,
}

/// `[[cue]]` in a scene.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCue {
    pub at: Str,
    pub note: Option<String>,
    #[serde(default)]
    pub layers: BTreeMap<Str, RawLayerTarget>,
    #[serde(default)]
    pub lights: BTreeMap<Str, RawLightTarget>,
    #[serde(default)]
    pub sounds: Vec<RawSound>,
}

/// `[cue.layers.<name>]`: what a layer should play.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLayerTarget {
    pub file: Option<Str>,
    pub playlist: Option<Spanned<Vec<Str>>>,
    #[serde(rename = "loop")]
    pub looping: Option<bool>,
    pub gain_db: Option<Num>,
    pub fade: Option<Str>,
    pub curve: Option<Str>,
    pub crossfade: Option<Str>,
    pub stop: Option<Spanned<bool>>,
}

/// `[cue.lights.<name>]`: what a light or group should show.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLightTarget {
    pub level: Option<Num>,
    pub kelvin: Option<Spanned<i64>>,
    pub color: Option<Str>,
    pub fade: Option<Str>,
    pub curve: Option<Str>,
    pub effect: Option<Str>,
    pub depth: Option<Num>,
    pub interval: Option<Str>,
    pub per_minute: Option<Num>,
}

/// `[[cue.sounds]]`: a one-shot sound.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSound {
    pub file: Str,
    pub gain_db: Option<Num>,
}
