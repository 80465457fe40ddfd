//! The composition root: everything PayDesk does at start-up, and the one place that knows every layer.
//!
//! [`start`] reads the configuration and the paths, opens the ledger, decides live or sandbox mode, finds a
//! running `paydesk sandbox` or starts the embedded one ([`sandbox`]), decides where notifications go, and
//! starts the engine with settings built from the configuration ([`engine_settings`]). The result is an
//! [`AppHandle`]: the engine plus the sandbox it talks to, which is also the window's [`window::Backend`]
//! ([`backend`]). The window (`crate::ui::run`) and `paydesk charge` start through [`start`].
//!
//! Arrows: the window ([`crate::ui`]), `main` and [`crate::cli`] call this module; it calls
//! [`crate::engine`], [`crate::sandbox`], [`crate::config`] and [`crate::ledger`] (to open it). It never
//! imports the window: [`window`] is the interface the window is given. Not here: order rules (the ledger),
//! payments (the engine), drawing (the UI).

pub mod backend;
pub mod lock;
pub mod manager_pin;
mod printing;
mod refunds;
pub mod report;
pub mod sandbox;
mod shift;
pub mod window;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::SystemClock;
use crate::config::{Config, ConfigError};
use crate::engine::{
    Engine, EngineError, EngineSettings, Gateway, GatewayTls, NotifySettings, NotifyUrl, Timing,
};
use crate::sandbox::Sandbox;
use crate::wxpay::{Merchant, RetryPolicy};

pub use refunds::{RefundInfo, RefundRequest, approved_by_for, check_pin};
pub use sandbox::{SandboxPlace, sandbox_merchant};

/// Where notifications go when no public URL is configured: a reserved name that never resolves (RFC 2606),
/// so nothing about a payment leaks anywhere. Polling confirms payments without notifications.
pub const NO_NOTIFY_URL: &str = "https://notify.invalid/wxpay/notify";

/// Why PayDesk could not start, or a sandbox-only request failed. The text is meant for the cashier.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("only the sandbox has a simulated customer")]
    NotSandbox,
    #[error("sandbox: {0}")]
    Sandbox(String),
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    #[error(transparent)]
    Pin(#[from] manager_pin::PinError),
}

/// Start the log (stderr, and with `file_log` a daily file in the data directory). Keep the guard alive
/// for as long as the program runs.
pub fn start_logging(file_log: bool) -> crate::logging::LogGuard {
    let data_dir = crate::paths::data_dir();
    crate::logging::init(file_log.then_some(data_dir.as_path()))
}

/// The engine's settings for `config`, talking to `gateway`, with its ledger in `data_dir`: live timing,
/// the system clock. In sandbox mode the notification listener always runs on loopback (the configured
/// address, else any free port) and orders announce its own address; in live mode it runs where configured,
/// and orders announce the configured public URL, else [`NO_NOTIFY_URL`].
pub fn engine_settings(config: &Config, data_dir: &Path, gateway: Gateway) -> EngineSettings {
    let notify = if gateway.sandbox {
        NotifySettings {
            listen: Some(
                config
                    .notify
                    .listen
                    .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
            ),
            url: NotifyUrl::Listener,
        }
    } else {
        NotifySettings {
            listen: config.notify.listen,
            url: NotifyUrl::Fixed(
                config
                    .notify
                    .url
                    .clone()
                    .unwrap_or_else(|| NO_NOTIFY_URL.to_string()),
            ),
        }
    };
    EngineSettings {
        store_name: config.store.name.clone(),
        station: config.store.station.clone(),
        payment_window: config.payment_window,
        client_ip: config
            .merchant
            .as_ref()
            .map(|m| m.client_ip.clone())
            .unwrap_or_else(|| "127.0.0.1".into()),
        notify,
        gateway,
        gateway_tls: GatewayTls::default(),
        ledger_path: crate::paths::ledger_in(data_dir),
        clock: Arc::new(SystemClock),
        timing: Timing::live(),
        retry: RetryPolicy::default(),
        connect_timeout: Duration::from_secs(6),
        read_timeout: Duration::from_secs(8),
    }
}

