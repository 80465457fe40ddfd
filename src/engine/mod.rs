//! The payment engine: carries each order from Charge to a final state, in the background on tokio.
//!
//! The UI and the command line only ask it to do things ([`Engine::charge`], [`Engine::cancel`]) and show
//! what it reports ([`Engine::subscribe`], [`Engine::set_waker`]). Every step is written to the ledger before
//! and after it happens; the order state machine in [`crate::ledger::state`] decides every status change.
//!
//! One watcher task per open order learns the result by polling orderquery (enough on its own) and is woken
//! early by the notification listener ([`listener`]) when a verified notification arrives. On expiry or
//! cancel it queries, closes (not before five minutes after creation) and keeps watching until the gateway
//! confirms the close, because the customer may still pay in those seconds. At start-up every unfinished order
//! is queried and driven to a final state.
//!
//! Not here: the protocol ([`crate::wxpay`]), storage ([`crate::ledger`]), drawing ([`crate::ui`]).

mod lifecycle;
pub mod listener;
pub mod types;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;

use crate::clock::{SharedClock, SystemClock, format_wx};
use crate::config::{Config, ConfigError};
use crate::ledger::{Evidence, Input, Ledger, LedgerError, NewOrder, Order, Source};
use crate::money::Fen;
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::wxpay::api::truncate_bytes;
use crate::wxpay::{
    ApiKey, ClientConfig, Merchant, RetryPolicy, SignType, UnifiedOrder, WxClient, WxError,
};

pub use types::{Cart, CartLine, CustomerAction, EngineEvent, OrderView};

/// How patiently the engine polls and closes.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// The first orderquery after the QR is shown.
    pub first_query_after: Duration,
    /// Between queries while an order is open.
    pub poll_interval: Duration,
    /// The longest wait between queries when the gateway keeps failing.
    pub max_backoff: Duration,
    /// closeorder is not called before an order is this old (WeChat's rule: 5 minutes).
    pub close_min_age: Duration,
}

impl Timing {
    /// What the live gateway wants.
    pub fn live() -> Timing {
        Timing {
            first_query_after: Duration::from_secs(3),
            poll_interval: Duration::from_secs(2),
            max_backoff: Duration::from_secs(30),
            close_min_age: Duration::from_secs(5 * 60),
        }
    }

    /// For tests and benchmarks against a sandbox that allows immediate closes.
    pub fn fast() -> Timing {
        Timing {
            first_query_after: Duration::from_millis(20),
            poll_interval: Duration::from_millis(50),
            max_backoff: Duration::from_millis(400),
            close_min_age: Duration::ZERO,
        }
    }
}

/// Which gateway to talk to.
#[derive(Debug, Clone)]
pub enum Gateway {
    /// From the configuration: the live gateway when a merchant is configured, otherwise an embedded sandbox
    /// (or a `paydesk sandbox` already running at the configured sandbox address).
    FromConfig,
    /// A gateway someone else runs (a test's sandbox): base URLs and the merchant identity it accepts.
    External {
        primary: String,
        backup: Option<String>,
        merchant: Merchant,
        /// Whether it is a sandbox (enables the simulated customer).
        sandbox: bool,
    },
}

/// Everything the engine needs to start.
#[derive(Clone)]
pub struct EngineSettings {
    pub config: Config,
    /// The ledger database and (in sandbox mode) the sandbox's state file live here.
    pub data_dir: PathBuf,
    pub clock: SharedClock,
    pub timing: Timing,
    pub gateway: Gateway,
    /// Retries of one gateway call (unifiedorder, closeorder).
    pub retry: RetryPolicy,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
}

impl EngineSettings {
    /// Settings from a configuration, with the live timing and the system clock.
    pub fn new(config: Config, data_dir: PathBuf) -> EngineSettings {
        EngineSettings {
            config,
            data_dir,
            clock: Arc::new(SystemClock),
            timing: Timing::live(),
            gateway: Gateway::FromConfig,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(6),
            read_timeout: Duration::from_secs(8),
        }
    }
}

/// Why an engine call failed. The text is meant for the cashier.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the sale has no items")]
    EmptyCart,
    #[error("{0}")]
    InvalidCart(String),
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("ledger: {0}")]
    Ledger(#[from] LedgerError),
    #[error("{advice}")]
    Gateway { advice: String, error: WxError },
    #[error("no order {0}")]
    UnknownOrder(String),
    #[error("only the sandbox has a simulated customer")]
    NotSandbox,
    #[error("sandbox: {0}")]
    Sandbox(String),
    #[error("cannot start: {0}")]
    Startup(String),
}

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
    notify_url: String,
    sandbox: Option<Sandbox>,
    sandbox_url: Option<String>,
    is_sandbox: bool,
    listener_addr: Option<SocketAddr>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// Where notifications go when no public URL is configured: a reserved name that never resolves (RFC 2606),
