//! Tests of [`super`]: fades planned for each kind of device and read back as commands.

use super::*;
use crate::lights::options::DriverKind;

fn mins(m: u64) -> Duration {
    Duration::from_secs(60 * m)
}

fn warm(level: f32) -> LightTarget {
    LightTarget {
        level,
        color: Some(LightColor::Kelvin(2200)),
        effect: crate::lights::Effect::None,
    }
}

fn full_cool() -> LightState {
    LightState {
        level: 1.0,
        color: Some(LightColor::Kelvin(4000)),
    }
}

#[test]
fn the_rest_of_a_fade_from_a_lagging_light_keeps_the_fades_speed() {
    // Issue 9: a pause froze a light at 0.68 whose plan, 0.68 → 0.17 over 1 s, had 1 ms
    // left; resuming over that 1 ms snapped it down.
    let fade = Fade {
        from: LightState {
            level: 0.68,
            color: None,
        },
        to: warm(0.17),
        duration: Duration::from_secs(1),
        curve: Curve::Linear,
    };
    let rest = fade.rest_from(Duration::from_millis(999), 0.68, Duration::ZERO);
    assert!((rest.from.level - 0.68).abs() < 1e-6);
    let t = rest.duration.as_secs_f32();
    assert!(
        (t - 1.0).abs() < 0.01,
        "the whole span at the fade's speed: {t}"
    );
    // A light already near the end keeps what was left of the time.
    let near = fade.rest_from(Duration::from_millis(500), 0.2, Duration::ZERO);
    assert_eq!(near.duration, Duration::from_millis(500));
    // And a device glide that must finish first is waited for.
    let glide = fade.rest_from(Duration::from_millis(500), 0.2, Duration::from_secs(2));
    assert_eq!(glide.duration, Duration::from_secs(2));
}

/// Offsets strictly increase with gaps of at least `gap`.
fn assert_spaced(s: &Schedule, gap: Duration) {
    for w in s.windows(2) {
        assert!(
            w[1].0 >= w[0].0 + gap,
            "gap {:?} < {gap:?}",
            w[1].0 - w[0].0
        );
    }
}

fn brightnesses(s: &Schedule) -> Vec<f32> {
    s.iter()
        .filter(|(_, c)| c.on)
        .map(|(_, c)| c.brightness)
        .collect()
}

#[test]
fn ten_minute_native_fade_is_a_handful_of_segments() {
    for kind in [
        DriverKind::Zigbee2Mqtt,
        DriverKind::Wled,
        DriverKind::HaJson,
    ] {
        let opts = LightOptions::defaults(kind);
        for curve in [Curve::Linear, Curve::SCurve, Curve::EqualPower] {
            let s = plan(full_cool(), &warm(0.15), mins(10), curve, &opts);
            assert!(
                (8..=12).contains(&s.len()),
                "{kind:?} {curve:?}: {}",
                s.len()
            );
            assert_spaced(&s, Duration::from_secs(5));
            let total: Duration = s.iter().filter_map(|(_, c)| c.transition).sum();
            assert_eq!(total, mins(10));
            let b = brightnesses(&s);
            assert!(b.windows(2).all(|w| w[1] <= w[0]), "not monotonic: {b:?}");
            let last = s.last().expect("segments").1;
            let want = opts.device_from_perceived(0.15);
            assert_eq!(last.brightness, want);
            assert_eq!(last.color, Some(LightColor::Kelvin(2200)));
        }
    }
}

#[test]
fn native_segments_respect_the_longest_native_fade() {
    let tasmota = LightOptions::defaults(DriverKind::Tasmota);
    let s = plan(full_cool(), &warm(0.3), mins(10), Curve::SCurve, &tasmota);
    assert_eq!(s.len(), 30);
    assert!(
        s.iter()
            .all(|(_, c)| c.transition <= Some(Duration::from_secs(20)))
    );
    let shelly = LightOptions::defaults(DriverKind::Shelly);
    let s = plan(full_cool(), &warm(0.3), mins(10), Curve::SCurve, &shelly);
    assert_eq!(s.len(), 120);
    assert!(
        s.iter()
            .all(|(_, c)| c.transition == Some(Duration::from_secs(5)))
    );
}

#[test]
fn short_fades_are_one_native_transition() {
    let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
    let s = plan(
        full_cool(),
        &warm(0.4),
        Duration::from_secs(8),
        Curve::SCurve,
        &opts,
    );
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].0, Duration::ZERO);
    assert_eq!(s[0].1.transition, Some(Duration::from_secs(8)));
}

#[test]
fn a_steep_minute_is_split_for_accuracy() {
    // 1 min from full to 5 % along equal-power: one straight device line would be far
    // off the perceptual curve, so it is split, but never below 5 s segments.
    let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
    let fade = Fade {
        from: full_cool(),
        to: warm(0.05),
        duration: mins(1),
        curve: Curve::EqualPower,
    };
    let one = boundaries(mins(1), 1, opts.caps.transition_resolution);
    assert!(segment_error(&fade, Duration::ZERO, &one, &opts) > MAX_SEGMENT_ERROR_L);
    let s = plan(fade.from, &fade.to, fade.duration, fade.curve, &opts);
    assert!(s.len() > 1 && s.len() <= 12, "{}", s.len());
    assert_spaced(&s, MIN_SEGMENT);
}

