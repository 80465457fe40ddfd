//! The ledger's data types: what goes in ([`NewOrder`], [`Evidence`]), what comes out ([`Order`],
//! [`ItemLine`], [`OrderEvent`], [`Applied`]) and what can go wrong ([`LedgerError`]).

use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::state::{CloseReason, OrderStatus};
use crate::money::Fen;

/// One line of an order: what was sold, at what price, how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemLine {
    pub name: String,
    pub unit_price: Fen,
    pub qty: u32,
    /// `unit_price × qty`; [`crate::ledger::Ledger::create_order`] refuses a line where it is not.
    pub line_total: Fen,
}

impl ItemLine {
    /// A line with its total computed; `None` if the total overflows.
    pub fn new(name: impl Into<String>, unit_price: Fen, qty: u32) -> Option<ItemLine> {
        Some(ItemLine {
            name: name.into(),
            unit_price,
            qty,
            line_total: unit_price.checked_mul(qty)?,
        })
    }
}

/// An order about to be sent to the gateway. Stored before the unifiedorder request goes out, with that
/// request's fields, so any retry (or re-entry after a restart) sends byte-identical parameters.
///
/// Times are stored to the millisecond.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub out_trade_no: String,
    pub station: String,
    pub cashier: String,
    pub created_at: DateTime<Utc>,
    /// The last moment the customer can pay.
    pub expires_at: DateTime<Utc>,
    /// Must equal the sum of the items' line totals.
    pub total: Fen,
    pub items: Vec<ItemLine>,
    // The unifiedorder request.
    pub body: String,
    pub notify_url: String,
    pub spbill_create_ip: String,
    pub product_id: String,
    pub device_info: Option<String>,
    pub time_start: DateTime<Utc>,
    pub time_expire: DateTime<Utc>,
}

#[cfg(test)]
impl NewOrder {
    /// For the ledger's own tests: order `out_trade_no` of `total` with no items, made, started and
    /// expiring at `at`.
    pub(crate) fn for_test(out_trade_no: &str, total: Fen, at: DateTime<Utc>) -> NewOrder {
        NewOrder {
            out_trade_no: out_trade_no.into(),
            station: "s".into(),
            cashier: "c".into(),
            created_at: at,
            expires_at: at,
            total,
            items: vec![],
            body: "b".into(),
            notify_url: "n".into(),
            spbill_create_ip: "127.0.0.1".into(),
            product_id: "p".into(),
            device_info: None,
            time_start: at,
            time_expire: at,
        }
    }
}

/// An order as stored: [`NewOrder`]'s fields (without the items, see [`crate::ledger::Ledger::items`]),
/// where it stands, and what the gateway told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub out_trade_no: String,
    pub station: String,
    pub cashier: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub total: Fen,
    pub body: String,
    pub notify_url: String,
    pub spbill_create_ip: String,
    pub product_id: String,
    pub device_info: Option<String>,
    pub time_start: DateTime<Utc>,
    pub time_expire: DateTime<Utc>,

    pub status: OrderStatus,
    /// Why it is being (or was) closed; set by `CloseRequested`.
    pub close_reason: Option<CloseReason>,
    /// The string to encode in the QR code; set by `Created`.
    pub code_url: Option<String>,
    pub prepay_id: Option<String>,
    /// WeChat's transaction id; set by `Paid`.
    pub transaction_id: Option<String>,
    /// `time_end` of the payment (or the moment the ledger learned of it, if the gateway gave none).
    pub paid_at: Option<DateTime<Utc>>,
    pub cash_fee: Option<Fen>,
    pub bank_type: Option<String>,
    pub openid: Option<String>,
    /// The manager must look at this order: paid after cancel, an amount mismatch, a second transaction…
    pub flagged: bool,
    /// Why it is flagged (`; `-separated when flagged more than once).
    pub flag_reason: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// Re-checks at the gateway since it was given up (a payment may still land after the close).
    pub rechecks: u32,
    /// The sum of its succeeded refunds (money back with the customer). Derived from the refunds table.
    pub refunded: Fen,
    /// The sum of its refunds that hold money without having succeeded (requesting, processing, CHANGE).
    pub refund_pending: Fen,
}

impl Order {
    /// What can still be refunded ([`super::refund_state::refundable`]); zero if it may not be refunded.
    pub fn refundable(&self) -> Fen {
        super::refund_state::refundable(self.status, self.total, self.refunded, self.refund_pending)
            .unwrap_or(Fen::ZERO)
    }

    /// Partially refunded, refunded, … ([`super::refund_state::refund_progress`]).
    pub fn refund_progress(&self) -> super::refund_state::RefundProgress {
        super::refund_state::refund_progress(self.total, self.refunded, self.refund_pending)
    }
}

