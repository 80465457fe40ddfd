//! The day report (日结) for the window's [`Backend`](super::window::Backend): the report and the 30 days
//! before it, its CSV, its printable page, and the day's sums for the history screen.
//!
//! The engine has no report views, so these read the ledger through a handle of their own, opened for the
//! call on the blocking pool and closed after it: the ledger is SQLite in WAL mode and its readers never
//! hold up the engine's writes (`paydesk report` and `paydesk export` read it the same way while the window
//! runs). Opening a ledger at the current schema writes nothing. Not here: computing the report (the
//! ledger), its words and layout ([`crate::report_format`]), drawing (the window).

use std::path::PathBuf;

use chrono::NaiveDate;

use super::AppHandle;
use crate::ledger::report::{DailyTotal, DayReport};
use crate::ledger::{DaySums, Ledger, LedgerError};

/// How many days the report's chart of daily takings covers.
pub const CHART_DAYS: u32 = 30;

impl AppHandle {
    /// Run `f` on a reading handle of the ledger, on the blocking pool. Errors are text for the window.
    async fn with_ledger<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Ledger) -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        let path = self.engine().settings().ledger_path.clone();
        tokio::task::spawn_blocking(move || {
            let ledger = Ledger::open_deferring_check(&path).map_err(|e| e.to_string())?;
            f(&ledger)
        })
        .await
        .map_err(|e| format!("the ledger task failed: {e}"))?
    }

    /// Business day `day`'s report and the [`CHART_DAYS`] days up to it.
    pub async fn day_report(&self, day: NaiveDate) -> Result<(DayReport, Vec<DailyTotal>), String> {
        let start = self.config().day_start_hour;
        self.with_ledger(move |l| report_of(l, day, start).map_err(|e| e.to_string()))
            .await
    }

    /// Business day `day`'s report CSV at `path`, replaced atomically.
    pub async fn export_day_report(&self, day: NaiveDate, path: PathBuf) -> Result<(), String> {
        let start = self.config().day_start_hour;
        self.with_ledger(move |l| {
            let (report, days) = report_of(l, day, start).map_err(|e| e.to_string())?;
            crate::report_format::write_csv_file(&report, &days, &path).map_err(|e| e.to_string())
        })
        .await
    }

    /// Business day `day`'s received, refunded and net.
    pub async fn day_sums(&self, day: NaiveDate) -> Result<DaySums, String> {
        let start = self.config().day_start_hour;
        self.with_ledger(move |l| l.day_sums(day, start).map_err(|e| e.to_string()))
            .await
    }
}

/// The report of `day` and the chart's days, as `paydesk report` reads them too.
pub fn report_of(
    ledger: &Ledger,
    day: NaiveDate,
    day_start_hour: u8,
) -> Result<(DayReport, Vec<DailyTotal>), LedgerError> {
    let report = ledger.day_report(day, day_start_hour)?;
    let days = ledger.daily_totals(day, CHART_DAYS, day_start_hour)?;
    Ok((report, days))
}
