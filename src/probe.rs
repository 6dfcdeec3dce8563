//! Probing sound files without playing them: owns "is this file playable audio, and how long
//! is it", for `sanctum check` and config resolution (which use it from here, beside the
//! audio engine rather than inside it). Reads the header, decodes the first
//! packet and the last fraction of a second, and for Ogg checks the last page's
//! end-of-stream mark. Must not play, resample or decode whole files, and must never run on
//! the real-time side.
//!
//! It opens files through the same symphonia registry rodio decodes with (Ogg Vorbis, FLAC,
//! WAV, MP3), so a file that probes clean is one the player can open.

use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use symphonia::core::checksum::Crc32;
use symphonia::core::codecs::{CODEC_TYPE_NULL, Decoder, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader, SeekMode, SeekTo};
use symphonia::core::io::{MediaSource, MediaSourceStream, MediaSourceStreamOptions, Monitor};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Bytes read from the start of a file to recognise it.
const HEAD: usize = 4096;
/// Largest possible Ogg page: header, 255 lacing values, 255 segments of 255 bytes.
const OGG_PAGE_MAX: u64 = 27 + 255 + 255 * 255;
/// How far before the promised end the tail check starts decoding, in seconds.
const TAIL: f64 = 0.25;
/// How far short of the promised end the data may stop and still count as whole, in seconds
/// (MP3 encoder delay and padding, a last partial block).
const SLACK: f64 = 0.1;
/// Packets the tail check decodes at most before it calls the end reached.
const MAX_TAIL_PACKETS: usize = 4096;

/// What a sound file holds, as far as its probe can tell.
#[derive(Debug, Clone, PartialEq)]
pub struct SoundInfo {
    /// The file's own sample rate.
    pub sample_rate: u32,
    /// Channels, when the header says.
    pub channels: Option<usize>,
    /// How long it plays, when the header (or the last Ogg page) says.
    pub duration: Option<Duration>,
}

/// Why a sound file would not play (or not play to its end).
#[derive(Debug, thiserror::Error)]
#[error("failed to probe {}: the file is {kind}", path.display())]
pub struct ProbeError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub kind: ProbeErrorKind,
}

/// What is wrong with a sound file. Displays as the complement of "the file is …".
#[derive(Debug)]
#[non_exhaustive]
pub enum ProbeErrorKind {
    /// It cannot be opened or read.
    Unreadable(std::io::Error),
    /// It is not a regular file: a directory, a FIFO, a device… (what it is).
    NotAFile(&'static str),
    /// It has no bytes at all.
    Empty,
    /// No decoder recognises it, or its first packet does not decode.
    NotAudio(String),
    /// It stops before its end.
    Truncated(Cut),
}

/// How a truncated file is cut.
#[derive(Debug, Clone, PartialEq)]
pub enum Cut {
    /// The file ends inside its header.
    InHeader,
    /// The header promises a length the decodable data does not reach.
    Short {
        /// Length the header promises.
        promised: Duration,
        /// Where decodable data ends.
        stops_at: Duration,
    },
    /// An Ogg stream whose last page (the one marked end-of-stream) is missing.
    NoOggEnd {
        /// Where the last complete page's audio ends, if any page survives.
        stops_at: Option<Duration>,
    },
}

impl fmt::Display for ProbeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable(e) => write!(f, "unreadable: {e}"),
            Self::NotAFile(what) => write!(f, "{what}, not a regular file"),
            Self::Empty => f.write_str("empty (0 bytes)"),
            Self::NotAudio(why) => write!(f, "not audio: {why}"),
            Self::Truncated(cut) => write!(f, "truncated: {cut}"),
        }
    }
}

impl std::error::Error for ProbeErrorKind {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Unreadable(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InHeader => f.write_str("the file ends inside its header"),
            Self::Short { promised, stops_at } => write!(
                f,
                "its header promises {:.1} s but the data stops at {:.1} s",
                promised.as_secs_f64(),
                stops_at.as_secs_f64()
            ),
            Self::NoOggEnd { stops_at: Some(at) } => write!(
                f,
                "the Ogg stream has no end-of-stream page; the data stops at {:.1} s",
                at.as_secs_f64()
            ),
            Self::NoOggEnd { stops_at: None } => {
                f.write_str("the Ogg stream has no end-of-stream page and no complete last page")
            }
        }
    }
}

