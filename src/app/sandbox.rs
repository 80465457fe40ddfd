//! Sandbox mode at start-up: use a `paydesk sandbox` already running at the configured address, or start
//! the embedded one; and play the customer against whichever it is.
//!
//! Only the composition root knows the sandbox exists: the engine just talks to a gateway at a URL.

use std::path::Path;
use std::time::Duration;

use super::AppError;
use crate::config::Config;
use crate::engine::{CustomerAction, Timing};
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::wxpay::{ApiKey, Merchant, SignType};

/// The merchant identity of the sandbox.
pub fn sandbox_merchant() -> Merchant {
    Merchant {
        appid: crate::sandbox_defaults::APPID.into(),
        mch_id: crate::sandbox_defaults::MCH_ID.into(),
        key: ApiKey::new(crate::sandbox_defaults::KEY),
        sign_type: SignType::HmacSha256,
    }
}

/// Where the sandbox runs.
pub enum SandboxPlace {
    /// Inside this process; it stops with it.
    Embedded(Sandbox),
    /// Somewhere else (a `paydesk sandbox` in another terminal, a test's sandbox): its base URL.
    Running(String),
}

impl SandboxPlace {
    /// The sandbox's base URL.
    pub fn url(&self) -> String {
        match self {
            SandboxPlace::Embedded(s) => s.base_url(),
            SandboxPlace::Running(url) => url.clone(),
        }
    }

    /// Play the customer: pay or fail the order.
    pub async fn customer(
        &self,
        out_trade_no: &str,
        action: CustomerAction,
    ) -> Result<(), AppError> {
        let act = match action {
            CustomerAction::Pay => crate::sandbox::CustomerAction::Pay,
            CustomerAction::Fail => crate::sandbox::CustomerAction::Fail,
        };
        match self {
            SandboxPlace::Embedded(s) => s.customer(out_trade_no, act).await,
            SandboxPlace::Running(url) => crate::sandbox::remote_customer(url, out_trade_no, act)
                .await
                .map(|_| ()),
        }
        .map_err(|e| AppError::Sandbox(e.to_string()))
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

/// Start the embedded sandbox at the configured address; if a `paydesk sandbox` already serves there, use it;
/// if something else holds the port, take any free port. Its state is kept in `data_dir`; it allows closes
/// after `timing.close_min_age`, like the engine expects.
pub async fn find_or_start(
    config: &Config,
    data_dir: &Path,
    timing: Timing,
) -> Result<SandboxPlace, AppError> {
    let sandbox_config = SandboxConfig {
        clock: std::sync::Arc::new(crate::clock::SystemClock),
        close_min_age: timing.close_min_age,
        persist: Some(data_dir.join("sandbox-state.json")),
        ..SandboxConfig::default()
    };
    let addr = config.sandbox_listen;
    match Sandbox::start(sandbox_config.clone(), addr).await {
        Ok(s) => Ok(SandboxPlace::Embedded(s)),
        Err(e) => {
            let url = format!("http://{addr}");
            if sandbox_answers(&url).await {
                tracing::info!(%url, "using the sandbox already running there");
                return Ok(SandboxPlace::Running(url));
            }
            tracing::warn!(%addr, error = %e, "sandbox address busy; using a free port");
            Sandbox::start(sandbox_config, "127.0.0.1:0".parse().expect("valid"))
                .await
                .map(SandboxPlace::Embedded)
                .map_err(|e| {
                    AppError::Engine(crate::engine::EngineError::Startup(format!(
                        "cannot start the sandbox on loopback: {e}"
                    )))
                })
        }
    }
}
