//! Tests of [`super`]: real files and crafted bytes, probed as `check` probes them.

use super::*;

const RAIN: &str = "sounds/rain.ogg";
const CHIME: &str = "sounds/chime.ogg";

fn wav(path: &Path, seconds: f64) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 8_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create");
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let frames = (seconds * 8_000.0) as usize;
    for i in 0..frames * 2 {
        #[allow(clippy::cast_possible_truncation)]
        w.write_sample(((i % 200) as i16 - 100) * 50)
            .expect("sample");
    }
    w.finalize().expect("finalize");
}

fn kind(path: &Path) -> ProbeErrorKind {
    probe_file(path).expect_err("bad file").kind
}

fn cut(path: &Path, fraction: f64) {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open");
    let len = f.metadata().expect("meta").len();
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    f.set_len((len as f64 * fraction) as u64).expect("truncate");
}

#[test]
fn the_shipped_sounds_probe_clean_with_their_length() {
    let info = probe_file(Path::new(RAIN)).expect("rain");
    assert_eq!(info.sample_rate, 48_000);
    assert_eq!(info.channels, Some(2));
    let secs = info.duration.expect("length").as_secs_f64();
    assert!((secs - 96.0).abs() < 0.1, "{secs}");
    assert!(probe_file(Path::new(CHIME)).is_ok());
}

#[test]
fn a_whole_wav_passes_and_its_length_is_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.wav");
    wav(&path, 2.0);
    let info = probe_file(&path).expect("whole wav");
    assert_eq!(info.duration, Some(Duration::from_secs(2)));
}

#[test]
fn a_wav_whose_data_stops_early_is_truncated_with_both_lengths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.wav");
    wav(&path, 4.0);
    // 44-byte header, 32_000 bytes a second: keep 1.5 s of data.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open")
        .set_len(44 + 48_000)
        .expect("truncate");
    let k = kind(&path);
    let ProbeErrorKind::Truncated(Cut::Short { promised, stops_at }) = &k else {
        panic!("{k}");
    };
    assert_eq!(*promised, Duration::from_secs(4));
    assert!((stops_at.as_secs_f64() - 1.5).abs() < 0.05, "{k}");
    assert_eq!(
        k.to_string(),
        "truncated: its header promises 4.0 s but the data stops at 1.5 s"
    );
}

#[test]
fn a_streamed_wav_without_a_size_is_not_called_truncated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("stream.wav");
    wav(&path, 1.0);
    let mut bytes = std::fs::read(&path).expect("read");
    assert_eq!(&bytes[36..40], b"data");
    // Both the RIFF and the data size, as a recorder writing to a pipe leaves them.
    bytes[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    bytes[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, &bytes).expect("write");
    assert!(wav_size_unknown(&bytes));
    probe_file(&path).expect("plays to its end");
    // The same file with an honest size that overstates the data is truncated.
    bytes[40..44].copy_from_slice(&64_000u32.to_le_bytes());
    std::fs::write(&path, &bytes).expect("write");
    assert!(matches!(kind(&path), ProbeErrorKind::Truncated(_)));
}

#[test]
fn a_cut_ogg_has_no_end_of_stream_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rain.ogg");
    std::fs::copy(RAIN, &path).expect("copy");
    cut(&path, 0.43);
    let k = kind(&path);
    let ProbeErrorKind::Truncated(Cut::NoOggEnd { stops_at: Some(at) }) = &k else {
        panic!("{k}");
    };
    // Vorbis at quality 3 is near constant bit rate: 43 % of the bytes is about 43 % of 96 s.
    assert!((at.as_secs_f64() - 41.3).abs() < 5.0, "{k}");
    assert!(
        k.to_string()
            .starts_with("truncated: the Ogg stream has no end-of-stream page; the data stops at ")
    );
}

#[test]
fn empty_text_and_header_only_files_are_named_for_what_they_are() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.ogg");
    std::fs::write(&empty, b"").expect("write");
    assert!(matches!(kind(&empty), ProbeErrorKind::Empty));
    let text = dir.path().join("notes.ogg");
    std::fs::write(&text, "remember to light the candles\n".repeat(20)).expect("write");
    assert_eq!(
        kind(&text).to_string(),
        "not audio: it looks like a text file, not OGG, FLAC, WAV or MP3"
    );
    let noise = dir.path().join("noise.wav");
    let bytes: Vec<u8> = (0u32..5000).map(|i| (i * 7 % 251) as u8 | 0x80).collect();
    std::fs::write(&noise, bytes).expect("write");
    assert!(
        matches!(kind(&noise), ProbeErrorKind::NotAudio(_)),
        "{}",
        kind(&noise)
    );
    let header = dir.path().join("header.wav");
    wav(&header, 1.0);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&header)
        .expect("open")
        .set_len(30)
        .expect("truncate");
    assert!(
        matches!(kind(&header), ProbeErrorKind::Truncated(Cut::InHeader)),
        "{}",
        kind(&header)
    );
    let missing = dir.path().join("missing.ogg");
    assert!(matches!(kind(&missing), ProbeErrorKind::Unreadable(_)));
}

#[test]
fn the_ogg_page_checksum_matches_a_real_page() {
    let bytes = std::fs::read(CHIME).expect("chime");
    let page = ogg_page(&bytes).expect("first page is whole");
    assert!(!page.eos);
    let tail = ogg_tail(&bytes);
    assert!(tail.eos);
    assert!(tail.granule.is_some());
    // One flipped bit in the body and the page no longer counts.
    let mut broken = bytes[..200].to_vec();
    broken[40] ^= 1;
    assert!(ogg_page(&broken).is_none());
}

#[test]
fn an_mp3_whose_info_tag_counts_no_frames_is_probed_without_a_panic() {
    // fuzz/regressions/probe-mp3-zero-frames (after the target's selector byte): the
    // tail check used to seek, and symphonia divided by the promised length of 0.
    let bytes = include_bytes!("../../fuzz/regressions/probe-mp3-zero-frames");
    let _ = probe_bytes(bytes[1..].to_vec(), Some("mp3"));
    let _ = probe_bytes(bytes[1..].to_vec(), None);
}

#[test]
fn mp3_frame_counts_are_found_past_an_id3_tag() {
    let mut head = b"ID3\x04\x00\x00\x00\x00\x00\x05abcde".to_vec();
    head.extend_from_slice(&[0xFF, 0xFB, 0x50, 0xC4]);
    head.extend_from_slice(&[0; 32]);
    head.extend_from_slice(b"Info");
    assert_eq!(Container::sniff(&head), Container::Mp3);
    assert!(mp3_has_frame_count(&head));
    head.truncate(head.len() - 4);
    assert!(!mp3_has_frame_count(&head));
}