/// Checks that `path` is audio sanctum can play to its end, and says how long it is.
///
/// Cheap by design: it reads the header and the first packet, then seeks to a quarter of a
/// second before the promised end and decodes from there; an Ogg file's tail is also scanned
/// for its end-of-stream page. Nothing in between is decoded.
///
/// # Errors
/// Returns a [`ProbeError`] if the file is unreadable, empty, not audio, or truncated.
pub fn probe_file(path: &Path) -> Result<SoundInfo, ProbeError> {
    probe_kind(path).map_err(|kind| ProbeError {
        path: path.to_owned(),
        kind,
    })
}

/// Checks sound data held in memory, as [`probe_file`] checks a file; `extension` is the
/// file name's extension (a hint for the format, as a file's name gives).
///
/// # Errors
/// What is wrong with the data.
pub fn probe_bytes(bytes: Vec<u8>, extension: Option<&str>) -> Result<SoundInfo, ProbeErrorKind> {
    let len = bytes.len() as u64;
    probe_source(std::io::Cursor::new(bytes), len, extension)
}

fn probe_kind(path: &Path) -> Result<SoundInfo, ProbeErrorKind> {
    let file = crate::files::open_regular(path).map_err(|e| match e {
        crate::files::FileError::NotRegular(what) => ProbeErrorKind::NotAFile(what),
        other => ProbeErrorKind::Unreadable(other.into_io()),
    })?;
    let len = file.metadata().map_err(ProbeErrorKind::Unreadable)?.len();
    let extension = path.extension().and_then(|e| e.to_str());
    probe_source(file, len, extension)
}

fn probe_source<R: MediaSource + 'static>(
    mut file: R,
    len: u64,
    extension: Option<&str>,
) -> Result<SoundInfo, ProbeErrorKind> {
    if len == 0 {
        return Err(ProbeErrorKind::Empty);
    }
    let head = read_head(&mut file).map_err(ProbeErrorKind::Unreadable)?;
    tags::check_metadata_lengths(&mut file, len)
        .map_err(ProbeErrorKind::Unreadable)?
        .map_err(ProbeErrorKind::NotAudio)?;
    let container = Container::sniff(&head);
    let ogg_end = if container == Container::Ogg {
        Some(ogg_last_pages(&mut file, len).map_err(ProbeErrorKind::Unreadable)?)
    } else {
        None
    };
    file.seek(SeekFrom::Start(0))
        .map_err(ProbeErrorKind::Unreadable)?;
    // symphonia asserts on some malformed headers instead of returning an error (a WAV with
    // a sample rate of 0: found by fuzzing); such a file is not audio, and `check` goes on.
    contain::contain(move || probe_stream(file, extension, &head, container, ogg_end))
        .map_err(ProbeErrorKind::NotAudio)?
}

