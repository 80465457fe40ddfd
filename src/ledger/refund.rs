//! Refunds in the ledger: recording one before its request leaves ([`Ledger::create_refund`]), applying what
//! the gateway reports through [`refund_state::next`] ([`Ledger::apply_refund`]), reading them back (per
//! order, in flight, per business day) and a business day's sums.
//!
//! Every write is one durable `BEGIN IMMEDIATE` transaction, like [`Ledger::apply`], and lands on the order's
//! append-only event log naming who approved the refund. The rules themselves (states, what is refundable,
//! when an order is refunded) are in [`super::refund_state`]; this file only stores and reads. Not here:
//! sending refund requests, watching them, the manager PIN (the engine).

use std::fmt;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rusqlite::{OptionalExtension, Row, TransactionBehavior};

use super::model::{LedgerError, Order, Source};
use super::refund_state::{self, MAX_REFUNDS_PER_ORDER, RefundDecision, RefundInput, RefundState};
use super::state::{self, Decision, OrderStatus};
use super::store::{Ledger, fen_at, opt_time_at, status_at, time_at, to_ms};
use crate::calendar::day_bounds_in;
use crate::money::Fen;

/// Who started a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundSource {
    /// From this till (window or `paydesk refund`).
    Till,
    /// Made on the WeChat Pay merchant platform and learned afterwards.
    MerchantPlatform,
    /// Found in the downloaded bill.
    Bill,
}

impl RefundSource {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundSource::Till => "till",
            RefundSource::MerchantPlatform => "merchant_platform",
            RefundSource::Bill => "bill",
        }
    }

    pub fn parse(s: &str) -> Option<RefundSource> {
        [
            RefundSource::Till,
            RefundSource::MerchantPlatform,
            RefundSource::Bill,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// A refund about to be requested. Stored before the request leaves, so every retry sends the same
/// `out_refund_no` with the same amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    /// 1–64 of `[0-9A-Za-z_-|*@]`, unique per merchant.
    pub out_refund_no: String,
    pub out_trade_no: String,
    /// More than zero, at most what the order can still refund.
    pub amount: Fen,
    /// Why (sent as `refund_desc`, shown in the export's note). May be empty.
    pub reason: String,
    /// Who approved it (the manager); required, named on every event of the refund.
    pub approved_by: String,
    pub source: RefundSource,
    pub created_at: DateTime<Utc>,
}

/// A refund as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub out_refund_no: String,
    pub out_trade_no: String,
    pub amount: Fen,
    pub reason: String,
    pub approved_by: String,
    pub source: RefundSource,
    pub status: RefundState,
    /// WeChat's refund id, once the gateway gave one.
    pub refund_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the money was back (the gateway's `success_time`, or when the ledger learned of it).
    pub success_at: Option<DateTime<Utc>>,
    /// `refund_recv_accout`: where the money went.
    pub recv_account: Option<String>,
    /// The manager must look at it (a report contradicting a final state, an amount mismatch).
    pub flagged: bool,
    pub flag_reason: Option<String>,
}

impl Refund {
    /// The instant that decides its business day: its success, else its creation.
    pub fn day_at(&self) -> DateTime<Utc> {
        self.success_at.unwrap_or(self.created_at)
    }
}

/// What came with a refund input: who reported it, a summary for the event log, and the facts stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundEvidence {
    /// `Source::Refund` (the refund response), `Query`, `Notify`, `Startup`.
    pub source: Source,
    /// Written to the event log as given (result codes, amounts), never a key or signature.
    pub detail: String,
    pub refund_id: Option<String>,
    /// The amount the gateway reports; a mismatch with the stored amount is refused and flagged.
    pub refund_fee: Option<Fen>,
    /// The gateway's `success_time` (with `Succeeded`).
    pub success_at: Option<DateTime<Utc>>,
    pub recv_account: Option<String>,
}

impl RefundEvidence {
    /// Evidence with nothing but its source and a summary.
    pub fn new(source: Source, detail: impl Into<String>) -> RefundEvidence {
        RefundEvidence {
            source,
            detail: detail.into(),
            refund_id: None,
            refund_fee: None,
            success_at: None,
            recv_account: None,
        }
    }
}

