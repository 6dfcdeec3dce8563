//! Units shared by every part of sanctum: durations as written in scene files, decibels, and
//! light levels. Pure conversions only: no I/O, no clock.

use std::fmt;
use std::time::Duration;

/// Why a duration string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The string was empty.
    #[error("empty duration: write a number followed by h, m, s or ms, like \"90s\"")]
    Empty,
    /// The string started with a minus sign.
    #[error("negative duration `{0}`: durations count forward from zero")]
    Negative(String),
    /// The string did not follow the `1h30m` / `90s` / `500ms` grammar.
    #[error(
        "invalid duration `{0}`: write numbers followed by h, m, s or ms with no spaces, like \"90s\", \"12m\" or \"1h30m\""
    )]
    Invalid(String),
    /// A well-formed duration longer than sanctum counts.
    #[error("duration `{0}` is too large: the longest is {MAX_HOURS}h (about 31 years)")]
    TooLarge(String),
}

/// The longest duration sanctum reads, in microseconds (about 31.7 years).
const MAX_MICROS: f64 = 1e15;
/// The same, in whole hours, for messages.
const MAX_HOURS: u64 = 277_777;

/// The slowest and fastest `--speed`: a tenth of real time (to watch a fade closely) to
/// 10,000 times (a 2-hour ceremony in under a second of waiting; the clock's arithmetic and
/// its millisecond timers stay exact far beyond any ceremony's length).
pub const SPEED_RANGE: std::ops::RangeInclusive<f64> = 0.1..=10_000.0;

/// Reads a `--speed` factor: a finite number within [`SPEED_RANGE`].
///
/// # Errors
/// A message saying what is accepted (0, negatives, NaN, infinities and 1e18 all fail).
pub fn parse_speed(text: &str) -> Result<f64, String> {
    let (lo, hi) = (SPEED_RANGE.start(), SPEED_RANGE.end());
    let expected = format!(
        "the speed is how many times faster than real time the clock runs: a number from {lo} to {hi}, like 60 for a minute a second"
    );
    match text.trim().parse::<f64>() {
        Ok(v) if SPEED_RANGE.contains(&v) => Ok(v),
        Ok(v) if v.is_nan() => Err(format!("not a number; {expected}")),
        Ok(_) => Err(format!("out of range; {expected}")),
        Err(_) => Err(format!("not a number; {expected}")),
    }
}

/// Reads a duration such as `"90s"`, `"12m"`, `"1h30m"`, `"1.5s"` or `"250ms"`.
///
/// Each part is a decimal number followed by a unit (`h`, `m`, `s`, `ms`); parts must come in
/// decreasing unit order, each unit at most once. Zero (`"0s"`) is accepted here; callers that
/// need a positive span check it themselves so the message can name the field.
///
/// # Errors
/// Returns a [`DurationError`] describing what is wrong with the text.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    if s.starts_with('-') {
        return Err(DurationError::Negative(text.to_owned()));
    }
    let invalid = || DurationError::Invalid(text.to_owned());
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total_us: f64 = 0.0;
    let mut last_rank = u8::MAX;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        if start == i {
            return Err(invalid());
        }
        let number: f64 = s[start..i].parse().map_err(|_| invalid())?;
        let (unit_us, rank, len) = if s[i..].starts_with("ms") {
            (1_000.0, 0, 2)
        } else if s[i..].starts_with('h') {
            (3_600_000_000.0, 3, 1)
        } else if s[i..].starts_with('m') {
            (60_000_000.0, 2, 1)
        } else if s[i..].starts_with('s') {
            (1_000_000.0, 1, 1)
        } else {
            return Err(invalid());
        };
        if rank >= last_rank {
            return Err(invalid());
        }
        last_rank = rank;
        i += len;
        total_us += number * unit_us;
    }
    if !total_us.is_finite() || total_us > MAX_MICROS {
        return Err(DurationError::TooLarge(text.to_owned()));
    }
    // Rounded to whole microseconds, the resolution of the whole engine.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(Duration::from_micros(total_us.round() as u64))
}

/// Formats a duration the way scene files write it: `1h30m`, `12m`, `90s` → `1m30s`, `250ms`.
#[must_use]
pub fn format_duration(d: Duration) -> String {
    let us = d.as_micros();
    if us == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    let hours = us / 3_600_000_000;
    let minutes = (us / 60_000_000) % 60;
    let micros = us % 60_000_000;
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    if micros > 0 {
        if micros.is_multiple_of(1_000_000) {
            out.push_str(&format!("{}s", micros / 1_000_000));
        } else if hours == 0 && minutes == 0 && micros < 1_000_000 && micros.is_multiple_of(1_000) {
            out.push_str(&format!("{}ms", micros / 1_000));
        } else {
            let secs = micros as f64 / 1e6;
            let text = format!("{secs:.3}");
            out.push_str(text.trim_end_matches('0').trim_end_matches('.'));
            out.push('s');
        }
    }
    out
}

/// Formats a time as a clock reading `H:MM:SS` (used for the run log's time column).
#[must_use]
pub fn format_clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// The frame at time `d` at `rate` frames a second, rounded to the nearest frame, in exact
/// integer arithmetic so that sums of intervals never drift. The one conversion from time to
/// frames: fades, buffers, renders and file lengths all use it.
#[must_use]
pub fn frames(d: Duration, rate: u32) -> u64 {
    let whole = (d.as_nanos() * u128::from(rate) + 500_000_000) / 1_000_000_000;
    u64::try_from(whole).unwrap_or(u64::MAX)
}

/// A gain in decibels. `0 dB` is unity; anything at or below [`Decibels::SILENCE`] is silent.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Decibels(pub f32);

