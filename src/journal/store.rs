//! Where journal entries live: `<state folder>/journal/<date>-<time>-<ceremony>.md`, written
//! atomically (a temp file, fsync, rename, fsync of the folder), listed newest last, found by
//! number or as `latest`. A full or read-only disk is the caller's warning, never its failure.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::mqtt::state::iso8601;

/// The journal folder inside a state folder.
#[must_use]
pub fn folder(state_dir: &Path) -> PathBuf {
    state_dir.join("journal")
}

/// The file name of an entry for ceremony `id` that started at `started`:
/// `2026-11-29-2102-evening.md` (UTC).
#[must_use]
pub fn file_name(id: &str, started: SystemTime) -> String {
    let t = iso8601(started);
    format!("{}-{}{}-{id}.md", &t[..10], &t[11..13], &t[14..16])
}

/// Writes `text` as the entry `name` in `dir`, atomically; an existing entry of the same
/// name (two ceremonies in one minute) gets a `-2`, `-3`… suffix instead of being replaced.
///
/// # Errors
/// Any I/O error; nothing is left half-written.
pub fn write(dir: &Path, name: &str, text: &str) -> std::io::Result<PathBuf> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let stem = name.trim_end_matches(".md");
    let mut path = dir.join(name);
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("{stem}-{n}.md"));
        n += 1;
    }
    let mut file = atomic_write_file::AtomicWriteFile::open(&path)?;
    file.write_all(text.as_bytes())?;
    file.commit()?;
    Ok(path)
}

/// The entries in `dir`, oldest first.
#[must_use]
pub fn list(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "md") && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    entries.sort_by_key(|p| order_key(p));
    entries
}

/// `…-evening.md` before `…-evening-2.md` before `…-evening-3.md`.
fn order_key(path: &Path) -> (String, u32) {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match stem.rsplit_once('-') {
        Some((base, n)) if n.len() <= 3 => match n.parse::<u32>() {
            Ok(n) if n >= 2 => (base.to_owned(), n),
            _ => (stem, 1),
        },
        _ => (stem, 1),
    }
}

/// The entry `which` names: `latest`, a number from [`list`] (1 is the oldest), or a file
/// name.
#[must_use]
pub fn find(dir: &Path, which: &str) -> Option<PathBuf> {
    let entries = list(dir);
    if which == "latest" {
        return entries.last().cloned();
    }
    if let Ok(n) = which.parse::<usize>() {
        return n.checked_sub(1).and_then(|i| entries.get(i)).cloned();
    }
    entries
        .into_iter()
        .find(|p| p.file_name().is_some_and(|f| f.to_string_lossy() == which))
}

/// The first line of an entry, without the `# `.
#[must_use]
pub fn title_of(path: &Path) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| {
            t.lines()
                .next()
                .map(|l| l.trim_start_matches("# ").to_owned())
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn names_write_list_and_find() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_986_129);
        let name = file_name("evening", t);
        assert_eq!(name, "2026-11-29-2102-evening.md");
        let dir = tempfile::tempdir().expect("tempdir");
        let j = folder(dir.path());
        let first = write(&j, &name, "# Evening — 2026-11-29\n").expect("write");
        let second = write(&j, &name, "# Evening again\n").expect("write");
        assert_ne!(first, second, "an entry is never replaced");
        assert_eq!(list(&j), vec![first.clone(), second.clone()]);
        assert_eq!(find(&j, "latest"), Some(second.clone()));
        assert_eq!(find(&j, "1"), Some(first.clone()));
        assert_eq!(find(&j, "3"), None);
        assert_eq!(find(&j, &name), Some(first.clone()));
        assert_eq!(title_of(&first), "Evening — 2026-11-29");
    }
}
