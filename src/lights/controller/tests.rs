//! Tests of [`super`]: the controller driven on virtual time and read back through the drivers' payloads.

use super::*;
use crate::lights::LightColor;
use crate::lights::options::DriverKind;
use crate::lights::target::Effect;
use serde_json::Value;

fn us(v: u64) -> Duration {
    Duration::from_micros(v)
}
fn secs(v: u64) -> Duration {
    Duration::from_secs(v)
}

fn z2m(names: &[&str]) -> LightController {
    let lights = names
        .iter()
        .map(|n| LightSpec {
            address: (*n).to_owned(),
            options: LightOptions::defaults(DriverKind::Zigbee2Mqtt),
        })
        .collect();
    LightController::new(lights, 42)
}

fn json(p: &Publish) -> Value {
    serde_json::from_str(&p.payload).expect("json payload")
}

fn brightness(p: &Publish) -> Option<u64> {
    json(p)["brightness"].as_u64()
}

/// Runs the controller event by event (at each `next_deadline`) until `end`.
fn run(c: &mut LightController, from: Duration, end: Duration) -> Vec<(Duration, Publish)> {
    let mut out = Vec::new();
    let mut now = from;
    loop {
        for p in c.poll(now) {
            out.push((now, p));
        }
        match c.next_deadline() {
            Some(t) if t <= end => now = t.max(now + us(1)),
            _ => return out,
        }
    }
}

fn warm(level: f32) -> LightTarget {
    LightTarget {
        level,
        color: Some(LightColor::Kelvin(2200)),
        effect: Effect::None,
    }
}

#[test]
fn a_ten_minute_fade_goes_out_as_a_few_segments() {
    let mut c = z2m(&["altar"]);
    c.apply(us(0), 0, warm(0.3), secs(600), Curve::SCurve)
        .expect("light 0");
    let out = run(&mut c, us(0), secs(3600));
    assert!((8..=12).contains(&out.len()), "{}", out.len());
    assert!(out.windows(2).all(|w| w[1].0 - w[0].0 >= secs(5)));
    let b: Vec<u64> = out.iter().filter_map(|(_, p)| brightness(p)).collect();
    assert!(b.windows(2).all(|w| w[1] >= w[0]), "{b:?}");
    let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
    let want = drivers::scale(
        opts.curve.device_from_perceived(0.3, opts.min_level),
        254,
        true,
    );
    assert_eq!(*b.last().expect("published"), u64::from(want));
    assert!(
        out.iter()
            .all(|(_, p)| p.topic == "zigbee2mqtt/altar/set" && !p.retain)
    );
    assert_eq!(c.next_deadline(), None, "idle after the fade");
}

#[test]
fn pause_freezes_at_the_current_level_and_resume_finishes_the_rest() {
    let mut c = z2m(&["altar"]);
    let from_full = LightTarget::level(1.0);
    c.apply(us(0), 0, from_full, Duration::ZERO, Curve::Linear)
        .expect("light 0");
    run(&mut c, us(0), secs(1));
    c.apply(
        secs(10),
        0,
        LightTarget::level(0.2),
        secs(600),
        Curve::Linear,
    )
    .expect("light 0");
    let before = run(&mut c, secs(10), secs(310));
    assert!(!before.is_empty());
    // Half way: perceived 0.6. A segment just went out at 310 s, so the freeze waits
    // for the light's 1 s message spacing.
    c.pause(secs(310));
    assert!(c.poll(secs(310)).is_empty());
    assert_eq!(c.next_deadline(), Some(secs(311)));
    let frozen = c.poll(secs(311));
    assert_eq!(frozen.len(), 1);
    let v = json(&frozen[0]);
    assert_eq!(v["transition"].as_f64(), Some(0.0));
    let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
    let want = drivers::scale(
        opts.curve.device_from_perceived(0.6, opts.min_level),
        254,
        true,
    );
    assert_eq!(v["brightness"].as_u64(), Some(u64::from(want)));
    // Paused: nothing for a long while, and no deadline.
    assert_eq!(c.next_deadline(), None);
    assert!(c.poll(secs(900)).is_empty());
    assert!((c.state(secs(900), 0).expect("light").level - 0.6).abs() < 1e-6);
    // Resume at 15 min: the remaining 5 min run and end exactly at the target.
    c.resume(secs(900));
    let after = run(&mut c, secs(900), secs(3600));
    let (t_last, last) = after.last().expect("resumed");
    let end = json(last);
    assert_eq!(
        end["transition"]
            .as_f64()
            .map(|t| *t_last + Duration::from_secs_f64(t)),
        Some(secs(1200))
    );
    let want = drivers::scale(
        opts.curve.device_from_perceived(0.2, opts.min_level),
        254,
        true,
    );
    assert_eq!(end["brightness"].as_u64(), Some(u64::from(want)));
    assert!(after.len() >= 4 && after.len() <= 7, "{}", after.len());
}

