//! Runs a ceremony on the real clock: sleeps until the engine's next deadline, feeds it
//! commands and signals, and hands every event to the outputs. The engine decides; this loop
//! only waits and delivers.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::clock::Clock;
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

/// Runs `timeline` until it ends or a second signal arrives.
///
/// The first signal (Ctrl-C, SIGTERM) starts a gentle stop; a second one quits at once.
pub async fn run(
    timeline: &mut Timeline,
    clock: Clock,
    mut requests: mpsc::Receiver<Request>,
    mut signals: mpsc::Receiver<()>,
    outputs: &mut [&mut dyn Output],
    feedback: &mut dyn Feedback,
) {
    let mut events = Vec::new();
    let start = Request {
        command: Command::Start,
        source: "run".to_owned(),
    };
    if let Err(why) = timeline.command(clock.now(), &start.command, &mut events) {
        feedback.ignored(clock.now(), &start, &timeline.explain(why));
    }
    let mut requests_open = true;
    let mut signalled = false;
    loop {
        deliver(&mut events, timeline, outputs);
        if timeline.is_ended() {
            break;
        }
        let wake = timeline.next_deadline().map(|d| clock.instant_at(d));
        tokio::select! {
            () = sleep_until(wake) => timeline.advance(clock.now(), &mut events),
            got = requests.recv(), if requests_open => match got {
                Some(request) => {
                    if let Err(why) = timeline.command(clock.now(), &request.command, &mut events) {
                        feedback.ignored(clock.now(), &request, &timeline.explain(why));
                    }
                }
                None => requests_open = false,
            },
            _ = signals.recv() => {
                if signalled {
                    break;
                }
                signalled = true;
                let stop = Request { command: Command::Stop, source: "signal".to_owned() };
                if timeline.command(clock.now(), &stop.command, &mut events).is_err() {
                    break;
                }
            }
        }
    }
    deliver(&mut events, timeline, outputs);
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

async fn sleep_until(wake: Option<tokio::time::Instant>) {
    match wake {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
