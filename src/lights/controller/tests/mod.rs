//! Tests of [`super`]: the controller driven on virtual time and read back through the drivers' payloads;
//! fades, pacing and reconnects here, effects, pause, the hand-operated fades and a lagging
//! device in their own files.

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

mod effects;
mod lag;
mod manual;
mod pause;

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
    let want = drivers::scale(opts.device_from_perceived(0.3), 254, true);
    assert_eq!(*b.last().expect("published"), u64::from(want));
    assert!(
        out.iter()
            .all(|(_, p)| p.topic == "zigbee2mqtt/altar/set" && !p.retain)
    );
    assert_eq!(c.next_deadline(), None, "idle after the fade");
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
    let b = drivers::scale(opts.device_from_perceived(want.level), 254, true);
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
    let b = drivers::scale(opts.device_from_perceived(0.5), 254, true);
    assert_eq!(brightness(&out[0]), Some(u64::from(b)));
}

#[test]
fn unknown_lights_are_refused() {
    let mut c = z2m(&["altar"]);
    let err = c
        .apply(us(0), 3, LightTarget::off(), Duration::ZERO, Curve::Linear)
        .expect_err("no light 3");
    insta::assert_snapshot!(err, @"failed to address light 3: the rig has 1 lights");
}
