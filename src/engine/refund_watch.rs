//! The watcher of one refund: carries out the steps [`super::refund_policy::next_refund_step`] decides
//! (send the refund request with its stored number, query refundquery, record, alert, stop) and feeds their
//! outcomes back. One task per refund in flight.
//!
//! Not here: any decision about what to do next or when (the policy), or how a refund's state may change
//! (the ledger's refund state machine).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::sync::oneshot;

use super::refund_policy::{
    self as policy, RefundAlert, RefundAnswer, RefundFacts, RefundStep, answer_of_query_error,
    answer_of_send_error,
};
use super::{EngineEvent, Inner};
use crate::ledger::{Refund, RefundEvidence, RefundInput, Source};
use crate::money::Fen;
use crate::wxpay::WxError;
use crate::wxpay::api::truncate_bytes;
use crate::wxpay::refund::RefundRecord;

/// What the watcher remembers between steps (the policy's facts that are not in the ledger).
#[derive(Default)]
struct Memory {
    answer: Option<RefundAnswer>,
    /// The refundquery record behind a `Status` answer, for the evidence.
    record: Option<RefundRecord>,
    /// The refund answer's refund_id and refund_fee behind an `Accepted` answer.
    refund_id: Option<String>,
    accepted_fee: Option<Fen>,
    /// The error behind a `Refused` answer, for the history and the manager.
    error: Option<WxError>,
    sends: u32,
    queries: u32,
    failures: u32,
    polls: u32,
    alerted: bool,
    /// The last send's refusal, being checked by refundquery.
    refused: Option<crate::wxpay::Action>,
}

