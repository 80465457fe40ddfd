//! Reading refunds back: one, an order's, those in flight, a business day's, and the day's sums; and the
//! row format the ledger's other readers share ([`REFUND_SELECT`], [`refund_from_row`]).
//!
//! Reads only: recording and applying refunds is `write.rs`.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rusqlite::{OptionalExtension, Row};

use super::{DaySums, Refund, RefundSource};
use crate::calendar::day_bounds_in;
use crate::ledger::model::LedgerError;
use crate::ledger::refund_state::{self, RefundState};
use crate::ledger::store::{Ledger, fen_at, opt_time_at, time_at, to_ms};
use crate::money::Fen;

/// The columns [`refund_from_row`] reads, over `refunds r JOIN orders o`.
macro_rules! refund_columns {
    () => {
        "r.out_refund_no, o.out_trade_no, r.amount_fen, r.reason, r.approved_by, r.source, r.status, \
         r.refund_id, r.created_at, r.updated_at, r.success_at, r.recv_account, r.flagged, r.flag_reason"
    };
}

/// The columns [`refund_from_row`] reads, with the join they need.
pub(in crate::ledger) const REFUND_SELECT: &str = concat!(
    "SELECT ",
    refund_columns!(),
    " FROM refunds r JOIN orders o ON o.id = r.order_id"
);

/// [`REFUND_SELECT`] followed by the order's cashier and station (columns 14 and 15).
pub(in crate::ledger) const REFUND_WITH_ORDER_SELECT: &str = concat!(
    "SELECT ",
    refund_columns!(),
    ", o.cashier, o.station FROM refunds r JOIN orders o ON o.id = r.order_id"
);

fn bad(idx: usize, msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, msg.into())
}

pub(super) fn refund_state_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<RefundState> {
    let s = row.get_ref(idx)?.as_str()?;
    RefundState::parse(s).ok_or_else(|| bad(idx, format!("unknown refund status {s:?}")))
}

pub(in crate::ledger) fn refund_from_row(row: &Row<'_>) -> rusqlite::Result<Refund> {
    let source = row.get_ref(5)?.as_str()?;
    Ok(Refund {
        out_refund_no: row.get(0)?,
        out_trade_no: row.get(1)?,
        amount: fen_at(row, 2)?,
        reason: row.get(3)?,
        approved_by: row.get(4)?,
        source: RefundSource::parse(source)
            .ok_or_else(|| bad(5, format!("unknown refund source {source:?}")))?,
        status: refund_state_at(row, 6)?,
        refund_id: row.get(7)?,
        created_at: time_at(row, 8)?,
        updated_at: time_at(row, 9)?,
        success_at: opt_time_at(row, 10)?,
        recv_account: row.get(11)?,
        flagged: row.get(12)?,
        flag_reason: row.get(13)?,
    })
}

impl Ledger {
    /// One refund, if it exists.
    pub fn refund(&self, out_refund_no: &str) -> Result<Option<Refund>, LedgerError> {
        let conn = self.reader();
        let mut stmt =
            conn.prepare_cached(&format!("{REFUND_SELECT} WHERE r.out_refund_no = ?1"))?;
        Ok(stmt
            .query_row([out_refund_no], refund_from_row)
            .optional()?)
    }

    /// An order's refunds, in the order they were recorded (empty if the order does not exist).
    pub fn refunds_of(&self, out_trade_no: &str) -> Result<Vec<Refund>, LedgerError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "{REFUND_SELECT} WHERE o.out_trade_no = ?1 ORDER BY r.id"
        ))?;
        let rows = stmt.query_map([out_trade_no], refund_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Refunds in flight (requesting or processing), oldest first: what start-up reconciliation must drive
    /// to an end (a `requesting` one is resent with the same out_refund_no, or queried).
    pub fn unfinished_refunds(&self) -> Result<Vec<Refund>, LedgerError> {
        let conn = self.reader();
        // The same condition as the partial index `refunds_unfinished`.
        let mut stmt = conn.prepare_cached(&format!(
            "{REFUND_SELECT} WHERE r.status IN ({}) ORDER BY r.created_at, r.id",
            refund_state::unfinished_sql_list()
        ))?;
        let rows = stmt.query_map([], refund_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// What can still be refunded of an order ([`refund_state::refundable`]); `¥0.00` for an order that
    /// may not be refunded. [`LedgerError::NotFound`] for an unknown order.
    pub fn refundable(&self, out_trade_no: &str) -> Result<Fen, LedgerError> {
        match self.order(out_trade_no)? {
            Some(o) => Ok(o.refundable()),
            None => Err(LedgerError::NotFound(out_trade_no.to_string())),
        }
    }

    /// Refunds whose business-day instant ([`Refund::day_at`]) is in `[from, to)`, oldest first.
    pub fn refunds_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Refund>, LedgerError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "{REFUND_SELECT} WHERE COALESCE(r.success_at, r.created_at) >= ?1 \
             AND COALESCE(r.success_at, r.created_at) < ?2 \
             ORDER BY COALESCE(r.success_at, r.created_at), r.id"
        ))?;
        let rows = stmt.query_map([to_ms(from), to_ms(to)], refund_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The refunds of business day `day` in `tz` (on the day of their success, else of their creation).
    pub fn refunds_for_day_in<Tz: TimeZone>(
        &self,
        tz: &Tz,
        day: NaiveDate,
        day_start_hour: u8,
    ) -> Result<Vec<Refund>, LedgerError> {
        let (from, to) = day_bounds_in(tz, day, day_start_hour)?;
        self.refunds_between(from, to)
    }

    /// [`Ledger::refunds_for_day_in`] in local time.
    pub fn refunds_for_day(
        &self,
        day: NaiveDate,
        day_start_hour: u8,
    ) -> Result<Vec<Refund>, LedgerError> {
        self.refunds_for_day_in(&chrono::Local, day, day_start_hour)
    }

    /// Business day `day`'s sums in `tz`: see [`DaySums`]. The orders and refunds are those of the day
    /// ([`super::day`]'s rule), as in the CSV export and the day report.
    pub fn day_sums_in<Tz: TimeZone>(
        &self,
        tz: &Tz,
        day: NaiveDate,
        day_start_hour: u8,
    ) -> Result<DaySums, LedgerError> {
        let (from, to) = day_bounds_in(tz, day, day_start_hour)?;
        let orders = self.orders_of_days_between(from, to)?;
        let refunds = self.refunds_between(from, to)?;
        DaySums::of(&orders, &refunds)
            .ok_or_else(|| LedgerError::Invalid(format!("the sums of {day} overflow")))
    }

    /// [`Ledger::day_sums_in`] in local time.
    pub fn day_sums(&self, day: NaiveDate, day_start_hour: u8) -> Result<DaySums, LedgerError> {
        self.day_sums_in(&chrono::Local, day, day_start_hour)
    }
}
