//! The watcher of one order: carries out the steps [`super::policy::next_step`] decides (query, record, close,
//! re-check, alert, stop) and feeds their outcomes back. One task per watched order.
//!
//! Not here: any decision about what to do next or when (the policy), or how a status may change (the state
//! machine in [`crate::ledger::state`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::policy::{self, Alert, Answer, Facts, Step};
use super::{EngineEvent, Inner};
use crate::ledger::{Evidence, Input, Order, PaymentFacts};
use crate::wxpay::Payment;
use crate::wxpay::{QueryResult, RetryPolicy, TradeState, WxError};

/// What the watcher remembers between steps (the policy's facts that are not in the ledger).
#[derive(Default)]
struct Memory {
    answer: Option<Answer>,
    /// The verified answer behind `answer`, for the payment facts.
    result: Option<QueryResult>,
    answered_at: Option<chrono::DateTime<chrono::Utc>>,
    queries: u32,
    failures: u32,
    close_sent: bool,
    alerted: bool,
    mismatch_recorded: bool,
    countdown_noted: bool,
    /// The last trade_state written to the history (written again only when it changes).
    logged_state: Option<String>,
}

/// Watch `no` until the policy says stop. `startup`: found at start-up (unfinished, or given up recently);
/// nobody shows its QR any more.
pub(super) async fn watch(inner: Arc<Inner>, no: String, wake: Arc<Notify>, startup: bool) {
    let timing = inner.settings.timing;
    let mut m = Memory::default();
    loop {
        let order = match inner.load(&no).await {
            Ok(o) => o,
            Err(e) => {
                m.failures += 1;
                if policy::warn_now(m.failures) {
                    tracing::error!(out_trade_no = %no, error = %e, failures = m.failures, "watcher cannot read the order");
                }
                let wait = policy::backoff(timing.poll_interval, timing.max_backoff, m.failures);
                pause(&wake, wait.max(timing.poll_interval)).await;
                continue;
            }
        };
        let known = Facts {
            status: order.status,
            close_reason: order.close_reason,
            has_code_url: order.code_url.is_some(),
            now: inner.now(),
            created_at: order.created_at,
            expires_at: order.expires_at,
            answer: m.answer.clone(),
            answered_at: m.answered_at,
            queries: m.queries,
            failures: m.failures,
            startup,
            close_sent: m.close_sent,
            rechecks: order.rechecks,
            alerted: m.alerted,
            mismatch_recorded: m.mismatch_recorded,
            countdown_noted: m.countdown_noted,
        };
        let step = policy::next_step(&known, &timing);
        // A step that waits first is re-decided if the order changed meanwhile (a notification, a cancel).
        let after = match step {
            Step::Query { after }
            | Step::Recheck { after }
            | Step::Close { after }
            | Step::Record { after, .. } => after,
            _ => Duration::ZERO,
        };
        if !after.is_zero() {
            pause(&wake, after).await;
            match inner.load(&no).await {
                Ok(now) if now.status == order.status => {}
                _ => continue,
            }
        }
        match step {
            Step::Stop => return,
            Step::Query { .. } => {
                m.answer = Some(ask(&inner, &order, &mut m).await);
            }
            Step::Recheck { .. } => {
                let answer = ask(&inner, &order, &mut m).await;
                // Only an answer counts as a re-check; a look that got none is repeated (the policy).
                let detail = match (&answer, &m.result) {
                    (Answer::Query { .. }, Some(q)) => {
                        Some(format!("trade_state={}", q.trade_state.as_str()))
                    }
                    (Answer::NotExist, _) => Some("ORDERNOTEXIST".to_string()),
                    _ => None,
                };
                if let Some(detail) = detail {
                    let (n, at) = (no.clone(), inner.now());
                    if let Err(e) = inner.db(move |l| l.note_recheck(&n, &detail, at)).await {
                        tracing::error!(out_trade_no = %no, error = %e, "cannot count a re-check");
                    }
                }
                m.answer = Some(answer);
            }
            Step::Close { .. } => {
                inner.log(&no, "closeorder.request", "").await;
                m.answer = Some(match inner.client.close_order(&no).await {
                    Ok(()) => {
                        m.failures = 0;
                        m.close_sent = true;
                        inner
                            .log(&no, "closeorder", "closed; confirming by query")
                            .await;
                        Answer::Closed
                    }
                    Err(e) => {
                        inner.log(&no, "closeorder.error", &e.to_string()).await;
                        match e.err_code() {
                            // The next query records the payment.
                            Some("ORDERPAID") => {
                                m.failures = 0;
                                Answer::ClosePaid
                            }
                            Some("ORDERNOTEXIST") => {
                                m.failures += 1;
                                Answer::NotExist
                            }
                            _ => {
                                m.failures += 1;
                                Answer::CloseRefused
                            }
                        }
                    }
                });
            }
            Step::Record {
                input, source, why, ..
            } => {
                let evidence = match (input, m.result.as_ref().and_then(|q| q.payment.as_ref())) {
                    (Input::Paid, Some(p)) => Evidence::paid(
                        source,
                        facts(p),
                        format!("trade_state={}", TradeState::Success.as_str()),
                    ),
                    (Input::Paid, None) => {
                        // The policy records a payment only from an answer that carries one.
                        m.answer = None;
                        continue;
                    }
                    _ => Evidence::new(source, why),
                };
                match inner.apply(&no, input, evidence).await {
                    Ok(applied) => {
                        m.failures = 0;
                        if applied.ignored == Some("amount mismatch") {
                            m.mismatch_recorded = true;
                        }
                        m.answer = None;
                    }
                    Err(e) => {
                        m.failures += 1;
                        if policy::warn_now(m.failures) {
                            tracing::error!(out_trade_no = %no, error = %e, ?input, failures = m.failures, "cannot record a step");
                        }
                    }
                }
            }
            Step::NoteCountdownOver => {
                let detail = format!(
                    "countdown over; one more query and the close in {} s",
                    timing.expiry_margin.as_secs()
                );
                inner.log(&no, "expiry.margin", &detail).await;
                m.countdown_noted = true;
            }
            Step::Alert(Alert::NotExistWithCodeUrl) => {
                let message = format!(
                    "订单 {no} 查询返回“订单不存在”，但它已有二维码；PayDesk 继续查询并关闭它 / WeChat Pay says order \
                     {no} does not exist although it issued its QR code; PayDesk keeps checking and closes it"
                );
                tracing::warn!(out_trade_no = %no, "the gateway does not know an order it gave a code_url for");
                inner.log(&no, "alert", &message).await;
                inner.emit(EngineEvent::Error { message });
                m.alerted = true;
                m.answer = None;
            }
        }
    }
}

