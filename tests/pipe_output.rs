//! The `pipe:` output end to end: the real mixer plays into `PipeBackend`, a reader thread
//! reads the FIFO back as s16le (what snapserver would get) and checks level, pitch and pace;
//! readers that come late, leave and come back, stall, or find the FIFO replaced; paths that
//! are not FIFOs; and `sanctum run --output pipe:<fifo>`.

mod audio_support;

use std::fs::File;
use std::io::{Read, Write};
use std::ops::Range;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use audio_support::{SINE_HZ, hz, peak, sine_mixer, sine_peak};
use sanctum::audio::{AudioBackend, AudioHandle, AudioProcessor, PcmFormat, PipeBackend};

/// A fresh state folder for one `sanctum` process, so that no test resumes another's
/// ceremony (and none touches the machine's /var/lib/sanctum).
fn fresh_state() -> std::path::PathBuf {
    tempfile::tempdir().expect("tempdir").keep()
}

const RATE: u32 = 48_000;
/// s16le stereo.
const FRAME: usize = 4;

fn seconds(s: f64) -> usize {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let frames = (s * f64::from(RATE)) as usize;
    frames * FRAME
}

/// Opens the FIFO for reading (blocks until a writer has it) and reads `bytes`; returns them
/// and how long the reading took from the open. Gives up after `limit`.
fn read_fifo(path: &Path, bytes: usize, limit: Duration) -> (Vec<u8>, Duration) {
    let (tx, rx) = mpsc::channel();
    let path = path.to_owned();
    thread::spawn(move || {
        let mut f = File::open(&path).expect("open the FIFO for reading");
        let t = Instant::now();
        let mut buf = vec![0u8; bytes];
        f.read_exact(&mut buf).expect("read the FIFO");
        let _ = tx.send((buf, t.elapsed()));
    });
    rx.recv_timeout(limit)
        .expect("the reader got its audio in time")
}

/// Reads `secs` of audio as [`read_fifo`] does, and checks it took a time in `took` (pace is
/// behaviour here, not a benchmark: the ranges are generous for a shared 2-core machine).
fn read_paced(path: &Path, secs: f64, took: Range<f64>, who: &str) -> Vec<u8> {
    let (bytes, t) = read_fifo(path, seconds(secs), Duration::from_secs(20));
    let t = t.as_secs_f64();
    println!("{secs:.3} s of audio read in {t:.3} s by {who}");
    assert!(took.contains(&t), "{who}: {secs} s took {t:.3} s");
    bytes
}

/// Left channel of s16le stereo, as floats.
fn left(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(FRAME)
        .map(|f| f32::from(i16::from_le_bytes([f[0], f[1]])) / 32_767.0)
        .collect()
}

/// The 1 kHz sine at -6 dB, the same on both channels.
fn assert_sine(bytes: &[u8]) {
    let l = left(bytes);
    let (peak, want, hz) = (peak(&l), sine_peak(), hz(&l, RATE));
    assert!((peak - want).abs() < 0.01, "peak {peak} want {want}");
    assert!((hz - SINE_HZ).abs() < 10.0, "{hz} Hz");
    assert!(
        bytes.chunks_exact(FRAME).all(|f| f[0..2] == f[2..4]),
        "L and R differ"
    );
}

/// A fresh folder, a `PipeBackend` on a FIFO it made there, and the sine mixer for it (not
/// started yet).
struct Setup {
    _dir: tempfile::TempDir,
    fifo: PathBuf,
    backend: PipeBackend,
    handle: AudioHandle,
    processor: Option<AudioProcessor>,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("snapfifo");
    let backend = PipeBackend::open(&fifo, PcmFormat::default()).expect("open");
    let (handle, processor) = sine_mixer(RATE);
    Setup {
        _dir: dir,
        fifo,
        backend,
        handle,
        processor: Some(processor),
    }
}

