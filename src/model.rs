//! The resolved domain model: rig, ceremony, phases, scenes and cues, as the engine uses them.
//! Every name is already resolved to an index, and every duration, light option, audio output
//! and broker URL read into its type; nothing here reads files or knows about TOML (that is
//! `config`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::command::Command;
use crate::endpoint::{Broker, OutputSpec};
use crate::lights::controller::LightSpec;
use crate::lights::options::LightOptions;
use crate::lights::target::{Effect, LightColor, LightTarget};
use crate::tween::Curve;
use crate::units::Decibels;

/// The room's hardware: audio, lights, groups, remotes and limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Rig {
    /// The file the rig was read from.
    pub path: PathBuf,
    /// Room name, used in MQTT topics (`sanctum/<room>/…`).
    pub room: String,
    /// The MQTT broker (`mqtt://host:port` or `mqtts://…` in the rig), if the room has one.
    pub broker: Option<Broker>,
    /// MQTT credentials, TLS and discovery settings.
    pub mqtt: MqttSettings,
    /// Where the sound goes.
    pub audio: AudioSettings,
    /// The loudest the master may go; no layer gain may exceed it either.
    pub max_volume: Decibels,
    /// Master volume at start.
    pub volume: Decibels,
    /// A repeated command within this window counts once.
    pub debounce: Duration,
    /// How long a gentle stop takes.
    pub stop_fade: Duration,
    /// The light every light fades to on a gentle stop.
    pub safe_light: LightTarget,
    /// Mixer layers (beds, textures…), in declaration order.
    pub layers: Vec<LayerDef>,
    /// Lights, in declaration order.
    pub lights: Vec<LightDef>,
    /// Named groups of lights.
    pub groups: Vec<GroupDef>,
    /// Buttons and remotes that send commands.
    pub remotes: Vec<RemoteDef>,
}

/// MQTT connection details beyond the broker URL.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MqttSettings {
    /// User name for the broker.
    pub username: Option<String>,
    /// Environment variable that holds the password.
    pub password_env: Option<String>,
    /// File that holds the password.
    pub password_file: Option<PathBuf>,
    /// CA certificate for `mqtts://`.
    pub ca_file: Option<PathBuf>,
    /// Client certificate for `mqtts://`.
    pub cert_file: Option<PathBuf>,
    /// Client key for `mqtts://`.
    pub key_file: Option<PathBuf>,
    /// Publish Home Assistant discovery.
    pub discovery: bool,
}

/// Audio output settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioSettings {
    /// `default`, a cpal device name, `wav:<path>`, `pipe:<path>` or `null`, as read.
    pub output: OutputSpec,
    /// Device buffer length.
    pub buffer: Duration,
}

/// A mixer layer: a bus that plays one source at a time and crossfades between sources.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerDef {
    /// Name used by scenes (`[cue.layers.bed]`).
    pub name: String,
    /// Bus gain.
    pub gain: Decibels,
    /// How far the layer dips under one-shot sounds, if at all.
    pub duck: Option<Decibels>,
}

/// A light in the room.
#[derive(Debug, Clone, PartialEq)]
pub struct LightDef {
    /// Name used by scenes.
    pub name: String,
    /// Device address (friendly name, topic, device id…), as the driver understands it.
    pub address: String,
    /// Driver, its settings and the device's options, resolved from the rig with the
    /// driver's defaults for what it leaves out.
    pub options: LightOptions,
}

/// A named group of lights.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupDef {
    /// Name used by scenes.
    pub name: String,
    /// Indices into [`Rig::lights`].
    pub members: Vec<usize>,
}

/// A remote (e.g. a Zigbee button) whose actions map to commands.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteDef {
    /// Name of the binding.
    pub name: String,
    /// Driver that publishes the remote's actions (`zigbee2mqtt`).
    pub driver: String,
    /// Device address (Zigbee2MQTT friendly name).
    pub address: String,
    /// Action value → command.
    pub actions: Vec<RemoteAction>,
}

/// One binding of a remote: an action value and the command it sends.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteAction {
    /// The action value the device publishes (`single`, `arrow_left_click`…).
    pub action: String,
    /// The command it sends.
    pub command: Command,
    /// Byte span of the command in the rig file, for checks against a ceremony's phases.
    pub span: std::ops::Range<usize>,
}

impl Rig {
    /// The light controller's spec of every light, in the rig's order (so engine light
    /// indices match): each light's typed options with its address.
    #[must_use]
    pub fn light_specs(&self) -> Vec<LightSpec> {
        self.lights
            .iter()
            .map(|def| LightSpec {
                address: def.address.clone(),
                options: def.options.clone(),
            })
            .collect()
    }

    /// Index of the layer with this name.
    #[must_use]
    pub fn layer_index(&self, name: &str) -> Option<usize> {
        self.layers.iter().position(|l| l.name == name)
    }

