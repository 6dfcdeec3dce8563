//! Where a room's sound and messages go, as the rig, the config file and the flags name
//! them: the audio output ([`OutputSpec`], with a pipe's [`PcmFormat`]) and the MQTT broker
//! ([`Broker`]), each read once into a typed value by the parsers `check` and `run` share.
//! Pure: it must not open a device, a FIFO or a connection.

use std::path::PathBuf;

/// Why an output or a broker URL cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// The output name is not one we know.
    #[error(
        "unsupported audio output `{0}`: use `default`, a device name (see `sanctum devices`), `null` (silent, paced), `wav:<path>` (offline render) or `pipe:<path>` (raw PCM into a FIFO, e.g. for Snapcast)"
    )]
    UnknownOutput(String),
    /// A `pipe:` option sanctum does not understand.
    #[error(
        "failed to read the `pipe:` option `{0}`: the only option is `sampleformat=<rate>:<bits>:<channels>` with bits 16, 24 or 32 and 1 or 2 channels, e.g. `pipe:/tmp/snapfifo?sampleformat=48000:16:2`"
    )]
    PipeOption(String),
    /// The broker URL is not `mqtt://host[:port]` or `mqtts://host[:port]`.
    #[error(
        "failed to read the broker URL `{0}`: write it as \"mqtt://host:port\" or \"mqtts://host:port\""
    )]
    BadUrl(String),
    /// A user name or password in the URL: credentials belong in the rig, and a URL is
    /// printed in logs. The URL is kept with its user info masked.
    #[error(
        "failed to read the broker URL `{0}`: credentials do not go in the URL; put the user name in [mqtt] `username` and the password in `password_env` or `password_file`"
    )]
    CredentialsInUrl(String),
}

/// Which output to use, as written on the command line or in the rig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputSpec {
    /// Silent, paced in real time.
    Null,
    /// Render to a WAV file as fast as possible.
    Wav(PathBuf),
    /// A sound card through cpal: the default device (`default`), or one by name.
    Device(Option<String>),
    /// Raw PCM into a FIFO (`pipe:<path>[?sampleformat=<rate>:<bits>:<channels>]`), paced in
    /// real time, for a reader such as Snapcast's server.
    Pipe {
        /// The FIFO (made if missing).
        path: PathBuf,
        /// What goes into it; Snapcast's default `48000:16:2` unless given.
        format: PcmFormat,
    },
}

impl OutputSpec {
    /// Reads the rig's `audio.output`: `default`, a device name, `wav:<path>`, `pipe:<path>`
    /// (optionally `?sampleformat=<rate>:<bits>:<channels>`) or `null`.
    ///
    /// # Errors
    /// [`EndpointError::UnknownOutput`] for an empty name and `wav:` or `pipe:` without a path;
    /// [`EndpointError::PipeOption`] for a `pipe:` option other than a valid `sampleformat`.
    pub fn parse(text: &str) -> Result<Self, EndpointError> {
        let t = text.trim();
        if t == "null" {
            Ok(Self::Null)
        } else if t == "default" {
            Ok(Self::Device(None))
        } else if let Some(path) = t.strip_prefix("wav:") {
            if path.is_empty() {
                Err(EndpointError::UnknownOutput(t.to_owned()))
            } else {
                Ok(Self::Wav(PathBuf::from(path)))
            }
        } else if let Some(rest) = t.strip_prefix("pipe:") {
            let (path, option) = match rest.split_once('?') {
                Some((path, option)) => (path, Some(option)),
                None => (rest, None),
            };
            if path.is_empty() {
                return Err(EndpointError::UnknownOutput(t.to_owned()));
            }
            let format = match option {
                None => PcmFormat::default(),
                Some(o) => match o.strip_prefix("sampleformat=") {
                    Some(f) => PcmFormat::parse(f)?,
                    None => return Err(EndpointError::PipeOption(o.to_owned())),
                },
            };
            Ok(Self::Pipe {
                path: PathBuf::from(path),
                format,
            })
        } else if t.is_empty() {
            Err(EndpointError::UnknownOutput(t.to_owned()))
        } else {
            Ok(Self::Device(Some(t.to_owned())))
        }
    }
}

