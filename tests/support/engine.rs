//! Engine set-ups: settings for an engine against a test sandbox, and a second handle on its ledger.

use std::time::Duration;

use paydesk::app::{engine_settings as app_settings, sandbox_merchant};
use paydesk::config::Config;
use paydesk::engine::{EngineSettings, Gateway, Timing};
use paydesk::ledger::Ledger;
use paydesk::wxpay::RetryPolicy;

/// Engine settings for a test: ledger in `dir`, the sandbox at `url`, fast timing and short timeouts.
pub fn engine_settings(dir: &std::path::Path, url: &str) -> EngineSettings {
    let gateway = Gateway {
        primary: url.to_string(),
        backup: None,
        merchant: sandbox_merchant(),
        sandbox: true,
    };
    let mut s = app_settings(&Config::sandbox_default(), dir, gateway);
    s.timing = Timing::fast();
    s.retry = RetryPolicy {
        attempts: 3,
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
    };
    s.connect_timeout = Duration::from_millis(500);
    s.read_timeout = Duration::from_secs(1);
    s
}

/// A second handle on the ledger an engine started with [`engine_settings`] uses (the ledger allows several),
/// for a test to look at what was stored.
pub fn ledger(dir: &std::path::Path) -> Ledger {
    Ledger::open(&dir.join("ledger.sqlite3")).unwrap()
}
