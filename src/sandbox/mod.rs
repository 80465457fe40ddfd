//! The sandbox: the **gateway side** of the WeChat Pay v2 Native protocol, on loopback, with a simulated
//! customer. It is what PayDesk talks to when no merchant account is configured, and what the integration
//! tests and benchmarks run against; code that works against it should work live.
//!
//! What it does:
//! * serves `/pay/unifiedorder`, `/pay/orderquery` and `/pay/closeorder` exactly as the reference describes
//!   (POST only, XML both ways, request signature checked with `sign_type`, answers signed with the same
//!   algorithm, the documented `return_code`/`result_code`/`err_code` for every failure) — see
//!   `gateway.rs` for the order of checks;
//! * keeps one merchant's orders ([`order`], [`store`]): NOTPAY → USERPAYING → SUCCESS or PAYERROR, or →
//!   CLOSED;
//! * plays the customer ([`Sandbox::customer`], `POST /sandbox/customer`, the web page at `/`, and
//!   [`remote_customer`] for a sandbox in another process);
//! * POSTs signed payment notifications on the live retry schedule ([`NOTIFY_SCHEDULE`]);
//! * refunds ([`refund`]): `/secapi/pay/refund` and `/pay/refundquery` with the live rules, refunds that
//!   settle PROCESSING → SUCCESS / CHANGE / REFUNDCLOSE and their encrypted notifications;
//! * the trade bill ([`bill`]): `/pay/downloadbill` serves its payments and refunds of a finished Beijing day
//!   in the live text format (gzip on request); today's only with [`SandboxConfig::bills_today`];
//! * optionally an HTTPS port with its own PKI ([`tls`], [`TlsSettings`]) where `/secapi/*` needs the
//!   merchant's client certificate, as live; the plain port refuses `/secapi/*` always;
//! * injects faults on demand ([`Faults`]), including really closing its port.
//!
//! Every message it reads or writes goes through the same v2 envelope as PayDesk's client and notification
//! listener ([`crate::wxpay::envelope`]); only the signer may differ ([`SandboxConfig::signer`]), so that
//! tests can run it with an independent one. It depends on `wxpay` and the leaf modules only.
//!
//! What it is not: a merchant (it keeps no ledger and knows nothing of the engine), a model of WeChat's risk
//! checks or coupons (an endpoint is one `gateway::Api` variant and one handler).
//!
//! Decisions where the live behaviour is not documented (reference §15) are stated where they are made:
//! the default payment window ([`order::DEFAULT_WINDOW`]), what orderquery says after expiry
//! ([`order::Order::effective_state`]), the closeorder 5-minute refusal ([`store::Store::close_order`]).

mod bill;
mod config;
mod customer;
mod gateway;
mod listener;
mod notify;
pub mod order;
mod page;
mod persist;
pub mod refund;
mod refund_notify;
pub mod store;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinHandle};

use crate::clock::SharedClock;
use crate::money::Fen;
use crate::wxpay::{ApiKey, Merchant, Sealer, SignType, Signer, TradeState};

pub use config::{Faults, RefundOutcome, SandboxConfig, TlsSettings};
pub use customer::{CustomerAction, SandboxError, remote_customer};
pub use notify::SCHEDULE as NOTIFY_SCHEDULE;
pub use page::{TLS_CERTS_HEADER, TLS_URL_HEADER};
pub use refund::RefundEntry as SandboxRefund;

/// An order as the gateway sees it, at the time of the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxOrder {
    pub out_trade_no: String,
    pub body: String,
    pub total_fee: Fen,
    /// What orderquery would answer now.
    pub trade_state: TradeState,
    /// Past `time_expire`: can no longer be paid.
    pub expired: bool,
    pub transaction_id: Option<String>,
    pub code_url: String,
    pub prepay_id: String,
    pub notify_url: String,
    /// The algorithm of the unifiedorder, used for the notification.
    pub sign_type: SignType,
    pub time_expire: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub time_end: Option<DateTime<Utc>>,
    pub openid: Option<String>,
    /// Schedule slots in which the notification was POSTed (dropped ones not counted).
    pub notify_attempts: u32,
    /// HTTP POSTs of the notification (duplicates counted).
    pub notify_posts: u32,
    /// Schedule slots dropped by the `drop_notify` fault.
    pub notify_dropped: u32,
    pub notify_acked: bool,
}