#[test]
fn fading_to_zero_ends_at_min_level_then_off() {
    for kind in [DriverKind::Zigbee2Mqtt, DriverKind::Template] {
        let opts = LightOptions::defaults(kind);
        let s = plan(
            full_cool(),
            &LightTarget::off(),
            mins(2),
            Curve::Linear,
            &opts,
        );
        let (t_off, off) = *s.last().expect("plan");
        assert!(!off.on, "{kind:?} must end with an explicit off");
        assert_eq!(t_off, mins(2));
        let (_, before) = s[s.len() - 2];
        assert!(before.on);
        if opts.fades_natively() {
            assert_eq!(before.brightness, opts.caps.min_level, "{kind:?}");
        } else {
            // The last software step before OFF is one small ΔL* step above black.
            let l = opts.perceived_from_device(before.brightness);
            assert!(l > 0.0 && l < 0.01, "{l}");
        }
        assert_spaced(&s, opts.min_spacing());
    }
    // Already dark: just the off.
    let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
    let s = plan(
        LightState::OFF,
        &LightTarget::off(),
        mins(1),
        Curve::Linear,
        &opts,
    );
    assert_eq!(s, vec![(Duration::ZERO, LightCommand::off())]);
}

#[test]
fn software_steps_are_equal_in_lightness_and_rate_bounded() {
    let opts = LightOptions::defaults(DriverKind::Template);
    for curve in [Curve::Linear, Curve::SCurve, Curve::EqualPower] {
        let from = LightState {
            level: 0.9,
            color: None,
        };
        let s = plan(from, &LightTarget::level(0.2), mins(3), curve, &opts);
        assert_spaced(&s, Duration::from_secs(1));
        assert!(s.iter().all(|(_, c)| c.transition.is_none()));
        // 70 L* in 0.5 L* steps = 140 steps, fewer where the curve is steep.
        assert!(s.len() > 40 && s.len() <= 140, "{curve:?}: {}", s.len());
        let levels: Vec<f32> = s
            .iter()
            .map(|(_, c)| opts.perceived_from_device(c.brightness))
            .collect();
        let step = (0.9 - 0.2) / s.len() as f32;
        let mut last = 0.9;
        for l in &levels {
            assert!(
                (last - l - step).abs() < 2e-3,
                "{curve:?}: unequal step {}",
                last - l
            );
            last = *l;
        }
        assert_eq!(s.last().expect("steps").0, mins(3));
        assert!((last - 0.2).abs() < 1e-3);
    }
}

#[test]
fn group_software_steps_keep_two_seconds_apart() {
    let opts = LightOptions::defaults(DriverKind::Template).as_group();
    let s = plan(
        LightState::OFF,
        &LightTarget::level(1.0),
        mins(1),
        Curve::SCurve,
        &opts,
    );
    assert_spaced(&s, Duration::from_secs(2));
    assert!(s.len() <= 30, "{}", s.len());
}

#[test]
fn split_colour_steps_leave_room_for_both_messages() {
    let mut opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
    opts.caps.native_fade = false;
    opts.split_color = true;
    let s = plan(full_cool(), &warm(0.2), mins(1), Curve::Linear, &opts);
    assert_spaced(&s, Duration::from_secs(2));
    assert!(s.len() <= 30 && s.len() >= 20, "{}", s.len());
}

#[test]
fn colour_temperature_moves_in_mireds_to_the_exact_end() {
    let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
    let from = LightState {
        level: 0.6,
        color: Some(LightColor::Kelvin(5000)),
    };
    let s = plan(from, &warm(0.6), mins(10), Curve::Linear, &opts);
    let mireds: Vec<f32> = s.iter().filter_map(|(_, c)| mired_of(c.color)).collect();
    assert_eq!(mireds.len(), s.len());
    assert!(mireds.windows(2).all(|w| w[1] > w[0]), "{mireds:?}");
    // Linear in mireds: the segments' mired steps are equal (within kelvin rounding).
    let step = mireds[1] - mireds[0];
    assert!(mireds.windows(2).all(|w| (w[1] - w[0] - step).abs() < 1.0));
    assert_eq!(
        s.last().expect("plan").1.color,
        Some(LightColor::Kelvin(2200))
    );
}

#[test]
fn the_remainder_continues_the_same_curve() {
    let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
    let fade = Fade {
        from: full_cool(),
        to: warm(0.1),
        duration: mins(10),
        curve: Curve::SCurve,
    };
    let rest = plan_remaining(&fade, mins(5), &opts);
    // S-curve at half time is half way in perceived level.
    let first = rest[0].1;
    assert_eq!(rest[0].0, Duration::ZERO);
    let total: Duration = rest.iter().filter_map(|(_, c)| c.transition).sum();
    assert_eq!(total, mins(5));
    let at_first_end = fade.state_at(mins(5) + first.transition.expect("native"));
    let want = opts.device_from_perceived(at_first_end.level);
    assert!((first.brightness - want).abs() < 1e-6);
    assert!((fade.state_at(mins(5)).level - 0.55).abs() < 1e-6);
}

#[test]
fn measured_piecewise_error_of_ten_minute_fades() {
    // Not a bound we invent: it recomputes the gap the planner guarantees.
    let opts = LightOptions::defaults(DriverKind::Zigbee2Mqtt);
    for curve in [Curve::Linear, Curve::SCurve, Curve::EqualPower] {
        let fade = Fade {
            from: full_cool(),
            to: warm(0.05),
            duration: mins(10),
            curve,
        };
        let s = plan(fade.from, &fade.to, fade.duration, curve, &opts);
        let mut bounds: Vec<Duration> = s.iter().map(|(t, _)| *t).collect();
        bounds.push(mins(10));
        let err = segment_error(&fade, Duration::ZERO, &bounds, &opts);
        println!("{curve:?}: {} segments, max error {err:.2} L*", s.len());
        assert!(err <= MAX_SEGMENT_ERROR_L || s.len() as u32 * 60 >= 600);
    }
}
