//! Lights over a real mosquitto: what a subscriber sees of a fade on every driver, a
//! ten-bulb candle effect's message rate, and a broker that dies mid-fade and comes back.
#![allow(clippy::unwrap_used)]

mod mqtt_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mqtt_support::{BusThread, Mosquitto, Msg, Recorder, json, says, spec};
use sanctum::lights::curve::DeviceCurve;
use sanctum::lights::drivers::shelly::Shelly;
use sanctum::lights::drivers::template::Template;
use sanctum::lights::options::{DriverSettings, ShellyComponent, ShellyGen};
use sanctum::lights::target::{Effect, LightTarget};
use sanctum::mqtt::bus::BusMsg;
use sanctum::tween::Curve;

/// Device brightness 0..=1 in a light message, per driver.
fn brightness(m: &Msg) -> Option<f64> {
    let v = json(m);
    if m.topic.starts_with("cmnd/") {
        // Tasmota Backlog: `…; Dimmer 46`.
        let d = m.payload.split(';').find_map(|p| {
            p.trim()
                .strip_prefix("Dimmer ")
                .and_then(|n| n.parse::<f64>().ok())
        })?;
        return Some(d / 100.0);
    }
    if m.topic.starts_with("zigbee2mqtt/") {
        return v["brightness"].as_f64().map(|b| b / 254.0);
    }
    if m.topic.starts_with("shellies/") {
        return v["brightness"].as_f64().map(|b| b / 100.0);
    }
    if m.topic.ends_with("/rpc") {
        return v["params"]["brightness"].as_f64().map(|b| b / 100.0);
    }
    if m.topic.ends_with("/api") {
        return v["bri"].as_f64().map(|b| b / 255.0);
    }
    // ha-json and the template used here: `brightness` on a 0..255 scale.
    v["brightness"].as_f64().map(|b| b / 255.0)
}

fn all_drivers() -> Vec<(&'static str, sanctum::lights::controller::LightSpec)> {
    let d = || None;
    vec![
        ("zigbee2mqtt/bulb_z/set", spec("zigbee2mqtt", "bulb_z", d())),
        ("cmnd/lamp_t/Backlog", spec("tasmota", "lamp_t", d())),
        (
            "shellies/shelly1/light/0/set",
            spec("shelly", "shelly1", d()),
        ),
        (
            "shelly2/rpc",
            spec(
                "shelly",
                "shelly2",
                Some(DriverSettings::Shelly(Shelly::new(
                    ShellyGen::Gen2,
                    0,
                    ShellyComponent::Light,
                ))),
            ),
        ),
        ("esp/desk/set", spec("ha-json", "esp/desk/set", d())),
        ("wled/strip/api", spec("wled", "wled/strip", d())),
        (
            "home/tmpl/set",
            spec(
                "template",
                "tmpl",
                Some(DriverSettings::Template(Template {
                    topic: "home/{address}/set".into(),
                    payload: r#"{"state":"{state}","brightness":{level_255}}"#.into(),
                })),
            ),
        ),
    ]
}

