//! Pause and resume of the light controller: a pause freezes every light where its device
//! is when the freeze can go out (level and colour; the device may lag the plan), and resume
//! drops a freeze the rate still holds back, takes each fade up again from where the device
//! is, never faster than the fade, and restarts effects.

use std::time::Duration;

use super::{Activity, FadeRun, LightController, drivers, resting_command};
use crate::lights::effects::EffectRun;
use crate::lights::plan::{LightState, plan_remaining};

impl LightController {
    /// Freezes every light where it is (sent with no transition) and
    /// stops the clock of every fade, keeping what remains of it; effects hold their base
    /// level. The freeze commands come out of [`LightController::poll`].
    pub fn pause(&mut self, now: Duration) {
        if self.paused {
            return;
        }
        for i in 0..self.lights.len() {
            // The freeze goes out at the light's next free slot, maybe a second away: by
            // then the device has glided on, and a freeze at its level of now would snap it
            // back.
            let sent_at = now.max(self.pacer.free_at(&i));
            // Its colour glides on too: freeze it at the plan's colour of that slot, which the
            // device's last command was heading for (the colour of the pause's moment would
            // turn it back at once).
            let color = self.state_of(i, sent_at).color;
            let light = &mut self.lights[i];
            // Frozen where the device is, which may lag the plan when its message rate held a
            // command back: a freeze at the plan's level would snap it there.
            let shown = LightState {
                level: light.track.level_at(sent_at),
                color,
            };
            let lag = light.track.glide_ends().saturating_sub(sent_at);
            let mut entry = None;
            let freeze = match &mut light.activity {
                Activity::Idle => None,
                Activity::Fading(run) => {
                    run.skip = run.elapsed(now);
                    run.schedule.clear();
                    run.next = 0;
                    run.lag = lag;
                    Some(shown)
                }
                Activity::Effect(run) => {
                    // An effect still blending in is paused as the fade it rides on, so
                    // resume blends it in again over what is left.
                    if let Some((fade, skip)) = run.entry_at(now) {
                        let mut rest = FadeRun::new(fade, now, &light.spec.options, true);
                        rest.skip = skip;
                        rest.lag = lag;
                        entry = Some(rest);
                    }
                    Some(shown)
                }
            };
            if let Some(rest) = entry {
                light.activity = Activity::Fading(rest);
            }
            if let Some(state) = freeze {
                let cmd = resting_command(state, &light.spec.options);
                let batch = drivers::encode(&light.spec.address, &light.spec.options, &cmd);
                light.track.hold(now, cmd, &light.spec.options);
                self.pacer.offer(now, i, batch);
            }
        }
        self.paused = true;
    }

    /// Continues every paused fade from where it stopped, with the rest of its curve and its
    /// remaining time (an effect blending in blends in again over that rest), and restarts
    /// effects. A freeze still waiting for the light's rate is dropped unsent.
    pub fn resume(&mut self, now: Duration) {
        if !self.paused {
            return;
        }
        self.paused = false;
        for i in 0..self.lights.len() {
            let seed = self.effect_seed(i);
            let light = &mut self.lights[i];
            // A freeze the message rate still holds back never goes out: the device glides
            // on as it was told, and what follows takes up from there (sent after the
            // resume, it would snap the light to where the pause reckoned it would be, in the
            // colour of the pause's moment).
            if self.pacer.is_waiting(&i) && light.track.is_holding() {
                self.pacer.cancel(&i);
                light.track.drop_held();
            }
            match &mut light.activity {
                Activity::Idle => {}
                Activity::Fading(run) => {
                    // The device may lag the plan (its message rate held a command back, or
                    // an effect waited for its glide): it goes on from where it froze, over
                    // what was left of the fade, of its own glide, or longer if it has
                    // further to go than the plan had, never faster than the fade.
                    let device = light.track.level_at(now);
                    let planned = run.fade.state_at(run.skip).level;
                    if run.lag > run.fade.duration.saturating_sub(run.skip)
                        || (device - planned).abs() > 0.01
                    {
                        run.fade = run.fade.rest_from(run.skip, device, run.lag);
                        run.skip = Duration::ZERO;
                    }
                    let blend = if run.then.is_none() && light.spec.options.fades_natively() {
                        EffectRun::blend_in(
                            light.target.effect,
                            run.fade,
                            run.skip,
                            now,
                            seed,
                            &light.spec.options,
                        )
                    } else {
                        None
                    };
                    if let Some(effect) = blend {
                        light.effects_started += 1;
                        light.activity = Activity::Effect(effect);
                    } else {
                        run.schedule = plan_remaining(&run.fade, run.skip, &light.spec.options);
                        run.origin = now;
                        run.next = 0;
                    }
                }
                Activity::Effect(run) => {
                    let base = run.base();
                    match EffectRun::new(light.target.effect, base, now, seed, &light.spec.options)
                    {
                        Some(run) => light.activity = Activity::Effect(run),
                        None => {
                            light.state = base;
                            light.activity = Activity::Idle;
                        }
                    }
                    light.effects_started += 1;
                }
            }
        }
    }
}