#[test]
fn a_late_poll_sends_only_the_running_segment_with_what_is_left() {
    let mut c = z2m(&["altar"]);
    c.apply(us(0), 0, warm(0.5), secs(600), Curve::Linear)
        .expect("light 0");
    assert_eq!(c.poll(us(0)).len(), 1);
    // The bus was stuck for 7.5 minutes: one message, not seven.
    let late = c.poll(secs(450));
    assert_eq!(late.len(), 1);
    let t = json(&late[0])["transition"].as_f64().expect("transition");
    assert!(t > 0.0 && t <= 60.0, "{t}");
    // It heads for the end of the segment running at 7.5 min, i.e. 8 min.
    let want = c.state(secs(480), 0).expect("light");
    let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
    let b = drivers::scale(
        opts.curve.device_from_perceived(want.level, opts.min_level),
        254,
        true,
    );
    assert_eq!(brightness(&late[0]), Some(u64::from(b)));
    assert!((t - 30.0).abs() < 1e-9);
}

#[test]
fn reconnect_republishes_current_targets_not_stale_steps() {
    let mut c = z2m(&["altar", "floor", "never"]);
    c.apply(us(0), 0, warm(0.5), secs(600), Curve::Linear)
        .expect("light 0");
    c.apply(
        us(0),
        1,
        LightTarget::level(0.7),
        Duration::ZERO,
        Curve::Linear,
    )
    .expect("light 1");
    run(&mut c, us(0), secs(125));
    let now = secs(125);
    let again = c.current_commands(now);
    assert_eq!(again.len(), 2, "the untouched light is left alone");
    let fading = json(&again[0]);
    assert_eq!(fading["transition"].as_f64(), Some(55.0));
    assert_eq!(again[1].topic, "zigbee2mqtt/floor/set");
    assert_eq!(json(&again[1])["transition"].as_f64(), Some(0.0));
    // Nothing doubles up right after.
    assert!(c.poll(now).is_empty());
}

