//! Cashiers' shifts (交班): who signed in at a station and when, and what the shift took, as counted at its
//! handover. Stored in the `shifts` table (schema migration 5); shifts are never deleted and a handed-over
//! shift never changes.
//!
//! What a shift counts, from its sign-in up to now (or up to its handover), for its station and cashier,
//! by the same rules as the day's money ([`super::refund_state`], [`super::refund::DaySums`]):
//! - *orders* and *received*: orders of this station and cashier that received money
//!   ([`refund_state::order_received_money`]: paid, paid after cancel, refunded since), counted at the
//!   moment of their payment (`paid_at`, else their creation), like the day report and WeChat's bill. An
//!   order created in one shift and paid in the next belongs to the next.
//! - *refunds* and *refunded*: refunds of this station's and this cashier's orders that succeeded
//!   ([`RefundState::Success`]) during the shift, at their success (else their creation, as
//!   [`super::refund::Refund::day_at`]), whatever shift their order was paid in. Refunds still under way
//!   count when they succeed.
//! - *net* = received − refunded (negative when refunds outweigh sales).
//!
//! The shift's window is `[signed_in_at, until]`, both ends included (a payment at the very instant of the
//! count is in it); the station's next shift starts at least a millisecond after the handover, so nothing
//! counts twice.
//!
//! A station has at most one open shift. A ledger reopened while a shift is open (the till crashed or was
//! closed without a handover) resumes it: [`Ledger::open_shift`] returns it and the cashier stays signed in;
//! [`Ledger::sign_in`] by the same cashier returns that shift too. Only its handover ends it.
//!
//! Not here: who may sign in and their PIN (the application), drawing the handover (the window).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior};

use super::model::LedgerError;
use super::refund::DaySums;
use super::refund_state::{self, RefundState};
use super::state::{self, OrderStatus};
use super::store::{Ledger, fen_at, opt_time_at, status_at, time_at, to_ms};
use crate::money::Fen;

/// One cashier's shift at one station.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    pub id: i64,
    pub station: String,
    pub cashier: String,
    pub signed_in_at: DateTime<Utc>,
    /// `None` while the shift is open.
    pub handed_over_at: Option<DateTime<Utc>>,
    /// What the shift counted at its handover; `None` while it is open.
    pub summary: Option<ShiftSummary>,
}

impl Shift {
    pub fn is_open(&self) -> bool {
        self.handed_over_at.is_none()
    }
}

/// What a shift took (see the module doc for exactly which orders and refunds count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShiftSummary {
    /// Orders that received money during the shift.
    pub orders: u32,
    /// Refunds that succeeded during the shift.
    pub refunds: u32,
    /// Received (those orders' totals) and refunded (those refunds' amounts); `net_fen` is the difference.
    pub sums: DaySums,
}

/// Why a shift could not be started or handed over. The texts are meant for the cashier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShiftRefusal {
    #[error("{cashier} is still signed in at station {station}: hand that shift over first (交班)")]
    OtherCashierSignedIn { station: String, cashier: String },
    #[error(
        "order {out_trade_no} of this station is still open ({status}): finish or cancel it, then hand \
         over (交班)"
    )]
    OrderUnfinished {
        out_trade_no: String,
        status: OrderStatus,
    },
    #[error("shift {0} is not open (already handed over, or unknown)")]
    NotOpen(i64),
    #[error("a cashier's name cannot be longer than 32 characters")]
    BadName,
}

/// The columns [`shift_from_row`] reads.
const SHIFT_COLUMNS: &str = "id, station, cashier, signed_in_at, handed_over_at, orders, received_fen, \
    refunds, refunded_fen";