/// Sleep `d`, or less when the watcher is woken (a notification arrived, the cashier cancelled).
async fn pause(wake: &Notify, d: Duration) {
    if d.is_zero() {
        return;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = wake.notified() => {}
    }
}

/// One orderquery (a single attempt: polling is itself the retry), summarised for the policy.
async fn ask(inner: &Arc<Inner>, order: &Order, m: &mut Memory) -> Answer {
    let no = order.out_trade_no.as_str();
    m.queries += 1;
    let result = inner.client.order_query_with(no, RetryPolicy::NONE).await;
    let now = inner.now();
    let past_deadline = now
        >= order.expires_at
            + chrono::Duration::from_std(inner.settings.timing.expiry_margin)
                .unwrap_or(chrono::Duration::zero());
    match result {
        Ok(q) => {
            if inner.set_notice(no, None) {
                inner.emit_order(no).await;
            }
            m.failures = 0;
            m.answered_at = Some(now);
            let state = q.trade_state.as_str().to_string();
            // Written when it changes, and every answer past the expiry margin (the last look before closing).
            let open = order.status.can_expire();
            if m.logged_state.as_deref() != Some(state.as_str()) || (open && past_deadline) {
                let detail = format!(
                    "trade_state={} {}",
                    state,
                    q.trade_state_desc.as_deref().unwrap_or("")
                );
                inner.log(no, "orderquery", &detail).await;
                m.logged_state = Some(state);
            }
            let paid = matches!(q.trade_state, TradeState::Success | TradeState::Refund);
            let answer = match (&q.payment, paid) {
                (Some(p), true) => Answer::Query {
                    state: q.trade_state.clone(),
                    amount_ok: p.total_fee == order.total,
                },
                // A paid state without the payment's facts tells nothing that can be recorded.
                (None, true) => Answer::Unknown,
                _ => Answer::Query {
                    state: q.trade_state.clone(),
                    amount_ok: true,
                },
            };
            m.result = Some(q);
            answer
        }
        Err(e) if e.err_code() == Some("ORDERNOTEXIST") => {
            m.failures = 0;
            m.answered_at = Some(now);
            m.result = None;
            inner.log(no, "orderquery", "ORDERNOTEXIST").await;
            Answer::NotExist
        }
        Err(e) => {
            m.failures += 1;
            m.result = None;
            // Warnings are rate-limited: the first failure, then each time the count doubles.
            if policy::warn_now(m.failures) {
                inner
                    .log(
                        no,
                        "orderquery.error",
                        &format!("{e} (failure {})", m.failures),
                    )
                    .await;
            }
            let notice = format!("正在重试 / retrying: {}", short(&e));
            if inner.set_notice(no, Some(notice)) {
                inner.emit_order(no).await;
            }
            Answer::Unknown
        }
    }
}

/// The payment facts the ledger stores, from a verified answer.
pub(super) fn facts(p: &Payment) -> PaymentFacts {
    PaymentFacts {
        transaction_id: p.transaction_id.clone(),
        total_fee: p.total_fee,
        cash_fee: p.cash_fee,
        time_end: p.time_end,
        bank_type: p.bank_type.clone(),
        openid: p.openid.clone(),
    }
}

fn short(e: &WxError) -> String {
    let s = e.to_string();
    s.chars().take(80).collect()
}
