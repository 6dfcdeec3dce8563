//! `sanctum check` diagnostics: every kind of mistake in a rig, ceremony or scene is reported,
//! all in one run, as `path:line:col: message` with the source line and a caret.

use std::path::PathBuf;

use sanctum::config;

fn render(paths: &[&str]) -> (usize, String) {
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let report = config::check(&paths, None);
    let text = report
        .diags
        .sorted()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n\n");
    (report.diags.len(), text)
}

#[test]
fn every_problem_in_the_broken_fixture_is_reported_with_its_position() {
    let (count, text) = render(&["tests/fixtures/broken", "tests/fixtures/empty"]);
    insta::assert_snapshot!(text);
    // Each class of mistake the issue names, found in the same run.
    for needle in [
        "syntax.toml:1:7: invalid TOML",
        "rig.toml:9:1: unknown key `adress`; did you mean `address`?",
        "massage.toml:4:1: unknown key `levl`; did you mean `level`?",
        "unknown light or group `alter`; did you mean `altar`?",
        "unknown light `bedsid`",
        "unknown layer `beds`; did you mean `bed`?",
        "unknown phase `soak`",
        "unknown scene `massge.toml`",
        "missing sound file `missing.wav`",
        "prepare.toml:8:6: cue at 2m comes after phase `prepare` moves on by itself",
        "`after` must be longer than zero",
        "`fade` must be longer than zero",
        "`min`: negative duration `-5m`",
        "massage.toml:2:6: `at`: invalid duration `5 minutes`",
        "`level` is 1.5, outside 0..=1",
        "`gain_db` +6.0 is above the rig's max_volume_db +0.0",
        "ceremony.toml:9:6: duplicate phase id `prepare` (first used on line 4)",
        "empty/ceremony.toml:1:1: empty ceremony",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert_eq!(count, 29, "{text}");
}

#[test]
fn the_shipped_scenes_and_fixtures_are_clean() {
    for path in ["scenes", "tests/fixtures/engine"] {
        let (count, text) = render(&[path]);
        assert_eq!(count, 0, "{path}:\n{text}");
    }
}

#[test]
fn loading_a_broken_ceremony_returns_its_problems() {
    let err = config::load_ceremony(std::path::Path::new("tests/fixtures/broken"), None)
        .expect_err("broken");
    assert!(err.len() > 10);
    let loaded = config::load_ceremony(std::path::Path::new("tests/fixtures/engine"), None)
        .expect("engine fixture loads");
    assert_eq!(loaded.ceremony.phases.len(), 4);
    assert_eq!(loaded.rig.lights.len(), 3);
}
