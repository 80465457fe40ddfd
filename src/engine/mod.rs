//! The payment engine: carries each order from Charge to a final state, in the background on tokio.
//!
//! The UI and the command line only ask it to do things ([`Engine::charge`], [`Engine::cancel`],
//! [`Engine::refund`]), show what
//! it reports ([`Engine::subscribe`], [`Engine::set_waker`]) and read orders as views ([`views`]). Every step
//! is written to the ledger before and after it happens; the order state machine in
//! [`crate::ledger::state`] decides every status change.
//!
//! One watcher task per open order learns the result by polling orderquery (enough on its own) and is woken
//! early by the notification listener ([`listener`]) when a verified notification arrives. On expiry or
//! cancel it queries, closes (not before five minutes after creation) and keeps watching until the gateway
//! confirms the close, because the customer may still pay in those seconds. At start-up every unfinished order
//! is queried and driven to a final state.
//!
//! Files: this one holds the handle and its running state; [`settings`] what it is started with, [`error`],
//! `charge` (cart checks, order body and number, unifiedorder), `policy` (the watcher's decisions),
//! `lifecycle` (the watcher, carrying them out), `refund` (refunding a paid order, refund notifications),
//! `refund_policy` and `refund_watch` (the refund watcher's decisions and their execution), [`listener`],
//! [`reconcile`] (closing a day against WeChat's trade bill), `reconcile_policy` and `reconcile_task` (doing
//! it automatically for each past day: the decisions and their execution),
//! [`views`] (what the window reads), [`types`].
//!
//! It depends on [`crate::wxpay`] and [`crate::ledger`] (and the leaf modules) only. Not here: reading the
//! configuration, finding or starting the sandbox, the window (all [`crate::app`], which builds
//! [`EngineSettings`]); the protocol ([`crate::wxpay`]); storage ([`crate::ledger`]).

mod charge;
pub mod error;
mod lifecycle;
pub mod listener;
mod policy;
pub mod reconcile;
mod reconcile_policy;
mod reconcile_task;
mod refund;
mod refund_policy;
mod refund_watch;
pub mod settings;
pub mod types;
pub mod views;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;

use crate::ledger::{Evidence, Input, Ledger, LedgerError, Order, Source};
use crate::wxpay::{ClientConfig, WxClient};

pub use error::EngineError;
pub use reconcile::DayReconciliation;
pub use settings::{EngineSettings, Gateway, GatewayTls, NotifySettings, NotifyUrl, Timing};
pub use types::{
    Cart, CartLine, CustomerAction, EngineEvent, EventView, LineView, OrderDetail, OrderRefunds,
    OrderStatus, OrderSummary, OrderView, ReconciledDay, RefundState, RefundView,
};

/// A handle on the running engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

type Waker = Box<dyn Fn() + Send + Sync>;

struct Inner {
    settings: EngineSettings,
    ledger: Arc<Ledger>,
    client: WxClient,
    events: broadcast::Sender<EngineEvent>,
    wakers: Mutex<Vec<Waker>>,
    /// One entry per order being watched: pokes its watcher.
    watchers: Mutex<HashMap<String, Arc<Notify>>>,
    /// The latest problem per order, shown with it until things recover.
    notices: Mutex<HashMap<String, String>>,
    /// One entry per refund being watched: pokes its watcher.
    refund_watchers: Mutex<HashMap<String, Arc<Notify>>>,
    /// The latest problem per refund (retrying, one minute between refunds, balance too low).
    refund_notices: Mutex<HashMap<String, String>>,
    notify_url: String,
    listener_addr: Option<SocketAddr>,
    /// Tells the notification listener to drain and stop.
    listener_stop: tokio::sync::watch::Sender<bool>,
    /// The listener's task: stopped by draining, not aborted (unless draining takes too long).
    listener_task: Mutex<Option<JoinHandle<()>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Start-up (the ledger's check, then reconciliation) is over: [`Engine::settle`] waits for it.
    started_up: std::sync::atomic::AtomicBool,
}

/// Open the ledger at `path` (on the blocking pool). Only the cheap checks run here; the engine runs the
/// slow `quick_check` in the background (see [`Ledger::open_deferring_check`]), so the window need not wait.
pub async fn open_ledger(path: &Path) -> Result<Ledger, EngineError> {
    let path = path.to_path_buf();
    Ok(
        tokio::task::spawn_blocking(move || Ledger::open_deferring_check(&path))
            .await
            .map_err(|e| EngineError::Startup(e.to_string()))??,
    )
}

impl Engine {
    /// Open the ledger at `settings.ledger_path` and start: see [`Engine::start_with_ledger`].
    pub async fn start(settings: EngineSettings) -> Result<Engine, EngineError> {
        let ledger = open_ledger(&settings.ledger_path).await?;
        Engine::start_with_ledger(settings, ledger).await
    }

