//! Refunding a paid order: the checks before anything is stored, storing the refund (its number fixed before
//! the request leaves), the refund notifications the listener hands over, and the refund views.
//!
//! Sending, retrying and querying are the refund watcher's job (`refund_watch`), which [`Engine::refund`]
//! starts and waits for until the first answer is applied. Not here: the refund rules (the ledger's
//! [`crate::ledger::refund_state`]), the manager PIN (checked by the caller, [`crate::app`]).

use std::sync::Arc;

use super::types::{OrderRefunds, RefundView};
use super::{Engine, EngineError, EngineEvent, Inner};
use crate::ledger::{
    LedgerError, NewRefund, Refund, RefundEvidence, RefundInput, RefundRefusal, RefundSource,
    RefundState, Source,
};
use crate::money::Fen;
use crate::wxpay::api::{REFUND_NOTIFY_SUCCESS, notify_fail, parse_refund_notification};
use crate::wxpay::{RefundNotification, RefundStatus};

/// How many numbers are tried when two refunds of one order are stored at the same moment.
const NUMBER_TRIES: usize = 5;

impl Engine {
    /// Refund `amount` of a paid order (`None`: all that is left), for `reason`, approved by `approved_by`
    /// (named on every event of the refund). The refund is stored first, under a fresh `out_refund_no`
    /// (`{out_trade_no}R{n}`), then sent; the first answer is applied before this returns, and a watcher
    /// queries it until it is final (events: [`EngineEvent::Refund`]).
    ///
    /// Refused before anything is stored or sent: no merchant certificate ([`EngineError::NoCertificate`]),
    /// an unknown order, an order that is not paid, an amount above what is left (the message says how much
    /// can be refunded), nothing left ([`EngineError::NothingToRefund`]).
    pub async fn refund(
        &self,
        out_trade_no: &str,
        amount: Option<Fen>,
        reason: &str,
        approved_by: &str,
    ) -> Result<RefundView, EngineError> {
        let inner = &self.inner;
        if inner.client.config().identity.is_none() {
            return Err(EngineError::NoCertificate);
        }
        // Like a charge: not before the ledger's start-up check has passed (waits for it while it runs).
        self.ledger_checked(super::charge::CHECK_WAIT).await;
        inner.ledger.refuse_if_unchecked()?;
        let order = inner.load(out_trade_no).await?;
        let left = order.refundable();
        let amount = match amount {
            Some(a) => a,
            None if left > Fen::ZERO => left,
            None if crate::ledger::refund_state::order_can_be_refunded(order.status) => {
                return Err(EngineError::NothingToRefund(out_trade_no.to_string()));
            }
            None => {
                return Err(EngineError::RefundRefused(RefundRefusal::NotRefundable {
                    out_trade_no: out_trade_no.to_string(),
                    status: order.status,
                }));
            }
        };
        let reason = reason.trim().to_string();
        let mut new = NewRefund {
            out_refund_no: String::new(),
            out_trade_no: out_trade_no.to_string(),
            amount,
            reason,
            approved_by: approved_by.trim().to_string(),
            source: RefundSource::Till,
            created_at: inner.now(),
        };
        // Stored before the request leaves: every retry sends this number and this amount.
        let otn = out_trade_no.to_string();
        let mut n = inner.db(move |l| l.refunds_of(&otn)).await?.len() + 1;
        let mut tries = 0;
        let stored = loop {
            new.out_refund_no = format!("{out_trade_no}R{n}");
            let r = new.clone();
            match inner.db(move |l| l.create_refund(&r)).await {
                // The ledger keeps milliseconds.
                Ok(stored)
                    if stored.created_at.timestamp_millis()
                        == new.created_at.timestamp_millis() =>
                {
                    break stored;
                }
                // The number was taken meanwhile (by an identical refund, or another one): the next.
                Ok(_)
                | Err(EngineError::Ledger(LedgerError::RefundRefused(RefundRefusal::Conflict {
                    ..
                }))) if tries < NUMBER_TRIES => {
                    tries += 1;
                    n += 1;
                }
                Err(EngineError::Ledger(LedgerError::RefundRefused(r))) => {
                    return Err(EngineError::RefundRefused(r));
                }
                Ok(_) => {
                    return Err(EngineError::RefundRefused(RefundRefusal::Conflict {
                        out_refund_no: new.out_refund_no.clone(),
                    }));
                }
                Err(e) => return Err(e),
            }
        };
        let no = stored.out_refund_no.clone();
        tracing::info!(out_trade_no, out_refund_no = %no, amount = %amount, approved_by, "refund stored");
        inner.emit_refund(&no).await;
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        inner
            .clone()
            .watch_refund(no.clone(), false, Some(ready_tx));
        // The watcher says when the first answer is applied (or it waits for a retry); a watcher that ended
        // early drops the sender, which ends the wait too.
        let _ = ready_rx.await;
        inner.refund_view(&no).await
    }