impl Setup {
    fn start(&mut self) {
        let p = self.processor.take().expect("not started yet");
        self.backend.start(p).expect("start");
    }

    /// Seconds of audio the mixer has rendered.
    fn rendered(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let s = self.handle.stats().frames_rendered as f64 / f64::from(RATE);
        s
    }
}

#[test]
fn plays_the_mix_into_a_fifo_at_the_real_time_rate() {
    let mut t = setup();
    let fifo = t.fifo.clone();
    let meta = std::fs::metadata(&fifo).expect("made");
    assert!(meta.file_type().is_fifo(), "open makes a FIFO");
    assert_eq!(t.backend.sample_rate(), RATE);
    // Paced: an unpaced writer would fill 2 s in milliseconds.
    let reader = {
        let fifo = fifo.clone();
        thread::spawn(move || read_paced(&fifo, 2.0, 1.7..3.0, "a waiting reader"))
    };
    thread::sleep(Duration::from_millis(50)); // the reader is waiting on an empty pipe
    t.start();
    let bytes = reader.join().expect("reader");
    assert_sine(&bytes[seconds(0.05)..]);
    assert!(t.backend.stop().expect("stop").is_some(), "processor back");
    let stats = t.backend.stats();
    println!("{stats:?}, mixer {:.3} s", t.rendered());
    assert!(stats.frames_written >= 96_000, "{stats:?}");
    assert_eq!(stats.blocks_dropped, 0);
}

#[test]
fn a_late_reader_gets_live_audio_and_the_mixer_never_waits() {
    let mut t = setup();
    let started = Instant::now();
    t.start();
    thread::sleep(Duration::from_millis(700));
    // Nobody read: the mixer kept its pace and the queue was trimmed.
    let (rendered, elapsed) = (t.rendered(), started.elapsed().as_secs_f64());
    println!("{rendered:.3} s rendered in {elapsed:.3} s with no reader");
    assert!(
        rendered > elapsed - 0.2 && rendered < elapsed + 0.1,
        "{rendered} s in {elapsed} s"
    );
    let stats = t.backend.stats();
    assert!(stats.frames_discarded > 0, "{stats:?}");
    // At most 200 ms wait in the pipe: the late reader gets that at once, then the live mix.
    let bytes = read_paced(&t.fifo, 0.6, 0.3..1.5, "a late reader");
    assert_sine(&bytes);
    assert!(t.backend.stop().expect("stop").is_some());
}

#[test]
fn a_reader_that_leaves_comes_back_or_stalls_never_stops_the_mix() {
    let mut t = setup();
    let fifo = t.fifo.clone();
    t.start();
    let (first, _) = read_fifo(&fifo, seconds(0.3), Duration::from_secs(10));
    assert_sine(&first[seconds(0.05)..]);
    // The reader closed its end; nothing happens to us while nobody reads.
    thread::sleep(Duration::from_millis(500));
    let (again, _) = read_fifo(&fifo, seconds(0.3), Duration::from_secs(10));
    assert_sine(&again);
    // A reader that opens and then reads nothing: the pipe fills, the mixer keeps its pace.
    let stalled = File::open(&fifo).expect("open");
    let before = (Instant::now(), t.rendered());
    thread::sleep(Duration::from_millis(800));
    let after = (Instant::now(), t.rendered());
    drop(stalled);
    let rendered = after.1 - before.1;
    let wall = (after.0 - before.0).as_secs_f64();
    println!("stalled reader: {rendered:.3} s rendered in {wall:.3} s");
    assert!((rendered - wall).abs() < 0.15, "{rendered} s in {wall} s");
    let (last, _) = read_fifo(&fifo, seconds(0.3), Duration::from_secs(10));
    assert_sine(&last);
    assert!(t.backend.stop().expect("stop").is_some(), "still alive");
    let stats = t.backend.stats();
    println!("{stats:?}");
    assert_eq!(
        stats.blocks_dropped, 0,
        "the queue limit keeps writes whole"
    );
}

