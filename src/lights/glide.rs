//! What one light shows between commands: the glide its last command started, and the
//! command the rate limit holds back, which keeps its planned speed when it finally goes out
//! from wherever the glide has got to by then. Pure: time is a parameter; it must not pace,
//! encode or publish.

use std::time::Duration;

use super::command::LightCommand;
use super::options::LightOptions;

/// Smallest span a held command's speed is reckoned over, in perceived lightness, so a
/// command that only changes colour still has a sensible speed if the light drifts meanwhile.
const MIN_SPAN: f32 = 0.02;

/// A device's glide from one level to another (perceived lightness).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Glide {
    at: Duration,
    from: f32,
    to: f32,
    len: Duration,
}

impl Glide {
    fn level_at(&self, t: Duration) -> f32 {
        if self.len.is_zero() || t >= self.at + self.len {
            return self.to;
        }
        let p = (t.saturating_sub(self.at).as_secs_f64() / self.len.as_secs_f64()) as f32;
        self.from + (self.to - self.from) * p
    }
}

/// A command waiting for the light's next free slot.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Held {
    cmd: LightCommand,
    /// When it was offered.
    at: Duration,
    /// Its speed as planned (perceived lightness per second), for a native transition.
    speed: Option<f32>,
}

/// The glide a light is in and the command held back for it. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Track {
    glide: Glide,
    held: Option<Held>,
}

impl Default for Track {
    fn default() -> Self {
        Self {
            glide: Glide {
                at: Duration::ZERO,
                from: 0.0,
                to: 0.0,
                len: Duration::ZERO,
            },
            held: None,
        }
    }
}

/// The perceived level a command leaves the light at.
fn level_of(cmd: &LightCommand, opts: &LightOptions) -> f32 {
    if cmd.on {
        opts.perceived_from_device(cmd.brightness)
    } else {
        0.0
    }
}

impl Track {
    /// When the glide of the last command sent ends.
    #[must_use]
    pub fn glide_ends(&self) -> Duration {
        self.glide.at + self.glide.len
    }

    /// The perceived level the device shows at `t` (the light's own reading of its glide).
    #[must_use]
    pub fn level_at(&self, t: Duration) -> f32 {
        self.glide.level_at(t)
    }

    /// Whether a command is held.
    #[must_use]
    pub fn is_holding(&self) -> bool {
        self.held.is_some()
    }

    /// Records `cmd`, offered at `now` and maybe held back by the rate, with the speed it
    /// would glide at from where the light is now.
    pub fn hold(&mut self, now: Duration, cmd: LightCommand, opts: &LightOptions) {
        let speed = cmd.transition.filter(|t| !t.is_zero()).map(|t| {
            let span = (level_of(&cmd, opts) - self.glide.level_at(now)).abs();
            span.max(MIN_SPAN) / t.as_secs_f32()
        });
        self.held = Some(Held {
            cmd,
            at: now,
            speed,
        });
    }

    /// The held command as it should go out at `now`: if the light kept gliding while the
    /// command waited and is now further from its level, the transition is stretched so the
    /// light still moves no faster than planned, but by no more than the wait, so it arrives
    /// no later than it would have if sent on time and then delayed (a finish still ends dark
    /// within the bus's shutdown), and never past the light's longest native fade. `None`
    /// when nothing is held or the command goes out as offered.
    pub fn release(&mut self, now: Duration, opts: &LightOptions) -> Option<LightCommand> {
        let held = self.held.as_mut()?;
        let speed = held.speed?;
        let planned = held.cmd.transition?;
        let span = (level_of(&held.cmd, opts) - self.glide.level_at(now)).abs();
        // The driver rounds a transition up to its resolution: stay within `latest` after it.
        let res = opts.caps.transition_resolution.as_micros().max(1);
        let latest = (planned + now.saturating_sub(held.at)).as_micros() / res * res;
        let latest = Duration::from_micros(u64::try_from(latest).unwrap_or(u64::MAX)).max(planned);
        let needed = Duration::from_secs_f32(span / speed)
            .min(latest)
            .min(opts.caps.max_native_fade);
        if needed <= planned {
            return None;
        }
        held.cmd.transition = Some(needed);
        Some(held.cmd)
    }

