//! The `paydesk` command line: argument definitions and dispatch. Each area's commands live in their own
//! file and call the library; nothing here holds business logic.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod charge;
pub mod config;
pub mod ledger;
pub mod reconcile;
pub mod refund;
pub mod report;
pub mod sandbox;

#[derive(Debug, Parser)]
#[command(
    name = "paydesk",
    version,
    about = "PayDesk: a desktop cashier for WeChat Pay Native scan-to-pay.",
    long_about = "PayDesk: a desktop cashier for WeChat Pay Native scan-to-pay.\n\n\
        Without a command it opens the cashier window. With no merchant account configured it runs against \
        its built-in sandbox gateway (no real money)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

// Parsed once at start-up and never copied around: the size of the largest variant (paths are bigger on
// Windows) costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the cashier window (the default).
    Gui,
    /// Run the sandbox gateway, or play its customer.
    Sandbox(SandboxArgs),
    /// Charge an amount from the terminal with the same engine as the window.
    Charge {
        /// The amount in yuan, e.g. 12.50.
        #[arg(long)]
        amount: String,
        /// The item name (default: 商品).
        #[arg(long)]
        item: Option<String>,
        /// Wait for the final status; the exit code is 0 only when paid.
        #[arg(long)]
        wait: bool,
    },
    /// Refund a paid order (all that is left, or --amount), with the manager's PIN
    /// (PAYDESK_MANAGER_PIN, else asked for; in sandbox mode with none set: 0000).
    Refund {
        /// The order's out_trade_no.
        out_trade_no: String,
        /// The amount in yuan, e.g. 3.50 (default: all that is left to refund).
        #[arg(long)]
        amount: Option<String>,
        /// Why (shown to the customer by WeChat Pay, at most 80 bytes).
        #[arg(long)]
        reason: Option<String>,
        /// Wait for the final status; the exit code is 0 only when the refund succeeded.
        #[arg(long)]
        wait: bool,
    },
    /// Export one business day's transactions as CSV (UTF-8 with BOM, for Excel).
    Export {
        /// The day, YYYY-MM-DD (local time).
        #[arg(long)]
        date: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The hour (0-23) the business day starts at, for shops open past midnight
        /// (default: `day_start_hour` of the configuration, else 0).
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..24))]
        day_start_hour: Option<u8>,
    },
    /// Reconcile a day with WeChat Pay's trade bill: print the bill's totals and service fee and every
    /// difference, explained; payments and refunds the bill shows that the ledger missed are applied
    /// (and flagged). Exit code 0 only when no difference is left unexplained, 1 otherwise.
    Reconcile {
        /// The day, YYYY-MM-DD, in Beijing time (the bill's day). Live, a day's bill is ready from 10:00
        /// Beijing time the next day.
        #[arg(long)]
        date: String,
    },
    /// The day report (日结): received, refunds, net, WeChat's fee, orders by status, by cashier, by station
    /// and by hour, and the day's reconciliation state, as a page in the terminal; with --out, also the
    /// report as CSV (UTF-8 with BOM, for Excel).
    Report {
        /// The business day, YYYY-MM-DD (default: the business day it is now).
        #[arg(long)]
        date: Option<String>,
        /// Also write the report CSV to this file (replaced atomically).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The hour (0-23) the business day starts at, for shops open past midnight
        /// (default: `day_start_hour` of the configuration, else 0).
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..24))]
        day_start_hour: Option<u8>,
    },
    /// List orders in the terminal.
    Orders {
        /// The day, YYYY-MM-DD (default: today).
        #[arg(long)]
        date: Option<String>,
        /// The hour (0-23) the business day starts at, for shops open past midnight
        /// (default: `day_start_hour` of the configuration, else 0).
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..24))]
        day_start_hour: Option<u8>,
    },
    /// Copy the ledger database to FILE while PayDesk may be running (SQLite online backup).
    Backup { file: PathBuf },
    /// Create or check the configuration file.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SandboxArgs {
    #[command(subcommand)]
    pub action: Option<SandboxAction>,
    /// Address to serve on.
    #[arg(long, default_value = crate::sandbox_defaults::LISTEN)]
    pub listen: SocketAddr,
    /// The appid the sandbox accepts.
    #[arg(long, default_value = crate::sandbox_defaults::APPID)]
    pub appid: String,
    /// The mch_id the sandbox accepts.
    #[arg(long = "mch-id", default_value = crate::sandbox_defaults::MCH_ID)]
    pub mch_id: String,
    /// The API v2 key the sandbox signs and verifies with.
    #[arg(long, default_value = crate::sandbox_defaults::KEY)]
    pub key: String,
    /// Allow closeorder right after an order is created (the live gateway refuses it for 5 minutes).
    #[arg(long)]
    pub fast_close: bool,
    /// Keep the sandbox's orders in this file (TOML), so they survive a restart.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Also serve HTTPS here, with client certificates: `/secapi/*` (refunds) needs the merchant
    /// certificate, as live; the plain port refuses `/secapi/*`.
    #[arg(long, value_name = "ADDR")]
    pub tls_listen: Option<SocketAddr>,
    /// The HTTPS port's certificates: its CA (ca.pem), server certificate and the merchant's
    /// apiclient_cert.p12 / .pem / apiclient_key.pem, issued here on first start
    /// (default: sandbox-certs in the data directory).
    #[arg(long, value_name = "DIR", requires = "tls_listen")]
    pub certs: Option<PathBuf>,
    /// Seconds two refunds of one order must be apart (FREQUENCY_LIMITED otherwise); live: 60.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub refund_interval: u64,
    /// Also serve today's trade bill (/pay/downloadbill); the live gateway has a day's bill only from
    /// 10:00 Beijing time the next day. For tests and training.
    #[arg(long)]
    pub bills_today: bool,
}