#[test]
fn a_replaced_fifo_is_found_again() {
    let mut t = setup();
    let fifo = t.fifo.clone();
    t.start();
    // E.g. snapserver restarted after someone removed the FIFO: a new FIFO, same path.
    std::fs::remove_file(&fifo).expect("remove");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .expect("mkfifo");
    let (bytes, _) = read_fifo(&fifo, seconds(0.3), Duration::from_secs(5));
    assert_sine(&bytes);
    assert!(t.backend.stop().expect("stop").is_some());
    assert_eq!(t.backend.stats().reopens, 1);
}

#[test]
fn a_path_that_is_not_a_fifo_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("mix.raw");
    std::fs::write(&file, b"abc").expect("write");
    let err = PipeBackend::open(&file, PcmFormat::default()).expect_err("a regular file");
    let msg = err.to_string();
    println!("{msg}");
    assert!(
        msg.starts_with("failed to open the FIFO ")
            && msg.contains("is a regular file, not a FIFO"),
        "{msg}"
    );
    assert_eq!(std::fs::read(&file).expect("read"), b"abc", "left alone");
    let err = PipeBackend::open(dir.path(), PcmFormat::default()).expect_err("a folder");
    assert!(err.to_string().contains("is a folder, not a FIFO"), "{err}");
    let err = PipeBackend::open(&dir.path().join("no/such/dir/fifo"), PcmFormat::default())
        .expect_err("no parent");
    assert!(
        err.to_string().starts_with("failed to create the FIFO "),
        "{err}"
    );
}

/// Kills the child if the test fails half-way.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn run_plays_a_ceremony_into_a_fifo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("snapfifo");
    let child = Command::new(assert_cmd::cargo::cargo_bin("sanctum"))
        .env("STATE_DIRECTORY", fresh_state())
        .arg("run")
        .arg("tests/fixtures/engine")
        .arg("--output")
        .arg(format!("pipe:{}", fifo.display()))
        .args(["--no-mqtt", "--speed", "10"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sanctum");
    let mut child = Reap(child);
    // sanctum makes the FIFO.
    let t = Instant::now();
    while !std::fs::metadata(&fifo).is_ok_and(|m| m.file_type().is_fifo()) {
        assert!(t.elapsed() < Duration::from_secs(20), "no FIFO made");
        thread::sleep(Duration::from_millis(20));
    }
    let bytes = read_paced(&fifo, 2.0, 1.5..4.0, "a reader of `sanctum run`");
    // Phase one fades the 220 Hz tone in on the bed (its chime comes 1.5 s in, at 15 s of
    // ceremony time).
    let tail = left(&bytes[seconds(0.5)..seconds(1.1)]);
    let (peak, hz) = (peak(&tail), hz(&tail, RATE));
    println!("bed peak {peak:.4}, {hz:.1} Hz");
    assert!(peak > 0.003, "silent: peak {peak}");
    assert!((hz - 220.0).abs() < 10.0, "{hz} Hz");
    let stdin = child.0.stdin.as_mut().expect("stdin");
    stdin.write_all(b"stop\n").expect("stop");
    let t = Instant::now();
    while child.0.try_wait().expect("wait").is_none() {
        assert!(t.elapsed() < Duration::from_secs(20), "did not stop");
        thread::sleep(Duration::from_millis(50));
    }
    let mut out = String::new();
    let mut err = String::new();
    child
        .0
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read stdout");
    child
        .0
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    assert!(
        child
            .0
            .try_wait()
            .expect("status")
            .is_some_and(|s| s.success()),
        "{out}\n{err}"
    );
    assert!(out.contains("▶ phase 1/4 one"), "{out}");
    assert!(out.trim_end().ends_with("■ stopped"), "{out}");
    assert!(err.contains("created the FIFO"), "{err}");
}
