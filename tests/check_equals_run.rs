//! `sanctum check` is the one validator: for each kind of configuration error that `run` used
//! to find only when it started (or never), `check` fails exactly when `run` refuses, and
//! passes exactly when `run` plays the ceremony through. Each case is a small ceremony written
//! here, in a good and a bad version differing in one rig line; both go through the real
//! binary.

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;

fn sanctum() -> Command {
    Command::cargo_bin("sanctum").expect("binary built")
}

/// A one-phase ceremony that ends by itself after a second, with `light` as its only light
/// and `rig_extra` added to the rig.
fn ceremony(dir: &Path, rig_extra: &str, light: &str) {
    let rig = format!(
        "room = \"same\"\n{rig_extra}\n[audio]\noutput = \"null\"\n\n[lights.lamp]\n{light}\n"
    );
    std::fs::write(dir.join("rig.toml"), rig).expect("rig");
    std::fs::write(
        dir.join("ceremony.toml"),
        "finish_fade = \"1s\"\n\n[[phase]]\nid = \"only\"\nscene = \"only.toml\"\nafter = \"1s\"\n",
    )
    .expect("ceremony");
    std::fs::write(
        dir.join("only.toml"),
        "[[cue]]\nat = \"0s\"\n[cue.lights.lamp]\nlevel = 0.4\nfade = \"1s\"\n",
    )
    .expect("scene");
}

/// `(check passed, run went through)` for a ceremony in `dir`, with its stderr.
fn check_and_run(dir: &Path) -> (bool, bool, String) {
    let check = sanctum()
        .arg("check")
        .arg(dir)
        .output()
        .expect("check runs");
    let state = tempfile::tempdir().expect("state dir");
    let run = sanctum()
        .arg("run")
        .arg(dir)
        .args(["--speed", "20", "--no-mqtt", "--state-dir"])
        .arg(state.path())
        .write_stdin("")
        .timeout(Duration::from_secs(60))
        .output()
        .expect("run runs");
    let err = format!(
        "check: {}\nrun: {}",
        String::from_utf8_lossy(&check.stderr),
        String::from_utf8_lossy(&run.stderr)
    );
    (check.status.success(), run.status.success(), err)
}

const Z2M: &str = "driver = \"zigbee2mqtt\"\naddress = \"lamp\"";

/// (what, good rig extra, good light, bad rig extra, bad light, `needle|message`: check
/// reports the message at the needle's line and column in the bad rig).
const CASES: [(&str, &str, &str, &str, &str, &str); 10] = [
    (
        "template placeholder",
        "",
        "driver = \"template\"\naddress = \"shed\"\ntopic = \"t/{address}\"\npayload = \"{level}\"",
        "",
        "driver = \"template\"\naddress = \"shed\"\ntopic = \"t/{address}\"\npayload = \"{levle}\"",
        "\"{levle}\"|failed to read template `{levle}`",
    ),
    (
        "audio output",
        "",
        Z2M,
        "[audio]\noutput = \"wav:\"\n",
        Z2M,
        "\"wav:\"|unsupported audio output `wav:`",
    ),
    (
        "broker URL",
        "broker = \"mqtt://[::1]:1\"",
        Z2M,
        "broker = \"mqtt://[::1\"",
        Z2M,
        "\"mqtt://[::1\"|failed to read the broker URL `mqtt://[::1`",
    ),
    (
        "light address",
        "",
        Z2M,
        "",
        "driver = \"zigbee2mqtt\"\naddress = \"lamp/#\"",
        "\"lamp/#\"|`address` `lamp/#` has `#`",
    ),
    (
        "driver",
        "",
        Z2M,
        "",
        "driver = \"zigbee\"\naddress = \"lamp\"",
        "\"zigbee\"|unknown driver `zigbee`",
    ),
    (
        "device curve",
        "",
        "driver = \"wled\"\naddress = \"wled/lamp\"\ncurve = \"linear\"",
        "",
        "driver = \"wled\"\naddress = \"wled/lamp\"\ncurve = \"gama\"",
        "\"gama\"|unknown device curve `gama`",
    ),
    (
        "ESPHome command topic",
        "",
        "driver = \"ha-json\"\naddress = \"altar/light/candle/command\"",
        "",
        "driver = \"ha-json\"\naddress = \"altar/light/candle\"",
        "\"altar/light/candle\"|`altar/light/candle` is where ESPHome's light lives",
    ),
    (
        "another driver's key",
        "",
        "driver = \"wled\"\naddress = \"wled/lamp\"\nkelvin_as_rgb = true",
        "",
        "driver = \"wled\"\naddress = \"wled/lamp\"\nbase_topic = \"z2m\"",
        "base_topic|light `lamp`: `base_topic` only applies to the `zigbee2mqtt` driver, not `wled`",
    ),
    (
        "Shelly model",
        "",
        "driver = \"shelly\"\naddress = \"s\"\nmodel = \"duo-gen3\"",
        "",
        "driver = \"shelly\"\naddress = \"s\"\nmodel = \"duo-gen4\"",
        "\"duo-gen4\"|unknown model `duo-gen4`",
    ),
    (
        "a value of the wrong kind",
        "",
        "driver = \"ha-json\"\naddress = \"a/set\"\nbrightness_scale = 100",
        "",
        "driver = \"ha-json\"\naddress = \"a/set\"\nbrightness_scale = \"100\"",
        "\"100\"|`brightness_scale` must be a whole number",
    ),
];

#[test]
fn check_fails_exactly_when_run_refuses() {
    for (what, good_extra, good_light, bad_extra, bad_light, expected) in CASES {
        let (needle, message) = expected.split_once('|').expect("needle|message");
        let good = tempfile::tempdir().expect("tempdir");
        ceremony(good.path(), good_extra, good_light);
        let (check, run, err) = check_and_run(good.path());
        assert!(check && run, "{what}, good version: {err}");

        let bad = tempfile::tempdir().expect("tempdir");
        // The `[audio]` case replaces the rig's own `[audio]` table.
        if bad_extra.starts_with("[audio]") {
            ceremony(bad.path(), "", bad_light);
            let rig = std::fs::read_to_string(bad.path().join("rig.toml")).expect("rig");
            let rig = rig.replace("output = \"null\"", "output = \"wav:\"");
            std::fs::write(bad.path().join("rig.toml"), rig).expect("rig");
        } else {
            ceremony(bad.path(), bad_extra, bad_light);
        }
        let (check, run, err) = check_and_run(bad.path());
        assert!(!check && !run, "{what}, bad version: {err}");
        let rig = std::fs::read_to_string(bad.path().join("rig.toml")).expect("rig");
        let (line, col) = rig
            .lines()
            .enumerate()
            .find_map(|(i, l)| l.find(needle).map(|c| (i + 1, c + 1)))
            .expect("needle in the rig");
        let position = format!("rig.toml:{line}:{col}: {message}");
        // Once from check, once from run: the same report.
        assert_eq!(
            err.matches(&position).count(),
            2,
            "{what}: `{position}` in\n{err}"
        );
    }
}