/// Faults plus the RNG that draws them.
struct FaultState {
    faults: Faults,
    rng: StdRng,
}

/// Everything the handlers and tasks share.
pub(crate) struct Inner {
    appid: String,
    mch_id: String,
    key: ApiKey,
    signer: Arc<dyn Signer>,
    clock: SharedClock,
    close_min_age: chrono::Duration,
    refund_min_interval: chrono::Duration,
    notify_time_scale: f64,
    /// Serve today's bill too (see [`SandboxConfig::bills_today`]).
    bills_today: bool,
    persist: Option<PathBuf>,
    faults: Mutex<FaultState>,
    store: Mutex<store::Store>,
    tasks: Mutex<Vec<AbortHandle>>,
    http: reqwest::Client,
    /// The HTTPS port's base URL and certificate directory, once it serves one (announced on the page).
    tls_info: std::sync::OnceLock<(String, PathBuf)>,
}

impl Inner {
    /// The gateway's time: its clock, shifted by the `clock_offset_secs` fault.
    fn now(&self) -> DateTime<Utc> {
        let offset = self
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .faults
            .clock_offset_secs;
        self.clock.now() + chrono::Duration::seconds(offset)
    }

    /// Seals answers and notifications and opens requests, with the configured signer.
    fn sealer(&self) -> Sealer<'_> {
        Sealer::new(&*self.signer, &self.key)
    }

    fn store(&self) -> MutexGuard<'_, store::Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn faults(&self) -> Faults {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .faults
            .clone()
    }

    /// Draw one fault: `pick` chooses the probability.
    fn chance(&self, pick: impl Fn(&Faults) -> f64) -> bool {
        let mut st = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        let p = pick(&st.faults);
        if p <= 0.0 {
            false
        } else if p >= 1.0 {
            true
        } else {
            st.rng.random::<f64>() < p
        }
    }

    /// The `pay_after_close` fault: `late_payment_after` from now, the closed order `out_trade_no` is paid
    /// after all, and its notification starts.
    fn pay_later(self: &Arc<Self>, out_trade_no: String) {
        let delay = self.faults().late_payment_after;
        let me = Arc::clone(self);
        let handle = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let now = me.now();
            let mut store = me.store();
            if store.pay_after_close(&out_trade_no, now) {
                me.save(&store);
                drop(store);
                tracing::info!(%out_trade_no, "sandbox fault: a payment lands after the close");
                notify::spawn(&me, out_trade_no);
            }
        });
        self.track(handle.abort_handle());
    }

    /// Write the snapshot file, if configured. Called with the store locked, after every change.
    fn save(&self, store: &store::Store) {
        if let Some(path) = &self.persist
            && let Err(e) = persist::save(path, store)
        {
            tracing::error!(path = %path.display(), error = %e, "sandbox: cannot write the state file");
        }
    }

    fn track(&self, handle: AbortHandle) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.retain(|h| !h.is_finished());
        tasks.push(handle);
    }

    /// The customer acts on an order; a payment starts its notification.
    fn customer(
        self: &Arc<Self>,
        order: &str,
        action: CustomerAction,
    ) -> Result<(String, TradeState), SandboxError> {
        let now = self.now();
        let action = if action == CustomerAction::Pay && self.chance(|f| f.pay_error) {
            tracing::debug!(order, "sandbox fault: the payment fails");
            CustomerAction::Fail
        } else {
            action
        };
        let mut store = self.store();
        let (state, paid) = store.customer(order, action, now)?;
        let out_trade_no = store.resolve(order).expect("just acted on it");
        self.save(&store);
        drop(store);
        tracing::info!(%out_trade_no, action = action.as_str(), state = state.as_str(), "sandbox customer");
        if paid {
            notify::spawn(self, out_trade_no.clone());
        }
        Ok((out_trade_no, state))
    }
}

/// A running sandbox. Dropping it stops it too (without waiting).
pub struct Sandbox {
    inner: Arc<Inner>,
    switch: Arc<listener::Switch>,
    shutdown_tx: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
    tls: Option<TlsPort>,
}

/// The running HTTPS port.
struct TlsPort {
    addr: SocketAddr,
    pki: tls::SandboxPki,
    task: AbortHandle,
}

