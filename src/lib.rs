//! PayDesk: a desktop cashier for WeChat Pay Native scan-to-pay.
//!
//! Layers, with dependencies pointing one way only (an arrow: "uses"):
//!
//! ```text
//!   main ──► ui (eframe window)           main ──► cli
//!             │                                     │
//!             ▼                                     ▼
//!   app (composition root: configuration, paths, logging, ledger, live or sandbox;
//!    │   app::window is the interface the window is given)
//!    ├──► sandbox (the gateway side of the same protocol, on loopback) ──► wxpay
//!    ▼
//!   engine (tokio: order lifecycle, notify listener, polling, reconciliation, views)
//!    │          \
//!    ▼           ▼
//!   wxpay (protocol)    ledger (SQLite: orders, events, state machine, export)
//! ```
//!
//! [`money`], [`clock`], [`calendar`] (business days) and [`fsutil`] (atomic file writes) are shared leaf
//! modules; [`printer`] (receipts, ESC/POS) is a leaf that depends only on [`money`]. The engine never
//! imports `app`, `ui`, `config` or `sandbox`. [`report_format`] writes the ledger's day report out (CSV and the
//! printable page) for `cli` and `app`.

pub mod app;
pub mod calendar;
pub mod cli;
pub mod clock;
pub mod config;
pub mod engine;
pub mod fsutil;
pub mod ledger;
pub mod logging;
pub mod money;
pub mod paths;
pub mod printer;
pub mod report_format;
pub mod sandbox;
pub mod sandbox_defaults;
pub mod ui;
pub mod wxpay;
