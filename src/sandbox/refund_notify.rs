//! Refunds over time: an accepted refund settles after `Faults::refund_settle_after` with
//! `Faults::refund_outcome`, then its notification is POSTed — `req_info` encrypted with MD5(API key), no
//! `sign` (reference §7.3) — to the refund's `notify_url`, else the order's, on the live retry schedule
//! ([`super::NOTIFY_SCHEDULE`], scaled like payment notifications) until acknowledged.
//!
//! Delivery is the payment notifications' own ([`super::notify`]'s schedule and faults). Not here: the
//! refund rules (`refund.rs`).

use std::sync::Arc;

use super::Inner;
use super::notify::{Topic, deliver};
use crate::wxpay::refund::encrypt_req_info;
use crate::wxpay::sign::{self, Params};
use crate::wxpay::{RefundStatus, xml};

/// Settle `out_refund_no` once it has been PROCESSING for the configured time (in the background).
pub(crate) fn spawn_settle(inner: &Arc<Inner>, out_refund_no: String) {
    let task_inner = Arc::clone(inner);
    let task = tokio::spawn(async move {
        let wait = task_inner.faults().refund_settle_after;
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        settle(&task_inner, &out_refund_no);
    });
    inner.track(task.abort_handle());
}

/// Settle a PROCESSING refund now with the configured outcome and start its notification. Returns false
/// if it is unknown or final already.
pub(crate) fn settle(inner: &Arc<Inner>, out_refund_no: &str) -> bool {
    let status = inner.faults().refund_outcome.status();
    let now = inner.now();
    let mut store = inner.store();
    if !store.settle_refund(out_refund_no, status.clone(), now) {
        return false;
    }
    inner.save(&store);
    drop(store);
    tracing::info!(%out_refund_no, status = status.as_str(), "sandbox: refund settled");
    spawn_notify(inner, out_refund_no.to_string());
    true
}

/// Start (or, after a restart, resume) the notification of a settled refund.
pub(crate) fn spawn_notify(inner: &Arc<Inner>, out_refund_no: String) {
    let task = tokio::spawn(run(Arc::clone(inner), out_refund_no));
    inner.track(task.abort_handle());
}

/// The notification body of a settled refund and where it goes, or `None` if there is nothing to send.
pub(crate) fn body(inner: &Inner, out_refund_no: &str) -> Option<(String, String)> {
    let store = inner.store();
    let refund = store.refunds.get(out_refund_no)?;
    if refund.status == RefundStatus::Processing {
        return None;
    }
    let order = store.get(&refund.out_trade_no)?;
    let url = refund
        .notify_url
        .clone()
        .unwrap_or_else(|| order.notify_url.clone());
    let plain = refund.notification_fields(order.transaction_id.as_deref().unwrap_or_default());
    let req_info = encrypt_req_info(&plain, &inner.key)
        .inspect_err(|e| tracing::error!(error = %e, "sandbox: cannot encrypt req_info"))
        .ok()?;
    let mut p = Params::new();
    p.insert("return_code".into(), "SUCCESS".into());
    p.insert("appid".into(), inner.appid.clone());
    p.insert("mch_id".into(), inner.mch_id.clone());
    p.insert("nonce_str".into(), sign::nonce());
    p.insert("req_info".into(), req_info);
    Some((url, xml::encode(&p).ok()?))
}

async fn run(inner: Arc<Inner>, out_refund_no: String) {
    let Some((url, body)) = body(&inner, &out_refund_no) else {
        return;
    };
    deliver(inner, Topic::Refund, out_refund_no, url, body).await;
}
