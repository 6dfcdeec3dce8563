//! Lights: the pure half of the lights feature. Targets from the ceremony engine, per-driver
//! options, perceptual curves, fade planning, effects, pacing and the per-rig controller, all
//! without I/O or a clock: time is always a parameter. The MQTT bus (which owns rumqttc) lives
//! elsewhere and only drives [`controller::LightController`].
//!
//! Flow: the engine calls [`controller::LightController::apply`] with a [`LightTarget`]
//! (perceived level, colour, effect), a fade duration and a [`crate::tween::Curve`]. The
//! controller plans the fade ([`plan`]) in perceived lightness, maps each point to the device's
//! value through its [`curve::DeviceCurve`] and `min_level`, blends the target's effect
//! ([`effects`]) in during the fade, encodes commands with the light's driver ([`drivers`]) and
//! paces them per light ([`pace`]). The bus calls `poll(now)` at `next_deadline()` and
//! publishes what comes back (never retained), and `current_commands(now)` after a reconnect.

pub mod command;
pub mod controller;
pub mod curve;
pub mod drivers;
pub mod effects;
pub mod glide;
pub mod options;
pub mod pace;
pub mod plan;
pub mod target;

pub use command::{LightCommand, Publish};
pub use options::{DeviceCurve, DriverKind, LightOptions};
pub use target::{Effect, LightColor, LightTarget};
