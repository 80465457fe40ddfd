//! What the engine is started with: the shop, the gateway, the notification listener, and its patience.
//!
//! Plain values, built by the composition root ([`crate::app`]) from the configuration file, or directly by
//! tests and benchmarks. The engine never reads the configuration file itself.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use rustls_pki_types::CertificateDer;

use crate::clock::SharedClock;
use crate::wxpay::cert::MerchantIdentity;
use crate::wxpay::{Merchant, RetryPolicy};

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
    /// An order is closed as expired only this long after its `time_expire`, after one more query: a payment
    /// made inside the window but seen late (a slow network, a gateway clock ahead of ours) is then paid, not
    /// paid after cancel.
    pub expiry_margin: Duration,
    /// After an order is given up (closed, failed, not found), it is queried again this long after the
    /// previous look, one entry per re-check: a payment can still land after the close (reference §5).
    pub recheck_after: [Duration; 4],
    /// At every start, orders given up whose `time_expire` is less than this ago are queried again.
    pub recheck_horizon: Duration,
    /// The first refundquery of an accepted refund; each PROCESSING answer doubles the wait, up to
    /// `refund_max_poll` (a refund to a bank card can take days).
    pub refund_poll_interval: Duration,
    pub refund_max_poll: Duration,
    /// After FREQUENCY_LIMITED (one minute between refunds of one order) or NOTENOUGH: the same refund is
    /// sent again this much later.
    pub refund_retry_later: Duration,
}

impl Timing {
    /// What the live gateway wants.
    pub fn live() -> Timing {
        Timing {
            first_query_after: Duration::from_secs(3),
            poll_interval: Duration::from_secs(2),
            max_backoff: Duration::from_secs(30),
            close_min_age: Duration::from_secs(5 * 60),
            expiry_margin: Duration::from_secs(30),
            recheck_after: [
                Duration::from_secs(30),
                Duration::from_secs(2 * 60),
                Duration::from_secs(10 * 60),
                Duration::from_secs(60 * 60),
            ],
            recheck_horizon: Duration::from_secs(24 * 60 * 60),
            refund_poll_interval: Duration::from_secs(5),
            refund_max_poll: Duration::from_secs(30 * 60),
            refund_retry_later: Duration::from_secs(61),
        }
    }

    /// For tests and benchmarks against a sandbox that allows immediate closes.
    pub fn fast() -> Timing {
        Timing {
            first_query_after: Duration::from_millis(20),
            poll_interval: Duration::from_millis(50),
            max_backoff: Duration::from_millis(400),
            close_min_age: Duration::ZERO,
            expiry_margin: Duration::ZERO,
            recheck_after: [
                Duration::from_millis(30),
                Duration::from_millis(60),
                Duration::from_millis(120),
                Duration::from_millis(240),
            ],
            recheck_horizon: Duration::from_secs(24 * 60 * 60),
            refund_poll_interval: Duration::from_millis(20),
            refund_max_poll: Duration::from_millis(200),
            refund_retry_later: Duration::from_millis(100),
        }
    }
}

/// The gateway to talk to: base URLs and the merchant identity it accepts.
#[derive(Debug, Clone)]
pub struct Gateway {
    pub primary: String,
    pub backup: Option<String>,
    pub merchant: Merchant,
    /// Whether it is a sandbox (logged as the mode; the caller decides what else that means).
    pub sandbox: bool,
}

/// The TLS side of the gateway connection: the merchant API certificate refunds present on `/secapi/*`,
/// and trust anchors added for a gateway with its own CA (the sandbox's HTTPS port; never live).
#[derive(Debug, Clone, Default)]
pub struct GatewayTls {
    /// `None`: refunds are refused before anything is sent.
    pub identity: Option<MerchantIdentity>,
    pub extra_roots: Vec<CertificateDer<'static>>,
}

/// The `notify_url` sent with every order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyUrl {
    /// This URL (a public address that forwards to the listener, or one that goes nowhere).
    Fixed(String),
    /// The listener's own address once it is bound (`http://{addr}/wxpay/notify`): for a gateway on the
    /// same machine, such as the sandbox. Needs [`NotifySettings::listen`].
    Listener,
}

/// The notification listener and the URL orders announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifySettings {
    /// Where the listener listens; `None`: no listener (polling alone confirms payments).
    pub listen: Option<SocketAddr>,
    pub url: NotifyUrl,
}

/// Everything the engine needs to start.
#[derive(Clone)]
pub struct EngineSettings {
    /// The shop's name, first part of every order's `body`.
    pub store_name: String,
    /// This till: part of every order number and its `device_info`.
    pub station: String,
    /// How long a QR code can be paid.
    pub payment_window: Duration,
    /// `spbill_create_ip` sent with every order.
    pub client_ip: String,
    pub notify: NotifySettings,
    pub gateway: Gateway,
    /// The merchant certificate and extra trust for the gateway's HTTPS.
    pub gateway_tls: GatewayTls,
    /// The ledger [`crate::engine::Engine::start`] opens.
    pub ledger_path: PathBuf,
    pub clock: SharedClock,
    pub timing: Timing,
    /// Retries of one gateway call (unifiedorder, closeorder).
    pub retry: RetryPolicy,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
}
