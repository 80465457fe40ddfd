//! The WeChat Pay merchant API v2 as used by Native scan-to-pay: signing, XML, typed messages, errors and
//! the async client. See `docs` in README and the protocol reference the project was built from.
//!
//! Pure logic ([`sign`], [`xml`], [`api`], [`error`]) is separate from I/O ([`client`]). Nothing here knows
//! about orders in a shop, storage or the UI.

pub mod api;
pub mod cert;
pub mod client;
pub mod error;
pub mod refund;
pub mod sign;
pub mod xml;

pub use api::{
    Merchant, Notification, Payment, QueryResult, TradeState, UnifiedOrder, UnifiedOrderResult,
};
pub use client::{ClientConfig, RetryPolicy, WxClient};
pub use error::{Action, TransportKind, WxError};
pub use sign::{ApiKey, Params, SignType};
