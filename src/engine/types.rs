//! What the engine takes from and reports to its users (the UI and the command line): carts in, order views,
//! summaries and details out. Its users name these types only, never the ledger's.

use chrono::{DateTime, Utc};

use crate::money::Fen;

/// Where an order stands, with its rules (payable, progress, words): the ledger's state machine type, part of
/// the engine's views so its users need not reach into the ledger.
pub use crate::ledger::OrderStatus;

/// Where a refund stands, with its words: the ledger's refund state machine type.
pub use crate::ledger::RefundState;

/// One line of a sale as the cashier rang it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    pub name: String,
    pub unit_price: Fen,
    pub qty: u32,
}

impl CartLine {
    /// unit price × quantity, `None` on overflow.
    pub fn total(&self) -> Option<Fen> {
        self.unit_price.checked_mul(self.qty)
    }
}

/// A sale to charge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cart {
    pub lines: Vec<CartLine>,
    pub cashier: String,
}

impl Cart {
    /// The sum of all lines, `None` on overflow.
    pub fn total(&self) -> Option<Fen> {
        self.lines
            .iter()
            .try_fold(Fen::ZERO, |acc, l| acc.checked_add(l.total()?))
    }
}

/// An order as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderView {
    pub out_trade_no: String,
    pub total: Fen,
    pub status: OrderStatus,
    /// The exact string to encode in the QR code (absent until the gateway answered).
    pub code_url: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The last moment the customer can pay.
    pub expires_at: DateTime<Utc>,
    pub transaction_id: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    /// The latest problem worth showing (gateway down, retrying, …), cleared when things recover.
    pub notice: Option<String>,
}

impl OrderView {
    /// The instant that decides its business day: its payment if it received money, else its creation (the
    /// ledger's one rule, [`crate::ledger::day`]).
    pub fn day_at(&self) -> DateTime<Utc> {
        crate::ledger::day::order_day_at(self.status, self.created_at, self.paid_at)
    }
}

/// What the engine reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineEvent {
    /// An order changed (status, code_url, notice).
    Order(OrderView),
    /// A refund changed (state, notice): its live status.
    Refund(RefundView),
    /// A problem not tied to one order's status (e.g. the notify listener could not start).
    Error { message: String },
    /// A day was reconciled with WeChat's bill (by hand or automatically) and its result stored; the window
    /// tells the manager when differences are left unexplained.
    Reconciled(ReconciledDay),
}

/// The stored result of reconciling one day, in brief (the full report is in the ledger).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconciledDay {
    /// The bill's day (Beijing time).
    pub day: chrono::NaiveDate,
    /// False for `No Bill Exist`.
    pub had_bill: bool,
    pub matched: u32,
    /// Differences found, resolved from the bill or not.
    pub differences: u32,
    /// Differences the manager must look at.
    pub unexplained: u32,
}

/// A refund as the window and the command line show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundView {
    pub out_refund_no: String,
    pub out_trade_no: String,
    pub amount: Fen,
    pub reason: String,
    /// Who approved it (named on every event of the refund).
    pub approved_by: String,
    pub status: RefundState,
    /// WeChat Pay's number for it, once accepted.
    pub refund_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub success_at: Option<DateTime<Utc>>,
    /// Where the money went back (e.g. `支付用户零钱`).
    pub recv_account: Option<String>,
    /// The gateway reported something that contradicts the ledger: the manager must look.
    pub flagged: bool,
    /// The latest problem worth showing (retrying, one minute between refunds, balance too low), cleared
    /// when things recover.
    pub notice: Option<String>,
}

/// An order's refunds and what is left to refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRefunds {
    pub out_trade_no: String,
    pub status: OrderStatus,
    pub total: Fen,
    /// Refunds that succeeded (money back with the customer).
    pub refunded: Fen,
    /// Refunds under way (and CHANGE ones, which hold their amount).
    pub pending: Fen,
    /// What can still be refunded: the default amount of a new refund.
    pub refundable: Fen,
    /// Oldest first.
    pub refunds: Vec<RefundView>,
}

/// What the simulated customer does (sandbox only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerAction {
    Pay,
    Fail,
}

/// One order in a business day's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSummary {
    pub out_trade_no: String,
    pub created_at: DateTime<Utc>,
    pub total: Fen,
    pub status: OrderStatus,
    pub transaction_id: Option<String>,
    pub cashier: String,
}

/// One line of a stored order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineView {
    pub name: String,
    pub unit_price: Fen,
    pub qty: u32,
    pub line_total: Fen,
}

/// One entry of an order's history, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventView {
    pub at: DateTime<Utc>,
    /// What happened: the input (`created`, `paid`, `closed`, …) or a logged step (`unifiedorder.request`, …).
    pub kind: String,
    /// The change it caused or why it was ignored (`open -> paid`, `ignored: already paid`); may be empty.
    pub outcome: String,
    pub detail: String,
}

impl EventView {
    /// The outcome and the detail as one line (`open -> paid · trade_state=SUCCESS`); empty if both are.
    pub fn text(&self) -> String {
        [self.outcome.as_str(), self.detail.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// An order's lines and history.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderDetail {
    /// Who took the order (the signed-in cashier; empty with no cashier list): what its receipt names.
    pub cashier: String,
    pub lines: Vec<LineView>,
    pub events: Vec<EventView>,
}
