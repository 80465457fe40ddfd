//! [`Ledger`]: the SQLite file, recording orders, applying inputs to them and reading them back. Opening the
//! file safely, migrating and backing it up are in `open`.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior};

use super::model::{Applied, Evidence, ItemLine, LedgerError, NewOrder, Order, OrderEvent};
use super::state::{self, CloseReason, Decision, Input, OrderStatus};
use crate::money::Fen;

/// How long a call waits for another process (e.g. `paydesk backup` while the window runs) to release the
/// file before it fails.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The alert for a payment that arrived after the order was given up.
pub const PAID_AFTER_CANCEL_ALERT: &str = "paid after cancel — refund or hand over the goods";

/// The shop's record of money: one SQLite file.
///
/// Synchronous by design (the engine calls it from `spawn_blocking`). Writes go through one connection in
/// `BEGIN IMMEDIATE` transactions, in WAL mode with `synchronous = FULL`: when a write call returns `Ok`, the
/// change survives a crash or power cut. Reads (queries, export, backup) use a second, read-only connection,
/// so a long export never holds up a payment.
pub struct Ledger {
    pub(super) path: PathBuf,
    // Declared (so dropped) before the writer: the last connection to close checkpoints the WAL into the
    // main file and removes it, and only the writer can.
    pub(super) reader: Mutex<Connection>,
    pub(super) writer: Mutex<Connection>,
    /// Whether `PRAGMA quick_check` has passed: nothing is written before it has (see
    /// [`Ledger::open_deferring_check`]).
    pub(super) check: Mutex<Check>,
}

/// Where the ledger's `quick_check` stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Check {
    Passed,
    Pending,
    Failed(String),
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("path", &self.path).finish()
    }
}

pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn conversion(idx: usize, msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Integer, msg.into())
}

pub(crate) fn time_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
    let ms: i64 = row.get(idx)?;
    DateTime::from_timestamp_millis(ms).ok_or_else(|| conversion(idx, format!("bad time {ms}")))
}

pub(crate) fn opt_time_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    match row.get::<_, Option<i64>>(idx)? {
        None => Ok(None),
        Some(_) => time_at(row, idx).map(Some),
    }
}

pub(crate) fn fen_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Fen> {
    let v: i64 = row.get(idx)?;
    Fen::new(v).ok_or_else(|| conversion(idx, format!("negative amount {v}")))
}

fn opt_fen_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Fen>> {
    match row.get::<_, Option<i64>>(idx)? {
        None => Ok(None),
        Some(_) => fen_at(row, idx).map(Some),
    }
}

pub(crate) fn status_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<OrderStatus> {
    let s = row.get_ref(idx)?.as_str()?;
    OrderStatus::parse(s).ok_or_else(|| conversion(idx, format!("unknown status {s:?}")))
}

/// The columns [`order_from_row`] reads, in order.
pub(super) const ORDER_COLUMNS: &str = "out_trade_no, station, cashier, created_at, expires_at, total_fen, body, \
    notify_url, spbill_create_ip, product_id, device_info, time_start, time_expire, status, close_reason, \
    code_url, prepay_id, transaction_id, paid_at, cash_fee_fen, bank_type, openid, flagged, flag_reason, \
    updated_at, rechecks, \
    (SELECT COALESCE(SUM(r.amount_fen), 0) FROM refunds r WHERE r.order_id = orders.id \
        AND r.status = 'success') AS refunded_fen, \
    (SELECT COALESCE(SUM(r.amount_fen), 0) FROM refunds r WHERE r.order_id = orders.id \
        AND r.status IN ('requesting', 'processing', 'change')) AS refund_pending_fen";