/// Issue or check the PKI, bind the HTTPS port and serve `app` on it (the same router as the plain port).
async fn start_tls(
    inner: &Arc<Inner>,
    settings: &TlsSettings,
    app: axum::Router,
) -> std::io::Result<TlsPort> {
    // Real time, not the sandbox's clock: TLS stacks check certificates against the real one.
    let pki = tls::SandboxPki::ensure(&settings.certs, &inner.mch_id, chrono::Utc::now())
        .map_err(std::io::Error::other)?;
    let server_config = tls::server_config(&pki).map_err(std::io::Error::other)?;
    let listener = tokio::net::TcpListener::bind(settings.listen).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(tls::serve_tls(listener, server_config, app));
    tracing::info!(%addr, certs = %pki.dir().display(), "sandbox HTTPS port started");
    let _ = inner
        .tls_info
        .set((format!("https://{addr}"), pki.dir().to_path_buf()));
    Ok(TlsPort {
        addr,
        pki,
        task: task.abort_handle(),
    })
}

impl Sandbox {
    /// Bind `listen` (`127.0.0.1:0` picks a free port) and serve on the current tokio runtime. Loads the
    /// snapshot file if configured (and resumes unacknowledged notifications).
    pub async fn start(config: SandboxConfig, listen: SocketAddr) -> std::io::Result<Sandbox> {
        let mut store = store::Store::default();
        if let Some(path) = &config.persist {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            persist::load(path, &mut store)?;
        }
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(notify::REPLY_TIMEOUT)
            // Only a direct HTTP 200 counts: a redirect is not an acknowledgement.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Mozilla/4.0")
            .build()
            .map_err(std::io::Error::other)?;
        let seed = config.faults.seed;
        let inner = Arc::new(Inner {
            appid: config.appid,
            mch_id: config.mch_id,
            key: config.key,
            signer: config.signer,
            clock: config.clock,
            close_min_age: chrono::Duration::from_std(config.close_min_age)
                .unwrap_or(chrono::Duration::MAX),
            refund_min_interval: chrono::Duration::from_std(config.refund_min_interval)
                .unwrap_or(chrono::Duration::MAX),
            notify_time_scale: config.notify_time_scale.max(0.0),
            bills_today: config.bills_today,
            persist: config.persist,
            faults: Mutex::new(FaultState {
                faults: config.faults.clone(),
                rng: StdRng::seed_from_u64(seed),
            }),
            store: Mutex::new(store),
            tasks: Mutex::new(Vec::new()),
            http,
            tls_info: std::sync::OnceLock::new(),
        });
        let switch = listener::Switch::bind(listen).await?;
        if config.faults.refuse_connections {
            switch.set_refusing(true)?;
        }
        let (shutdown_tx, mut shutdown_rx) = watch::channel(false);
        let app = page::router(Arc::clone(&inner));
        let tls = match &config.tls {
            None => None,
            Some(settings) => Some(start_tls(&inner, settings, app.clone()).await?),
        };
        let accept = listener::SwitchListener(Arc::clone(&switch));
        let server = tokio::spawn(async move {
            let signal = async move {
                while !*shutdown_rx.borrow_and_update() {
                    if shutdown_rx.changed().await.is_err() {
                        break;
                    }
                }
            };
            if let Err(e) = axum::serve(accept, app)
                .with_graceful_shutdown(signal)
                .await
            {
                tracing::error!(error = %e, "sandbox server stopped");
            }
        });
        // Payments made before a restart whose notification was not acknowledged yet: carry on.
        let pending: Vec<String> = inner
            .store()
            .all()
            .into_iter()
            .filter(|o| {
                o.state.is_paid() && !o.notify.acked && o.notify.slots < notify::max_slots()
            })
            .map(|o| o.out_trade_no.clone())
            .collect();
        for out_trade_no in pending {
            notify::spawn(&inner, out_trade_no);
        }
        // Refunds before a restart: settle the ones still PROCESSING, finish unacknowledged notifications.
        let (processing, unacked): (Vec<_>, Vec<_>) = {
            let store = inner.store();
            let all = store.refunds.all();
            (
                all.iter()
                    .filter(|r| !r.status.is_final())
                    .map(|r| r.out_refund_no.clone())
                    .collect(),
                all.iter()
                    .filter(|r| {
                        r.status.is_final()
                            && !r.notify.acked
                            && r.notify.slots < notify::max_slots()
                    })
                    .map(|r| r.out_refund_no.clone())
                    .collect(),
            )
        };
        for no in processing {
            refund_notify::spawn_settle(&inner, no);
        }
        for no in unacked {
            refund_notify::spawn_notify(&inner, no);
        }
        tracing::info!(addr = %switch.local_addr(), "sandbox gateway started");
        Ok(Sandbox {
            inner,
            switch,
            shutdown_tx,
            server: Some(server),
            tls,
        })
    }

