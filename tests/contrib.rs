//! What `contrib/` ships: the example config parses, and the systemd units pass
//! `systemd-analyze verify` and keep the promises the README makes (notify with a watchdog,
//! a dedicated user in `audio`, state and config directories, hardening that keeps
//! `/dev/snd`, restart on failure, reload on SIGHUP).

use std::path::Path;
use std::process::Command;

use sanctum::settings::Settings;

#[test]
fn the_example_config_reads_cleanly() {
    let s = Settings::read(Path::new("contrib/sanctum.toml")).expect("the example config reads");
    assert_eq!(s.rig, Some(Path::new("contrib/rig.toml").to_owned()));
    assert_eq!(s.library, Some(Path::new("contrib/ceremonies").to_owned()));
    assert_eq!(s.resume_within.as_secs(), 6 * 3600);
}

fn lines(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("unit file")
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_system_unit_is_a_hardened_notify_service_that_keeps_the_sound_card() {
    let unit = lines("contrib/sanctum.service");
    for want in [
        "Type=notify",
        "User=sanctum",
        "SupplementaryGroups=audio",
        "StateDirectory=sanctum",
        "ConfigurationDirectory=sanctum",
        "DeviceAllow=char-alsa rw",
        "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
    ] {
        assert!(unit.iter().any(|l| l == want), "missing `{want}`");
    }
    assert!(
        !unit.iter().any(|l| l.starts_with("PrivateDevices=")),
        "PrivateDevices hides /dev/snd"
    );
    let watchdog: u64 = unit
        .iter()
        .find_map(|l| l.strip_prefix("WatchdogSec="))
        .expect("WatchdogSec")
        .parse()
        .expect("seconds");
    assert!((10..=120).contains(&watchdog), "WatchdogSec={watchdog}");
    let stop: u64 = unit
        .iter()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .expect("TimeoutStopSec")
        .parse()
        .expect("seconds");
    assert!(stop > 12, "room for a 10 s gentle stop and the bus: {stop}");
}

/// `systemd-analyze verify` with ExecStart pointing at the binary just built. The user unit
/// is checked by the system manager's parser too: a test cannot reach a user manager, and
/// `--user` then verifies nothing.
fn verify(unit: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = Path::new(unit).file_name().expect("name");
    let bin = assert_cmd::cargo::cargo_bin("sanctum");
    let text = std::fs::read_to_string(unit)
        .expect("unit")
        .replace("/usr/local/bin/sanctum", &bin.display().to_string())
        .replace("%h/.cargo/bin/sanctum", &bin.display().to_string());
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("systemd-analyze (Debian's systemd package; scripts/setup.sh installs it)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.trim().is_empty(),
        "{unit}: {err}"
    );
}

#[test]
fn systemd_accepts_both_units() {
    verify("contrib/sanctum.service");
    verify("contrib/sanctum-user.service");
}
