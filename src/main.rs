//! The `sanctum` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use sanctum::app;
use sanctum::cli::{Cli, CliCommand, LightsCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    app::init_logging();
    let result = match cli.command {
        CliCommand::Check { paths, rig } => return app::check(&paths, rig.as_deref()),
        CliCommand::Run {
            ceremony,
            from,
            speed,
            output,
            net,
        } => app::run_ceremony(&ceremony, from.as_deref(), speed, output.as_deref(), &net),
        CliCommand::Render {
            ceremony,
            out,
            manual_after,
            from,
            rate,
            float,
            rig,
        } => app::render(
            &ceremony,
            from.as_deref(),
            rig.as_deref(),
            &app::RenderJob {
                out: &out,
                manual_after,
                rate,
                float,
            },
        ),
        CliCommand::Send { command, all, net } => app::send(&command, all, &net),
        CliCommand::Status { net } => app::status(&net),
        CliCommand::Lights {
            command: LightsCommand::Test { light, net, force },
        } => app::lights_test(&light, &net, force),
        CliCommand::Devices => return app::devices(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sanctum: {err}");
            ExitCode::FAILURE
        }
    }
}
