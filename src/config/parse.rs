//! First stage of reading a config file: TOML text into raw serde structs, reporting *every*
//! problem rather than the first. Knows nothing of what the structs mean.
//!
//! serde stops at the first error, so this runs it in a loop: each failure is recorded, the
//! offending entry is cut out of the parsed tree (spans intact), and deserialization is tried
//! again until it succeeds or nothing more can be cut.

use std::ops::Range;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue, Deserializer};

use super::diag::{Diagnostics, SourceFile};

/// At most this many structural errors are gathered from one file.
const MAX_ERRORS: usize = 200;

/// Deserializes `file` into `T`, recording every problem in `diags`.
///
/// Returns `None` when the file is not valid TOML, or when a problem leaves nothing usable
/// (e.g. a missing key at the top level). Otherwise returns the value with the broken entries
/// left out, so later checks still run on the rest.
pub fn deserialize<T: DeserializeOwned>(
    file: &Arc<SourceFile>,
    diags: &mut Diagnostics,
) -> Option<T> {
    match deserialize_part(file, 0..file.text.len(), diags) {
        Ok(value) => value,
        Err(syntax) => {
            for (span, message) in syntax {
                diags.error(file, span, message);
            }
            None
        }
    }
}

/// Syntax errors of a part of a file: spans (in the whole file) and messages.
pub type SyntaxErrors = Vec<(Range<usize>, String)>;

/// [`deserialize`] on the bytes `part` of `file` alone, as if they were a file of their own;
/// spans in problems are those of the whole file. Syntax errors are returned, not recorded,
/// so that a caller that split the file can fall back to reading it whole.
///
/// # Errors
/// The part is not valid TOML on its own.
pub fn deserialize_part<T: DeserializeOwned>(
    file: &Arc<SourceFile>,
    part: Range<usize>,
    diags: &mut Diagnostics,
) -> Result<Option<T>, SyntaxErrors> {
    let offset = part.start;
    let text = file.text.get(part).unwrap_or_default();
    let shift = |r: Range<usize>| r.start + offset..r.end + offset;
    let (root, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        return Err(errors
            .iter()
            .map(|e| {
                let span = shift(e.span().unwrap_or(0..0));
                (span, format!("invalid TOML: {}", tidy(e.message())))
            })
            .collect());
    }
    // Most files are right: the first attempt consumes the tree, with no copy of it (a copy
    // per attempt doubled the peak memory of a large scene). Only a file with problems is
    // parsed again for the recovery loop below.
    if let Ok(value) = T::deserialize(Deserializer::from(root)) {
        return Ok(Some(value));
    }
    let (mut root, _) = DeTable::parse_recoverable(text);
    root.get_mut().make_owned();
    let root_span = root.span();
    let mut cut: Vec<(Range<usize>, String)> = Vec::new();
    for _ in 0..MAX_ERRORS {
        let attempt = T::deserialize(Deserializer::from(root.clone()));
        let err = match attempt {
            Ok(value) => return Ok(Some(value)),
            Err(err) => err,
        };
        let span = err.span().unwrap_or_else(|| root_span.clone());
        let message = err.message().to_owned();
        let removed = cut_at(root.get_mut(), &span);
        let repeat = missing_field(&message)
            .is_some_and(|field| cut.iter().any(|(s, k)| *s == span && k == field));
        if !repeat {
            let key = removed.as_ref().map(|(_, key)| key.as_str());
            let at = if span == root_span {
                0..0
            } else {
                span.clone()
            };
            diags.error(file, shift(at), rewrite(&message, key));
        }
        match removed {
            Some(entry) => cut.push(entry),
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// Where to split a scene so that each part can be read on its own: the start of the file,
/// then the start of each line that is a top-level `[[cue]]` header. Lines inside a
/// multi-line string are never split at; where the scan is unsure it splits less, and a part
/// that is then not valid TOML makes the caller read the file whole.
#[must_use]
pub fn cue_parts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let mut open: Option<&str> = None;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if open.is_none() && is_cue_header(line) && at > 0 {
            starts.push(at);
        }
        let mut rest = line;
        loop {
            let found = match open {
                Some(q) => rest.find(q).map(|i| (i, q)),
                None => ["\"\"\"", "'''"]
                    .iter()
                    .filter_map(|q| rest.find(q).map(|i| (i, *q)))
                    .min(),
            };
            let Some((i, q)) = found else { break };
            open = if open.is_some() { None } else { Some(q) };
            rest = &rest[i + 3..];
        }
        at += line.len();
    }
    starts
}

fn is_cue_header(line: &str) -> bool {
    let code = line.split('#').next().unwrap_or_default();
    let squeezed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    squeezed == "[[cue]]"
}

/// The field named in serde's "missing field `x`" message.
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
}

