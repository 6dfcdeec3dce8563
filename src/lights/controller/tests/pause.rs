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
