//! What running a ceremony is made of, shared by the room ([`crate::room`]) and `render`:
//! an [`Output`] acts on engine events, a [`Request`] is a command and who sent it, and
//! `deliver` hands events to outputs in order.

use std::time::Duration;

use crate::command::Command;
use crate::timeline::{Event, Timeline};

/// Something that acts on the engine's events: the terminal printer, the mixer, the lights.
pub trait Output {
    /// Handles one event. Must not block for long: the run loop waits on it.
    fn apply(&mut self, event: &Event, timeline: &Timeline);
}

/// A command and who sent it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The command.
    pub command: Command,
    /// Who sent it (`terminal`, `mqtt`, a remote's name…), for the log.
    pub source: String,
}

/// Notes about commands the engine ignored, for the terminal.
pub trait Feedback {
    /// A command changed nothing.
    fn ignored(&mut self, at: Duration, request: &Request, why: &str);
}

/// Hands each of `events` to every output, in order, emptying the list.
pub(crate) fn deliver(
    events: &mut Vec<Event>,
    timeline: &Timeline,
    outputs: &mut [&mut dyn Output],
) {
    for event in events.drain(..) {
        for output in outputs.iter_mut() {
            output.apply(&event, timeline);
        }
    }
}
