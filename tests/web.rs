//! The phone page end to end: the real `sanctum daemon` against a private mosquitto serves
//! the page on a free loopback port; headless Chromium (Debian's, over chromedriver) pairs,
//! follows and steers the room, and an unpaired browser sees nothing; raw HTTP requests check
//! the Host/Origin refusals, the token checks and the view-only token; and a screenshot of the
//! reference ceremony at phone size is checked for white areas.

mod mqtt_support;
mod web_support;

use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use fantoccini::actions::{InputSource, MouseActions, PointerAction};
use mqtt_support::{Mosquitto, Recorder, free_port, json};
use serde_json::Value;
use web_support::{Driver, Sanctum, http};

const STATE: &str = "sanctum/library/state";

fn daemon_args<'a>(lib: &'a str, state: &'a str, url: &'a str, remote: &'a str) -> Vec<&'a str> {
    vec![
        "daemon",
        "--library",
        lib,
        "--broker",
        url,
        "--state-dir",
        state,
        "--output",
        "null",
        "--remote",
        remote,
    ]
}

/// The first retained state after `since` that satisfies `pred`, and when it came.
fn state_after(
    rec: &Recorder,
    since: Instant,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> (Instant, Value) {
    let m = rec
        .wait_for(Duration::from_secs(10), |m| {
            m.topic == STATE && m.at >= since && pred(&json(m))
        })
        .unwrap_or_else(|| panic!("no state where {what}"));
    (m.at, json(&m))
}

/// Waits until the page's element `id` has `text`.
async fn page_shows(c: &fantoccini::Client, id: &str, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = match c.find(Locator::Id(id)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if got == text {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "#{id} shows {got:?}, not {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn click(c: &fantoccini::Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} on the page"))
        .click()
        .await
        .unwrap_or_else(|_| panic!("click {css}"));
}

#[tokio::test(flavor = "current_thread")]
async fn a_paired_phone_follows_and_steers_the_room_and_an_unpaired_one_sees_nothing() {
    let broker = Mosquitto::start();
    let url = broker.url();
    let state = tempfile::tempdir().expect("tempdir");
    let rec = Recorder::new(broker.port, &["sanctum/library/#"]);
    let remote = format!("127.0.0.1:{}", free_port());
    let daemon = Sanctum::start(&daemon_args(
        "tests/fixtures/library",
        state.path().to_str().expect("utf8"),
        &url,
        &remote,
    ));
    let pair = daemon.pairing_url();
    assert!(
        pair.starts_with(&format!("http://{remote}/pair/")),
        "{pair}"
    );
    let driver = Driver::start();
    let profile = tempfile::tempdir().expect("tempdir");
    let phone = driver.phone(profile.path()).await;

    // (1) Pairing: the token becomes an HttpOnly cookie and leaves the address bar.
    phone.goto(&pair).await.expect("open the pairing link");
    let at = phone.current_url().await.expect("url");
    assert_eq!(
        at.as_str(),
        format!("http://{remote}/"),
        "the token is stripped"
    );
    let cookies = phone.get_all_cookies().await.expect("cookies");
    let cookie = cookies
        .iter()
        .find(|c| c.name().starts_with("sanctum-"))
        .expect("paired");
    assert_eq!(cookie.http_only(), Some(true));
    let script_sees: Value = phone
        .execute("return document.cookie", vec![])
        .await
        .expect("script");
    assert_eq!(script_sees, "", "the page's script never sees the token");

    // Idle: the library's ceremonies; one tap only arms, the second starts.
    page_shows(&phone, "step", "").await;
    let first = phone
        .find(Locator::Css("#ceremonies button"))
        .await
        .expect("a ceremony to start");
    assert_eq!(
        first.text().await.expect("text"),
        "Evening\ntap twice to begin"
    );
    save_screenshot(&phone, "phone-idle.png").await;
    let t0 = Instant::now();
    click(&phone, "#ceremonies button[data-id=evening]").await;
    click(&phone, "#ceremonies button[data-id=evening]").await;
    // (2) The phase, from the room.
    let (_, started) = state_after(&rec, t0, "evening runs", |v| v["phase"] == "arrive");
    assert_eq!(started["ceremony"], "evening");
    page_shows(&phone, "title", "Arrive").await;
    page_shows(&phone, "step", "1 OF 3").await; // shown in capitals
    page_shows(&phone, "volume", "\u{2212}6 dB").await;

    // A single tap on next (a pocket) only arms it, and disarms after 3 s.
    let tap = Instant::now();
    click(&phone, "#next").await;
    page_shows(&phone, "next", "Next\ntap again for next").await;
    tokio::time::sleep(Duration::from_millis(3300)).await;
    page_shows(&phone, "next", "Next\nhold, or tap twice").await;
    assert!(
        rec.on(STATE)
            .iter()
            .all(|m| m.at < tap || json(m)["phase"] != "hold"),
        "one tap must not skip a phase"
    );
    page_shows(&phone, "title", "Arrive").await;

    // (3) Next with its second tap: the retained state and the page follow within 1 s.
    phone
        .execute(
            "window.__tapped = 0; window.__seen = 0;
             document.getElementById('next').addEventListener('pointerup',
                 () => { window.__tapped = performance.now(); });
             new MutationObserver(() => {
                 if (!window.__seen && document.getElementById('title').textContent === 'Hold')
                     window.__seen = performance.now();
             }).observe(document.getElementById('title'), {childList: true, subtree: true});",
            vec![],
        )
        .await
        .expect("instrument the page");
    click(&phone, "#next").await;
    let pressed = Instant::now();
    click(&phone, "#next").await;
    let (mqtt_at, hold) = state_after(&rec, pressed, "the phase is hold", |v| v["phase"] == "hold");
    assert_eq!(hold["phase_min_s"], 600.0);
    page_shows(&phone, "title", "Hold").await;
    let times: Value = phone
        .execute("return [window.__tapped, window.__seen]", vec![])
        .await
        .expect("times");
    let page_ms = times[1].as_f64().expect("seen") - times[0].as_f64().expect("tapped");
    let mqtt_ms = mqtt_at.duration_since(pressed).as_secs_f64() * 1000.0;
    println!(
        "next: retained MQTT state after {mqtt_ms:.0} ms (from the WebDriver click), page updated {page_ms:.0} ms after the tap"
    );
    assert!(page_ms > 0.0 && page_ms < 1000.0, "page took {page_ms} ms");
    assert!(mqtt_ms < 1000.0, "MQTT state took {mqtt_ms} ms");
    page_shows(&phone, "guidance", "Stay close.").await;
    page_shows(&phone, "goal", "10 min to go").await;

    // Pause freezes the time; softer is 3 dB down.
    let t1 = Instant::now();
    click(&phone, "#pause").await;
    state_after(&rec, t1, "paused", |v| v["paused"] == true);
    page_shows(&phone, "pause", "Resume").await;
    page_shows(&phone, "goal", "paused").await;
    let frozen = phone
        .find(Locator::Id("elapsed"))
        .await
        .expect("elapsed")
        .text()
        .await
        .expect("text");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    page_shows(&phone, "elapsed", &frozen).await;
    let t2 = Instant::now();
    click(&phone, "#softer").await;
    state_after(&rec, t2, "softer", |v| v["volume_db"] == -9.0);
    page_shows(&phone, "volume", "\u{2212}9 dB").await;

    // Stop: a tap does nothing but say how; a hold of 1.5 s stops gently.
    let t3 = Instant::now();
    click(&phone, "#stop").await;
    page_shows(&phone, "note", "Hold Stop to fade the room out.").await;
    let stop = phone.find(Locator::Id("stop")).await.expect("stop");
    let hold_stop = MouseActions::new("finger".into())
        .then(PointerAction::MoveToElement {
            element: stop,
            duration: None,
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: fantoccini::actions::MOUSE_BUTTON_LEFT,
        })
        .pause(Duration::from_millis(1800))
        .then(PointerAction::Up {
            button: fantoccini::actions::MOUSE_BUTTON_LEFT,
        });
    let held = Instant::now();
    phone.perform_actions(hold_stop).await.expect("hold stop");
    let (stop_at, _) = state_after(&rec, t3, "stopping", |v| v["mode"] == "stopping");
    assert!(
        stop_at >= held + Duration::from_millis(1400),
        "stop fired before the hold was complete"
    );
    page_shows(&phone, "title", "Stopping gently").await;
    state_after(&rec, t3, "idle again", |v| v["mode"] == "idle");
    page_shows(&phone, "step", "").await;
    phone.close().await.expect("close");

    // (4) An unpaired browser: only "pair this phone", no state, and the stream refuses it.
    let t4 = Instant::now();
    rec.publish("sanctum/library/cmd", "start evening", false);
    state_after(&rec, t4, "running again", |v| v["phase"] == "arrive");
    let other = tempfile::tempdir().expect("tempdir");
    let stranger = driver.phone(other.path()).await;
    stranger
        .goto(&format!("http://{remote}/"))
        .await
        .expect("open the page");
    let source = stranger.source().await.expect("source");
    assert!(source.contains("Pair this phone"), "{source}");
    for secret in ["Arrive", "Evening", "evening", "Stay close"] {
        assert!(!source.contains(secret), "an unpaired page shows {secret}");
    }
    let status: Value = stranger
        .execute("return fetch('/events').then(r => r.status)", vec![])
        .await
        .expect("fetch");
    assert_eq!(status, 401);
    let last = if pair.ends_with('0') { "1" } else { "0" };
    let guessed = format!("{}{last}", &pair[..pair.len() - 1]);
    stranger.goto(&guessed).await.expect("a wrong link");
    let source = stranger.source().await.expect("source");
    assert!(source.contains("not this room"), "{source}");
    assert!(
        stranger
            .get_all_cookies()
            .await
            .expect("cookies")
            .is_empty(),
        "a wrong token pairs nothing"
    );
    stranger.close().await.expect("close");
    drop(daemon);
}

#[test]
fn the_page_refuses_foreign_hosts_and_origins_wrong_tokens_and_a_viewer_s_commands() {
    let broker = Mosquitto::start();
    let rec = Recorder::new(broker.port, &["sanctum/library/#"]);
    let state = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = state.path().join("sanctum.toml");
    std::fs::write(
        &config,
        format!("[remote]\nlisten = \"127.0.0.1:{port}\"\nview_token = true\n"),
    )
    .expect("config");
    let state_dir = state.path().to_str().expect("utf8");
    let daemon = Sanctum::start(&[
        "daemon",
        "--config",
        config.to_str().expect("utf8"),
        "--library",
        "tests/fixtures/library",
        "--broker",
        &broker.url(),
        "--state-dir",
        state_dir,
        "--output",
        "null",
    ]);
    let pair = daemon.pairing_url();
    let log = daemon.log();
    let control = std::fs::read_to_string(state.path().join("remote-token")).expect("token");
    let control = control.trim();
    let view = std::fs::read_to_string(state.path().join("remote-view-token")).expect("token");
    let view = view.trim();
    assert_eq!(pair, format!("http://127.0.0.1:{port}/pair/{control}"));
    assert!(
        log.contains(&format!(
            "view only (no buttons): http://127.0.0.1:{port}/pair/{view}"
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "INFO phone page on 127.0.0.1:{port}; pair a phone with {pair}"
        )),
        "logged too: {log}"
    );
    let host = format!("127.0.0.1:{port}");
    let origin = format!("http://{host}");

    // DNS rebinding: a name that is not ours is refused, before any token is looked at.
    for path in ["/", &format!("/pair/{control}"), "/events", "/page.js"] {
        let a = http(
            port,
            "GET",
            path,
            &[("Host", &format!("attacker.example:{port}"))],
            "",
        );
        assert_eq!(a.status, 403, "{path}: {a:?}");
        assert!(a.header("set-cookie").is_none());
    }
    let a = http(port, "GET", "/", &[("Host", "localhost:1")], "");
    assert_eq!(a.status, 403, "wrong port");
    let a = http(
        port,
        "GET",
        "/",
        &[("Host", &format!("localhost:{port}"))],
        "",
    );
    assert_eq!(a.status, 200);
    assert!(a.body.contains("Pair this phone"));
    assert!(
        a.header("content-security-policy")
            .is_some_and(|c| c.contains("default-src 'none'"))
    );

    // Tokens: only the exact one pairs (a prefix, a longer one, one wrong last digit fail).
    let last = if control.ends_with('0') { "1" } else { "0" };
    let near = format!("{}{last}", &control[..control.len() - 1]);
    for wrong in [&control[..31], &format!("{control}0"), &near, "x"] {
        let a = http(
            port,
            "GET",
            &format!("/pair/{wrong}"),
            &[("Host", &host)],
            "",
        );
        assert_eq!(a.status, 403, "{wrong}");
        assert!(a.header("set-cookie").is_none());
        assert!(a.body.contains("not this room"));
    }
    let a = http(
        port,
        "GET",
        &format!("/pair/{control}"),
        &[("Host", &host)],
        "",
    );
    assert_eq!(a.status, 303);
    assert_eq!(a.header("location"), Some("/"));
    let set = a.header("set-cookie").expect("cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let paired = format!("sanctum-{port}={control}");
    let wrong_cookie = format!("sanctum-{port}={near}");
    let a = http(
        port,
        "GET",
        "/events",
        &[("Host", &host), ("Cookie", &wrong_cookie)],
        "",
    );
    assert_eq!(a.status, 401);
    let a = http(
        port,
        "GET",
        "/events",
        &[("Host", &host), ("Cookie", &paired)],
        "",
    );
    assert_eq!(a.status, 200);
    assert!(
        a.body
            .contains("event: hello\nretry: 2000\ndata: {\"control\":true}"),
        "{}",
        a.body
    );
    assert!(a.body.contains("event: state\ndata: {") && a.body.contains("\"mode\":\"idle\""));

    // CSRF: a command from another origin, or with none, is refused; from the page it goes in
    // with source `web` (here `louder` while idle, which the room ignores and says why).
    let t0 = Instant::now();
    let post = |headers: &[(&str, &str)]| http(port, "POST", "/cmd", headers, "louder");
    let a = post(&[
        ("Host", &host),
        ("Cookie", &paired),
        ("Origin", "http://attacker.example"),
    ]);
    assert_eq!(a.status, 403);
    let a = post(&[("Host", &host), ("Cookie", &paired), ("Origin", "null")]);
    assert_eq!(a.status, 403);
    let a = post(&[("Host", &host), ("Cookie", &paired)]);
    assert_eq!(a.status, 403, "no Origin on a POST");
    let a = post(&[("Host", &host), ("Origin", &origin)]);
    assert_eq!(a.status, 401, "unpaired");
    let a = http(
        port,
        "POST",
        "/cmd",
        &[("Host", &host), ("Cookie", &paired), ("Origin", &origin)],
        "dance",
    );
    assert_eq!(a.status, 400);
    assert!(a.body.contains("unknown command `dance`"), "{}", a.body);
    let a = post(&[("Host", &host), ("Cookie", &paired), ("Origin", &origin)]);
    assert_eq!(a.status, 204);
    let ignored = rec
        .wait_for(Duration::from_secs(5), |m| {
            m.topic == "sanctum/library/event" && m.payload.contains("\"ignored\"")
        })
        .expect("the room heard it");
    assert!(
        ignored.payload.contains("\"source\":\"web\""),
        "{}",
        ignored.payload
    );
    let louder_events = rec
        .on("sanctum/library/event")
        .iter()
        .filter(|m| m.at >= t0 && m.payload.contains("louder"))
        .count();
    assert_eq!(louder_events, 1, "only the page's own command got through");

    // The view-only token watches but cannot steer.
    let viewer = format!("sanctum-{port}={view}");
    let a = http(
        port,
        "GET",
        "/events",
        &[("Host", &host), ("Cookie", &viewer)],
        "",
    );
    assert_eq!(a.status, 200);
    assert!(a.body.contains("data: {\"control\":false}"), "{}", a.body);
    let a = post(&[("Host", &host), ("Cookie", &viewer), ("Origin", &origin)]);
    assert_eq!(a.status, 403);

    // `sanctum remote` prints the same links again, with the QR code.
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
        .args([
            "remote",
            "--config",
            config.to_str().expect("utf8"),
            "--state-dir",
            state_dir,
        ])
        .output()
        .expect("sanctum remote");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&pair) && text.contains(view), "{text}");
    assert!(
        text.contains("\x1b[30;107m") && text.contains('\u{2580}'),
        "a painted QR code"
    );
    drop(daemon);
}

