//! Who may use the phone page: the pairing tokens (random, kept in the state folder, written
//! atomically, compared in constant time), the cookie a paired phone carries, and the Host and
//! Origin checks that refuse DNS rebinding and cross-site requests. The checks are pure; only
//! [`Tokens::load_or_create`] touches the disk.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use subtle::ConstantTimeEq;

/// The file holding the control token, in the state folder.
pub const CONTROL_FILE: &str = "remote-token";
/// The file holding the view-only token, in the state folder.
pub const VIEW_FILE: &str = "remote-view-token";
/// Random bytes in a token (128 bits, 32 hex digits).
const TOKEN_BYTES: usize = 16;
/// Shortest token accepted from a file someone wrote by hand.
const MIN_TOKEN_CHARS: usize = 16;

/// What a paired phone may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// See the state and send commands.
    Control,
    /// See the state only.
    View,
}

/// The pairing tokens of one room.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    control: String,
    view: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("view", &self.view.is_some())
            .finish_non_exhaustive()
    }
}

/// Why the tokens could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The file exists but cannot be read or written.
    #[error("failed to keep the pairing token in {}: {why}", path.display())]
    Io {
        /// The token file.
        path: PathBuf,
        /// The OS error.
        why: std::io::Error,
    },
    /// The file holds something that is not a token.
    #[error(
        "failed to read the pairing token in {}: expected at least {MIN_TOKEN_CHARS} letters, digits, `-` or `_`; delete the file to make a new one",
        .0.display()
    )]
    Malformed(PathBuf),
    /// The system's random source failed.
    #[error("failed to make a pairing token: {0}")]
    Random(getrandom::Error),
}

impl Tokens {
    /// Tokens from their text (for tests and for tokens read elsewhere).
    #[must_use]
    pub fn new(control: String, view: Option<String>) -> Self {
        Self { control, view }
    }

    /// Reads the room's tokens from `dir`, making (and saving) any that are missing: the
    /// control token always, the view-only one when `view` is set. A token survives
    /// restarts, so a paired phone stays paired; delete its file to unpair every phone.
    ///
    /// # Errors
    /// See [`TokenError`].
    pub fn load_or_create(dir: &Path, view: bool) -> Result<Self, TokenError> {
        let control = load_or_create_one(&dir.join(CONTROL_FILE))?;
        let view = if view {
            Some(load_or_create_one(&dir.join(VIEW_FILE))?)
        } else {
            None
        };
        Ok(Self { control, view })
    }

    /// Tokens that live only as long as this process (no state folder).
    ///
    /// # Errors
    /// When the random source fails.
    pub fn ephemeral(view: bool) -> Result<Self, TokenError> {
        Ok(Self {
            control: random_token()?,
            view: if view { Some(random_token()?) } else { None },
        })
    }

    /// The control token.
    #[must_use]
    pub fn control(&self) -> &str {
        &self.control
    }

    /// The view-only token, if offered.
    #[must_use]
    pub fn view(&self) -> Option<&str> {
        self.view.as_deref()
    }

    /// What `given` grants, compared in constant time against every token (the time taken
    /// does not depend on how much of a token matches, nor on which one matched).
    #[must_use]
    pub fn check(&self, given: &str) -> Option<Access> {
        let control = given.as_bytes().ct_eq(self.control.as_bytes());
        let view = match &self.view {
            Some(v) => given.as_bytes().ct_eq(v.as_bytes()),
            None => subtle::Choice::from(0),
        };
        if bool::from(control) {
            Some(Access::Control)
        } else if bool::from(view) {
            Some(Access::View)
        } else {
            None
        }
    }
}

fn load_or_create_one(path: &Path) -> Result<String, TokenError> {
    let io = |why| TokenError::Io {
        path: path.to_owned(),
        why,
    };
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => {
            let token = text.trim();
            if token.len() >= MIN_TOKEN_CHARS && token.bytes().all(is_token_byte) {
                Ok(token.to_owned())
            } else {
                Err(TokenError::Malformed(path.to_owned()))
            }
        }
        Ok(_) => create(path).map_err(io),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => create(path).map_err(io),
        Err(err) => Err(io(err)),
    }
}

fn create(path: &Path) -> std::io::Result<String> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let token = random_token().map_err(std::io::Error::other)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = atomic_write_file::AtomicWriteFile::open(path)?;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(format!("{token}\n").as_bytes())?;
    file.commit()?;
    Ok(token)
}

/// 128 random bits as 32 lowercase hex digits.
fn random_token() -> Result<String, TokenError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(TokenError::Random)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The cookie's name: one per port, so two rooms on one host keep their pairings apart
/// (browsers share cookies across ports).
#[must_use]
pub fn cookie_name(port: u16) -> String {
    format!("sanctum-{port}")
}

/// The `Set-Cookie` value that pairs a phone: HttpOnly (the page's script never sees it),
/// SameSite=Strict (no other site's page can send it along), for a year.
#[must_use]
pub fn pairing_cookie(port: u16, token: &str) -> String {
    format!(
        "{}={token}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Strict",
        cookie_name(port)
    )
}

/// The value of cookie `name` in a `Cookie` header, if present.
#[must_use]
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k.trim() == name).then(|| v.trim())
    })
}

