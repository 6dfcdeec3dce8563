//! A guard in front of the decoders: checks that the lengths a file's metadata claims fit
//! inside their block, packet or file before symphonia reads them: FLAC metadata blocks (and
//! the comment and picture blocks' inner lengths), the Ogg comment packet, WAV chunks before
//! `data`. symphonia 0.5.5 allocates such fields at the length the file claims, so a 300-byte
//! file claiming a 3.8 GB comment or picture made `check` (and a decoder thread) ask for
//! 3.8 GB (found by the `fuzz/` target `probe`). Reads only the metadata at the start of the
//! file; knows nothing else of audio.

use std::io::{Read, Seek, SeekFrom};

/// Checks the metadata lengths of the FLAC, Ogg or WAV file in `src`, `len` bytes long, and
/// leaves `src` at its start. Other formats pass unread.
///
/// # Errors
/// What is wrong, as the complement of "the file is …", or the I/O error.
pub(crate) fn check_metadata_lengths<R: Read + Seek>(
    src: &mut R,
    len: u64,
) -> std::io::Result<Result<(), String>> {
    src.seek(SeekFrom::Start(0))?;
    let head = read_n(src, SEARCH.min(len))?;
    let verdict = match find_format(&head) {
        Some((at, kind)) => {
            let mut part = From {
                inner: &mut *src,
                base: at as u64,
            };
            let len = len - at as u64;
            part.seek(SeekFrom::Start(0))?;
            match kind {
                Kind::Flac => {
                    part.seek(SeekFrom::Start(4))?;
                    flac(&mut part, len)?
                }
                Kind::Ogg => ogg(&mut part, len)?,
                Kind::Wav => wav(&mut part, len)?,
            }
        }
        None => Ok(()),
    };
    src.seek(SeekFrom::Start(0))?;
    Ok(verdict)
}

/// How far symphonia's probe searches for a format marker (`PROBE_SEARCH_LIMIT`).
const SEARCH: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Flac,
    Ogg,
    Wav,
}

/// The format symphonia will open and where it starts, as its probe finds it: the first
/// marker at any byte offset, ID3v2 tags skipped. An MPEG audio sync word first means MP3,
/// which needs no guard.
fn find_format(head: &[u8]) -> Option<(usize, Kind)> {
    const MP3_SECOND: [u8; 18] = [
        0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xfa, 0xfb, 0xfc,
        0xfd, 0xfe, 0xff,
    ];
    let mut i = 0;
    while i + 1 < head.len() {
        let w = &head[i..];
        if w.starts_with(b"fLaC") {
            return Some((i, Kind::Flac));
        } else if w.starts_with(b"OggS") {
            return Some((i, Kind::Ogg));
        } else if w.starts_with(b"RIFF") {
            return Some((i, Kind::Wav));
        } else if w.starts_with(b"ID3") && w.len() >= 10 {
            let size = w[6..10]
                .iter()
                .fold(0usize, |acc, b| (acc << 7) | usize::from(b & 0x7F));
            i += 10 + size;
            continue;
        } else if w[0] == 0xFF && MP3_SECOND.contains(&w[1]) {
            return None;
        }
        i += 1;
    }
    None
}

/// `inner` seen from byte `base` on.
struct From<'a, R> {
    inner: &'a mut R,
    base: u64,
}

impl<R: Read> Read for From<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<R: Seek> Seek for From<'_, R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let at = match pos {
            SeekFrom::Start(n) => self.inner.seek(SeekFrom::Start(self.base + n))?,
            other => self.inner.seek(other)?,
        };
        Ok(at.saturating_sub(self.base))
    }
}

