//! Reads incoming MQTT messages into engine requests: plain-text and JSON commands on the
//! room's and every room's command topics, phase ids from a Home Assistant `select`, and
//! Zigbee2MQTT remote actions bound in the rig; and other instances' availability on the
//! room's status topic. Pure: it owns the subscription list and the routing rules; it must
//! not talk to a broker, touch the engine or read the clock. Whether a phase or ceremony
//! exists is the room's to say (they change with the running ceremony and the library).
//!
//! Rules (reference §2.5, §5): messages that arrive **retained** on command or remote topics
//! are ignored (a retained `next` would advance the ceremony on every restart); empty
//! payloads and empty remote actions are ignored; anything unreadable is [`Routed::Rejected`]
//! so the bus can publish an error event, and changes nothing.

use serde_json::Value;

use super::topics::Topics;
use crate::command::Command;
use crate::model::RemoteDef;
use crate::run::Request;

/// Largest command payload read; longer ones are rejected unread.
pub const MAX_COMMAND_BYTES: usize = 4096;
/// Largest remote state payload read (Z2M state JSON is a few hundred bytes).
pub const MAX_REMOTE_BYTES: usize = 64 * 1024;
/// Zigbee2MQTT's default base topic, where remotes publish their actions.
pub const Z2M_BASE: &str = "zigbee2mqtt";

/// What to do with one incoming message.
#[derive(Debug, Clone)]
pub enum Routed {
    /// Hand this request to the engine.
    Request(Request),
    /// The message could not be read: report `why` as an error event; change nothing.
    Rejected {
        /// Topic it came on.
        topic: String,
        /// What was wrong, lowercase.
        why: String,
    },
    /// Home Assistant came online: publish discovery and state again.
    HomeAssistantOnline,
    /// A message on the room's status topic (ours, or another instance's).
    Status {
        /// What it says.
        payload: Vec<u8>,
        /// Whether the broker kept it (it was there before we subscribed).
        retained: bool,
    },
    /// Nothing to do (retained, empty, an unbound action, a device's plain state update…).
    Ignored(&'static str),
}

#[derive(Debug, Clone)]
struct Binding {
    /// `zigbee2mqtt/<address>`: JSON with an `action` field.
    json_topic: String,
    /// `zigbee2mqtt/<address>/action`: the action as plain text.
    action_topic: String,
    remote: RemoteDef,
}

/// Routes incoming messages of one room. See the module docs.
#[derive(Debug, Clone)]
pub struct Router {
    topics: Topics,
    bindings: Vec<Binding>,
    discovery: bool,
    listen: bool,
    status: bool,
}

impl Router {
    /// A router for `topics`, mapping `remotes`' actions. With `discovery`, it also listens
    /// for Home Assistant's birth message.
    #[must_use]
    pub fn new(topics: Topics, remotes: &[RemoteDef], discovery: bool) -> Self {
        let bindings = remotes
            .iter()
            .map(|r| Binding {
                json_topic: format!("{Z2M_BASE}/{}", r.address),
                action_topic: format!("{Z2M_BASE}/{}/action", r.address),
                remote: r.clone(),
            })
            .collect();
        Self {
            topics,
            bindings,
            discovery,
            listen: true,
            status: false,
        }
    }

    /// Also listens on the room's status topic, to see other instances come and go.
    #[must_use]
    pub fn watching_status(mut self) -> Self {
        self.status = true;
        self
    }

    /// A router that subscribes to nothing (for helpers such as `sanctum lights test`, which
    /// must not take commands meant for a running daemon).
    #[must_use]
    pub fn deaf(topics: Topics) -> Self {
        Self {
            listen: false,
            ..Self::new(topics, &[], false)
        }
    }

