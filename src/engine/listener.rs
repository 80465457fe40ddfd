//! The payment-notification listener: an HTTP endpoint WeChat (or the sandbox) posts payment results to.
//!
//! Each notification is verified (XML safety, signature over all fields, appid, mch_id), matched to a stored
//! order, and its amount checked, then applied through the ledger. The answer is SUCCESS only once the state
//! is durable; FAIL with a reason otherwise, so WeChat sends it again. Duplicates are normal and answered
//! SUCCESS without changing anything; forged or wrong-amount notifications never mark an order paid.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::Inner;
use crate::ledger::{Evidence, Input, Source};
use crate::wxpay::api::{NOTIFY_SUCCESS, notify_fail};
use crate::wxpay::{Notification, xml};

/// The path the listener serves (any path is accepted, so a proxy may rewrite it).
pub const PATH: &str = "/wxpay/notify";

pub(super) async fn serve(inner: Arc<Inner>, listener: tokio::net::TcpListener) {
    let app = axum::Router::new()
        .fallback(axum::routing::post(handle))
        .layer(axum::extract::DefaultBodyLimit::max(xml::MAX_BODY))
        .with_state(inner);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "notification listener stopped");
    }
}

async fn handle(
    axum::extract::State(inner): axum::extract::State<Arc<Inner>>,
    body: Bytes,
) -> impl IntoResponse {
    let reply = process(&inner, &body).await;
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        reply,
    )
}

/// Process one notification body; returns the exact reply body.
pub(super) async fn process(inner: &Arc<Inner>, body: &[u8]) -> String {
    let merchant = inner.client.merchant();
    let n = match Notification::parse(body, merchant) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "notification refused");
            // Keep a trace with the order it claims to be about, if that order is ours.
            if let Ok(fields) = xml::decode(body)
                && let Some(no) = fields.get("out_trade_no")
                && inner.load(no).await.is_ok()
            {
                inner.log(no, "notify.refused", &e.to_string()).await;
            }
            return notify_fail(&format!("refused: {e}"));
        }
    };
    let no = n.out_trade_no.clone();
    if inner.load(&no).await.is_err() {
        tracing::warn!(out_trade_no = %no, "notification for an unknown order");
        return notify_fail("unknown out_trade_no");
    }
    let evidence = Evidence::paid(
        Source::Notify,
        super::lifecycle::facts(&n.payment),
        format!(
            "transaction_id={} total_fee={}",
            n.payment.transaction_id,
            n.payment.total_fee.get()
        ),
    );
    match inner.apply(&no, Input::Paid, evidence).await {
        // Not paid after this (e.g. the amount does not match the order): recorded and flagged by the ledger.
        Ok(applied) if !applied.after.is_paid() => {
            notify_fail(applied.ignored.unwrap_or("refused"))
        }
        Ok(_) => {
            inner.poke(&no);
            NOTIFY_SUCCESS.to_string()
        }
        Err(e) => {
            tracing::error!(out_trade_no = %no, error = %e, "cannot store the notification; asking WeChat to resend");
            notify_fail("storage error, please retry")
        }
    }
}