    /// Start the engine on an open ledger: bring up the gateway connection and the notification listener,
    /// and reconcile every unfinished order in the background. A ledger whose `quick_check` is still pending
    /// is checked in the background first: until it passes, charges are refused and nothing is reconciled;
    /// if it fails, the engine reports an [`EngineEvent::Error`] and keeps refusing.
    pub async fn start_with_ledger(
        settings: EngineSettings,
        ledger: Ledger,
    ) -> Result<Engine, EngineError> {
        let ledger = Arc::new(ledger);
        let gateway = &settings.gateway;
        let mut client_config = ClientConfig::new(gateway.primary.clone(), gateway.backup.clone());
        client_config.retry = settings.retry;
        client_config.connect_timeout = settings.connect_timeout;
        client_config.read_timeout = settings.read_timeout;
        client_config.identity = settings.gateway_tls.identity.clone();
        client_config.extra_roots = settings.gateway_tls.extra_roots.clone();
        let client = WxClient::new(gateway.merchant.clone(), client_config)
            .map_err(|e| EngineError::Startup(e.to_string()))?;

        let tcp = match settings.notify.listen {
            Some(addr) => Some(tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                EngineError::Startup(format!(
                    "notification listener cannot listen on {addr}: {e}"
                ))
            })?),
            None => None,
        };
        let listener_addr = tcp.as_ref().and_then(|t| t.local_addr().ok());
        let notify_url = match (&settings.notify.url, listener_addr) {
            (NotifyUrl::Fixed(url), _) => url.clone(),
            (NotifyUrl::Listener, Some(addr)) => format!("http://{addr}{}", listener::PATH),
            (NotifyUrl::Listener, None) => {
                return Err(EngineError::Startup(
                    "the notify_url names the listener, but no listener address is set".into(),
                ));
            }
        };

