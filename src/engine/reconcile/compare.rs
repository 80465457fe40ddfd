//! The pure comparison of a day: WeChat's bill rows against the ledger's side of the day ([`compare`]),
//! giving each difference, its explanation and the fix that would make the ledger agree; and dating the
//! refunds a fix records with the REFUND bill's success times.
//!
//! No I/O and no clock: downloading the bill, applying the fixes and storing the run are `run.rs`'s.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};

use crate::clock::format_wx_datetime;
use crate::ledger::{Order, PaymentFacts, Refund, RefundInput, RefundState, refund_state};
use crate::money::Fen;
use crate::wxpay::bill::BillRow;

/// The ledger's side of one day: the orders paid and the refunds accepted that day, and every order and
/// refund the bill names, by number.
#[derive(Debug, Clone, Default)]
pub struct LedgerSide {
    /// The bill's day (Beijing time), for the explanations; `None` leaves it unsaid.
    pub day: Option<NaiveDate>,
    pub orders: HashMap<String, Order>,
    pub refunds: HashMap<String, Refund>,
    /// Orders the ledger has as paid on the day (by `paid_at`).
    pub paid_on_day: Vec<String>,
    /// Refunds the gateway accepted on the day, as the ledger knows it
    /// ([`crate::ledger::Ledger::refunds_accepted_between`]).
    pub refunds_on_day: Vec<String>,
}

/// What kind of difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DifferenceKind {
    /// Paid at WeChat, not paid in the ledger.
    LatePayment,
    /// Paid at WeChat under a number the ledger does not have.
    UnknownOrder,
    /// Paid in the ledger, absent from the bill.
    NotInBill,
    /// The bill's order amount is not the ledger's total.
    AmountDiffers,
    /// Paid by another transaction than the ledger's.
    TransactionDiffers,
    /// A refund in the bill the ledger does not have.
    UnknownRefund,
    /// A refund the ledger has as accepted, absent from the bill.
    RefundNotInBill,
    RefundAmountDiffers,
    /// The bill's refund status contradicts the ledger's.
    RefundStatusDiffers,
    /// A row that is neither a payment (`SUCCESS`) nor a refund, e.g. `REVOKED`: never applied, the manager
    /// looks.
    NotAPayment,
}

/// What to apply to the ledger to make it agree with the bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// Apply the payment (`Input::Paid`, source bill): paid, or paid after cancel for a given-up order.
    Pay {
        out_trade_no: String,
        payment: PaymentFacts,
    },
    /// Record a refund made outside PayDesk, accepted at `accepted_at` (the bill's 交易时间), then its
    /// outcome if final. A success is dated `succeeded_at` (the REFUND bill's 退款成功时间) when known, else
    /// `accepted_at`: the bill's own time, never the run's (which would put it on the wrong business day).
    RecordRefund {
        out_trade_no: String,
        out_refund_no: String,
        refund_id: String,
        amount: Fen,
        accepted_at: DateTime<Utc>,
        succeeded_at: Option<DateTime<Utc>>,
        outcome: Option<RefundInput>,
    },
    /// Move a refund the ledger holds in flight to the bill's status; a success is dated like
    /// [`Fix::RecordRefund`]'s.
    RefundOutcome {
        out_refund_no: String,
        refund_id: String,
        input: RefundInput,
        accepted_at: DateTime<Utc>,
        succeeded_at: Option<DateTime<Utc>>,
    },
}

/// One difference between the bill and the ledger, explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub kind: DifferenceKind,
    pub out_trade_no: String,
    pub out_refund_no: Option<String>,
    pub explanation: String,
    /// What resolves it, if applying the bill can.
    pub fix: Option<Fix>,
}

/// The result of comparing one bill with the ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Payments and refunds that agree.
    pub matched: u32,
    pub differences: Vec<Difference>,
}

/// How a bill's refund status reads as a refund input.
fn refund_input(status: &str) -> Option<RefundInput> {
    match status {
        "SUCCESS" => Some(RefundInput::Succeeded),
        "PROCESSING" => Some(RefundInput::Processing),
        "CHANGE" => Some(RefundInput::Changed),
        "REFUNDCLOSE" => Some(RefundInput::Closed),
        _ => None,
    }
}

