//! The day report (日结): a business day's orders and money as the manager reads them at closing time.
//!
//! What belongs to a day follows the CSV export and WeChat's bill: an order that received money belongs to
//! the business day of its *payment* (`paid_at`), any other order to the day it was created in, and a refund
//! to the day of its success (else of its creation). So the report's totals are the CSV's sums for the same
//! day, row for row.
//!
//! These are the report's types: what the command line prints (`paydesk report`), what the window's
//! "日结 Day report" screen draws and what the receipt printer prints. The ledger fills them; nothing here
//! draws, prints or talks to the gateway.

use chrono::NaiveDate;

use super::reconcile::ReconciliationRecord;
use super::refund::DaySums;
use super::state::OrderStatus;
use crate::money::Fen;

/// A business day's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayReport {
    pub day: NaiveDate,
    /// The hour (local time) the business day starts at.
    pub day_start_hour: u8,
    /// Orders of the day by status, in [`OrderStatus::ALL`] order, statuses with no order left out.
    pub by_status: Vec<StatusLine>,
    /// Received, refunded, net: the same sums as the CSV's received and refunded columns.
    pub sums: DaySums,
    /// Orders that received money (paid, paid after cancel, refunded since).
    pub paid_orders: u32,
    /// Refunds that succeeded on the day.
    pub refunds: u32,
    /// Per cashier, by name, in name order.
    pub by_cashier: Vec<GroupLine>,
    /// Per station, by name, in name order.
    pub by_station: Vec<GroupLine>,
    /// Takings by the hour of the day (local clock hour of the payment or refund), hours with neither left out,
    /// in the business day's order (from `day_start_hour`).
    pub hourly: Vec<HourLine>,
    /// The latest reconciliation with WeChat's bill for this day (the bill's Beijing calendar day with the same
    /// date), if one ran: matched, differences, the bill's service fee.
    pub reconciliation: Option<ReconciliationRecord>,
}

/// Orders of one status on the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    pub status: OrderStatus,
    pub orders: u32,
    /// The sum of their totals.
    pub amount: Fen,
}

/// One cashier's or one station's part of the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLine {
    pub name: String,
    /// Orders that received money.
    pub paid_orders: u32,
    pub sums: DaySums,
}

/// One clock hour of the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourLine {
    /// 0–23, local time.
    pub hour: u8,
    pub paid_orders: u32,
    pub sums: DaySums,
}

/// One day's totals, for the chart of the last 30 days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyTotal {
    pub day: NaiveDate,
    pub paid_orders: u32,
    pub sums: DaySums,
}
