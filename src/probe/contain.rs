//! Containing a decoder library's panic: symphonia 0.5.5 asserts on some malformed headers
//! (a WAV whose sample rate is 0 makes `TimeBase::new(1, 0)` panic, found by fuzzing) where it
//! should return an error. Owns turning such a panic inside a file's decoder into an error for
//! that one file, without the default panic message on stderr; must not be used around
//! anything but the decoding of one file's bytes.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Whether this thread is inside [`contain`] (its panics are reported as errors).
    static INSIDE: Cell<bool> = const { Cell::new(false) };
    /// The message of the last panic contained on this thread.
    static MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Wraps the process's panic hook once: a panic on a thread inside [`contain`] is recorded
/// there instead of printed; every other panic goes to the hook that was installed before
/// (the default one, or a fuzzer's).
fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if INSIDE.with(Cell::get) {
                let text = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".to_owned());
                MESSAGE.with(|m| *m.borrow_mut() = Some(text));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `decode` (the opening or decoding of one file); a panic inside it becomes
/// `Err("the decoder crashed on this file (<its message>)")`.
///
/// Unwind safety: callers move the file (or a buffer of its bytes) into `decode`, which owns
/// every decoder object it makes. After a panic all of them are dropped unobserved, and no
/// state outside the closure is mutated by it, so nothing half-updated is ever seen again;
/// hence the `AssertUnwindSafe`. The hook's thread-locals are reset before returning.
///
/// # Errors
/// The panic's message, as the reason the file cannot be read.
pub(crate) fn contain<T>(decode: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    let was_inside = INSIDE.with(|i| i.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(decode));
    INSIDE.with(|i| i.set(was_inside));
    result.map_err(|_| {
        let message = MESSAGE
            .with(|m| m.borrow_mut().take())
            .unwrap_or_else(|| "no message".to_owned());
        format!("the decoder crashed on this file ({message})")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzzer's input (after the target's selector byte, which chose `wav`): a WAV with a
    /// float `fmt ` chunk whose sample rate is 0.
    fn zero_rate_wav() -> Vec<u8> {
        include_bytes!("../../fuzz/regressions/probe-open-timebase-zero")[1..].to_vec()
    }

    #[test]
    fn a_panic_becomes_an_error_with_its_message_and_the_thread_goes_on() {
        let got: Result<(), String> = contain(|| panic!("TimeBase cannot have 0 denominator"));
        assert_eq!(
            got.expect_err("a panic is an error"),
            "the decoder crashed on this file (TimeBase cannot have 0 denominator)"
        );
        assert!(!INSIDE.with(Cell::get), "the flag is reset");
        assert_eq!(contain(|| 7), Ok(7));
    }

    #[test]
    fn the_fuzzers_zero_rate_wav_is_refused_by_check_not_panicked_on() {
        for hint in [Some("wav"), None] {
            let err = crate::probe::probe_bytes(zero_rate_wav(), hint).expect_err("not audio");
            assert_eq!(
                err.to_string(),
                "not audio: the decoder crashed on this file (TimeBase cannot have 0 numerator or denominator)"
            );
        }
    }

    #[test]
    fn the_live_decoder_refuses_the_zero_rate_wav_with_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("zero.wav");
        std::fs::write(&path, zero_rate_wav()).expect("write");
        let err = crate::audio::decode_file(&path, 48_000).expect_err("refused");
        let text = err.to_string();
        assert!(
            text.starts_with("failed to decode ")
                && text.ends_with(
                    "zero.wav: the decoder crashed on this file (TimeBase cannot have 0 numerator or denominator)"
                ),
            "{text}"
        );
    }
}
