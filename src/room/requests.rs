//! What people and signals ask of the running room: a command for the ceremony (or `relight`,
//! which goes to the light bus), and SIGHUP (reload), SIGTERM or Ctrl-C (a gentle stop; a
//! second one quits at once). The engine decides what a command does; this only hands it
//! over and says why one was ignored.

use super::{Plan, Room, list};
use crate::command::Command;
use crate::mqtt::bus::BusMsg;
use crate::run::Request;
use crate::shutdown::Signal;
use crate::units::format_duration;

impl Room {
    pub(super) fn request(&mut self, request: &Request) {
        let now = self.clock.now();
        self.pending = Some(request.source.clone());
        if matches!(request.command, Command::Start | Command::StartCeremony(_)) {
            self.start(request, None);
            return;
        }
        let Some(running) = &mut self.engine else {
            self.ignored(
                request,
                "no ceremony is running; start one with `start <ceremony>`",
            );
            return;
        };
        if let Command::Relight(name) = &request.command {
            let fade = running.timeline.ceremony().transition;
            let lights = &running.timeline.rig().lights;
            let index = match name {
                None => None,
                Some(name) => match lights
                    .iter()
                    .position(|l| l.name.eq_ignore_ascii_case(name))
                {
                    Some(i) => Some(i),
                    None => {
                        let names: Vec<String> = lights.iter().map(|l| l.name.clone()).collect();
                        let why = format!("no light `{name}` in the rig; it has {}", list(&names));
                        self.ignored(request, &why);
                        return;
                    }
                },
            };
            match &self.bus {
                Some(bus) => {
                    bus.handle().send(BusMsg::Relight { index, fade });
                    self.say(&format!(
                        "{}  · {} (from {}): back to the ceremony's light over {}",
                        crate::units::format_clock(now),
                        request.command,
                        request.source,
                        format_duration(fade)
                    ));
                }
                None => self.ignored(request, "this room has no broker, so no lights"),
            }
            return;
        }
        match running
            .timeline
            .command(now, &request.command, &mut self.events)
        {
            Ok(()) => self.save_due = true,
            Err(why) => {
                let why = running.timeline.explain(why);
                self.ignored(request, &why);
            }
        }
    }

    /// Returns whether the room must quit at once.
    pub(super) fn signal(&mut self, signal: Signal) -> bool {
        if signal == Signal::HangUp && self.plan == Plan::Daemon {
            tracing::info!("SIGHUP: reloading the library and the rig");
            self.reload(&[]);
            return false;
        }
        if self.signalled {
            return true;
        }
        self.signalled = true;
        let now = self.clock.now();
        let Some(running) = &mut self.engine else {
            self.done = true;
            return false;
        };
        let stop = Command::Stop;
        if running
            .timeline
            .command(now, &stop, &mut self.events)
            .is_ok()
        {
            self.save_due = true;
        }
        false
    }
}
