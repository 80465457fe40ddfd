//! Closing a day against WeChat's trade bill: download the bill of a Beijing-time day, compare it with the
//! ledger order by order and refund by refund ([`compare`], pure), apply what the bill shows that the ledger
//! missed (a late payment, a refund made on the merchant platform, a refund's outcome) through the ledger's
//! state machines with the bill as their source, and store the result of the run.
//!
//! The bill is WeChat's record of money and the ledger the shop's; each difference is explained, and is
//! either resolved (the ledger now agrees: the fix was applied) or left for the manager (an order the ledger
//! does not know, a payment the bill does not have, amounts or transactions that differ, a refund the ledger
//! holds as failed while the bill has it). Which day a trade belongs to is the bill's rule: a payment by its
//! success time, a refund by when it was accepted (for the ledger: when the refund API accepted the send
//! that got through, days after its recording if it was sent again later; see
//! [`crate::ledger::Ledger::refunds_accepted_between`]), both in Beijing time; a trade in the last seconds
//! before midnight may fall on the neighbouring day of the other side, and is then reported as missing from
//! one day and found in the next. A refund found in the bill is dated by the bill's times (the REFUND bill's
//! success time, asked for only then), never by the run's.
//!
//! Not here: the bill's format (`wxpay::bill`), storage (`ledger::reconcile`), wording for the window (the
//! CLI prints [`DayReconciliation::report`]), running it automatically each day (`reconcile_policy`,
//! `reconcile_task`).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::{Engine, EngineError, EngineEvent, ReconciledDay};
use crate::clock::format_wx_datetime;
use crate::ledger::{
    Evidence, Input, NewRefund, Order, OrderStatus, PaymentFacts, ReconciliationRecord, Refund,
    RefundEvidence, RefundInput, RefundSource, RefundState, Source, refund_state,
};
use crate::money::Fen;
use crate::wxpay::WxError;
use crate::wxpay::bill::{
    Availability, BillAnswer, BillError, BillRequest, BillRow, BillType, Fee, availability,
    beijing_day_start,
};

/// How long a reconciliation waits for the ledger's background check at start-up (minutes on a very
/// large ledger).
const LEDGER_CHECK_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// Who approved a refund found in the bill (refunds need a name; this one was made outside the till).
pub const BILL_APPROVER: &str = "WeChat bill (merchant platform)";

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

/// A difference after the run: explained, and resolved when applying the bill made the ledger agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: DifferenceKind,
    pub out_trade_no: String,
    pub out_refund_no: Option<String>,
    /// What differs, and what was done about it.
    pub explanation: String,
    pub resolved: bool,
}

/// One day reconciled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayReconciliation {
    /// The bill's day (Beijing time).
    pub day: NaiveDate,
    pub ran_at: DateTime<Utc>,
    /// False for `No Bill Exist`.
    pub had_bill: bool,
    pub payments: usize,
    pub refunds: usize,
    /// The bill's totals: settled payments, refunds, and the service fee (net of fees given back).
    pub received: Fen,
    pub refunded: Fen,
    pub fee: Fee,
    pub matched: u32,
    pub findings: Vec<Finding>,
}

impl DayReconciliation {
    /// Differences the bill could not resolve: the manager must look at them.
    pub fn unexplained(&self) -> usize {
        self.findings.iter().filter(|f| !f.resolved).count()
    }

    /// The result as text: the totals, the fee, each difference explained.
    pub fn report(&self) -> String {
        let mut s = format!(
            "Reconciliation of {} (Beijing time) with WeChat Pay's bill\n",
            self.day
        );
        if self.had_bill {
            s.push_str(&format!(
                "bill: {} payments, {} refunds; received {}, refunded {}; service fee {}\n",
                self.payments, self.refunds, self.received, self.refunded, self.fee
            ));
        } else {
            s.push_str("bill: none (No Bill Exist: WeChat Pay has no trade on this day)\n");
        }
        s.push_str(&format!(
            "matched: {}; differences: {} ({} resolved from the bill, {} unexplained)\n",
            self.matched,
            self.findings.len(),
            self.findings.len() - self.unexplained(),
            self.unexplained()
        ));
        for f in &self.findings {
            let what = match &f.out_refund_no {
                Some(r) => format!("order {} refund {r}", f.out_trade_no),
                None => format!("order {}", f.out_trade_no),
            };
            let mark = if f.resolved {
                "resolved"
            } else {
                "UNEXPLAINED"
            };
            s.push_str(&format!("- [{mark}] {what}: {}\n", f.explanation));
        }
        if self.findings.is_empty() {
            s.push_str("The ledger agrees with WeChat Pay's bill.\n");
        }
        s
    }
}

