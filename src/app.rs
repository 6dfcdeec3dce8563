//! What each subcommand does, wired from the library's parts. Returns exit codes and typed
//! errors; printing to the terminal happens here, argument parsing does not.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

use crate::clock::Clock;
use crate::command::Command;
use crate::config;
use crate::printer::describe;
use crate::run::{Feedback, Output, Request, run};
use crate::timeline::{Event, Timeline};
use crate::units::format_clock;

/// Why a subcommand failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The ceremony or its rig has problems (already printed).
    #[error("failed to load the ceremony: {0} problem(s), listed above")]
    Invalid(usize),
    /// `--from` named a phase the ceremony does not have.
    #[error("failed to start: the ceremony has no phase `{0}`")]
    UnknownPhase(String),
    /// The async runtime or the signal handlers could not start.
    #[error("failed to start the runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// `sanctum check`: prints every problem, then a summary; exit 1 on any problem.
#[must_use]
pub fn check(paths: &[PathBuf], rig: Option<&Path>) -> ExitCode {
    let started = Instant::now();
    let report = config::check(paths, rig);
    let elapsed = started.elapsed();
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    for d in report.diags.sorted() {
        let _ = writeln!(err, "{d}\n");
    }
    if report.diags.is_empty() {
        println!(
            "ok: {} file(s), {} ceremony(ies) checked in {:.1} ms",
            report.files,
            report.ceremonies,
            elapsed.as_secs_f64() * 1000.0
        );
        ExitCode::SUCCESS
    } else {
        let _ = writeln!(
            err,
            "{} problem(s) in {} file(s) checked",
            report.diags.len(),
            report.files
        );
        ExitCode::FAILURE
    }
}

/// Prints engine events to stdout.
struct Terminal;

impl Output for Terminal {
    fn apply(&mut self, event: &Event, timeline: &Timeline) {
        println!("{}", describe(event, timeline.ceremony(), timeline.rig()));
    }
}

impl Feedback for Terminal {
    fn ignored(&mut self, at: Duration, request: &Request, why: &str) {
        println!(
            "{}  · {} (from {}) ignored: {why}",
            format_clock(at),
            request.command,
            request.source
        );
    }
}

/// `sanctum run`: loads the ceremony and runs it on the real clock until it ends.
///
/// # Errors
/// Fails when the ceremony does not load, `--from` is unknown, or the runtime cannot start.
pub fn run_ceremony(
    ceremony: &Path,
    rig: Option<&Path>,
    from: Option<&str>,
    speed: f64,
) -> Result<(), AppError> {
    let loaded = match config::load_ceremony(ceremony, rig) {
        Ok(loaded) => loaded,
        Err(diags) => {
            eprint!("{diags}");
            return Err(AppError::Invalid(diags.len()));
        }
    };
    let mut timeline = Timeline::new(Arc::new(loaded.ceremony), loaded.rig);
    if let Some(id) = from {
        timeline.start_from(id).map_err(AppError::UnknownPhase)?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let signals = crate::shutdown::signals()?;
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(read_terminal(tx));
        let clock = Clock::start(speed);
        let mut terminal = Terminal;
        let mut feedback = Terminal;
        let mut outputs: [&mut dyn Output; 1] = [&mut terminal];
        run(
            &mut timeline,
            clock,
            rx,
            signals,
            &mut outputs,
            &mut feedback,
        )
        .await;
        Ok::<(), AppError>(())
    });
    // The terminal reader blocks on stdin in a thread of its own; do not wait for it.
    runtime.shutdown_background();
    result
}

/// Reads commands typed on the terminal, one per line.
async fn read_terminal(tx: mpsc::Sender<Request>) {
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        match Command::parse(&line) {
            Ok(command) => {
                let request = Request {
                    command,
                    source: "terminal".to_owned(),
                };
                if tx.send(request).await.is_err() {
                    break;
                }
            }
            Err(err) => eprintln!("{err}"),
        }
    }
}
