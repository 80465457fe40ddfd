//! Refunds as the window and `paydesk refund` ask for them: the manager PIN is checked first
//! ([`manager_pin`](super::manager_pin), against the configuration's hash, with the lockout shared through
//! the data directory), then the engine refunds ([`crate::engine::Engine::refund`]), naming who approved it.
//!
//! Not here: the refund's protocol, storage and watching (the engine), the PIN's rules (`manager_pin`).

use std::path::PathBuf;

use super::manager_pin::{self, Expected, FailureStore, PinError};
use super::{AppError, AppHandle};
use crate::engine::RefundView;
use crate::money::Fen;

/// A refund to make, as the cashier and the manager entered it. Its `Debug` never shows the PIN.
#[derive(Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub out_trade_no: String,
    /// `None`: all that is left.
    pub amount: Option<Fen>,
    pub reason: String,
    /// The manager's PIN, as typed.
    pub pin: String,
    /// Who asks (the cashier's name, or the command): written into `approved_by` with the PIN's approval.
    pub requested_by: String,
}

impl std::fmt::Debug for RefundRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefundRequest")
            .field("out_trade_no", &self.out_trade_no)
            .field("amount", &self.amount)
            .field("reason", &self.reason)
            .field("pin", &"****")
            .field("requested_by", &self.requested_by)
            .finish()
    }
}

/// What the window says about refunds before one is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundInfo {
    /// Refunds can be sent (a merchant certificate is configured; in sandbox mode, the sandbox's).
    pub available: bool,
    /// Why not, when they cannot.
    pub unavailable_reason: Option<String>,
    /// Sandbox mode with no PIN set: the PIN is 0000 (the window says so).
    pub sandbox_default_pin: bool,
    /// Live mode with no PIN set: refunds are refused until one is set.
    pub pin_missing: bool,
}

/// Check `pin` against `config` (its hash; in sandbox mode with none, 0000) with the wrong-PIN count in
/// `data_dir`, before anything is started (`paydesk refund`). Runs the slow hash on this thread.
pub fn check_pin(
    config: &crate::config::Config,
    data_dir: &std::path::Path,
    pin: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), PinError> {
    manager_pin::check(
        Expected::of(config.manager_pin_hash.as_deref(), config.is_sandbox()),
        &FailureStore::new(data_dir),
        pin,
        now,
    )
}

/// `approved_by` for a refund approved with the manager PIN of `config`, requested by `who`.
pub fn approved_by_for(config: &crate::config::Config, who: &str) -> String {
    approved_by(
        who,
        Expected::of(config.manager_pin_hash.as_deref(), config.is_sandbox()),
    )
}

impl AppHandle {
    /// The data directory: where the ledger is, and the count of wrong PINs.
    pub fn data_dir(&self) -> PathBuf {
        self.engine()
            .settings()
            .ledger_path
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(crate::paths::data_dir)
    }

    fn expected_pin(&self) -> Expected<'_> {
        Expected::of(self.config().manager_pin_hash.as_deref(), self.is_sandbox())
    }

    /// Check the manager PIN (counting a wrong one; five lock refunds for five minutes). Runs the slow hash
    /// on the blocking pool.
    pub async fn check_manager_pin(&self, pin: &str) -> Result<(), PinError> {
        let hash = self.config().manager_pin_hash.clone();
        let sandbox = self.is_sandbox();
        let store = FailureStore::new(&self.data_dir());
        let pin = pin.to_string();
        let now = self.engine().settings().clock.now();
        tokio::task::spawn_blocking(move || {
            manager_pin::check(Expected::of(hash.as_deref(), sandbox), &store, &pin, now)
        })
        .await
        .map_err(|e| PinError::Storage {
            path: String::new(),
            error: e.to_string(),
        })?
    }

    /// Refund with the manager's approval: the PIN is checked, then the engine stores and sends the refund
    /// and returns once its first answer is applied (the view says where it stands; events follow).
    pub async fn refund(&self, req: RefundRequest) -> Result<RefundView, AppError> {
        self.check_manager_pin(&req.pin).await?;
        let approved_by = approved_by(&req.requested_by, self.expected_pin());
        Ok(self
            .engine()
            .refund(&req.out_trade_no, req.amount, &req.reason, &approved_by)
            .await?)
    }

    /// Whether refunds can be made, and what the PIN situation is.
    pub fn refund_info(&self) -> RefundInfo {
        let available = self.engine().settings().gateway_tls.identity.is_some();
        let expected = self.expected_pin();
        RefundInfo {
            available,
            unavailable_reason: (!available)
                .then(|| crate::engine::EngineError::NoCertificate.to_string()),
            sandbox_default_pin: expected == Expected::SandboxDefault,
            pin_missing: expected == Expected::NotSet,
        }
    }
}

/// `approved_by` for a refund approved with the manager PIN, requested by `who`.
fn approved_by(who: &str, expected: Expected<'_>) -> String {
    let pin = match expected {
        Expected::SandboxDefault => "manager PIN (sandbox 0000)",
        _ => "manager PIN",
    };
    let who = who.trim();
    if who.is_empty() {
        pin.to_string()
    } else {
        format!("{pin}, requested by {who}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approved_by_names_the_pin_and_who_asked() {
        assert_eq!(
            approved_by("张三", Expected::Hash("$h")),
            "manager PIN, requested by 张三"
        );
        assert_eq!(
            approved_by(" ", Expected::SandboxDefault),
            "manager PIN (sandbox 0000)"
        );
    }
}
