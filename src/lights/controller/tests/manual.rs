//! Tests of the hand-operated fades: `lights test` there and back, and relight after a hand moved a light.

use super::*;

#[test]
fn relight_glides_back_to_the_ceremony_and_lets_its_fade_go_on() {
    // Issue 9, item 5: after `lights test --force`, the light goes back to the ceremony's
    // current state at once, gently.
    let mut c = z2m(&["altar", "lamp", "spare"]);
    let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
    let device =
        |level: f32| u64::from(drivers::scale(opts.device_from_perceived(level), 254, true));
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
    let peak = drivers::scale(opts.device_from_perceived(0.8), 254, true);
    assert_eq!(brightness(&out[0].1), Some(u64::from(peak)));
    assert_eq!(out[1].0, secs(13));
    assert_eq!(brightness(&out[1].1), brightness(&first[0]));
    assert_eq!(json(&out[1].1)["transition"].as_f64(), Some(3.0));
}
