//! The watcher of one order: poll, expire, close, confirm. One task per unfinished order.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::Inner;
use crate::ledger::{CloseReason, Evidence, Input, OrderStatus, PaymentFacts, Source};
use crate::wxpay::Payment;
use crate::wxpay::{QueryResult, RetryPolicy, TradeState, WxError};

/// Watch `no` until it is final. `abandoned`: found unfinished at start-up; nobody shows its QR any more, so
/// after the first query it is closed unless paid.
pub(super) async fn watch(inner: Arc<Inner>, no: String, wake: Arc<Notify>, mut abandoned: bool) {
    let timing = inner.settings.timing;
    let mut failures: u32 = 0;
    let mut first = true;
    let mut last_state: Option<String> = None;
    loop {
        let order = match inner.load(&no).await {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(out_trade_no = %no, error = %e, "watcher cannot read the order");
                failures += 1;
                tokio::time::sleep(backoff(timing.poll_interval, timing.max_backoff, failures))
                    .await;
                continue;
            }
        };
        if order.status.is_final() {
            return;
        }
        let now = inner.now();
        if order.status.can_expire() && now >= order.expires_at {
            let ev = Evidence::new(Source::Cashier, "payment window over");
            if let Err(e) = inner
                .apply(&no, Input::CloseRequested(CloseReason::Expire), ev)
                .await
            {
                tracing::error!(out_trade_no = %no, error = %e, "cannot record expiry");
            }
            continue;
        }

        // Wait for the next query: sooner if woken (notification, cancel, simulated payment).
        let delay = if abandoned {
            Duration::ZERO
        } else if first {
            timing.first_query_after
        } else if failures > 0 {
            backoff(timing.poll_interval, timing.max_backoff, failures)
        } else {
            timing.poll_interval
        };
        first = false;
        let until_expiry = (order.expires_at - now).to_std().unwrap_or(Duration::ZERO);
        let wait = if order.status.can_expire() {
            delay.min(until_expiry)
        } else {
            delay
        };
        if !wait.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = wake.notified() => {}
            }
        }
        let order = match inner.load(&no).await {
            Ok(o) if o.status.is_final() => return,
            Ok(o) => o,
            Err(_) => continue,
        };

        // Ask the gateway. Polling is itself the retry, so each query is a single attempt.
        let result = inner.client.order_query_with(&no, RetryPolicy::NONE).await;
        match &result {
            Ok(q) => {
                if inner.set_notice(&no, None) {
                    inner.emit_order(&no).await;
                }
                failures = 0;
                if last_state.as_deref() != Some(q.trade_state.as_str()) {
                    inner
                        .log(
                            &no,
                            "orderquery",
                            &format!(
                                "trade_state={} {}",
                                q.trade_state.as_str(),
                                q.trade_state_desc.as_deref().unwrap_or("")
                            ),
                        )
                        .await;
                    last_state = Some(q.trade_state.as_str().to_string());
                }
                on_query(&inner, &no, order.status, q).await;
            }
            Err(e) if e.err_code() == Some("ORDERNOTEXIST") => {
                failures = 0;
                inner.log(&no, "orderquery", "ORDERNOTEXIST").await;
                let input = match order.status {
                    // Its unifiedorder never created it.
                    OrderStatus::Creating => Input::CreateFailed,
                    // Nothing payable exists under this number: as good as closed.
                    OrderStatus::Closing => Input::Closed,
                    _ => {
                        tracing::warn!(out_trade_no = %no, "the gateway does not know an order it gave a code_url for");
                        Input::Closed
                    }
                };
                let _ = inner
                    .apply(&no, input, Evidence::new(Source::Query, "ORDERNOTEXIST"))
                    .await;
                continue;
            }
            Err(e) => {
                failures += 1;
                if failures == 1 {
                    inner.log(&no, "orderquery.error", &e.to_string()).await;
                }
                let notice = format!("正在重试 / retrying: {}", short(e));
                if inner.set_notice(&no, Some(notice)) {
                    inner.emit_order(&no).await;
                }
                continue;
            }
        }

        // After the query: abandoned orders and orders being closed get closed.
        let order = match inner.load(&no).await {
            Ok(o) if o.status.is_final() => return,
            Ok(o) => o,
            Err(_) => continue,
        };
        if abandoned {
            abandoned = false;
            let ev = Evidence::new(
                Source::Startup,
                "PayDesk restarted while this order was open; its QR is no longer shown",
            );
            let _ = inner
                .apply(&no, Input::CloseRequested(CloseReason::Cancel), ev)
                .await;
            continue;
        }
        if order.status == OrderStatus::Creating {
            // Created at the gateway (the query found it) but its answer never reached us: nobody has its QR.
            let ev = Evidence::new(
                Source::Query,
                "order exists at the gateway but its QR was never shown",
            );
            let _ = inner
                .apply(&no, Input::CloseRequested(CloseReason::Cancel), ev)
                .await;
            continue;
        }
        if order.status == OrderStatus::Closing {
            let age = (inner.now() - order.created_at)
                .to_std()
                .unwrap_or(Duration::ZERO);
            if age < timing.close_min_age {
                // WeChat refuses closeorder within 5 minutes of creation: keep polling until then.
                continue;
            }
            inner.log(&no, "closeorder.request", "").await;
            match inner.client.close_order(&no).await {
                Ok(()) => {
                    inner
                        .log(&no, "closeorder", "closed; confirming by query")
                        .await;
                    // Confirm: the customer may have paid in the last seconds.
                    if let Ok(q) = inner.client.order_query_with(&no, RetryPolicy::NONE).await {
                        on_query(&inner, &no, OrderStatus::Closing, &q).await;
                    }
                    first = true;
                }
                Err(e) => {
                    inner.log(&no, "closeorder.error", &e.to_string()).await;
                    // ORDERPAID: the next query records the payment. Others: retried on the next round.
                    if e.err_code() != Some("ORDERPAID") {
                        failures += 1;
                    }
                }
            }
        }
    }
}

/// Turn a verified query answer into a state-machine input.
async fn on_query(inner: &Arc<Inner>, no: &str, status: OrderStatus, q: &QueryResult) {
    let detail = format!("trade_state={}", q.trade_state.as_str());
    let (input, evidence) = match &q.trade_state {
        TradeState::Success | TradeState::Refund => match &q.payment {
            Some(p) => (Input::Paid, Evidence::paid(Source::Query, facts(p), detail)),
            None => return,
        },
        TradeState::NotPay => return,
        TradeState::UserPaying | TradeState::Accept | TradeState::Unknown(_) => {
            if status == OrderStatus::Closing {
                return;
            }
            (Input::UserPaying, Evidence::new(Source::Query, detail))
        }
        TradeState::PayError => (Input::PayError, Evidence::new(Source::Query, detail)),
        TradeState::Closed | TradeState::Revoked => {
            (Input::Closed, Evidence::new(Source::Query, detail))
        }
    };
    if let Err(e) = inner.apply(no, input, evidence).await {
        tracing::error!(out_trade_no = %no, error = %e, "cannot record the query result");
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

fn backoff(base: Duration, max: Duration, failures: u32) -> Duration {
    base.saturating_mul(1u32 << failures.min(10)).min(max)
}

fn short(e: &WxError) -> String {
    let s = e.to_string();
    s.chars().take(80).collect()
}