fn shift_from_row(row: &Row<'_>) -> rusqlite::Result<Shift> {
    let handed_over_at = opt_time_at(row, 4)?;
    let summary = match row.get::<_, Option<u32>>(5)? {
        Some(orders) => Some(ShiftSummary {
            orders,
            refunds: row.get(7)?,
            sums: DaySums {
                received: fen_at(row, 6)?,
                refunded: fen_at(row, 8)?,
            },
        }),
        None => None,
    };
    Ok(Shift {
        id: row.get(0)?,
        station: row.get(1)?,
        cashier: row.get(2)?,
        signed_in_at: time_at(row, 3)?,
        handed_over_at,
        summary,
    })
}

fn open_shift_in(conn: &Connection, station: &str) -> Result<Option<Shift>, LedgerError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SHIFT_COLUMNS} FROM shifts WHERE station = ?1 AND handed_over_at IS NULL"
    ))?;
    Ok(stmt.query_row([station], shift_from_row).optional()?)
}

fn shift_in(conn: &Connection, id: i64) -> Result<Option<Shift>, LedgerError> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {SHIFT_COLUMNS} FROM shifts WHERE id = ?1"))?;
    Ok(stmt.query_row([id], shift_from_row).optional()?)
}

/// The summary of `shift` over `[shift.signed_in_at, until]`, read through `conn` (the writer's transaction
/// at handover, so nothing lands between the count and the record).
fn summary_in(
    conn: &Connection,
    shift: &Shift,
    until: DateTime<Utc>,
) -> Result<ShiftSummary, LedgerError> {
    let (from, to) = (to_ms(shift.signed_in_at), to_ms(until));
    let params = rusqlite::params![shift.station, shift.cashier, from, to];
    let mut orders = conn.prepare_cached(
        "SELECT status, total_fen FROM orders \
         WHERE station = ?1 AND cashier = ?2 \
           AND COALESCE(paid_at, created_at) >= ?3 AND COALESCE(paid_at, created_at) <= ?4",
    )?;
    let orders = orders
        .query_map(params, |r| Ok((status_at(r, 0)?, fen_at(r, 1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut refunds = conn.prepare_cached(
        "SELECT r.status, r.amount_fen FROM refunds r JOIN orders o ON o.id = r.order_id \
         WHERE o.station = ?1 AND o.cashier = ?2 \
           AND COALESCE(r.success_at, r.created_at) >= ?3 AND COALESCE(r.success_at, r.created_at) <= ?4",
    )?;
    let refunds = refunds
        .query_map(params, |r| {
            let s = r.get_ref(0)?.as_str()?.to_owned();
            Ok((s, fen_at(r, 1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let received: Vec<Fen> = orders
        .iter()
        .filter(|(status, _)| refund_state::order_received_money(*status))
        .map(|(_, total)| *total)
        .collect();
    let refunded: Vec<Fen> = refunds
        .iter()
        .filter(|(s, _)| RefundState::parse(s) == Some(RefundState::Success))
        .map(|(_, amount)| *amount)
        .collect();
    let overflow = || LedgerError::Invalid(format!("the sums of shift {} overflow", shift.id));
    let count = |n: usize| u32::try_from(n).map_err(|_| overflow());
    Ok(ShiftSummary {
        orders: count(received.len())?,
        refunds: count(refunded.len())?,
        sums: DaySums {
            received: Fen::checked_sum(received).ok_or_else(overflow)?,
            refunded: Fen::checked_sum(refunded).ok_or_else(overflow)?,
        },
    })
}

impl Ledger {
    /// Sign `cashier` in at `station` at `at`: a new open shift, durably. If the station has an open shift
    /// already, the same cashier gets that one back (a restart, a second click: the shift goes on) and
    /// another cashier is refused ([`ShiftRefusal::OtherCashierSignedIn`]) until it is handed over.
    pub fn sign_in(
        &self,
        station: &str,
        cashier: &str,
        at: DateTime<Utc>,
    ) -> Result<Shift, LedgerError> {
        if cashier.chars().count() > 32 {
            return Err(ShiftRefusal::BadName.into());
        }
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(open) = open_shift_in(&tx, station)? {
            if open.cashier == cashier {
                return Ok(open);
            }
            return Err(ShiftRefusal::OtherCashierSignedIn {
                station: station.to_owned(),
                cashier: open.cashier,
            }
            .into());
        }
        // After the station's last handover, so the two shifts never share an instant.
        let last: Option<i64> = tx.query_row(
            "SELECT MAX(handed_over_at) FROM shifts WHERE station = ?1",
            [station],
            |r| r.get(0),
        )?;
        let at_ms = last.map_or(to_ms(at), |l| to_ms(at).max(l + 1));
        tx.execute(
            "INSERT INTO shifts (station, cashier, signed_in_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![station, cashier, at_ms],
        )?;
        let id = tx.last_insert_rowid();
        let shift = shift_in(&tx, id)?.ok_or_else(|| LedgerError::Invalid("lost shift".into()))?;
        tx.commit()?;
        Ok(shift)
    }

    /// The station's open shift, if someone is signed in (also after a restart: see the module doc).
    pub fn open_shift(&self, station: &str) -> Result<Option<Shift>, LedgerError> {
        open_shift_in(&self.reader(), station)
    }

    /// One shift, open or handed over.
    pub fn shift(&self, id: i64) -> Result<Option<Shift>, LedgerError> {
        shift_in(&self.reader(), id)
    }

    /// The shifts signed in within `[from, to)`, oldest first.
    pub fn shifts_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Shift>, LedgerError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {SHIFT_COLUMNS} FROM shifts WHERE signed_in_at >= ?1 AND signed_in_at < ?2 \
             ORDER BY signed_in_at, id"
        ))?;
        let rows = stmt.query_map([to_ms(from), to_ms(to)], shift_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// What shift `id` took from its sign-in until `now` (for a handed-over shift: the summary recorded at
    /// its handover).
    pub fn shift_summary(&self, id: i64, now: DateTime<Utc>) -> Result<ShiftSummary, LedgerError> {
        let conn = self.reader();
        let shift = shift_in(&conn, id)?.ok_or(ShiftRefusal::NotOpen(id))?;
        if let Some(s) = shift.summary {
            return Ok(s);
        }
        summary_in(&conn, &shift, now)
    }

    /// Hand shift `id` over at `at`: refused while an order of its station is unfinished
    /// ([`OrderStatus::is_unfinished`]: being created, open, being paid, being closed), whoever took it;
    /// otherwise its summary up to `at` is counted and recorded with the handover, in one durable
    /// transaction. The handed-over shift is returned.
    pub fn hand_over(&self, id: i64, at: DateTime<Utc>) -> Result<Shift, LedgerError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let shift = shift_in(&tx, id)?
            .filter(Shift::is_open)
            .ok_or(ShiftRefusal::NotOpen(id))?;
        let unfinished = tx
            .query_row(
                &format!(
                    "SELECT out_trade_no, status FROM orders WHERE station = ?1 AND status IN ({}) \
                     ORDER BY created_at, id LIMIT 1",
                    state::unfinished_sql_list()
                ),
                [&shift.station],
                |r| Ok((r.get::<_, String>(0)?, status_at(r, 1)?)),
            )
            .optional()?;
        if let Some((out_trade_no, status)) = unfinished {
            return Err(ShiftRefusal::OrderUnfinished {
                out_trade_no,
                status,
            }
            .into());
        }
        // A clock set back must not make a shift end before it began.
        let at = at.max(shift.signed_in_at);
        let s = summary_in(&tx, &shift, at)?;
        tx.execute(
            "UPDATE shifts SET handed_over_at = ?2, orders = ?3, received_fen = ?4, refunds = ?5, \
             refunded_fen = ?6, net_fen = ?7 WHERE id = ?1",
            rusqlite::params![
                id,
                to_ms(at),
                s.orders,
                s.sums.received.get(),
                s.refunds,
                s.sums.refunded.get(),
                s.sums.net_fen()
            ],
        )?;
        let done = shift_in(&tx, id)?.ok_or(ShiftRefusal::NotOpen(id))?;
        tx.commit()?;
        Ok(done)
    }
}
