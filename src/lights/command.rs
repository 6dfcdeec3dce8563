//! Device-level commands and the MQTT messages drivers encode them into. Owns only these two
//! plain types; it must not encode payloads (that is the drivers' job) or publish anything.

use std::time::Duration;

use super::target::LightColor;

/// One command to one light, in device terms: what a driver encodes into MQTT messages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LightCommand {
    /// Whether the light should be on. `false` is an explicit OFF; `brightness` is then ignored.
    pub on: bool,
    /// Device fraction 0..=1, after the perceptual curve and `min_level` have been applied.
    pub brightness: f32,
    /// Colour to set together with the brightness, if any.
    pub color: Option<LightColor>,
    /// Native transition to run on the device, or `None` for an immediate change (the encoder
    /// then leaves the field out, or sends the driver's "no fade" form).
    pub transition: Option<Duration>,
}

impl LightCommand {
    /// An explicit OFF with no transition.
    #[must_use]
    pub fn off() -> Self {
        Self {
            on: false,
            brightness: 0.0,
            color: None,
            transition: None,
        }
    }
}

/// One MQTT message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// Topic to publish on.
    pub topic: String,
    /// Payload text (JSON or plain, depending on the driver).
    pub payload: String,
    /// Retain flag. Light commands are never retained (a retained command replays on every
    /// broker or device restart; reference §2.5), so drivers always set `false`.
    pub retain: bool,
}

impl Publish {
    /// A non-retained message, the only kind a light driver produces.
    #[must_use]
    pub fn command(topic: impl Into<String>, payload: impl Into<String>) -> Self {
        Self {
            topic: topic.into(),
            payload: payload.into(),
            retain: false,
        }
    }
}