/// The configured merchant's live gateway, if a merchant is configured.
fn live_gateway(config: &Config) -> Option<Gateway> {
    config.merchant.as_ref().map(|m| Gateway {
        primary: m.gateway.clone(),
        backup: m.backup_gateway.clone(),
        merchant: Merchant {
            appid: m.appid.clone(),
            mch_id: m.mch_id.clone(),
            key: m.key.clone(),
            sign_type: m.sign_type,
        },
        sandbox: false,
    })
}

/// The configured merchant certificate, loaded for live refunds (no extra trust: the system roots). A
/// certificate that cannot be loaded does not stop payments: refunds are refused and the log says why
/// (`paydesk config check` says it too).
fn live_tls(config: &Config) -> GatewayTls {
    let Some(m) = &config.merchant else {
        return GatewayTls::default();
    };
    let Some(source) = &m.cert else {
        return GatewayTls::default();
    };
    match crate::wxpay::cert::MerchantIdentity::load(source, &m.mch_id) {
        Ok(identity) => GatewayTls {
            identity: Some(identity),
            extra_roots: Vec::new(),
        },
        Err(e) => {
            tracing::error!(error = %e, "merchant certificate unusable; refunds are refused");
            GatewayTls::default()
        }
    }
}

/// Start from the configuration file and the data directory: the live gateway when a merchant is
/// configured, otherwise the sandbox (a `paydesk sandbox` already running at the configured sandbox
/// address, or an embedded one). Every unfinished order is reconciled in the background. This is the
/// window's start: past days are also reconciled with WeChat's bill in the background, at start-up and
/// once a day ([`Engine::start_daily_reconciliation`]); one-shot commands use [`start_with`], which does
/// not (`paydesk reconcile` does one day by hand).
pub async fn start() -> Result<AppHandle, AppError> {
    let config = Config::load_default()?;
    let app = start_with(config, &crate::paths::data_dir()).await?;
    app.engine().start_daily_reconciliation();
    Ok(app)
}

/// [`start`] with a given configuration and data directory.
pub async fn start_with(config: Config, data_dir: &Path) -> Result<AppHandle, AppError> {
    // One engine per ledger: a second PayDesk stops here, before it touches the first one's orders.
    let lock = lock::acquire(data_dir)?;
    // Then the ledger: a damaged ledger stops start-up before anything else runs.
    let ledger = crate::engine::open_ledger(&crate::paths::ledger_in(data_dir)).await?;
    let (gateway, gateway_tls, place) = match live_gateway(&config) {
        Some(gateway) => (gateway, live_tls(&config), None),
        None => {
            let place = sandbox::find_or_start(&config, data_dir, Timing::live()).await?;
            let gateway = Gateway {
                primary: place.gateway_url(),
                backup: None,
                merchant: sandbox_merchant(),
                sandbox: true,
            };
            (gateway, place.gateway_tls(), Some(place))
        }
    };
    let mut settings = engine_settings(&config, data_dir, gateway);
    settings.gateway_tls = gateway_tls;
    match Engine::start_with_ledger(settings, ledger).await {
        Ok(engine) => {
            let mut app = AppHandle::new(engine, config, place);
            app.lock = Some(Arc::new(lock));
            Ok(app)
        }
        Err(e) => {
            if let Some(SandboxPlace::Embedded(s)) = place {
                s.shutdown().await;
            }
            Err(e.into())
        }
    }
}

/// The running PayDesk: the engine, the configuration it was started from, and the sandbox it talks to in
/// sandbox mode. Cheap to clone; the window uses it as its [`window::Backend`].
#[derive(Clone)]
pub struct AppHandle {
    engine: Engine,
    config: Arc<Config>,
    sandbox: Option<Arc<SandboxPlace>>,
    /// The data directory's lock (see [`lock`]), released when the last clone is gone.
    lock: Option<Arc<lock::InstanceLock>>,
}

