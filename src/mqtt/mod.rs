//! MQTT: sanctum's link to bulbs, phones, Home Assistant and Zigbee buttons. One concept per
//! file: [`topics`] (the topic contract), [`remote`] (incoming messages → requests),
//! [`state`] (retained state and event payloads), [`discovery`] (Home Assistant entities),
//! [`flood`] (a flood of commands never drowns a person's),
//! [`connection`] (broker URL, credentials, TLS), [`bus`] (the one task that owns the rumqttc
//! event loop), [`output`] (engine events → bus) and [`client`] (one-shot `send`/`status`).
//! Only `bus`, `connection` and `client` touch rumqttc; the rest is pure.

pub mod bus;
pub mod client;
pub mod connection;
pub mod discovery;
pub mod flood;
pub mod output;
pub mod remote;
pub mod state;
pub mod topics;

pub use bus::{Bus, BusConfig, BusHandle};
pub use connection::{Broker, ConnectionError};
pub use output::MqttOutput;
pub use remote::{Routed, Router};
pub use topics::Topics;
