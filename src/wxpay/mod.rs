//! The WeChat Pay merchant API v2 as used by Native scan-to-pay: signing, XML, the message envelope, typed
//! messages, errors and the async client. See `docs` in README and the protocol reference the project was
//! built from.
//!
//! Layers: [`sign`] (the digest rule) and [`xml`] (the defensive codec) → [`envelope`] (one v2 message:
//! sealed, opened and checked in the protocol's order, for the merchant side and the gateway side alike) →
//! [`api`] (the typed calls and the notification) → [`client`] (HTTP, retries, failover; the only I/O).
//! [`error`] says what to do after each failure; [`refund`] holds the refund messages (apply, query, the
//! encrypted notification); [`cert`] loads the merchant API certificate refunds need; [`bill`] is the trade bill
//! (downloadbill: the request, when a day's bill is ready, and the parser of its text format).
//!
//! Not here: orders in a shop, storage, the UI, or the gateway's business rules (the sandbox owns those and
//! uses this module for every message it reads or writes).

pub mod api;
pub mod bill;
pub mod cert;
pub mod client;
pub mod envelope;
pub mod error;
pub mod refund;
pub mod sign;
pub mod xml;

pub use api::{Notification, Payment, QueryResult, TradeState, UnifiedOrder, UnifiedOrderResult};
pub use bill::{Bill, BillAnswer, BillError, BillRequest, BillRow, BillType, Fee};
pub use client::{ClientConfig, RetryPolicy, WxClient};
pub use envelope::{Merchant, Sealer, Signer, V2Signer};
pub use error::{Action, TransportKind, WxError};
pub use refund::{Refund, RefundAccepted, RefundNotification, RefundQueryResult, RefundStatus};
pub use sign::{ApiKey, Params, SignType};