    /// One refund as shown.
    pub async fn refund_status(&self, out_refund_no: &str) -> Result<RefundView, EngineError> {
        self.inner.refund_view(out_refund_no).await
    }

    /// An order's refunds and what is left to refund.
    pub async fn refunds_of(&self, out_trade_no: &str) -> Result<OrderRefunds, EngineError> {
        let inner = &self.inner;
        let order = inner.load(out_trade_no).await?;
        let otn = out_trade_no.to_string();
        let refunds = inner.db(move |l| l.refunds_of(&otn)).await?;
        let notices = inner.refund_notices.lock().expect("notices lock").clone();
        Ok(OrderRefunds {
            out_trade_no: order.out_trade_no.clone(),
            status: order.status,
            total: order.total,
            refunded: order.refunded,
            pending: order.refund_pending,
            refundable: order.refundable(),
            refunds: refunds
                .iter()
                .map(|r| refund_view_of(r, notices.get(&r.out_refund_no).cloned()))
                .collect(),
        })
    }

    /// How many refunds are being watched right now.
    pub fn watching_refunds(&self) -> usize {
        self.inner
            .refund_watchers
            .lock()
            .expect("watchers lock")
            .len()
    }
}

impl Inner {
    pub(super) async fn load_refund(&self, no: &str) -> Result<Refund, EngineError> {
        let n = no.to_string();
        self.db(move |l| l.refund(&n))
            .await?
            .ok_or_else(|| EngineError::UnknownRefund(no.to_string()))
    }

    pub(super) async fn refund_view(&self, no: &str) -> Result<RefundView, EngineError> {
        let r = self.load_refund(no).await?;
        let notice = self
            .refund_notices
            .lock()
            .expect("notices lock")
            .get(no)
            .cloned();
        Ok(refund_view_of(&r, notice))
    }

    /// Report a refund's current view (and its order's, whose refunded total may have changed).
    pub(super) async fn emit_refund(&self, no: &str) {
        match self.refund_view(no).await {
            Ok(v) => {
                let otn = v.out_trade_no.clone();
                self.emit(EngineEvent::Refund(v));
                self.emit_order(&otn).await;
            }
            Err(e) => self.emit(EngineEvent::Error {
                message: e.to_string(),
            }),
        }
    }

    /// Set or clear a refund's notice; whether it changed.
    pub(super) fn set_refund_notice(&self, no: &str, notice: Option<String>) -> bool {
        let mut notices = self.refund_notices.lock().expect("notices lock");
        match notice {
            Some(n) => notices.insert(no.to_string(), n.clone()).as_ref() != Some(&n),
            None => notices.remove(no).is_some(),
        }
    }

    /// Wake a refund's watcher now (a refund notification arrived).
    pub(super) fn poke_refund(&self, no: &str) {
        if let Some(n) = self.refund_watchers.lock().expect("watchers lock").get(no) {
            n.notify_one();
        }
    }

    /// Start watching a refund unless it is already watched. `ready` is told once the first answer is
    /// applied (or the watcher waits for a retry, or stops).
    pub(super) fn watch_refund(
        self: Arc<Self>,
        no: String,
        startup: bool,
        ready: Option<tokio::sync::oneshot::Sender<()>>,
    ) {
        let wake = {
            let mut w = self.refund_watchers.lock().expect("watchers lock");
            if w.contains_key(&no) {
                return;
            }
            let n = Arc::new(tokio::sync::Notify::new());
            w.insert(no.clone(), n.clone());
            n
        };
        let me = self.clone();
        let handle = tokio::spawn(async move {
            super::refund_watch::watch(me.clone(), no.clone(), wake, startup, ready).await;
            me.refund_watchers
                .lock()
                .expect("watchers lock")
                .remove(&no);
        });
        self.track(handle);
    }
}