    /// The topic filters to subscribe to (exact topics, no wildcards, so that large retained
    /// messages elsewhere on the broker never arrive).
    #[must_use]
    pub fn subscriptions(&self) -> Vec<String> {
        if !self.listen {
            return Vec::new();
        }
        let mut out = vec![
            self.topics.cmd.clone(),
            self.topics.all_cmd.clone(),
            self.topics.phase_set.clone(),
        ];
        if self.discovery {
            out.push(self.topics.ha_status.clone());
        }
        if self.status {
            out.push(self.topics.status.clone());
        }
        for b in &self.bindings {
            out.push(b.json_topic.clone());
            out.push(b.action_topic.clone());
        }
        out
    }

    /// Decides what one message means.
    #[must_use]
    pub fn route(&self, topic: &str, payload: &[u8], retained: bool) -> Routed {
        if topic == self.topics.cmd || topic == self.topics.all_cmd {
            if retained {
                return Routed::Ignored("retained command");
            }
            return self.command(topic, payload);
        }
        if topic == self.topics.phase_set {
            if retained {
                return Routed::Ignored("retained phase");
            }
            return match text(topic, payload, MAX_COMMAND_BYTES) {
                Ok("") => Routed::Ignored("empty payload"),
                Ok(t) => self.goto(topic, t, format!("mqtt:{topic}")),
                Err(r) => r,
            };
        }
        if self.status && topic == self.topics.status {
            return Routed::Status {
                payload: payload.to_vec(),
                retained,
            };
        }
        if self.discovery && topic == self.topics.ha_status {
            return match payload {
                _ if retained => Routed::Ignored("retained birth message"),
                b"online" => Routed::HomeAssistantOnline,
                _ => Routed::Ignored("home assistant offline"),
            };
        }
        for b in &self.bindings {
            if topic == b.json_topic {
                if retained {
                    return Routed::Ignored("retained remote state");
                }
                return remote_json(topic, payload).map_or_else(
                    |r| r,
                    |action| match action {
                        Some(a) => self.action(b, &a),
                        None => Routed::Ignored("no action"),
                    },
                );
            }
            if topic == b.action_topic {
                if retained {
                    return Routed::Ignored("retained remote action");
                }
                return match text(topic, payload, MAX_REMOTE_BYTES) {
                    Ok(a) => self.action(b, a),
                    Err(r) => r,
                };
            }
        }
        Routed::Ignored("not a sanctum topic")
    }

    fn command(&self, topic: &str, payload: &[u8]) -> Routed {
        let t = match text(topic, payload, MAX_COMMAND_BYTES) {
            Ok(t) => t,
            Err(r) => return r,
        };
        if t.is_empty() {
            // An empty payload is how a retained message is cleared; it is no command.
            return Routed::Ignored("empty payload");
        }
        let mut source = format!("mqtt:{topic}");
        let parsed = if t.starts_with('{') {
            if let Some(from) = json_source(t) {
                source = format!("{source}:{from}");
            }
            json_command(t)
        } else if t.starts_with('"') {
            serde_json::from_str::<String>(t)
                .map_err(|e| format!("failed to read the JSON string: {e}"))
                .and_then(|s| plain_command(&s))
        } else {
            plain_command(t)
        };
        match parsed {
            Ok(Command::Goto(phase)) => self.goto(topic, &phase, source),
            Ok(command) => Routed::Request(Request { command, source }),
            Err(why) => reject(topic, why),
        }
    }

    fn goto(&self, topic: &str, phase: &str, source: String) -> Routed {
        if phase.split_whitespace().count() != 1 {
            return reject(topic, format!("`{}` is not a phase id", clip(phase)));
        }
        Routed::Request(Request {
            command: Command::Goto(phase.to_owned()),
            source,
        })
    }

