//! Files at the edge: opening only regular files without ever blocking (a FIFO or a device
//! opens at once and is refused), reading them up to a size cap, saying what a path is when it
//! is not a regular file, and writing output files atomically (a temp file in the same folder,
//! fsync, rename on success). Knows nothing of what the files hold.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rustix::fs::{FileType, Mode, OFlags};

/// The largest config file `check` and the loaders read (a 100,000-cue scene is about 10 MB).
pub const MAX_CONFIG_BYTES: u64 = 64 * 1024 * 1024;

/// How long opening a sound file may take before the decoder gives up on it.
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a file could not be opened or read. Says why only; callers name the file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The path is something other than a regular file (after following links).
    #[error("it is {0}, not a regular file")]
    NotRegular(&'static str),
    /// The file is larger than the reader accepts.
    #[error("it is too large ({size} bytes; files are read up to {cap} bytes)")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The cap.
        cap: u64,
    },
    /// Opening it did not finish in time (a hung network mount, a device).
    #[error("opening it took longer than {} s", .0.as_secs_f64())]
    TimedOut(Duration),
    /// The operating system refused.
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl FileError {
    /// The error as an `io::Error`, for APIs that only carry those.
    #[must_use]
    pub fn into_io(self) -> io::Error {
        match self {
            Self::Io(e) => e,
            other => io::Error::other(other.to_string()),
        }
    }
}

/// What `path` is, when it is not a regular file: "a directory", "a FIFO (named pipe)", "a
/// symbolic link loop"… `None` for a regular file and for a path where nothing is.
#[must_use]
pub fn what_is(path: &Path) -> Option<&'static str> {
    let link = std::fs::symlink_metadata(path).ok()?;
    match std::fs::metadata(path) {
        Ok(meta) => kind_name(FileType::from_raw_mode(mode_of(&meta))),
        Err(e) if link.file_type().is_symlink() => Some(broken_link(&e)),
        Err(_) => None,
    }
}

fn broken_link(e: &io::Error) -> &'static str {
    if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
        "a symbolic link loop"
    } else {
        "a symbolic link to nothing"
    }
}

#[cfg(unix)]
fn mode_of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::MetadataExt;
    meta.mode()
}

fn kind_name(kind: FileType) -> Option<&'static str> {
    match kind {
        FileType::RegularFile => None,
        FileType::Directory => Some("a directory"),
        FileType::Fifo => Some("a FIFO (named pipe)"),
        FileType::CharacterDevice => Some("a character device"),
        FileType::BlockDevice => Some("a block device"),
        FileType::Socket => Some("a socket"),
        FileType::Symlink => Some("a symbolic link"),
        FileType::Unknown => Some("not a file sanctum knows"),
    }
}

/// Opens `path` for reading only if it is a regular file, never blocking: the open is
/// non-blocking (a FIFO without a writer opens at once) and the type is checked on the open
/// descriptor, so nothing can swap the file in between.
///
/// # Errors
/// [`FileError::NotRegular`] for directories, FIFOs, devices and sockets; [`FileError::Io`]
/// when it cannot be opened.
pub fn open_regular(path: &Path) -> Result<File, FileError> {
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|errno| {
        if errno == rustix::io::Errno::LOOP {
            FileError::NotRegular("a symbolic link loop")
        } else {
            FileError::Io(errno.into())
        }
    })?;
    let stat = rustix::fs::fstat(&fd).map_err(io::Error::from)?;
    if let Some(what) = kind_name(FileType::from_raw_mode(stat.st_mode)) {
        return Err(FileError::NotRegular(what));
    }
    Ok(File::from(fd))
}

/// [`open_regular`] on a helper thread, giving up after `timeout` (the thread is left to
/// finish the open on its own and then closes the file).
///
/// # Errors
/// As for [`open_regular`], and [`FileError::TimedOut`].
pub fn open_regular_within(path: &Path, timeout: Duration) -> Result<File, FileError> {
    let owned = path.to_owned();
    within(timeout, move || open_regular(&owned))
}

/// Runs `job` on a helper thread and waits at most `timeout` for it.
fn within<T: Send + 'static>(
    timeout: Duration,
    job: impl FnOnce() -> Result<T, FileError> + Send + 'static,
) -> Result<T, FileError> {
    let (tx, rx) = mpsc::sync_channel(1);
    thread::Builder::new()
        .name("sanctum-open".to_owned())
        .spawn(move || {
            let _ = tx.send(job());
        })?;
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(_) => Err(FileError::TimedOut(timeout)),
    }
}

/// Reads a regular file of at most `cap` bytes as UTF-8 text.
///
/// # Errors
/// As for [`open_regular`]; [`FileError::TooLarge`] past the cap (also for a file that grows
/// while it is read); [`FileError::Io`] for text that is not UTF-8.
pub fn read_text(path: &Path, cap: u64) -> Result<String, FileError> {
    let mut file = open_regular(path)?;
    let size = file.metadata()?.len();
    if size > cap {
        return Err(FileError::TooLarge { size, cap });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.by_ref().take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(FileError::TooLarge {
            size: bytes.len() as u64,
            cap,
        });
    }
    String::from_utf8(bytes)
        .map_err(|e| FileError::Io(io::Error::new(io::ErrorKind::InvalidData, e.utf8_error())))
}

