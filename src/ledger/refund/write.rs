//! Writing refunds: recording one before its request leaves ([`Ledger::create_refund`]) and applying what
//! the gateway reports ([`Ledger::apply_refund`]), each in one durable transaction with its event on the
//! order's log.
//!
//! Not the rules (`refund_state`) nor reading refunds back (`read.rs`).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior};

use super::read::{REFUND_SELECT, refund_from_row, refund_state_at};
use super::{NewRefund, Refund, RefundApplied, RefundEvidence, RefundRefusal};
use crate::ledger::model::LedgerError;
use crate::ledger::refund_state::{
    self, MAX_REFUNDS_PER_ORDER, RefundDecision, RefundInput, RefundState,
};
use crate::ledger::state::{self, Decision};
use crate::ledger::store::{Ledger, fen_at, status_at, to_ms};
use crate::money::Fen;

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
}

#[cfg(test)]
mod tests {
    use super::super::RefundSource;
    use super::*;
    use crate::ledger::model::Source;

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
            .create_order(&NewOrder::for_test("O1", total, t))
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
}
