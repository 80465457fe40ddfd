//! The `paydesk` binary: the cashier window by default, or one of the commands in `paydesk --help`.

use std::process::ExitCode;

use clap::Parser;
use paydesk::cli::{self, Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _logs = paydesk::logging::init(&paydesk::paths::data_dir());
    match cli.command {
        None | Some(Command::Gui) => {
            // Logs go to standard error; PAYDESK_LOG=info (or debug, …) says more than warnings.
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_env("PAYDESK_LOG")
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
                )
                .with_writer(std::io::stderr)
                .init();
            match paydesk::ui::run() {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("paydesk: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Some(command) => cli::run(command),
    }
}