/// The symphonia half of a probe: opens the stream, decodes its first packet and checks its
/// end (`ogg_end`: what the Ogg tail scan found).
fn probe_stream<R: MediaSource + 'static>(
    file: R,
    extension: Option<&str>,
    head: &[u8],
    container: Container,
    ogg_end: Option<OggTail>,
) -> Result<SoundInfo, ProbeErrorKind> {
    let mut stream = Stream::open(file, extension, head)?;
    let info = stream.info();
    let rate = f64::from(info.sample_rate);
    let seconds = |frames: u64| {
        #[allow(clippy::cast_precision_loss)]
        let s = frames as f64 / rate;
        Duration::from_secs_f64(s)
    };
    let first = match stream.next_decoded() {
        Ok(Some(end)) => end,
        Ok(None) => {
            return Err(match stream.n_frames {
                Some(n) if n > 0 => ProbeErrorKind::Truncated(Cut::Short {
                    promised: seconds(n),
                    stops_at: Duration::ZERO,
                }),
                _ => ProbeErrorKind::NotAudio("it holds no audio packets".to_owned()),
            });
        }
        Err(e) => {
            return Err(ProbeErrorKind::NotAudio(format!(
                "its first packet does not decode ({e})"
            )));
        }
    };
    if let Some(tail) = ogg_end
        && !tail.eos
    {
        let stops_at = tail
            .granule
            .map(|g| seconds(g.saturating_sub(stream.start_ts)));
        return Err(ProbeErrorKind::Truncated(Cut::NoOggEnd { stops_at }));
    }
    let promise_holds = match container {
        // An MP3 without a Xing/Info/VBRI frame count has a length estimated from its size,
        // which is no promise: a VBR file would look truncated.
        Container::Mp3 => mp3_has_frame_count(head),
        // A WAV written as a stream (by a recorder or a pipe) leaves 0xFFFFFFFF as its size.
        Container::Wav => !wav_size_unknown(head),
        Container::Ogg | Container::Other => true,
    };
    // A header that promises no frames promises nothing to check (and symphonia 0.5.5's MP3
    // seek divides by that length: found by fuzzing).
    if let Some(n) = stream.n_frames.filter(|n| promise_holds && *n > 0) {
        let end = stream.start_ts + n;
        let slack = (SLACK * rate) as u64;
        let from = end
            .saturating_sub((TAIL * rate) as u64)
            .max(stream.start_ts);
        let stops = match stream.decode_from(from, end) {
            Reach::Reached => None,
            Reach::Stopped(Some(e)) if e + slack >= end => None,
            Reach::Stopped(Some(e)) => Some(e),
            Reach::Stopped(None) => Some(stream.last_decodable(first, from, end)),
        };
        if let Some(stop) = stops {
            return Err(ProbeErrorKind::Truncated(Cut::Short {
                promised: seconds(n),
                stops_at: seconds(stop.saturating_sub(stream.start_ts)),
            }));
        }
    }
    Ok(info)
}

fn read_head(file: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(HEAD);
    file.by_ref().take(HEAD as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// What the first bytes say a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Ogg,
    Wav,
    Mp3,
    Other,
}

impl Container {
    fn sniff(head: &[u8]) -> Self {
        let body = skip_id3v2(head);
        if head.starts_with(b"OggS") {
            Self::Ogg
        } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WAVE" {
            Self::Wav
        } else if body.len() >= 2 && body[0] == 0xFF && body[1] & 0xE0 == 0xE0 {
            Self::Mp3
        } else {
            Self::Other
        }
    }
}

/// The bytes after an ID3v2 tag (all of `head` if there is none).
fn skip_id3v2(head: &[u8]) -> &[u8] {
    if head.len() < 10 || !head.starts_with(b"ID3") {
        return head;
    }
    // The tag size is four 7-bit bytes ("synchsafe"), not counting the 10-byte header.
    let size = head[6..10]
        .iter()
        .fold(0usize, |acc, b| (acc << 7) | usize::from(b & 0x7F));
    head.get(10 + size..).unwrap_or(&[])
}

/// Whether an MP3's first frame carries a Xing, Info or VBRI frame count.
fn mp3_has_frame_count(head: &[u8]) -> bool {
    let body = skip_id3v2(head);
    let first_frame = &body[..body.len().min(64)];
    first_frame
        .windows(4)
        .any(|w| w == b"Xing" || w == b"Info" || w == b"VBRI")
}

/// Whether a WAV's `data` chunk (found in its first bytes) has the streaming placeholder size.
fn wav_size_unknown(head: &[u8]) -> bool {
    let mut at = 12;
    while let Some(chunk) = head.get(at..at + 8) {
        let size = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        if &chunk[..4] == b"data" {
            return size == u32::MAX;
        }
        // Chunks are padded to an even length.
        at += 8 + size as usize + (size as usize & 1);
    }
    false
}

