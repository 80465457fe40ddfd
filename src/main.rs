//! The `paydesk` binary: the cashier window by default, or one of the commands in `paydesk --help`.

// On Windows the window must not come with a console window; the commands attach to the caller's console.
#![cfg_attr(windows, windows_subsystem = "windows")]

use std::process::ExitCode;

use clap::Parser;
use paydesk::cli::{self, Cli, Command};

#[cfg(windows)]
mod win_console;

fn main() -> ExitCode {
    #[cfg(windows)]
    win_console::attach_for_commands();
    let cli = Cli::parse();
    // The window and the commands that run the engine or the sandbox keep a log file; the others only read.
    let file_log = matches!(
        cli.command,
        None | Some(
            Command::Gui
                | Command::Charge { .. }
                | Command::Refund { .. }
                | Command::Reconcile { .. }
                | Command::Sandbox(_)
        )
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
