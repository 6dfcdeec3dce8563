//! The command line: clap definitions whose doc comments are the help text. Parsing only.
//! Flags that several subcommands share, with the same help, are declared once in an
//! `Args` struct that each of them flattens.

use std::net::SocketAddr;
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
    /// Type commands on the terminal while it runs: next, prev, `goto <phase>`, pause, resume,
    /// stop, louder, softer. Ctrl-C stops gently; a second Ctrl-C quits at once.
    Run {
        /// The ceremony folder (holding ceremony.toml), e.g. scenes/sex-medicine.
        ceremony: PathBuf,
        /// Start at this phase instead of the first.
        #[arg(long, value_name = "PHASE")]
        from: Option<String>,
        /// Run the clock this many times faster (e.g. 60 for a minute per second), 0.1 to
        /// 10000.
        #[arg(long, value_name = "X", default_value = "1", value_parser = crate::units::parse_speed)]
        speed: f64,
        /// Where the sound goes, overriding the rig: `default`, a device name, `null` (silent,
        /// paced in real time) or `pipe:<path>` (raw PCM into a FIFO, e.g. for Snapcast); see
        /// `sanctum devices`.
        #[arg(long, value_name = "OUTPUT")]
        output: Option<String>,
        /// The phone page.
        #[command(flatten)]
        phone: PhoneArgs,
        /// Broker and room, overriding the rig.
        #[command(flatten)]
        net: NetArgs,
        /// Saving and resuming the position.
        #[command(flatten)]
        keep: KeepArgs,
    },
    /// Run as the room's daemon: wait idle for `start <ceremony>` from a phone, Home
    /// Assistant, a button or `sanctum send`, run it, and wait again.
    ///
    /// Loads every ceremony folder of the library that runs on the room's rig. Resumes a
    /// ceremony that was running when sanctum crashed or the power went. Reloads the library
    /// and rig when they are edited (or on SIGHUP). Stops gently on SIGTERM or Ctrl-C.
    Daemon(DaemonArgs),
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
        /// Manual phases' length and the phase to start at.
        #[command(flatten)]
        preview: PreviewArgs,
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
        /// The command: next, prev, `goto <phase>`, pause, resume, stop, louder, softer.
        #[arg(required = true, num_args = 1..)]
        command: Vec<String>,
        /// Send to every room (`sanctum/all/cmd`) instead of the rig's room.
        #[arg(long)]
        all: bool,
        /// Rig, broker and room.
        #[command(flatten)]
        net: NetArgs,
    },
    /// Print the room's retained state from the broker (what a phone app shows); exits 1 if
    /// the room is offline.
    Status {
        /// Rig, broker and room.
        #[command(flatten)]
        net: NetArgs,
    },
    /// Print the phone page's pairing link and QR code again.
    ///
    /// Reads the token the daemon keeps in its state folder (run as the daemon's user, e.g.
    /// `sudo -u sanctum sanctum remote`). Delete `remote-token` there and restart the daemon
    /// to unpair every phone.
    Remote {
        /// The config file (as for `daemon`).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The daemon's state folder (as for `daemon`).
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// The address the page listens on, if not the config's `[remote] listen`.
        #[arg(long, value_name = "ADDR")]
        remote: Option<SocketAddr>,
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
    /// List past ceremonies' journal entries, print one, or open one in $EDITOR.
    ///
    /// Entries are Markdown files in the state folder's `journal/`, written when a ceremony
    /// ends: its phases with their real starts and lengths, pauses, what triggered each
    /// change, device trouble, and the closing questions for the two of you.
    Journal {
        /// What to do (default: list).
        #[command(subcommand)]
        command: Option<JournalCommand>,
        /// The config file (for its state folder).
        #[arg(long, value_name = "FILE", global = true)]
        config: Option<PathBuf>,
        /// The state folder (default: the config's, then $STATE_DIRECTORY, then
        /// $XDG_STATE_HOME/sanctum, then /var/lib/sanctum).
        #[arg(long, value_name = "DIR", global = true)]
        state_dir: Option<PathBuf>,
    },
    /// List the audio outputs `--output` (or the rig's `audio.output`) accepts.
    ///
    /// Sound cards per host with their default config (rate, channels, sample format, buffer
    /// sizes), or why they cannot be opened; then the outputs that need no sound card: `null`,
    /// `wav:<path>` and `pipe:<path>`.
    Devices,
    /// Print and draw a ceremony's plan without rendering audio.
    ///
    /// Prints the phases with their starts and lengths, then every cue, note, chime and change.
    /// `--svg` and `--png` draw it: a lane per light (level as height, its colour as the fill)
    /// and per sound layer (gain), phases with their titles, chimes as marks, on a time axis in
    /// minutes. Manual phases are drawn at `--manual-after`.
    Plan {
        /// The ceremony folder (holding ceremony.toml), e.g. scenes/sex-medicine.
        ceremony: PathBuf,
        /// Manual phases' length and the phase to start at.
        #[command(flatten)]
        preview: PreviewArgs,
        /// The rig file (default: the one beside the ceremony).
        #[arg(long, value_name = "FILE")]
        rig: Option<PathBuf>,
        /// Draw the plan into this SVG file.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
        /// Draw the plan into this PNG file.
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
        /// Width of the PNG in pixels (the height follows from the number of lanes); the
        /// drawing's own width is 1400.
        #[arg(long, value_name = "PX", default_value_t = 1400,
              value_parser = clap::value_parser!(u32).range(400..=8000))]
        width: u32,
    },
}

