//! Command-to-light latency over a private mosquitto on loopback, with the broker's own floor
//! measured in the same run:
//!
//! - floor: client A publishes, client B (subscribed) receives: the broker + two clients;
//! - sanctum: client A publishes `goto a`/`goto b` on `sanctum/bench/cmd`, a running
//!   `sanctum run tests/fixtures/mqtt-bench` turns it into a phase change and a light fade,
//!   and client B receives the first `zigbee2mqtt/bench_bulb/set`.
//!
//! Run with `cargo bench --bench mqtt_latency` (`SANCTUM_BENCH_TRIALS` sets the trial count,
//! default 1000). Results go to docs/BENCHMARKS-mqtt.md by hand.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../tests/mqtt_support/mod.rs"]
mod mqtt_support;

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use mqtt_support::{Daemon, Mosquitto, free_port};
use rumqttc::{Client, Event, MqttOptions, NetworkOptions, Packet, QoS};

type Received = (Instant, String);

/// A client whose connection thread hands every message over at once, stamped on arrival.
fn client(port: u16, filters: &[&str]) -> (Client, mpsc::Receiver<Received>) {
    let mut opts = MqttOptions::new(format!("bench-{}", free_port()), "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut conn) = Client::new(opts, 64);
    let mut net = NetworkOptions::new();
    net.set_tcp_nodelay(true);
    conn.eventloop.set_network_options(net);
    let (tx, rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::channel();
    let filters: Vec<String> = filters.iter().map(|f| (*f).to_owned()).collect();
    let sub = client.clone();
    thread::spawn(move || {
        for ev in conn.iter() {
            match ev {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    if filters.is_empty() {
                        let _ = ready_tx.send(());
                    }
                    for f in &filters {
                        let _ = sub.try_subscribe(f.clone(), QoS::AtMostOnce);
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = ready_tx.send(());
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if tx.send((Instant::now(), p.topic.clone())).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(_) => thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    ready_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("bench client ready");
    (client, rx)
}

fn drain(rx: &mpsc::Receiver<Received>) {
    while rx.try_recv().is_ok() {}
}

/// Publishes on `topic` and returns the time until `rx` sees a message on `want`.
fn trial(
    publisher: &Client,
    rx: &mpsc::Receiver<Received>,
    topic: &str,
    payload: &str,
    want: &str,
) -> Option<Duration> {
    let t0 = Instant::now();
    publisher
        .publish(topic, QoS::AtMostOnce, false, payload.as_bytes().to_vec())
        .unwrap();
    loop {
        let (at, got) = rx.recv_timeout(Duration::from_secs(2)).ok()?;
        if got == want {
            return Some(at.duration_since(t0));
        }
    }
}

fn report(name: &str, mut lat: Vec<Duration>, lost: usize) {
    lat.sort();
    let pct = |p: f64| {
        let i = ((lat.len() as f64 - 1.0) * p).round() as usize;
        lat[i].as_secs_f64() * 1000.0
    };
    let mean = lat.iter().map(Duration::as_secs_f64).sum::<f64>() / lat.len() as f64 * 1000.0;
    println!(
        "{name:<28} n={:<5} lost={lost:<3} p50={:.3} ms  p90={:.3} ms  p99={:.3} ms  max={:.3} ms  mean={mean:.3} ms",
        lat.len(),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0),
    );
}

fn main() {
    let trials: usize = std::env::var("SANCTUM_BENCH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let broker = Mosquitto::start();

    // The broker's floor: plain publish → receive between two clients.
    let (publisher, _) = client(broker.port, &[]);
    let (_sub, rx) = client(broker.port, &["floor/t"]);
    let mut floor = Vec::new();
    let mut lost = 0;
    for i in 0..trials {
        match trial(&publisher, &rx, "floor/t", &i.to_string(), "floor/t") {
            Some(d) => floor.push(d),
            None => lost += 1,
        }
        thread::sleep(Duration::from_millis(3));
    }
    report("broker floor (A → B)", floor, lost);

    // sanctum: command in, first light message out.
    let url = broker.url();
    let mut daemon = Daemon::start(&["run", "tests/fixtures/mqtt-bench", "--broker", &url]);
    let (_lights, rx) = client(broker.port, &["zigbee2mqtt/bench_bulb/set"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while rx.try_recv().is_err() {
        assert!(
            Instant::now() < deadline,
            "sanctum never lit the bulb: {}",
            daemon.stderr()
        );
        assert!(daemon.running(), "sanctum stopped: {}", daemon.stderr());
        thread::sleep(Duration::from_millis(10));
    }
    thread::sleep(Duration::from_millis(200));
    drain(&rx);
    let mut lat = Vec::new();
    let mut lost = 0;
    for i in 0..trials {
        let cmd = if i % 2 == 0 { "goto b" } else { "goto a" };
        match trial(
            &publisher,
            &rx,
            "sanctum/bench/cmd",
            cmd,
            "zigbee2mqtt/bench_bulb/set",
        ) {
            Some(d) => lat.push(d),
            None => lost += 1,
        }
        // More than the bulb's 50 ms pacing, so no trial waits for the previous one.
        thread::sleep(Duration::from_millis(60));
        drain(&rx);
    }
    report("sanctum cmd → first light", lat, lost);
}
