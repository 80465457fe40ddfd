//! PayDesk: a desktop cashier for WeChat Pay Native scan-to-pay.
//!
//! Layers, with dependencies pointing one way only:
//!
//! ```text
//!   ui (eframe window)      cli (paydesk …)
//!          \                 /
//!           engine (tokio: order lifecycle, notify listener, polling, reconciliation)
//!           /            \
//!   wxpay (protocol)    ledger (SQLite: orders, events, export)
//!       |
//!   sandbox (the gateway side of the same protocol, on loopback)
//! ```
//!
//! [`money`] and [`clock`] are shared leaf modules; [`printer`] (receipts, ESC/POS) is a leaf that
//! depends only on [`money`].

pub mod cli;
pub mod clock;
pub mod config;
pub mod engine;
pub mod ledger;
pub mod logging;
pub mod money;
pub mod paths;
pub mod printer;
pub mod sandbox;
pub mod sandbox_defaults;
pub mod sandbox_tls;
pub mod ui;
pub mod wxpay;
