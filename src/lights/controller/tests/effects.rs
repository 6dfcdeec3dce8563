//! Tests of the controller's effects: candles and breaths blending into their fades, within each bulb's rate.

use super::*;

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
