//! The daemon's own configuration file, `sanctum.toml`: which rig, which library and which
//! state folder a room uses, with optional overrides of its room name, broker and output.
//! Found like other Linux daemons' configs (`--config`, `$SANCTUM_CONFIG`,
//! `$XDG_CONFIG_HOME/sanctum/sanctum.toml`, `/etc/sanctum/sanctum.toml`), read in two stages
//! (raw serde with spans, then typed values) with every problem as `path:line:col`.
//! Environment lookups go through a parameter so that tests need no real environment.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::config::parse::deserialize;
use crate::config::{Diagnostics, SourceFile};
use crate::units::parse_duration;
use crate::web::RemoteSpec;

/// How long a saved position stays worth resuming unless the config says otherwise.
pub const DEFAULT_RESUME_WITHIN: Duration = Duration::from_secs(6 * 3600);
/// The system-wide config file.
pub const SYSTEM_CONFIG: &str = "/etc/sanctum/sanctum.toml";
/// The state folder when nothing else names one.
pub const SYSTEM_STATE: &str = "/var/lib/sanctum";
/// Largest config file read.
const MAX_BYTES: u64 = 1024 * 1024;

/// `sanctum.toml` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    rig: Option<Spanned<String>>,
    library: Option<Spanned<String>>,
    state_dir: Option<Spanned<String>>,
    room: Option<Spanned<String>>,
    broker: Option<Spanned<String>>,
    output: Option<Spanned<String>>,
    resume_within: Option<Spanned<String>>,
    remote: Option<Spanned<RawRemote>>,
}

/// `[remote]`: the phone page.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRemote {
    listen: Option<Spanned<String>>,
    view_token: Option<bool>,
}

/// `sanctum.toml`, resolved: paths are relative to the file's folder.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Settings {
    /// The file it was read from (`None`: no config file, all defaults).
    pub path: Option<PathBuf>,
    /// The room's rig.
    pub rig: Option<PathBuf>,
    /// The folder of ceremony folders.
    pub library: Option<PathBuf>,
    /// Where positions and journals go.
    pub state_dir: Option<PathBuf>,
    /// Room name, overriding the rig's.
    pub room: Option<String>,
    /// Broker URL, overriding the rig's.
    pub broker: Option<String>,
    /// Audio output, overriding the rig's.
    pub output: Option<String>,
    /// How old a saved position may be and still be resumed.
    pub resume_within: Duration,
    /// The phone page (`None`: off).
    pub remote: Option<RemoteSpec>,
}

/// Why the config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A config file that was asked for explicitly does not exist.
    #[error("failed to read the config {}: {why}", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// Where it was named.
        why: String,
    },
    /// The file has problems (listed in the diagnostics).
    #[error("failed to load the config: {} problem(s)", .0.len())]
    Invalid(Diagnostics),
}