impl Decibels {
    /// The level treated as silence: amplitude 0.
    pub const SILENCE: Self = Self(-80.0);
    /// Unity gain.
    pub const UNITY: Self = Self(0.0);

    /// Linear amplitude for this gain; exactly 0 at or below [`Decibels::SILENCE`].
    #[must_use]
    pub fn amplitude(self) -> f32 {
        if self.0 <= Self::SILENCE.0 {
            0.0
        } else {
            10f32.powf(self.0 / 20.0)
        }
    }

    /// The gain whose amplitude is `amp` (silence for 0 or less).
    #[must_use]
    pub fn from_amplitude(amp: f32) -> Self {
        if amp <= 0.0 {
            Self::SILENCE
        } else {
            Self((20.0 * amp.log10()).max(Self::SILENCE.0))
        }
    }
}

impl fmt::Display for Decibels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 <= Self::SILENCE.0 {
            f.write_str("silence")
        } else {
            write!(f, "{:+.1} dB", self.0)
        }
    }
}

/// The sRGB tint (also the white point an RGB-only light shows for a colour temperature) of black-body light at `k` kelvin: deep amber at 1800 K, warm at 2700 K,
/// pale near 6500 K. Tanner Helland's fit to the CIE 1964 black-body colours, good from 1000 K
/// to 40 000 K, which is all a bulb offers.
#[must_use]
pub fn kelvin_rgb(k: u16) -> [u8; 3] {
    let t = f64::from(k.clamp(1000, 40_000)) / 100.0;
    let red = if t <= 66.0 {
        255.0
    } else {
        329.698_727_446 * (t - 60.0).powf(-0.133_204_759_2)
    };
    let green = if t <= 66.0 {
        99.470_802_586_1 * t.ln() - 161.119_568_166_1
    } else {
        288.122_169_528_3 * (t - 60.0).powf(-0.075_514_849_2)
    };
    let blue = if t >= 66.0 {
        255.0
    } else if t <= 19.0 {
        0.0
    } else {
        138.517_731_223_1 * (t - 10.0).ln() - 305.044_792_730_7
    };
    [channel(red), channel(green), channel(blue)]
}

pub(crate) fn channel(v: f64) -> u8 {
    // Clamped to 0..=255 first, so the cast cannot truncate or wrap.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let byte = v.clamp(0.0, 255.0).round() as u8;
    byte
}

/// Mireds of a colour temperature, `1e6 / K` (2700 K ≈ 370.4): colour temperatures are
/// blended and sent in mireds, where equal steps look equal.
#[must_use]
pub fn mireds(kelvin: u16) -> f32 {
    1e6 / f32::from(kelvin.max(1))
}

/// The colour temperature of `mireds`, rounded to a kelvin and kept within `u16`.
#[must_use]
pub fn kelvin_of_mireds(mireds: f32) -> u16 {
    let k = 1e6 / mireds.max(1e6 / f32::from(u16::MAX));
    // Clamped to 1..=u16::MAX before the cast.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let k = k.round().clamp(1.0, f32::from(u16::MAX)) as u16;
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_forms() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("12m"), Ok(Duration::from_secs(720)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m30s"), Ok(Duration::from_secs(150)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_prose_units_order_and_sign() {
        for bad in [
            "5 minutes",
            "5",
            "s",
            "1s30m",
            "1m1m",
            "5sec",
            "1h 30m",
            "",
            "1..5s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(matches!(
            parse_duration("-5s"),
            Err(DurationError::Negative(_))
        ));
    }

    #[test]
    fn too_large_durations_say_so() {
        let nines = format!("{}m", "9".repeat(400));
        for big in ["300000h", "99999999999999999999s", nines.as_str()] {
            let err = parse_duration(big).expect_err("too large");
            assert_eq!(err, DurationError::TooLarge(big.to_owned()));
            assert!(err.to_string().contains("is too large"), "{err}");
        }
        assert!(parse_duration("277777h").is_ok());
    }

    #[test]
    fn speed_is_a_finite_number_in_range() {
        assert_eq!(parse_speed("60"), Ok(60.0));
        assert_eq!(parse_speed("0.5"), Ok(0.5));
        assert_eq!(parse_speed("10000"), Ok(10_000.0));
        for bad in [
            "0", "-1", "NaN", "inf", "-inf", "1e18", "1e25", "0.01", "fast", "",
        ] {
            let err = parse_speed(bad).expect_err(bad);
            assert!(err.contains("from 0.1 to 10000"), "{bad}: {err}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for text in ["1h30m", "12m", "1m30s", "250ms", "1.5s", "2h5s"] {
            let d = parse_duration(text).expect("valid");
            assert_eq!(format_duration(d), text);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
        assert_eq!(format_clock(Duration::from_secs(3725)), "1:02:05");
    }

    #[test]
    fn frames_round_to_the_nearest_and_never_drift() {
        assert_eq!(frames(Duration::from_millis(1), 48_000), 48);
        assert_eq!(frames(Duration::from_micros(10), 44_100), 0);
        assert_eq!(frames(Duration::from_micros(12), 44_100), 1);
        assert_eq!(frames(Duration::from_secs(7200), 48_000), 345_600_000);
        let tenth = frames(Duration::from_millis(100), 44_100);
        assert_eq!(tenth * 36_000, frames(Duration::from_secs(3600), 44_100));
    }

    #[test]
    fn decibels_convert_both_ways() {
        assert!((Decibels(-6.0).amplitude() - 0.501).abs() < 1e-3);
        assert_eq!(Decibels::SILENCE.amplitude(), 0.0);
        assert!((Decibels::from_amplitude(0.5).0 + 6.02).abs() < 0.01);
        assert_eq!(Decibels::from_amplitude(0.0), Decibels::SILENCE);
    }
}
