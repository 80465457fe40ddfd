//! The day report (日结) for the window's [`Backend`](super::window::Backend): the report and the 30 days
//! before it, its CSV, its printable page, and the day's sums for the history screen.
//!
//! Read through the engine's views of its ledger (on the blocking pool); the CSV file is written on the
//! blocking pool too. Not here: computing the report (the ledger), its words and layout
//! ([`crate::report_format`]), drawing (the window).

use std::path::PathBuf;

use chrono::NaiveDate;

use super::AppHandle;
use crate::ledger::DaySums;
use crate::ledger::report::{DailyTotal, DayReport};

/// How many days the report's chart of daily takings covers.
pub const CHART_DAYS: u32 = 30;

impl AppHandle {
    /// Business day `day`'s report and the [`CHART_DAYS`] days up to it.
    pub async fn day_report(&self, day: NaiveDate) -> Result<(DayReport, Vec<DailyTotal>), String> {
        let start = self.config().day_start_hour;
        self.engine()
            .day_report(day, start, CHART_DAYS)
            .await
            .map_err(|e| e.to_string())
    }

    /// Business day `day`'s report CSV at `path`, replaced atomically.
    pub async fn export_day_report(&self, day: NaiveDate, path: PathBuf) -> Result<(), String> {
        let (report, days) = self.day_report(day).await?;
        tokio::task::spawn_blocking(move || {
            crate::report_format::write_csv_file(&report, &days, &path).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| format!("the export task failed: {e}"))?
    }

    /// Business day `day`'s received, refunded and net.
    pub async fn day_sums(&self, day: NaiveDate) -> Result<DaySums, String> {
        let start = self.config().day_start_hour;
        self.engine()
            .day_sums(day, start)
            .await
            .map_err(|e| e.to_string())
    }
}
