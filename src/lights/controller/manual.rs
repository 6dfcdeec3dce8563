//! What a person does to a light by hand, beside the ceremony: `sanctum lights test`'s short
//! fade there and back, and handing a light back to the ceremony after something else moved
//! it (`lights test --force`, a hand on the switch). Like the rest of the controller it is
//! pure: time is a parameter.

use std::time::Duration;

use super::{Activity, ControllerError, FadeRun, LightController, Queued, RELIGHT_FROM, drivers};
use crate::lights::command::LightCommand;
use crate::lights::plan::{Fade, LightState, command_for};
use crate::lights::target::{Effect, LightTarget};
use crate::tween::Curve;

impl LightController {
    /// A short visible fade on light `index` for `sanctum lights test`: 3 s towards a clearly
    /// different level (80 % from a dim light, 20 % from a bright one), then 3 s back to where
    /// it was, effect included.
    ///
    /// # Errors
    /// [`ControllerError::NoSuchLight`] for an index outside the rig.
    pub fn test_fade(&mut self, now: Duration, index: usize) -> Result<(), ControllerError> {
        self.check(index)?;
        let was = self.state_of(index, now);
        let back = LightTarget {
            level: was.level,
            color: was.color,
            effect: self.lights[index].target.effect,
        };
        let there = LightTarget {
            level: if was.level < 0.5 { 0.8 } else { 0.2 },
            color: was.color,
            effect: Effect::None,
        };
        let leg = Duration::from_secs(3);
        self.apply(now, index, there, leg, Curve::SCurve)?;
        if let Activity::Fading(run) = &mut self.lights[index].activity {
            run.then = Some(Queued {
                target: back,
                duration: leg,
                curve: Curve::SCurve,
            });
        }
        self.lights[index].target = back;
        Ok(())
    }

    /// Hands light `index` back to what the ceremony has it doing at `now`, after something
    /// else moved it (`sanctum lights test --force`, a hand on the switch): the light glides
    /// from wherever it is to the ceremony's level over at least `fade`; a running fade or
    /// effect goes on. A light the ceremony has dark fades out over `fade` from where
    /// `lights test` leaves it, then gets an explicit OFF.
    ///
    /// # Errors
    /// [`ControllerError::NoSuchLight`] for an index outside the rig.
    pub fn relight(
        &mut self,
        now: Duration,
        index: usize,
        fade: Duration,
    ) -> Result<(), ControllerError> {
        self.check(index)?;
        let state = self.state_of(index, now);
        let paused = self.paused;
        let light = &mut self.lights[index];
        let opts = &light.spec.options;
        let stretch = |cmd: LightCommand| LightCommand {
            transition: cmd.transition.max(Some(fade)),
            ..cmd
        };
        let cmd = match &light.activity {
            _ if state.level <= 0.0 => {
                // Dark in the ceremony: out over `fade`, then OFF, as any fade to black.
                let out = Fade {
                    from: LightState {
                        level: RELIGHT_FROM,
                        color: state.color,
                    },
                    to: LightTarget {
                        level: 0.0,
                        color: state.color,
                        effect: Effect::None,
                    },
                    duration: fade,
                    curve: Curve::Linear,
                };
                let mut run = FadeRun::new(out, now, opts, paused);
                run.then = match &light.activity {
                    Activity::Fading(r) => r.then,
                    _ => None,
                };
                light.activity = Activity::Fading(run);
                light.commanded = true;
                return Ok(());
            }
            Activity::Fading(run) if !paused => run
                .command_at(now)
                .map_or_else(|| command_for(state, Some(fade), opts), stretch),
            _ => command_for(state, Some(fade), opts),
        };
        let batch = drivers::encode(&light.spec.address, opts, &cmd);
        light.track.hold(now, cmd, opts);
        self.pacer.offer(now, index, batch);
        light.commanded = true;
        Ok(())
    }

    /// Hands every light the ceremony commands back to its current state, as [`Self::relight`]
    /// does for one (the `relight` command without a light).
    ///
    /// # Errors
    /// As [`Self::relight`].
    pub fn relight_all(&mut self, now: Duration, fade: Duration) -> Result<(), ControllerError> {
        let owned: Vec<usize> = (0..self.len()).filter(|i| self.is_commanded(*i)).collect();
        owned
            .into_iter()
            .try_for_each(|i| self.relight(now, i, fade))
    }
}
