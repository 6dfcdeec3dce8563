//! The `sanctum` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use sanctum::app;
use sanctum::cli::{Cli, CliCommand, LightsCommand};
use sanctum::room::Exit;

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
            phone,
            net,
            keep,
        } => app::run(
            &ceremony,
            from.as_deref(),
            speed,
            output.as_deref(),
            phone.remote,
            &net,
            &keep,
        )
        .map(exit_code),
        CliCommand::Daemon(args) => app::daemon(&args).map(exit_code),
        CliCommand::Render {
            ceremony,
            out,
            preview,
            rate,
            float,
            rig,
        } => app::render(
            &ceremony,
            preview.from.as_deref(),
            rig.as_deref(),
            &app::RenderJob {
                out: &out,
                manual_after: preview.manual_after,
                rate,
                float,
            },
        )
        .map(|()| ExitCode::SUCCESS),
        CliCommand::Send { command, all, net } => {
            app::send(&command, all, &net).map(|()| ExitCode::SUCCESS)
        }
        CliCommand::Status { net } => app::status(&net).map(|()| ExitCode::SUCCESS),
        CliCommand::Lights {
            command: LightsCommand::Test { light, net, force },
        } => app::lights_test(&light, &net, force).map(|()| ExitCode::SUCCESS),
        CliCommand::Devices => return app::devices(),
        CliCommand::Journal {
            command,
            config,
            state_dir,
        } => app::journal(command.as_ref(), config.as_deref(), state_dir.as_deref())
            .map(|()| ExitCode::SUCCESS),
        CliCommand::Plan {
            ceremony,
            preview,
            rig,
            svg,
            png,
            width,
        } => {
            return sanctum::plan::command::main(&sanctum::plan::command::PlanJob {
                ceremony: &ceremony,
                manual_after: preview.manual_after,
                from: preview.from.as_deref(),
                rig: rig.as_deref(),
                svg: svg.as_deref(),
                png: png.as_deref(),
                width,
            });
        }
        CliCommand::Remote {
            config,
            state_dir,
            remote,
        } => {
            app::remote(config.as_deref(), state_dir.as_deref(), remote).map(|()| ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            sanctum::console::warn(&format!("sanctum: {err}\n"));
            ExitCode::FAILURE
        }
    }
}

/// A room that quit at once on a second signal ends like a process killed by SIGINT.
fn exit_code(exit: Exit) -> ExitCode {
    match exit {
        Exit::Done => ExitCode::SUCCESS,
        Exit::Quit => ExitCode::from(130),
    }
}
