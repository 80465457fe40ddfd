//! Helpers shared by the integration tests that run the engine against a sandbox.
#![allow(dead_code)]

use std::time::Duration;

use paydesk::config::Config;
use paydesk::engine::{EngineSettings, Gateway, Timing, sandbox_merchant};
use paydesk::wxpay::RetryPolicy;

/// Engine settings for a test: ledger in `dir`, the sandbox at `url`, fast timing and short timeouts.
pub fn engine_settings(dir: &std::path::Path, url: &str) -> EngineSettings {
    let mut s = EngineSettings::new(Config::sandbox_default(), dir.to_path_buf());
    s.gateway = Gateway::External {
        primary: url.to_string(),
        backup: None,
        merchant: sandbox_merchant(),
        sandbox: true,
    };
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
