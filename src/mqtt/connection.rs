//! How sanctum reaches the broker: the broker URL, credentials (password from an environment
//! variable or a file, never the command line), TLS for `mqtts://` (a CA file, optionally a
//! client certificate and key; rustls with the `ring` provider), and the rumqttc options the
//! reference asks for (raised packet limits, keep-alive, Last Will). Also turns rumqttc's
//! connection errors into sentences. Reads only the files the rig names; it must not connect,
//! poll or publish.

pub use crate::endpoint::{Broker, EndpointError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{
    ConnectReturnCode, LastWill, MqttOptions, NetworkOptions, QoS, TlsConfiguration, Transport,
};

use crate::model::MqttSettings;

/// Largest incoming packet accepted: MQTT 3.1.1's own limit (256 MiB), so that no message a
/// broker can deliver ever makes rumqttc drop the connection (with a retained one, that
/// became a reconnect loop). sanctum subscribes to exact topics only, and anything over
/// [`super::remote::MAX_COMMAND_BYTES`] is then dropped unread with one `error` event.
pub const MAX_INCOMING: usize = 268_435_455;
/// Largest outgoing packet.
pub const MAX_OUTGOING: usize = 64 << 10;
/// Keep-alive: a half-open connection is noticed within one or two of these.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long one connection attempt may take, in seconds.
pub const CONNECT_TIMEOUT_S: u64 = 5;

/// Why sanctum cannot set up a connection.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The broker URL cannot be read ([`EndpointError::BadUrl`],
    /// [`EndpointError::CredentialsInUrl`]).
    #[error(transparent)]
    Url(#[from] EndpointError),
    /// `password_env` names a variable that is not set.
    #[error("failed to read the MQTT password: environment variable `{0}` is not set")]
    PasswordEnv(String),
    /// `password_file` cannot be read.
    #[error("failed to read the MQTT password from {path}: {source}")]
    PasswordFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A password without a user name.
    #[error("failed to set MQTT credentials: a password needs a `username` in [mqtt]")]
    NoUsername,
    /// A certificate or key file cannot be read.
    #[error("failed to read {what} from {path}: {why}")]
    Pem {
        /// What the file should hold.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// A client certificate without its key, or the other way round.
    #[error("failed to set up TLS: `cert_file` and `key_file` go together")]
    HalfClientCert,
    /// rustls refused the configuration.
    #[error("failed to set up TLS: {0}")]
    Tls(String),
}

/// rumqttc options for `broker` with the rig's credentials and TLS, and `will` as the Last
/// Will (retained `offline` on the room's status topic for the daemon).
///
/// # Errors
/// A [`ConnectionError`] when a password, certificate or key cannot be read.
pub fn mqtt_options(
    client_id: &str,
    broker: &Broker,
    settings: &MqttSettings,
    will: Option<(String, String)>,
) -> Result<MqttOptions, ConnectionError> {
    let mut opts = MqttOptions::new(client_id, broker.host.clone(), broker.port);
    opts.set_keep_alive(KEEP_ALIVE)
        .set_max_packet_size(MAX_INCOMING, MAX_OUTGOING)
        .set_clean_session(true);
    if let Some((topic, payload)) = will {
        opts.set_last_will(LastWill::new(topic, payload, QoS::AtLeastOnce, true));
    }
    if let Some(password) = password(settings)? {
        let user = settings
            .username
            .clone()
            .ok_or(ConnectionError::NoUsername)?;
        opts.set_credentials(user, password);
    } else if let Some(user) = &settings.username {
        opts.set_credentials(user.clone(), "");
    }
    if broker.tls {
        let config = tls_config(settings)?;
        opts.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
            Arc::new(config),
        )));
    }
    Ok(opts)
}

/// Network options: `TCP_NODELAY` on (without it loopback shows ~40 ms stalls, design §6)
/// and a bounded connection attempt.
#[must_use]
pub fn network_options() -> NetworkOptions {
    let mut net = NetworkOptions::new();
    net.set_tcp_nodelay(true);
    net.set_connection_timeout(CONNECT_TIMEOUT_S);
    net
}

/// The password from `password_env` or `password_file` (first line, trimmed), if any.
fn password(settings: &MqttSettings) -> Result<Option<String>, ConnectionError> {
    if let Some(var) = &settings.password_env {
        return std::env::var(var)
            .map(Some)
            .map_err(|_| ConnectionError::PasswordEnv(var.clone()));
    }
    if let Some(path) = &settings.password_file {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConnectionError::PasswordFile {
                path: path.clone(),
                source,
            })?;
        return Ok(Some(text.lines().next().unwrap_or("").trim().to_owned()));
    }
    Ok(None)
}

fn pem_err(what: &'static str, path: &Path, why: impl std::fmt::Display) -> ConnectionError {
    ConnectionError::Pem {
        what,
        path: path.to_owned(),
        why: why.to_string(),
    }
}

/// rustls client config: the rig's CA (or the system's roots), optional client cert + key,
/// `ring` as the crypto provider (no aws-lc-rs build).
fn tls_config(settings: &MqttSettings) -> Result<rustls::ClientConfig, ConnectionError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let mut roots = rustls::RootCertStore::empty();
    match &settings.ca_file {
        Some(path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| pem_err("the CA certificate", path, e))?
                .collect::<Result<_, _>>()
                .map_err(|e| pem_err("the CA certificate", path, e))?;
            if certs.is_empty() {
                return Err(pem_err("the CA certificate", path, "no certificate in it"));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| pem_err("the CA certificate", path, e))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                // Skip the odd unusable system certificate rather than fail.
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(ConnectionError::Tls(
                    "no system root certificates found; set `ca_file` in [mqtt]".to_owned(),
                ));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectionError::Tls(e.to_string()))?
        .with_root_certificates(roots);
    match (&settings.cert_file, &settings.key_file) {
        (Some(cert), Some(key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                .map_err(|e| pem_err("the client certificate", cert, e))?
                .collect::<Result<_, _>>()
                .map_err(|e| pem_err("the client certificate", cert, e))?;
            let key =
                PrivateKeyDer::from_pem_file(key).map_err(|e| pem_err("the client key", key, e))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| ConnectionError::Tls(e.to_string()))
        }
        (None, None) => Ok(builder.with_no_client_auth()),
        _ => Err(ConnectionError::HalfClientCert),
    }
}