impl AppHandle {
    /// Put a started engine together with its configuration and, in sandbox mode, where the sandbox is.
    pub fn new(engine: Engine, config: Config, sandbox: Option<SandboxPlace>) -> AppHandle {
        AppHandle {
            engine,
            config: Arc::new(config),
            sandbox: sandbox.map(Arc::new),
            lock: None,
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether PayDesk runs against a sandbox (and so has a simulated customer).
    pub fn is_sandbox(&self) -> bool {
        self.sandbox.is_some()
    }

    /// The sandbox's base URL in sandbox mode.
    pub fn sandbox_url(&self) -> Option<String> {
        self.sandbox.as_ref().map(|s| s.url())
    }

    /// The embedded sandbox, if this process runs one.
    pub fn embedded_sandbox(&self) -> Option<&Sandbox> {
        match self.sandbox.as_deref() {
            Some(SandboxPlace::Embedded(s)) => Some(s),
            _ => None,
        }
    }

    /// Play the customer (sandbox only): pay or fail the order, then have the engine look at once.
    pub async fn simulate_customer(
        &self,
        out_trade_no: &str,
        action: crate::engine::CustomerAction,
    ) -> Result<(), AppError> {
        let place = self.sandbox.as_deref().ok_or(AppError::NotSandbox)?;
        place.customer(out_trade_no, action).await?;
        // Polling would find it within a couple of seconds; look now.
        self.engine.check_now(out_trade_no);
        Ok(())
    }

    /// Stop the engine's background tasks, then the embedded sandbox (when no other clone holds it; else it
    /// stops when the last one is dropped). Orders stay in the ledger as they are; the next start reconciles
    /// them.
    pub async fn shutdown(self) {
        self.engine.shutdown().await;
        // The engine is stopped: another PayDesk may take the ledger (once no other clone holds the lock).
        drop(self.lock);
        if let Some(place) = self.sandbox
            && let Ok(SandboxPlace::Embedded(s)) = Arc::try_unwrap(place)
        {
            s.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gateway(sandbox: bool) -> Gateway {
        Gateway {
            primary: "http://127.0.0.1:1".into(),
            backup: None,
            merchant: sandbox_merchant(),
            sandbox,
        }
    }

    #[test]
    fn notifications_go_to_the_loopback_listener_in_sandbox_mode() {
        let mut config = Config::sandbox_default();
        config.notify.url = Some("https://shop.example/wxpay/notify".into());
        let s = engine_settings(&config, Path::new("/data"), gateway(true));
        assert_eq!(s.notify.url, NotifyUrl::Listener);
        assert!(s.notify.listen.unwrap().ip().is_loopback());
        assert_eq!(s.ledger_path, Path::new("/data/ledger.sqlite3"));
        assert_eq!(s.client_ip, "127.0.0.1");
    }

    #[test]
    fn live_mode_announces_the_configured_url_or_none() {
        let mut config = Config::sandbox_default();
        let s = engine_settings(&config, Path::new("/data"), gateway(false));
        assert_eq!(s.notify.listen, None);
        assert_eq!(s.notify.url, NotifyUrl::Fixed(NO_NOTIFY_URL.into()));
        config.notify.url = Some("https://shop.example/wxpay/notify".into());
        config.notify.listen = Some("127.0.0.1:8787".parse().unwrap());
        let s = engine_settings(&config, Path::new("/data"), gateway(false));
        assert_eq!(s.notify.listen, config.notify.listen);
        assert_eq!(
            s.notify.url,
            NotifyUrl::Fixed("https://shop.example/wxpay/notify".into())
        );
        assert_eq!(s.station, config.store.station);
        assert_eq!(s.payment_window, config.payment_window);
    }
}