        let (events, _) = broadcast::channel(256);
        let inner = Arc::new(Inner {
            settings,
            ledger,
            client,
            events,
            wakers: Mutex::new(Vec::new()),
            watchers: Mutex::new(HashMap::new()),
            notices: Mutex::new(HashMap::new()),
            refund_watchers: Mutex::new(HashMap::new()),
            refund_notices: Mutex::new(HashMap::new()),
            notify_url,
            listener_addr,
            listener_stop: tokio::sync::watch::channel(false).0,
            listener_task: Mutex::new(None),
            tasks: Mutex::new(Vec::new()),
            started_up: std::sync::atomic::AtomicBool::new(false),
        });
        if let Some(tcp) = tcp {
            let task = tokio::spawn(listener::serve(
                inner.clone(),
                tcp,
                inner.listener_stop.subscribe(),
            ));
            *inner.listener_task.lock().expect("listener lock") = Some(task);
        }
        tracing::info!(
            mode = if inner.settings.gateway.sandbox { "sandbox" } else { "live" },
            gateway = %inner.client.config().primary,
            notify_url = %inner.notify_url,
            "payment engine started"
        );
        let engine = Engine { inner };
        if engine.inner.ledger.check_pending() {
            let e = engine.clone();
            let task = tokio::spawn(async move { e.check_then_reconcile().await });
            engine.inner.tasks.lock().expect("tasks lock").push(task);
        } else {
            engine.reconcile().await?;
            engine.inner.started_up.store(true, Ordering::SeqCst);
        }
        Ok(engine)
    }

    /// The deferred ledger check, then start-up reconciliation (never on an unchecked file).
    async fn check_then_reconcile(&self) {
        let started = std::time::Instant::now();
        match self.inner.db(|l| l.run_deferred_check()).await {
            Ok(()) => {
                tracing::info!(took = ?started.elapsed(), "ledger check passed");
                if let Err(e) = self.reconcile().await {
                    tracing::error!(error = %e, "start-up reconciliation failed");
                    self.inner.emit(EngineEvent::Error {
                        message: e.to_string(),
                    });
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "ledger check failed; charges are refused");
                self.inner.emit(EngineEvent::Error {
                    message: e.to_string(),
                });
            }
        }
        self.inner.started_up.store(true, Ordering::SeqCst);
    }

    /// Wait until the ledger's background check has passed (true), or failed or `timeout` passed (false).
    pub async fn ledger_checked(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match self.inner.ledger.refuse_if_unchecked() {
                Ok(()) => return true,
                Err(LedgerError::Checking { .. }) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(_) => return false,
            }
        }
    }

    /// Why the ledger cannot take charges yet (its check is pending or failed), if it cannot.
    pub fn ledger_problem(&self) -> Option<String> {
        self.inner
            .ledger
            .refuse_if_unchecked()
            .err()
            .map(|e| e.to_string())
    }

    /// Cancel an order the cashier gave up on. It is closed at the gateway (when the 5-minute rule allows) and
    /// watched until closed; a payment that still lands becomes "paid after cancel".
    pub async fn cancel(&self, out_trade_no: &str) -> Result<(), EngineError> {
        let inner = &self.inner;
        let order = inner.load(out_trade_no).await?;
        if order.status.is_final() {
            return Ok(());
        }
        inner
            .apply(
                out_trade_no,
                Input::CloseRequested(crate::ledger::CloseReason::Cancel),
                Evidence::new(Source::Cashier, "cancelled by the cashier"),
            )
            .await?;
        inner.clone().watch(out_trade_no.to_string(), false);
        inner.poke(out_trade_no);
        Ok(())
    }

    /// Query this order now instead of at its next poll (the customer just acted, e.g. in the sandbox).
    pub fn check_now(&self, out_trade_no: &str) {
        self.inner.poke(out_trade_no);
    }

    /// The events the engine reports (order changes, errors). A ledger that failed its check is reported
    /// again to every new subscriber, so a window that subscribes after the failure still shows it.
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        let rx = self.inner.events.subscribe();
        if let Err(e @ LedgerError::Corrupt { .. }) = self.inner.ledger.refuse_if_unchecked() {
            self.inner.emit(EngineEvent::Error {
                message: e.to_string(),
            });
        }
        rx
    }

    /// Call `f` after every event (the UI passes `ctx.request_repaint`).
    pub fn set_waker(&self, f: impl Fn() + Send + Sync + 'static) {
        self.inner
            .wakers
            .lock()
            .expect("wakers lock")
            .push(Box::new(f));
    }

    /// The current view of one order.
    pub async fn order(&self, out_trade_no: &str) -> Result<OrderView, EngineError> {
        self.inner.view(out_trade_no).await
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.inner.settings
    }

    /// Whether the gateway is a sandbox.
    pub fn is_sandbox(&self) -> bool {
        self.inner.settings.gateway.sandbox
    }

    /// The gateway's primary base URL.
    pub fn gateway_url(&self) -> &str {
        &self.inner.client.config().primary
    }

    /// Where the notification listener listens, if it runs.
    pub fn listener_addr(&self) -> Option<SocketAddr> {
        self.inner.listener_addr
    }

    /// The notify_url sent with every order.
    pub fn notify_url(&self) -> &str {
        &self.inner.notify_url
    }

    /// How many orders are being watched right now.
    pub fn watching(&self) -> usize {
        self.inner.watchers.lock().expect("watchers lock").len()
    }

    /// Wait until start-up is over and no order and no refund is being watched (every one reached a final
    /// state), or `timeout` passes. Returns whether all are done.
    pub async fn settle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.inner.started_up.load(Ordering::SeqCst)
                && self.watching() == 0
                && self.watching_refunds() == 0
            {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stop every background task (watchers, listener). The listener first answers the notifications it has
    /// already received (at most [`listener::DRAIN_LIMIT`]). Orders stay in the ledger as they are; the next
    /// start reconciles them.
    pub async fn shutdown(self) {
        self.inner.listener_stop.send_replace(true);
        let listener = self
            .inner
            .listener_task
            .lock()
            .expect("listener lock")
            .take();
        if let Some(mut task) = listener
            && tokio::time::timeout(listener::DRAIN_LIMIT, &mut task)
                .await
                .is_err()
        {
            tracing::warn!("the notification listener did not finish in time; stopping it");
            task.abort();
            let _ = task.await;
        }
        let tasks: Vec<JoinHandle<()>> =
            std::mem::take(&mut *self.inner.tasks.lock().expect("tasks lock"));
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
        self.inner.watchers.lock().expect("watchers lock").clear();
        self.inner
            .refund_watchers
            .lock()
            .expect("watchers lock")
            .clear();
    }

    /// Drive every unfinished order to a final state: each is queried; what is not paid is closed.
    async fn reconcile(&self) -> Result<(), EngineError> {
        let open = self.inner.db(|l| l.unfinished()).await?;
        if !open.is_empty() {
            tracing::info!(count = open.len(), "reconciling unfinished orders");
        }
        for order in open {
            self.inner
                .log(
                    &order.out_trade_no,
                    "startup",
                    &format!("found {} at start-up; querying", order.status),
                )
                .await;
            self.inner.clone().watch(order.out_trade_no.clone(), true);
        }
        // A payment can land after the close (reference §5 "Race"): orders given up within the horizon are
        // asked about again, so that a restart does not end their re-checks.
        let horizon = chrono::Duration::from_std(self.inner.settings.timing.recheck_horizon)
            .unwrap_or(chrono::Duration::MAX);
        let since = self.inner.now() - horizon;
        let given_up = self.inner.db(move |l| l.given_up_since(since)).await?;
        if !given_up.is_empty() {
            tracing::info!(
                count = given_up.len(),
                "re-checking orders given up recently"
            );
        }
        for order in given_up {
            self.inner.clone().watch(order.out_trade_no, true);
        }
        // Refunds in flight: asked about, and sent again with their own numbers if the gateway never got them.
        let refunds = self.inner.db(|l| l.unfinished_refunds()).await?;
        if !refunds.is_empty() {
            tracing::info!(count = refunds.len(), "reconciling refunds in flight");
        }
        for r in refunds {
            self.inner
                .log(
                    &r.out_trade_no,
                    "startup",
                    &format!(
                        "refund {} found {} at start-up; querying",
                        r.out_refund_no, r.status
                    ),
                )
                .await;
            self.inner.clone().watch_refund(r.out_refund_no, true, None);
        }
        Ok(())
    }
}