/// A sentence for a failed connection attempt, with a hint where one helps.
#[must_use]
pub fn describe(broker: &Broker, err: &rumqttc::ConnectionError) -> String {
    use rumqttc::ConnectionError as E;
    match err {
        E::ConnectionRefused(code) => {
            let why = match code {
                ConnectReturnCode::BadUserNamePassword => {
                    "bad user name or password (check `username` and `password_env`/`password_file` in [mqtt])"
                }
                ConnectReturnCode::NotAuthorized => {
                    "not authorized (check `username` and the password in [mqtt])"
                }
                ConnectReturnCode::BadClientId => "client id rejected",
                ConnectReturnCode::ServiceUnavailable => "broker unavailable",
                ConnectReturnCode::RefusedProtocolVersion => "protocol version refused",
                ConnectReturnCode::Success => "refused",
            };
            format!("failed to connect to the broker at {broker}: {why}")
        }
        E::Tls(e) => format!(
            "failed to connect to the broker at {broker}: TLS: {e} (check `ca_file`, `cert_file` and `key_file` in [mqtt])"
        ),
        E::NetworkTimeout => {
            format!(
                "failed to connect to the broker at {broker}: no answer within {CONNECT_TIMEOUT_S} s"
            )
        }
        other => format!("failed to reach the broker at {broker}: {other}"),
    }
}

/// Whether an error means the broker refused us (credentials, TLS) rather than being away.
#[must_use]
pub fn is_refusal(err: &rumqttc::ConnectionError) -> bool {
    matches!(
        err,
        rumqttc::ConnectionError::ConnectionRefused(_) | rumqttc::ConnectionError::Tls(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_broker_urls() {
        assert_eq!(
            Broker::parse("mqtt://127.0.0.1:1884").expect("ok"),
            Broker {
                host: "127.0.0.1".into(),
                port: 1884,
                tls: false
            }
        );
        let b = Broker::parse("mqtts://broker.lan").expect("ok");
        assert_eq!((b.port, b.tls), (8883, true));
        assert_eq!(Broker::parse("mqtt://h/").expect("ok").port, 1883);
        let v6 = Broker::parse("mqtt://[::1]:1884").expect("ok");
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 1884));
        assert_eq!(v6.to_string(), "mqtt://[::1]:1884");
        assert_eq!(Broker::parse(&v6.to_string()).expect("round trip"), v6);
        for bad in [
            "http://x",
            "mqtt://",
            "mqtt://h:notaport",
            "mqtt://h:0",
            "h:1883",
            "mqtt://[::1",
            "mqtt://::1",
            "mqtt://[::1]x",
            "mqtt://[nope]:1883",
        ] {
            assert!(Broker::parse(bad).is_err(), "{bad}");
        }
        insta::assert_snapshot!(Broker::parse("tcp://x").expect_err("bad"), @r#"failed to read the broker URL `tcp://x`: write it as "mqtt://host:port" or "mqtts://host:port""#);
    }

    #[test]
    fn credentials_in_a_url_are_refused_and_never_echoed() {
        for url in [
            "mqtt://user:s3cret@host:1883",
            "mqtts://s3cret@host",
            "s3cret@host",
        ] {
            let err = Broker::parse(url).expect_err("refused").to_string();
            assert!(!err.contains("s3cret"), "{err}");
            assert!(err.contains("credentials do not go in the URL"), "{err}");
        }
        let err = Broker::parse("mqtt://user:s3cret@host:1883").expect_err("refused");
        assert!(err.to_string().contains("`mqtt://***@host:1883`"), "{err}");
    }

    #[test]
    fn passwords_come_from_env_or_file_never_flags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\n").expect("write");
        let settings = MqttSettings {
            username: Some("u".into()),
            password_file: Some(file),
            ..MqttSettings::default()
        };
        assert_eq!(password(&settings).expect("read"), Some("s3cret".into()));
        let missing = MqttSettings {
            password_env: Some("SANCTUM_TEST_SURELY_UNSET_VAR".into()),
            ..MqttSettings::default()
        };
        insta::assert_snapshot!(password(&missing).expect_err("unset"), @"failed to read the MQTT password: environment variable `SANCTUM_TEST_SURELY_UNSET_VAR` is not set");
        let broker = Broker::parse("mqtt://h").expect("ok");
        let no_user = MqttSettings {
            password_file: settings.password_file.clone(),
            ..MqttSettings::default()
        };
        assert!(matches!(
            mqtt_options("c", &broker, &no_user, None),
            Err(ConnectionError::NoUsername)
        ));
    }

    #[test]
    fn tls_needs_readable_certificates() {
        let settings = MqttSettings {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..MqttSettings::default()
        };
        let broker = Broker::parse("mqtts://h").expect("ok");
        let err = mqtt_options("c", &broker, &settings, None).expect_err("no ca");
        assert!(
            err.to_string()
                .starts_with("failed to read the CA certificate from /nonexistent/ca.pem"),
            "{err}"
        );
    }
}
