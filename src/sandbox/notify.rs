//! Payment notifications: after a successful payment, POST a signed notification to the order's
//! `notify_url` until the merchant acknowledges it, on the live retry schedule (reference §6).
//!
//! A delivery counts as acknowledged only when the answer is HTTP 200 and its body decodes to
//! `return_code=SUCCESS` within [`REPLY_TIMEOUT`]. The body carries the fields of reference §6.1 and is
//! sealed by the envelope with the algorithm of the order's unifiedorder (carrying `sign_type` when that was
//! HMAC-SHA256). Every attempt sends the same body (the same nonce), as a retry of one notification.

use std::sync::Arc;
use std::time::Duration;

use super::Inner;
use super::order::NotifyProgress;
use super::store::Store;
use crate::wxpay::envelope::is_success_reply;
use crate::wxpay::sign::{self, Params};
use crate::wxpay::xml;

/// The waits between attempts after the first: 15 s, 15 s, 30 s, 3 min, 10 min, 20 min, 30 min ×3, 60 min,
/// 3 h ×3, 6 h ×2 (about 24 h in all), multiplied by `notify_time_scale`.
pub const SCHEDULE: [Duration; 15] = [
    Duration::from_secs(15),
    Duration::from_secs(15),
    Duration::from_secs(30),
    Duration::from_secs(3 * 60),
    Duration::from_secs(10 * 60),
    Duration::from_secs(20 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(60 * 60),
    Duration::from_secs(3 * 3600),
    Duration::from_secs(3 * 3600),
    Duration::from_secs(3 * 3600),
    Duration::from_secs(6 * 3600),
    Duration::from_secs(6 * 3600),
];

/// The merchant must answer within this time (live: 5 s).
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// The first attempt plus one per schedule entry.
pub const fn max_slots() -> u32 {
    SCHEDULE.len() as u32 + 1
}

/// Start (or, after a restart, resume) the notification of a paid order.
pub(crate) fn spawn(inner: &Arc<Inner>, out_trade_no: String) {
    let task = tokio::spawn(run(Arc::clone(inner), out_trade_no));
    inner.track(task.abort_handle());
}

/// The signed notification body of a paid order, or `None` if it is not (or no longer) known.
pub(crate) fn body(inner: &Inner, out_trade_no: &str) -> Option<(String, String)> {
    let store = inner.store();
    let order = store.get(out_trade_no)?;
    let mut p = Params::new();
    p.insert("return_code".into(), "SUCCESS".into());
    p.insert("return_msg".into(), "OK".into());
    p.insert("appid".into(), inner.appid.clone());
    p.insert("mch_id".into(), inner.mch_id.clone());
    p.insert("nonce_str".into(), sign::nonce());
    p.insert("result_code".into(), "SUCCESS".into());
    order.payment_fields(&mut p);
    let body = xml::encode(&inner.sealer().seal(p, order.sign_type)).ok()?;
    Some((order.notify_url.clone(), body))
}

async fn run(inner: Arc<Inner>, out_trade_no: String) {
    let Some((url, body)) = body(&inner, &out_trade_no) else {
        return;
    };
    deliver(inner, Topic::Payment, out_trade_no, url, body).await;
}

/// What a notification is about: its progress is kept with the order or with the refund.
#[derive(Debug, Clone, Copy)]
pub(super) enum Topic {
    Payment,
    Refund,
}

impl Topic {
    fn name(self) -> &'static str {
        match self {
            Topic::Payment => "notification",
            Topic::Refund => "refund notification",
        }
    }
}

fn progress<'a>(store: &'a mut Store, topic: Topic, key: &str) -> Option<&'a mut NotifyProgress> {
    match topic {
        Topic::Payment => store.get_mut(key).map(|o| &mut o.notify),
        Topic::Refund => store.refunds.get_mut(key).map(|r| &mut r.notify),
    }
}

/// POST `body` to `url` on the live schedule, from where a previous run stopped, until acknowledged; the
/// `drop_notify`, `duplicate_notify` and `notify_delay` faults apply. Progress is saved after every slot.
pub(super) async fn deliver(
    inner: Arc<Inner>,
    topic: Topic,
    key: String,
    url: String,
    body: String,
) {
    let first = progress(&mut inner.store(), topic, &key).map_or(max_slots(), |n| n.slots);
    for slot in first..max_slots() {
        if slot > 0 {
            let wait = SCHEDULE[slot as usize - 1].mul_f64(inner.notify_time_scale);
            tokio::time::sleep(wait).await;
        }
        let delay = inner.faults().notify_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let dropped = inner.chance(|f| f.drop_notify);
        let copies = if !dropped && inner.chance(|f| f.duplicate_notify) {
            2
        } else {
            1
        };
        record(&inner, topic, &key, |n| {
            n.slots = slot + 1;
            if dropped {
                n.dropped += 1;
            } else {
                n.attempts += 1;
                n.posts += copies;
            }
        });
        if dropped {
            tracing::debug!(key, slot, "sandbox fault: {} dropped", topic.name());
            continue;
        }
        let acked = if copies == 2 {
            let (a, b) = tokio::join!(post(&inner, &url, &body), post(&inner, &url, &body));
            a || b
        } else {
            post(&inner, &url, &body).await
        };
        tracing::info!(key, slot, acked, "sandbox: {} sent", topic.name());
        if acked {
            record(&inner, topic, &key, |n| n.acked = true);
            return;
        }
    }
    tracing::warn!(
        key,
        "sandbox: {} schedule exhausted without acknowledgement",
        topic.name()
    );
}

fn record(inner: &Inner, topic: Topic, key: &str, change: impl FnOnce(&mut NotifyProgress)) {
    let mut store = inner.store();
    if let Some(n) = progress(&mut store, topic, key) {
        change(n);
        inner.save(&store);
    }
}

/// One POST; true when acknowledged.
pub(super) async fn post(inner: &Inner, url: &str, body: &str) -> bool {
    let resp = match inner
        .http
        .post(url)
        .header("Content-Type", "text/xml")
        .body(body.to_string())
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(%url, error = %e, "sandbox: notification not delivered");
            return false;
        }
    };
    if resp.status() != reqwest::StatusCode::OK {
        return false;
    }
    resp.bytes().await.is_ok_and(|b| is_success_reply(&b))
}