/// What [`Ledger::apply_refund`] did. The input was recorded on the order's event log in every case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundApplied {
    pub before: RefundState,
    pub after: RefundState,
    pub changed: bool,
    /// Why nothing changed (the state machine's reason, or `"amount mismatch"`).
    pub ignored: Option<&'static str>,
    /// What the manager must see now; the refund and its order are flagged whenever this is set.
    pub alert: Option<String>,
    pub order_before: OrderStatus,
    /// `Refunded` once the succeeded refunds reach the order's total.
    pub order_after: OrderStatus,
    /// What the order can still refund afterwards.
    pub refundable: Fen,
}

/// Why [`Ledger::create_refund`] refused a refund (nothing was written). The texts say how much can be
/// refunded where that helps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundRefusal {
    OrderNotFound(String),
    BadOutRefundNo(String),
    NoApprover,
    ZeroAmount,
    /// The order's status does not allow a refund (not paid, or already refunded in full).
    NotRefundable {
        out_trade_no: String,
        status: OrderStatus,
    },
    TooMuch {
        out_trade_no: String,
        requested: Fen,
        refundable: Fen,
    },
    TooMany {
        out_trade_no: String,
    },
    /// The out_refund_no exists with different values (a retry must send the same ones).
    Conflict {
        out_refund_no: String,
    },
}

impl fmt::Display for RefundRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefundRefusal::OrderNotFound(otn) => write!(f, "order {otn} is not in the ledger"),
            RefundRefusal::BadOutRefundNo(n) => write!(
                f,
                "out_refund_no {n:?} must be 1–64 letters, digits or _-|*@"
            ),
            RefundRefusal::NoApprover => f.write_str("a refund needs the name of who approved it"),
            RefundRefusal::ZeroAmount => f.write_str("a refund must be more than ¥0.00"),
            RefundRefusal::NotRefundable {
                out_trade_no,
                status,
            } => write!(
                f,
                "order {out_trade_no} is {}: only a paid order can be refunded; ¥0.00 can be refunded",
                status.label()
            ),
            RefundRefusal::TooMuch {
                out_trade_no,
                requested,
                refundable,
            } => write!(
                f,
                "{requested} is more than is left to refund of order {out_trade_no}: {refundable} can be \
                 refunded"
            ),
            RefundRefusal::TooMany { out_trade_no } => write!(
                f,
                "order {out_trade_no} already has {MAX_REFUNDS_PER_ORDER} refunds, the most WeChat Pay \
                 allows; refund the rest on the merchant platform"
            ),
            RefundRefusal::Conflict { out_refund_no } => write!(
                f,
                "refund {out_refund_no} is already recorded with different values (a retry must repeat \
                 them exactly)"
            ),
        }
    }
}

/// A business day's money: what orders of the day received, what refunds succeeded on the day, and the net.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DaySums {
    /// Totals of the day's orders that received money (paid, paid after cancel, refunded since).
    pub received: Fen,
    /// Refunds that succeeded on the day, whatever day their order is from.
    pub refunded: Fen,
}

impl DaySums {
    /// What `orders` received (those that received money) and what `refunds` gave back (those that
    /// succeeded); `None` on overflow. The caller picks the day's orders and refunds.
    pub fn of(orders: &[Order], refunds: &[Refund]) -> Option<DaySums> {
        Some(DaySums {
            received: Fen::checked_sum(
                orders
                    .iter()
                    .filter(|o| refund_state::order_received_money(o.status))
                    .map(|o| o.total),
            )?,
            refunded: Fen::checked_sum(
                refunds
                    .iter()
                    .filter(|r| r.status == RefundState::Success)
                    .map(|r| r.amount),
            )?,
        })
    }

    /// received − refunded, in fen (negative on a day with more refunds than sales).
    pub fn net_fen(&self) -> i64 {
        self.received.get() - self.refunded.get()
    }

