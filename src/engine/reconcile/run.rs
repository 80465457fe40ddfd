//! Running the reconciliation of one day: ask for the bill once it is ready (ALL, then REFUND for the
//! success times a fix needs), read the ledger's side of the day, apply each fix through the ledger's state
//! machines with the bill as their source, store the run and announce it; and the run's result
//! ([`DayReconciliation`]) with its text report.
//!
//! Not the comparison itself (`compare.rs`, pure) nor the bill's format (`wxpay::bill`).

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::compare::{
    DifferenceKind, Fix, LedgerSide, compare, success_times, success_times_wanted,
    with_success_times,
};
use crate::clock::format_wx_datetime;
use crate::engine::{Engine, EngineError, EngineEvent, ReconciledDay};
use crate::ledger::{
    Evidence, Input, NewRefund, OrderStatus, ReconciliationRecord, RefundEvidence, RefundInput,
    RefundSource, RefundState, Source,
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
    use super::super::test_support::*;
    use super::*;
    use crate::ledger::PaymentFacts;

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