pub(super) fn order_from_row(row: &Row<'_>) -> rusqlite::Result<Order> {
    let close_reason: Option<String> = row.get(14)?;
    Ok(Order {
        out_trade_no: row.get(0)?,
        station: row.get(1)?,
        cashier: row.get(2)?,
        created_at: time_at(row, 3)?,
        expires_at: time_at(row, 4)?,
        total: fen_at(row, 5)?,
        body: row.get(6)?,
        notify_url: row.get(7)?,
        spbill_create_ip: row.get(8)?,
        product_id: row.get(9)?,
        device_info: row.get(10)?,
        time_start: time_at(row, 11)?,
        time_expire: time_at(row, 12)?,
        status: status_at(row, 13)?,
        close_reason: close_reason.as_deref().and_then(CloseReason::parse),
        code_url: row.get(15)?,
        prepay_id: row.get(16)?,
        transaction_id: row.get(17)?,
        paid_at: opt_time_at(row, 18)?,
        cash_fee: opt_fen_at(row, 19)?,
        bank_type: row.get(20)?,
        openid: row.get(21)?,
        flagged: row.get(22)?,
        flag_reason: row.get(23)?,
        updated_at: time_at(row, 24)?,
        rechecks: row.get(25)?,
        // By name: the derived refund sums do not depend on where they sit in ORDER_COLUMNS.
        refunded: fen_at(row, row.as_ref().column_index("refunded_fen")?)?,
        refund_pending: fen_at(row, row.as_ref().column_index("refund_pending_fen")?)?,
    })
}

/// The event kind recorded for an input.
fn input_kind(input: Input) -> &'static str {
    match input {
        Input::Created => "created",
        Input::CreateFailed => "create_failed",
        Input::UserPaying => "user_paying",
        Input::Paid => "paid",
        Input::PayError => "pay_error",
        Input::CloseRequested(_) => "close_requested",
        Input::Closed => "closed",
        Input::Refunded => "refunded",
    }
}

impl Ledger {
    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The writing connection, once the file is known to be sound: while its check is pending or after it
    /// failed, nothing is written.
    pub(super) fn writer(&self) -> Result<MutexGuard<'_, Connection>, LedgerError> {
        self.refuse_if_unchecked()?;
        // A panic while holding the lock cannot leave a half transaction behind (it rolls back on drop).
        Ok(self.writer.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// `Ok` once the file's check has passed; otherwise why nothing may be written yet
    /// ([`LedgerError::Checking`] while it runs, [`LedgerError::Corrupt`] after it failed).
    pub fn refuse_if_unchecked(&self) -> Result<(), LedgerError> {
        match &*self.check.lock().unwrap_or_else(|p| p.into_inner()) {
            Check::Passed => {}
            Check::Pending => {
                return Err(LedgerError::Checking {
                    path: self.path.clone(),
                });
            }
            Check::Failed(report) => {
                return Err(LedgerError::Corrupt {
                    path: self.path.clone(),
                    report: report.clone(),
                });
            }
        }
        Ok(())
    }

    pub(crate) fn reader(&self) -> MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Record a new order in status `creating`, with its item lines and a `recorded` event, in one durable
    /// transaction. Refuses (nothing written) a duplicate `out_trade_no` ([`LedgerError::Duplicate`]), an
    /// empty `out_trade_no`, a line whose total is not `unit_price × qty`, and a total that is not the sum
    /// of the lines.
    pub fn create_order(&self, o: &NewOrder) -> Result<(), LedgerError> {
        validate(o)?;
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        insert_order(&tx, o)?;
        tx.commit()?;
        Ok(())
    }

    /// Apply one input to an order, in one durable `BEGIN IMMEDIATE` transaction: read the stored status,
    /// ask [`state::next`], update the order, and append an event (kind = the input, detail =
    /// `evidence.detail`, outcome = the change or why it was ignored). Ignored inputs are recorded too.
    ///
    /// Facts stored on a change: `code_url`/`prepay_id` on `Created` (required), `close_reason` on
    /// `CloseRequested`, the payment on `Paid` (required).
    ///
    /// Money is never marked paid with a wrong amount: a `Paid` whose `total_fee` differs from the order's
    /// total is refused (`ignored = "amount mismatch"`), recorded, flagged and alerted; a `Paid` for an
    /// already paid order with a different `transaction_id` likewise (`"different transaction_id"`). The same
    /// payment reported twice (notify and query) is ignored as "already paid". A payment after cancel or expiry
    /// becomes `paid_after_cancel`, flagged, with [`PAID_AFTER_CANCEL_ALERT`].
    ///
    /// Errors: [`LedgerError::NotFound`]; [`LedgerError::Invalid`] (nothing recorded) when `Created` lacks a
    /// code_url or `Paid` lacks the payment facts.
    pub fn apply(
        &self,
        out_trade_no: &str,
        input: Input,
        evidence: &Evidence,
        at: DateTime<Utc>,
    ) -> Result<Applied, LedgerError> {
        match input {
            Input::Created if evidence.code_url.is_none() => {
                return Err(LedgerError::Invalid(
                    "a Created input needs the code_url".into(),
                ));
            }
            Input::Paid if evidence.payment.is_none() => {
                return Err(LedgerError::Invalid(
                    "a Paid input needs the payment facts".into(),
                ));
            }
            _ => {}
        }
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stored = tx
            .query_row(
                "SELECT id, status, close_reason, total_fen, transaction_id, flag_reason FROM orders \
                 WHERE out_trade_no = ?1",
                [out_trade_no],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        status_at(r, 1)?,
                        r.get::<_, Option<String>>(2)?,
                        fen_at(r, 3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                    ))
                },
            )
            .optional()?;
        let Some((id, before, close_reason, total, stored_tid, flag_reason)) = stored else {
            return Err(LedgerError::NotFound(out_trade_no.to_string()));
        };
        let close_reason = close_reason.as_deref().and_then(CloseReason::parse);
        let mut applied = Applied {
            before,
            after: before,
            changed: false,
            ignored: None,
            alert: None,
        };
        let mut update = Update::default();