/// Whether the ledger's refund state agrees with the bill's status. The bill is a snapshot taken when it was
/// made: a refund PROCESSING then may have settled since, so any accepted state agrees with it.
fn refund_agrees(bill_status: &str, ledger: RefundState) -> bool {
    match bill_status {
        "SUCCESS" => ledger == RefundState::Success,
        "PROCESSING" => matches!(
            ledger,
            RefundState::Processing
                | RefundState::Success
                | RefundState::Change
                | RefundState::Closed
        ),
        "CHANGE" => ledger == RefundState::Change,
        "REFUNDCLOSE" => ledger == RefundState::Closed,
        _ => false,
    }
}

/// Compare a bill's rows with the ledger's side of the same day. Pure: see the module doc for the rules.
pub fn compare(rows: &[BillRow], ledger: &LedgerSide) -> Comparison {
    let mut out = Comparison::default();
    let mut paid_in_bill = HashSet::new();
    let mut refunds_in_bill = HashSet::new();
    let mut diff = |kind, row: &BillRow, refund: Option<&str>, explanation: String, fix| {
        out.differences.push(Difference {
            kind,
            out_trade_no: row.out_trade_no.clone(),
            out_refund_no: refund.map(str::to_string),
            explanation,
            fix,
        });
    };
    let mut matched = 0;
    for row in rows.iter().filter(|r| !r.is_refund()) {
        // Only a SUCCESS row is money received; anything else is shown, never applied as a payment.
        if row.trade_state != "SUCCESS" {
            diff(
                DifferenceKind::NotAPayment,
                row,
                None,
                format!(
                    "the bill's row for {} (transaction {}) says {}, not SUCCESS: not applied; check it on \
                     the merchant platform",
                    row.out_trade_no, row.transaction_id, row.trade_state
                ),
                None,
            );
            continue;
        }
        paid_in_bill.insert(row.out_trade_no.as_str());
        let when = format_wx_datetime(row.trade_time);
        let Some(order) = ledger.orders.get(&row.out_trade_no) else {
            diff(
                DifferenceKind::UnknownOrder,
                row,
                None,
                format!(
                    "paid at WeChat at {when} ({}, transaction {}) under a number this ledger does not \
                     have: another till or shop on the same merchant account? Check it on the merchant \
                     platform",
                    row.total, row.transaction_id
                ),
                None,
            );
            continue;
        };
        if row.total != order.total {
            diff(
                DifferenceKind::AmountDiffers,
                row,
                None,
                format!(
                    "WeChat's bill has {} paid at {when}, the ledger's order is {}",
                    row.total, order.total
                ),
                None,
            );
            continue;
        }
        if refund_state::order_received_money(order.status) {
            match &order.transaction_id {
                Some(t) if *t != row.transaction_id => diff(
                    DifferenceKind::TransactionDiffers,
                    row,
                    None,
                    format!(
                        "paid at WeChat by transaction {}, the ledger has transaction {t}: the customer \
                         may have paid twice; check the merchant platform and refund one",
                        row.transaction_id
                    ),
                    None,
                ),
                _ => matched += 1,
            }
            continue;
        }
        diff(
            DifferenceKind::LatePayment,
            row,
            None,
            format!(
                "paid at WeChat at {when} ({}, transaction {}) but {} in the ledger: a payment the till \
                 did not see",
                row.total,
                row.transaction_id,
                order.status.label()
            ),
            Some(Fix::Pay {
                out_trade_no: row.out_trade_no.clone(),
                payment: PaymentFacts {
                    transaction_id: row.transaction_id.clone(),
                    total_fee: row.total,
                    cash_fee: Some(row.settlement),
                    time_end: Some(row.trade_time),
                    bank_type: Some(row.bank_type.clone()).filter(|s| !s.is_empty()),
                    openid: Some(row.openid.clone()).filter(|s| !s.is_empty()),
                },
            }),
        );
    }
    for row in rows.iter() {
        let Some(r) = &row.refund else { continue };
        refunds_in_bill.insert(r.out_refund_no.as_str());
        let no = Some(r.out_refund_no.as_str());
        let Some(stored) = ledger.refunds.get(&r.out_refund_no) else {
            let known = ledger.orders.contains_key(&row.out_trade_no);
            diff(
                DifferenceKind::UnknownRefund,
                row,
                no,
                if known {
                    format!(
                        "refund {} of {} ({}) is in WeChat's bill but not in the ledger: made on the \
                         merchant platform",
                        r.out_refund_no, r.requested, r.status
                    )
                } else {
                    format!(
                        "refund {} of {} of an order this ledger does not have",
                        r.out_refund_no, r.requested
                    )
                },
                known.then(|| Fix::RecordRefund {
                    out_trade_no: row.out_trade_no.clone(),
                    out_refund_no: r.out_refund_no.clone(),
                    refund_id: r.refund_id.clone(),
                    amount: r.requested,
                    accepted_at: row.trade_time,
                    succeeded_at: r.succeeded_at,
                    outcome: refund_input(&r.status).filter(|i| *i != RefundInput::Processing),
                }),
            );
            continue;
        };
        // The ledger keeps what was asked for (refund_fee = 申请退款金额); 退款金额 is less when coupons paid part.
        if stored.amount != r.requested {
            diff(
                DifferenceKind::RefundAmountDiffers,
                row,
                no,
                format!(
                    "refund {}: WeChat's bill has {}, the ledger {}",
                    r.out_refund_no, r.requested, stored.amount
                ),
                None,
            );
            continue;
        }
        if refund_agrees(&r.status, stored.status) {
            matched += 1;
            continue;
        }
        let in_flight = matches!(
            stored.status,
            RefundState::Requesting | RefundState::Processing
        );
        let fix = refund_input(&r.status)
            .filter(|_| in_flight)
            .map(|input| Fix::RefundOutcome {
                out_refund_no: r.out_refund_no.clone(),
                refund_id: r.refund_id.clone(),
                input,
                accepted_at: row.trade_time,
                succeeded_at: r.succeeded_at,
            });
        diff(
            DifferenceKind::RefundStatusDiffers,
            row,
            no,
            format!(
                "refund {} is {} in WeChat's bill, {} in the ledger",
                r.out_refund_no, r.status, stored.status
            ),
            fix,
        );
    }
    out.matched = matched;
    for no in &ledger.paid_on_day {
        if paid_in_bill.contains(no.as_str()) {
            continue;
        }
        let Some(o) = ledger.orders.get(no) else {
            continue;
        };
        out.differences.push(Difference {
            kind: DifferenceKind::NotInBill,
            out_trade_no: no.clone(),
            out_refund_no: None,
            explanation: format!(
                "{} in the ledger ({}, transaction {}, paid at {}) but not in WeChat's bill of the day",
                o.status.label(),
                o.total,
                o.transaction_id.as_deref().unwrap_or("-"),
                o.paid_at.map(format_wx_datetime).unwrap_or_default()
            ),
            fix: None,
        });
    }
    for no in &ledger.refunds_on_day {
        if refunds_in_bill.contains(no.as_str()) {
            continue;
        }
        let Some(r) = ledger.refunds.get(no) else {
            continue;
        };
        let mut explanation = format!(
            "refund {no} of {} ({}) in the ledger but not in WeChat's bill of the day",
            r.amount, r.status
        );
        // Accepted by a send days after it was recorded: an earlier send whose answer was lost may have got
        // through, and the bill of that day lists it instead.
        let recorded = crate::wxpay::bill::beijing_day(r.created_at);
        if ledger.day.is_some_and(|day| recorded < day) {
            explanation.push_str(&format!(
                "; it was recorded on {recorded} and sent again later: if the bill of {recorded} lists it, \
                 an earlier send got through"
            ));
        }
        out.differences.push(Difference {
            kind: DifferenceKind::RefundNotInBill,
            out_trade_no: r.out_trade_no.clone(),
            out_refund_no: Some(no.clone()),
            explanation,
            fix: None,
        });
    }
    out
}