/// Removes the innermost entry the error at `span` is about. Returns the span of the table it
/// was removed from and its key.
fn cut_at(table: &mut DeTable<'_>, span: &Range<usize>) -> Option<(Range<usize>, String)> {
    cut_in_table(table, span, None)
}

fn cut_in_table(
    table: &mut DeTable<'_>,
    span: &Range<usize>,
    own_span: Option<&Range<usize>>,
) -> Option<(Range<usize>, String)> {
    let mut victim = None;
    for (key, value) in table.iter_mut() {
        if key.span() == *span {
            victim = Some(key.get_ref().to_string());
            break;
        }
        let value_span = value.span();
        if let Some(found) = cut_in_value(value, span) {
            return Some(found);
        }
        if contains(&value_span, span) {
            victim = Some(key.get_ref().to_string());
            break;
        }
    }
    let key = victim?;
    table.remove(key.as_str());
    Some((own_span.cloned().unwrap_or(0..0), key))
}

fn cut_in_value(
    value: &mut Spanned<DeValue<'_>>,
    span: &Range<usize>,
) -> Option<(Range<usize>, String)> {
    let own = value.span();
    match value.get_mut() {
        DeValue::Table(inner) => cut_in_table(inner, span, Some(&own)),
        DeValue::Array(items) => cut_in_array(items, span),
        _ => None,
    }
}

fn cut_in_array(items: &mut DeArray<'_>, span: &Range<usize>) -> Option<(Range<usize>, String)> {
    let mut victim = None;
    for (i, item) in items.iter_mut().enumerate() {
        let item_span = item.span();
        if let Some(found) = cut_in_value(item, span) {
            return Some(found);
        }
        if contains(&item_span, span) {
            victim = Some(i);
            break;
        }
    }
    let i = victim?;
    let mut kept = DeArray::new();
    for (j, item) in items.iter().enumerate() {
        if j != i {
            kept.push(item.clone());
        }
    }
    *items = kept;
    Some((0..0, format!("[{i}]")))
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end && outer != &(0..0)
}

