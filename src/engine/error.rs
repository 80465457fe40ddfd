//! Why an engine call failed. The text is meant for the cashier.

use crate::ledger::LedgerError;
use crate::wxpay::WxError;

/// Why an engine call failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the sale has no items")]
    EmptyCart,
    #[error("{0}")]
    InvalidCart(String),
    #[error("ledger: {0}")]
    Ledger(#[from] LedgerError),
    #[error("{advice}")]
    Gateway { advice: String, error: WxError },
    #[error("no order {0}")]
    UnknownOrder(String),
    #[error("cannot start: {0}")]
    Startup(String),
}