    fn action(&self, b: &Binding, action: &str) -> Routed {
        if action.is_empty() {
            return Routed::Ignored("empty action");
        }
        match b.remote.actions.iter().find(|a| a.action == action) {
            Some(bound) => Routed::Request(Request {
                command: bound.command.clone(),
                source: format!("remote:{}:{action}", b.remote.name),
            }),
            None => Routed::Ignored("unbound action"),
        }
    }
}

/// A plain-text command; `PRESS` (Home Assistant's default button payload) means `next`,
/// `ON`/`OFF` (a switch) mean `resume`/`pause`.
fn plain_command(t: &str) -> Result<Command, String> {
    match t.trim().to_ascii_uppercase().as_str() {
        "PRESS" => return Ok(Command::Next),
        "ON" => return Ok(Command::Resume),
        "OFF" => return Ok(Command::Pause),
        _ => {}
    }
    Command::parse(t).map_err(|e| e.to_string())
}

/// `{"cmd":"goto","phase":"soaking"}`, `{"cmd":"next"}`, `{"phase":"soaking"}` or
/// `{"cmd":"start","ceremony":"sex-medicine"}`.
fn json_command(t: &str) -> Result<Command, String> {
    let v: Value = serde_json::from_str(t).map_err(|e| format!("failed to read the JSON: {e}"))?;
    let Value::Object(map) = v else {
        return Err("failed to read the JSON command: expected an object".to_owned());
    };
    let field = |name: &str| -> Result<Option<&str>, String> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(format!(
                "failed to read the JSON command: `{name}` must be a string"
            )),
        }
    };
    let cmd = match field("cmd")? {
        Some(c) => Some(c),
        None => field("command")?,
    };
    let phase = field("phase")?;
    if let Some(name) = field("ceremony")? {
        return match (cmd, phase) {
            (Some(c), None) if c.trim().eq_ignore_ascii_case("start") => {
                Command::parse(&format!("start {}", name.trim())).map_err(|e| e.to_string())
            }
            _ => Err("failed to read the JSON command: `ceremony` only goes with `start`".into()),
        };
    }
    match (cmd, phase) {
        (Some(c), Some(p)) if c.trim().eq_ignore_ascii_case("goto") => {
            Ok(Command::Goto(p.trim().to_owned()))
        }
        (Some(c), Some(_)) => Err(format!(
            "failed to read the JSON command: `phase` only goes with `goto`, not `{}`",
            clip(c)
        )),
        (Some(c), None) => plain_command(c),
        (None, Some(p)) => Ok(Command::Goto(p.trim().to_owned())),
        (None, None) => Err("failed to read the JSON command: expected `cmd` or `phase`".into()),
    }
}

/// The optional `"source"` of a JSON command: a short lowercase word saying where it came
/// from (`sanctum send` says `cli`), kept for the journal.
fn json_source(t: &str) -> Option<String> {
    let v: Value = serde_json::from_str(t).ok()?;
    let s = v.get("source")?.as_str()?;
    let ok = !s.is_empty()
        && s.len() <= 32
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    ok.then(|| s.to_owned())
}

/// The `action` of a Zigbee2MQTT state message, `None` if it has none (a battery update…).
fn remote_json(topic: &str, payload: &[u8]) -> Result<Option<String>, Routed> {
    let t = text(topic, payload, MAX_REMOTE_BYTES)?;
    if t.is_empty() {
        return Ok(None);
    }
    let v: Value = serde_json::from_str(t)
        .map_err(|e| reject(topic, format!("failed to read the remote's JSON: {e}")))?;
    match v.get("action") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(reject(
            topic,
            "failed to read the remote's action: it must be a string".to_owned(),
        )),
    }
}

/// The payload as trimmed UTF-8 text, or a rejection.
fn text<'a>(topic: &str, payload: &'a [u8], max: usize) -> Result<&'a str, Routed> {
    if payload.len() > max {
        return Err(reject(
            topic,
            format!(
                "failed to read the payload: {} bytes is more than {max}",
                payload.len()
            ),
        ));
    }
    std::str::from_utf8(payload).map(str::trim).map_err(|_| {
        reject(
            topic,
            "failed to read the payload: it is not UTF-8".to_owned(),
        )
    })
}

fn reject(topic: &str, why: String) -> Routed {
    Routed::Rejected {
        topic: topic.to_owned(),
        why,
    }
}

