//! The `paydesk` binary: the cashier window by default, or one of the commands in `paydesk --help`.

use std::process::ExitCode;

use clap::Parser;
use paydesk::cli::{self, Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _logs = paydesk::logging::init(&paydesk::paths::data_dir());
    match cli.command {
        None | Some(Command::Gui) => match paydesk::ui::run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("paydesk: {e}");
                ExitCode::from(2)
            }
        },
        Some(command) => cli::run(command),
    }
}
