//! Tests of a device whose glide lags the plan (a command held by the rate, a glide planned over): found by the no-startle run, each failing before its fix.

use super::*;

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
        opts.perceived_from_device(b)
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
    // And it heads for the cue's level (give or take the candle's swing), not for the old
    // fade's next segment.
    let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
    let level = |p: &Publish| {
        let b = brightness(p).expect("brightness") as f32 / 254.0;
        opts.perceived_from_device(b)
    };
    let swing = crate::lights::effects::swing(0.2, 0.3, &opts);
    let old = level(&before.last().expect("the old fade's segment").1);
    let new = level(&first.1);
    assert!(
        (new - 0.3).abs() <= swing + 0.01 && old < 0.15,
        "the old fade heads for {old:.3}, the cue's first command for {new:.3} (swing {swing:.3})"
    );
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
