//! Test rig for the phone page: a `sanctum` process with its own folders (killed on drop),
//! chromedriver on a free port (killed on drop) and headless Chromium sessions at phone size,
//! each with a fresh profile, and raw HTTP/1.1 requests for the checks a browser would never
//! let a test make (a forged Host, a foreign Origin).
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

use super::mqtt_support::free_port;

/// A `sanctum` process; killed on drop.
pub struct Sanctum {
    child: Child,
    /// Its HOME, stdout and stderr.
    pub home: tempfile::TempDir,
}

impl Sanctum {
    /// Starts `sanctum args…` with stdout and stderr in files.
    pub fn start(args: &[&str]) -> Self {
        let home = tempfile::tempdir().expect("tempdir");
        let out = std::fs::File::create(home.path().join("stdout")).expect("stdout");
        let err = std::fs::File::create(home.path().join("stderr")).expect("stderr");
        let child = Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
            .args(args)
            .env("HOME", home.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("sanctum starts");
        Self { child, home }
    }

    /// stdout then stderr so far.
    pub fn log(&self) -> String {
        let read = |n: &str| std::fs::read_to_string(self.home.path().join(n)).unwrap_or_default();
        format!("{}{}", read("stdout"), read("stderr"))
    }

    /// The pairing URL the daemon printed (waits for it).
    pub fn pairing_url(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let log = self.log();
            if let Some(url) = log
                .lines()
                .filter(|l| l.starts_with("phone page:"))
                .find_map(|l| l.split_whitespace().find(|w| w.starts_with("http://")))
            {
                return url.to_owned();
            }
            assert!(Instant::now() < deadline, "no pairing URL printed:\n{log}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Sanctum {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// chromedriver on a free loopback port; killed on drop.
pub struct Driver {
    child: Child,
    /// Its port.
    pub port: u16,
}

impl Driver {
    /// Starts Debian's chromedriver and waits for it to listen.
    pub fn start() -> Self {
        let port = free_port();
        // Its own process group, so that dropping it ends every Chromium it started too.
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (Debian package `chromium-driver`; run scripts/setup.sh)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, port }
    }

    /// A new headless Chromium at phone size (390×844 CSS pixels, two device pixels each),
    /// with its own fresh profile in `profile`.
    pub async fn phone(&self, profile: &Path) -> Client {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--disable-crash-reporter",
            "--disable-breakpad",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": args,
                "mobileEmulation": {
                    "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2.0, "touch": false}
                }
            }
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// An HTTP answer: status, headers (lower-case names) and body.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Header lines, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body (for an event stream: what came within the read timeout).
    pub body: String,
}

impl Answer {
    /// The first header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one raw HTTP/1.1 request to `port` with `headers` (Host among them, as given) and
/// reads the answer until the server closes or 1.5 s pass.
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(1500)))
        .expect("timeout");
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}
