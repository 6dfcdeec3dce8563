//! The command line: clap definitions whose doc comments are the help text. Parsing only.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::render::ManualAfter;

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
        /// Start at this phase instead of the first.
        #[arg(long, value_name = "PHASE")]
        from: Option<String>,
        /// Run the clock this many times faster (e.g. 60 for a minute per second).
        #[arg(long, value_name = "X", default_value_t = 1.0)]
        speed: f64,
        /// Where the sound goes, overriding the rig: `default`, a device name, `null` (silent,
        /// paced in real time) or `pipe:<path>` (raw PCM into a FIFO, e.g. for Snapcast); see
        /// `sanctum devices`.
        #[arg(long, value_name = "OUTPUT")]
        output: Option<String>,
        /// Broker and room, overriding the rig.
        #[command(flatten)]
        net: NetArgs,
    },
    /// Render a whole ceremony offline into a WAV file, through the same mixer `run` uses.
    ///
    /// The ceremony runs on virtual time, far faster than real time; manual phases move on
    /// after `--manual-after`, so a two-hour ceremony can be previewed in minutes. Lights and
    /// remotes stay idle.
    Render {
        /// The ceremony folder (holding ceremony.toml), e.g. scenes/demo.
        ceremony: PathBuf,
        /// The WAV file to write.
        #[arg(long, short, value_name = "FILE")]
        out: PathBuf,
        /// How long each manual phase lasts: a duration (`5m`) for all of them, or `min` for
        /// each phase's `min` (a phase without one lasts until its script has played out,
        /// at least a minute).
        #[arg(long, value_name = "DURATION|min", default_value = "min",
              value_parser = ManualAfter::parse)]
        manual_after: ManualAfter,
        /// Start at this phase instead of the first.
        #[arg(long, value_name = "PHASE")]
        from: Option<String>,
        /// Sample rate of the file.
        #[arg(long, value_name = "HZ", default_value_t = 48_000,
              value_parser = clap::value_parser!(u32).range(8_000..=192_000))]
        rate: u32,
        /// Write 32-bit float samples (the mixer's own, bit for bit) instead of dithered
        /// 16-bit PCM (half the size).
        #[arg(long)]
        float: bool,
        /// The rig file (default: the one beside the ceremony).
        #[arg(long, value_name = "FILE")]
        rig: Option<PathBuf>,
    },
    /// Send a command to a running sanctum through the broker, like a phone would.
    ///
    /// Example: `sanctum send goto soaking`. Uses the rig's broker, room and credentials.
    Send {
        /// The command: next, prev, goto <phase>, pause, resume, stop, louder, softer.
        #[arg(required = true, num_args = 1..)]
        command: Vec<String>,
        /// Send to every room (`sanctum/all/cmd`) instead of the rig's room.
        #[arg(long)]
        all: bool,
        /// Rig, broker and room.
        #[command(flatten)]
        net: NetArgs,
    },
    /// Print the room's retained state from the broker (what a phone app shows).
    Status {
        /// Rig, broker and room.
        #[command(flatten)]
        net: NetArgs,
    },
    /// Work with the rig's lights.
    Lights {
        /// What to do.
        #[command(subcommand)]
        command: LightsCommand,
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
    /// List the audio outputs `--output` (or the rig's `audio.output`) accepts.
    ///
    /// Sound cards per host with their default config (rate, channels, sample format, buffer
    /// sizes), or why they cannot be opened; then the outputs that need no sound card: `null`,
    /// `wav:<path>` and `pipe:<path>`.
    Devices,
}

/// `sanctum lights …`.
#[derive(Debug, Subcommand)]
pub enum LightsCommand {
    /// Run a short visible fade on one light (3 s there, 3 s back).
    Test {
        /// The light's name in the rig.
        light: String,
        /// Test even while a ceremony runs in the room (it takes the light for 6 s).
        #[arg(long)]
        force: bool,
        /// Rig, broker and room.
        #[command(flatten)]
        net: NetArgs,
    },
}

/// Where the broker is, overriding the rig. Passwords never go on the command line: they come
/// from the rig's `password_env` or `password_file`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct NetArgs {
    /// The rig file (default: rig.toml in the current folder or the nearest parent; for
    /// `run`, the one beside the ceremony).
    #[arg(long, value_name = "FILE")]
    pub rig: Option<PathBuf>,
    /// MQTT broker, e.g. mqtt://127.0.0.1:1883 or mqtts://broker.lan:8883.
    #[arg(long, value_name = "URL")]
    pub broker: Option<String>,
    /// Room name used in topics (`sanctum/<room>/…`).
    #[arg(long, value_name = "NAME")]
    pub room: Option<String>,
    /// Do not connect to any broker, whatever the rig says (lights and remotes stay idle).
    #[arg(long, conflicts_with = "broker")]
    pub no_mqtt: bool,
}