/// Brightness (0–255, Rec. 709 luma) of every pixel of an RGBA or RGB PNG, and its size.
fn lumas(png_bytes: &[u8]) -> (u32, u32, Vec<f64>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("png");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("frame");
    let channels = info.color_type.samples();
    let l = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| 0.2126 * f64::from(p[0]) + 0.7152 * f64::from(p[1]) + 0.0722 * f64::from(p[2]))
        .collect();
    (info.width, info.height, l)
}

/// Takes a screenshot into target/`name` (and docs/`name` with `SANCTUM_UPDATE_DOCS=1`).
async fn save_screenshot(phone: &fantoccini::Client, name: &str) -> Vec<u8> {
    let shot = phone.screenshot().await.expect("screenshot");
    std::fs::write(format!("target/{name}"), &shot).expect("write into target/");
    if std::env::var_os("SANCTUM_UPDATE_DOCS").is_some() {
        std::fs::write(format!("docs/{name}"), &shot).expect("write into docs/");
    }
    shot
}

/// The highest mean brightness of any `n`×`n` block of pixels (a light area, not a stroke).
fn brightest_block(width: usize, l: &[f64], n: usize) -> f64 {
    let height = l.len() / width;
    let mut best: f64 = 0.0;
    for by in (0..height - n).step_by(n / 2) {
        for bx in (0..width - n).step_by(n / 2) {
            let sum: f64 = (by..by + n)
                .flat_map(|y| l[y * width + bx..y * width + bx + n].iter())
                .sum();
            best = best.max(sum / (n * n) as f64);
        }
    }
    best
}

