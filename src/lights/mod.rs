//! Lights: the pure half of the lights feature. Targets from the ceremony engine, per-driver
//! options, perceptual curves, fade planning, effects, pacing and the per-rig controller, all
//! without I/O or a clock: time is always a parameter. The MQTT bus (which owns rumqttc) lives
//! elsewhere and only drives [`controller::LightController`].

pub mod command;
pub mod controller;
pub mod curve;
pub mod drivers;
pub mod effects;
pub mod options;
pub mod pace;
pub mod plan;
pub mod target;

pub use command::{LightCommand, Publish};
pub use options::{DeviceCurve, DriverKind, LightOptions};
pub use target::{Effect, LightColor, LightTarget};
