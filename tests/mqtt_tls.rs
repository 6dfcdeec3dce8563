//! `mqtts://` against a real mosquitto with TLS and a password file, certificates made here
//! with the `openssl` CLI: the right credentials connect, wrong ones fail with a clear
//! message, and a client certificate works where the broker demands one.
#![allow(clippy::unwrap_used)]

mod mqtt_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use mqtt_support::{Daemon, Mosquitto, write};

/// A fresh state folder for one `sanctum` process, so that no test resumes another's
/// ceremony (and none touches the machine's /var/lib/sanctum).
fn fresh_state() -> std::path::PathBuf {
    tempfile::tempdir().expect("tempdir").keep()
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all P-256.
fn certificates(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-days", "1", "-subj", "/CN=sanctum test CA"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.crt"]);
    openssl(dir, &ca);
    write(
        &dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    );
    write(&dir.join("client.ext"), "extendedKeyUsage=clientAuth\n");
    for (name, cn) in [("server", "127.0.0.1"), ("client", "sanctum")] {
        let subj = format!("/CN={cn}");
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let crt = format!("{name}.crt");
        let ext = format!("{name}.ext");
        let mut req = vec!["req", "-subj", subj.as_str()];
        req.extend(ec);
        req.extend(["-keyout", key.as_str(), "-out", csr.as_str()]);
        openssl(dir, &req);
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-out",
                &crt,
                "-extfile",
                &ext,
            ],
        );
    }
    // A second, unrelated CA, to show a wrong `ca_file` fails clearly.
    let mut other = vec!["req", "-x509", "-days", "1", "-subj", "/CN=someone else"];
    other.extend(ec);
    other.extend(["-keyout", "other.key", "-out", "other.crt"]);
    openssl(dir, &other);
}

struct Tls {
    certs: tempfile::TempDir,
    broker: Mosquitto,
}

impl Tls {
    /// A TLS broker with a password file (user `sanctum`, password `s3cret`); with
    /// `require_cert`, it also demands a client certificate signed by the CA.
    fn start(require_cert: bool) -> Self {
        let certs = tempfile::tempdir().unwrap();
        certificates(certs.path());
        let pw = certs.path().join("passwd");
        let status = Command::new("mosquitto_passwd")
            .args(["-b", "-c"])
            .arg(&pw)
            .args(["sanctum", "s3cret"])
            .stderr(Stdio::null())
            .status()
            .expect("mosquitto_passwd");
        assert!(status.success());
        mqtt_support::open_up(certs.path(), false);
        let p = |n: &str| certs.path().join(n).display().to_string();
        let mut conf = format!(
            "allow_anonymous false\npassword_file {}\ncafile {}\ncertfile {}\nkeyfile {}\n",
            pw.display(),
            p("ca.crt"),
            p("server.crt"),
            p("server.key")
        );
        if require_cert {
            conf.push_str("require_certificate true\n");
        }
        let broker = Mosquitto::start_with(&conf);
        Self { certs, broker }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.certs.path().join(name)
    }

    /// A rig for this broker with `password` in a password file and extra `[mqtt]` lines.
    fn rig(&self, dir: &Path, password: &str, extra: &str) -> PathBuf {
        write(&dir.join("pw.txt"), &format!("{password}\n"));
        let rig = dir.join("rig.toml");
        write(
            &rig,
            &format!(
                "room = \"tls\"\nbroker = \"mqtts://127.0.0.1:{}\"\n\n[mqtt]\nusername = \"sanctum\"\npassword_file = \"pw.txt\"\n{extra}\n\n[lights.bulb]\ndriver = \"zigbee2mqtt\"\naddress = \"test_bulb\"\n\n[lights.lamp]\ndriver = \"tasmota\"\naddress = \"test_lamp\"\n\n[groups]\nall = [\"bulb\", \"lamp\"]\n",
                self.broker.port
            ),
        );
        rig
    }

    fn ca_line(&self, file: &str) -> String {
        format!("ca_file = \"{}\"", self.path(file).display())
    }
}

