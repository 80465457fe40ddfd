//! What reconciling a day with WeChat's trade bill needs from the ledger, and where its results are kept:
//! the orders paid and the refunds accepted in a span of time (a bill lists trades by those instants, not by
//! the order's creation), flagging an order the bill shows something about, one stored row per run
//! (`reconciliations`, schema migration 4), and what the automatic runs decide from (the first order's day,
//! the days with a stored run).
//!
//! Storage only. The comparison and its rules are the engine's (`engine::reconcile`), which applies what the
//! bill shows through [`Ledger::apply`] / [`Ledger::create_refund`] / [`Ledger::apply_refund`] like any other
//! report; nothing here changes an order's status.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior};

use super::model::{LedgerError, Order, Source};
use super::refund::{REFUND_SELECT, Refund, refund_from_row};
use super::store::{Ledger, ORDER_COLUMNS, order_from_row, time_at, to_ms};

/// One reconciliation run, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconciliationRecord {
    /// The bill's day (Beijing time).
    pub day: NaiveDate,
    pub ran_at: DateTime<Utc>,
    /// False when the gateway said `No Bill Exist` (no trade that day).
    pub had_bill: bool,
    /// Payments and refunds that agree on both sides.
    pub matched: u32,
    /// Differences found, explained or not.
    pub differences: u32,
    /// Differences that are not explained (nor resolved by applying what the bill shows).
    pub unexplained: u32,
    /// The bill's service fee, in 0.00001 yuan (`wxpay::bill::Fee` units).
    pub fee_e5: i64,
    /// The result as printed, each difference explained.
    pub report: String,
}