/// The reference ceremony at phone size, resumed 12 minutes into its massage (a phase with a
/// 30-minute `min`), so the arc shows. Writes target/phone.png (and docs/phone.png with
/// `SANCTUM_UPDATE_DOCS=1`), and checks that nothing on it is near white.
#[tokio::test(flavor = "current_thread")]
async fn a_phone_sized_screenshot_of_the_reference_ceremony_has_no_white_areas() {
    let broker = Mosquitto::start();
    let state = tempfile::tempdir().expect("tempdir");
    let report = sanctum::library::Library::load(Path::new("scenes"), Path::new("scenes/rig.toml"))
        .expect("the scenes library");
    let entry = report
        .library
        .get("sex-medicine")
        .expect("reference ceremony");
    let now_ms = sanctum::position::unix_ms(std::time::SystemTime::now());
    sanctum::position::write(
        &sanctum::position::file_for(state.path(), "sanctuary"),
        &sanctum::position::Position {
            version: 1,
            ceremony: "sex-medicine".into(),
            hash: entry.hash.clone(),
            phase: "massage".into(),
            index: 2,
            offset_ms: 12 * 60 * 1000 + 14_000,
            paused: false,
            volume_db: -6.0,
            running: true,
            saved_at_ms: now_ms,
            instance: "screenshot".into(),
        },
    )
    .expect("a saved position");
    let remote = format!("127.0.0.1:{}", free_port());
    let daemon = Sanctum::start(&[
        "daemon",
        "--library",
        "scenes",
        "--rig",
        "scenes/rig.toml",
        "--broker",
        &broker.url(),
        "--state-dir",
        state.path().to_str().expect("utf8"),
        "--output",
        "null",
        "--remote",
        &remote,
    ]);
    let pair = daemon.pairing_url();
    let driver = Driver::start();
    let profile = tempfile::tempdir().expect("tempdir");
    let phone = driver.phone(profile.path()).await;
    phone.goto(&pair).await.expect("pair");
    page_shows(&phone, "title", "Tantric massage").await;
    page_shows(&phone, "goal", "18 min to go").await;
    let shot = save_screenshot(&phone, "phone.png").await;
    let (w, h, l) = lumas(&shot);
    assert_eq!((w, h), (780, 1688), "390×844 CSS pixels at 2×");
    let brightest = l.iter().copied().fold(0.0, f64::max);
    let mean = l.iter().sum::<f64>() / l.len() as f64;
    let block = brightest_block(w as usize, &l, 32);
    println!(
        "screenshot: mean luma {mean:.1}/255, brightest pixel {brightest:.0}, brightest 32×32 block {block:.0}"
    );
    assert!(brightest < 235.0, "no white: brightest pixel {brightest}");
    assert!(mean < 40.0, "a dark page: mean luma {mean}");
    assert!(
        block < 128.0,
        "no light area, only light strokes: a block averages {block}"
    );
    phone.close().await.expect("close");
    drop(daemon);
}
