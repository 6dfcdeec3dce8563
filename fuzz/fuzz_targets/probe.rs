//! Sound file probing (`check`'s "is this whole, playable audio"): arbitrary bytes as an Ogg,
//! WAV, FLAC or MP3 file, or with no name hint at all.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sanctum::audio::probe_bytes;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let extension = match selector % 5 {
        0 => Some("ogg"),
        1 => Some("wav"),
        2 => Some("flac"),
        3 => Some("mp3"),
        _ => None,
    };
    let _ = probe_bytes(bytes.to_vec(), extension);
});