/// Text rather than audio: printable UTF-8 in its first bytes.
fn looks_like_text(head: &[u8]) -> bool {
    let sample = &head[..head.len().min(512)];
    let text = match std::str::from_utf8(sample) {
        Ok(t) => t,
        // A multi-byte character cut at the sample's end is still text.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&sample[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !text.is_empty()
        && text
            .chars()
            .all(|c| !c.is_control() || c.is_ascii_whitespace())
}

/// How a tail read ended.
enum Reach {
    /// It decoded up to the wanted end (or far enough that the end is surely there).
    Reached,
    /// The data stopped; the end of the last packet that decoded, if any did.
    Stopped(Option<u64>),
}

/// An opened file with its first audio track's decoder.
struct Stream {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track: u32,
    start_ts: u64,
    n_frames: Option<u64>,
    sample_rate: u32,
    channels: Option<usize>,
}

impl Stream {
    fn open(
        file: impl MediaSource + 'static,
        extension: Option<&str>,
        head: &[u8],
    ) -> Result<Self, ProbeErrorKind> {
        let mut hint = Hint::new();
        if let Some(ext) = extension {
            hint.with_extension(ext);
        }
        let mss = MediaSourceStream::new(Box::new(file), MediaSourceStreamOptions::default());
        let options = FormatOptions {
            enable_gapless: true,
            ..FormatOptions::default()
        };
        let probed = symphonia::default::get_probe()
            .format(&hint, mss, &options, &MetadataOptions::default())
            .map_err(|e| not_audio(&e, head))?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| ProbeErrorKind::NotAudio("it has no audio track".to_owned()))?;
        let params = track.codec_params.clone();
        let track = track.id;
        let sample_rate = params
            .sample_rate
            .filter(|r| *r > 0)
            .ok_or_else(|| ProbeErrorKind::NotAudio("its header gives no sample rate".into()))?;
        let decoder = symphonia::default::get_codecs()
            .make(&params, &DecoderOptions::default())
            .map_err(|e| ProbeErrorKind::NotAudio(format!("no decoder for its codec ({e})")))?;
        Ok(Self {
            format,
            decoder,
            track,
            start_ts: params.start_ts,
            n_frames: params.n_frames,
            sample_rate,
            channels: params.channels.map(|c| c.count()),
        })
    }

    fn info(&self) -> SoundInfo {
        #[allow(clippy::cast_precision_loss)]
        let duration = self
            .n_frames
            .map(|n| Duration::from_secs_f64(n as f64 / f64::from(self.sample_rate)));
        SoundInfo {
            sample_rate: self.sample_rate,
            channels: self.channels,
            duration,
        }
    }

    /// Reads and decodes the next packet of the track: the timestamp where it ends, `None`
    /// at the end of the data.
    fn next_decoded(&mut self) -> Result<Option<u64>, SymphoniaError> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(p) => p,
                Err(SymphoniaError::IoError(e))
                    if e.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            if packet.track_id() != self.track {
                continue;
            }
            // A WAV packet cut short by the end of the file still claims its full length;
            // what it decodes to does not.
            let frames = self.decoder.decode(&packet)?.frames() as u64;
            return Ok(Some(packet.ts() + packet.dur().min(frames)));
        }
    }

    /// Seeks to `from` and decodes until a packet ends at or after `until`.
    fn decode_from(&mut self, from: u64, until: u64) -> Reach {
        let to = SeekTo::TimeStamp {
            ts: from,
            track_id: self.track,
        };
        if self.format.seek(SeekMode::Coarse, to).is_err() {
            return Reach::Stopped(None);
        }
        self.decoder.reset();
        let mut last = None;
        for _ in 0..MAX_TAIL_PACKETS {
            match self.next_decoded() {
                Ok(Some(end)) if end >= until => return Reach::Reached,
                Ok(Some(end)) => last = Some(end),
                Ok(None) | Err(_) => return Reach::Stopped(last),
            }
        }
        Reach::Reached
    }

    /// Where decodable data ends, somewhere between `first` (the end of the first packet)
    /// and `beyond` (where a seek finds nothing): bisects with seeks, then reads to the end.
    fn last_decodable(&mut self, first: u64, beyond: u64, until: u64) -> u64 {
        let step = u64::from(self.sample_rate / 50).max(1);
        let (mut good, mut bad) = (first, beyond);
        let mut stop = first;
        while bad > good + step {
            let mid = good + (bad - good) / 2;
            match self.decode_from(mid, mid + 1) {
                Reach::Reached | Reach::Stopped(Some(_)) => good = mid,
                Reach::Stopped(None) => bad = mid,
            }
        }
        if let Reach::Stopped(Some(end)) = self.decode_from(good, until) {
            stop = stop.max(end);
        }
        stop
    }
}