impl Inner {
    fn now(&self) -> DateTime<Utc> {
        self.settings.clock.now()
    }

    fn track(&self, handle: JoinHandle<()>) {
        let mut tasks = self.tasks.lock().expect("tasks lock");
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }

    /// Run a ledger call off the async threads.
    async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Ledger) -> Result<T, LedgerError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let ledger = self.ledger.clone();
        tokio::task::spawn_blocking(move || f(&ledger))
            .await
            .map_err(|e| EngineError::Startup(format!("ledger task failed: {e}")))?
            .map_err(EngineError::from)
    }

    async fn load(&self, no: &str) -> Result<Order, EngineError> {
        let n = no.to_string();
        self.db(move |l| l.order(&n))
            .await?
            .ok_or_else(|| EngineError::UnknownOrder(no.to_string()))
    }

    async fn view(&self, no: &str) -> Result<OrderView, EngineError> {
        let order = self.load(no).await?;
        let notice = self.notices.lock().expect("notices lock").get(no).cloned();
        Ok(view_of(&order, notice))
    }

    /// Append to the order's history; a failure to log is itself logged, never fatal.
    async fn log(&self, no: &str, kind: &str, detail: &str) {
        let (n, k, d, at) = (
            no.to_string(),
            kind.to_string(),
            detail.to_string(),
            self.now(),
        );
        if let Err(e) = self.db(move |l| l.log_event(&n, &k, &d, at)).await {
            tracing::error!(out_trade_no = %no, error = %e, "cannot append to the order's history");
        }
    }

    /// Apply an input through the state machine (durably), and report a change.
    async fn apply(
        &self,
        no: &str,
        input: Input,
        evidence: Evidence,
    ) -> Result<crate::ledger::Applied, EngineError> {
        let (n, at) = (no.to_string(), self.now());
        let applied = self.db(move |l| l.apply(&n, input, &evidence, at)).await?;
        if applied.changed {
            tracing::info!(out_trade_no = %no, from = %applied.before, to = %applied.after, ?input, "order status changed");
        }
        if let Some(alert) = &applied.alert {
            tracing::warn!(out_trade_no = %no, alert = %alert, "order needs attention");
        }
        if applied.changed || applied.alert.is_some() {
            self.emit_order(no).await;
        }
        Ok(applied)
    }

    fn set_notice(&self, no: &str, notice: Option<String>) -> bool {
        let mut notices = self.notices.lock().expect("notices lock");
        match notice {
            Some(n) => notices.insert(no.to_string(), n.clone()).as_ref() != Some(&n),
            None => notices.remove(no).is_some(),
        }
    }

    async fn emit_order(&self, no: &str) {
        match self.view(no).await {
            Ok(v) => self.emit(EngineEvent::Order(v)),
            Err(e) => self.emit(EngineEvent::Error {
                message: e.to_string(),
            }),
        }
    }

    fn emit(&self, event: EngineEvent) {
        let _ = self.events.send(event);
        for w in self.wakers.lock().expect("wakers lock").iter() {
            w();
        }
    }

    /// Wake an order's watcher now (a notification arrived, the cashier cancelled).
    fn poke(&self, no: &str) {
        if let Some(n) = self.watchers.lock().expect("watchers lock").get(no) {
            n.notify_one();
        }
    }

    /// Start watching an order unless it is already watched.
    fn watch(self: Arc<Self>, no: String, abandoned: bool) {
        let wake = {
            let mut w = self.watchers.lock().expect("watchers lock");
            if w.contains_key(&no) {
                return;
            }
            let n = Arc::new(Notify::new());
            w.insert(no.clone(), n.clone());
            n
        };
        let me = self.clone();
        let handle = tokio::spawn(async move {
            lifecycle::watch(me.clone(), no.clone(), wake, abandoned).await;
            me.watchers.lock().expect("watchers lock").remove(&no);
            me.notices.lock().expect("notices lock").remove(&no);
        });
        self.track(handle);
    }
}

fn view_of(o: &Order, notice: Option<String>) -> OrderView {
    OrderView {
        out_trade_no: o.out_trade_no.clone(),
        total: o.total,
        status: o.status,
        code_url: o.code_url.clone(),
        created_at: o.created_at,
        expires_at: o.expires_at,
        transaction_id: o.transaction_id.clone(),
        paid_at: o.paid_at,
        notice,
    }
}