/// Reads an environment variable (tests pass a map, the program `std::env::var_os`).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// The config file to read: `flag`, then `$SANCTUM_CONFIG`, then
/// `$XDG_CONFIG_HOME/sanctum/sanctum.toml`, then [`SYSTEM_CONFIG`]; the last two only when
/// they exist. `Ok(None)` when there is none.
///
/// # Errors
/// When `flag` or `$SANCTUM_CONFIG` names a file that does not exist.
pub fn locate(flag: Option<&Path>, env: Env<'_>) -> Result<Option<PathBuf>, SettingsError> {
    if let Some(p) = flag {
        return exists(p, "given with --config");
    }
    if let Some(p) = env("SANCTUM_CONFIG").filter(|v| !v.is_empty()) {
        return exists(Path::new(&p), "named by $SANCTUM_CONFIG");
    }
    let xdg = env("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(|d| PathBuf::from(d).join("sanctum/sanctum.toml"));
    Ok(xdg
        .into_iter()
        .chain(std::iter::once(PathBuf::from(SYSTEM_CONFIG)))
        .find(|p| p.is_file()))
}

fn exists(p: &Path, how: &str) -> Result<Option<PathBuf>, SettingsError> {
    if p.is_file() {
        Ok(Some(p.to_owned()))
    } else {
        Err(SettingsError::Missing {
            path: p.to_owned(),
            why: format!("{how}, but there is no such file"),
        })
    }
}

impl Settings {
    /// Finds and reads the config (see [`locate`]); defaults when there is none.
    ///
    /// # Errors
    /// See [`SettingsError`].
    pub fn find(flag: Option<&Path>, env: Env<'_>) -> Result<Self, SettingsError> {
        match locate(flag, env)? {
            Some(path) => Self::read(&path),
            None => Ok(Self {
                resume_within: DEFAULT_RESUME_WITHIN,
                ..Self::default()
            }),
        }
    }

    /// Reads the config at `path`.
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] with every problem.
    pub fn read(path: &Path) -> Result<Self, SettingsError> {
        use std::io::Read;
        let mut diags = Diagnostics::default();
        let mut text = String::new();
        let read =
            std::fs::File::open(path).and_then(|f| f.take(MAX_BYTES).read_to_string(&mut text));
        let file = Arc::new(SourceFile::new(path, text));
        if let Err(err) = read {
            diags.error(&file, 0..0, format!("failed to read file: {err}"));
            return Err(SettingsError::Invalid(diags));
        }
        let raw: Option<RawSettings> = deserialize(&file, &mut diags);
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut settings = Self {
            path: Some(path.to_owned()),
            resume_within: DEFAULT_RESUME_WITHIN,
            ..Self::default()
        };
        if let Some(raw) = raw {
            let rel = |s: Spanned<String>| dir.join(s.into_inner());
            settings.rig = raw.rig.map(rel);
            settings.library = raw.library.map(rel);
            settings.state_dir = raw.state_dir.map(rel);
            settings.broker = raw.broker.map(Spanned::into_inner);
            settings.output = raw.output.map(Spanned::into_inner);
            if let Some(room) = raw.room {
                match crate::mqtt::topics::check_room(room.get_ref()) {
                    Ok(()) => settings.room = Some(room.into_inner()),
                    Err(why) => diags.error(&file, room.span(), why),
                }
            }
            if let Some(remote) = raw.remote {
                settings.remote = remote_spec(&file, remote, &mut diags);
            }
            if let Some(r) = raw.resume_within {
                match parse_duration(r.get_ref()) {
                    Ok(d) if !d.is_zero() => settings.resume_within = d,
                    Ok(_) => diags.error(&file, r.span(), "`resume_within` must be more than 0"),
                    Err(e) => diags.error(&file, r.span(), e.to_string()),
                }
            }
        }
        if diags.is_empty() {
            Ok(settings)
        } else {
            Err(SettingsError::Invalid(diags))
        }
    }
}

/// `[remote]` as a [`RemoteSpec`]; `listen` must be an address with a port.
fn remote_spec(
    file: &Arc<SourceFile>,
    raw: Spanned<RawRemote>,
    diags: &mut Diagnostics,
) -> Option<RemoteSpec> {
    let span = raw.span();
    let raw = raw.into_inner();
    let Some(listen) = raw.listen else {
        diags.error(
            file,
            span,
            "`[remote]` needs `listen`, like `listen = \"0.0.0.0:8787\"`",
        );
        return None;
    };
    match listen.get_ref().parse() {
        Ok(addr) => Some(RemoteSpec {
            listen: addr,
            view_token: raw.view_token.unwrap_or(false),
        }),
        Err(_) => {
            diags.error(
                file,
                listen.span(),
                format!(
                    "`listen` must be an address and a port, like \"0.0.0.0:8787\" or \"[::]:8787\", not \"{}\"",
                    listen.get_ref()
                ),
            );
            None
        }
    }
}

/// The state folder: `flag`, then the config's `state_dir`, then `$STATE_DIRECTORY`
/// (systemd's `StateDirectory=`; the first of a colon-separated list), then
/// `$XDG_STATE_HOME/sanctum`, then [`SYSTEM_STATE`].
#[must_use]
pub fn state_dir(flag: Option<&Path>, settings: &Settings, env: Env<'_>) -> PathBuf {
    if let Some(p) = flag.or(settings.state_dir.as_deref()) {
        return p.to_owned();
    }
    if let Some(v) = env("STATE_DIRECTORY").filter(|v| !v.is_empty()) {
        let text = v.to_string_lossy().into_owned();
        if let Some(first) = text.split(':').find(|s| !s.is_empty()) {
            return PathBuf::from(first);
        }
    }
    if let Some(v) = env("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(v).join("sanctum");
    }
    PathBuf::from(SYSTEM_STATE)
}

