//! The `sanctum` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use sanctum::app;
use sanctum::cli::{Cli, CliCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        CliCommand::Check { paths, rig } => app::check(&paths, rig.as_deref()),
        CliCommand::Run {
            ceremony,
            rig,
            from,
            speed,
        } => match app::run_ceremony(&ceremony, rig.as_deref(), from.as_deref(), speed) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("sanctum: {err}");
                ExitCode::FAILURE
            }
        },
    }
}