impl Ledger {
    /// Orders paid (by their `paid_at`) in `[from, to)`, in payment order: the ledger's side of a bill's
    /// payments.
    pub fn orders_paid_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Order>, LedgerError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE paid_at >= ?1 AND paid_at < ?2 \
             ORDER BY paid_at, id"
        ))?;
        let rows = stmt.query_map([to_ms(from), to_ms(to)], order_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Refunds the gateway accepted in `[from, to)` (and holds as processing, success, change or closed):
    /// the ledger's side of a bill's refunds, which the bill lists on the day of their acceptance. Refunds
    /// still requesting or refused never reached a bill.
    ///
    /// When a refund was accepted, as the ledger knows it: for a refund the till sent, the moment the refund
    /// API's own answer accepted it (its `refund_accepted` event from source `refund`), which is days after
    /// its recording when the first sends failed and it was sent again later with the same out_refund_no.
    /// Otherwise its recording: a refund found in the bill or learned from its notification is recorded at
    /// the time the gateway gives, and one whose acceptance was learned by a query (the answer to its send
    /// was lost) was most likely accepted by its first send, a moment after it was recorded. Not told apart:
    /// a first send that got through with its answer lost, then the same refund sent again days later
    /// without a restart (a restart queries first): it is on the later day here, on the first in the bill
    /// (the engine's difference then says where else to look).
    pub fn refunds_accepted_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Refund>, LedgerError> {
        let conn = self.reader();
        // The refund's own events are told apart by their detail, which starts "refund {out_refund_no} of "
        // (`Ledger::apply_refund`); compared with substr, as out_refund_no may hold LIKE's `_`.
        let mut stmt = conn.prepare_cached(&format!(
            "WITH accepted AS ( \
               SELECT r.id AS refund_pk, COALESCE(( \
                 SELECT MIN(e.at) FROM order_events e \
                  WHERE e.order_id = r.order_id AND e.kind = 'refund_accepted' \
                    AND e.source = 'refund' AND e.outcome = 'requesting -> processing' \
                    AND substr(e.detail, 1, length('refund ' || r.out_refund_no || ' of ')) \
                        = 'refund ' || r.out_refund_no || ' of '), r.created_at) AS at \
               FROM refunds r \
              WHERE r.created_at < ?2 AND r.status IN ('processing', 'success', 'change', 'closed')) \
             {REFUND_SELECT} JOIN accepted a ON a.refund_pk = r.id \
             WHERE a.at >= ?1 AND a.at < ?2 ORDER BY a.at, r.id"
        ))?;
        let rows = stmt.query_map([to_ms(from), to_ms(to)], refund_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Flag an order for the manager with `reason` (appended to earlier reasons, once), and record why on
    /// its event log, in one durable transaction. The status does not change.
    pub fn flag_order(
        &self,
        out_trade_no: &str,
        reason: &str,
        source: Source,
        at: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE orders SET flagged = 1, \
                flag_reason = CASE WHEN flag_reason IS NULL THEN ?2 \
                                   WHEN instr(flag_reason, ?2) > 0 THEN flag_reason \
                                   ELSE flag_reason || '; ' || ?2 END, \
                updated_at = ?3 WHERE out_trade_no = ?1",
            rusqlite::params![out_trade_no, reason, to_ms(at)],
        )?;
        if n == 0 {
            return Err(LedgerError::NotFound(out_trade_no.to_string()));
        }
        tx.execute(
            "INSERT INTO order_events (order_id, at, kind, source, detail, outcome) \
             SELECT id, ?2, 'flagged', ?3, ?4, 'flagged' FROM orders WHERE out_trade_no = ?1",
            rusqlite::params![out_trade_no, to_ms(at), source.as_str(), reason],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Store one reconciliation run, durably.
    pub fn record_reconciliation(&self, r: &ReconciliationRecord) -> Result<(), LedgerError> {
        if r.unexplained > r.differences {
            return Err(LedgerError::Invalid(format!(
                "{} unexplained of {} differences",
                r.unexplained, r.differences
            )));
        }
        let conn = self.writer()?;
        conn.execute(
            "INSERT INTO reconciliations (day, ran_at, bill, matched, differences, unexplained, fee_e5, \
             report) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                r.day.format("%Y-%m-%d").to_string(),
                to_ms(r.ran_at),
                if r.had_bill { "bill" } else { "no_bill" },
                r.matched,
                r.differences,
                r.unexplained,
                r.fee_e5,
                r.report
            ],
        )?;
        Ok(())
    }

    /// When the first order was created: the automatic reconciliation starts from its day (a till whose
    /// first orders were all given up may still have been paid at WeChat). `None` for an empty ledger.
    pub fn first_order_at(&self) -> Result<Option<DateTime<Utc>>, LedgerError> {
        let conn = self.reader();
        let ms: Option<i64> =
            conn.query_row("SELECT MIN(created_at) FROM orders", [], |r| r.get(0))?;
        Ok(ms.and_then(chrono::DateTime::from_timestamp_millis))
    }

    /// The days in `[from, to]` with at least one stored run (whatever its result).
    pub fn reconciled_days(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<NaiveDate>, LedgerError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT DISTINCT day FROM reconciliations WHERE day >= ?1 AND day <= ?2 ORDER BY day",
        )?;
        let days = stmt.query_map(
            [
                from.format("%Y-%m-%d").to_string(),
                to.format("%Y-%m-%d").to_string(),
            ],
            |row| row.get::<_, String>(0),
        )?;
        let mut out = Vec::new();
        for d in days {
            let d = d?;
            match NaiveDate::parse_from_str(&d, "%Y-%m-%d") {
                Ok(day) => out.push(day),
                Err(e) => {
                    return Err(LedgerError::Invalid(format!(
                        "reconciliations: day {d:?} does not read: {e}"
                    )));
                }
            }
        }
        Ok(out)
    }

    /// The runs for `day`, oldest first (the last one is the day's state).
    pub fn reconciliations(
        &self,
        day: NaiveDate,
    ) -> Result<Vec<ReconciliationRecord>, LedgerError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT ran_at, bill, matched, differences, unexplained, fee_e5, report \
             FROM reconciliations WHERE day = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([day_text(day)], |row| record_from_row(day, row))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// The latest run for `day` (the day's state), if any, on a connection (the day report reads in one
/// transaction).
pub(super) fn latest_reconciliation(
    conn: &rusqlite::Connection,
    day: NaiveDate,
) -> Result<Option<ReconciliationRecord>, LedgerError> {
    let mut stmt = conn.prepare_cached(
        "SELECT ran_at, bill, matched, differences, unexplained, fee_e5, report \
         FROM reconciliations WHERE day = ?1 ORDER BY id DESC LIMIT 1",
    )?;
    Ok(stmt
        .query_row([day_text(day)], |row| record_from_row(day, row))
        .optional()?)
}

fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// A `reconciliations` row of `day`: `ran_at, bill, matched, differences, unexplained, fee_e5, report`.
fn record_from_row(
    day: NaiveDate,
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<ReconciliationRecord> {
    Ok(ReconciliationRecord {
        day,
        ran_at: time_at(row, 0)?,
        had_bill: row.get::<_, String>(1)? == "bill",
        matched: row.get(2)?,
        differences: row.get(3)?,
        unexplained: row.get(4)?,
        fee_e5: row.get(5)?,
        report: row.get(6)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::model::{Evidence, ItemLine, NewOrder, PaymentFacts};
    use crate::ledger::state::Input;
    use crate::money::Fen;
    use chrono::{Duration, TimeZone};

    fn order(ledger: &Ledger, otn: &str, created: DateTime<Utc>) {
        let total = Fen::new(1200).unwrap();
        ledger
            .create_order(&NewOrder {
                out_trade_no: otn.into(),
                station: "S1".into(),
                cashier: "小王".into(),
                created_at: created,
                expires_at: created + Duration::minutes(10),
                total,
                items: vec![ItemLine::new("咖啡", total, 1).unwrap()],
                body: "PayDesk".into(),
                notify_url: "http://127.0.0.1:9/notify".into(),
                spbill_create_ip: "127.0.0.1".into(),
                product_id: otn.into(),
                device_info: None,
                time_start: created,
                time_expire: created + Duration::minutes(10),
            })
            .unwrap();
    }

    #[test]
    fn paid_orders_by_payment_time_flags_and_runs_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("ledger.sqlite3")).unwrap();
        let t0 = Utc.with_ymd_and_hms(2026, 11, 27, 15, 50, 0).unwrap();
        order(&ledger, "R1", t0);
        order(&ledger, "R2", t0);
        // R1 is paid after midnight Beijing time (16:00 UTC): it belongs to the next day's bill.
        let paid = PaymentFacts {
            transaction_id: "4200001".into(),
            total_fee: Fen::new(1200).unwrap(),
            cash_fee: None,
            time_end: Some(t0 + Duration::minutes(15)),
            bank_type: None,
            openid: None,
        };
        ledger
            .apply(
                "R1",
                Input::Paid,
                &Evidence::paid(Source::Notify, paid, "notify"),
                t0 + Duration::minutes(15),
            )
            .unwrap();
        let day_end = Utc.with_ymd_and_hms(2026, 11, 27, 16, 0, 0).unwrap();
        assert!(
            ledger
                .orders_paid_between(t0 - Duration::days(1), day_end)
                .unwrap()
                .is_empty()
        );
        let next = ledger
            .orders_paid_between(day_end, day_end + Duration::days(1))
            .unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].out_trade_no, "R1");

        ledger
            .flag_order("R2", "in the bill: late payment", Source::Bill, t0)
            .unwrap();
        ledger
            .flag_order("R2", "in the bill: late payment", Source::Bill, t0)
            .unwrap();
        let r2 = ledger.order("R2").unwrap().unwrap();
        assert!(r2.flagged);
        assert_eq!(r2.flag_reason.as_deref(), Some("in the bill: late payment"));
        assert!(matches!(
            ledger.flag_order("NOPE", "x", Source::Bill, t0),
            Err(LedgerError::NotFound(_))
        ));

        let day = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let run = ReconciliationRecord {
            day,
            ran_at: t0 + Duration::days(1),
            had_bill: true,
            matched: 1,
            differences: 1,
            unexplained: 0,
            fee_e5: 7000,
            report: "1 matched".into(),
        };
        ledger.record_reconciliation(&run).unwrap();
        let runs = ledger.reconciliations(day).unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0], run);
        assert!(
            ledger
                .record_reconciliation(&ReconciliationRecord {
                    unexplained: 2,
                    ..run
                })
                .is_err()
        );
    }

    #[test]
    fn a_refund_is_on_the_day_the_gateway_accepted_it_even_if_sent_again_days_later() {
        use crate::ledger::model::Source;
        use crate::ledger::{NewRefund, RefundEvidence, RefundInput, RefundSource};
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("ledger.sqlite3")).unwrap();
        // Beijing 2026-11-27 12:00, and the bounds of that day and of two days later.
        let t0 = Utc.with_ymd_and_hms(2026, 11, 27, 4, 0, 0).unwrap();
        let day = |n: i64| {
            let from = Utc.with_ymd_and_hms(2026, 11, 26, 16, 0, 0).unwrap() + Duration::days(n);
            (from, from + Duration::days(1))
        };
        order(&ledger, "A", t0);
        let paid = PaymentFacts {
            transaction_id: "4200001".into(),
            total_fee: Fen::new(1200).unwrap(),
            cash_fee: None,
            time_end: Some(t0),
            bank_type: None,
            openid: None,
        };
        ledger
            .apply(
                "A",
                Input::Paid,
                &Evidence::paid(Source::Notify, paid, "notify"),
                t0,
            )
            .unwrap();
        let refund = |no: &str, accepted: DateTime<Utc>, source: Source, input: RefundInput| {
            let at = t0 + Duration::hours(1);
            ledger
                .create_refund(&NewRefund {
                    out_refund_no: no.into(),
                    out_trade_no: "A".into(),
                    amount: Fen::new(100).unwrap(),
                    reason: String::new(),
                    approved_by: "店长".into(),
                    source: RefundSource::Till,
                    created_at: at,
                })
                .unwrap();
            ledger
                .apply_refund(no, input, &RefundEvidence::new(source, "answer"), accepted)
                .unwrap();
        };
        // Accepted by its first send; accepted by a send two days later (the first sends failed); accepted
        // at its first send, as a query found out the next day (the answer to the send was lost).
        refund(
            "A_R1",
            t0 + Duration::hours(1),
            Source::Refund,
            RefundInput::Accepted,
        );
        refund(
            "A_R2",
            t0 + Duration::days(2),
            Source::Refund,
            RefundInput::Accepted,
        );
        refund(
            "A_R3",
            t0 + Duration::days(1),
            Source::Query,
            RefundInput::Processing,
        );
        let on = |n: i64| -> Vec<String> {
            let (from, to) = day(n);
            ledger
                .refunds_accepted_between(from, to)
                .unwrap()
                .into_iter()
                .map(|r| r.out_refund_no)
                .collect()
        };
        assert_eq!(on(0), ["A_R1", "A_R3"]);
        assert_eq!(on(1), Vec::<String>::new());
        assert_eq!(on(2), ["A_R2"]);
    }

    #[test]
    fn the_first_order_and_the_days_reconciled() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("ledger.sqlite3")).unwrap();
        assert_eq!(ledger.first_order_at().unwrap(), None);
        let t0 = Utc.with_ymd_and_hms(2026, 11, 20, 4, 0, 0).unwrap();
        order(&ledger, "B", t0 + Duration::days(2));
        order(&ledger, "A", t0);
        assert_eq!(ledger.first_order_at().unwrap(), Some(t0));
        let d = |n: u32| NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
        for day in [d(20), d(22), d(22), d(25)] {
            ledger
                .record_reconciliation(&ReconciliationRecord {
                    day,
                    ran_at: t0 + Duration::days(5),
                    had_bill: false,
                    matched: 0,
                    differences: 0,
                    unexplained: 0,
                    fee_e5: 0,
                    report: String::new(),
                })
                .unwrap();
        }
        assert_eq!(
            ledger.reconciled_days(d(21), d(25)).unwrap(),
            [d(22), d(25)]
        );
        assert_eq!(ledger.reconciled_days(d(20), d(20)).unwrap(), [d(20)]);
    }
}