#[derive(Debug, Subcommand)]
pub enum SandboxAction {
    /// Play the customer: scan and pay (or fail) an order of a running sandbox.
    Pay {
        /// The order's code_url or out_trade_no.
        order: String,
        /// Make the payment fail instead.
        #[arg(long)]
        fail: bool,
        /// The sandbox's base URL.
        #[arg(long, default_value = crate::sandbox_defaults::URL)]
        url: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Write a commented configuration template (mode 0600).
    Init {
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Validate the configuration file and say what PayDesk would do with it.
    Check,
    /// Set the manager PIN that refunds need (4-12 digits, from PAYDESK_MANAGER_PIN or asked for twice).
    /// Only its salted hash is stored, in [manager] of the configuration file. In sandbox mode the PIN is
    /// 0000 until one is set; live refunds are refused until one is set.
    SetManagerPin,
    /// Set (or change) a cashier's sign-in PIN (4-12 digits, from PAYDESK_CASHIER_PIN or asked for twice).
    /// NAME must be in [store] cashiers. Only its salted hash is stored, in [shift.cashier_pins]; a cashier
    /// without one signs in without a PIN.
    SetCashierPin {
        /// The cashier, as in [store] cashiers.
        name: String,
    },
}

/// Run a parsed command line. The GUI is started by `main`, which owns the window.
pub fn run(command: Command) -> ExitCode {
    let result = match command {
        Command::Gui => unreachable!("main starts the window"),
        Command::Sandbox(args) => sandbox::run(args),
        Command::Charge { amount, item, wait } => charge::run(&amount, item.as_deref(), wait),
        Command::Refund {
            out_trade_no,
            amount,
            reason,
            wait,
        } => refund::run(&out_trade_no, amount.as_deref(), reason.as_deref(), wait),
        Command::Export {
            date,
            out,
            day_start_hour,
        } => ledger::export(&date, out.as_deref(), day_start(day_start_hour)),
        Command::Orders {
            date,
            day_start_hour,
        } => ledger::orders(date.as_deref(), day_start(day_start_hour)),
        Command::Reconcile { date } => reconcile::run(&date),
        Command::Report {
            date,
            out,
            day_start_hour,
        } => report::run(date.as_deref(), out.as_deref(), day_start(day_start_hour)),
        Command::Backup { file } => ledger::backup(&file),
        Command::Config { action } => config::run(action),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("paydesk: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The business day's start hour: the flag, else the configuration's, else midnight.
fn day_start(flag: Option<u8>) -> u8 {
    flag.unwrap_or_else(|| match crate::config::Config::load_default() {
        Ok(c) => c.day_start_hour,
        Err(e) => {
            eprintln!("paydesk: configuration ignored for the business day ({e}); using midnight");
            0
        }
    })
}

/// A command's failure, shown as one clear line.
pub type CmdResult = Result<ExitCode, Box<dyn std::error::Error>>;
