//! Which orders and refunds belong to a business day: the one rule, in Rust ([`Order::day_at`],
//! [`super::Refund::day_at`]) and in SQL (what every day query of the ledger selects), and the ledger's
//! query of the orders of a span of business days.
//!
//! The rule, like WeChat's bill: an order that received money
//! ([`refund_state::order_received_money`]: paid, paid after cancel, refunded since) belongs to the business
//! day of its *payment* (`paid_at`); any other order to the day it was *created* in. A refund belongs to the
//! day of its success, else of its creation. So an order rung up at 23:58 and paid at 00:01 is the next
//! day's takings, and a refund of yesterday's order is today's. Which business day an instant falls in is
//! [`crate::calendar`]'s.
//!
//! The CSV export, the day's sums, the day report and the window's History all read a day through
//! [`Ledger::orders_of_days_between`] or [`DaySpan`]. Not here: the CSV's format (`export`), the report's
//! arithmetic (`report`).

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::model::{LedgerError, Order};
use super::refund_state;
use super::state::OrderStatus;
use super::store::{Ledger, ORDER_COLUMNS, order_from_row, to_ms};

/// The instant that decides an order's business day: its payment if it received money (and the payment
/// time is known), else its creation.
pub fn order_day_at(
    status: OrderStatus,
    created_at: DateTime<Utc>,
    paid_at: Option<DateTime<Utc>>,
) -> DateTime<Utc> {
    match paid_at {
        Some(paid) if refund_state::order_received_money(status) => paid,
        _ => created_at,
    }
}

impl Order {
    /// The instant that decides its business day ([`order_day_at`]).
    pub fn day_at(&self) -> DateTime<Utc> {
        order_day_at(self.status, self.created_at, self.paid_at)
    }
}

