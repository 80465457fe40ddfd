//! The ledger: every order, its lines and its history in SQLite, and the manager's daily CSV export.

pub mod state;

pub use state::{CloseReason, Decision, Input, OrderStatus};
