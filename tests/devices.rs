//! `sanctum devices` end to end: the outputs that need no sound card are always listed, and
//! with ALSA pointed at its `file` plugin (design §6) the default device shows a real config.
//! Each run gets its own `HOME`, so ALSA reads only the `.asoundrc` the test wrote (or none).

mod audio_support;

use std::path::Path;

use assert_cmd::Command;

fn devices(home: &Path) -> (String, String) {
    let out = Command::cargo_bin("sanctum")
        .expect("binary built")
        .arg("devices")
        .env("HOME", home)
        .env_remove("ALSA_CONFIG_PATH")
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    (stdout, stderr)
}

fn assert_virtual_outputs(stdout: &str) {
    for name in ["null ", "wav:<path> ", "pipe:<path> "] {
        assert!(
            stdout.lines().any(|l| l.trim_start().starts_with(name)),
            "{name} missing:\n{stdout}"
        );
    }
    assert!(stdout.contains("48000:16:2"), "{stdout}");
}

#[test]
fn lists_the_outputs_without_a_sound_card_and_is_honest_about_the_default() {
    let home = tempfile::tempdir().expect("tempdir");
    let (stdout, _) = devices(home.path());
    println!("{stdout}");
    assert_virtual_outputs(&stdout);
    if cfg!(feature = "cpal") {
        // Without an ALSA config the default may or may not open (a real card, or none as in a
        // container); either way the listing says which, right under it.
        let lines: Vec<&str> = stdout.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.trim_start().starts_with("default"))
            .expect("the default device is listed");
        let next = lines.get(at + 1).copied().unwrap_or_default();
        assert!(
            next.contains(" Hz, ") || next.contains("unavailable: "),
            "{stdout}"
        );
    } else {
        assert!(stdout.contains("without the `cpal` feature"), "{stdout}");
    }
}

#[cfg(feature = "cpal")]
#[test]
fn the_alsa_default_shows_its_real_config() {
    let home = tempfile::tempdir().expect("tempdir");
    audio_support::file_plugin_home(home.path());
    let (stdout, _) = devices(home.path());
    println!("{stdout}");
    assert!(stdout.contains("Sound cards, host ALSA"), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("default ") && l.contains("[default]"))
        .expect("the default device, marked");
    // cpal negotiates f32 stereo at 48 kHz through the file plugin.
    assert!(
        lines[at + 1]
            .trim_start()
            .starts_with("48000 Hz, 2 ch, f32"),
        "{stdout}"
    );
    assert!(!stdout.contains("No sound card opens here"), "{stdout}");
    // ALSA's `null` PCM busy-spins a core: never offered as a device.
    assert!(
        !lines
            .iter()
            .any(|l| l.trim_start().starts_with("alsa:null")),
        "{stdout}"
    );
    assert_virtual_outputs(&stdout);
}
