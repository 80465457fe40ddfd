//! Signing in and handing over (交班) as the window asks for them: who may sign in (the configured cashiers),
//! their PIN checked like the manager's ([`manager_pin`](super::manager_pin): Argon2id, five wrong PINs lock
//! that cashier out for five minutes, counted per cashier in the data directory), then the ledger's shift
//! through the engine.
//!
//! With no cashier list, or a single cashier without a PIN, sign-in is automatic; a shift left open (a
//! crash, the window closed without a handover) is resumed at the next start, so the cashier stays signed
//! in. Not here: what a shift counts and when it may end (the ledger), drawing (the window).

use std::time::Duration;

use super::AppHandle;
use super::manager_pin::{self, Expected, FailureStore, PinError};
use super::window::{CashierChoice, ShiftError, ShiftSummary, ShiftView, SignInInfo};
use crate::engine::EngineError;
use crate::ledger::{LedgerError, Shift, ShiftRefusal};

/// How long a sign-in waits for the ledger's start-up check before it gives up.
const CHECK_WAIT: Duration = Duration::from_secs(60);

fn view(s: Shift) -> ShiftView {
    ShiftView {
        cashier: s.cashier,
        signed_in_at: s.signed_in_at,
    }
}

/// An engine error as the window shows it: the shift refusals it words itself, the rest as text.
fn shift_error(e: EngineError) -> ShiftError {
    match e {
        EngineError::Ledger(LedgerError::Shift(ShiftRefusal::OrderUnfinished {
            out_trade_no,
            ..
        })) => ShiftError::OrderOpen { out_trade_no },
        EngineError::Ledger(LedgerError::Shift(ShiftRefusal::OtherCashierSignedIn {
            cashier,
            ..
        })) => ShiftError::OtherSignedIn { cashier },
        EngineError::Ledger(e) => ShiftError::Failed(e.to_string()),
        e => ShiftError::Failed(e.to_string()),
    }
}

impl AppHandle {
    /// The configured cashiers, which of them have a PIN, and the blind option.
    pub fn sign_in_info(&self) -> SignInInfo {
        let c = self.config();
        SignInInfo {
            cashiers: c
                .store
                .cashiers
                .iter()
                .map(|name| CashierChoice {
                    name: name.clone(),
                    pin: c.shift.pin_hash(name).is_some(),
                })
                .collect(),
            blind: c.shift.blind,
        }
    }

    /// The station's open shift (resumed after a restart); with none and `automatic` given, that cashier is
    /// signed in.
    pub async fn resume_shift(
        &self,
        automatic: Option<String>,
    ) -> Result<Option<ShiftView>, String> {
        let engine = self.engine();
        if let Some(open) = engine.open_shift().await.map_err(|e| e.to_string())? {
            return Ok(Some(view(open)));
        }
        let Some(cashier) = automatic else {
            return Ok(None);
        };
        engine.ledger_checked(CHECK_WAIT).await;
        engine
            .sign_in(&cashier)
            .await
            .map(|s| Some(view(s)))
            .map_err(|e| e.to_string())
    }

    /// Sign `cashier` in: a configured cashier (or, with no list, nobody by name), with their PIN when they
    /// have one (checked on the blocking pool; wrong ones counted).
    pub async fn sign_in(&self, cashier: String, pin: String) -> Result<ShiftView, ShiftError> {
        let config = self.config();
        // A listed name; with no list, only nobody by name (the automatic sign-in).
        let allowed = config.store.cashiers.contains(&cashier)
            || (config.store.cashiers.is_empty() && cashier.is_empty());
        if !allowed {
            return Err(ShiftError::Failed(format!(
                "{cashier:?} is not in [store] cashiers"
            )));
        }
        if let Some(hash) = config.shift.pin_hash(&cashier) {
            let hash = hash.to_owned();
            let store = FailureStore::for_cashier(&self.data_dir(), &cashier);
            let now = self.engine().settings().clock.now();
            let checked = tokio::task::spawn_blocking(move || {
                manager_pin::check(Expected::Hash(&hash), &store, &pin, now)
            })
            .await
            .map_err(|e| ShiftError::Failed(format!("the PIN check failed: {e}")))?;
            match checked {
                Ok(()) => {}
                Err(PinError::Wrong { left }) => return Err(ShiftError::WrongPin { left }),
                Err(PinError::Locked { until }) => return Err(ShiftError::Locked { until }),
                Err(e) => return Err(ShiftError::Failed(e.to_string())),
            }
        }
        let engine = self.engine();
        engine.ledger_checked(CHECK_WAIT).await;
        engine
            .sign_in(&cashier)
            .await
            .map(view)
            .map_err(shift_error)
    }

    /// The open shift and what it took so far.
    pub async fn shift_summary(&self) -> Result<(ShiftView, ShiftSummary), String> {
        let engine = self.engine();
        let open = engine
            .open_shift()
            .await
            .map_err(|e| e.to_string())?
            .ok_or("nobody is signed in at this station")?;
        let summary = engine
            .shift_summary(open.id)
            .await
            .map_err(|e| e.to_string())?;
        Ok((view(open), summary))
    }

    /// Hand the open shift over: refused while an order of this station is unfinished; what it took.
    pub async fn hand_over(&self) -> Result<ShiftSummary, ShiftError> {
        let engine = self.engine();
        let open = engine
            .open_shift()
            .await
            .map_err(shift_error)?
            .ok_or_else(|| ShiftError::Failed("nobody is signed in at this station".into()))?;
        let done = engine.hand_over(open.id).await.map_err(shift_error)?;
        done.summary
            .ok_or_else(|| ShiftError::Failed("the handover recorded no summary".into()))
    }
}