/// Watch refund `no` until the policy says stop. `startup`: found in flight at start-up. `ready` is told
/// when the first answer has been applied (or the next step waits, or the watcher stops).
pub(super) async fn watch(
    inner: Arc<Inner>,
    no: String,
    wake: Arc<Notify>,
    startup: bool,
    mut ready: Option<oneshot::Sender<()>>,
) {
    let timing = inner.settings.timing;
    let mut m = Memory::default();
    // The order's total, sent with every request (fixed once the order exists).
    let mut total: Option<Fen> = None;
    loop {
        let refund = match inner.load_refund(&no).await {
            Ok(r) => r,
            Err(super::EngineError::UnknownRefund(_)) => return,
            Err(e) => {
                m.failures += 1;
                if super::policy::warn_now(m.failures) {
                    tracing::error!(out_refund_no = %no, error = %e, "refund watcher cannot read the refund");
                }
                let wait = super::policy::backoff(
                    timing.refund_poll_interval,
                    timing.max_backoff,
                    m.failures,
                );
                pause(&wake, wait).await;
                continue;
            }
        };
        let facts = RefundFacts {
            state: refund.status,
            answer: m.answer.clone(),
            startup,
            sends: m.sends,
            queries: m.queries,
            failures: m.failures,
            polls: m.polls,
            alerted: m.alerted,
            refused: m.refused,
        };
        let step = policy::next_refund_step(&facts, &timing);
        let after = match step {
            RefundStep::Send { after }
            | RefundStep::Query { after }
            | RefundStep::Record { after, .. } => after,
            RefundStep::Alert(_) | RefundStep::Stop => Duration::ZERO,
        };
        // The caller of `Engine::refund` waits until the first answer is applied: that is now, unless the
        // next step is immediate (the first send, recording its answer).
        if (!after.is_zero() || step == RefundStep::Stop || m.sends + m.queries > 1)
            && let Some(tx) = ready.take()
        {
            let _ = tx.send(());
        }
        if !after.is_zero() {
            pause(&wake, after).await;
            // Re-decided if the refund changed meanwhile (a notification).
            match inner.load_refund(&no).await {
                Ok(now) if now.status == refund.status => {}
                _ => continue,
            }
        }
        match step {
            RefundStep::Stop => return,
            RefundStep::Send { .. } => {
                let total = match total {
                    Some(t) => t,
                    None => match inner.load(&refund.out_trade_no).await {
                        Ok(o) => *total.insert(o.total),
                        Err(_) => {
                            m.failures += 1;
                            m.answer = Some(RefundAnswer::Unknown);
                            continue;
                        }
                    },
                };
                send(&inner, &refund, total, &mut m).await;
            }
            RefundStep::Query { .. } => query(&inner, &refund, &mut m).await,
            RefundStep::Record { input, why, .. } => {
                let evidence = evidence(&refund, input, why, &m);
                match inner.apply_refund(&no, input, evidence).await {
                    Ok(_) => {
                        m.failures = 0;
                        m.answer = None;
                        if input == RefundInput::Refused {
                            let advice = m
                                .error
                                .as_ref()
                                .map(WxError::advice)
                                .unwrap_or_else(|| why.to_string());
                            let message = format!(
                                "退款 {no} 未成功 / Refund {no} of order {otn} was refused: {advice}",
                                otn = refund.out_trade_no
                            );
                            inner.emit(EngineEvent::Error { message });
                        }
                        if inner.set_refund_notice(&no, None) {
                            inner.emit_refund(&no).await;
                        }
                    }
                    Err(e) => {
                        m.failures += 1;
                        if super::policy::warn_now(m.failures) {
                            tracing::error!(out_refund_no = %no, error = %e, ?input, "cannot record a refund step");
                        }
                    }
                }
            }
            RefundStep::Alert(alert) => {
                let message = match alert {
                    RefundAlert::TopUpBalance => format!(
                        "退款 {no} 余额不足，请在商户平台充值；PayDesk 会用同一退款单号重试 / Refund {no}: {}",
                        m.error
                            .as_ref()
                            .map(WxError::advice)
                            .unwrap_or_else(|| "the available balance is too low".into())
                    ),
                    RefundAlert::NotExistAfterAccepted => format!(
                        "退款 {no} 已受理，但查询返回“退款不存在”；PayDesk 继续查询 / WeChat Pay accepted refund {no} \
                         but refundquery does not know it; PayDesk keeps asking — check it on the merchant platform"
                    ),
                };
                tracing::warn!(out_refund_no = %no, ?alert, "refund needs attention");
                inner
                    .log(&refund.out_trade_no, "refund.alert", &message)
                    .await;
                inner.emit(EngineEvent::Error { message });
                m.alerted = true;
            }
        }
    }
}

/// Sleep `d`, or less when the watcher is woken (a refund notification arrived).
async fn pause(wake: &Notify, d: Duration) {
    if d.is_zero() {
        return;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = wake.notified() => {}
    }
}

/// Send the refund request: the stored number and amount, every time.
async fn send(inner: &Arc<Inner>, refund: &Refund, total: Fen, m: &mut Memory) {
    let no = refund.out_refund_no.as_str();
    m.sends += 1;
    let desc = truncate_bytes(refund.reason.trim(), 80).trim().to_string();
    let request = crate::wxpay::Refund {
        out_trade_no: refund.out_trade_no.clone(),
        out_refund_no: no.to_string(),
        total_fee: total,
        refund_fee: refund.amount,
        refund_desc: (!desc.is_empty()).then_some(desc),
        notify_url: Some(inner.notify_url.clone()),
    };
    inner
        .log(
            &refund.out_trade_no,
            "refund.request",
            &format!(
                "refund {no}: refund_fee={} total_fee={} (attempt {})",
                refund.amount.get(),
                total.get(),
                m.sends
            ),
        )
        .await;
    match inner.client.refund(&request).await {
        Ok(accepted) => {
            m.failures = 0;
            m.error = None;
            m.refund_id = Some(accepted.refund_id.clone());
            m.accepted_fee = Some(accepted.refund_fee);
            m.answer = Some(RefundAnswer::Accepted);
            m.refused = None;
        }
        Err(e) => {
            let answer = answer_of_send_error(&e);
            m.refused = match &answer {
                RefundAnswer::Refused(action) => Some(*action),
                _ => None,
            };
            let notice = match &answer {
                RefundAnswer::Unknown => {
                    m.failures += 1;
                    format!(
                        "正在重试 / retrying with the same refund number: {}",
                        short(&e)
                    )
                }
                RefundAnswer::Refused(crate::wxpay::Action::Query) => {
                    m.failures += 1;
                    format!("正在核实 / checking with WeChat Pay: {}", short(&e))
                }
                _ => {
                    m.failures = 0;
                    short(&e)
                }
            };
            if m.failures <= 1 || super::policy::warn_now(m.failures) {
                inner
                    .log(
                        &refund.out_trade_no,
                        "refund.error",
                        &format!("refund {no}: {e}"),
                    )
                    .await;
            }
            if inner.set_refund_notice(no, Some(notice)) {
                inner.emit_refund(no).await;
            }
            m.error = Some(e);
            m.answer = Some(answer);
        }
    }
}