    /// The net as `¥12.50` or `-¥3.00`.
    pub fn net_label(&self) -> String {
        let n = self.net_fen();
        let abs = Fen::new(n.abs()).unwrap_or(Fen::ZERO);
        if n < 0 {
            format!("-{abs}")
        } else {
            abs.to_string()
        }
    }
}

/// The columns [`refund_from_row`] reads, over `refunds r JOIN orders o`.
macro_rules! refund_columns {
    () => {
        "r.out_refund_no, o.out_trade_no, r.amount_fen, r.reason, r.approved_by, r.source, r.status, \
         r.refund_id, r.created_at, r.updated_at, r.success_at, r.recv_account, r.flagged, r.flag_reason"
    };
}

/// The columns [`refund_from_row`] reads, with the join they need.
pub(super) const REFUND_SELECT: &str = concat!(
    "SELECT ",
    refund_columns!(),
    " FROM refunds r JOIN orders o ON o.id = r.order_id"
);

/// [`REFUND_SELECT`] followed by the order's cashier and station (columns 14 and 15).
pub(super) const REFUND_WITH_ORDER_SELECT: &str = concat!(
    "SELECT ",
    refund_columns!(),
    ", o.cashier, o.station FROM refunds r JOIN orders o ON o.id = r.order_id"
);

fn bad(idx: usize, msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, msg.into())
}

fn refund_state_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<RefundState> {
    let s = row.get_ref(idx)?.as_str()?;
    RefundState::parse(s).ok_or_else(|| bad(idx, format!("unknown refund status {s:?}")))
}