fn sanctum(args: &[&str]) -> Output {
    Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
        .env("STATE_DIRECTORY", fresh_state())
        .args(args)
        .output()
        .expect("sanctum runs")
}

/// Waits for one message on `topic` through TLS with mosquitto_sub.
fn tls_sub(tls: &Tls, topic: &str) -> std::process::Child {
    let child = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &tls.broker.port.to_string()])
        .arg("--cafile")
        .arg(tls.path("ca.crt"))
        .args([
            "-u", "sanctum", "-P", "s3cret", "-t", topic, "-C", "1", "-W", "10",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("mosquitto_sub");
    std::thread::sleep(Duration::from_millis(400));
    child
}

#[test]
fn right_credentials_connect_over_tls_wrong_ones_fail_clearly() {
    let tls = Tls::start(false);
    let dir = tempfile::tempdir().unwrap();
    let rig = tls.rig(dir.path(), "s3cret", &tls.ca_line("ca.crt"));
    let rig = rig.to_str().unwrap();

    let sub = tls_sub(&tls, "sanctum/tls/cmd");
    let out = sanctum(&["send", "goto", "two", "--rig", rig]);
    assert!(
        out.status.success(),
        "send failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        tls.broker.log()
    );
    let got = sub.wait_with_output().unwrap();
    let sent: serde_json::Value =
        serde_json::from_slice(&got.stdout).expect("the command arrives as JSON");
    assert_eq!(sent["cmd"], "goto two");
    assert_eq!(
        sent["source"], "cli",
        "marked as the command line's, for the journal"
    );

    // Wrong password.
    let bad = tempfile::tempdir().unwrap();
    let rig_bad = tls.rig(bad.path(), "guess", &tls.ca_line("ca.crt"));
    let out = sanctum(&["send", "next", "--rig", rig_bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("failed to connect to the broker at mqtts://127.0.0.1:")
            && (err.contains("not authorized") || err.contains("bad user name or password"))
            && err.contains("password"),
        "{err}"
    );

    // Wrong CA: the server's certificate is not trusted.
    let other = tempfile::tempdir().unwrap();
    let rig_other = tls.rig(other.path(), "s3cret", &tls.ca_line("other.crt"));
    let out = sanctum(&["send", "next", "--rig", rig_other.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TLS") && err.contains("ca_file"), "{err}");

    // A missing password file is named.
    let none = tempfile::tempdir().unwrap();
    let rig_none = tls.rig(none.path(), "s3cret", &tls.ca_line("ca.crt"));
    std::fs::remove_file(none.path().join("pw.txt")).unwrap();
    let out = sanctum(&["send", "next", "--rig", rig_none.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("failed to read the MQTT password from") && err.contains("pw.txt"),
        "{err}"
    );

    // The daemon says so once and carries on with the ceremony.
    let mut daemon = Daemon::start(&[
        "run",
        "--output",
        "null",
        "tests/fixtures/mqtt",
        "--rig",
        rig_bad.to_str().unwrap(),
    ]);
    std::thread::sleep(Duration::from_millis(1_500));
    assert!(daemon.running(), "the ceremony goes on without the broker");
    let log = daemon.stderr();
    assert_eq!(
        log.matches("not authorized").count() + log.matches("bad user name").count(),
        1,
        "{log}"
    );
}

#[test]
fn a_client_certificate_is_sent_when_the_broker_demands_one() {
    let tls = Tls::start(true);
    let dir = tempfile::tempdir().unwrap();
    let with_cert = format!(
        "{}\ncert_file = \"{}\"\nkey_file = \"{}\"",
        tls.ca_line("ca.crt"),
        tls.path("client.crt").display(),
        tls.path("client.key").display()
    );
    let rig = tls.rig(dir.path(), "s3cret", &with_cert);
    let out = sanctum(&["send", "next", "--rig", rig.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        tls.broker.log()
    );
    let bare = tempfile::tempdir().unwrap();
    let rig = tls.rig(bare.path(), "s3cret", &tls.ca_line("ca.crt"));
    let out = sanctum(&["send", "next", "--rig", rig.to_str().unwrap()]);
    assert!(
        !out.status.success(),
        "connected without a client certificate"
    );
}