/// Process one refund notification body (it carries `req_info`); returns the exact reply body.
///
/// Checked: appid and mch_id (by the parser, which decrypts `req_info` with the key), then the refund is
/// ours, of the order it names, for the order's total and the stored amount. Applied through the refund
/// state machine; SUCCESS once durable. Duplicates are normal: answered SUCCESS without changing anything.
pub(super) async fn process_notification(inner: &Arc<Inner>, body: &[u8]) -> String {
    let n = match parse_refund_notification(body, inner.client.merchant()) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "refund notification refused");
            return notify_fail(&format!("refused: {e}"));
        }
    };
    let no = n.out_refund_no.clone();
    let stored = match inner.load_refund(&no).await {
        Ok(r) => r,
        Err(EngineError::UnknownRefund(_)) => return unknown_refund(inner, &n).await,
        Err(e) => {
            tracing::error!(out_refund_no = %no, error = %e, "cannot read the refund; asking WeChat to resend");
            return notify_fail("storage error, please retry");
        }
    };
    if stored.out_trade_no != n.out_trade_no {
        tracing::warn!(out_refund_no = %no, "refund notification names another order");
        inner
            .log(
                &stored.out_trade_no,
                "refund_notify.refused",
                &format!(
                    "refund {no}: the notification names order {}, not this one",
                    n.out_trade_no
                ),
            )
            .await;
        return notify_fail("out_trade_no does not match the refund");
    }
    let order = match inner.load(&stored.out_trade_no).await {
        Ok(o) => o,
        Err(_) => return notify_fail("storage error, please retry"),
    };
    if n.total_fee != order.total {
        inner
            .log(
                &order.out_trade_no,
                "refund_notify.refused",
                &format!(
                    "refund {no}: total_fee={} but the order is {}",
                    n.total_fee.get(),
                    order.total
                ),
            )
            .await;
        return notify_fail("total_fee does not match the order");
    }
    let Some(input) = super::refund_policy::input_of(&n.status) else {
        // An unknown refund_status tells nothing to record; the watcher keeps asking.
        inner.poke_refund(&no);
        return REFUND_NOTIFY_SUCCESS.to_string();
    };
    let evidence = notification_evidence(&n);
    match inner.apply_refund(&no, input, evidence).await {
        // The amount does not match the stored refund: recorded and flagged by the ledger, never applied.
        Ok(applied) if applied.ignored == Some("amount mismatch") => {
            notify_fail("refund_fee does not match the refund")
        }
        Ok(_) => {
            inner.poke_refund(&no);
            REFUND_NOTIFY_SUCCESS.to_string()
        }
        Err(e) => {
            tracing::error!(out_refund_no = %no, error = %e, "cannot store the refund notification; asking WeChat to resend");
            notify_fail("storage error, please retry")
        }
    }
}

/// A refund notification for a refund this till did not make (e.g. made on the merchant platform): recorded
/// in the ledger as a merchant-platform refund (so the order's refunded total and the day's net are right),
/// told to the manager, and acknowledged. One the ledger cannot take (more than the order has left) is told
/// to the manager and acknowledged too: WeChat's word on money already refunded does not change by resending.
async fn unknown_refund(inner: &Arc<Inner>, n: &RefundNotification) -> String {
    if inner.load(&n.out_trade_no).await.is_err() {
        tracing::warn!(out_trade_no = %n.out_trade_no, "refund notification for an unknown order");
        return notify_fail("unknown out_trade_no");
    }
    let (note, at) = (n.clone(), inner.now());
    let recorded = inner.db(move |l| record_elsewhere(l, &note, at)).await;
    let recorded = match recorded {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(out_refund_no = %n.out_refund_no, error = %e, "cannot store a refund made elsewhere; asking WeChat to resend");
            return notify_fail("storage error, please retry");
        }
    };
    let message = format!(
        "订单 {otn} 有一笔非本收银台发起的退款 {no}（{fee}，{status}）/ Order {otn} has a refund made elsewhere \
         (e.g. the merchant platform): {no}, {fee}, {status}; {recorded}",
        otn = n.out_trade_no,
        no = n.out_refund_no,
        fee = n.refund_fee,
        status = n.status.as_str()
    );
    tracing::warn!(out_trade_no = %n.out_trade_no, out_refund_no = %n.out_refund_no, "refund made elsewhere");
    inner
        .log(&n.out_trade_no, "refund_notify.elsewhere", &message)
        .await;
    inner.emit(EngineEvent::Error { message });
    REFUND_NOTIFY_SUCCESS.to_string()
}

