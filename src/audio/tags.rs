//! A guard in front of the decoders: checks that the Vorbis comment lengths in a FLAC or Ogg
//! file fit inside their block or packet before symphonia reads them. symphonia 0.5.5
//! allocates each comment at the length the file claims, so a 300-byte file claiming a 3.8 GB
//! comment made `check` (and a decoder thread) ask for 3.8 GB (found by `fuzz/` target
//! `probe`). Reads only the metadata at the start of the file; knows nothing else of audio.

use std::io::{Read, Seek, SeekFrom};

/// Checks the comment block (FLAC) or comment packet (Ogg Vorbis or Opus) of the file in
/// `src`, `len` bytes long, and leaves `src` at its start. Other formats pass unread.
///
/// # Errors
/// What is wrong, as the complement of "the file is …", or the I/O error.
pub(crate) fn check_comment_lengths<R: Read + Seek>(
    src: &mut R,
    len: u64,
) -> std::io::Result<Result<(), String>> {
    src.seek(SeekFrom::Start(0))?;
    let mut magic = [0u8; 4];
    let got = read_up_to(src, &mut magic)?;
    let verdict = match &magic[..got] {
        b"fLaC" => flac(src, len)?,
        b"OggS" => {
            src.seek(SeekFrom::Start(0))?;
            ogg(src, len)?
        }
        _ => Ok(()),
    };
    src.seek(SeekFrom::Start(0))?;
    Ok(verdict)
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
        if header[0] & 0x7F == 4 {
            let body = read_n(src, block.min(len.saturating_sub(at)))?;
            return Ok(comments(&body, "FLAC comment block"));
        }
        if header[0] & 0x80 != 0 || at + block >= len {
            return Ok(Ok(()));
        }
        at += block;
        src.seek(SeekFrom::Start(at))?;
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
        check_comment_lengths(&mut Cursor::new(bytes), bytes.len() as u64).expect("in memory")
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
    fn real_files_pass_and_their_cursor_is_rewound() {
        for path in ["sounds/chime.ogg", "tests/fixtures/sounds/tone.wav"] {
            let bytes = std::fs::read(path).expect("read");
            let mut cursor = Cursor::new(bytes.clone());
            let verdict = check_comment_lengths(&mut cursor, bytes.len() as u64).expect("io");
            assert_eq!(verdict, Ok(()), "{path}");
            assert_eq!(cursor.position(), 0);
        }
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