/// The real environment.
#[must_use]
pub fn real_env(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).map(OsString::from)
    }

    #[test]
    fn looks_up_the_config_like_a_linux_daemon() {
        let dir = tempfile::tempdir().expect("tempdir");
        let xdg = dir.path().join("xdg");
        std::fs::create_dir_all(xdg.join("sanctum")).expect("mkdir");
        let in_xdg = xdg.join("sanctum/sanctum.toml");
        std::fs::write(&in_xdg, "room = \"x\"\n").expect("write");
        let named = dir.path().join("named.toml");
        std::fs::write(&named, "").expect("write");
        let env = env_of(&[
            ("XDG_CONFIG_HOME", xdg.to_str().expect("utf8")),
            ("SANCTUM_CONFIG", named.to_str().expect("utf8")),
        ]);
        assert_eq!(
            locate(Some(&in_xdg), &env).expect("flag"),
            Some(in_xdg.clone())
        );
        assert_eq!(locate(None, &env).expect("env"), Some(named));
        let env = env_of(&[("XDG_CONFIG_HOME", xdg.to_str().expect("utf8"))]);
        assert_eq!(locate(None, &env).expect("xdg"), Some(in_xdg));
        let env = env_of(&[("SANCTUM_CONFIG", "/nope/sanctum.toml")]);
        let err = locate(None, &env).expect_err("missing");
        assert!(
            err.to_string().contains("named by $SANCTUM_CONFIG"),
            "{err}"
        );
        assert!(locate(Some(Path::new("/nope.toml")), &env).is_err());
    }

    #[test]
    fn state_folder_order() {
        let none = env_of(&[]);
        let s = Settings::default();
        assert_eq!(state_dir(None, &s, &none), PathBuf::from(SYSTEM_STATE));
        let xdg = env_of(&[("XDG_STATE_HOME", "/home/a/.local/state")]);
        assert_eq!(
            state_dir(None, &s, &xdg),
            PathBuf::from("/home/a/.local/state/sanctum")
        );
        let sd = env_of(&[
            ("STATE_DIRECTORY", "/var/lib/sanctum:/var/lib/other"),
            ("XDG_STATE_HOME", "/x"),
        ]);
        assert_eq!(state_dir(None, &s, &sd), PathBuf::from("/var/lib/sanctum"));
        let cfg = Settings {
            state_dir: Some("/srv/state".into()),
            ..Settings::default()
        };
        assert_eq!(state_dir(None, &cfg, &sd), PathBuf::from("/srv/state"));
        assert_eq!(
            state_dir(Some(Path::new("/flag")), &cfg, &sd),
            PathBuf::from("/flag")
        );
    }

    #[test]
    fn reads_paths_relative_to_the_file_and_reports_problems_with_positions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sanctum.toml");
        std::fs::write(
            &path,
            "rig = \"rig.toml\"\nlibrary = \"ceremonies\"\nresume_within = \"2h\"\nroom = \"temple\"\n",
        )
        .expect("write");
        let s = Settings::read(&path).expect("valid");
        assert_eq!(s.rig, Some(dir.path().join("rig.toml")));
        assert_eq!(s.library, Some(dir.path().join("ceremonies")));
        assert_eq!(s.resume_within, Duration::from_secs(7200));
        std::fs::write(
            &path,
            "rig = \"r\"\nlibary = \"x\"\nresume_within = \"soon\"\nroom = \"a/b\"\n",
        )
        .expect("write");
        let SettingsError::Invalid(diags) = Settings::read(&path).expect_err("invalid") else {
            panic!("invalid expected")
        };
        let text = diags.to_string();
        assert!(
            text.contains("sanctum.toml:2:1: unknown key `libary`; did you mean `library`?"),
            "{text}"
        );
        assert!(text.contains("sanctum.toml:3:17:"), "{text}");
        assert!(text.contains("sanctum.toml:4:8:"), "{text}");
    }

    #[test]
    fn reads_the_phone_page_section_and_points_at_its_mistakes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sanctum.toml");
        std::fs::write(
            &path,
            "[remote]\nlisten = \"0.0.0.0:8787\"\nview_token = true\n",
        )
        .expect("write");
        let s = Settings::read(&path).expect("valid");
        assert_eq!(
            s.remote,
            Some(RemoteSpec {
                listen: "0.0.0.0:8787".parse().expect("addr"),
                view_token: true
            })
        );
        std::fs::write(
            &path,
            "rig = \"r\"\n[remote]\nlisten = \"0.0.0.0\"\nport = 1\n",
        )
        .expect("write");
        let SettingsError::Invalid(diags) = Settings::read(&path).expect_err("invalid") else {
            panic!("invalid expected")
        };
        let text = diags.to_string();
        assert!(
            text.contains("sanctum.toml:3:10: `listen` must be an address and a port"),
            "{text}"
        );
        assert!(
            text.contains("sanctum.toml:4:1: unknown key `port`"),
            "{text}"
        );
        std::fs::write(&path, "[remote]\nview_token = true\n").expect("write");
        let err = Settings::read(&path).expect_err("no listen");
        let SettingsError::Invalid(diags) = err else {
            panic!("invalid expected")
        };
        assert!(
            diags.to_string().contains("`[remote]` needs `listen`"),
            "{diags}"
        );
    }
}