        // The ledger's own refusals for payments, before the state machine.
        let refusal = match (input, &evidence.payment) {
            (Input::Paid, Some(p)) => state::payment_refusal(
                out_trade_no,
                total,
                stored_tid.as_deref(),
                p.total_fee,
                &p.transaction_id,
            ),
            _ => None,
        };

        let outcome = if let Some(state::Refusal { why, alert }) = refusal {
            applied.ignored = Some(why);
            // The same refused payment reported again (every poll, every retried notification) is recorded
            // but flagged and alerted once.
            let known = flag_reason.as_deref().is_some_and(|f| f.contains(&alert));
            if !known {
                update.flag = Some(alert.clone());
                applied.alert = Some(alert.clone());
            }
            format!("refused: {alert}")
        } else {
            match state::next(before, input, close_reason) {
                Decision::Ignore(why) => {
                    applied.ignored = Some(why);
                    format!("ignored: {why}")
                }
                Decision::To(after) => {
                    applied.after = after;
                    applied.changed = true;
                    update.status = Some(after);
                    match input {
                        Input::Created => {
                            update.code_url = evidence.code_url.clone();
                            update.prepay_id = evidence.prepay_id.clone();
                        }
                        Input::CloseRequested(reason) => update.close_reason = Some(reason),
                        Input::Paid => update.payment = evidence.payment.clone(),
                        _ => {}
                    }
                    if after == OrderStatus::PaidAfterCancel {
                        let alert = format!("{PAID_AFTER_CANCEL_ALERT} (order {out_trade_no})");
                        update.flag = Some(alert.clone());
                        applied.alert = Some(alert);
                    }
                    format!("{before} -> {after}")
                }
            }
        };
        update.write(&tx, id, at)?;
        tx.execute(
            "INSERT INTO order_events (order_id, at, kind, source, detail, outcome) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![
                id,
                to_ms(at),
                input_kind(input),
                evidence.source.as_str(),
                evidence.detail,
                outcome
            ],
        )?;
        tx.commit()?;
        Ok(applied)
    }

    /// Append an event to an order's history (a request sent, a response, a retry…), durably. Events are
    /// never changed or deleted.
    pub fn log_event(
        &self,
        out_trade_no: &str,
        kind: &str,
        detail: &str,
        at: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let conn = self.writer()?;
        let n = conn.execute(
            "INSERT INTO order_events (order_id, at, kind, source, detail, outcome) \
             SELECT id, ?2, ?3, 'log', ?4, '' FROM orders WHERE out_trade_no = ?1",
            rusqlite::params![out_trade_no, to_ms(at), kind, detail],
        )?;
        if n == 0 {
            return Err(LedgerError::NotFound(out_trade_no.to_string()));
        }
        Ok(())
    }

    /// One order, if it exists.
    pub fn order(&self, out_trade_no: &str) -> Result<Option<Order>, LedgerError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE out_trade_no = ?1"
        ))?;
        Ok(stmt.query_row([out_trade_no], order_from_row).optional()?)
    }

    /// Orders that are not final, oldest first: what start-up reconciliation must drive to an end.
    pub fn unfinished(&self) -> Result<Vec<Order>, LedgerError> {
        let conn = self.reader();
        // The same condition as the schema's partial index `orders_unfinished`, so SQLite uses it.
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders \
             WHERE status IN ({}) \
             ORDER BY created_at, id",
            state::unfinished_sql_list()
        ))?;
        let rows = stmt.query_map([], order_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Orders given up (cancelled, expired, failed) whose `time_expire` is at or after `since` and that had a
    /// code_url (so could have been paid), oldest first: what the engine re-checks at start-up, because a
    /// payment can land after the close (reference §5 "Race").
    pub fn given_up_since(&self, since: DateTime<Utc>) -> Result<Vec<Order>, LedgerError> {
        let conn = self.reader();
        // The same condition as the schema's partial index `orders_given_up`, so SQLite uses it.
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders \
             WHERE status IN ({}) AND time_expire >= ?1 AND code_url IS NOT NULL \
             ORDER BY time_expire, id",
            state::given_up_sql_list()
        ))?;
        let rows = stmt.query_map([to_ms(since)], order_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Count one re-check of a given-up order and note its answer in the history, durably.
    pub fn note_recheck(
        &self,
        out_trade_no: &str,
        detail: &str,
        at: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE orders SET rechecks = rechecks + 1 WHERE out_trade_no = ?1",
            [out_trade_no],
        )?;
        if n == 0 {
            return Err(LedgerError::NotFound(out_trade_no.to_string()));
        }
        tx.execute(
            "INSERT INTO order_events (order_id, at, kind, source, detail, outcome) \
             SELECT id, ?2, 'recheck', 'log', ?3, '' FROM orders WHERE out_trade_no = ?1",
            rusqlite::params![out_trade_no, to_ms(at), detail],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Orders created in `[from, to)`, oldest first.
    pub fn orders_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Order>, LedgerError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE created_at >= ?1 AND created_at < ?2 \
             ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map([to_ms(from), to_ms(to)], order_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// An order's item lines, in the order they were rung up (empty if the order does not exist).
    pub fn items(&self, out_trade_no: &str) -> Result<Vec<ItemLine>, LedgerError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT i.name, i.unit_price_fen, i.qty, i.line_total_fen \
             FROM orders o JOIN order_items i ON i.order_id = o.id \
             WHERE o.out_trade_no = ?1 ORDER BY i.line_no",
        )?;
        let rows = stmt.query_map([out_trade_no], |r| {
            Ok(ItemLine {
                name: r.get(0)?,
                unit_price: fen_at(r, 1)?,
                qty: r.get(2)?,
                line_total: fen_at(r, 3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// An order's history, oldest first (empty if the order does not exist).
    pub fn events(&self, out_trade_no: &str) -> Result<Vec<OrderEvent>, LedgerError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT e.id, e.at, e.kind, e.source, e.detail, e.outcome \
             FROM orders o JOIN order_events e ON e.order_id = o.id \
             WHERE o.out_trade_no = ?1 ORDER BY e.id",
        )?;
        let rows = stmt.query_map([out_trade_no], |r| {
            Ok(OrderEvent {
                seq: r.get(0)?,
                at: time_at(r, 1)?,
                kind: r.get(2)?,
                source: r.get(3)?,
                detail: r.get(4)?,
                outcome: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// What [`Ledger::apply`] writes to the order row.
#[derive(Default)]
struct Update {
    status: Option<OrderStatus>,
    close_reason: Option<CloseReason>,
    code_url: Option<String>,
    prepay_id: Option<String>,
    payment: Option<super::model::PaymentFacts>,
    flag: Option<String>,
}

impl Update {
    fn write(
        &self,
        tx: &rusqlite::Transaction<'_>,
        id: i64,
        at: DateTime<Utc>,
    ) -> rusqlite::Result<()> {
        let p = self.payment.as_ref();
        tx.execute(
            "UPDATE orders SET \
                status = COALESCE(?2, status), \
                close_reason = COALESCE(?3, close_reason), \
                code_url = COALESCE(?4, code_url), \
                prepay_id = COALESCE(?5, prepay_id), \
                transaction_id = COALESCE(?6, transaction_id), \
                paid_at = COALESCE(?7, paid_at), \
                cash_fee_fen = COALESCE(?8, cash_fee_fen), \
                bank_type = COALESCE(?9, bank_type), \
                openid = COALESCE(?10, openid), \
                flagged = CASE WHEN ?11 IS NULL THEN flagged ELSE 1 END, \
                flag_reason = CASE WHEN ?11 IS NULL THEN flag_reason \
                                   WHEN flag_reason IS NULL THEN ?11 \
                                   ELSE flag_reason || '; ' || ?11 END, \
                updated_at = ?12 \
             WHERE id = ?1",
            rusqlite::params![
                id,
                self.status.map(OrderStatus::as_str),
                self.close_reason.map(CloseReason::as_str),
                self.code_url,
                self.prepay_id,
                p.map(|p| p.transaction_id.as_str()),
                p.map(|p| to_ms(p.time_end.unwrap_or(at))),
                p.and_then(|p| p.cash_fee).map(Fen::get),
                p.and_then(|p| p.bank_type.as_deref()),
                p.and_then(|p| p.openid.as_deref()),
                self.flag,
                to_ms(at),
            ],
        )?;
        Ok(())
    }
}

fn validate(o: &NewOrder) -> Result<(), LedgerError> {
    let invalid = |m: String| Err(LedgerError::Invalid(m));
    if o.out_trade_no.trim().is_empty() {
        return invalid("an order needs an out_trade_no".into());
    }
    for (n, line) in o.items.iter().enumerate() {
        if line.unit_price.checked_mul(line.qty) != Some(line.line_total) {
            return invalid(format!(
                "order {}: line {} ({}) total {} is not {} × {}",
                o.out_trade_no,
                n + 1,
                line.name,
                line.line_total,
                line.unit_price,
                line.qty
            ));
        }
    }
    match Fen::checked_sum(o.items.iter().map(|l| l.line_total)) {
        Some(sum) if sum == o.total || o.items.is_empty() => Ok(()),
        Some(sum) => invalid(format!(
            "order {}: total {} is not the sum of its lines {}",
            o.out_trade_no, o.total, sum
        )),
        None => invalid(format!("order {}: the lines overflow", o.out_trade_no)),
    }
}

/// Insert a new order, its lines and its `recorded` event (within the caller's transaction).
pub(crate) fn insert_order(
    tx: &rusqlite::Transaction<'_>,
    o: &NewOrder,
) -> Result<(), LedgerError> {
    let exists = tx
        .prepare_cached("SELECT 1 FROM orders WHERE out_trade_no = ?1")?
        .exists([&o.out_trade_no])?;
    if exists {
        return Err(LedgerError::Duplicate(o.out_trade_no.clone()));
    }
    let created = to_ms(o.created_at);
    tx.prepare_cached(
        "INSERT INTO orders (out_trade_no, station, cashier, created_at, expires_at, total_fen, status, \
         body, notify_url, spbill_create_ip, product_id, device_info, time_start, time_expire, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'creating', ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?4)",
    )?
    .execute(rusqlite::params![
        o.out_trade_no,
        o.station,
        o.cashier,
        created,
        to_ms(o.expires_at),
        o.total.get(),
        o.body,
        o.notify_url,
        o.spbill_create_ip,
        o.product_id,
        o.device_info,
        to_ms(o.time_start),
        to_ms(o.time_expire),
    ])?;
    let id = tx.last_insert_rowid();
    let mut line = tx.prepare_cached(
        "INSERT INTO order_items (order_id, line_no, name, unit_price_fen, qty, line_total_fen) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (n, l) in o.items.iter().enumerate() {
        line.execute(rusqlite::params![
            id,
            n as i64 + 1,
            l.name,
            l.unit_price.get(),
            l.qty,
            l.line_total.get()
        ])?;
    }
    tx.prepare_cached(
        "INSERT INTO order_events (order_id, at, kind, source, detail, outcome) \
         VALUES (?1, ?2, 'recorded', 'cashier', ?3, 'creating')",
    )?
    .execute(rusqlite::params![
        id,
        created,
        format!(
            "total {}, {} line(s), cashier {}, station {}",
            o.total,
            o.items.len(),
            o.cashier,
            o.station
        ),
    ])?;
    Ok(())
}