#[test]
fn a_fade_on_every_driver_reaches_subscribers_paced_and_monotonic() {
    let broker = Mosquitto::start();
    let rec = Recorder::new(
        broker.port,
        &[
            "zigbee2mqtt/#",
            "cmnd/#",
            "shellies/#",
            "shelly2/#",
            "esp/#",
            "wled/#",
            "home/#",
        ],
    );
    let drivers = all_drivers();
    let specs: Vec<_> = drivers.iter().map(|(_, s)| s.clone()).collect();
    let speed = 5.0;
    let mut bus = BusThread::start(broker.port, "fades", specs.clone(), speed);
    let fade = Duration::from_secs(40);
    let start = bus.clock.now();
    let t0 = Instant::now();
    for i in 0..drivers.len() {
        bus.handle.send(BusMsg::Light {
            at: start,
            index: i,
            target: LightTarget::level(0.9),
            fade,
            curve: Curve::Linear,
        });
    }
    std::thread::sleep(fade.div_f64(speed) + Duration::from_millis(700));
    bus.stop();
    let msgs = rec.all();
    let engine_s = |m: &Msg| start.as_secs_f64() + (m.at - t0).as_secs_f64() * speed;
    for ((topic, spec), _) in drivers.iter().zip(0..) {
        let mine: Vec<&Msg> = msgs.iter().filter(|m| m.topic == *topic).collect();
        assert!(!mine.is_empty(), "no message on {topic}");
        assert!(
            mine.iter().all(|m| !m.retain),
            "light commands are never retained"
        );
        // Brightness only goes up along a fade up.
        let levels: Vec<f64> = mine.iter().map(|m| brightness(m).unwrap()).collect();
        for w in levels.windows(2) {
            assert!(w[1] + 1e-9 >= w[0], "{topic}: not monotonic: {levels:?}");
        }
        // Rate limit: consecutive messages at least 1/max_rate apart (engine time, with 60 ms
        // of real delivery jitter allowed at 5×).
        let spacing = spec.options.min_spacing().as_secs_f64();
        for w in mine.windows(2) {
            let gap = engine_s(w[1]) - engine_s(w[0]);
            assert!(gap >= spacing - 0.3, "{topic}: {gap:.2} s between messages");
        }
        let rate = mine.len() as f64 / fade.as_secs_f64();
        assert!(
            rate <= f64::from(spec.options.caps.max_rate) + 0.05,
            "{topic}: {rate:.2} msg/s"
        );
        // The last message lands on the target's device value.
        let want = f64::from(spec.options.device_from_perceived(0.9));
        let last = *levels.last().unwrap();
        assert!(
            (last - want).abs() < 0.02,
            "{topic}: ended at {last}, want {want}"
        );
    }
    // Along the curve: a software step shows the device value of the perceived level at its
    // time; a native segment aims at the value the curve reaches when its transition ends.
    for (topic, spec) in [&drivers[0], &drivers[6]] {
        let o = &spec.options;
        for m in msgs.iter().filter(|m| m.topic == *topic) {
            let transition = json(m)["transition"].as_f64().unwrap_or(0.0);
            let t = engine_s(m) - start.as_secs_f64() + transition;
            let p = (t / fade.as_secs_f64()).clamp(0.0, 1.0) * 0.9;
            let want = f64::from(o.device_from_perceived(p as f32));
            let got = brightness(m).unwrap();
            assert!(
                (got - want).abs() < 0.03,
                "{topic} at p={p:.3}: {got} vs {want}"
            );
        }
        assert_eq!(o.caps.curve, DeviceCurve::Cie);
    }
    // Z2M runs the fade natively, in a few long segments rather than many steps.
    let z = msgs.iter().filter(|m| m.topic == drivers[0].0).count();
    assert!((2..=10).contains(&z), "{z} segments for a 40 s Z2M fade");
}

#[test]
fn ten_candles_for_a_minute_stay_within_rate_limits() {
    let broker = Mosquitto::start();
    let rec = Recorder::new(broker.port, &["zigbee2mqtt/#"]);
    let specs: Vec<_> = (0..10)
        .map(|i| spec("zigbee2mqtt", &format!("candle{i}"), None))
        .collect();
    // 60 s of engine time in 12 s of real time.
    let speed = 5.0;
    let mut bus = BusThread::start(broker.port, "candles", specs, speed);
    let start = bus.clock.now();
    let t0 = Instant::now();
    for i in 0..10 {
        bus.handle.send(BusMsg::Light {
            at: start,
            index: i,
            target: LightTarget {
                level: 0.4,
                color: None,
                effect: Effect::Candle {
                    depth: 0.3,
                    interval: Duration::from_millis(700),
                },
            },
            fade: Duration::ZERO,
            curve: Curve::Linear,
        });
    }
    std::thread::sleep(Duration::from_millis(12_200));
    let stats = bus.stop();
    let msgs: Vec<Msg> = rec
        .all()
        .into_iter()
        .filter(|m| (m.at - t0).as_secs_f64() * speed <= 60.0)
        .collect();
    let mut per: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for m in &msgs {
        per.entry(m.topic.clone())
            .or_default()
            .push((m.at - t0).as_secs_f64() * speed);
    }
    assert_eq!(per.len(), 10, "every candle flickers");
    for (topic, times) in &per {
        // A candle flickers (more than a message every 5 s) but at most 1 msg/s sustained.
        assert!(times.len() >= 12, "{topic}: only {} messages", times.len());
        assert!(
            times.len() <= 62,
            "{topic}: {} messages in 60 s",
            times.len()
        );
        for w in times.windows(2) {
            // 1 s apart at the source; 60 ms of real delivery jitter allowed at 5×.
            assert!(w[1] - w[0] >= 0.7, "{topic}: {:.2} s apart", w[1] - w[0]);
        }
        // No 10 s window holds more than 11 messages.
        for (i, t) in times.iter().enumerate() {
            let n = times[i..].iter().take_while(|u| **u < t + 10.0).count();
            assert!(n <= 11, "{topic}: {n} messages within 10 s");
        }
    }
    let total = msgs.len() as f64 / 60.0;
    eprintln!(
        "candles: {} messages in 60 s of engine time ({total:.1} msg/s for 10 bulbs), {} queued by the bus",
        msgs.len(),
        stats.light_messages
    );
    assert!(total <= 10.5, "{total} msg/s for 10 bulbs");
}