/// One refundquery by this refund's number (a single attempt: watching is itself the retry).
async fn query(inner: &Arc<Inner>, refund: &Refund, m: &mut Memory) {
    let no = refund.out_refund_no.as_str();
    m.queries += 1;
    match inner.client.refund_query_by_refund_no(no).await {
        Ok(q) => match q.refund(no) {
            Some(record) => {
                m.failures = 0;
                let status = record.status.clone();
                if policy::input_of(&status).is_none_or(|i| i == RefundInput::Processing) {
                    m.polls += 1;
                } else {
                    m.polls = 0;
                }
                m.record = Some(record.clone());
                m.answer = Some(RefundAnswer::Status(status));
                if inner.set_refund_notice(no, None) {
                    inner.emit_refund(no).await;
                }
            }
            None => {
                m.failures = 0;
                m.record = None;
                m.answer = Some(RefundAnswer::NotExist);
            }
        },
        Err(e) => {
            let answer = answer_of_query_error(&e);
            if answer == RefundAnswer::Unknown {
                m.failures += 1;
                if super::policy::warn_now(m.failures) {
                    inner
                        .log(
                            &refund.out_trade_no,
                            "refundquery.error",
                            &format!("refund {no}: {e} (failure {})", m.failures),
                        )
                        .await;
                }
                let notice = format!("正在重试 / retrying: {}", short(&e));
                if inner.set_refund_notice(no, Some(notice)) {
                    inner.emit_refund(no).await;
                }
            } else {
                m.failures = 0;
            }
            m.record = None;
            m.answer = Some(answer);
        }
    }
}

/// The evidence a recorded step carries: the facts of the answer behind it.
fn evidence(refund: &Refund, input: RefundInput, why: &str, m: &Memory) -> RefundEvidence {
    let no = &refund.out_refund_no;
    match (&m.answer, &m.record) {
        (Some(RefundAnswer::Status(status)), Some(r)) => RefundEvidence {
            source: Source::Query,
            detail: format!(
                "refundquery: refund_status={} refund_fee={}",
                status.as_str(),
                r.refund_fee.get()
            ),
            refund_id: r.refund_id.clone(),
            refund_fee: Some(r.refund_fee),
            success_at: (input == RefundInput::Succeeded)
                .then_some(r.success_time)
                .flatten(),
            recv_account: r.recv_account.clone(),
        },
        (Some(RefundAnswer::Accepted), _) => RefundEvidence {
            refund_id: m.refund_id.clone(),
            refund_fee: m.accepted_fee,
            ..RefundEvidence::new(
                Source::Refund,
                format!(
                    "refund {no} accepted, refund_id={}",
                    m.refund_id.as_deref().unwrap_or("")
                ),
            )
        },
        _ => RefundEvidence::new(
            Source::Refund,
            match &m.error {
                Some(e) => format!("{why}: {}", e.advice()),
                None => why.to_string(),
            },
        ),
    }
}

fn short(e: &WxError) -> String {
    e.to_string().chars().take(100).collect()
}
