//! The offline `wav:` output: renders on demand into a stereo WAV file (32-bit float or
//! dithered 16-bit PCM), faster than real time and bit-identical for the same input. Owns the
//! file and its header: written beside the target and renamed over it only once complete, and
//! promoted to RF64 (EBU Tech 3306) when the data outgrows 32-bit RIFF sizes, which float
//! output does after about 3.1 hours at 48 kHz. Must not mix; must not touch a sound device.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{AudioBackend, BackendError};
use crate::audio::AudioProcessor;
use crate::files::AtomicFile;

/// Sample format of a rendered WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WavFormat {
    /// 32-bit float: the mixer's own samples, bit for bit (the default).
    #[default]
    Float32,
    /// 16-bit PCM with TPDF dither from a fixed seed (half the size, plays everywhere; still
    /// deterministic).
    Pcm16,
}

impl WavFormat {
    fn bytes_per_sample(self) -> u16 {
        match self {
            Self::Float32 => 4,
            Self::Pcm16 => 2,
        }
    }
}

/// Channels of every rendered file.
const CHANNELS: u16 = 2;
/// The `JUNK` chunk reserved after `WAVE` is exactly the size of the `ds64` chunk that replaces
/// it when the file becomes RF64, so the header never changes length.
const DS64_BODY: u32 = 28;

/// The header of a stereo WAV file holding `data_bytes` of samples: a RIFF `WAVE` with a
/// `JUNK` placeholder while every size fits in 32 bits, else an RF64 file whose `ds64` chunk
/// holds the 64-bit sizes (the 32-bit fields then read `0xFFFFFFFF`, as the standard says).
/// Float files carry a `fact` chunk, as WAVE_FORMAT_IEEE_FLOAT requires.
#[must_use]
pub fn header(format: WavFormat, rate: u32, data_bytes: u64) -> Vec<u8> {
    let riff_size = u64::from(header_len(format)) - 8 + data_bytes;
    build_header(format, rate, data_bytes, riff_size > u64::from(u32::MAX))
}

fn header_len(format: WavFormat) -> u32 {
    match format {
        // RIFF header, ds64/JUNK, fmt, data chunk header; float adds cbSize and `fact`.
        WavFormat::Pcm16 => 12 + 8 + DS64_BODY + 8 + 16 + 8,
        WavFormat::Float32 => 12 + 8 + DS64_BODY + 8 + 18 + 12 + 8,
    }
}

fn build_header(format: WavFormat, rate: u32, data_bytes: u64, rf64: bool) -> Vec<u8> {
    let bytes = format.bytes_per_sample();
    let block_align = CHANNELS * bytes;
    let frames = data_bytes / u64::from(block_align);
    let (tag, fmt_len) = match format {
        WavFormat::Pcm16 => (1u16, 16u32),
        WavFormat::Float32 => (3u16, 18u32),
    };
    let header_len = header_len(format);
    let riff_size = u64::from(header_len) - 8 + data_bytes;
    let small = |v: u64| {
        if rf64 {
            u32::MAX
        } else {
            u32::try_from(v).unwrap_or(u32::MAX)
        }
    };
    let mut h = Vec::with_capacity(header_len as usize);
    h.extend_from_slice(if rf64 { b"RF64" } else { b"RIFF" });
    h.extend_from_slice(&small(riff_size).to_le_bytes());
    h.extend_from_slice(b"WAVE");
    h.extend_from_slice(if rf64 { b"ds64" } else { b"JUNK" });
    h.extend_from_slice(&DS64_BODY.to_le_bytes());
    if rf64 {
        h.extend_from_slice(&riff_size.to_le_bytes());
        h.extend_from_slice(&data_bytes.to_le_bytes());
        h.extend_from_slice(&frames.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes()); // no table of other chunk sizes
    } else {
        h.extend_from_slice(&[0; DS64_BODY as usize]);
    }
    h.extend_from_slice(b"fmt ");
    h.extend_from_slice(&fmt_len.to_le_bytes());
    h.extend_from_slice(&tag.to_le_bytes());
    h.extend_from_slice(&CHANNELS.to_le_bytes());
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    h.extend_from_slice(&block_align.to_le_bytes());
    h.extend_from_slice(&(bytes * 8).to_le_bytes());
    if format == WavFormat::Float32 {
        h.extend_from_slice(&0u16.to_le_bytes()); // cbSize: no extension
        h.extend_from_slice(b"fact");
        h.extend_from_slice(&4u32.to_le_bytes());
        h.extend_from_slice(&small(frames).to_le_bytes());
    }
    h.extend_from_slice(b"data");
    h.extend_from_slice(&small(data_bytes).to_le_bytes());
    debug_assert_eq!(h.len(), header_len as usize);
    h
}