fn not_audio(e: &SymphoniaError, head: &[u8]) -> ProbeErrorKind {
    match e {
        SymphoniaError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            if Container::sniff(head) == Container::Other && looks_like_text(head) {
                ProbeErrorKind::NotAudio(
                    "it looks like a text file, not OGG, FLAC, WAV or MP3".to_owned(),
                )
            } else {
                ProbeErrorKind::Truncated(Cut::InHeader)
            }
        }
        SymphoniaError::Unsupported(_) if looks_like_text(head) => ProbeErrorKind::NotAudio(
            "it looks like a text file, not OGG, FLAC, WAV or MP3".to_owned(),
        ),
        SymphoniaError::Unsupported(_) => {
            ProbeErrorKind::NotAudio("no OGG, FLAC, WAV or MP3 stream found in it".to_owned())
        }
        other => ProbeErrorKind::NotAudio(other.to_string()),
    }
}

/// The end of an Ogg file: whether its last complete page ends the stream, and the granule
/// position (the audio's end, in frames) of the last complete page that has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OggTail {
    eos: bool,
    granule: Option<u64>,
}

/// Scans the last two page-lengths of an Ogg file for its last complete, CRC-checked page.
fn ogg_last_pages(file: &mut (impl Read + Seek), len: u64) -> std::io::Result<OggTail> {
    let start = len.saturating_sub(2 * OGG_PAGE_MAX);
    file.seek(SeekFrom::Start(start))?;
    let mut buf = Vec::new();
    file.by_ref().take(len - start).read_to_end(&mut buf)?;
    Ok(ogg_tail(&buf))
}

fn ogg_tail(buf: &[u8]) -> OggTail {
    let mut tail = OggTail {
        eos: false,
        granule: None,
    };
    let mut seen_last = false;
    let starts = buf.windows(4).enumerate().filter(|(_, w)| *w == b"OggS");
    let starts: Vec<usize> = starts.map(|(i, _)| i).collect();
    for &at in starts.iter().rev() {
        let Some(page) = ogg_page(&buf[at..]) else {
            continue;
        };
        if !seen_last {
            seen_last = true;
            tail.eos = page.eos;
        }
        if page.granule.is_some() {
            tail.granule = page.granule;
            break;
        }
    }
    tail
}

struct OggPage {
    eos: bool,
    granule: Option<u64>,
}

/// The page at the start of `buf`, if it is whole and its CRC matches.
fn ogg_page(buf: &[u8]) -> Option<OggPage> {
    let header = buf.get(..27)?;
    if &header[..4] != b"OggS" || header[4] != 0 {
        return None;
    }
    let segments = usize::from(header[26]);
    let lacing = buf.get(27..27 + segments)?;
    let body: usize = lacing.iter().map(|l| usize::from(*l)).sum();
    let page = buf.get(..27 + segments + body)?;
    let stored = u32::from_le_bytes([page[22], page[23], page[24], page[25]]);
    // The Ogg page checksum is symphonia's CRC-32 (0x04C11DB7, not reflected), taken with the
    // checksum field zeroed.
    let mut crc = Crc32::new(0);
    for part in [&page[..22], &[0; 4], &page[26..]] {
        crc.process_buf_bytes(part);
    }
    if crc.crc() != stored {
        return None;
    }
    let granule = u64::from_le_bytes(page[6..14].try_into().ok()?);
    Some(OggPage {
        eos: page[5] & 0x04 != 0,
        // -1: no packet ends on this page.
        granule: (granule != u64::MAX).then_some(granule),
    })
}

pub(crate) mod contain;
pub(crate) mod tags;
#[cfg(test)]
mod tests;