/// What a verified refund notification proves, for the ledger.
fn notification_evidence(n: &RefundNotification) -> RefundEvidence {
    RefundEvidence {
        source: Source::Notify,
        detail: format!(
            "refund notification: refund_status={} refund_fee={} refund_id={}",
            n.status.as_str(),
            n.refund_fee.get(),
            n.refund_id
        ),
        refund_id: Some(n.refund_id.clone()),
        refund_fee: Some(n.refund_fee),
        success_at: (n.status == RefundStatus::Success)
            .then_some(n.success_time)
            .flatten(),
        recv_account: n.recv_account.clone(),
    }
}

/// Who approved a refund made outside PayDesk, as the ledger names it.
const ELSEWHERE_APPROVER: &str = "WeChat Pay merchant platform (outside PayDesk)";

/// Store a refund PayDesk learns of by its notification only, with its status; says what was done.
fn record_elsewhere(
    l: &crate::ledger::Ledger,
    n: &RefundNotification,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<String, crate::ledger::LedgerError> {
    let created = l.create_refund(&NewRefund {
        out_refund_no: n.out_refund_no.clone(),
        out_trade_no: n.out_trade_no.clone(),
        amount: n.refund_fee,
        reason: "made outside PayDesk; learned from WeChat Pay's refund notification".into(),
        approved_by: ELSEWHERE_APPROVER.into(),
        source: RefundSource::MerchantPlatform,
        created_at: at,
    });
    match created {
        Err(crate::ledger::LedgerError::RefundRefused(why)) => {
            return Ok(format!("not recorded in the ledger: {why}"));
        }
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    let evidence = notification_evidence(n);
    l.apply_refund(&n.out_refund_no, RefundInput::Accepted, &evidence, at)?;
    let mut state = RefundState::Processing;
    if let Some(input) =
        super::refund_policy::input_of(&n.status).filter(|i| *i != RefundInput::Processing)
    {
        state = l
            .apply_refund(&n.out_refund_no, input, &evidence, at)?
            .after;
    }
    Ok(format!("recorded in the ledger ({state})"))
}

impl Inner {
    /// Apply a refund input through the ledger's refund state machine (durably) and report what changed.
    pub(super) async fn apply_refund(
        &self,
        no: &str,
        input: crate::ledger::RefundInput,
        evidence: RefundEvidence,
    ) -> Result<crate::ledger::RefundApplied, EngineError> {
        let (n, at) = (no.to_string(), self.now());
        let applied = self
            .db(move |l| l.apply_refund(&n, input, &evidence, at))
            .await?;
        if applied.changed {
            tracing::info!(out_refund_no = %no, from = %applied.before, to = %applied.after, ?input, "refund status changed");
        }
        if let Some(alert) = &applied.alert {
            tracing::warn!(out_refund_no = %no, alert = %alert, "refund needs attention");
            self.emit(EngineEvent::Error {
                message: alert.clone(),
            });
        }
        if applied.changed || applied.alert.is_some() {
            self.emit_refund(no).await;
        }
        Ok(applied)
    }
}

fn refund_view_of(r: &Refund, notice: Option<String>) -> RefundView {
    RefundView {
        out_refund_no: r.out_refund_no.clone(),
        out_trade_no: r.out_trade_no.clone(),
        amount: r.amount,
        reason: r.reason.clone(),
        approved_by: r.approved_by.clone(),
        status: r.status,
        refund_id: r.refund_id.clone(),
        created_at: r.created_at,
        success_at: r.success_at,
        recv_account: r.recv_account.clone(),
        flagged: r.flagged,
        notice,
    }
}
