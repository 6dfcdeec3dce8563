//! `sanctum plan`: loads a ceremony, prints its plan (phases with their starts and lengths,
//! then every cue, note, chime and change as `run` would print it) and writes the picture as
//! SVG and PNG, each atomically. Renders no audio and touches no device.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use atomic_write_file::AtomicWriteFile;

use super::layout::Layout;
use super::{Picture, png, sample, svg};
use crate::config;
use crate::printer;
use crate::render::{ManualAfter, RenderError};
use crate::timeline::Timeline;
use crate::units::{format_clock, format_duration};

/// How many even steps the lanes are sampled at (about one per drawing unit of the plot).
pub const COLUMNS: usize = 1400;

/// What `sanctum plan` was asked for.
#[derive(Debug, Clone, Copy)]
pub struct PlanJob<'a> {
    /// The ceremony folder or its ceremony.toml.
    pub ceremony: &'a Path,
    /// How long manual phases last.
    pub manual_after: ManualAfter,
    /// Start at this phase.
    pub from: Option<&'a str>,
    /// The rig, instead of the one beside the ceremony.
    pub rig: Option<&'a Path>,
    /// Where to write the SVG.
    pub svg: Option<&'a Path>,
    /// Where to write the PNG.
    pub png: Option<&'a Path>,
    /// The PNG's width in pixels.
    pub width: u32,
}

/// Why `sanctum plan` failed.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The ceremony or its rig has problems (already printed).
    #[error("failed to load the ceremony: {0} problem(s), listed above")]
    Invalid(usize),
    /// `--from` named a phase the ceremony does not have.
    #[error("failed to plan: the ceremony has no phase `{0}`")]
    UnknownPhase(String),
    /// The dry run would not move on.
    #[error(transparent)]
    Plan(#[from] RenderError),
    /// The PNG could not be made.
    #[error(transparent)]
    Png(#[from] png::PngError),
    /// A picture could not be written.
    #[error("failed to write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Runs `sanctum plan`, printing any error; the exit code says whether it worked.
#[must_use]
pub fn main(job: &PlanJob<'_>) -> ExitCode {
    match run(job) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sanctum: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the plan of `job.ceremony` and writes the pictures asked for.
///
/// # Errors
/// When the ceremony does not load, `--from` is unknown, the dry run is stuck, or a file
/// cannot be written.
pub fn run(job: &PlanJob<'_>) -> Result<(), PlanError> {
    let loaded = config::load_ceremony(job.ceremony, job.rig).map_err(|diags| {
        eprint!("{diags}");
        PlanError::Invalid(diags.len())
    })?;
    let mut timeline = Timeline::new(Arc::new(loaded.ceremony), loaded.rig);
    if let Some(id) = job.from {
        timeline.start_from(id).map_err(PlanError::UnknownPhase)?;
    }
    let picture = sample(&timeline, job.manual_after, COLUMNS)?;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text(&picture, &timeline, job.ceremony).as_bytes());
    let wants_drawing = job.svg.is_some() || job.png.is_some();
    let drawing = wants_drawing.then(|| {
        let layout = Layout::new(&picture);
        (svg::document(&picture, &layout).to_string(), layout.height)
    });
    if let (Some(path), Some((svg, _))) = (job.svg, &drawing) {
        write_atomically(path, svg.as_bytes())?;
        let _ = writeln!(
            out,
            "wrote {} ({} KB)",
            path.display(),
            svg.len().div_ceil(1024)
        );
    }
    if let (Some(path), Some((svg, height))) = (job.png, &drawing) {
        let bytes = png::rasterise(svg, job.width)?;
        write_atomically(path, &bytes)?;
        let _ = writeln!(
            out,
            "wrote {} ({}×{} px, {} KB)",
            path.display(),
            job.width,
            png::height_for(*height, job.width),
            bytes.len().div_ceil(1024)
        );
    }
    Ok(())
}

/// The printed plan: a table of phases, then every event of the dry run.
#[must_use]
pub fn text(picture: &Picture, timeline: &Timeline, path: &Path) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "{} ({}): {}",
        picture.title,
        path.display(),
        format_duration(picture.length)
    );
    if picture.phases.iter().any(|p| p.manual) {
        let _ = write!(
            s,
            ", manual phases at {}",
            match picture.policy {
                ManualAfter::Min => "their minimum (--manual-after min)".to_owned(),
                ManualAfter::Fixed(d) => format_duration(d),
            }
        );
    }
    s.push('\n');
    for p in &picture.phases {
        let how = if p.manual { "manual" } else { "auto" };
        let _ = writeln!(
            s,
            "  {}  {:<12} {:>8}  {how:<6}  {}",
            format_clock(p.start),
            p.id,
            format_duration(p.end.saturating_sub(p.start)),
            p.title
        );
    }
    let _ = writeln!(
        s,
        "  {}  {:<12} {:>8}  {:<6}  darkness and silence\n",
        format_clock(picture.finish_at),
        "(finish)",
        format_duration(picture.length.saturating_sub(picture.finish_at)),
        ""
    );
    for event in &picture.events {
        let _ = writeln!(
            s,
            "{}",
            printer::describe(event, timeline.ceremony(), timeline.rig())
        );
    }
    s
}

/// Writes `bytes` to `path` through a synced temp file in the same folder, then a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), PlanError> {
    let fail = |source| PlanError::Write {
        path: path.to_owned(),
        source,
    };
    let mut file = AtomicWriteFile::open(path).map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.commit().map_err(fail)
}