impl Engine {
    /// Reconcile Beijing day `day` with WeChat's bill (see the module doc), store the run in the ledger and
    /// return it. Live, a day's bill is asked for only from 10:00 Beijing time the next day and for the
    /// last three months; a sandbox answers for itself (it serves today's with `--bills-today`).
    pub async fn reconcile_day(&self, day: NaiveDate) -> Result<DayReconciliation, EngineError> {
        let inner = &self.inner;
        let gateway_error = |error: WxError| EngineError::Gateway {
            advice: error.advice(),
            error,
        };
        let now = inner.now();
        if !inner.settings.gateway.sandbox {
            match availability(day, now) {
                Availability::Ready => {}
                Availability::NotYet { from } => {
                    return Err(gateway_error(WxError::Bill(BillError::NotReady(format!(
                        "the bill of {day} can be downloaded from {} Beijing time",
                        format_wx_datetime(from)
                    )))));
                }
                Availability::TooOld => {
                    return Err(gateway_error(WxError::Bill(BillError::Refused {
                        msg: format!(
                            "{day} is more than 3 months ago; its bill cannot be downloaded"
                        ),
                        code: None,
                    })));
                }
            }
        }
        let answer = inner
            .client
            .download_bill(&BillRequest {
                bill_date: day,
                bill_type: BillType::All,
                gzip: true,
            })
            .await
            .map_err(gateway_error)?;
        let bill = match answer {
            BillAnswer::Bill(b) => Some(b),
            BillAnswer::NoBill => None,
        };
        let rows: Vec<BillRow> = bill.as_ref().map(|b| b.rows.clone()).unwrap_or_default();
        // Nothing is applied to a ledger whose start-up check has not passed (it refuses writes until then).
        if !self.ledger_checked(LEDGER_CHECK_WAIT).await {
            return Err(EngineError::Startup(self.ledger_problem().unwrap_or_else(
                || "the ledger's check did not finish".to_string(),
            )));
        }

        let from = beijing_day_start(day);
        let to = from + Duration::days(1);
        let named: Vec<(String, Option<String>)> = rows
            .iter()
            .map(|r| {
                (
                    r.out_trade_no.clone(),
                    r.refund.as_ref().map(|f| f.out_refund_no.clone()),
                )
            })
            .collect();
        let side = inner
            .db(move |l| {
                let mut side = LedgerSide {
                    day: Some(day),
                    ..LedgerSide::default()
                };
                for o in l.orders_paid_between(from, to)? {
                    side.paid_on_day.push(o.out_trade_no.clone());
                    side.orders.insert(o.out_trade_no.clone(), o);
                }
                for r in l.refunds_accepted_between(from, to)? {
                    side.refunds_on_day.push(r.out_refund_no.clone());
                    side.refunds.insert(r.out_refund_no.clone(), r);
                }
                for (otn, refund) in named {
                    if !side.orders.contains_key(&otn)
                        && let Some(o) = l.order(&otn)?
                    {
                        side.orders.insert(otn, o);
                    }
                    if let Some(no) = refund
                        && !side.refunds.contains_key(&no)
                        && let Some(r) = l.refund(&no)?
                    {
                        side.refunds.insert(no, r);
                    }
                }
                Ok(side)
            })
            .await?;
        let comparison = compare(&rows, &side);

        // Payments first: a refund found in the bill can only be recorded on a paid order.
        let mut differences = comparison.differences;
        // A refund the bill shows succeeded is dated by the REFUND bill's success time (the ALL bill has
        // only when it was accepted); asked for only when needed, and a failure there is no failure of the
        // run: the acceptance time is the fallback.
        if !success_times_wanted(&differences).is_empty() {
            match inner
                .client
                .download_bill(&BillRequest {
                    bill_date: day,
                    bill_type: BillType::Refund,
                    gzip: true,
                })
                .await
            {
                Ok(BillAnswer::Bill(b)) => {
                    with_success_times(&mut differences, &success_times(&b.rows))
                }
                Ok(BillAnswer::NoBill) => {}
                Err(e) => tracing::warn!(
                    %day,
                    error = %e,
                    "the REFUND bill could not be read; refunds found in the bill are dated by their acceptance"
                ),
            }
        }
        differences.sort_by_key(|d| !matches!(d.fix, Some(Fix::Pay { .. })));
        let mut findings = Vec::new();
        let mut touched = Vec::new();
        for d in differences {
            let (resolved, note) = match d.fix.clone() {
                None => (false, String::new()),
                Some(fix) => {
                    let at = inner.now();
                    let day_text = day.to_string();
                    inner.db(move |l| apply_fix(l, &fix, &day_text, at)).await?
                }
            };
            if resolved {
                touched.push(d.out_trade_no.clone());
            }
            findings.push(Finding {
                kind: d.kind,
                out_trade_no: d.out_trade_no,
                out_refund_no: d.out_refund_no,
                explanation: if note.is_empty() {
                    d.explanation
                } else {
                    format!("{}; {note}", d.explanation)
                },
                resolved,
            });
        }
        let result = DayReconciliation {
            day,
            ran_at: now,
            had_bill: bill.is_some(),
            payments: rows.iter().filter(|r| !r.is_refund()).count(),
            refunds: rows.iter().filter(|r| r.is_refund()).count(),
            received: bill
                .as_ref()
                .map_or(Fen::ZERO, |b| b.summary.settlement_total),
            refunded: bill
                .as_ref()
                .and_then(|b| b.summary.refund_total)
                .unwrap_or(Fen::ZERO),
            fee: bill.as_ref().map_or(Fee::ZERO, |b| b.summary.fee_total),
            matched: comparison.matched,
            findings,
        };
        let record = ReconciliationRecord {
            day,
            ran_at: now,
            had_bill: result.had_bill,
            matched: result.matched,
            differences: result.findings.len() as u32,
            unexplained: result.unexplained() as u32,
            fee_e5: result.fee.units(),
            report: result.report(),
        };
        inner.db(move |l| l.record_reconciliation(&record)).await?;
        for no in touched {
            inner.emit_order(&no).await;
        }
        inner.emit(EngineEvent::Reconciled(ReconciledDay {
            day,
            had_bill: result.had_bill,
            matched: result.matched,
            differences: result.findings.len() as u32,
            unexplained: result.unexplained() as u32,
        }));
        tracing::info!(
            %day,
            matched = result.matched,
            differences = result.findings.len(),
            unexplained = result.unexplained(),
            "day reconciled with the bill"
        );
        Ok(result)
    }
}