#[test]
fn a_fade_to_black_ends_with_an_explicit_off() {
    let mut c = z2m(&["altar"]);
    c.apply(
        us(0),
        0,
        LightTarget::level(0.6),
        Duration::ZERO,
        Curve::Linear,
    )
    .expect("light 0");
    c.poll(us(0));
    c.apply(secs(5), 0, LightTarget::off(), secs(30), Curve::SCurve)
        .expect("light 0");
    let out = run(&mut c, secs(5), secs(100));
    let (t, last) = out.last().expect("published");
    assert_eq!(*t, secs(35));
    assert_eq!(last.payload, r#"{"state":"OFF"}"#);
    assert_eq!(
        brightness(&out[out.len() - 2].1),
        Some(1),
        "min level before off"
    );
    assert_eq!(c.state(secs(100), 0).expect("light").level, 0.0);
}

#[test]
fn applies_faster_than_the_rate_keep_only_the_newest() {
    let mut c = z2m(&["altar"]);
    c.apply(
        us(0),
        0,
        LightTarget::level(0.2),
        Duration::ZERO,
        Curve::Linear,
    )
    .expect("light 0");
    assert_eq!(c.poll(us(0)).len(), 1);
    for (i, level) in [0.3, 0.4, 0.5].into_iter().enumerate() {
        let now = us(200_000 * (i as u64 + 1));
        c.apply(
            now,
            0,
            LightTarget::level(level),
            Duration::ZERO,
            Curve::Linear,
        )
        .expect("light 0");
        assert!(c.poll(now).is_empty(), "inside the 1 s window");
    }
    assert_eq!(c.next_deadline(), Some(secs(1)));
    let out = c.poll(secs(1));
    assert_eq!(out.len(), 1);
    let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
    let b = drivers::scale(
        opts.curve.device_from_perceived(0.5, opts.min_level),
        254,
        true,
    );
    assert_eq!(brightness(&out[0]), Some(u64::from(b)));
}

#[test]
fn candles_blend_in_during_the_fade_and_keep_every_bulb_within_rate() {
    let names: Vec<String> = (0..10).map(|i| format!("bulb{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut c = z2m(&refs);
    let candle = LightTarget {
        level: 0.35,
        color: Some(LightColor::Kelvin(2200)),
        effect: Effect::Candle {
            depth: 0.2,
            interval: secs(2),
        },
    };
    for i in 0..10 {
        c.apply(us(0), i, candle, secs(20), Curve::SCurve)
            .expect("light");
    }
    let out = run(&mut c, us(0), secs(80));
    for name in &names {
        let topic = format!("zigbee2mqtt/{name}/set");
        let times: Vec<Duration> = out
            .iter()
            .filter(|(_, p)| p.topic == topic)
            .map(|(t, _)| *t)
            .collect();
        assert!(times.windows(2).all(|w| w[1] - w[0] >= secs(1)), "{name}");
        let flickers = times.iter().filter(|t| **t > secs(20)).count();
        assert!((10..=61).contains(&flickers), "{name}: {flickers}");
        // The flame is already moving while it is being lit.
        let lighting = times.iter().filter(|t| **t < secs(20)).count();
        assert!(lighting >= 4, "{name}: {lighting} moves during the fade");
    }
    let total = out.iter().filter(|(t, _)| *t > secs(20)).count();
    println!(
        "10 candle bulbs, 60 s: {total} messages ({:.2}/s per bulb)",
        total as f64 / 600.0
    );
}

#[test]
fn a_pause_while_an_effect_blends_in_freezes_it_and_resume_blends_in_the_rest() {
    let mut c = z2m(&["altar"]);
    let candle = LightTarget {
        level: 0.4,
        color: None,
        effect: Effect::Candle {
            depth: 0.2,
            interval: secs(2),
        },
    };
    c.apply(us(0), 0, candle, secs(20), Curve::Linear)
        .expect("light");
    let before = run(&mut c, us(0), secs(8));
    assert!(before.len() >= 3, "{}", before.len());
    let centre = c.state(secs(8), 0).expect("light").level;
    assert!(
        (centre - 0.16).abs() < 0.01,
        "half-way up a linear fade: {centre}"
    );
    c.pause(secs(8));
    let frozen = run(&mut c, secs(8), secs(30));
    assert_eq!(frozen.len(), 1, "only the freeze while paused");
    assert_eq!(c.state(secs(29), 0).expect("light").level, centre);
    c.resume(secs(30));
    let after = run(&mut c, secs(30), secs(60));
    // Resumed with the rest of the fade (12 s), still blending in: the first point is
    // near where the fade stood, the flicker reaches the top only after the rest.
    let levels: Vec<(Duration, f32)> = after
        .iter()
        .filter_map(|(t, p)| brightness(p).map(|b| (*t, b as f32 / 254.0)))
        .collect();
    let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
    let seen = |b: f32| opts.curve.perceived_from_device(b, opts.min_level);
    let first = seen(levels[0].1);
    assert!(
        (first - centre).abs() < 0.1,
        "resumed at {first}, fade stood at {centre}"
    );
    assert!(
        levels.iter().any(|(t, _)| *t < secs(42)),
        "moves during the rest"
    );
    assert_eq!(c.state(secs(45), 0).expect("light").level, 0.4);
}

#[test]
fn relight_glides_back_to_the_ceremony_and_lets_its_fade_go_on() {
    // Issue 9, item 5: after `lights test --force`, the light goes back to the ceremony's
    // current state at once, gently.
    let mut c = z2m(&["altar", "lamp", "spare"]);
    let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
    let device = |level: f32| {
        u64::from(drivers::scale(
            opts.curve.device_from_perceived(level, opts.min_level),
            254,
            true,
        ))
    };
    c.apply(us(0), 0, LightTarget::level(0.3), secs(60), Curve::Linear)
        .expect("altar");
    c.apply(us(0), 1, LightTarget::off(), Duration::ZERO, Curve::Linear)
        .expect("lamp");
    run(&mut c, us(0), secs(20));
    assert!(!c.is_commanded(2), "the ceremony never touched the spare");
    // Altar, mid-fade: glides to where its running segment heads, over at least 4 s.
    c.relight(secs(20), 0, secs(4)).expect("altar");
    c.relight(secs(20), 1, secs(4)).expect("lamp");
    let out = run(&mut c, secs(20), secs(90));
    let altar: Vec<_> = out
        .iter()
        .filter(|(_, p)| p.topic == "zigbee2mqtt/altar/set")
        .collect();
    let first = json(&altar[0].1);
    assert!(
        altar[0].0 <= secs(21),
        "at once, within its message spacing"
    );
    assert!(
        first["transition"].as_f64().unwrap_or(0.0) >= 4.0,
        "{first}"
    );
    let heading = brightness(&altar[0].1).expect("a level");
    assert!(heading > device(0.1) && heading <= device(0.3), "{heading}");
    // The ceremony's fade goes on to its end.
    let last = altar.last().expect("more");
    assert_eq!(brightness(&last.1), Some(device(0.3)));
    assert_eq!(c.state(secs(60), 0).expect("altar").level, 0.3);
    // Lamp, dark in the ceremony: out from where the test left it over 4 s, then OFF.
    let lamp: Vec<_> = out
        .iter()
        .filter(|(_, p)| p.topic == "zigbee2mqtt/lamp/set")
        .collect();
    assert_eq!(lamp.len(), 2, "{lamp:?}");
    assert_eq!(json(&lamp[0].1)["state"], "ON");
    assert_eq!(json(&lamp[0].1)["transition"].as_f64(), Some(4.0));
    assert_eq!(json(&lamp[1].1)["state"], "OFF");
    assert!(lamp[1].0 >= secs(24), "{:?}", lamp[1].0);
    assert!(out.iter().all(|(_, p)| p.topic != "zigbee2mqtt/spare/set"));
}

#[test]
fn test_fade_goes_there_and_back() {
    let mut c = z2m(&["altar"]);
    c.apply(
        us(0),
        0,
        LightTarget::level(0.3),
        Duration::ZERO,
        Curve::Linear,
    )
    .expect("light 0");
    let first = c.poll(us(0));
    c.test_fade(secs(10), 0).expect("light 0");
    let out = run(&mut c, secs(10), secs(60));
    assert_eq!(out.len(), 2, "{out:?}");
    let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
    let peak = drivers::scale(
        opts.curve.device_from_perceived(0.8, opts.min_level),
        254,
        true,
    );
    assert_eq!(brightness(&out[0].1), Some(u64::from(peak)));
    assert_eq!(out[1].0, secs(13));
    assert_eq!(brightness(&out[1].1), brightness(&first[0]));
    assert_eq!(json(&out[1].1)["transition"].as_f64(), Some(3.0));
}

#[test]
fn unknown_lights_are_refused() {
    let mut c = z2m(&["altar"]);
    let err = c
        .apply(us(0), 3, LightTarget::off(), Duration::ZERO, Curve::Linear)
        .expect_err("no light 3");
    insta::assert_snapshot!(err, @"failed to address light 3: the rig has 1 lights");
}

#[test]
fn a_blending_effect_after_a_held_command_moves_no_faster_than_its_cue() {
    // Issue 9, found by the 10,000-case run: a fade to 0.01 held back by the rate went out
    // stretched (3.7 s) just as a candle cue arrived; the candle's first point then went out a
    // second later, 1 s long, while the bulb was still high in that glide: 0.42 → 0.04 in 1 s.
    let lights = vec![LightSpec {
        address: "dev0".to_owned(),
        options: LightOptions::defaults(DriverKind::HaJson),
    }];
    let mut c = LightController::new(lights, 42);
    let t = |level, effect| LightTarget {
        level,
        color: None,
        effect,
    };
    let ms = |v: u64| Duration::from_millis(v);
    let mut out = Vec::new();
    c.apply(ms(1600), 0, t(0.69, Effect::None), ms(1216), Curve::Linear)
        .expect("light");
    out.extend(run(&mut c, ms(1600), ms(1700)));
    c.apply(ms(1700), 0, t(0.01, Effect::None), ms(2793), Curve::SCurve)
        .expect("light");
    out.extend(run(&mut c, ms(1700), ms(2600)));
    let candle = Effect::Candle {
        depth: 0.05,
        interval: ms(1000),
    };
    c.apply(ms(2600), 0, t(0.01, candle), ms(2656), Curve::Linear)
        .expect("light");
    out.extend(run(&mut c, ms(2600), ms(12_000)));
    // Each command after the cue moves the bulb, from where its glide has got to, no faster
    // than the cue's fade (0.68 over 2.656 s) plus a candle swing over a second.
    let opts = LightOptions::defaults(DriverKind::HaJson);
    let level = |p: &Publish| {
        let v = json(p);
        let b = v["brightness"].as_f64().unwrap_or(0.0) as f32 / 255.0;
        opts.curve.perceived_from_device(b, opts.min_level)
    };
    let glide =
        |p: &Publish| Duration::from_secs_f64(json(p)["transition"].as_f64().unwrap_or(0.0));
    let speed = 0.68 / 2.656 + 2.0 * crate::lights::effects::swing(0.05, 0.01, &opts);
    assert!(out.len() >= 4, "{out:?}");
    let (mut at, mut from, mut to, mut len) = (Duration::ZERO, 0.0f32, 0.0f32, Duration::ZERO);
    for (t, p) in &out {
        let p_done = if len.is_zero() {
            1.0
        } else {
            ((*t - at).as_secs_f32() / len.as_secs_f32()).min(1.0)
        };
        let here = from + (to - from) * p_done;
        let there = level(p);
        let over = glide(p).as_secs_f32().max(0.001);
        if *t >= ms(2600) {
            let moved = (there - here).abs() / over;
            assert!(
                moved <= speed * 1.05 + 0.01,
                "{t:?}: {here:.3} → {there:.3} over {over:.2} s is {moved:.3}/s, faster than {speed:.3}/s ({})",
                p.payload
            );
        }
        (at, from, to, len) = (*t, here, there, glide(p));
    }
}

/// A cue with an effect during a slow fade starts at once from where the light is. It used to
/// wait for the end of the native segment the fade had sent (here 37.5 s long, 15 s left), as
/// an effect waits for a glide it did not plan; this one was planned from that very glide.
/// Found by the no-startle run after 8,523 cases (an ha-json breath's glide held a cue back).
#[test]
fn an_effect_cue_during_a_slow_fade_starts_at_once() {
    let mut c = z2m(&["a"]);
    let candle = Effect::Candle {
        depth: 0.2,
        interval: secs(2),
    };
    let to = |level, effect| LightTarget {
        level,
        color: None,
        effect,
    };
    c.apply(secs(0), 0, to(0.8, Effect::None), secs(600), Curve::Linear)
        .expect("light 0");
    let before = run(&mut c, secs(0), secs(60));
    let glide_ends = c.lights[0].track.glide_ends();
    assert!(
        glide_ends > secs(70),
        "a long segment is gliding: {glide_ends:?}"
    );
    c.apply(secs(60), 0, to(0.3, candle), secs(5), Curve::Linear)
        .expect("light 0");
    let after = run(&mut c, secs(60), secs(90));
    let first = after.first().expect("the cue sends something");
    assert_eq!(first.0, secs(60), "{before:?} then {after:?}");
    // And it heads for the cue's level from where the light was, not for the old fade's.
    let level = |p: &Publish| {
        let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
        let b = brightness(p).expect("brightness") as f32 / 254.0;
        opts.curve.perceived_from_device(b, opts.min_level)
    };
    let was = c.lights[0].track.level_at(secs(0));
    assert!(level(&first.1) > was, "{}", first.1.payload);
}

/// A pause's freeze waits for the light's free slot; it freezes the light where its glide
/// has got to when it goes out. It used to freeze at the level of the moment of the pause, so
/// a WLED strip that had arrived at 59 meanwhile snapped back to 34 (found by the no-startle
/// run after 3,624 cases).
#[test]
fn a_held_freeze_freezes_where_the_light_is_when_it_goes_out() {
    let lights = vec![LightSpec {
        address: "strip".to_owned(),
        options: LightOptions::defaults(DriverKind::Wled),
    }];
    let mut c = LightController::new(lights, 42);
    let ms = |v: u64| Duration::from_millis(v);
    let target = LightTarget {
        level: 0.55,
        color: None,
        effect: Effect::None,
    };
    c.apply(ms(976), 0, target, ms(706), Curve::Linear)
        .expect("light");
    let first = run(&mut c, ms(976), ms(1000));
    c.pause(ms(1602));
    let freeze = run(&mut c, ms(1602), ms(3000));
    let bri = |p: &Publish| json(p)["bri"].as_u64().expect("bri");
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(freeze.len(), 1, "{freeze:?}");
    assert_eq!(freeze[0].0, ms(1976), "held for the rate");
    assert_eq!(
        bri(&freeze[0].1),
        bri(&first[0].1),
        "{}",
        freeze[0].1.payload
    );
}

/// A fade to dark planned over an old glide sends its OFF when due, not when that glide
/// ends. A slow breath's point went out just before the finish (a 3.8 s glide from the
/// lowest step); the finish's plan from there was the OFF alone, which waited for the glide
/// and so came after the room had ended (found by the no-startle run after 1,259 cases).
#[test]
fn a_fade_to_dark_over_an_old_glide_sends_its_off_in_time() {
    let mut c = z2m(&["a"]);
    let to = |level| LightTarget {
        level,
        color: None,
        effect: Effect::None,
    };
    let mut out = Vec::new();
    c.apply(secs(0), 0, to(5e-7), Duration::ZERO, Curve::Linear)
        .expect("light");
    out.extend(run(&mut c, secs(0), secs(10)));
    c.apply(
        secs(10),
        0,
        to(0.05),
        Duration::from_millis(3800),
        Curve::Linear,
    )
    .expect("light");
    out.extend(run(&mut c, secs(10), secs(10)));
    assert!(c.lights[0].track.glide_ends() >= Duration::from_millis(13_800));
    c.apply(
        secs(10),
        0,
        to(0.0),
        Duration::from_millis(1374),
        Curve::Linear,
    )
    .expect("light");
    out.extend(run(&mut c, secs(10), secs(30)));
    let off = out
        .iter()
        .find(|(t, p)| *t >= secs(10) && json(p)["state"] == "OFF")
        .expect("an explicit off");
    // Due at the end of the finish's fade, or at the light's next slot.
    assert!(off.0 <= secs(12), "{out:?}");
}