/// A WAV file being written: samples go to a temp file beside the target; [`WavFile::finish`]
/// writes the final header and renames it over the target.
#[derive(Debug)]
struct WavFile {
    atomic: AtomicFile,
    writer: BufWriter<File>,
    format: WavFormat,
    rate: u32,
    data_bytes: u64,
}

impl WavFile {
    fn create(path: &Path, format: WavFormat, rate: u32) -> std::io::Result<Self> {
        let mut atomic = AtomicFile::create(path)?;
        let mut writer = BufWriter::with_capacity(1 << 16, atomic.file().try_clone()?);
        writer.write_all(&header(format, rate, 0))?;
        Ok(Self {
            atomic,
            writer,
            format,
            rate,
            data_bytes: 0,
        })
    }

    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(bytes)?;
        self.data_bytes += bytes.len() as u64;
        Ok(())
    }

    /// Leaves `n` bytes of data unwritten (a hole in a sparse file): lets tests make a file
    /// of many gigabytes in no time and no disk space.
    #[cfg(test)]
    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        self.writer
            .seek(SeekFrom::Current(i64::try_from(n).unwrap_or(i64::MAX)))?;
        self.data_bytes += n;
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<()> {
        // The end of the data must exist even when its last bytes are a hole.
        let end = self.writer.stream_position()?;
        self.writer.flush()?;
        self.writer.get_ref().set_len(end)?;
        self.writer.seek(SeekFrom::Start(0))?;
        self.writer
            .write_all(&header(self.format, self.rate, self.data_bytes))?;
        self.writer.flush()?;
        self.atomic.commit()
    }
}

/// Offline output: renders on demand into a stereo WAV file.
///
/// Rendering waits for the decoder threads before each block (`process_blocking`), so the
/// file depends only on the inputs and the commands, never on timing. The file appears at its
/// path only when [`AudioBackend::stop`] finishes it; until then (an interrupted render, a
/// full disk, an error) the path keeps what it held before.
pub struct WavBackend {
    path: PathBuf,
    rate: u32,
    block: usize,
    format: WavFormat,
    dither: Dither,
    file: Option<WavFile>,
    processor: Option<AudioProcessor>,
    buf: Vec<f32>,
    bytes: Vec<u8>,
    frames: u64,
}

impl std::fmt::Debug for WavBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavBackend")
            .field("path", &self.path)
            .field("rate", &self.rate)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// Triangular dither for 16-bit output: the sum of two uniform values of ±½ LSB each, from a
/// xorshift generator with a fixed seed so renders stay bit-identical.
#[derive(Debug, Clone)]
struct Dither(u64);

impl Dither {
    fn uniform(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        #[allow(clippy::cast_precision_loss)]
        let unit = (self.0 >> 40) as f32 / (1u64 << 24) as f32;
        unit - 0.5
    }

    fn quantize(&mut self, sample: f32) -> i16 {
        let scaled = sample * 32_767.0 + self.uniform() + self.uniform();
        #[allow(clippy::cast_possible_truncation)]
        let q = scaled.round().clamp(-32_768.0, 32_767.0) as i16;
        q
    }
}

impl WavBackend {
    /// An output that will write `path` at `rate` as 32-bit float.
    #[must_use]
    pub fn new(path: &Path, rate: u32) -> Self {
        Self {
            path: path.to_owned(),
            rate,
            block: 480,
            format: WavFormat::Float32,
            dither: Dither(0x9E37_79B9_7F4A_7C15),
            file: None,
            processor: None,
            buf: vec![0.0; 480 * 2],
            bytes: Vec::with_capacity(480 * 2 * 4),
            frames: 0,
        }
    }

    /// The same output writing `format` instead.
    #[must_use]
    pub fn with_format(mut self, format: WavFormat) -> Self {
        self.format = format;
        self
    }