/// Who reported an input to [`crate::ledger::Ledger::apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The unifiedorder response.
    UnifiedOrder,
    /// A payment notification from the gateway.
    Notify,
    /// An orderquery response.
    Query,
    /// A closeorder response.
    CloseOrder,
    /// A refund response.
    Refund,
    /// The cashier (cancel) or the countdown (expiry).
    Cashier,
    /// Start-up reconciliation.
    Startup,
    /// WeChat's trade bill (reconciling a day, `engine::reconcile`).
    Bill,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::UnifiedOrder => "unifiedorder",
            Source::Notify => "notify",
            Source::Query => "query",
            Source::CloseOrder => "closeorder",
            Source::Refund => "refund",
            Source::Cashier => "cashier",
            Source::Startup => "startup",
            Source::Bill => "bill",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verified payment, as the gateway reported it (mirrors `wxpay::Payment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentFacts {
    pub transaction_id: String,
    pub total_fee: Fen,
    pub cash_fee: Option<Fen>,
    pub time_end: Option<DateTime<Utc>>,
    pub bank_type: Option<String>,
    pub openid: Option<String>,
}

/// What came with an input: who reported it, a summary for the event log, and the facts the ledger stores.
///
/// `detail` is written to the append-only event log as given: a summary of what arrived (result codes, trade
/// state, amounts), never the API key or a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub source: Source,
    pub detail: String,
    /// Required with `Input::Created` (this is how the code_url is stored; there is no separate setter).
    pub code_url: Option<String>,
    pub prepay_id: Option<String>,
    /// Required with `Input::Paid`.
    pub payment: Option<PaymentFacts>,
}

impl Evidence {
    /// Evidence that carries nothing but its source and a summary.
    pub fn new(source: Source, detail: impl Into<String>) -> Evidence {
        Evidence {
            source,
            detail: detail.into(),
            code_url: None,
            prepay_id: None,
            payment: None,
        }
    }

    /// For `Input::Created`: the unifiedorder response's code_url and prepay_id.
    pub fn created(
        code_url: impl Into<String>,
        prepay_id: Option<String>,
        detail: impl Into<String>,
    ) -> Evidence {
        Evidence {
            code_url: Some(code_url.into()),
            prepay_id,
            ..Evidence::new(Source::UnifiedOrder, detail)
        }
    }

    /// For `Input::Paid`: the verified payment.
    pub fn paid(source: Source, payment: PaymentFacts, detail: impl Into<String>) -> Evidence {
        Evidence {
            payment: Some(payment),
            ..Evidence::new(source, detail)
        }
    }
}

/// What [`crate::ledger::Ledger::apply`] did. The input was recorded as an event in every case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub before: OrderStatus,
    pub after: OrderStatus,
    /// The status (and the facts that came with it) changed.
    pub changed: bool,
    /// Why nothing changed: the state machine's reason ("already paid", …), or the ledger's refusal
    /// ("amount mismatch", "different transaction_id").
    pub ignored: Option<&'static str>,
    /// Something the cashier or the manager must see now (paid after cancel, amount mismatch, …). The order
    /// is flagged whenever this is set.
    pub alert: Option<String>,
}

/// One entry of an order's append-only history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEvent {
    /// Increases with every event in the ledger; orders events of one order.
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// `recorded` (by `create_order`), the input's name for `apply` (`created`, `create_failed`,
    /// `user_paying`, `paid`, `pay_error`, `close_requested`, `closed`, `refunded`), the refund steps
    /// (`refund_requested` by `create_refund`; `refund_accepted`, `refund_succeeded`, … by `apply_refund`,
    /// their detail naming the refund and who approved it), or the caller's kind for `log_event`.
    pub kind: String,
    /// Who reported it (see [`Source`]); `log` for `log_event`.
    pub source: String,
    pub detail: String,
    /// For `apply`: `open -> paid`, `ignored: already paid`, `refused: amount mismatch …`. Empty for
    /// `log_event`.
    pub outcome: String,
}

/// Why a ledger call failed. The messages name the file and what to do where that helps.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("cannot open the ledger at {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not a PayDesk ledger ({reason}); it was left untouched. Restore it from a backup, or \
         move it away to start a new ledger"
    )]
    NotADatabase { path: PathBuf, reason: String },
    #[error(
        "the ledger at {path} is damaged ({report}); it was left untouched. Restore it from a backup \
         (`paydesk backup` makes one)"
    )]
    Corrupt { path: PathBuf, report: String },
    #[error(
        "the ledger at {path} was written by a newer PayDesk (schema {found}; this one knows up to \
         {known}); it was left untouched"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error(
        "checking the ledger… / 正在检查账本… ({path}); nothing is written until the check passes"
    )]
    Checking { path: PathBuf },
    #[error("order {0} is already in the ledger")]
    Duplicate(String),
    #[error("order {0} is not in the ledger")]
    NotFound(String),
    #[error("refused: {0}")]
    Invalid(String),
    #[error("refund {0} is not in the ledger")]
    RefundNotFound(String),
    #[error("refund refused: {0}")]
    RefundRefused(super::refund::RefundRefusal),
    #[error("{0}")]
    Shift(#[from] super::shift::ShiftRefusal),
    #[error("ledger database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot write {path}: {source}")]
    WriteFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing the export failed: {0}")]
    Export(#[from] csv::Error),
    #[error("writing the export failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("backup to {path} failed: {reason}")]
    Backup { path: PathBuf, reason: String },
}

impl From<crate::calendar::DayError> for LedgerError {
    fn from(e: crate::calendar::DayError) -> Self {
        LedgerError::Invalid(e.0)
    }
}

impl From<rusqlite::types::FromSqlError> for LedgerError {
    fn from(e: rusqlite::types::FromSqlError) -> Self {
        LedgerError::Sqlite(e.into())
    }
}
