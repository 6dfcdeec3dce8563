//! The commands that steer a running ceremony, and how their text forms are read. Shared by
//! the CLI, the MQTT command topics and remote bindings. No I/O.

use std::fmt;

/// Something a person asks of a running ceremony.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Command {
    /// Start the ceremony at its first phase (or the phase given to `run --from`): the one
    /// `run` was given, or the daemon's only ceremony.
    Start,
    /// Start this ceremony of the daemon's library (`start sex-medicine`).
    StartCeremony(String),
    /// Move to the next phase (finishes the ceremony after the last one).
    Next,
    /// Go back to the previous phase.
    Prev,
    /// Jump to the phase with this id.
    Goto(String),
    /// Freeze the timeline: every remaining wait and fade is kept.
    Pause,
    /// Continue after a pause.
    Resume,
    /// Gentle stop: fade to the rig's safe light and to silence, then end.
    Stop,
    /// Master volume up 3 dB, capped by the rig's maximum.
    Louder,
    /// Master volume down 3 dB.
    Softer,
    /// Send one light (by its rig name), or every light, back to the state the ceremony has
    /// it in now, over the rig's transition: after `sanctum lights test --force` borrowed it,
    /// or someone switched it by hand.
    Relight(Option<String>),
}

/// Why a command text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Nothing but whitespace.
    #[error("empty command")]
    Empty,
    /// A word that is not a command.
    #[error("unknown command `{0}`; expected one of {list}", list = Command::WORDS.join(", "))]
    Unknown(String),
    /// `goto` without a phase id.
    #[error("`goto` needs a phase id, like `goto soaking`")]
    MissingPhase,
    /// More than one word after `start` or `goto`.
    #[error("`{0}` takes one name, like `{1}`")]
    OneName(&'static str, &'static str),
    /// Words after a command that takes none.
    #[error("`{0}` takes no argument")]
    UnexpectedArgument(String),
}

impl Command {
    /// The command words, as documented.
    pub const WORDS: [&'static str; 10] = [
        "start", "next", "prev", "goto", "pause", "resume", "stop", "louder", "softer", "relight",
    ];

    /// Reads a plain-text command such as `next`, ` GOTO soaking\n` or `prev`.
    /// Case-insensitive and trimmed; phase ids keep their case.
    ///
    /// # Errors
    /// Returns a [`CommandError`] for empty, unknown or malformed commands.
    pub fn parse(text: &str) -> Result<Self, CommandError> {
        let mut words = text.split_whitespace();
        let Some(word) = words.next() else {
            return Err(CommandError::Empty);
        };
        let verb = word.to_ascii_lowercase();
        let rest: Vec<&str> = words.collect();
        if verb == "start" {
            return match rest.as_slice() {
                [] => Ok(Self::Start),
                [name] => Ok(Self::StartCeremony((*name).to_owned())),
                _ => Err(CommandError::OneName("start", "start sex-medicine")),
            };
        }
        if verb == "relight" {
            return match rest.as_slice() {
                [] => Ok(Self::Relight(None)),
                [name] => Ok(Self::Relight(Some((*name).to_owned()))),
                _ => Err(CommandError::OneName("relight", "relight altar")),
            };
        }
        let simple = match verb.as_str() {
            "next" | "skip" => Some(Self::Next),
            "prev" | "previous" | "back" => Some(Self::Prev),
            "pause" => Some(Self::Pause),
            "resume" | "continue" => Some(Self::Resume),
            "stop" => Some(Self::Stop),
            "louder" | "up" => Some(Self::Louder),
            "softer" | "down" => Some(Self::Softer),
            "goto" => None,
            _ => return Err(CommandError::Unknown(word.to_owned())),
        };
        match (simple, rest.as_slice()) {
            (Some(cmd), []) => Ok(cmd),
            (Some(_), _) => Err(CommandError::UnexpectedArgument(verb)),
            (None, [phase]) => Ok(Self::Goto((*phase).to_owned())),
            (None, []) => Err(CommandError::MissingPhase),
            (None, _) => Err(CommandError::OneName("goto", "goto soaking")),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Start => f.write_str("start"),
            Self::StartCeremony(name) => write!(f, "start {name}"),
            Self::Next => f.write_str("next"),
            Self::Prev => f.write_str("prev"),
            Self::Goto(phase) => write!(f, "goto {phase}"),
            Self::Pause => f.write_str("pause"),
            Self::Resume => f.write_str("resume"),
            Self::Stop => f.write_str("stop"),
            Self::Louder => f.write_str("louder"),
            Self::Softer => f.write_str("softer"),
            Self::Relight(None) => f.write_str("relight"),
            Self::Relight(Some(light)) => write!(f, "relight {light}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_words_case_insensitively_and_trimmed() {
        assert_eq!(Command::parse(" NEXT\n"), Ok(Command::Next));
        assert_eq!(
            Command::parse("Goto soaking"),
            Ok(Command::Goto("soaking".into()))
        );
        assert_eq!(Command::parse("previous"), Ok(Command::Prev));
        assert_eq!(
            Command::parse("START sex-medicine"),
            Ok(Command::StartCeremony("sex-medicine".into()))
        );
        assert_eq!(
            Command::StartCeremony("demo".into()).to_string(),
            "start demo"
        );
        assert_eq!(
            Command::parse("Relight altar"),
            Ok(Command::Relight(Some("altar".into())))
        );
        assert_eq!(
            Command::parse("relight a b"),
            Err(CommandError::OneName("relight", "relight altar"))
        );
        for word in Command::WORDS.iter().filter(|w| **w != "goto") {
            let cmd = Command::parse(word).expect("documented word");
            assert_eq!(cmd.to_string(), *word);
        }
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        assert_eq!(Command::parse("  "), Err(CommandError::Empty));
        assert_eq!(Command::parse("goto"), Err(CommandError::MissingPhase));
        assert!(matches!(
            Command::parse("dance"),
            Err(CommandError::Unknown(_))
        ));
        assert!(matches!(
            Command::parse("start a b"),
            Err(CommandError::OneName("start", _))
        ));
        assert!(matches!(
            Command::parse("next now"),
            Err(CommandError::UnexpectedArgument(_))
        ));
    }
}