    /// Frames rendered so far.
    #[must_use]
    pub fn frames(&self) -> u64 {
        self.frames
    }

    fn err(&self, e: &dyn std::fmt::Display) -> BackendError {
        BackendError::Wav {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    /// Renders `frames` more frames into the file.
    ///
    /// # Errors
    /// If the output was not started or the file cannot be written.
    pub fn render(&mut self, frames: u64) -> Result<(), BackendError> {
        let (Some(p), Some(file)) = (self.processor.as_mut(), self.file.as_mut()) else {
            return Err(BackendError::State("not started"));
        };
        let mut left = frames;
        while left > 0 {
            #[allow(clippy::cast_possible_truncation)]
            let n = left.min(self.block as u64) as usize;
            let out = &mut self.buf[..n * 2];
            p.process_blocking(out);
            self.bytes.clear();
            match self.format {
                WavFormat::Float32 => {
                    for s in out.iter() {
                        self.bytes.extend_from_slice(&s.to_le_bytes());
                    }
                }
                WavFormat::Pcm16 => {
                    for s in out.iter() {
                        let q = self.dither.quantize(*s);
                        self.bytes.extend_from_slice(&q.to_le_bytes());
                    }
                }
            }
            if let Err(e) = file.write(&self.bytes) {
                return Err(BackendError::Wav {
                    path: self.path.clone(),
                    message: e.to_string(),
                });
            }
            left -= n as u64;
            self.frames += n as u64;
        }
        Ok(())
    }

    /// Renders until the file holds `frame` frames (nothing if it already does). Rendering to
    /// absolute positions keeps long renders free of rounding drift.
    ///
    /// # Errors
    /// As for [`WavBackend::render`].
    pub fn render_to(&mut self, frame: u64) -> Result<(), BackendError> {
        self.render(frame.saturating_sub(self.frames))
    }

    /// Renders `d` of audio.
    ///
    /// # Errors
    /// As for [`WavBackend::render`].
    pub fn render_for(&mut self, d: Duration) -> Result<(), BackendError> {
        self.render(crate::units::frames(d, self.rate))
    }

    /// Stops without finishing the file: the partial render is deleted and the path keeps
    /// what it held before (for a render that failed).
    pub fn abandon(&mut self) -> Option<AudioProcessor> {
        self.file = None;
        self.processor.take()
    }
}

impl AudioBackend for WavBackend {
    fn sample_rate(&self) -> u32 {
        self.rate
    }

    fn start(&mut self, processor: AudioProcessor) -> Result<(), BackendError> {
        if self.processor.is_some() {
            return Err(BackendError::State("already started"));
        }
        let file = WavFile::create(&self.path, self.format, self.rate).map_err(|e| self.err(&e))?;
        self.file = Some(file);
        self.processor = Some(processor);
        Ok(())
    }

    /// Finishes the file (final header, flushed to disk) and moves it to its path.
    fn stop(&mut self) -> Result<Option<AudioProcessor>, BackendError> {
        if let Some(file) = self.file.take() {
            file.finish().map_err(|e| self.err(&e))?;
        }
        Ok(self.processor.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
    }

    fn u64_at(b: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
    }

    #[test]
    fn small_files_are_plain_riff_with_a_junk_placeholder() {
        let h = header(WavFormat::Pcm16, 48_000, 1_000);
        assert_eq!(h.len(), 80);
        assert_eq!(&h[..4], b"RIFF");
        assert_eq!(u32_at(&h, 4), 80 - 8 + 1_000);
        assert_eq!(&h[12..16], b"JUNK");
        assert_eq!(&h[48..52], b"fmt ");
        assert_eq!(u32_at(&h, 76), 1_000);
        let f = header(WavFormat::Float32, 48_000, 8_000);
        assert_eq!(f.len(), 94);
        assert_eq!(&f[74..78], b"fact");
        assert_eq!(u32_at(&f, 82), 1_000, "frames");
        assert_eq!(u32_at(&f, 90), 8_000);
    }

    #[test]
    fn past_four_gibibytes_the_header_becomes_rf64_with_exact_64_bit_sizes() {
        // 3.5 hours of float stereo at 48 kHz: 4.84 GB, past what 32 bits can count.
        let frames: u64 = 48_000 * 3600 * 7 / 2;
        let data = frames * 8;
        assert!(data > u64::from(u32::MAX));
        let h = header(WavFormat::Float32, 48_000, data);
        assert_eq!(h.len(), 94, "the header keeps its length");
        assert_eq!(&h[..4], b"RF64");
        assert_eq!(u32_at(&h, 4), u32::MAX);
        assert_eq!(&h[12..16], b"ds64");
        assert_eq!(u32_at(&h, 16), 28);
        assert_eq!(u64_at(&h, 20), 94 - 8 + data, "RIFF size");
        assert_eq!(u64_at(&h, 28), data, "data size");
        assert_eq!(u64_at(&h, 36), frames, "sample count");
        assert_eq!(u32_at(&h, 44), 0, "no table");
        assert_eq!(u32_at(&h, 82), u32::MAX, "fact defers to ds64");
        assert_eq!(&h[86..90], b"data");
        assert_eq!(u32_at(&h, 90), u32::MAX);
        // One byte under the limit stays RIFF; the limit counts the header too.
        let edge = u64::from(u32::MAX) - (94 - 8);
        assert_eq!(&header(WavFormat::Float32, 48_000, edge)[..4], b"RIFF");
        assert_eq!(&header(WavFormat::Float32, 48_000, edge + 8)[..4], b"RF64");
    }

    #[test]
    fn a_sparse_five_gibibyte_render_is_finished_as_rf64() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("long.wav");
        let mut wav = WavFile::create(&path, WavFormat::Float32, 48_000).expect("create");
        wav.write(&[0; 8 * 48]).expect("write");
        let frames: u64 = 5 * (1 << 30) / 8;
        wav.skip((frames - 48) * 8).expect("hole");
        assert!(!path.exists(), "nothing at the path before it is finished");
        wav.finish().expect("finish");
        let len = std::fs::metadata(&path).expect("meta").len();
        assert_eq!(len, 94 + frames * 8);
        let mut head = vec![0; 94];
        std::io::Read::read_exact(&mut File::open(&path).expect("open"), &mut head).expect("read");
        assert_eq!(head, header(WavFormat::Float32, 48_000, frames * 8));
        assert_eq!(&head[..4], b"RF64");
    }

    #[test]
    fn sox_reads_the_rf64_layout_sample_for_sample() {
        // The same layout on a small file, so that a reader (sox, libsndfile's rules) checks
        // it without reading gigabytes: sox takes the sizes from ds64.
        let dir = tempfile::tempdir().expect("tempdir");
        for (format, name) in [(WavFormat::Float32, "f.wav"), (WavFormat::Pcm16, "i.wav")] {
            let path = dir.path().join(name);
            let frames = 4_800u64;
            let bytes = frames * u64::from(format.bytes_per_sample()) * 2;
            let mut data = build_header(format, 48_000, bytes, true);
            data.extend((0..bytes).map(|i| (i % 7) as u8));
            std::fs::write(&path, &data).expect("write");
            let out = std::process::Command::new("sox")
                .args(["--i", "-s"])
                .arg(&path)
                .output()
                .expect("sox is installed by scripts/setup.sh");
            let samples = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            assert_eq!(
                samples,
                frames.to_string(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    #[test]
    fn a_small_render_reads_back_sample_for_sample() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("short.wav");
        let mut wav = WavFile::create(&path, WavFormat::Float32, 44_100).expect("create");
        let samples: Vec<f32> = (0..200u16).map(|i| f32::from(i) / 200.0 - 0.5).collect();
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        wav.write(&bytes).expect("write");
        wav.finish().expect("finish");
        let mut reader = hound::WavReader::open(&path).expect("hound reads it");
        assert_eq!(reader.spec().sample_rate, 44_100);
        assert_eq!(reader.spec().channels, 2);
        let back: Vec<f32> = reader
            .samples::<f32>()
            .map(|s| s.expect("sample"))
            .collect();
        assert_eq!(back, samples);
        let info = crate::audio::probe_file(&path).expect("symphonia reads it");
        let frames = info.duration.map(|d| (d.as_secs_f64() * 44_100.0).round());
        assert_eq!(frames, Some(100.0));
    }
}