/// An output file written beside its target and moved over it only when complete: until
/// [`AtomicFile::commit`], the target keeps its old contents (or stays absent), whatever
/// happens to the process or the disk. Dropped without a commit, the temp file is removed.
#[derive(Debug)]
pub struct AtomicFile {
    temp: tempfile::NamedTempFile,
    target: PathBuf,
}

impl AtomicFile {
    /// A new, empty temp file in `target`'s folder (`.<name>.<random>.part`).
    ///
    /// # Errors
    /// When the folder does not exist or cannot be written.
    pub fn create(target: &Path) -> io::Result<Self> {
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".part")
            .tempfile_in(dir)?;
        Ok(Self {
            temp,
            target: target.to_owned(),
        })
    }

    /// The temp file, to write into.
    pub fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    /// Where the file is being written until it is committed.
    #[must_use]
    pub fn temp_path(&self) -> &Path {
        self.temp.path()
    }

    /// Flushes the file to disk, gives it the target's permissions (or `rw-r--r--` for a new
    /// file), renames it over the target and flushes the folder, so the new file survives a
    /// power cut once this returns.
    ///
    /// # Errors
    /// When syncing or renaming fails; the target is then unchanged.
    pub fn commit(self) -> io::Result<()> {
        self.temp.as_file().sync_all()?;
        let permissions = match std::fs::metadata(&self.target) {
            Ok(meta) if meta.is_file() => meta.permissions(),
            _ => {
                use std::os::unix::fs::PermissionsExt;
                std::fs::Permissions::from_mode(0o644)
            }
        };
        self.temp.as_file().set_permissions(permissions)?;
        let target = self.target;
        self.temp.persist(&target).map_err(|e| e.error)?;
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::Instant;

    use super::*;

    fn fifo(dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        rustix::fs::mkfifoat(rustix::fs::CWD, &path, Mode::from_raw_mode(0o600)).expect("mkfifo");
        path
    }

    #[test]
    fn a_fifo_without_a_writer_is_refused_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = fifo(dir.path(), "scene.toml");
        let started = Instant::now();
        let err = read_text(&path, MAX_CONFIG_BYTES).expect_err("a FIFO");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            err.to_string(),
            "it is a FIFO (named pipe), not a regular file"
        );
        assert_eq!(what_is(&path), Some("a FIFO (named pipe)"));
    }

    #[test]
    fn devices_directories_and_link_loops_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let zero = dir.path().join("zero.toml");
        std::os::unix::fs::symlink("/dev/zero", &zero).expect("symlink");
        assert!(matches!(
            read_text(&zero, MAX_CONFIG_BYTES),
            Err(FileError::NotRegular("a character device"))
        ));
        assert!(matches!(
            read_text(dir.path(), MAX_CONFIG_BYTES),
            Err(FileError::NotRegular("a directory"))
        ));
        assert_eq!(what_is(dir.path()), Some("a directory"));
        let a = dir.path().join("a.ogg");
        let b = dir.path().join("b.ogg");
        std::os::unix::fs::symlink(&b, &a).expect("symlink");
        std::os::unix::fs::symlink(&a, &b).expect("symlink");
        assert_eq!(what_is(&a), Some("a symbolic link loop"));
        assert!(matches!(
            open_regular(&a),
            Err(FileError::NotRegular("a symbolic link loop"))
        ));
        let dangling = dir.path().join("gone.ogg");
        std::os::unix::fs::symlink(dir.path().join("nothing"), &dangling).expect("symlink");
        assert_eq!(what_is(&dangling), Some("a symbolic link to nothing"));
        assert_eq!(what_is(&dir.path().join("absent")), None);
    }

    #[test]
    fn files_over_the_cap_are_refused_and_those_under_it_read_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big.toml");
        std::fs::write(&path, "x".repeat(1000)).expect("write");
        assert!(matches!(
            read_text(&path, 999),
            Err(FileError::TooLarge {
                size: 1000,
                cap: 999
            })
        ));
        assert_eq!(read_text(&path, 1000).expect("fits").len(), 1000);
    }

    #[test]
    fn a_slow_open_times_out() {
        let started = Instant::now();
        let got = within(Duration::from_millis(50), || {
            thread::sleep(Duration::from_millis(500));
            Ok(())
        });
        assert!(matches!(got, Err(FileError::TimedOut(_))));
        assert!(started.elapsed() < Duration::from_millis(400));
        assert!(within(Duration::from_secs(5), || Ok(7)).is_ok_and(|v| v == 7));
    }

    #[test]
    fn an_uncommitted_file_leaves_the_old_one_and_no_litter() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("mix.wav");
        std::fs::write(&target, b"old take").expect("write");
        {
            let mut out = AtomicFile::create(&target).expect("create");
            out.file().write_all(b"half a new ta").expect("write");
            assert!(out.temp_path().starts_with(dir.path()));
            // Dropped: an interrupted render.
        }
        assert_eq!(std::fs::read(&target).expect("read"), b"old take");
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
        assert_eq!(left.len(), 1, "the temp file is gone");
        let mut out = AtomicFile::create(&target).expect("create");
        out.file().write_all(b"new take").expect("write");
        out.commit().expect("commit");
        assert_eq!(std::fs::read(&target).expect("read"), b"new take");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&target)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
    }
}