/// At most 40 characters of user input, for messages.
fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RemoteAction;

    fn router() -> Router {
        let remote = RemoteDef {
            name: "button".into(),
            driver: "zigbee2mqtt".into(),
            address: "nightstand".into(),
            actions: vec![
                RemoteAction {
                    action: "single".into(),
                    command: Command::Next,
                    span: 0..0,
                },
                RemoteAction {
                    action: "hold".into(),
                    command: Command::Goto("soaking".into()),
                    span: 0..0,
                },
            ],
        };
        Router::new(Topics::new("temple"), &[remote], true).watching_status()
    }

    fn command(r: &Routed) -> Option<&Command> {
        match r {
            Routed::Request(req) => Some(&req.command),
            _ => None,
        }
    }

    fn rejected(r: &Routed) -> bool {
        matches!(r, Routed::Rejected { .. })
    }

    #[test]
    fn plain_and_json_commands() {
        let r = router();
        for (payload, want) in [
            (&b"next"[..], Command::Next),
            (b" NEXT\n", Command::Next),
            (b"goto soaking", Command::Goto("soaking".into())),
            (
                br#"{"cmd":"goto","phase":"soaking"}"#,
                Command::Goto("soaking".into()),
            ),
            (br#"{"cmd":"next"}"#, Command::Next),
            (br#"{"command":"PAUSE"}"#, Command::Pause),
            (br#"{"phase":"arrive"}"#, Command::Goto("arrive".into())),
            (
                br#"{"cmd":"start","ceremony":"sex-medicine"}"#,
                Command::StartCeremony("sex-medicine".into()),
            ),
            (
                b"start sex-medicine",
                Command::StartCeremony("sex-medicine".into()),
            ),
            (br#""stop""#, Command::Stop),
            (b"PRESS", Command::Next),
            (b"OFF", Command::Pause),
            (b"on", Command::Resume),
        ] {
            for topic in ["sanctum/temple/cmd", "sanctum/all/cmd"] {
                let got = r.route(topic, payload, false);
                assert_eq!(command(&got), Some(&want), "{payload:?} on {topic}");
            }
        }
        let got = r.route("sanctum/temple/cmd", b"next", false);
        let Routed::Request(req) = got else {
            panic!("request")
        };
        assert_eq!(req.source, "mqtt:sanctum/temple/cmd");
        let got = r.route(
            "sanctum/temple/cmd",
            br#"{"cmd":"goto soaking","source":"cli"}"#,
            false,
        );
        let Routed::Request(req) = got else {
            panic!("request")
        };
        assert_eq!(req.command, Command::Goto("soaking".into()));
        assert_eq!(req.source, "mqtt:sanctum/temple/cmd:cli");
        let odd = r.route(
            "sanctum/temple/cmd",
            br#"{"cmd":"next","source":"A B"}"#,
            false,
        );
        let Routed::Request(req) = odd else {
            panic!("request")
        };
        assert_eq!(
            req.source, "mqtt:sanctum/temple/cmd",
            "odd sources are dropped"
        );
    }

    #[test]
    fn retained_messages_are_ignored_everywhere() {
        let r = router();
        for topic in [
            "sanctum/temple/cmd",
            "sanctum/all/cmd",
            "sanctum/temple/phase/set",
            "zigbee2mqtt/nightstand/action",
        ] {
            assert!(matches!(r.route(topic, b"next", true), Routed::Ignored(_)));
        }
        assert!(matches!(
            r.route("zigbee2mqtt/nightstand", br#"{"action":"single"}"#, true),
            Routed::Ignored(_)
        ));
        assert!(matches!(
            r.route("homeassistant/status", b"online", true),
            Routed::Ignored(_)
        ));
    }

    #[test]
    fn phase_select_and_home_assistant() {
        let r = router();
        assert_eq!(
            command(&r.route("sanctum/temple/phase/set", b"soaking", false)),
            Some(&Command::Goto("soaking".into()))
        );
        assert!(rejected(&r.route(
            "sanctum/temple/phase/set",
            b"two words",
            false
        )));
        assert!(matches!(
            r.route("sanctum/temple/status", b"online", true),
            Routed::Status { retained: true, .. }
        ));
        assert!(
            r.subscriptions()
                .contains(&"sanctum/temple/status".to_owned())
        );
        assert!(matches!(
            r.route("homeassistant/status", b"online", false),
            Routed::HomeAssistantOnline
        ));
        assert!(
            r.subscriptions()
                .contains(&"homeassistant/status".to_owned())
        );
    }

    #[test]
    fn zigbee_remote_bindings() {
        let r = router();
        let got = r.route(
            "zigbee2mqtt/nightstand",
            br#"{"action":"single","battery":87,"linkquality":199}"#,
            false,
        );
        assert_eq!(command(&got), Some(&Command::Next));
        let Routed::Request(req) = got else {
            panic!("request")
        };
        assert_eq!(req.source, "remote:button:single");
        assert_eq!(
            command(&r.route("zigbee2mqtt/nightstand/action", b"hold", false)),
            Some(&Command::Goto("soaking".into()))
        );
        for payload in [
            &br#"{"action":""}"#[..],
            br#"{"battery":80}"#,
            br#"{"action":"double"}"#,
            br#"{"action":null}"#,
        ] {
            assert!(
                matches!(
                    r.route("zigbee2mqtt/nightstand", payload, false),
                    Routed::Ignored(_)
                ),
                "{payload:?}"
            );
        }
        assert!(matches!(
            r.route("zigbee2mqtt/nightstand/action", b"", false),
            Routed::Ignored(_)
        ));
        assert!(rejected(&r.route("zigbee2mqtt/nightstand", b"{", false)));
        assert!(rejected(&r.route(
            "zigbee2mqtt/nightstand",
            br#"{"action":5}"#,
            false
        )));
        let subs = r.subscriptions();
        assert!(subs.contains(&"zigbee2mqtt/nightstand".to_owned()));
        assert!(subs.contains(&"zigbee2mqtt/nightstand/action".to_owned()));
    }

    #[test]
    fn malformed_commands_are_rejected_with_reasons() {
        let r = router();
        let why = |payload: &[u8]| match r.route("sanctum/temple/cmd", payload, false) {
            Routed::Rejected { why, .. } => why,
            other => panic!("expected a rejection, got {other:?}"),
        };
        insta::assert_snapshot!(why(b"dance"), @"unknown command `dance`; expected one of start, next, prev, goto, pause, resume, stop, louder, softer, relight");
        insta::assert_snapshot!(why(b"\xff\xfe"), @"failed to read the payload: it is not UTF-8");
        insta::assert_snapshot!(why(br#"{"cmd":5}"#), @"failed to read the JSON command: `cmd` must be a string");
        insta::assert_snapshot!(why(br#"{"cmd":"next","phase":"x"}"#), @"failed to read the JSON command: `phase` only goes with `goto`, not `next`");
        insta::assert_snapshot!(why(br#"{}"#), @"failed to read the JSON command: expected `cmd` or `phase`");
        insta::assert_snapshot!(why(br#"{"cmd":"next","ceremony":"x"}"#), @"failed to read the JSON command: `ceremony` only goes with `start`");
        insta::assert_snapshot!(why(b"[1,2]"), @"unknown command `[1,2]`; expected one of start, next, prev, goto, pause, resume, stop, louder, softer, relight");
        assert!(why(br#"{"cmd":"#).starts_with("failed to read the JSON:"));
        let huge = vec![b'x'; MAX_COMMAND_BYTES + 1];
        assert!(why(&huge).starts_with("failed to read the payload: 4097 bytes"));
        assert!(matches!(
            r.route("sanctum/temple/cmd", b"  \n", false),
            Routed::Ignored(_)
        ));
        assert!(matches!(
            r.route("sanctum/other/cmd", b"next", false),
            Routed::Ignored(_)
        ));
    }
}