pub(super) fn refund_from_row(row: &Row<'_>) -> rusqlite::Result<Refund> {
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

/// An order's refund sums within a transaction: (succeeded, pending, count).
fn sums(tx: &rusqlite::Transaction<'_>, order_id: i64) -> rusqlite::Result<(Fen, Fen, usize)> {
    tx.query_row(
        &format!(
            "SELECT COALESCE(SUM(CASE WHEN status = 'success' THEN amount_fen END), 0), \
                    COALESCE(SUM(CASE WHEN status IN ({}) AND status <> 'success' \
                                      THEN amount_fen END), 0), \
                    count(*) \
             FROM refunds WHERE order_id = ?1",
            refund_state::holding_sql_list()
        ),
        [order_id],
        |r| Ok((fen_at(r, 0)?, fen_at(r, 1)?, r.get::<_, i64>(2)? as usize)),
    )
}

fn event(
    tx: &rusqlite::Transaction<'_>,
    order_id: i64,
    at: DateTime<Utc>,
    kind: &str,
    source: &str,
    detail: &str,
    outcome: &str,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO order_events (order_id, at, kind, source, detail, outcome) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(rusqlite::params![
        order_id,
        to_ms(at),
        kind,
        source,
        detail,
        outcome
    ])?;
    Ok(())
}

impl Ledger {
    /// Record a refund in state `requesting`, before its request leaves, with a `refund_requested` event
    /// on the order, in one durable transaction. Returns the stored refund.
    ///
    /// Refuses ([`LedgerError::RefundRefused`], nothing written): an unknown order, an out_refund_no WeChat
    /// would refuse, no approver, a zero amount, an order that is not paid (or already fully refunded), an
    /// amount above what is left ([`refund_state::refundable`], named in the message), a 51st refund of one
    /// order, and an out_refund_no already recorded with different values. The same values again (a retry,
    /// whatever its `created_at`) return the refund as stored, changing nothing.
    pub fn create_refund(&self, r: &NewRefund) -> Result<Refund, LedgerError> {
        let refuse = |why| Err(LedgerError::RefundRefused(why));
        if !refund_state::valid_out_refund_no(&r.out_refund_no) {
            return refuse(RefundRefusal::BadOutRefundNo(r.out_refund_no.clone()));
        }
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing = tx
            .prepare_cached(&format!("{REFUND_SELECT} WHERE r.out_refund_no = ?1"))?
            .query_row([&r.out_refund_no], refund_from_row)
            .optional()?;
        if let Some(stored) = existing {
            let same = stored.out_trade_no == r.out_trade_no
                && stored.amount == r.amount
                && stored.reason == r.reason
                && stored.approved_by == r.approved_by
                && stored.source == r.source;
            return if same {
                Ok(stored)
            } else {
                refuse(RefundRefusal::Conflict {
                    out_refund_no: r.out_refund_no.clone(),
                })
            };
        }
        if r.approved_by.trim().is_empty() {
            return refuse(RefundRefusal::NoApprover);
        }
        if r.amount == Fen::ZERO {
            return refuse(RefundRefusal::ZeroAmount);
        }
        let order = tx
            .query_row(
                "SELECT id, status, total_fen FROM orders WHERE out_trade_no = ?1",
                [&r.out_trade_no],
                |row| Ok((row.get::<_, i64>(0)?, status_at(row, 1)?, fen_at(row, 2)?)),
            )
            .optional()?;
        let Some((order_id, status, total)) = order else {
            return refuse(RefundRefusal::OrderNotFound(r.out_trade_no.clone()));
        };
        if !refund_state::order_can_be_refunded(status) {
            return refuse(RefundRefusal::NotRefundable {
                out_trade_no: r.out_trade_no.clone(),
                status,
            });
        }
        let (refunded, pending, count) = sums(&tx, order_id)?;
        if count >= MAX_REFUNDS_PER_ORDER {
            return refuse(RefundRefusal::TooMany {
                out_trade_no: r.out_trade_no.clone(),
            });
        }
        let left = refund_state::refundable(status, total, refunded, pending).unwrap_or(Fen::ZERO);
        if r.amount > left {
            return refuse(RefundRefusal::TooMuch {
                out_trade_no: r.out_trade_no.clone(),
                requested: r.amount,
                refundable: left,
            });
        }
        tx.prepare_cached(
            "INSERT INTO refunds (out_refund_no, order_id, amount_fen, reason, approved_by, source, status, \
             created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'requesting', ?7, ?7)",
        )?
        .execute(rusqlite::params![
            r.out_refund_no,
            order_id,
            r.amount.get(),
            r.reason,
            r.approved_by,
            r.source.as_str(),
            to_ms(r.created_at),
        ])?;
        let after = Fen::new(left.get() - r.amount.get()).unwrap_or(Fen::ZERO);
        event(
            &tx,
            order_id,
            r.created_at,
            "refund_requested",
            r.source.as_str(),
            &format!(
                "refund {} of {} ({}), approved by {}; reason: {}",
                r.out_refund_no,
                r.amount,
                r.source.as_str(),
                r.approved_by,
                r.reason
            ),
            &format!("requesting; {after} left to refund"),
        )?;
        let stored = tx
            .prepare_cached(&format!("{REFUND_SELECT} WHERE r.out_refund_no = ?1"))?
            .query_row([&r.out_refund_no], refund_from_row)?;
        tx.commit()?;
        Ok(stored)
    }

    /// Apply one input to a refund, in one durable transaction: read the stored state, ask
    /// [`refund_state::next`], update the refund, append an event to its order's log (naming who approved
    /// it), and, when its order's succeeded refunds now reach the total, move the order to `Refunded`
    /// through [`state::next`] (with its own `refunded` event). Ignored and flagged inputs are recorded too.
    ///
    /// Stored on a change: `refund_id` and `recv_account` when given; `success_at` on `Success` (the
    /// gateway's time, else `at`). A `refund_fee` that differs from the stored amount is refused
    /// (`ignored = "amount mismatch"`), recorded and flagged; so is a report that contradicts a final state
    /// (e.g. a late SUCCESS after CHANGE or REFUNDCLOSE), which is never applied.
    ///
    /// Errors: [`LedgerError::RefundNotFound`].
    pub fn apply_refund(
        &self,
        out_refund_no: &str,
        input: RefundInput,
        evidence: &RefundEvidence,
        at: DateTime<Utc>,
    ) -> Result<RefundApplied, LedgerError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stored = tx
            .query_row(
                "SELECT r.id, r.order_id, r.status, r.amount_fen, r.approved_by, o.out_trade_no, \
                        o.status, o.total_fen \
                 FROM refunds r JOIN orders o ON o.id = r.order_id WHERE r.out_refund_no = ?1",
                [out_refund_no],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, i64>(1)?,
                        refund_state_at(row, 2)?,
                        fen_at(row, 3)?,
                        row.get::<_, String>(4)?,
                        row.get::<_, String>(5)?,
                        status_at(row, 6)?,
                        fen_at(row, 7)?,
                    ))
                },
            )
            .optional()?;
        let Some((refund_pk, order_id, before, amount, approved_by, otn, order_before, total)) =
            stored
        else {
            return Err(LedgerError::RefundNotFound(out_refund_no.to_string()));
        };
        let mut applied = RefundApplied {
            before,
            after: before,
            changed: false,
            ignored: None,
            alert: None,
            order_before,
            order_after: order_before,
            refundable: Fen::ZERO,
        };
        let flag = |why: &str| {
            format!(
                "refund {out_refund_no} of order {otn}: {why} — check it on the merchant platform"
            )
        };
        let decision = match evidence.refund_fee {
            Some(fee) if fee != amount => RefundDecision::Flag("amount mismatch"),
            _ => refund_state::next(before, input),
        };
        let outcome = match decision {
            RefundDecision::Ignore(why) => {
                applied.ignored = Some(why);
                format!("ignored: {why}")
            }
            RefundDecision::Flag(why) => {
                let alert = match evidence.refund_fee {
                    Some(fee) if fee != amount => {
                        flag(&format!("the gateway reports {fee}, the ledger {amount}"))
                    }
                    _ => flag(why),
                };
                applied.ignored = Some(why);
                applied.alert = Some(alert.clone());
                tx.execute(
                    "UPDATE refunds SET flagged = 1, \
                        flag_reason = CASE WHEN flag_reason IS NULL THEN ?2 \
                                           ELSE flag_reason || '; ' || ?2 END, \
                        updated_at = ?3 WHERE id = ?1",
                    rusqlite::params![refund_pk, alert, to_ms(at)],
                )?;
                tx.execute(
                    "UPDATE orders SET flagged = 1, \
                        flag_reason = CASE WHEN flag_reason IS NULL THEN ?2 \
                                           ELSE flag_reason || '; ' || ?2 END, \
                        updated_at = ?3 WHERE id = ?1",
                    rusqlite::params![order_id, alert, to_ms(at)],
                )?;
                format!("flagged: {alert}")
            }
            RefundDecision::To(after) => {
                applied.after = after;
                applied.changed = true;
                let success_at = (after == RefundState::Success)
                    .then(|| to_ms(evidence.success_at.unwrap_or(at)));
                tx.execute(
                    "UPDATE refunds SET status = ?2, refund_id = COALESCE(?3, refund_id), \
                        recv_account = COALESCE(?4, recv_account), \
                        success_at = COALESCE(?5, success_at), updated_at = ?6 WHERE id = ?1",
                    rusqlite::params![
                        refund_pk,
                        after.as_str(),
                        evidence.refund_id,
                        evidence.recv_account,
                        success_at,
                        to_ms(at)
                    ],
                )?;
                format!("{before} -> {after}")
            }
        };
        event(
            &tx,
            order_id,
            at,
            input.event_kind(),
            evidence.source.as_str(),
            &format!(
                "refund {out_refund_no} of {amount}, approved by {approved_by}: {}",
                evidence.detail
            ),
            &outcome,
        )?;

        let (refunded, pending, _) = sums(&tx, order_id)?;
        // Money back in full: the order moves to Refunded, through the order state machine.
        if applied.changed
            && applied.after == RefundState::Success
            && refund_state::order_fully_refunded(total, refunded)
            && let Decision::To(order_after) =
                state::next(order_before, refund_state::FULL_REFUND_INPUT, None)
        {
            tx.execute(
                "UPDATE orders SET status = ?2, updated_at = ?3 WHERE id = ?1",
                rusqlite::params![order_id, order_after.as_str(), to_ms(at)],
            )?;
            event(
                &tx,
                order_id,
                at,
                "refunded",
                evidence.source.as_str(),
                &format!("refunds reached the order total {total} (last: {out_refund_no})"),
                &format!("{order_before} -> {order_after}"),
            )?;
            applied.order_after = order_after;
        }
        applied.refundable =
            refund_state::refundable(applied.order_after, total, refunded, pending)
                .unwrap_or(Fen::ZERO);
        tx.commit()?;
        Ok(applied)
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    /// store.rs's ORDER_COLUMNS spell the sums out in SQL: they must agree with the rules, in every state.
    #[test]
    fn an_orders_sums_follow_the_refund_states() {
        use crate::ledger::model::{Evidence, NewOrder, PaymentFacts};
        use crate::ledger::state::Input;
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.sqlite3")).unwrap();
        let t = DateTime::from_timestamp_millis(1_700_000_000_000).unwrap();
        let total = Fen::new(6_000).unwrap();
        ledger
            .create_order(&NewOrder {
                out_trade_no: "O1".into(),
                station: "s".into(),
                cashier: "c".into(),
                created_at: t,
                expires_at: t,
                total,
                items: vec![],
                body: "b".into(),
                notify_url: "n".into(),
                spbill_create_ip: "127.0.0.1".into(),
                product_id: "p".into(),
                device_info: None,
                time_start: t,
                time_expire: t,
            })
            .unwrap();
        let payment = PaymentFacts {
            transaction_id: "T1".into(),
            total_fee: total,
            cash_fee: None,
            time_end: None,
            bank_type: None,
            openid: None,
        };
        ledger
            .apply(
                "O1",
                Input::Paid,
                &Evidence::paid(Source::Notify, payment, "paid"),
                t,
            )
            .unwrap();
        let inputs = [
            None,
            Some(RefundInput::Accepted),
            Some(RefundInput::Succeeded),
            Some(RefundInput::Changed),
            Some(RefundInput::Closed),
            Some(RefundInput::Refused),
        ];
        for (k, input) in inputs.into_iter().enumerate() {
            let orn = format!("R{k}");
            ledger
                .create_refund(&NewRefund {
                    out_refund_no: orn.clone(),
                    out_trade_no: "O1".into(),
                    amount: Fen::new(1_000).unwrap(),
                    reason: String::new(),
                    approved_by: "m".into(),
                    source: RefundSource::Till,
                    created_at: t,
                })
                .unwrap();
            if let Some(i) = input {
                let ev = RefundEvidence::new(Source::Query, "q");
                ledger.apply_refund(&orn, i, &ev, t).unwrap();
            }
        }
        let mut want = (0, 0);
        for r in ledger.refunds_of("O1").unwrap() {
            match r.status {
                RefundState::Success => want.0 += r.amount.get(),
                s if s.holds_money() => want.1 += r.amount.get(),
                _ => {}
            }
        }
        assert_eq!(
            want,
            (1_000, 3_000),
            "requesting, processing and change are pending"
        );
        let o = ledger.order("O1").unwrap().unwrap();
        assert_eq!((o.refunded.get(), o.refund_pending.get()), want);
        assert_eq!(ledger.refundable("O1").unwrap(), Fen::new(2_000).unwrap());
    }

    #[test]
    fn net_can_be_negative() {
        let f = |n| Fen::new(n).unwrap();
        let s = DaySums {
            received: f(100),
            refunded: f(350),
        };
        assert_eq!(s.net_fen(), -250);
        assert_eq!(s.net_label(), "-¥2.50");
        let s = DaySums {
            received: f(1250),
            refunded: f(0),
        };
        assert_eq!(s.net_label(), "¥12.50");
    }

    #[test]
    fn refusals_say_how_much_can_be_refunded() {
        let f = |n| Fen::new(n).unwrap();
        let m = RefundRefusal::TooMuch {
            out_trade_no: "A1".into(),
            requested: f(2000),
            refundable: f(750),
        }
        .to_string();
        assert!(m.contains("¥7.50 can be refunded"), "{m}");
        let m = RefundRefusal::NotRefundable {
            out_trade_no: "A1".into(),
            status: OrderStatus::Open,
        }
        .to_string();
        assert!(m.contains("¥0.00 can be refunded"), "{m}");
    }
}
