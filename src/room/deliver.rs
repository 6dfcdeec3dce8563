//! Delivering what the engine decided: each pending event to the journal, the terminal, the
//! sound and the lights, a save when the position changed, and the end of a finished
//! ceremony (the room ends with it, or goes back to idle). It decides nothing itself.

use super::{Plan, Room};
use crate::console;
use crate::journal::By;
use crate::printer::describe;
use crate::run::Output;
use crate::timeline::Action;

impl Room {
    /// Delivers pending events, ends a finished ceremony, and saves if due.
    pub(super) fn flush(&mut self) {
        let events = std::mem::take(&mut self.events);
        if let Some(r) = &mut self.engine {
            for event in &events {
                if let Action::PhaseStarted { index, .. } = event.action {
                    r.last_phase = Some(index);
                }
                if let Some(record) = &mut self.record {
                    let by = By::of(self.pending.as_deref().unwrap_or("run"));
                    let at = self.clock.wall_at(event.at);
                    match &event.action {
                        Action::PhaseStarted { title, trigger, .. } => {
                            let by = if *trigger == crate::timeline::Trigger::Auto {
                                By::Timer
                            } else {
                                by
                            };
                            record.phase(at, title, *trigger, by);
                        }
                        Action::Paused => record.paused(at, by),
                        Action::Resumed => record.resumed(at),
                        Action::Master { gain, fade } if !fade.is_zero() => {
                            record.change(at, &format!("volume to {gain}"), by);
                        }
                        Action::Stopping { .. } => self.stop_by = by,
                        Action::Ended(kind) => record.ended(at, *kind, self.stop_by),
                        _ => {}
                    }
                }
                if matches!(
                    event.action,
                    Action::PhaseStarted { .. }
                        | Action::Paused
                        | Action::Resumed
                        | Action::Master { .. }
                        | Action::Stopping { .. }
                        | Action::Finishing { .. }
                ) {
                    self.save_due = true;
                }
                console::say(&describe(event, r.timeline.ceremony(), r.timeline.rig()));
                if let Some(sound) = &mut self.sound {
                    sound.apply(event, &r.timeline);
                }
                if let Some(mqtt) = &mut self.mqtt {
                    mqtt.apply(event, &r.timeline);
                }
            }
        }
        if self.save_due {
            self.save();
        }
        self.refresh_feed();
        self.pending = None;
        if self.engine.as_ref().is_some_and(|r| r.timeline.is_ended()) {
            self.engine = None;
            self.write_journal();
            if self.signalled || self.plan != Plan::Daemon {
                // The room ends too: its last state (`stopped`, `finished`) stays retained
                // beside `offline`.
                self.done = true;
            } else {
                let now = self.clock.now();
                if let Some(mqtt) = &mut self.mqtt {
                    mqtt.refresh_state(None, now);
                }
                self.refresh_discovery();
                self.refresh_feed();
                self.say("idle: waiting for `start <ceremony>`");
                self.notifier.status("idle");
            }
        }
    }
}