#[test]
fn after_a_broker_restart_every_light_holds_its_current_target() {
    // Persistence and queued QoS 0 keep the recorder's session across the restart, so it
    // sees everything the daemon sends after the broker's return whoever reconnects first.
    let mut broker = Mosquitto::start_with(
        "persistence true\npersistence_location {dir}/\nautosave_interval 1\nqueue_qos0_messages true\n",
    );
    let rec = Recorder::with_session(
        broker.port,
        &["zigbee2mqtt/#", "home/#", "sanctum/#"],
        Some("restart-recorder"),
    );
    let d = || None;
    let specs = vec![
        spec("zigbee2mqtt", "z1", d()),
        spec("zigbee2mqtt", "z2", d()),
        spec(
            "template",
            "soft",
            Some(DriverSettings::Template(Template {
                topic: "home/{address}/set".into(),
                payload: r#"{"brightness":{level_255}}"#.into(),
            })),
        ),
    ];
    let mut bus = BusThread::start(broker.port, "restart", specs.clone(), 1.0);
    let start = bus.clock.now();
    let t0 = Instant::now();
    let fade = Duration::from_secs(20);
    for i in 0..3 {
        bus.handle.send(BusMsg::Light {
            at: start,
            index: i,
            target: LightTarget::level(1.0),
            fade,
            curve: Curve::Linear,
        });
    }
    // Let the autosave write the recorder's session, then kill the broker mid-fade.
    std::thread::sleep(Duration::from_millis(3_000));
    let before = rec.all();
    broker.kill();
    let killed = bus.clock.now();
    std::thread::sleep(Duration::from_millis(2_000));
    rec.clear();
    let back = broker.restart();
    // The daemon is back within its 1 s backoff; the recorder gets its queue.
    let online = rec.wait_for(Duration::from_secs(4), |m| {
        m.topic == "sanctum/restart/status" && says(m, "online")
    });
    assert!(
        online.is_some(),
        "status online after the restart: {}",
        broker.log()
    );
    std::thread::sleep(Duration::from_millis(2_500));
    let after = rec.all();
    let rec_back = rec.connects().last().copied().unwrap();
    assert!(rec_back.duration_since(back) < Duration::from_millis(500));
    for (topic, s) in [
        ("zigbee2mqtt/z1/set", &specs[0]),
        ("zigbee2mqtt/z2/set", &specs[1]),
        ("home/soft/set", &specs[2]),
    ] {
        let last_before = before
            .iter()
            .filter(|m| m.topic == topic)
            .filter_map(brightness)
            .next_back()
            .unwrap_or(0.0);
        let mine: Vec<&Msg> = after.iter().filter(|m| m.topic == topic).collect();
        let first = mine
            .first()
            .unwrap_or_else(|| panic!("{topic}: nothing after the restart"));
        let delay = first.at.duration_since(back);
        eprintln!("restart: {topic} back {delay:?} after the broker's return");
        assert!(
            delay <= Duration::from_secs(2),
            "{topic}: {delay:?} after the broker's return"
        );
        // The first message after the return is the CURRENT command: at or beyond where the
        // fade was when the broker died, towards the target — not an old step.
        let got = brightness(first).unwrap();
        let p_killed = ((killed - start).as_secs_f64() / 20.0).min(1.0) as f32;
        let floor = f64::from(s.options.device_from_perceived(p_killed));
        assert!(
            got + 0.01 >= floor,
            "{topic}: {got} is older than the fade at the kill ({floor})"
        );
        assert!(
            got + 0.01 >= last_before,
            "{topic}: stale step {got} < {last_before}"
        );
        // And it is where the fade is now: a native segment aims at the curve's value when
        // its (shortened) transition ends, a software step shows the value now.
        let transition = json(first)["transition"].as_f64().unwrap_or(0.0);
        assert!(
            transition <= 5.0,
            "{topic}: transition {transition} replays an old segment"
        );
        let t = first.at.duration_since(t0).as_secs_f64() + transition;
        let p = (t / 20.0).min(1.0) as f32;
        let want = f64::from(s.options.device_from_perceived(p));
        assert!(
            (got - want).abs() < 0.03,
            "{topic}: {got}, the fade is at {want}"
        );
        // No burst: within the first 2 s after the return, one message for a native fade,
        // and no more than the 1 msg/s pace allows for a stepped one.
        let burst = mine
            .iter()
            .filter(|m| m.at.duration_since(back) <= Duration::from_secs(2))
            .count();
        let allowed = if s.options.fades_natively() { 1 } else { 3 };
        assert!(burst <= allowed, "{topic}: {burst} messages in a burst");
    }
    // And it re-subscribed: a live command reaches the bus.
    rec.publish("sanctum/restart/cmd", "next", false);
    let req = bus.next_request(Duration::from_secs(3));
    assert_eq!(
        req.map(|r| r.command),
        Some(sanctum::command::Command::Next),
        "the bus re-subscribed after the restart"
    );
}