/// The refund a fix records as succeeded without the time it succeeded (the ALL bill does not give it).
fn success_time_wanted(fix: &Fix) -> Option<&str> {
    match fix {
        Fix::RecordRefund {
            out_refund_no,
            succeeded_at: None,
            outcome: Some(RefundInput::Succeeded),
            ..
        }
        | Fix::RefundOutcome {
            out_refund_no,
            succeeded_at: None,
            input: RefundInput::Succeeded,
            ..
        } => Some(out_refund_no),
        _ => None,
    }
}

/// The refunds whose success time the REFUND bill should give (see [`with_success_times`]).
pub fn success_times_wanted(differences: &[Difference]) -> Vec<String> {
    differences
        .iter()
        .filter_map(|d| d.fix.as_ref().and_then(success_time_wanted))
        .map(str::to_string)
        .collect()
}

/// The REFUND bill's success times (退款成功时间) by out_refund_no.
pub fn success_times(refund_bill: &[BillRow]) -> HashMap<String, DateTime<Utc>> {
    refund_bill
        .iter()
        .filter_map(|row| row.refund.as_ref())
        .filter_map(|r| Some((r.out_refund_no.clone(), r.succeeded_at?)))
        .collect()
}

/// Date the successes the fixes record with the REFUND bill's times, where it has them.
pub fn with_success_times(differences: &mut [Difference], times: &HashMap<String, DateTime<Utc>>) {
    for d in differences {
        let Some(fix) = d.fix.as_mut() else { continue };
        let Some(t) = success_time_wanted(fix)
            .and_then(|no| times.get(no))
            .copied()
        else {
            continue;
        };
        match fix {
            Fix::RecordRefund { succeeded_at, .. } | Fix::RefundOutcome { succeeded_at, .. } => {
                *succeeded_at = Some(t);
            }
            Fix::Pay { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::ledger::OrderStatus;

    #[test]
    fn a_day_that_agrees_has_no_difference() {
        let ledger = side(
            vec![
                order("A", 1200, OrderStatus::Paid, Some("TA")),
                order("B", 800, OrderStatus::Refunded, Some("TB")),
                order("C", 500, OrderStatus::Cancelled, None),
            ],
            vec![refund("BR1", "B", 800, RefundState::Success)],
        );
        let rows = vec![
            pay_row("A", 1200, "TA"),
            pay_row("B", 800, "TB"),
            refund_row("BR1", "B", 800, "SUCCESS"),
        ];
        let c = compare(&rows, &ledger);
        assert!(c.differences.is_empty(), "{:?}", c.differences);
        assert_eq!(c.matched, 3);
    }

    #[test]
    fn a_payment_the_ledger_gave_up_is_a_late_payment_to_apply() {
        let ledger = side(vec![order("E", 1200, OrderStatus::Expired, None)], vec![]);
        let c = compare(&[pay_row("E", 1200, "TE")], &ledger);
        assert_eq!(c.differences.len(), 1);
        let d = &c.differences[0];
        assert_eq!(d.kind, DifferenceKind::LatePayment);
        assert!(
            d.explanation.contains("已过期 expired"),
            "{}",
            d.explanation
        );
        match &d.fix {
            Some(Fix::Pay {
                out_trade_no,
                payment,
            }) => {
                assert_eq!(out_trade_no, "E");
                assert_eq!(payment.transaction_id, "TE");
                assert_eq!(payment.total_fee, fen(1200));
                assert_eq!(payment.time_end, Some(t(9, 1)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_a_success_row_is_money_received() {
        let ledger = side(vec![order("V", 1200, OrderStatus::Expired, None)], vec![]);
        let revoked = BillRow {
            trade_state: "REVOKED".into(),
            ..pay_row("V", 1200, "TV")
        };
        let c = compare(&[revoked], &ledger);
        assert_eq!(c.differences.len(), 1);
        assert_eq!(c.differences[0].kind, DifferenceKind::NotAPayment);
        assert_eq!(c.differences[0].fix, None, "never applied as a payment");
    }

    #[test]
    fn refunds_are_compared_on_the_amount_asked_for_not_what_coupons_left() {
        // ¥8 asked for, ¥6 of it back in cash (a ¥2 coupon paid part of the order).
        let ledger = side(
            vec![order("B", 800, OrderStatus::Refunded, Some("TB"))],
            vec![refund("BR1", "B", 800, RefundState::Success)],
        );
        let mut row = refund_row("BR1", "B", 600, "SUCCESS");
        if let Some(r) = row.refund.as_mut() {
            r.requested = fen(800);
        }
        let c = compare(&[pay_row("B", 800, "TB"), row], &ledger);
        assert!(c.differences.is_empty(), "{:?}", c.differences);
    }

    #[test]
    fn what_cannot_be_applied_is_left_unexplained() {
        let ledger = side(
            vec![
                order("A", 1200, OrderStatus::Paid, Some("TA")),
                order("B", 800, OrderStatus::Paid, Some("TB")),
                order("M", 500, OrderStatus::Paid, Some("TM")),
                order("X", 300, OrderStatus::Open, None),
            ],
            vec![
                refund("R9", "A", 100, RefundState::Success),
                refund("R8", "A", 100, RefundState::Change),
            ],
        );
        let rows = vec![
            pay_row("A", 1200, "OTHER"),
            pay_row("B", 900, "TB"),
            pay_row("NEW", 100, "TN"),
            refund_row("R8", "A", 100, "SUCCESS"),
            refund_row("R7", "ZZ", 100, "SUCCESS"),
            refund_row("R6", "A", 200, "SUCCESS"),
        ];
        let c = compare(&rows, &ledger);
        let kinds: Vec<_> = c
            .differences
            .iter()
            .map(|d| {
                (
                    d.kind,
                    d.out_refund_no.as_deref().unwrap_or(&d.out_trade_no),
                    d.fix.is_some(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                (DifferenceKind::TransactionDiffers, "A", false),
                (DifferenceKind::AmountDiffers, "B", false),
                (DifferenceKind::UnknownOrder, "NEW", false),
                (DifferenceKind::RefundStatusDiffers, "R8", false),
                (DifferenceKind::UnknownRefund, "R7", false),
                (DifferenceKind::UnknownRefund, "R6", true),
                (DifferenceKind::NotInBill, "M", false),
                (DifferenceKind::RefundNotInBill, "R9", false),
            ]
        );
        assert_eq!(c.matched, 0);
    }

    #[test]
    fn a_refund_sent_again_days_later_and_missing_says_where_else_to_look() {
        let mut ledger = side(
            vec![order("A", 1200, OrderStatus::Paid, Some("TA"))],
            vec![refund("R1", "A", 100, RefundState::Success)],
        );
        // Recorded on the 27th (t), accepted by a send on the 29th: compared with the bill of the 29th.
        ledger.day = NaiveDate::from_ymd_opt(2026, 11, 29);
        let c = compare(&[], &ledger);
        let d = c.differences.last().unwrap();
        assert_eq!(d.kind, DifferenceKind::RefundNotInBill);
        assert!(
            d.explanation.contains(
                "recorded on 2026-11-27 and sent again later: if the bill of 2026-11-27 lists it"
            ),
            "{}",
            d.explanation
        );
        // Recorded and accepted the same day: nothing more to say.
        ledger.day = NaiveDate::from_ymd_opt(2026, 11, 27);
        let c = compare(&[], &ledger);
        assert!(
            !c.differences
                .last()
                .unwrap()
                .explanation
                .contains("sent again")
        );
    }

    #[test]
    fn refund_statuses_from_the_bill_move_refunds_in_flight_forward() {
        let ledger = side(
            vec![order("A", 1200, OrderStatus::Paid, Some("TA"))],
            vec![
                refund("R1", "A", 100, RefundState::Processing),
                refund("R2", "A", 100, RefundState::Success),
            ],
        );
        let rows = vec![
            pay_row("A", 1200, "TA"),
            refund_row("R1", "A", 100, "SUCCESS"),
            // The bill is a snapshot: PROCESSING then, SUCCESS in the ledger now, agrees.
            refund_row("R2", "A", 100, "PROCESSING"),
        ];
        let c = compare(&rows, &ledger);
        assert_eq!(c.matched, 2);
        assert_eq!(c.differences.len(), 1);
        assert_eq!(
            c.differences[0].fix,
            Some(Fix::RefundOutcome {
                out_refund_no: "R1".into(),
                refund_id: "5030R1".into(),
                input: RefundInput::Succeeded,
                accepted_at: t(10, 0),
                succeeded_at: None,
            })
        );
    }
}
