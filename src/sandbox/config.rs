//! How a sandbox is set up: the merchant identity it accepts, its clock, timing, fault injection, state
//! file and signer. Plain data with defaults; the running gateway is in `mod.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{SharedClock, SystemClock};
use crate::sandbox_defaults;
use crate::wxpay::{ApiKey, RefundStatus, Signer, V2Signer};

/// How the sandbox behaves.
#[derive(Clone)]
pub struct SandboxConfig {
    /// The one merchant identity it accepts.
    pub appid: String,
    pub mch_id: String,
    pub key: ApiKey,
    /// Its clock: creation times, expiry, `time_end`. Notification retry timing uses real (tokio) time.
    pub clock: SharedClock,
    /// closeorder is refused within this age of an order's creation (live: 5 minutes; 0 for demos).
    pub close_min_age: Duration,
    /// Multiplies the notification retry schedule: 1.0 is live, 0.001 turns 15 s into 15 ms.
    pub notify_time_scale: f64,
    pub faults: Faults,
    /// A snapshot file of the orders (TOML), rewritten atomically on every change and loaded at start.
    pub persist: Option<PathBuf>,
    /// Computes every signature the sandbox makes or checks (answers, notifications, requests). PayDesk's
    /// own [`V2Signer`] by default; tests inject an independent one, so that the merchant side (PayDesk's
    /// signer) and the gateway side never share a signing bug.
    pub signer: Arc<dyn Signer>,
    /// Refunds of one order must be at least this far apart (live: one minute, `FREQUENCY_LIMITED`),
    /// counted on the sandbox's clock. Tests shorten it.
    pub refund_min_interval: Duration,
    /// Also serve HTTPS, with client certificates (`/secapi/*` needs the merchant's).
    pub tls: Option<TlsSettings>,
    /// Serve today's trade bill too (the live gateway has a day's bill from 10:00 the next day): for tests
    /// and training, so a day can be reconciled before it is over.
    pub bills_today: bool,
}

/// The sandbox's HTTPS port: where it listens and the directory of its PKI (issued on first start, see
/// `sandbox::tls::pki`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub listen: SocketAddr,
    pub certs: PathBuf,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            appid: sandbox_defaults::APPID.into(),
            mch_id: sandbox_defaults::MCH_ID.into(),
            key: ApiKey::new(sandbox_defaults::KEY),
            clock: Arc::new(SystemClock),
            close_min_age: Duration::from_secs(5 * 60),
            notify_time_scale: 1.0,
            faults: Faults::default(),
            persist: None,
            signer: Arc::new(V2Signer),
            refund_min_interval: Duration::from_secs(60),
            tls: None,
            bills_today: false,
        }
    }
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("appid", &self.appid)
            .field("mch_id", &self.mch_id)
            .field("key", &self.key)
            .field("close_min_age", &self.close_min_age)
            .field("notify_time_scale", &self.notify_time_scale)
            .field("faults", &self.faults)
            .field("persist", &self.persist)
            .field("refund_min_interval", &self.refund_min_interval)
            .field("tls", &self.tls)
            .field("bills_today", &self.bills_today)
            .finish_non_exhaustive()
    }
}

/// Fault injection. Probabilities are 0.0..=1.0 and drawn from one RNG seeded with `seed`, so a run with
/// the same calls in the same order makes the same choices.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Probability that a notification attempt is not sent (it still uses up its schedule slot).
    pub drop_notify: f64,
    /// Probability that a delivered notification is POSTed twice, concurrently.
    pub duplicate_notify: f64,
    /// Added before every notification attempt (not scaled).
    pub notify_delay: Duration,
    /// Share of authenticated API calls answered `result_code=FAIL`, `err_code=SYSTEMERROR` (signed),
    /// without doing anything.
    pub system_error: f64,
    /// Share of API calls answered HTTP 500 with an HTML body, without doing anything.
    pub http_5xx: f64,
    /// Added before answering every API call.
    pub latency: Duration,
    /// The port is really closed (connection refused, open connections shut down); re-bound on the same
    /// port when switched off again.
    pub refuse_connections: bool,
    /// Share of signed answers whose `sign` is altered (same length, one digit changed).
    pub corrupt_sign: f64,
    /// Share of closeorder calls on an unpaid order a customer has scanned after which the payment already
    /// under way still lands (reference §5 "Race"): the close is answered SUCCESS and the order reads CLOSED, then
    /// `late_payment_after` later it is paid (SUCCESS, notification sent).
    pub pay_after_close: f64,
    /// How long after the close was answered such a late payment lands.
    pub late_payment_after: Duration,
    /// Share of the simulated customer's payments that fail (PAYERROR) instead.
    pub pay_error: f64,
    /// Share of orderqueries of an existing order answered `ORDERNOTEXIST` (signed), without doing anything.
    pub spurious_not_exist: f64,
    /// The gateway's clock runs this many seconds ahead of its configured clock (negative: behind), as a
    /// gateway whose clock is off the till's: creation, expiry, `time_end` and the 5-minute rule use it.
    pub clock_offset_secs: i64,
    pub seed: u64,
    /// How long an accepted refund stays PROCESSING before it settles (real time, not scaled). Zero: at
    /// once.
    pub refund_settle_after: Duration,
    /// How refunds settle: SUCCESS (the default), CHANGE (the card refused it) or REFUNDCLOSE.
    pub refund_outcome: RefundOutcome,
}

/// The final status the sandbox gives refunds when they settle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RefundOutcome {
    #[default]
    Success,
    Change,
    RefundClose,
}

impl RefundOutcome {
    pub fn status(self) -> RefundStatus {
        match self {
            RefundOutcome::Success => RefundStatus::Success,
            RefundOutcome::Change => RefundStatus::Change,
            RefundOutcome::RefundClose => RefundStatus::RefundClose,
        }
    }
}
