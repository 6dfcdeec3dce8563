//! `sanctum journal`: lists the entries of the state folder's journal, prints one, or opens
//! one in the person's editor.

use std::path::{Path, PathBuf};

use super::AppError;
use crate::cli::JournalCommand;
use crate::console;
use crate::journal::store;
use crate::settings::{self, Settings};

/// Runs `sanctum journal`.
///
/// # Errors
/// When the config cannot be read, the entry does not exist, or the editor fails.
pub fn journal(
    command: Option<&JournalCommand>,
    config: Option<&Path>,
    state_dir: Option<&Path>,
) -> Result<(), AppError> {
    let settings = Settings::find(config, &settings::real_env).map_err(AppError::Settings)?;
    let dir = store::folder(&settings::state_dir(
        state_dir,
        &settings,
        &settings::real_env,
    ));
    match command.unwrap_or(&JournalCommand::List) {
        JournalCommand::List => {
            let entries = store::list(&dir);
            if entries.is_empty() {
                console::say(&format!("no journal entries in {} yet", dir.display()));
            }
            for (i, path) in entries.iter().enumerate() {
                console::say(&format!(
                    "{:>3}  {}  ({})",
                    i + 1,
                    store::title_of(path),
                    file_name(path)
                ));
            }
            Ok(())
        }
        JournalCommand::Show { which } => {
            let path = find(&dir, which)?;
            let text = std::fs::read_to_string(&path).map_err(|e| {
                AppError::Journal(format!("failed to read {}: {e}", path.display()))
            })?;
            console::say(text.trim_end());
            Ok(())
        }
        JournalCommand::Edit { which } => {
            let path = find(&dir, which)?;
            let editor = std::env::var("VISUAL")
                .or_else(|_| std::env::var("EDITOR"))
                .unwrap_or_else(|_| {
                    if Path::new("/usr/bin/editor").exists() {
                        "editor".to_owned()
                    } else {
                        "vi".to_owned()
                    }
                });
            let mut words = editor.split_whitespace();
            let program = words.next().unwrap_or("vi");
            let status = std::process::Command::new(program)
                .args(words)
                .arg(&path)
                .status()
                .map_err(|e| {
                    AppError::Journal(format!("failed to start the editor `{editor}`: {e}"))
                })?;
            if status.success() {
                Ok(())
            } else {
                Err(AppError::Journal(format!(
                    "the editor `{editor}` failed ({status})"
                )))
            }
        }
    }
}

fn find(dir: &Path, which: &str) -> Result<PathBuf, AppError> {
    store::find(dir, which).ok_or_else(|| {
        AppError::Journal(format!(
            "failed to find the journal entry `{which}` in {} ({} entries; see `sanctum journal`)",
            dir.display(),
            store::list(dir).len()
        ))
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
