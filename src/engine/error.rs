//! Why an engine call failed. The text is meant for the cashier.

use crate::ledger::{LedgerError, RefundRefusal};
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
    /// A refund refused before anything was stored or sent (not paid, more than is left, …); the text says
    /// how much can be refunded.
    #[error("{0}")]
    RefundRefused(RefundRefusal),
    /// Nothing is left to refund of a paid order (refunded in full, or the rest is under way).
    #[error("nothing is left to refund of order {0}: ¥0.00 can be refunded")]
    NothingToRefund(String),
    /// No merchant API certificate: refunds are refused before anything is stored or sent.
    #[error(
        "refunds need the merchant API certificate (apiclient_cert.p12, or apiclient_cert.pem + apiclient_key.pem): \
         set `cert` (and `cert_key` for PEM) in [merchant] and check it with `paydesk config check`; nothing was \
         stored or sent"
    )]
    NoCertificate,
    #[error("no refund {0}")]
    UnknownRefund(String),
}