/// so nothing about a payment leaks anywhere. Polling confirms payments without notifications.
pub const NO_NOTIFY_URL: &str = "https://notify.invalid/wxpay/notify";

impl Engine {
    /// Start from the configuration file and the data directory (sandbox mode when no merchant is configured).
    pub async fn start_default() -> Result<Engine, EngineError> {
        let config = Config::load_default()?;
        Engine::start(EngineSettings::new(config, crate::paths::data_dir())).await
    }

    /// Start the engine: open the ledger, bring up the gateway connection (and the sandbox in sandbox mode),
    /// the notification listener, and reconcile every unfinished order in the background.
    pub async fn start(settings: EngineSettings) -> Result<Engine, EngineError> {
        let ledger_path = settings.data_dir.join("ledger.sqlite3");
        let ledger = tokio::task::spawn_blocking(move || Ledger::open(&ledger_path))
            .await
            .map_err(|e| EngineError::Startup(e.to_string()))??;
        let ledger = Arc::new(ledger);

        // The gateway.
        let mut sandbox = None;
        let (primary, backup, merchant, is_sandbox) =
            match (&settings.gateway, &settings.config.merchant) {
                (
                    Gateway::External {
                        primary,
                        backup,
                        merchant,
                        sandbox,
                    },
                    _,
                ) => (primary.clone(), backup.clone(), merchant.clone(), *sandbox),
                (Gateway::FromConfig, Some(m)) => (
                    m.gateway.clone(),
                    m.backup_gateway.clone(),
                    Merchant {
                        appid: m.appid.clone(),
                        mch_id: m.mch_id.clone(),
                        key: m.key.clone(),
                        sign_type: m.sign_type,
                    },
                    false,
                ),
                (Gateway::FromConfig, None) => {
                    let merchant = sandbox_merchant();
                    let url = match start_sandbox(&settings).await? {
                        SandboxPlace::Embedded(s) => {
                            let url = s.base_url();
                            sandbox = Some(s);
                            url
                        }
                        SandboxPlace::Running(url) => url,
                    };
                    (url, None, merchant, true)
                }
            };
        let mut client_config = ClientConfig::new(primary, backup);
        client_config.retry = settings.retry;
        client_config.connect_timeout = settings.connect_timeout;
        client_config.read_timeout = settings.read_timeout;
        let client = WxClient::new(merchant, client_config)
            .map_err(|e| EngineError::Startup(e.to_string()))?;

        // The notification listener: always on loopback in sandbox mode; in live mode where configured.
        let listen = if is_sandbox {
            Some(
                settings
                    .config
                    .notify
                    .listen
                    .unwrap_or_else(|| "127.0.0.1:0".parse().expect("valid")),
            )
        } else {
            settings.config.notify.listen
        };
        let tcp = match listen {
            Some(addr) => Some(tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                EngineError::Startup(format!(
                    "notification listener cannot listen on {addr}: {e}"
                ))
            })?),
            None => None,
        };
        let listener_addr = tcp.as_ref().and_then(|t| t.local_addr().ok());
        let notify_url = match (&settings.config.notify.url, listener_addr) {
            (Some(url), _) if !is_sandbox => url.clone(),
            (_, Some(addr)) if is_sandbox => format!("http://{addr}{}", listener::PATH),
            _ => NO_NOTIFY_URL.to_string(),
        };
        let sandbox_url = if is_sandbox {
            Some(client.config().primary.clone())
        } else {
            None
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
            notify_url,
            sandbox,
            sandbox_url,
            is_sandbox,
            listener_addr,
            tasks: Mutex::new(Vec::new()),
        });
        if let Some(tcp) = tcp {
            let i2 = inner.clone();
            inner.track(tokio::spawn(listener::serve(i2, tcp)));
        }
        tracing::info!(
            mode = if inner.is_sandbox { "sandbox" } else { "live" },
            gateway = %inner.client.config().primary,
            notify_url = %inner.notify_url,
            "payment engine started"
        );
        let engine = Engine { inner };
        engine.reconcile().await?;
        Ok(engine)
    }

    /// Charge a cart: store the order, create it at the gateway, and return it with its code_url.
    /// The order is then watched in the background until it is paid, failed, expired or cancelled.
    pub async fn charge(&self, cart: Cart) -> Result<OrderView, EngineError> {
        let inner = &self.inner;
        let total = validate_cart(&cart)?;
        let now = inner.now();
        let config = &inner.settings.config;
        let expires = now + chrono::Duration::from_std(config.payment_window).expect("window fits");
        let mut new = NewOrder {
            out_trade_no: String::new(),
            station: config.store.station.clone(),
            cashier: cart.cashier.clone(),
            created_at: now,
            expires_at: expires,
            total,
            items: cart
                .lines
                .iter()
                .map(|l| crate::ledger::ItemLine {
                    name: l.name.trim().to_string(),
                    unit_price: l.unit_price,
                    qty: l.qty,
                    line_total: l.total().expect("validated"),
                })
                .collect(),
            body: order_body(&config.store.name, &cart),
            notify_url: inner.notify_url.clone(),
            spbill_create_ip: config
                .merchant
                .as_ref()
                .map(|m| m.client_ip.clone())
                .unwrap_or_else(|| "127.0.0.1".into()),
            product_id: String::new(),
            device_info: Some(config.store.station.clone()),
            time_start: now,
            time_expire: expires,
        };
        // Stored before any request leaves. A clash of numbers (same second, same random tail) gets a new one.
        let mut attempt = 0;
        loop {
            new.out_trade_no = new_out_trade_no(now, &config.store.station);
            new.product_id = new.out_trade_no.clone();
            let n = new.clone();
            match inner.db(move |l| l.create_order(&n)).await {
                Ok(()) => break,
                Err(EngineError::Ledger(LedgerError::Duplicate(_))) if attempt < 5 => attempt += 1,
                Err(e) => return Err(e),
            }
        }
        let no = new.out_trade_no.clone();
        tracing::info!(out_trade_no = %no, total = %total, "charge: order stored");
        inner.emit_order(&no).await;

        let order = inner.load(&no).await?;
        let request = unified_order_of(&order);
        inner
            .log(
                &no,
                "unifiedorder.request",
                &format!(
                    "total_fee={} time_expire={} via {}",
                    total.get(),
                    format_wx(expires),
                    inner.client.current_base()
                ),
            )
            .await;
        let result = inner.client.unified_order(&request).await;
        match result {
            Ok(r) => {
                let ev = Evidence::created(
                    r.code_url.clone(),
                    Some(r.prepay_id.clone()),
                    format!("code_url={} prepay_id={}", r.code_url, r.prepay_id),
                );
                inner.apply(&no, Input::Created, ev).await?;
                inner.clone().watch(no.clone(), false);
                inner.view(&no).await
            }
            Err(e) => {
                use crate::wxpay::Action;
                inner.log(&no, "unifiedorder.error", &e.to_string()).await;
                match e.action() {
                    Action::TreatAsPaid => {
                        // Already paid under this number: confirm by query; the watcher records it.
                        inner.clone().watch(no.clone(), false);
                        inner.poke(&no);
                        inner.view(&no).await
                    }
                    Action::FixConfig | Action::FixRequest | Action::NewOutTradeNo => {
                        inner
                            .apply(
                                &no,
                                Input::CreateFailed,
                                Evidence::new(Source::UnifiedOrder, e.to_string()),
                            )
                            .await?;
                        Err(EngineError::Gateway {
                            advice: e.advice(),
                            error: e,
                        })
                    }
                    Action::RetrySame | Action::Query => {
                        // The outcome is unknown: the order may exist. The cashier never saw its QR, so it is
                        // closed (after the 5-minute rule) and watched until the gateway confirms.
                        inner
                            .apply(
                                &no,
                                Input::CloseRequested(crate::ledger::CloseReason::Cancel),
                                Evidence::new(
                                    Source::UnifiedOrder,
                                    format!(
                                        "unifiedorder outcome unknown ({e}); closing this number"
                                    ),
                                ),
                            )
                            .await?;
                        inner.clone().watch(no.clone(), false);
                        Err(EngineError::Gateway {
                            advice: format!(
                                "Cannot reach WeChat Pay: {e}. No QR code was shown; try Charge again."
                            ),
                            error: e,
                        })
                    }
                }
            }
        }
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

    /// Play the customer (sandbox only): pay or fail the order.
    pub async fn simulate_customer(
        &self,
        out_trade_no: &str,
        action: CustomerAction,
    ) -> Result<(), EngineError> {
        let inner = &self.inner;
        if !inner.is_sandbox {
            return Err(EngineError::NotSandbox);
        }
        let act = match action {
            CustomerAction::Pay => crate::sandbox::CustomerAction::Pay,
            CustomerAction::Fail => crate::sandbox::CustomerAction::Fail,
        };
        match &inner.sandbox {
            Some(s) => s
                .customer(out_trade_no, act)
                .await
                .map_err(|e| EngineError::Sandbox(e.to_string()))?,
            None => {
                let url = inner.sandbox_url.clone().unwrap_or_default();
                crate::sandbox::remote_customer(&url, out_trade_no, act)
                    .await
                    .map_err(|e| EngineError::Sandbox(e.to_string()))?;
            }
        }
        // Polling would find it within a couple of seconds; look now.
        inner.poke(out_trade_no);
        Ok(())
    }

    /// The events the engine reports (order changes, errors).
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
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

    pub fn ledger(&self) -> Arc<Ledger> {
        self.inner.ledger.clone()
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.inner.settings
    }

    pub fn config(&self) -> &Config {
        &self.inner.settings.config
    }

    pub fn is_sandbox(&self) -> bool {
        self.inner.is_sandbox
    }

    /// The sandbox's base URL in sandbox mode.
    pub fn sandbox_url(&self) -> Option<String> {
        self.inner.sandbox_url.clone()
    }

    /// The embedded sandbox, if this engine runs one.
    pub fn embedded_sandbox(&self) -> Option<&Sandbox> {
        self.inner.sandbox.as_ref()
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

    /// Wait until no order is being watched (every order reached a final state), or `timeout` passes.
    /// Returns whether all are done.
    pub async fn settle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.watching() == 0 {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stop every background task (watchers, listener, embedded sandbox). Orders stay in the ledger as they
    /// are; the next start reconciles them.
    pub async fn shutdown(self) {
        let tasks: Vec<JoinHandle<()>> =
            std::mem::take(&mut *self.inner.tasks.lock().expect("tasks lock"));
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
        self.inner.watchers.lock().expect("watchers lock").clear();
        if let Ok(inner) = Arc::try_unwrap(self.inner)
            && let Some(s) = inner.sandbox
        {
            s.shutdown().await;
        }
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

/// Rebuild the stored request: every retry and re-entry sends exactly these values.
fn unified_order_of(o: &Order) -> UnifiedOrder {
    UnifiedOrder {
        out_trade_no: o.out_trade_no.clone(),
        body: o.body.clone(),
        total_fee: o.total,
        spbill_create_ip: o.spbill_create_ip.clone(),
        notify_url: o.notify_url.clone(),
        product_id: o.product_id.clone(),
        device_info: o.device_info.clone(),
        time_start: o.time_start,
        time_expire: o.time_expire,
    }
}

fn validate_cart(cart: &Cart) -> Result<Fen, EngineError> {
    if cart.lines.is_empty() {
        return Err(EngineError::EmptyCart);
    }
    for l in &cart.lines {
        if l.name.trim().is_empty() {
            return Err(EngineError::InvalidCart("every line needs a name".into()));
        }
        if l.qty == 0 {
            return Err(EngineError::InvalidCart(format!(
                "{}: quantity must be at least 1",
                l.name
            )));
        }
        if l.total().is_none() {
            return Err(EngineError::InvalidCart(format!(
                "{}: amount too large",
                l.name
            )));
        }
    }
    let total = cart.total().filter(|t| *t <= Fen::MAX).ok_or_else(|| {
        EngineError::InvalidCart(format!("the total is over the limit of {}", Fen::MAX))
    })?;
    if total.get() < 1 {
        return Err(EngineError::InvalidCart(
            "the total must be at least ¥0.01".into(),
        ));
    }
    Ok(total)
}

/// `店名-商品` (reference: 店名-销售商品类目), at most 127 UTF-8 bytes, only characters the gateway accepts.
fn order_body(store: &str, cart: &Cart) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| (*c as u32) <= 0xFFFF && !c.is_control())
            .collect::<String>()
            .trim()
            .to_string()
    };
    let first = cart
        .lines
        .first()
        .map(|l| clean(&l.name))
        .unwrap_or_default();
    let more = if cart.lines.len() > 1 {
        format!("等{}件", cart.lines.len())
    } else {
        String::new()
    };
    let store = clean(store);
    let body = match (store.is_empty(), first.is_empty()) {
        (false, false) => format!("{store}-{first}{more}"),
        (false, true) => store,
        (true, false) => format!("{first}{more}"),
        (true, true) => "PayDesk".into(),
    };
    let cut = truncate_bytes(&body, 127).trim().to_string();
    if cut.is_empty() {
        "PayDesk".into()
    } else {
        cut
    }
}

/// `yyyyMMddHHmmss` (Beijing) + station + 6 random alphanumerics: at most 28 characters of `[0-9A-Za-z]`.
fn new_out_trade_no(now: DateTime<Utc>, station: &str) -> String {
    use rand::Rng;
    use rand::distr::Alphanumeric;
    let tail: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(6)
        .map(char::from)
        .collect();
    format!("{}{}{}", format_wx(now), station, tail)
}

/// The merchant identity of the sandbox.
pub fn sandbox_merchant() -> Merchant {
    Merchant {
        appid: crate::sandbox_defaults::APPID.into(),
        mch_id: crate::sandbox_defaults::MCH_ID.into(),
        key: ApiKey::new(crate::sandbox_defaults::KEY),
        sign_type: SignType::HmacSha256,
    }
}

/// Whether a sandbox answers at `url` (a `paydesk sandbox` started in another terminal).
async fn sandbox_answers(url: &str) -> bool {
    let Ok(client) = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
    else {
        return false;
    };
    match client.get(format!("{url}/")).send().await {
        Ok(r) => r.status().is_success(),
        Err(_) => false,
    }
}

enum SandboxPlace {
    Embedded(Sandbox),
    Running(String),
}

/// Start the embedded sandbox at the configured address; if a `paydesk sandbox` already serves there, use it;
/// if something else holds the port, take any free port.
async fn start_sandbox(settings: &EngineSettings) -> Result<SandboxPlace, EngineError> {
    let config = SandboxConfig {
        clock: settings.clock.clone(),
        close_min_age: settings.timing.close_min_age,
        persist: Some(settings.data_dir.join("sandbox-state.json")),
        ..SandboxConfig::default()
    };
    let addr = settings.config.sandbox_listen;
    match Sandbox::start(config.clone(), addr).await {
        Ok(s) => Ok(SandboxPlace::Embedded(s)),
        Err(e) => {
            let url = format!("http://{addr}");
            if sandbox_answers(&url).await {
                tracing::info!(%url, "using the sandbox already running there");
                return Ok(SandboxPlace::Running(url));
            }
            tracing::warn!(%addr, error = %e, "sandbox address busy; using a free port");
            Sandbox::start(config, "127.0.0.1:0".parse().expect("valid"))
                .await
                .map(SandboxPlace::Embedded)
                .map_err(|e| {
                    EngineError::Startup(format!("cannot start the sandbox on loopback: {e}"))
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Fen;

    fn line(name: &str, fen: i64, qty: u32) -> CartLine {
        CartLine {
            name: name.into(),
            unit_price: Fen::new(fen).unwrap(),
            qty,
        }
    }

    #[test]
    fn body_is_short_clean_and_chinese() {
        let cart = Cart {
            lines: vec![line("可乐🥤", 300, 2), line("薯片", 550, 1)],
            cashier: "张三".into(),
        };
        assert_eq!(order_body("小张南山店", &cart), "小张南山店-可乐等2件");
        let long = Cart {
            lines: vec![line(&"很长的商品名".repeat(20), 1, 1)],
            cashier: String::new(),
        };
        let b = order_body("店", &long);
        assert!(b.len() <= 127 && b.starts_with("店-很长"));
    }

    #[test]
    fn order_numbers_follow_the_rule() {
        let no = new_out_trade_no(Utc::now(), "POS1");
        assert!(crate::wxpay::api::valid_out_trade_no(&no), "{no}");
        assert!(no.len() <= 28);
        assert_ne!(no, new_out_trade_no(Utc::now(), "POS1"));
    }

    #[test]
    fn carts_are_checked() {
        assert!(matches!(
            validate_cart(&Cart::default()),
            Err(EngineError::EmptyCart)
        ));
        let zero = Cart {
            lines: vec![line("赠品", 0, 1)],
            cashier: String::new(),
        };
        assert!(matches!(
            validate_cart(&zero),
            Err(EngineError::InvalidCart(_))
        ));
        let huge = Cart {
            lines: vec![line("金条", Fen::MAX.get(), 2)],
            cashier: String::new(),
        };
        assert!(matches!(
            validate_cart(&huge),
            Err(EngineError::InvalidCart(_))
        ));
        let ok = Cart {
            lines: vec![line("可乐", 300, 2), line("薯片", 550, 1)],
            cashier: String::new(),
        };
        assert_eq!(validate_cart(&ok).unwrap(), Fen::new(1150).unwrap());
    }
}