/// Names as a message lists them: `` `a`, `b`, `c` ``.
pub fn code_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Turns serde's wording into sanctum's: keys, not fields, and a suggestion for typos.
fn rewrite(message: &str, key: Option<&str>) -> String {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (name, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let expected = backticked(tail);
        return match suggest(name, &expected) {
            Some(best) => format!("unknown key `{name}`; did you mean `{best}`?"),
            None if expected.is_empty() => {
                format!("unknown key `{name}`: this table takes no keys")
            }
            None => format!(
                "unknown key `{name}`; expected one of {}",
                code_list(&expected)
            ),
        };
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (name, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let expected = backticked(tail);
        if let Some(best) = suggest(name, &expected) {
            return format!("unknown value `{name}`; did you mean `{best}`?");
        }
    }
    if let Some(field) = missing_field(message) {
        return format!("missing key `{field}`");
    }
    let text = tidy(message);
    match key {
        Some(key) if !key.starts_with('[') => format!("`{key}`: {text}"),
        _ => text,
    }
}

fn tidy(message: &str) -> String {
    message.trim().trim_end_matches('.').replace('\n', " ")
}

fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// The closest candidate to `name`, if one is close enough to be a likely typo.
#[must_use]
pub fn suggest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(name, c), *c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        name: String,
        #[serde(default)]
        item: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        at: String,
        level: Option<f64>,
    }

    fn run(text: &str) -> (Option<Doc>, Vec<String>) {
        let file = Arc::new(SourceFile::new(PathBuf::from("t.toml"), text.to_owned()));
        let mut diags = Diagnostics::default();
        let doc = deserialize::<Doc>(&file, &mut diags);
        let messages = diags
            .sorted()
            .iter()
            .map(|d| {
                let (l, c) = d.line_col();
                format!("{l}:{c}: {}", d.message)
            })
            .collect();
        (doc, messages)
    }

    #[test]
    fn reports_every_structural_problem_and_keeps_the_rest() {
        let (doc, messages) = run(
            "name = \"x\"\n[[item]]\nat = \"1s\"\nlvel = 0.5\n[[item]]\nat = 5\n[[item]]\nat = \"2s\"\nlevel = \"high\"\n",
        );
        assert_eq!(
            messages,
            [
                "4:1: unknown key `lvel`; did you mean `level`?",
                "6:6: `at`: invalid type: integer `5`, expected a string",
                "9:9: `level`: invalid type: string \"high\", expected f64",
            ]
        );
        // The item whose required `at` was broken is left out; the other two remain, the
        // unknown and the mistyped optional keys cut from them.
        let doc = doc.expect("the rest still parses");
        assert_eq!(doc.item.len(), 2);
        assert_eq!(doc.item[1].level, None);
    }

    #[test]
    fn syntax_errors_are_reported_with_position() {
        let (doc, messages) = run("name = \"x\"\n[[item]\nat = \"1s\"\n");
        assert!(doc.is_none());
        assert!(messages[0].starts_with("2:"), "{messages:?}");
        assert!(messages[0].contains("invalid TOML"), "{messages:?}");
    }

    #[test]
    fn a_missing_top_level_key_is_reported_once() {
        let (doc, messages) = run("[[item]]\nat = \"1s\"\n");
        assert!(doc.is_none());
        assert_eq!(messages, ["1:1: missing key `name`"]);
    }

    #[test]
    fn scenes_split_before_each_cue_header_but_not_inside_multi_line_strings() {
        let text = "title = \"t\"\n[[cue]]\nat = \"1s\"\n  [[ cue ]] # two\nnote = \"\"\"\n[[cue]]\n\"\"\"\n[[cue]]\n";
        let starts = cue_parts(text);
        let heads: Vec<&str> = starts
            .iter()
            .map(|&s| text[s..].lines().next().unwrap_or_default())
            .collect();
        assert_eq!(
            heads,
            ["title = \"t\"", "[[cue]]", "  [[ cue ]] # two", "[[cue]]"]
        );
        assert_eq!(starts[3], text.rfind("[[cue]]").unwrap_or(0));
    }

    #[test]
    fn a_part_reports_problems_at_their_place_in_the_whole_file() {
        let text = "name = \"x\"\n[[item]]\nat = \"1s\"\nlvel = 1.0\n";
        let file = Arc::new(SourceFile::new("t.toml", text.to_owned()));
        let mut diags = Diagnostics::default();
        let start = text.find("[[item]]").unwrap_or(0);
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Items {
            item: Vec<Item>,
        }
        let items = deserialize_part::<Items>(&file, start..text.len(), &mut diags);
        assert_eq!(items.ok().flatten().map(|i| i.item.len()), Some(1));
        let d = diags.sorted();
        assert_eq!(d[0].line_col(), (4, 1), "{}", d[0]);
        let broken =
            deserialize_part::<Items>(&file, start..start + 5, &mut Diagnostics::default());
        assert!(broken.is_err(), "a part cut mid-header is not TOML");
    }

    #[test]
    fn suggestions_only_for_close_names() {
        assert_eq!(suggest("lvel", &["level", "kelvin"]), Some("level"));
        assert_eq!(suggest("zzz", &["level", "kelvin"]), None);
    }
}
