//! The optional snapshot file of the sandbox's orders (TOML, with a format version), so that a restarted
//! sandbox still knows orders made before the restart. Written atomically (`fsutil::write_atomically`)
//! after every change; read once at start.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::order::{NotifyProgress, Order};
use super::store::{Refusal, Store};
use crate::wxpay::{Params, SignType, TradeState};

const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Snapshot {
    version: u32,
    #[serde(default)]
    orders: Vec<StoredOrder>,
}

#[derive(Serialize, Deserialize)]
struct StoredOrder {
    out_trade_no: String,
    sign_type: SignType,
    code_url: String,
    prepay_id: String,
    /// Unix milliseconds.
    created_at: i64,
    time_expire: i64,
    state: String,
    transaction_id: Option<String>,
    time_end: Option<i64>,
    openid: Option<String>,
    notify_slots: u32,
    notify_attempts: u32,
    notify_posts: u32,
    notify_dropped: u32,
    notify_acked: bool,
    /// The business fields of the first unifiedorder, from which the rest is derived.
    request: Params,
}

pub fn save(path: &Path, store: &Store) -> std::io::Result<()> {
    let snapshot = Snapshot {
        version: VERSION,
        orders: store.all().into_iter().map(stored).collect(),
    };
    let text = toml::to_string(&snapshot).map_err(std::io::Error::other)?;
    crate::fsutil::write_atomically(path, |tmp| std::fs::write(tmp, text))
}

/// Load the file into `store`; a missing file is an empty sandbox.
pub fn load(path: &Path, store: &mut Store) -> std::io::Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let bad = |msg: String| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {msg}", path.display()),
        )
    };
    let snapshot: Snapshot = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if snapshot.version != VERSION {
        return Err(bad(format!(
            "state file version {} is not supported (expected {VERSION})",
            snapshot.version
        )));
    }
    for s in snapshot.orders {
        let time = |ms: i64| {
            DateTime::<Utc>::from_timestamp_millis(ms)
                .ok_or_else(|| bad(format!("bad time {ms} in order {}", s.out_trade_no)))
        };
        let created_at = time(s.created_at)?;
        let mut order = Order::from_request(s.request.clone(), s.sign_type, created_at).map_err(
            |r| match r {
                Refusal::Protocol(m) | Refusal::Business { des: m, .. } => {
                    bad(format!("order {}: {m}", s.out_trade_no))
                }
            },
        )?;
        order.code_url = s.code_url;
        order.prepay_id = s.prepay_id;
        order.time_expire = time(s.time_expire)?;
        order.state = TradeState::parse(&s.state);
        order.transaction_id = s.transaction_id;
        order.time_end = s.time_end.map(time).transpose()?;
        order.openid = s.openid;
        order.notify = NotifyProgress {
            slots: s.notify_slots,
            attempts: s.notify_attempts,
            posts: s.notify_posts,
            dropped: s.notify_dropped,
            acked: s.notify_acked,
        };
        store.insert(order);
    }
    Ok(())
}

fn stored(o: &Order) -> StoredOrder {
    StoredOrder {
        out_trade_no: o.out_trade_no.clone(),
        sign_type: o.sign_type,
        code_url: o.code_url.clone(),
        prepay_id: o.prepay_id.clone(),
        created_at: o.created_at.timestamp_millis(),
        time_expire: o.time_expire.timestamp_millis(),
        state: o.state.as_str().to_string(),
        transaction_id: o.transaction_id.clone(),
        time_end: o.time_end.map(|t| t.timestamp_millis()),
        openid: o.openid.clone(),
        notify_slots: o.notify.slots,
        notify_attempts: o.notify.attempts,
        notify_posts: o.notify.posts,
        notify_dropped: o.notify.dropped,
        notify_acked: o.notify.acked,
        request: o.request.clone(),
    }
}