/// The statuses of orders that received money, as SQL text (for `status IN (…)`).
pub(super) fn received_sql_list() -> String {
    OrderStatus::ALL
        .into_iter()
        .filter(|s| refund_state::order_received_money(*s))
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// [`order_day_at`] in SQL, over the orders table named (or aliased) `t`.
pub(super) fn order_day_at_sql(t: &str) -> String {
    format!(
        "(CASE WHEN {t}.paid_at IS NOT NULL AND {t}.status IN ({}) THEN {t}.paid_at \
         ELSE {t}.created_at END)",
        received_sql_list()
    )
}

/// The orders of the business days in `[from, to)`, as a query can select them through the creation-time
/// index: the creation times to scan, widened to hold every order *paid* in the span (found first through
/// the payment-time index), then filtered by the rule. So a day's query stays an index range a little wider
/// than the day, and the rows still come in creation order without a sort.
#[derive(Debug, Clone, Copy)]
pub(super) struct DaySpan {
    from: i64,
    to: i64,
    created_from: i64,
    created_to: i64,
}

impl DaySpan {
    /// The span `[from, to)`; one indexed query over the orders paid in it.
    pub(super) fn new(
        conn: &Connection,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<DaySpan, LedgerError> {
        let (from, to) = (to_ms(from), to_ms(to));
        let mut span = DaySpan {
            from,
            to,
            created_from: from,
            created_to: to,
        };
        // The whole ledger (the full export): nothing to widen, and no reason to read every payment.
        if from <= to_ms(DateTime::<Utc>::MIN_UTC) && to >= to_ms(DateTime::<Utc>::MAX_UTC) {
            return Ok(span);
        }
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT MIN(created_at), MAX(created_at) FROM orders \
             WHERE paid_at >= ?1 AND paid_at < ?2 AND status IN ({})",
            received_sql_list()
        ))?;
        let (lo, hi): (Option<i64>, Option<i64>) =
            stmt.query_row([from, to], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if let Some(lo) = lo {
            span.created_from = span.created_from.min(lo);
        }
        if let Some(hi) = hi {
            span.created_to = span.created_to.max(hi.saturating_add(1));
        }
        Ok(span)
    }

    /// A `WHERE` condition over the orders table named (or aliased) `t` selecting the span's orders, with
    /// [`DaySpan::params`] as `?1`–`?4`. An index range on `created_at`, so `ORDER BY created_at, id` needs
    /// no sort.
    pub(super) fn condition(t: &str) -> String {
        let day_at = order_day_at_sql(t);
        format!("{t}.created_at >= ?3 AND {t}.created_at < ?4 AND {day_at} >= ?1 AND {day_at} < ?2")
    }

    pub(super) fn params(&self) -> [i64; 4] {
        [self.from, self.to, self.created_from, self.created_to]
    }
}

impl Ledger {
    /// The orders of the business days in `[from, to)` (those whose [`Order::day_at`] is in it), oldest
    /// (by creation) first. With `DateTime::<Utc>::MIN_UTC` and `MAX_UTC`, every order.
    pub fn orders_of_days_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Order>, LedgerError> {
        orders_of_days(&self.reader(), from, to)
    }
}

/// [`Ledger::orders_of_days_between`] on a connection (the report reads in one transaction).
pub(super) fn orders_of_days(
    conn: &Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Order>, LedgerError> {
    let span = DaySpan::new(conn, from, to)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE {} ORDER BY created_at, id",
        DaySpan::condition("orders")
    ))?;
    let rows = stmt.query_map(span.params(), order_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::model::{Evidence, NewOrder, PaymentFacts, Source};
    use crate::ledger::state::{CloseReason, Input};
    use crate::money::Fen;
    use chrono::Duration;

    fn new_order(otn: &str, t: DateTime<Utc>) -> NewOrder {
        NewOrder::for_test(otn, Fen::new(100).unwrap(), t)
    }

    fn pay(ledger: &Ledger, otn: &str, at: DateTime<Utc>) {
        let p = PaymentFacts {
            transaction_id: format!("T{otn}"),
            total_fee: Fen::new(100).unwrap(),
            cash_fee: None,
            time_end: Some(at),
            bank_type: None,
            openid: None,
        };
        ledger
            .apply(
                otn,
                Input::Paid,
                &Evidence::paid(Source::Notify, p, "paid"),
                at,
            )
            .unwrap();
    }

    /// The SQL spells the rule out again: over every status, it selects what [`Order::day_at`] says.
    #[test]
    fn the_sql_rule_agrees_with_order_day_at() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.sqlite3")).unwrap();
        let t = DateTime::from_timestamp_millis(1_700_000_000_000).unwrap();
        let late = t + Duration::days(1);
        // Unpaid (open), paid late, paid after cancel late, refunded later, cancelled.
        for otn in ["U", "P", "C", "R", "X"] {
            ledger.create_order(&new_order(otn, t)).unwrap();
            ledger
                .apply(otn, Input::Created, &Evidence::created("u", None, "c"), t)
                .unwrap();
        }
        pay(&ledger, "P", late);
        pay(&ledger, "R", late);
        let refunded = ledger
            .apply(
                "R",
                Input::Refunded,
                &Evidence::new(Source::Refund, "r"),
                late,
            )
            .unwrap();
        assert_eq!(refunded.after, OrderStatus::Refunded);
        for otn in ["C", "X"] {
            ledger
                .apply(
                    otn,
                    Input::CloseRequested(CloseReason::Cancel),
                    &Evidence::new(Source::Cashier, "cancel"),
                    t,
                )
                .unwrap();
        }
        pay(&ledger, "C", late);
        ledger
            .apply(
                "X",
                Input::Closed,
                &Evidence::new(Source::CloseOrder, "closed"),
                t,
            )
            .unwrap();
        let all = ledger
            .orders_of_days_between(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)
            .unwrap();
        assert_eq!(all.len(), 5);
        assert_eq!(
            ledger.order("C").unwrap().unwrap().status,
            OrderStatus::PaidAfterCancel
        );
        for span in [(t, late), (late, late + Duration::days(1))] {
            let got: Vec<_> = ledger
                .orders_of_days_between(span.0, span.1)
                .unwrap()
                .into_iter()
                .map(|o| o.out_trade_no)
                .collect();
            let want: Vec<_> = all
                .iter()
                .filter(|o| o.day_at() >= span.0 && o.day_at() < span.1)
                .map(|o| o.out_trade_no.clone())
                .collect();
            assert_eq!(got, want, "{span:?}");
        }
        let first: Vec<_> = ledger
            .orders_of_days_between(t, late)
            .unwrap()
            .into_iter()
            .map(|o| o.out_trade_no)
            .collect();
        assert_eq!(first, ["U", "X"]);
    }

    /// A day's queries stay index ranges (1,000,000-order ledgers exist): no full scan, no sort.
    #[test]
    fn a_days_queries_use_the_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.sqlite3")).unwrap();
        let conn = ledger.reader();
        let plan = |sql: &str| -> String {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let rows = stmt
                .query_map([1i64, 2, 3, 4], |r| r.get::<_, String>(3))
                .unwrap();
            rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
        };
        let span = plan(&format!(
            "SELECT MIN(created_at), MAX(created_at) FROM orders \
             WHERE paid_at >= ?1 AND paid_at < ?2 AND status IN ({}) AND ?3 AND ?4",
            received_sql_list()
        ));
        assert!(span.contains("orders_by_paid_at"), "{span}");
        let day = plan(&format!(
            "SELECT o.id FROM orders o LEFT JOIN order_items i ON i.order_id = o.id WHERE {} \
             ORDER BY o.created_at, o.id, i.line_no",
            DaySpan::condition("o")
        ));
        assert!(day.contains("orders_by_created_at"), "{day}");
        assert!(!day.contains("TEMP B-TREE"), "no sort: {day}");
        assert!(!day.contains("SCAN o"), "no full scan: {day}");
    }
}
