//! The file being resolved and where its problems go: [`Ctx`] reports each problem at its
//! span (offset for a scene read a part at a time) and checks the values every table shares
//! (durations, identifiers, ranges, names from a list, kelvins, colours). It knows no table
//! of its own; `rig`, `light`, `scene` and `ceremony` say what to check. Sound files are
//! probed in the module root, beside the loader's cache.

use super::*;
use crate::config::parse::code_list;

/// The file being resolved and where its problems go.
pub(super) struct Ctx<'a> {
    pub(super) file: &'a Arc<SourceFile>,
    pub(super) diags: &'a mut Diagnostics,
    /// The first stage already cut broken keys from this file: checks that a table "says
    /// something" would only echo those problems, so they are skipped.
    pub(super) cut: bool,
    /// Where sound files are probed (scenes only).
    pub(super) sounds: Option<&'a mut SoundProbes>,
    /// Where the part being resolved starts in the file: spans in its raw structs count from
    /// there (a large scene is read a part at a time).
    pub(super) offset: usize,
}

impl Ctx<'_> {
    pub(super) fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let span = span.start + self.offset..span.end + self.offset;
        self.diags.error(self.file, span, message);
    }

    pub(super) fn duration(&mut self, s: &Str, what: &str) -> Option<Duration> {
        match parse_duration(s.get_ref()) {
            Ok(d) => Some(d),
            Err(err) => {
                self.error(s.span(), format!("`{what}`: {err}"));
                None
            }
        }
    }

    pub(super) fn positive(&mut self, s: &Str, what: &str) -> Option<Duration> {
        let d = self.duration(s, what)?;
        if d.is_zero() {
            self.error(
                s.span(),
                format!("`{what}` must be longer than zero, like \"5s\""),
            );
            return None;
        }
        Some(d)
    }

    pub(super) fn positive_opt(&mut self, s: Option<&Str>, what: &str) -> Option<Duration> {
        s.and_then(|s| self.positive(s, what))
    }

    pub(super) fn identifier(&mut self, s: &Str, what: &str) -> bool {
        let text = s.get_ref();
        let ok = !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            self.error(
                s.span(),
                format!("{what} `{text}` may only use letters, digits, `-` and `_`"),
            );
        }
        ok
    }

    pub(super) fn range(&mut self, n: &Num, what: &str, lo: f64, hi: f64) -> Option<f64> {
        let v = *n.get_ref();
        if v.is_finite() && (lo..=hi).contains(&v) {
            Some(v)
        } else {
            self.error(n.span(), format!("`{what}` is {v}, outside {lo}..={hi}"));
            None
        }
    }

    pub(super) fn one_of<'n>(&mut self, s: &Str, what: &str, names: &[&'n str]) -> Option<&'n str> {
        let text = s.get_ref().as_str();
        if let Some(n) = names.iter().find(|n| **n == text) {
            return Some(n);
        }
        let list = code_list(names);
        let msg = match suggest(text, names) {
            Some(best) => format!("unknown {what} `{text}`; did you mean `{best}`?"),
            None => format!("unknown {what} `{text}`; expected one of {list}"),
        };
        self.error(s.span(), msg);
        None
    }

    pub(super) fn kelvin(&mut self, k: &Spanned<i64>) -> Option<u16> {
        let v = *k.get_ref();
        if (1000..=10000).contains(&v) {
            u16::try_from(v).ok()
        } else {
            self.error(k.span(), format!("`kelvin` is {v}, outside 1000..=10000"));
            None
        }
    }

    pub(super) fn color(&mut self, c: &Str) -> Option<[u8; 3]> {
        let text = c.get_ref();
        let hex = text.strip_prefix('#').unwrap_or("");
        let parsed = (hex.len() == 6)
            .then(|| u32::from_str_radix(hex, 16).ok())
            .flatten();
        match parsed {
            Some(v) => Some([(v >> 16) as u8, (v >> 8) as u8, v as u8]),
            None => {
                self.error(
                    c.span(),
                    format!("invalid colour `{text}`: write it as \"#rrggbb\", like \"#ff9329\""),
                );
                None
            }
        }
    }
}

pub(super) fn unknown_name(ctx: &mut Ctx<'_>, s: &Str, what: &str, known: &[&str]) {
    let text = s.get_ref();
    let msg = match suggest(text, known) {
        Some(best) => format!("unknown {what} `{text}`; did you mean `{best}`?"),
        None if known.is_empty() => format!("unknown {what} `{text}`: the rig declares none"),
        None => format!("unknown {what} `{text}`; the rig has {}", code_list(known)),
    };
    ctx.error(s.span(), msg);
}
