//! `paydesk report [--date YYYY-MM-DD] [--out FILE]`: the day report (日结) of a business day as a page in
//! the terminal, and with `--out` as CSV too. A thin wrapper: the ledger computes the report, the layout and
//! the CSV are [`crate::report_format`]'s. Like `paydesk export` it reads the ledger at
//! [`crate::paths::ledger_path`] (safe while the window runs) and never creates one.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use super::CmdResult;
use super::ledger::{existing_ledger, no_ledger, parse_date, today};
use crate::report_format::{PageHeader, text_page, write_csv_file};

/// The page's width in the terminal: the 80 mm printer's, which any terminal holds.
const COLUMNS: usize = 48;

pub fn run(date: Option<&str>, out: Option<&Path>, day_start_hour: u8) -> CmdResult {
    let day = match date {
        Some(d) => parse_date(d)?,
        None => today(day_start_hour),
    };
    let ledger = existing_ledger()?.ok_or_else(no_ledger)?;
    let (report, days) =
        ledger.day_report_with_days(day, day_start_hour, crate::app::report::CHART_DAYS)?;
    // The file first: a failure leaves nothing behind and nothing printed as if it had worked.
    if let Some(path) = out {
        write_csv_file(&report, &days, path)?;
    }
    let store_name = crate::config::Config::load_default()
        .map(|c| c.store.name)
        .unwrap_or_default();
    let header = PageHeader {
        store_name,
        printed_at: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
    };
    let mut stdout = std::io::stdout().lock();
    for line in text_page(&report, &days, &header, COLUMNS) {
        writeln!(stdout, "{line}")?;
    }
    if let Some(path) = out {
        eprintln!("wrote the day report of {day} to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
