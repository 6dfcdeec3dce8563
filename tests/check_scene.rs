//! `sanctum check <scene>` checks a scene as the ceremony that names it plays it: it walks up
//! to that `ceremony.toml` and uses the ceremony's rig and `sounds =` folder, so a scene that
//! checks clean inside its ceremony also checks clean on its own (the real binary, on files
//! written here).

use std::path::Path;

use assert_cmd::Command;

const RIG: &str = r#"room = "scene-check"
max_volume_db = 0

[layers.bed]
"#;

const SCENE: &str = r#"[[cue]]
at = "0s"
[[cue.sounds]]
file = "chime.ogg"
"#;

fn sanctum() -> Command {
    Command::cargo_bin("sanctum").expect("binary built")
}

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("folder");
    }
    std::fs::write(path, text).expect("write");
}

/// `root/rig.toml`, `root/library/chimes/chime.ogg` and a ceremony in `root/rites/evening`
/// whose `sounds = "../../library/chimes"`; the scene sits in `scene_dir` (relative to root),
/// named by the ceremony as `scene_ref`.
fn layout(root: &Path, scene_dir: &str, scene_ref: &str) -> std::path::PathBuf {
    write(&root.join("rig.toml"), RIG);
    std::fs::create_dir_all(root.join("library/chimes")).expect("sounds");
    std::fs::copy("sounds/chime.ogg", root.join("library/chimes/chime.ogg")).expect("chime");
    write(
        &root.join("rites/evening/ceremony.toml"),
        &format!(
            "sounds = \"../../library/chimes\"\n\n[[phase]]\nid = \"arrive\"\nscene = \"{scene_ref}\"\n"
        ),
    );
    let scene = root.join(scene_dir).join("arrive.toml");
    write(&scene, SCENE);
    scene
}

fn checks_clean(path: &Path) {
    let out = sanctum().arg("check").arg(path).output().expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
}

#[test]
fn a_scene_beside_its_ceremony_uses_the_ceremonys_sounds_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scene = layout(dir.path(), "rites/evening", "arrive.toml");
    // The ceremony as a folder checks clean…
    sanctum()
        .arg("check")
        .arg(dir.path().join("rites/evening"))
        .assert()
        .success();
    // …and so does its scene on its own: no "missing sound file" from a `sounds/` guess.
    checks_clean(&scene);
}

#[test]
fn a_shared_scene_finds_the_ceremony_in_a_sibling_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scene = layout(dir.path(), "rites/shared", "../shared/arrive.toml");
    checks_clean(&scene);
}

#[test]
fn a_scene_no_ceremony_names_still_reports_its_missing_sound() {
    let dir = tempfile::tempdir().expect("tempdir");
    layout(dir.path(), "rites/evening", "arrive.toml");
    // Same folder, but no ceremony plays this one: the nearest `sounds/` (none) is used.
    let stray = dir.path().join("rites/evening/stray.toml");
    write(&stray, SCENE);
    let out = sanctum().arg("check").arg(&stray).output().expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stray.toml:4:8:"), "{err}");
    assert!(err.contains("chime.ogg"), "{err}");
}