/// The PCM layout written into the FIFO, in Snapcast's `sampleformat` notation
/// `<rate>:<bits>:<channels>`: signed little-endian integers; 16 bits in two bytes, 24 bits in
/// the low three bytes of a four-byte word (sign-extended), 32 bits in four.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcmFormat {
    /// Frames per second (the mixer runs at this rate).
    pub rate: u32,
    /// Bits per sample: 16, 24 or 32.
    pub bits: u16,
    /// 1 (the mix folded to mono) or 2.
    pub channels: u16,
}

impl Default for PcmFormat {
    /// Snapcast's default, `48000:16:2`.
    fn default() -> Self {
        Self {
            rate: 48_000,
            bits: 16,
            channels: 2,
        }
    }
}

impl std::fmt::Display for PcmFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.rate, self.bits, self.channels)
    }
}

impl PcmFormat {
    /// Reads `<rate>:<bits>:<channels>`, e.g. `48000:16:2`.
    ///
    /// # Errors
    /// [`EndpointError::PipeOption`] unless the rate is 8000–192000, the bits 16, 24 or 32 and
    /// the channels 1 or 2.
    pub fn parse(text: &str) -> Result<Self, EndpointError> {
        let bad = || EndpointError::PipeOption(format!("sampleformat={text}"));
        let mut parts = text.split(':').map(str::parse::<u32>);
        let (Some(Ok(rate)), Some(Ok(bits)), Some(Ok(channels)), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if !(8_000..=192_000).contains(&rate)
            || !matches!(bits, 16 | 24 | 32)
            || !matches!(channels, 1 | 2)
        {
            return Err(bad());
        }
        Ok(Self {
            rate,
            bits: u16::try_from(bits).map_err(|_| bad())?,
            channels: u16::try_from(channels).map_err(|_| bad())?,
        })
    }
}

/// A broker address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    /// Host name or IP address.
    pub host: String,
    /// TCP port (1883 for `mqtt://`, 8883 for `mqtts://` unless given).
    pub port: u16,
    /// Whether to use TLS.
    pub tls: bool,
}

impl Broker {
    /// Reads `mqtt://host[:port]` or `mqtts://host[:port]`.
    ///
    /// # Errors
    /// [`EndpointError::BadUrl`] for anything else.
    pub fn parse(url: &str) -> Result<Self, EndpointError> {
        if let Some(at) = url.find('@') {
            let start = url.find("://").map_or(0, |i| i + 3);
            let masked = format!("{}***{}", &url[..start.min(at)], &url[at..]);
            return Err(EndpointError::CredentialsInUrl(masked));
        }
        let bad = || EndpointError::BadUrl(url.to_owned());
        let (rest, tls) = if let Some(r) = url.strip_prefix("mqtts://") {
            (r, true)
        } else if let Some(r) = url.strip_prefix("mqtt://") {
            (r, false)
        } else {
            return Err(bad());
        };
        let rest = rest.trim_end_matches('/');
        let default_port = if tls { 8883 } else { 1883 };
        // An IPv6 literal is bracketed (`[::1]:1883`, RFC 3986); anything else has at most
        // one colon, before the port.
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (host, after) = inner.split_once(']').ok_or_else(bad)?;
            let port = match after {
                "" => default_port,
                p => p
                    .strip_prefix(':')
                    .and_then(|p| p.parse::<u16>().ok())
                    .ok_or_else(bad)?,
            };
            if host.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad());
            }
            (host, port)
        } else {
            match rest.split_once(':') {
                Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad())?),
                None => (rest, default_port),
            }
        };
        if host.is_empty() || host.contains(['/', '[', ']']) || port == 0 {
            return Err(bad());
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            tls,
        })
    }
}

impl std::fmt::Display for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// Checks the rig's `key`, whose value `text` becomes part of an MQTT topic (a device address,
/// a base topic): not empty, and without MQTT's wildcards `#` and `+` or a NUL, which brokers
/// refuse in a topic one publishes to (every message would be dropped without a word).
///
/// # Errors
/// Says what is wrong, lowercase.
pub fn check_topic_part(key: &str, text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(format!("`{key}` must not be empty"));
    }
    match text.chars().find(|c| matches!(c, '#' | '+' | '\0')) {
        Some(c) => Err(format!(
            "`{key}` `{text}` has `{}`: MQTT topics cannot contain `#`, `+` or NUL",
            c.escape_default()
        )),
        None => Ok(()),
    }
}