    /// `https://127.0.0.1:PORT` of the HTTPS port, when it serves one.
    pub fn tls_url(&self) -> Option<String> {
        self.tls.as_ref().map(|t| format!("https://{}", t.addr))
    }

    /// The PKI of the HTTPS port (its CA, server and merchant certificates), when it serves one.
    pub fn pki(&self) -> Option<&tls::SandboxPki> {
        self.tls.as_ref().map(|t| &t.pki)
    }

    /// A snapshot of one refund.
    pub fn refund(&self, out_refund_no: &str) -> Option<SandboxRefund> {
        self.inner.store().refunds.get(out_refund_no).cloned()
    }

    /// Snapshots of an order's refunds, oldest first.
    pub fn refunds_of(&self, out_trade_no: &str) -> Vec<SandboxRefund> {
        self.inner
            .store()
            .refunds
            .of_order(out_trade_no)
            .into_iter()
            .cloned()
            .collect()
    }

    /// Settle a PROCESSING refund now (with the configured `refund_outcome`) instead of after
    /// `refund_settle_after`, and start its notification. False if it is unknown or final already.
    pub fn settle_refund(&self, out_refund_no: &str) -> bool {
        refund_notify::settle(&self.inner, out_refund_no)
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.switch.local_addr())
    }

    /// The address it serves on.
    pub fn local_addr(&self) -> SocketAddr {
        self.switch.local_addr()
    }

    /// The merchant identity it accepts, signing with `sign_type`: what a client of it needs.
    pub fn merchant(&self, sign_type: SignType) -> Merchant {
        Merchant {
            appid: self.inner.appid.clone(),
            mch_id: self.inner.mch_id.clone(),
            key: self.inner.key.clone(),
            sign_type,
        }
    }

    /// Replace the faults at run time. Re-seeds the fault RNG with `faults.seed`. Switching
    /// `refuse_connections` takes effect before this returns.
    pub fn set_faults(&self, faults: Faults) {
        let refuse = faults.refuse_connections;
        {
            let mut st = self.inner.faults.lock().unwrap_or_else(|e| e.into_inner());
            st.rng = StdRng::seed_from_u64(faults.seed);
            st.faults = faults;
        }
        if let Err(e) = self.switch.set_refusing(refuse) {
            tracing::error!(addr = %self.switch.local_addr(), error = %e, "sandbox: cannot re-bind its port");
        }
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        self.inner.faults()
    }

    /// The in-process customer acts on an order, given by `code_url` or `out_trade_no`.
    pub async fn customer(&self, order: &str, action: CustomerAction) -> Result<(), SandboxError> {
        self.inner.customer(order, action).map(|_| ())
    }

    /// The customer acts after `delay` (in the background). The handle yields the outcome.
    pub fn customer_after(
        &self,
        delay: Duration,
        order: &str,
        action: CustomerAction,
    ) -> JoinHandle<Result<(), SandboxError>> {
        let inner = Arc::clone(&self.inner);
        let order = order.to_string();
        let handle = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            inner.customer(&order, action).map(|_| ())
        });
        self.inner.track(handle.abort_handle());
        handle
    }

    /// A snapshot of one order.
    pub fn order(&self, out_trade_no: &str) -> Option<SandboxOrder> {
        let now = self.inner.now();
        self.inner
            .store()
            .get(out_trade_no)
            .map(|o| o.snapshot(now))
    }

    /// Snapshots of all orders, oldest first.
    pub fn orders(&self) -> Vec<SandboxOrder> {
        let now = self.inner.now();
        self.inner
            .store()
            .all()
            .into_iter()
            .map(|o| o.snapshot(now))
            .collect()
    }

    /// Stop serving: close the port, let answers in flight finish (at most 2 s), stop notifications.
    pub async fn shutdown(mut self) {
        self.stop_now();
        if let Some(server) = self.server.take() {
            let abort = server.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), server)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    fn stop_now(&self) {
        let _ = self.shutdown_tx.send(true);
        self.switch.stop();
        if let Some(t) = &self.tls {
            t.task.abort();
        }
        for task in self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            task.abort();
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop_now();
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}
