//! One-shot MQTT clients for the command line: `sanctum send` publishes one command the way a
//! phone would, `sanctum status` prints the room's retained state. Each connects, does its
//! one thing and disconnects within a deadline; neither touches the engine or the lights.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, Outgoing, Packet, QoS};

use super::connection::{self, Broker, ConnectionError};
use crate::model::MqttSettings;

/// Why a one-shot client failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The connection could not be set up.
    #[error(transparent)]
    Setup(#[from] ConnectionError),
    /// The broker could not be reached or refused us.
    #[error("{0}")]
    Connect(String),
    /// Nothing came back in time.
    #[error("failed to {what}: no answer from {broker} within {secs} s")]
    Timeout {
        /// What was being done.
        what: &'static str,
        /// The broker.
        broker: String,
        /// The deadline in seconds.
        secs: u64,
    },
    /// No retained state on the topic.
    #[error(
        "failed to read the state: nothing retained on `{0}` (is sanctum running for this room?)"
    )]
    NoState(String),
}

fn client_id(what: &str) -> String {
    format!("sanctum-{what}-{}", std::process::id())
}

/// Publishes `payload` on `topic` (QoS 1, not retained) and waits for the broker's ack.
///
/// # Errors
/// A [`ClientError`] when the broker cannot be reached, refuses us, or does not ack in time.
pub async fn send(
    broker: &Broker,
    settings: &MqttSettings,
    topic: &str,
    payload: &str,
    within: Duration,
) -> Result<(), ClientError> {
    let opts = connection::mqtt_options(&client_id("send"), broker, settings, None)?;
    let (client, mut el) = AsyncClient::new(opts, 16);
    el.set_network_options(connection::network_options());
    let work = async {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    client
                        .try_publish(topic, QoS::AtLeastOnce, false, payload.as_bytes().to_vec())
                        .map_err(|e| ClientError::Connect(e.to_string()))?;
                }
                Ok(Event::Incoming(Packet::PubAck(_))) => {
                    let _ = client.try_disconnect();
                }
                Ok(Event::Outgoing(Outgoing::Disconnect)) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(ClientError::Connect(connection::describe(broker, &e))),
            }
        }
    };
    tokio::time::timeout(within, work)
        .await
        .map_err(|_| ClientError::Timeout {
            what: "send the command",
            broker: broker.to_string(),
            secs: within.as_secs(),
        })?
}

/// How long to wait after the broker acknowledges a subscription for a retained message
/// (mosquitto sends it right after the SUBACK; on loopback it takes well under 10 ms).
pub const RETAINED_SETTLE: Duration = Duration::from_millis(400);

/// Reads the retained message on `topic`: `Ok(None)` when nothing is retained there.
///
/// # Errors
/// A [`ClientError`] when the broker cannot be reached or does not answer in time.
pub async fn peek_retained(
    broker: &Broker,
    settings: &MqttSettings,
    topic: &str,
    within: Duration,
) -> Result<Option<String>, ClientError> {
    let opts = connection::mqtt_options(&client_id("status"), broker, settings, None)?;
    let (client, mut el) = AsyncClient::new(opts, 16);
    el.set_network_options(connection::network_options());
    let work = async {
        let mut settle: Option<tokio::time::Instant> = None;
        loop {
            let event = match settle {
                Some(until) => match tokio::time::timeout_at(until, el.poll()).await {
                    Ok(e) => e,
                    Err(_) => {
                        let _ = client.try_disconnect();
                        return Ok(None);
                    }
                },
                None => el.poll().await,
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    client
                        .try_subscribe(topic, QoS::AtLeastOnce)
                        .map_err(|e| ClientError::Connect(e.to_string()))?;
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    settle = Some(tokio::time::Instant::now() + RETAINED_SETTLE);
                }
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic == topic => {
                    let _ = client.try_disconnect();
                    return Ok(Some(String::from_utf8_lossy(&p.payload).into_owned()));
                }
                Ok(_) => {}
                Err(e) => return Err(ClientError::Connect(connection::describe(broker, &e))),
            }
        }
    };
    tokio::time::timeout(within, work)
        .await
        .map_err(|_| ClientError::Timeout {
            what: "read a retained message",
            broker: broker.to_string(),
            secs: within.as_secs(),
        })?
}
