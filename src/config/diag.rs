//! Diagnostics for configuration files: a message tied to a byte span of a source file,
//! rendered as `path:line:col: message` with the source line and a caret. Knows nothing of
//! what the files mean.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A configuration file's text, kept so diagnostics can quote it.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user should see it.
    pub path: PathBuf,
    /// The file's contents.
    pub text: String,
    /// Byte offset of each line's start, built on the first diagnostic's position, so that
    /// placing N problems costs O(N log lines) rather than a scan of the text each.
    line_starts: OnceLock<Vec<usize>>,
}

impl SourceFile {
    /// A file's text as read from `path`.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>, text: String) -> Self {
        Self {
            path: path.into(),
            text,
            line_starts: OnceLock::new(),
        }
    }

    /// 0-based line index and that line's start, for byte `at` (a char boundary).
    fn line_of(&self, at: usize) -> (usize, usize) {
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        let line = starts.partition_point(|&s| s <= at).saturating_sub(1);
        (line, starts.get(line).copied().unwrap_or(0))
    }
}

/// One problem in one file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// The file the problem is in.
    pub file: Arc<SourceFile>,
    /// Byte range of the offending text (empty spans point at a position).
    pub span: Range<usize>,
    /// What is wrong, in lowercase prose.
    pub message: String,
}

impl Diagnostic {
    /// A problem at `span` of `file`.
    #[must_use]
    pub fn new(file: &Arc<SourceFile>, span: Range<usize>, message: impl Into<String>) -> Self {
        let len = file.text.len();
        let start = span.start.min(len);
        let end = span.end.clamp(start, len);
        Self {
            file: Arc::clone(file),
            span: start..end,
            message: message.into(),
        }
    }

    /// 1-based line and column (in characters) of the start of the span.
    #[must_use]
    pub fn line_col(&self) -> (usize, usize) {
        let text = &self.file.text;
        let start = floor_char_boundary(text, self.span.start);
        let (line, line_start) = self.file.line_of(start);
        let col = text[line_start..start].chars().count() + 1;
        (line + 1, col)
    }

    /// The path shown to the user.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.file.path
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for Diagnostic {
    /// `path:line:col: message`, then the source line and a caret under the span.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (line, col) = self.line_col();
        writeln!(
            f,
            "{}:{line}:{col}: {}",
            self.file.path.display(),
            self.message
        )?;
        let text = &self.file.text;
        let start = floor_char_boundary(text, self.span.start);
        let (_, line_start) = self.file.line_of(start);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let source_line = text[line_start..line_end].trim_end_matches('\r');
        let end = floor_char_boundary(text, self.span.end.min(line_end)).max(start);
        let width = text[start..end].chars().count().max(1);
        let gutter = line.to_string().len();
        writeln!(f, "{:gutter$} |", "")?;
        writeln!(f, "{line} | {source_line}")?;
        write!(
            f,
            "{:gutter$} | {}{}",
            "",
            " ".repeat(col - 1),
            "^".repeat(width)
        )
    }
}

/// Diagnostics gathered over one check.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Records a problem.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Records a problem at `span` of `file`.
    pub fn error(
        &mut self,
        file: &Arc<SourceFile>,
        span: Range<usize>,
        message: impl Into<String>,
    ) {
        self.push(Diagnostic::new(file, span, message));
    }

    /// Whether nothing is wrong.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many problems.
    #[must_use]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The problems, ordered by file, then position, with exact repeats removed.
    #[must_use]
    pub fn sorted(&self) -> Vec<&Diagnostic> {
        let mut items: Vec<&Diagnostic> = self.items.iter().collect();
        items.sort_by(|a, b| {
            a.file
                .path
                .cmp(&b.file.path)
                .then(a.span.start.cmp(&b.span.start))
                .then(a.message.cmp(&b.message))
        });
        items.dedup_by(|a, b| {
            a.file.path == b.file.path && a.span == b.span && a.message == b.message
        });
        items
    }

    /// Forgets every problem recorded after the first `len`.
    pub fn truncate(&mut self, len: usize) {
        self.items.truncate(len);
    }

    /// Moves every problem of `other` into `self`.
    pub fn extend(&mut self, other: Self) {
        self.items.extend(other.items);
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in self.sorted() {
            writeln!(f, "{d}\n")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_at_line_and_column_with_a_caret() {
        let file = Arc::new(SourceFile::new(
            "scene.toml",
            "[[cue]]\nat = \"5 minutes\"\n".to_owned(),
        ));
        let d = Diagnostic::new(&file, 13..24, "invalid duration");
        assert_eq!(d.line_col(), (2, 6));
        assert_eq!(
            d.to_string(),
            "scene.toml:2:6: invalid duration\n  |\n2 | at = \"5 minutes\"\n  |      ^^^^^^^^^^^"
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let file = Arc::new(SourceFile::new(
            "x.toml",
            "title = \"Grüße\" # ü\nbad".to_owned(),
        ));
        let at = file.text.find("bad").expect("present");
        assert_eq!(Diagnostic::new(&file, at..at + 3, "m").line_col(), (2, 1));
        let hash = file.text.find('#').expect("present");
        assert_eq!(
            Diagnostic::new(&file, hash..hash + 1, "m").line_col(),
            (1, 17)
        );
    }
}