    /// The lights a light or group name stands for.
    #[must_use]
    pub fn resolve_lights(&self, name: &str) -> Option<Vec<usize>> {
        if let Some(i) = self.lights.iter().position(|l| l.name == name) {
            return Some(vec![i]);
        }
        self.groups
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.members.clone())
    }
}

/// An ordered list of phases, each running a scene.
#[derive(Debug, Clone, PartialEq)]
pub struct Ceremony {
    /// Short name (the folder name).
    pub name: String,
    /// Human title.
    pub title: String,
    /// The ceremony folder.
    pub dir: PathBuf,
    /// Fade used when a jump lands on a state whose own fade has already passed.
    pub transition: Duration,
    /// Fade to darkness and silence when the last phase ends.
    pub finish_fade: Duration,
    /// The phases, in order.
    pub phases: Vec<Phase>,
}

impl Ceremony {
    /// Index of the phase with this id, matched without regard to ASCII case as command words
    /// are (`goto Massage` finds `massage`; `check` refuses ids that differ only in case).
    #[must_use]
    pub fn phase_index(&self, id: &str) -> Option<usize> {
        self.phases.iter().position(|p| p.id == id).or_else(|| {
            self.phases
                .iter()
                .position(|p| p.id.eq_ignore_ascii_case(id))
        })
    }

    /// The phase ids for a message: `` `arrive`, `massage`, `close` ``.
    #[must_use]
    pub fn phase_list(&self) -> String {
        let ids: Vec<String> = self.phases.iter().map(|p| format!("`{}`", p.id)).collect();
        ids.join(", ")
    }
}

/// How a phase ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advance {
    /// Waits for a trigger.
    Manual,
    /// Moves on by itself after this long.
    After(Duration),
}

/// One phase of a ceremony.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// Stable id (`massage`).
    pub id: String,
    /// Human title.
    pub title: String,
    /// What the people in the room do in this phase, printed when it starts.
    pub guidance: Option<String>,
    /// How the phase ends.
    pub advance: Advance,
    /// The shortest time the phase is meant to last (shown to remotes, used by `render`).
    pub min: Option<Duration>,
    /// The scene it runs.
    pub scene: Arc<Scene>,
}

/// A timed script of cues for one phase.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// The scene file.
    pub path: PathBuf,
    /// Human title, if given.
    pub title: Option<String>,
    /// Cues sorted by offset (stable for equal offsets).
    pub cues: Vec<Cue>,
}

/// Things that happen at one offset into a phase.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    /// Offset from the start of the phase.
    pub at: Duration,
    /// A note printed when the cue fires (guidance for the people in the room).
    pub note: Option<String>,
    /// Layer changes.
    pub layers: Vec<LayerCue>,
    /// Light changes (a group is already expanded to its members).
    pub lights: Vec<LightCue>,
    /// One-shot sounds.
    pub sounds: Vec<OneShot>,
}

/// What a layer should play: one file or a playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// Files (resolved paths); more than one is a playlist.
    pub files: Vec<PathBuf>,
    /// Loop the file (or wrap the playlist).
    pub looping: bool,
    /// Crossfade between playlist tracks.
    pub crossfade: Duration,
}

/// A change to one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerCue {
    /// Index into [`Rig::layers`].
    pub layer: usize,
    /// What changes.
    pub change: LayerPatch,
    /// Fade or crossfade length; `None` uses the ceremony's transition.
    pub fade: Option<Duration>,
    /// Fade curve.
    pub curve: Curve,
}

/// The part of a layer's state a cue changes.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerPatch {
    /// Play a new source (crossfading from the old), optionally at a new gain.
    Play {
        /// The new source.
        source: Arc<Source>,
        /// The new gain; `None` keeps the layer's current gain.
        gain: Option<Decibels>,
    },
    /// Keep the source, change the gain.
    Gain(Decibels),
    /// Fade the layer to silence and stop it.
    Stop,
}

/// A change to one or more lights.
#[derive(Debug, Clone, PartialEq)]
pub struct LightCue {
    /// The name written in the scene (light or group).
    pub target: String,
    /// Indices into [`Rig::lights`].
    pub lights: Vec<usize>,
    /// New level, if it changes.
    pub level: Option<f32>,
    /// New colour, if it changes.
    pub color: Option<LightColor>,
    /// New effect, if it changes.
    pub effect: Option<Effect>,
    /// Fade length; `None` uses the ceremony's transition.
    pub fade: Option<Duration>,
    /// Fade curve (in perceived lightness).
    pub curve: Curve,
}

/// A one-shot sound, layered over the beds.
#[derive(Debug, Clone, PartialEq)]
pub struct OneShot {
    /// Resolved file path.
    pub file: PathBuf,
    /// Gain.
    pub gain: Decibels,
}