/// Whether a request's `Host` names this server: with our port, and either an IP literal
/// (which no DNS answer can rebind) or one of `names` (localhost and this machine's names).
/// A name we do not know is how a DNS-rebinding page reaches a LAN server: refused.
#[must_use]
pub fn host_allowed(host: &str, port: u16, names: &[String]) -> bool {
    let Some((name, given_port)) = split_host(host) else {
        return false;
    };
    if given_port.unwrap_or(80) != port {
        return false;
    }
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok() {
        return true;
    }
    let name = name.trim_end_matches('.');
    names.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// Splits `host[:port]` (with `[v6]` brackets); `None` when it is not a host at all.
fn split_host(host: &str) -> Option<(&str, Option<u16>)> {
    if host.is_empty() || host.bytes().any(|b| b.is_ascii_whitespace() || b == b'/') {
        return None;
    }
    if host.starts_with('[') {
        let end = host.find(']')?;
        let (name, rest) = host.split_at(end + 1);
        return match rest.strip_prefix(':') {
            Some(p) => Some((name, Some(p.parse().ok()?))),
            None if rest.is_empty() => Some((name, None)),
            None => None,
        };
    }
    match host.rsplit_once(':') {
        Some((name, p)) if !name.contains(':') => Some((name, Some(p.parse().ok()?))),
        Some(_) => None,
        None => Some((host, None)),
    }
}

/// Whether an `Origin` header is this very page (`http://` + the request's own Host): a
/// page of any other site, or a sandboxed `null` origin, may not steer the room.
#[must_use]
pub fn origin_allowed(origin: &str, host: &str) -> bool {
    origin
        .strip_prefix("http://")
        .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["localhost".into(), "pi".into(), "pi.local".into()]
    }

    #[test]
    fn hosts_must_be_ours_by_port_and_by_ip_or_known_name() {
        let n = names();
        for ok in [
            "127.0.0.1:8787",
            "192.168.1.20:8787",
            "[::1]:8787",
            "[fe80::1]:8787",
            "localhost:8787",
            "PI.local:8787",
            "pi.local.:8787",
        ] {
            assert!(host_allowed(ok, 8787, &n), "{ok} should pass");
        }
        for bad in [
            "evil.example:8787",
            "127.0.0.1.nip.io:8787",
            "192.168.1.20:8788",
            "192.168.1.20",
            "localhost",
            "",
            "pi.local:8787/x",
            "[::1:8787",
            "::1:8787",
            "pi.local:notaport",
        ] {
            assert!(!host_allowed(bad, 8787, &n), "{bad:?} should be refused");
        }
        assert!(host_allowed("localhost", 80, &n), "port 80 may be left out");
    }

    #[test]
    fn origins_must_be_the_page_itself() {
        assert!(origin_allowed(
            "http://192.168.1.20:8787",
            "192.168.1.20:8787"
        ));
        assert!(origin_allowed("http://PI.local:8787", "pi.local:8787"));
        for bad in [
            "null",
            "http://evil.example",
            "https://192.168.1.20:8787",
            "http://192.168.1.20:8788",
            "http://192.168.1.20:8787.evil.example",
            "",
        ] {
            assert!(!origin_allowed(bad, "192.168.1.20:8787"), "{bad}");
        }
    }

    #[test]
    fn tokens_grant_control_or_view_and_nothing_else() {
        let t = Tokens::new("a".repeat(32), Some("b".repeat(32)));
        assert_eq!(t.check(&"a".repeat(32)), Some(Access::Control));
        assert_eq!(t.check(&"b".repeat(32)), Some(Access::View));
        assert_eq!(t.check(&"a".repeat(31)), None, "a prefix is not the token");
        assert_eq!(t.check(&"a".repeat(33)), None);
        assert_eq!(t.check(""), None);
        let no_view = Tokens::new("a".repeat(32), None);
        assert_eq!(no_view.check(&"b".repeat(32)), None);
        assert!(
            !format!("{t:?}").contains("aaaa"),
            "Debug never shows a token"
        );
    }

    #[test]
    fn tokens_are_random_saved_privately_and_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let first = Tokens::load_or_create(dir.path(), true).expect("create");
        assert_eq!(first.control().len(), 32);
        assert!(first.control().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(Some(first.control()), first.view());
        let again = Tokens::load_or_create(dir.path(), true).expect("read");
        assert_eq!(first, again, "a restart keeps the pairing");
        let mode = std::fs::metadata(dir.path().join(CONTROL_FILE))
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "only the daemon's user reads it");
        let other = tempfile::tempdir().expect("tempdir");
        assert_ne!(
            Tokens::load_or_create(other.path(), false)
                .expect("create")
                .control(),
            first.control(),
            "every room gets its own"
        );
        std::fs::write(dir.path().join(CONTROL_FILE), "short\n").expect("write");
        let err = Tokens::load_or_create(dir.path(), false).expect_err("malformed");
        assert!(err.to_string().contains("remote-token"), "{err}");
        let names: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
        assert_eq!(names.len(), 2, "no temp file left behind");
    }

    #[test]
    fn cookies_are_found_by_name_and_pair_strictly() {
        let c = pairing_cookie(8787, "abc");
        assert!(c.starts_with("sanctum-8787=abc;"), "{c}");
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Strict"),
            "{c}"
        );
        let header = "theme=dark; sanctum-8787=abc ; sanctum-9000=zzz";
        assert_eq!(cookie_value(header, "sanctum-8787"), Some("abc"));
        assert_eq!(cookie_value(header, "sanctum-9000"), Some("zzz"));
        assert_eq!(cookie_value(header, "sanctum-1"), None);
        assert_eq!(cookie_value("garbage", "sanctum-8787"), None);
    }
}
