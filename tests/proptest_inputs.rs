//! A short property pass over every input surface, on stable, in CI: arbitrary and mutated
//! text into the scene, rig and ceremony loaders, arbitrary payloads into the command parser
//! and the MQTT router, and arbitrary or damaged bytes into the sound probe. Nothing may panic,
//! every problem must place itself inside its file, and what parses must print back the same.
//! The long runs are the cargo-fuzz targets in `fuzz/` (docs/RELIABILITY.md).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use sanctum::command::Command;
use sanctum::config::{Loader, SourceFile};
use sanctum::model::{RemoteAction, RemoteDef, Rig};
use sanctum::mqtt::{Routed, Router, Topics};
use sanctum::units::{parse_duration, parse_speed};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/engine")
}

fn rig() -> &'static Arc<Rig> {
    static RIG: OnceLock<Arc<Rig>> = OnceLock::new();
    RIG.get_or_init(|| {
        Loader::new()
            .rig(&fixture().join("rig.toml"))
            .expect("fixture rig")
    })
}

/// Every problem lies inside its file and prints with its line and column.
fn problems_place_themselves(loader: &Loader, text: &str) -> Result<(), TestCaseError> {
    for d in loader.diags.sorted() {
        prop_assert!(d.span.end <= text.len().max(d.file.text.len()));
        let (line, col) = d.line_col();
        prop_assert!(line >= 1 && col >= 1);
        prop_assert!(line <= d.file.text.lines().count().max(1) + 1);
        let printed = d.to_string();
        prop_assert!(printed.contains(&format!(":{line}:{col}: ")), "{}", printed);
    }
    Ok(())
}

/// Scene-like text: real keys, tables and values of the scene format in random order and
/// number, often broken, so that the second stage is reached as well as the first.
fn scene_like() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("[[cue]]".to_owned()),
        Just("[cue.lights.a]".to_owned()),
        Just("[cue.lights.ab]".to_owned()),
        Just("[cue.layers.bed]".to_owned()),
        Just("[cue.layers.nope]".to_owned()),
        Just("[[cue.sounds]]".to_owned()),
        "(at|fade|interval|crossfade) = \"[0-9.]{0,4}(h|m|s|ms|x)?\"",
        "(level|depth|gain_db|per_minute) = -?[0-9]{1,3}(\\.[0-9]{1,2})?",
        "(kelvin) = [0-9]{1,6}",
        "(color) = \"#[0-9a-f]{0,7}\"",
        "(effect|curve) = \"(candle|breathe|none|linear|s-curve|equal-power|x)\"",
        "(file) = \"(tone.wav|pad.wav|chime.wav|missing.ogg|../x|)\"",
        "(stop|loop) = (true|false)",
        "[a-z_]{1,8} = \"[ -~]{0,8}\"",
        "[ -~]{0,20}",
    ];
    prop::collection::vec(line, 0..40).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_text_as_a_scene_is_checked_without_panic(text in "\\PC{0,400}") {
        let mut loader = Loader::new();
        let file = Arc::new(SourceFile::new("p.toml", text.clone()));
        let _ = loader.scene_source(file, rig(), &fixture().join("../sounds"));
        problems_place_themselves(&loader, &text)?;
    }

    #[test]
    fn scene_like_text_is_checked_without_panic(text in scene_like()) {
        let mut loader = Loader::new();
        let file = Arc::new(SourceFile::new("p.toml", text.clone()));
        let scene = loader.scene_source(file, rig(), &fixture().join("../sounds"));
        problems_place_themselves(&loader, &text)?;
        if let Some((scene, _, spans)) = scene {
            prop_assert_eq!(scene.cues.len(), spans.len());
            prop_assert!(scene.cues.windows(2).all(|w| w[0].at <= w[1].at), "cues in time order");
        }
    }

    #[test]
    fn any_text_as_a_rig_or_ceremony_is_checked_without_panic(text in "\\PC{0,300}") {
        let mut loader = Loader::new();
        let _ = loader.rig_source(Arc::new(SourceFile::new("rig.toml", text.clone())));
        let file = Arc::new(SourceFile::new(fixture().join("ceremony.toml"), text.clone()));
        let _ = loader.ceremony_source(&fixture(), file, None);
        problems_place_themselves(&loader, &text)?;
    }

    #[test]
    fn command_text_parses_or_says_why_and_round_trips(text in "\\PC{0,40}") {
        match Command::parse(&text) {
            Ok(cmd) => prop_assert_eq!(Command::parse(&cmd.to_string()), Ok(cmd)),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn mqtt_payloads_route_without_panic_and_retained_never_commands(
        topic in 0usize..6,
        payload in prop::collection::vec(any::<u8>(), 0..200),
        retained in any::<bool>(),
    ) {
        let topics = Topics::new("room");
        let remote = RemoteDef {
            name: "button".into(),
            driver: "zigbee2mqtt".into(),
            address: "btn".into(),
            actions: vec![RemoteAction { action: "single".into(), command: Command::Next, span: 0..0 }],
        };
        let router = Router::new(topics.clone(), &[remote], true).watching_status();
        let topic = [
            topics.cmd.clone(),
            topics.all_cmd.clone(),
            topics.phase_set.clone(),
            topics.ha_status.clone(),
            "zigbee2mqtt/btn".to_owned(),
            "zigbee2mqtt/btn/action".to_owned(),
        ][topic].clone();
        let routed = router.route(&topic, &payload, retained);
        if retained {
            prop_assert!(!matches!(routed, Routed::Request(_)), "{:?}", routed);
        }
    }

    #[test]
    fn durations_parse_or_say_why(text in "\\PC{0,24}") {
        if let Err(e) = parse_duration(&text) {
            prop_assert!(e.to_string().contains('`') || text.trim().is_empty());
        }
    }

    #[test]
    fn speed_is_accepted_exactly_in_range(v in prop::num::f64::ANY) {
        let ok = parse_speed(&v.to_string()).is_ok();
        prop_assert_eq!(ok, v.is_finite() && (0.1..=10_000.0).contains(&v));
    }
}

fn seed_sounds() -> &'static Vec<(Vec<u8>, &'static str)> {
    static SEEDS: OnceLock<Vec<(Vec<u8>, &'static str)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        [
            ("sounds/chime.ogg", "ogg"),
            ("tests/fixtures/sounds/tone.wav", "wav"),
            ("tests/fixtures/sounds/tone.mp3", "mp3"),
        ]
        .into_iter()
        .map(|(p, ext)| (std::fs::read(root.join(p)).expect("seed sound"), ext))
        .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_probe_without_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..2000),
        ext in prop::sample::select(vec![Some("ogg"), Some("wav"), Some("flac"), Some("mp3"), None]),
    ) {
        let _ = sanctum::audio::probe_bytes(bytes, ext);
    }

    #[test]
    fn damaged_real_sound_files_probe_without_panic(
        which in 0usize..3,
        cut in 0.0f64..1.0,
        flips in prop::collection::vec((0.0f64..1.0, any::<u8>()), 0..8),
    ) {
        let (seed, ext) = &seed_sounds()[which];
        let mut bytes = seed.clone();
        for (at, value) in flips {
            let i = ((bytes.len() as f64) * at) as usize;
            if let Some(b) = bytes.get_mut(i) {
                *b = value;
            }
        }
        bytes.truncate(((bytes.len() as f64) * cut) as usize + 1);
        let _ = sanctum::audio::probe_bytes(bytes, Some(ext));
    }
}