    /// The held command was dropped unsent (a new plan superseded it).
    pub fn drop_held(&mut self) {
        self.held = None;
    }

    /// The held command went out at `now`: the light glides from where it was to its level.
    /// Returns how long it was held.
    pub fn released(&mut self, now: Duration, opts: &LightOptions) -> Duration {
        match self.held.take() {
            Some(held) => {
                self.sent(now, &held.cmd, opts);
                now.saturating_sub(held.at)
            }
            None => Duration::ZERO,
        }
    }

    /// `cmd` went out at `now` outside the queue (a republish), superseding anything held.
    pub fn sent(&mut self, now: Duration, cmd: &LightCommand, opts: &LightOptions) {
        self.held = None;
        // The device glides for the transition as the driver sends it: rounded up to its
        // resolution.
        let res = opts.caps.transition_resolution.as_micros().max(1);
        let len = cmd.transition.unwrap_or_default().as_micros().div_ceil(res) * res;
        self.glide = Glide {
            at: now,
            from: self.glide.level_at(now),
            to: level_of(cmd, opts),
            len: Duration::from_micros(u64::try_from(len).unwrap_or(u64::MAX)),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lights::options::DriverKind;

    fn secs(s: f32) -> Duration {
        Duration::from_secs_f32(s)
    }

    fn to(level: f32, transition: f32, opts: &LightOptions) -> LightCommand {
        LightCommand {
            on: true,
            brightness: opts.device_from_perceived(level),
            color: None,
            transition: Some(secs(transition)),
        }
    }

    #[test]
    fn a_held_command_keeps_its_speed_from_where_the_glide_got_to() {
        // Issue 9: a light gliding up to 0.71 over 2 s was told, 1 ms later, to go to 0.08
        // over 0.8 s; the rate held that back a second, by when the light was at 0.49, and
        // the 0.8 s glide down from there was half again as fast as the scene asked.
        let opts = LightOptions::defaults(DriverKind::Wled);
        let mut track = Track::default();
        track.sent(secs(0.0), &to(0.27, 0.0, &opts), &opts);
        track.sent(secs(8.2), &to(0.71, 2.0, &opts), &opts);
        track.hold(secs(8.201), to(0.08, 0.8, &opts), &opts);
        let out = track.release(secs(9.2), &opts).expect("stretched");
        let t = out.transition.expect("a transition").as_secs_f32();
        let planned = (0.27 - 0.08) / 0.8;
        let shown = 0.27 + (0.71 - 0.27) * 0.5;
        let speed = (shown - 0.08) / t;
        assert!(speed <= planned * 1.02, "{speed} > {planned}");
        assert!(
            (speed - planned).abs() < 0.01,
            "no slower than needed: {speed}"
        );
        track.released(secs(9.2), &opts);
        // The glide lasts the transition as the driver sends it: rounded up to 0.1 s.
        let ends = track.glide_ends().as_secs_f32() - 9.2;
        assert!(ends >= t - 1e-4 && ends <= t + 0.1 + 1e-4, "{ends} for {t}");
    }

    #[test]
    fn a_command_that_went_out_at_once_is_left_alone() {
        let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
        let mut track = Track::default();
        track.sent(secs(0.0), &to(0.5, 0.0, &opts), &opts);
        track.hold(secs(3.0), to(0.2, 2.0, &opts), &opts);
        assert_eq!(track.release(secs(3.0), &opts), None);
        // Moving towards the target while it waited only makes the move shorter.
        track.sent(secs(3.0), &to(0.1, 1.0, &opts), &opts);
        track.hold(secs(3.1), to(0.2, 2.0, &opts), &opts);
        assert_eq!(track.release(secs(3.9), &opts), None);
        assert!(track.is_holding());
    }
}