/// `sanctum journal …`.
#[derive(Debug, Clone, Subcommand)]
pub enum JournalCommand {
    /// List the entries, oldest first, numbered.
    List,
    /// Print an entry: `latest` (the default), its number, or its file name.
    Show {
        /// Which entry.
        #[arg(default_value = "latest")]
        which: String,
    },
    /// Open an entry in $EDITOR (or `editor`, else `vi`) to write your notes.
    Edit {
        /// Which entry.
        #[arg(default_value = "latest")]
        which: String,
    },
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

/// The arguments of `sanctum daemon`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DaemonArgs {
    /// The config file (default: $SANCTUM_CONFIG, then
    /// $XDG_CONFIG_HOME/sanctum/sanctum.toml, then /etc/sanctum/sanctum.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The folder of ceremony folders (overrides the config's `library`).
    #[arg(long, value_name = "DIR")]
    pub library: Option<PathBuf>,
    /// The room's rig (overrides the config's `rig`; default: rig.toml in the library or
    /// a parent).
    #[arg(long, value_name = "FILE")]
    pub rig: Option<PathBuf>,
    /// MQTT broker, e.g. mqtt://127.0.0.1:1883 (overrides the config and the rig).
    #[arg(long, value_name = "URL")]
    pub broker: Option<String>,
    /// Room name used in topics (overrides the config and the rig).
    #[arg(long, value_name = "NAME", value_parser = room_name)]
    pub room: Option<String>,
    /// Where the sound goes (overrides the config and the rig); see `sanctum devices`.
    #[arg(long, value_name = "OUTPUT")]
    pub output: Option<String>,
    /// The phone page.
    #[command(flatten)]
    pub phone: PhoneArgs,
    /// Saving and resuming the position.
    #[command(flatten)]
    pub keep: KeepArgs,
}

/// The phone page's address, for the rooms `run` and `daemon` open.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PhoneArgs {
    /// Serve the phone page on this address, e.g. 0.0.0.0:8787 (overrides the config's
    /// `[remote] listen`); a phone pairs through the printed link or QR code.
    #[arg(long, value_name = "ADDR")]
    pub remote: Option<SocketAddr>,
}

/// How a ceremony is played through offline (`render`, `plan`): how long its manual phases
/// last, and the phase it starts at.
#[derive(Debug, Clone, clap::Args)]
pub struct PreviewArgs {
    /// How long each manual phase lasts: a duration (`5m`) for all of them, or `min` for
    /// each phase's `min` (a phase without one lasts until its script has played out,
    /// at least a minute).
    #[arg(long, value_name = "DURATION|min", default_value = "min",
          value_parser = ManualAfter::parse)]
    pub manual_after: ManualAfter,
    /// Start at this phase instead of the first.
    #[arg(long, value_name = "PHASE")]
    pub from: Option<String>,
}

/// Where the room's position is saved, and whether to resume it.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KeepArgs {
    /// Where the position is saved (default: the config's `state_dir`, then
    /// $STATE_DIRECTORY, then $XDG_STATE_HOME/sanctum, then /var/lib/sanctum).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Ignore a saved position: do not resume.
    #[arg(long)]
    pub fresh: bool,
    /// Start even if another live sanctum runs this room (it then stops obeying).
    #[arg(long)]
    pub force: bool,
}

/// Where the broker is, overriding the rig. Passwords never go on the command line: they come
/// from the rig's `password_env` or `password_file`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct NetArgs {
    /// The config file (default: $SANCTUM_CONFIG, then
    /// $XDG_CONFIG_HOME/sanctum/sanctum.toml, then /etc/sanctum/sanctum.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The rig file (default: the config's rig, else rig.toml in the current folder or the
    /// nearest parent; for `run`, the one beside the ceremony).
    #[arg(long, value_name = "FILE")]
    pub rig: Option<PathBuf>,
    /// MQTT broker, e.g. mqtt://127.0.0.1:1883 or mqtts://broker.lan:8883.
    #[arg(long, value_name = "URL")]
    pub broker: Option<String>,
    /// Room name used in topics (`sanctum/<room>/…`).
    #[arg(long, value_name = "NAME", value_parser = room_name)]
    pub room: Option<String>,
    /// Do not connect to any broker, whatever the rig says (lights and remotes stay idle).
    #[arg(long, conflicts_with = "broker")]
    pub no_mqtt: bool,
}

/// A room name that is one safe topic level (see [`crate::mqtt::topics::check_room`]).
fn room_name(text: &str) -> Result<String, String> {
    crate::mqtt::topics::check_room(text).map(|()| text.to_owned())
}
