//! Tests of pause and resume: a freeze where the light is, and the rest of a fade (or an effect's entry) afterwards.

use super::*;

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
    let want = drivers::scale(opts.device_from_perceived(0.6), 254, true);
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
    let want = drivers::scale(opts.device_from_perceived(0.2), 254, true);
    assert_eq!(end["brightness"].as_u64(), Some(u64::from(want)));
    assert!(after.len() >= 4 && after.len() <= 7, "{}", after.len());
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
    let seen = |b: f32| opts.perceived_from_device(b);
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

/// A light at 0.6 in warm white (455 mireds) for 10 s, its message slot free.
fn warm_white_at_rest() -> LightController {
    let mut c = z2m(&["altar"]);
    c.apply(us(0), 0, warm(0.6), Duration::ZERO, Curve::Linear)
        .expect("light");
    run(&mut c, us(0), secs(10));
    c
}

#[test]
fn a_resume_before_the_freeze_went_out_drops_the_freeze() {
    // Found by the no-startle property test: a pause 1 ms after a cue's first message, so
    // the freeze waits a second for the light's rate, and a resume 236 ms later. The freeze
    // used to go out after the resume anyway, with no transition, snapping the light to the
    // pause's reckoning and its colour back to the warm white it was leaving.
    let mut c = warm_white_at_rest();
    let candle = LightTarget {
        level: 0.03,
        color: Some(LightColor::Kelvin(2898)),
        effect: Effect::Candle {
            depth: 0.06,
            interval: Duration::from_millis(2759),
        },
    };
    let ms = |v: u64| secs(10) + Duration::from_millis(v);
    c.apply(secs(10), 0, candle, ms(1695) - secs(10), Curve::SCurve)
        .expect("light");
    let mut out = run(&mut c, secs(10), secs(10));
    assert_eq!(out.len(), 1, "the cue's first message goes at once");
    c.pause(ms(1));
    out.extend(run(&mut c, ms(1), ms(236)));
    c.resume(ms(236));
    out.extend(run(&mut c, ms(236), secs(16)));
    let mut mireds = 455;
    for (t, p) in &out {
        let v = json(p);
        assert_ne!(
            v["transition"].as_f64(),
            Some(0.0),
            "a freeze at {t:?}: {v}"
        );
        if let Some(m) = v["color_temp"].as_u64() {
            assert!(m <= mireds, "the colour went back at {t:?}: {v}");
            mireds = m;
        }
    }
    assert_eq!(mireds, 345, "and arrives at 2898 K");
}

#[test]
fn a_freeze_held_for_the_rate_keeps_the_colour_the_light_glided_to() {
    // Paused 1 ms after a cue's first message: the freeze waits a second for the light's
    // rate while the light glides on towards 2898 K; it must freeze the colour there, not
    // turn it back to the warm white of the pause's moment (455 mireds).
    let mut c = warm_white_at_rest();
    let cool = LightTarget {
        level: 0.3,
        color: Some(LightColor::Kelvin(2898)),
        effect: Effect::None,
    };
    c.apply(secs(10), 0, cool, secs(4), Curve::Linear)
        .expect("light");
    let first = run(&mut c, secs(10), secs(10));
    let heading = json(&first[0].1)["color_temp"].as_u64().expect("colour");
    assert!(heading < 455, "the first segment heads cooler: {heading}");
    let paused = secs(10) + Duration::from_millis(1);
    c.pause(paused);
    let frozen = run(&mut c, paused, secs(30));
    assert_eq!(frozen.len(), 1, "only the freeze");
    let v = json(&frozen[0].1);
    assert_eq!(v["transition"].as_f64(), Some(0.0));
    // A quarter of the way through the 4 s fade from 455 to 345 mireds, where the device's
    // glide towards `heading` has brought it too.
    let mireds = v["color_temp"].as_u64().expect("colour");
    assert!((heading..455).contains(&mireds), "{v}");
    assert!(mireds.abs_diff(427) <= 1, "{v}");
}
