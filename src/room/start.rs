//! Bringing a ceremony into the room: resuming a saved position (or saying why not),
//! starting `run`'s ceremony or the one a `start` names, and taking it up (its journal, its
//! saved position, Home Assistant's phase select). It does not run the ceremony; the room's
//! loop and the engine do.

use std::sync::Arc;
use std::time::Duration;

use super::{Plan, Room, Running, list};
use crate::command::Command;
use crate::journal::Record;
use crate::library::Entry;
use crate::position::Decision;
use crate::run::Request;
use crate::timeline::{Action, Event, Timeline};
use crate::units::format_duration;

impl Room {
    /// Resumes a saved position, or starts `run`'s ceremony, or waits.
    pub(super) fn begin(&mut self) {
        if self.sound_retry.is_some() {
            self.error_event(
                "no sound output: the ceremony runs without sound until the default device opens (see `sanctum devices`, or --output)",
            );
        }
        let decision = self
            .persistence
            .as_ref()
            .map_or(Decision::Idle, |p| p.decision.clone());
        let wanted = match &self.plan {
            Plan::Once { ceremony, from } => Some((ceremony.clone(), from.clone())),
            Plan::Daemon => None,
        };
        if let Decision::Refused(why) = &decision {
            tracing::warn!("not resuming: {why}");
            self.error_event(&format!("not resuming: {why}"));
        }
        if let Decision::Resume {
            ceremony,
            place,
            downtime,
            note,
        } = decision
        {
            let fits = wanted
                .as_ref()
                .is_none_or(|(id, from)| *id == ceremony && from.is_none());
            if fits && self.resume(&ceremony, &place, downtime, note.as_deref()) {
                return;
            }
        }
        if let Some((id, from)) = wanted {
            let request = Request {
                command: Command::StartCeremony(id),
                source: "run".to_owned(),
            };
            self.start(&request, from.as_deref());
        } else {
            self.say("idle: waiting for `start <ceremony>`");
        }
    }

    fn resume(
        &mut self,
        id: &str,
        place: &crate::timeline::Place,
        downtime: Duration,
        note: Option<&str>,
    ) -> bool {
        let Some(entry) = self.library.get(id).cloned() else {
            return false;
        };
        let now = self.clock.now();
        let mut timeline =
            Timeline::new(Arc::clone(&entry.ceremony), Arc::clone(&self.library.rig));
        // The debounce window is about fingers: real time, however fast a rehearsal runs.
        timeline.set_speed(self.clock.speed());
        match timeline.resume(now, place, &mut self.events) {
            Ok(()) => {
                let phase = timeline
                    .status(now)
                    .phase
                    .map_or("?", |i| entry.ceremony.phases[i].id.as_str());
                let line = format!(
                    "resuming `{id}` at phase `{phase}` after {} away{}",
                    format_duration(Duration::from_secs(downtime.as_secs())),
                    note.map(|n| format!(" ({n})")).unwrap_or_default()
                );
                tracing::info!("{line}");
                self.event(state_line("resumed", &line));
                self.take_up(entry, timeline, now);
                true
            }
            Err(why) => {
                tracing::warn!("not resuming `{id}`: {why}");
                self.error_event(&format!("not resuming `{id}`: {why}"));
                self.save_ended(id, &entry.hash);
                false
            }
        }
    }

    /// Starts the ceremony a `start` names (or the only one, or `run`'s).
    pub(super) fn start(&mut self, request: &Request, from: Option<&str>) {
        if let Some(r) = &self.engine {
            let why = format!("`{}` is running; stop it first", r.entry.id);
            self.ignored(request, &why);
            return;
        }
        let id = match (&request.command, &self.plan) {
            (Command::StartCeremony(id), _) => Some(id.clone()),
            (_, Plan::Once { ceremony, .. }) => Some(ceremony.clone()),
            _ if self.library.entries().len() == 1 => Some(self.library.entries()[0].id.clone()),
            _ => None,
        };
        let Some(entry) = id.as_deref().and_then(|id| self.library.get(id)).cloned() else {
            let ids = self.library.ids();
            let why = match id {
                Some(id) => format!("no ceremony `{id}` in the library; it has {}", list(&ids)),
                None => format!("start which ceremony? the library has {}", list(&ids)),
            };
            self.ignored(request, &why);
            return;
        };
        let now = self.clock.now();
        let mut timeline =
            Timeline::new(Arc::clone(&entry.ceremony), Arc::clone(&self.library.rig));
        // The debounce window is about fingers: real time, however fast a rehearsal runs.
        timeline.set_speed(self.clock.speed());
        if let Some(from) = from
            && timeline.start_from(from).is_err()
        {
            self.ignored(request, &format!("no phase `{from}`"));
            return;
        }
        // The mixer may still hold the last ceremony's volume; reset it while all is silent.
        self.events.push(Event {
            at: now,
            action: Action::Master {
                gain: timeline.status(now).volume,
                fade: Duration::ZERO,
            },
        });
        tracing::info!("starting `{}` ({})", entry.id, request.source);
        if let Err(why) = timeline.command(now, &Command::Start, &mut self.events) {
            self.ignored(request, &why.to_string());
            return;
        }
        self.pending = Some(request.source.clone());
        self.take_up(entry, timeline, now);
    }

    /// Makes `timeline` (just started or resumed at `now`) the room's ceremony: its journal
    /// begins, its position is saved, Home Assistant's phase select follows it.
    fn take_up(&mut self, entry: Entry, timeline: Timeline, now: Duration) {
        self.record = Some(Record::new(
            &entry.id,
            &entry.ceremony.title,
            self.clock.wall_at(now),
        ));
        self.engine = Some(Running::new(entry, timeline));
        self.save_due = true;
        self.refresh_discovery();
    }
}

fn state_line(event: &str, text: &str) -> String {
    serde_json::json!({"event": event, "text": text}).to_string()
}
