//! The `paydesk` binary: the cashier window by default, or one of the commands in `paydesk --help`.

use std::process::ExitCode;

use clap::Parser;
use paydesk::cli::{self, Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The window and the commands that run the engine or the sandbox keep a log file; the others only read.
    let file_log = matches!(
        cli.command,
        None | Some(Command::Gui | Command::Charge { .. } | Command::Sandbox(_))
    );
    let _logs = paydesk::app::start_logging(file_log);
    match cli.command {
        None | Some(Command::Gui) => match paydesk::ui::run() {
            Ok(()) => ExitCode::SUCCESS,
            // Already logged to stderr and the log file.
            Err(_) => ExitCode::from(2),
        },
        Some(command) => cli::run(command),
    }
}
