//! The command line: clap definitions whose doc comments are the help text. Parsing only.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// sanctum: room ambience for ceremonies. Timed scene scripts crossfade music and fade lights,
/// so nobody has to look at a screen.
#[derive(Debug, Parser)]
#[command(name = "sanctum", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: CliCommand,
}

/// sanctum's subcommands.
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Run a ceremony in the foreground on the real clock.
    ///
    /// Type commands on the terminal while it runs: next, prev, goto <phase>, pause, resume,
    /// stop, louder, softer. Ctrl-C stops gently; a second Ctrl-C quits at once.
    Run {
        /// The ceremony folder (holding ceremony.toml), e.g. scenes/sex-medicine.
        ceremony: PathBuf,
        /// The rig file (default: rig.toml in the ceremony folder or the nearest parent).
        #[arg(long, value_name = "FILE")]
        rig: Option<PathBuf>,
        /// Start at this phase instead of the first.
        #[arg(long, value_name = "PHASE")]
        from: Option<String>,
        /// Run the clock this many times faster (e.g. 60 for a minute per second).
        #[arg(long, value_name = "X", default_value_t = 1.0)]
        speed: f64,
    },
    /// Check rigs, ceremonies and scenes; report every problem as path:line:col.
    ///
    /// Takes files (rig.toml, ceremony.toml, a scene) or folders (a ceremony, or a whole
    /// scenes/ tree). Exits 1 if anything is wrong, 0 if all is well.
    Check {
        /// Files or folders to check.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Check scenes against this rig instead of the one found beside them.
        #[arg(long, value_name = "FILE")]
        rig: Option<PathBuf>,
    },
}
