//! What the window reads: a business day's orders, one order's lines and history, a day's export, its sums and
//! its report (日结); and this station's shifts (sign-in, the shift's summary, its handover), which are the
//! ledger's own records.
//!
//! Views over the ledger, run on the blocking pool (SQLite, file I/O) so no caller's thread waits on the
//! disk. Which orders belong to a day is the ledger's rule ([`crate::ledger::day`]: a paid order on the day of
//! its payment); what a shift counts and when it may be handed over is the ledger's ([`crate::ledger::shift`]).

use std::path::PathBuf;

use chrono::NaiveDate;

use super::{Engine, EngineError, EventView, LineView, OrderDetail, OrderSummary};
use crate::ledger::report::{DailyTotal, DayReport};
use crate::ledger::{DaySums, LedgerError, Shift, ShiftSummary};

impl Engine {
    /// The orders of business day `day` (days starting at `day_start_hour` local time), oldest first.
    pub async fn orders_for_day(
        &self,
        day: NaiveDate,
        day_start_hour: u8,
    ) -> Result<Vec<OrderSummary>, EngineError> {
        let orders = self
            .inner
            .db(move |l| l.orders_for_day(day, day_start_hour))
            .await?;
        Ok(orders
            .into_iter()
            .map(|o| OrderSummary {
                out_trade_no: o.out_trade_no,
                created_at: o.created_at,
                total: o.total,
                status: o.status,
                transaction_id: o.transaction_id,
                cashier: o.cashier,
            })
            .collect())
    }

    /// An order's lines and its history (every input, applied or ignored, and every logged step).
    pub async fn order_detail(&self, out_trade_no: &str) -> Result<OrderDetail, EngineError> {
        let no = out_trade_no.to_string();
        self.inner
            .db(move |l| {
                let cashier = l
                    .order(&no)?
                    .ok_or_else(|| LedgerError::NotFound(no.clone()))?
                    .cashier;
                let lines = l
                    .items(&no)?
                    .into_iter()
                    .map(|i| LineView {
                        name: i.name,
                        unit_price: i.unit_price,
                        qty: i.qty,
                        line_total: i.line_total,
                    })
                    .collect();
                let events = l
                    .events(&no)?
                    .into_iter()
                    .map(|e| EventView {
                        at: e.at,
                        kind: e.kind,
                        outcome: e.outcome,
                        detail: e.detail,
                    })
                    .collect();
                Ok(OrderDetail {
                    cashier,
                    lines,
                    events,
                })
            })
            .await
    }

    /// This station's open shift, if a cashier is signed in (also one left open by a crash: it goes on).
    pub async fn open_shift(&self) -> Result<Option<Shift>, EngineError> {
        let station = self.inner.settings.station.clone();
        self.inner.db(move |l| l.open_shift(&station)).await
    }

    /// Sign `cashier` in at this station now (the same cashier gets their open shift back). Who may sign
    /// in, and their PIN, is the caller's to check.
    pub async fn sign_in(&self, cashier: &str) -> Result<Shift, EngineError> {
        let (station, cashier) = (self.inner.settings.station.clone(), cashier.to_owned());
        let now = self.inner.now();
        self.inner
            .db(move |l| l.sign_in(&station, &cashier, now))
            .await
    }

    /// What shift `id` took from its sign-in until now.
    pub async fn shift_summary(&self, id: i64) -> Result<ShiftSummary, EngineError> {
        let now = self.inner.now();
        self.inner.db(move |l| l.shift_summary(id, now)).await
    }

    /// Hand shift `id` over now (refused while an order of this station is unfinished).
    pub async fn hand_over(&self, id: i64) -> Result<Shift, EngineError> {
        let now = self.inner.now();
        self.inner.db(move |l| l.hand_over(id, now)).await
    }

    /// Write business day `day`'s CSV to `path` (replaced atomically); the number of order rows written.
    pub async fn export_day(
        &self,
        day: NaiveDate,
        day_start_hour: u8,
        path: PathBuf,
    ) -> Result<usize, EngineError> {
        self.inner
            .db(move |l| l.export_day_to_file(day, day_start_hour, &path))
            .await
    }

    /// Business day `day`'s report and the `chart_days` days up to it.
    pub async fn day_report(
        &self,
        day: NaiveDate,
        day_start_hour: u8,
        chart_days: u32,
    ) -> Result<(DayReport, Vec<DailyTotal>), EngineError> {
        self.inner
            .db(move |l| l.day_report_with_days(day, day_start_hour, chart_days))
            .await
    }

    /// Business day `day`'s received, refunded and net.
    pub async fn day_sums(
        &self,
        day: NaiveDate,
        day_start_hour: u8,
    ) -> Result<DaySums, EngineError> {
        self.inner
            .db(move |l| l.day_sums(day, day_start_hour))
            .await
    }
}
