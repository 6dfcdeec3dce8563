//! Lights: what the engine asks of a light (targets), pure driver encoders, fade planning and
//! effects. No MQTT I/O happens here.

pub mod target;