fn read_up_to(src: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match src.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Reads `n` bytes, or fewer at the end of the file (`n` is already known to fit in it).
fn read_n(src: &mut impl Read, n: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    src.take(n).read_to_end(&mut out)?;
    Ok(out)
}

/// FLAC metadata blocks: a 4-byte header (last-block flag, type, 24-bit length) each.
fn flac<R: Read + Seek>(src: &mut R, len: u64) -> std::io::Result<Result<(), String>> {
    let mut at = 4u64;
    loop {
        let mut header = [0u8; 4];
        if read_up_to(src, &mut header)? < 4 {
            return Ok(Ok(()));
        }
        let block = u64::from(u32::from_be_bytes([0, header[1], header[2], header[3]]));
        at += 4;
        let left = len.saturating_sub(at);
        if block > left {
            return Ok(Err(format!(
                "its FLAC metadata block claims {block} bytes where {left} remain"
            )));
        }
        let verdict = match header[0] & 0x7F {
            4 => comments(&read_n(src, block)?, "FLAC comment block"),
            6 => picture(&read_n(src, block)?),
            _ => Ok(()),
        };
        if verdict.is_err() || header[0] & 0x80 != 0 {
            return Ok(verdict);
        }
        at += block;
        src.seek(SeekFrom::Start(at))?;
    }
}

/// A FLAC picture block: type, media type, description, four numbers, then the image.
fn picture(body: &[u8]) -> Result<(), String> {
    let mut at = 4usize;
    for (field, skip_after) in [("media type", 0), ("description", 16), ("image", 0)] {
        let Some(b) = body.get(at..at + 4) else {
            return Ok(());
        };
        let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        at += 4;
        let left = body.len() - at;
        if n > left {
            return Err(format!(
                "its FLAC picture's {field} claims {n} bytes where {left} remain"
            ));
        }
        at += n + skip_after;
    }
    Ok(())
}

/// WAV chunks up to `data`: a `LIST` must fit in the file (symphonia checks it only against
/// the RIFF size, which the file itself claims).
fn wav<R: Read + Seek>(src: &mut R, len: u64) -> std::io::Result<Result<(), String>> {
    let mut at = 12u64;
    loop {
        src.seek(SeekFrom::Start(at))?;
        let mut header = [0u8; 8];
        if read_up_to(src, &mut header)? < 8 || &header[..4] == b"data" {
            return Ok(Ok(()));
        }
        let size = u64::from(u32::from_le_bytes([
            header[4], header[5], header[6], header[7],
        ]));
        at += 8;
        let left = len.saturating_sub(at);
        // Only a LIST's contents are allocated at their claimed length (INFO values); any
        // other chunk cut short is a truncated file, which the probe reports as such.
        if &header[..4] == b"LIST" && size > left {
            let tag = String::from_utf8_lossy(&header[..4]).into_owned();
            return Ok(Err(format!(
                "its `{tag}` chunk claims {size} bytes where {left} remain"
            )));
        }
        at += size + (size & 1);
    }
}

/// The Ogg stream's second packet (its comment header), reassembled across pages, then its
/// comment lengths checked against it.
fn ogg<R: Read + Seek>(src: &mut R, len: u64) -> std::io::Result<Result<(), String>> {
    let mut packet = Vec::new();
    let mut packets = 0;
    let mut serial = None;
    loop {
        let mut header = [0u8; 27];
        if read_up_to(src, &mut header)? < 27 || &header[..4] != b"OggS" {
            return Ok(Ok(()));
        }
        let mut lacing = vec![0u8; usize::from(header[26])];
        if read_up_to(src, &mut lacing)? < lacing.len() {
            return Ok(Ok(()));
        }
        let body_len: u64 = lacing.iter().map(|l| u64::from(*l)).sum();
        let page_serial = &header[14..18];
        if *serial.get_or_insert(page_serial.to_vec()) != page_serial {
            // Another logical stream's page: not ours.
            src.seek(SeekFrom::Current(
                i64::try_from(body_len).unwrap_or(i64::MAX),
            ))?;
            continue;
        }
        let body = read_n(src, body_len)?;
        let mut at = 0;
        for l in lacing {
            let end = (at + usize::from(l)).min(body.len());
            if packets == 1 {
                packet.extend_from_slice(&body[at..end]);
            }
            at = end;
            if l < 255 {
                packets += 1;
                if packets == 2 {
                    return Ok(comment_packet(&packet));
                }
            }
        }
        if packet.len() as u64 > len {
            return Ok(Ok(()));
        }
    }
}

fn comment_packet(packet: &[u8]) -> Result<(), String> {
    if let Some(body) = packet.strip_prefix(b"\x03vorbis") {
        comments(body, "Vorbis comment header")
    } else if let Some(body) = packet.strip_prefix(b"OpusTags") {
        comments(body, "Opus comment header")
    } else {
        Ok(())
    }
}

/// A Vorbis comment list: vendor length and string, a count, then length-prefixed comments;
/// every length must fit in what is left of `body`.
fn comments(body: &[u8], what: &str) -> Result<(), String> {
    let mut at = 0usize;
    let next_len = |at: &mut usize| -> Option<usize> {
        let b = body.get(*at..*at + 4)?;
        *at += 4;
        usize::try_from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok()
    };
    let too_long = |claimed: usize, left: usize| {
        format!("its {what} claims {claimed} bytes where {left} remain")
    };
    let Some(vendor) = next_len(&mut at) else {
        return Ok(());
    };
    if vendor > body.len() - at {
        return Err(too_long(vendor, body.len() - at));
    }
    at += vendor;
    let Some(count) = next_len(&mut at) else {
        return Ok(());
    };
    for _ in 0..count {
        let Some(n) = next_len(&mut at) else {
            return Ok(());
        };
        if n > body.len() - at {
            return Err(too_long(n, body.len() - at));
        }
        at += n;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn check(bytes: &[u8]) -> Result<(), String> {
        check_metadata_lengths(&mut Cursor::new(bytes), bytes.len() as u64).expect("in memory")
    }

    #[test]
    fn the_fuzzers_flac_with_a_3_8_gb_comment_is_refused() {
        // fuzz/regressions/probe-flac-comment-length: a 275-byte FLAC whose comment claims
        // 3,830,680,186 bytes.
        let bytes = include_bytes!("../../fuzz/regressions/probe-flac-comment-length");
        let err = check(&bytes[1..]).expect_err("refused");
        assert!(err.contains("claims 3830680186 bytes"), "{err}");
    }

    #[test]
    fn the_fuzzers_flac_with_a_3_9_gb_picture_is_refused() {
        let bytes = include_bytes!("../../fuzz/regressions/probe-flac-picture-length");
        let err = check(&bytes[1..]).expect_err("refused");
        assert!(err.contains("its FLAC"), "{err}");
    }

    #[test]
    fn the_fuzzers_flac_behind_twenty_bytes_of_junk_is_found_and_refused() {
        // symphonia finds a format marker at any offset in the first MiB, so the guard does.
        let bytes = include_bytes!("../../fuzz/regressions/probe-flac-after-junk");
        assert_eq!(find_format(&bytes[1..]), Some((20, Kind::Flac)));
        let err = check(&bytes[1..]).expect_err("refused");
        assert!(err.contains("its FLAC"), "{err}");
    }

    #[test]
    fn a_wav_chunk_longer_than_the_file_is_refused() {
        let mut bytes = std::fs::read("tests/fixtures/sounds/tone.wav").expect("read");
        let data = bytes.windows(4).position(|w| w == b"data").expect("data");
        // A LIST chunk before `data` that claims 3.9 GB.
        let mut list = b"LIST".to_vec();
        list.extend_from_slice(&3_900_000_000u32.to_le_bytes());
        list.extend_from_slice(b"INFOISFT");
        bytes.splice(data..data, list);
        let err = check(&bytes).expect_err("refused");
        assert!(
            err.contains("its `LIST` chunk claims 3900000000 bytes"),
            "{err}"
        );
    }

    #[test]
    fn real_files_pass_and_their_cursor_is_rewound() {
        for path in [
            "sounds/chime.ogg",
            "sounds/rain.ogg",
            "tests/fixtures/sounds/tone.wav",
            "tests/fixtures/sounds/pad.wav",
            "tests/fixtures/sounds/tone.mp3",
        ] {
            let bytes = std::fs::read(path).expect("read");
            let mut cursor = Cursor::new(bytes.clone());
            let verdict = check_metadata_lengths(&mut cursor, bytes.len() as u64).expect("io");
            assert_eq!(verdict, Ok(()), "{path}");
            assert_eq!(cursor.position(), 0);
        }
        // The seed FLAC (after the fuzz target's selector byte) passes too.
        assert_eq!(
            check(&include_bytes!("../../fuzz/seeds/probe/flac")[1..]),
            Ok(())
        );
    }

    #[test]
    fn an_ogg_comment_longer_than_its_packet_is_refused() {
        let bytes = std::fs::read("sounds/chime.ogg").expect("read");
        let at = bytes
            .windows(7)
            .position(|w| w == b"\x03vorbis")
            .expect("comment header");
        // The vendor length is the first field after the packet type; claim 2 GB.
        let mut broken = bytes.clone();
        broken[at + 7..at + 11].copy_from_slice(&0x7FFF_FFFFu32.to_le_bytes());
        let err = check(&broken).expect_err("refused");
        assert!(
            err.contains("Vorbis comment header claims 2147483647 bytes"),
            "{err}"
        );
    }
}
