//! How a sandbox is set up: the merchant identity it accepts, its clock, timing, fault injection, state
//! file and signer. Plain data with defaults; the running gateway is in `mod.rs`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{SharedClock, SystemClock};
use crate::sandbox_defaults;
use crate::wxpay::{ApiKey, Signer, V2Signer};

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
    pub seed: u64,
}
