//! The ledger: every order, its item lines and its history in one SQLite file, and the manager's daily CSV
//! export.
//!
//! - [`state`] decides how a status may change (pure logic; the only place with transition rules).
//! - [`Ledger`] stores orders durably and applies inputs to them through [`state::next`], one
//!   transaction per input; every input, applied or ignored, lands in the order's append-only event log.
//! - [`refund_state`] holds the refund rules (the refund state machine, what an order can still refund, when
//!   it counts as refunded); [`Ledger::create_refund`] and [`Ledger::apply_refund`] store refunds through
//!   them, each in its own table linked to its order.
//! - [`reconcile`] reads what a day's reconciliation with WeChat's bill compares (orders by payment time,
//!   refunds by acceptance) and keeps each run's result; the comparison itself is the engine's.
//! - [`day`] is the rule for which orders and refunds belong to a business day (an order that received
//!   money: the day of its payment, like WeChat's bill; any other: the day it was created in; a refund: the
//!   day of its success, else of its creation), in Rust and in the SQL of every day query.
//! - [`report`] is the day report (日结): a business day's orders and money by status, cashier, station and
//!   hour.
//! - [`shift`] keeps the cashiers' shifts (交班): sign-in, what a shift took, its handover.
//! - [`export`] turns a business day (as [`crate::calendar`] defines it) into the CSV the manager opens in
//!   Excel.
//!
//! Not here: talking to the gateway, timers, retries (the engine), drawing anything (the UI).
//!
//! Storage conventions are in [`schema`]: amounts in integer fen, instants in UTC unix milliseconds.

pub mod day;
pub mod export;
pub mod model;
mod open;
pub mod reconcile;
pub mod refund;
pub mod refund_state;
pub mod report;
pub mod schema;
pub mod shift;
pub mod state;
mod store;

pub use export::HEADER;
pub use model::{
    Applied, Evidence, ItemLine, LedgerError, NewOrder, Order, OrderEvent, PaymentFacts, Source,
};
pub use reconcile::ReconciliationRecord;
pub use refund::{
    DaySums, NewRefund, Refund, RefundApplied, RefundEvidence, RefundRefusal, RefundSource,
};
pub use refund_state::{RefundInput, RefundProgress, RefundState};
pub use report::{DailyTotal, DayRefund, DayReport, GroupLine, HourLine, StatusLine};
pub use schema::SCHEMA_VERSION;
pub use shift::{Shift, ShiftRefusal, ShiftSummary};
pub use state::{CloseReason, Decision, Input, OrderStatus};
pub use store::{Ledger, PAID_AFTER_CANCEL_ALERT};