/// Apply one fix to the ledger. Returns whether the ledger now agrees, and what was done (or why not).
fn apply_fix(
    l: &crate::ledger::Ledger,
    fix: &Fix,
    day: &str,
    at: DateTime<Utc>,
) -> Result<(bool, String), crate::ledger::LedgerError> {
    match fix {
        Fix::Pay {
            out_trade_no,
            payment,
        } => {
            let evidence = Evidence::paid(
                Source::Bill,
                payment.clone(),
                format!(
                    "in WeChat's bill of {day}: paid {} by transaction {}",
                    payment.total_fee, payment.transaction_id
                ),
            );
            let applied = l.apply(out_trade_no, Input::Paid, &evidence, at)?;
            if !applied.changed {
                return Ok((
                    false,
                    format!(
                        "not applied: {}",
                        applied.ignored.unwrap_or("the ledger refused it")
                    ),
                ));
            }
            // Paid after cancel is flagged by the ledger itself; a payment the till never saw is flagged
            // here, so the manager sees both.
            if applied.after == OrderStatus::Paid {
                l.flag_order(
                    out_trade_no,
                    &format!("payment found in WeChat's bill of {day}; the till never saw it"),
                    Source::Bill,
                    at,
                )?;
            }
            Ok((
                true,
                format!(
                    "applied from the bill: now {} (flagged)",
                    applied.after.label()
                ),
            ))
        }
        Fix::RecordRefund {
            out_trade_no,
            out_refund_no,
            refund_id,
            amount,
            accepted_at,
            succeeded_at,
            outcome,
        } => {
            let created = l.create_refund(&NewRefund {
                out_refund_no: out_refund_no.clone(),
                out_trade_no: out_trade_no.clone(),
                amount: *amount,
                reason: format!("made outside PayDesk; found in WeChat's bill of {day}"),
                approved_by: BILL_APPROVER.into(),
                source: RefundSource::Bill,
                created_at: *accepted_at,
            });
            match created {
                Err(crate::ledger::LedgerError::RefundRefused(why)) => {
                    return Ok((false, format!("not recorded: {why}")));
                }
                Err(e) => return Err(e),
                Ok(_) => {}
            }
            let evidence = RefundEvidence {
                refund_id: Some(refund_id.clone()),
                refund_fee: Some(*amount),
                success_at: Some(succeeded_at.unwrap_or(*accepted_at)),
                ..RefundEvidence::new(Source::Bill, format!("in WeChat's bill of {day}"))
            };
            l.apply_refund(out_refund_no, RefundInput::Accepted, &evidence, at)?;
            let mut state = RefundState::Processing;
            if let Some(input) = outcome {
                state = l.apply_refund(out_refund_no, *input, &evidence, at)?.after;
            }
            Ok((true, format!("recorded from the bill ({state})")))
        }
        Fix::RefundOutcome {
            out_refund_no,
            refund_id,
            input,
            accepted_at,
            succeeded_at,
        } => {
            let evidence = RefundEvidence {
                refund_id: Some(refund_id.clone()),
                success_at: Some(succeeded_at.unwrap_or(*accepted_at)),
                ..RefundEvidence::new(Source::Bill, format!("in WeChat's bill of {day}"))
            };
            let applied = l.apply_refund(out_refund_no, *input, &evidence, at)?;
            Ok(if applied.changed {
                (
                    true,
                    format!("applied from the bill: now {}", applied.after),
                )
            } else {
                (
                    false,
                    format!("not applied: {}", applied.ignored.unwrap_or("refused")),
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::CloseReason;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        // Beijing 2026-11-27 h:m.
        Utc.with_ymd_and_hms(2026, 11, 27, h, m, 0).unwrap() - Duration::hours(8)
    }

    fn fen(v: i64) -> Fen {
        Fen::new(v).unwrap()
    }

    fn order(no: &str, total: i64, status: OrderStatus, txn: Option<&str>) -> Order {
        let at = t(9, 0);
        Order {
            out_trade_no: no.into(),
            station: "S1".into(),
            cashier: String::new(),
            created_at: at,
            expires_at: at,
            total: fen(total),
            body: "PayDesk".into(),
            notify_url: String::new(),
            spbill_create_ip: String::new(),
            product_id: no.into(),
            device_info: None,
            time_start: at,
            time_expire: at,
            status,
            close_reason: (status == OrderStatus::Expired).then_some(CloseReason::Expire),
            code_url: None,
            prepay_id: None,
            transaction_id: txn.map(str::to_string),
            paid_at: txn.map(|_| t(9, 1)),
            cash_fee: None,
            bank_type: None,
            openid: None,
            flagged: false,
            flag_reason: None,
            updated_at: at,
            rechecks: 0,
            refunded: Fen::ZERO,
            refund_pending: Fen::ZERO,
        }
    }

    fn refund(no: &str, otn: &str, amount: i64, status: RefundState) -> Refund {
        Refund {
            out_refund_no: no.into(),
            out_trade_no: otn.into(),
            amount: fen(amount),
            reason: String::new(),
            approved_by: "店长".into(),
            source: RefundSource::Till,
            status,
            refund_id: None,
            created_at: t(10, 0),
            updated_at: t(10, 0),
            success_at: None,
            recv_account: None,
            flagged: false,
            flag_reason: None,
        }
    }

    fn pay_row(no: &str, total: i64, txn: &str) -> BillRow {
        BillRow {
            line: 2,
            trade_time: t(9, 1),
            appid: String::new(),
            mch_id: String::new(),
            device_info: String::new(),
            transaction_id: txn.into(),
            out_trade_no: no.into(),
            openid: "o1".into(),
            trade_type: "NATIVE".into(),
            trade_state: "SUCCESS".into(),
            bank_type: "OTHERS".into(),
            currency: "CNY".into(),
            settlement: fen(total),
            coupon: Fen::ZERO,
            refund: None,
            body: String::new(),
            attach: String::new(),
            fee: Fee::ZERO,
            rate: "0.60%".into(),
            total: fen(total),
        }
    }

    fn refund_row(no: &str, otn: &str, amount: i64, status: &str) -> BillRow {
        BillRow {
            trade_state: "REFUND".into(),
            trade_time: t(10, 0),
            refund: Some(crate::wxpay::bill::BillRefund {
                refund_id: format!("5030{no}"),
                out_refund_no: no.into(),
                amount: fen(amount),
                requested: fen(amount),
                refund_type: "ORIGINAL".into(),
                status: status.into(),
                requested_at: None,
                succeeded_at: None,
            }),
            settlement: Fen::ZERO,
            total: Fen::ZERO,
            ..pay_row(otn, 0, "T")
        }
    }

    fn side(orders: Vec<Order>, refunds: Vec<Refund>) -> LedgerSide {
        let mut s = LedgerSide::default();
        for o in orders {
            if o.paid_at.is_some() {
                s.paid_on_day.push(o.out_trade_no.clone());
            }
            s.orders.insert(o.out_trade_no.clone(), o);
        }
        for r in refunds {
            s.refunds_on_day.push(r.out_refund_no.clone());
            s.refunds.insert(r.out_refund_no.clone(), r);
        }
        s
    }

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

    #[test]
    fn a_refund_found_in_the_bill_is_dated_by_the_bills_times_not_the_run() {
        // The ALL bill: the refund accepted at 10:00, succeeded (no success time in this bill).
        let ledger_side = side(vec![order("B", 800, OrderStatus::Paid, Some("TB"))], vec![]);
        let rows = vec![
            pay_row("B", 800, "TB"),
            refund_row("MP1", "B", 300, "SUCCESS"),
        ];
        let mut differences = compare(&rows, &ledger_side).differences;
        assert_eq!(success_times_wanted(&differences), ["MP1"]);
        // The REFUND bill gives its success time: 10:04.
        let mut refund_bill = refund_row("MP1", "B", 300, "SUCCESS");
        if let Some(r) = refund_bill.refund.as_mut() {
            r.succeeded_at = Some(t(10, 4));
        }
        with_success_times(&mut differences, &success_times(&[refund_bill]));
        assert!(success_times_wanted(&differences).is_empty());
        let fix = differences[0].fix.clone().unwrap();
        assert!(
            matches!(&fix, Fix::RecordRefund { accepted_at, succeeded_at: Some(s), .. }
                if *accepted_at == t(10, 0) && *s == t(10, 4)),
            "{fix:?}"
        );

        // Applied three days later, the refund still belongs to the bill's day.
        let dir = tempfile::tempdir().unwrap();
        let l = crate::ledger::Ledger::open(&dir.path().join("ledger.sqlite3")).unwrap();
        let paid_order = |no: &str| {
            let at = t(9, 0);
            l.create_order(&crate::ledger::NewOrder {
                out_trade_no: no.into(),
                station: "S1".into(),
                cashier: String::new(),
                created_at: at,
                expires_at: at + Duration::minutes(10),
                total: fen(800),
                items: vec![crate::ledger::ItemLine::new("咖啡", fen(800), 1).unwrap()],
                body: "PayDesk".into(),
                notify_url: "http://127.0.0.1:9/notify".into(),
                spbill_create_ip: "127.0.0.1".into(),
                product_id: no.into(),
                device_info: None,
                time_start: at,
                time_expire: at + Duration::minutes(10),
            })
            .unwrap();
            let facts = PaymentFacts {
                transaction_id: format!("T{no}"),
                total_fee: fen(800),
                cash_fee: None,
                time_end: Some(t(9, 1)),
                bank_type: None,
                openid: None,
            };
            l.apply(
                no,
                Input::Paid,
                &Evidence::paid(Source::Notify, facts, "notify"),
                t(9, 1),
            )
            .unwrap();
        };
        paid_order("B");
        let run = t(11, 0) + Duration::days(3);
        assert!(apply_fix(&l, &fix, "2026-11-27", run).unwrap().0);
        let r = l.refund("MP1").unwrap().unwrap();
        assert_eq!((r.created_at, r.success_at), (t(10, 0), Some(t(10, 4))));
        // Without the REFUND bill: its acceptance, the ALL bill's time.
        paid_order("C");
        let without = Fix::RecordRefund {
            out_trade_no: "C".into(),
            out_refund_no: "MP2".into(),
            refund_id: "5030MP2".into(),
            amount: fen(300),
            accepted_at: t(10, 0),
            succeeded_at: None,
            outcome: Some(RefundInput::Succeeded),
        };
        assert!(apply_fix(&l, &without, "2026-11-27", run).unwrap().0);
        let r = l.refund("MP2").unwrap().unwrap();
        assert_eq!(r.success_at, Some(t(10, 0)));
        assert_eq!(
            crate::wxpay::bill::beijing_day(r.day_at()),
            NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
        );
    }

    #[test]
    fn the_report_names_the_fee_and_every_difference() {
        let r = DayReconciliation {
            day: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            ran_at: t(12, 0),
            had_bill: true,
            payments: 2,
            refunds: 1,
            received: fen(2000),
            refunded: fen(800),
            fee: Fee::from_fen(7),
            matched: 2,
            findings: vec![Finding {
                kind: DifferenceKind::LatePayment,
                out_trade_no: "E".into(),
                out_refund_no: None,
                explanation: "paid at WeChat".into(),
                resolved: true,
            }],
        };
        let text = r.report();
        assert!(text.contains("service fee ¥0.07000"), "{text}");
        assert!(
            text.contains("1 resolved from the bill, 0 unexplained"),
            "{text}"
        );
        assert!(
            text.contains("- [resolved] order E: paid at WeChat"),
            "{text}"
        );
        assert_eq!(r.unexplained(), 0);
    }
}
