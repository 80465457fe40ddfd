//! Refunds in the ledger: recording one before its request leaves ([`Ledger::create_refund`]), applying what
//! the gateway reports through [`refund_state::next`] ([`Ledger::apply_refund`]), reading them back (per
//! order, in flight, per business day) and a business day's sums.
//!
//! Every write is one durable `BEGIN IMMEDIATE` transaction, like [`Ledger::apply`], and lands on the order's
//! append-only event log naming who approved the refund. The rules themselves (states, what is refundable,
//! when an order is refunded) are in [`super::refund_state`]; this file only stores and reads. Not here:
//! sending refund requests, watching them, the manager PIN (the engine).
//!
//! This file: the refund's types (what is recorded, what a write returns or refuses, a day's sums).
//! Writing them is `write.rs` (create, apply); reading them back and their row format is `read.rs`.

use std::fmt;

use chrono::{DateTime, Utc};

use super::model::{Order, Source};
use super::refund_state::{self, MAX_REFUNDS_PER_ORDER, RefundState};
use super::state::OrderStatus;
use crate::money::Fen;

mod read;
mod write;

pub(super) use read::{REFUND_SELECT, REFUND_WITH_ORDER_SELECT, refund_from_row};

/// Who started a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundSource {
    /// From this till (window or `paydesk refund`).
    Till,
    /// Made on the WeChat Pay merchant platform and learned afterwards.
    MerchantPlatform,
    /// Found in the downloaded bill.
    Bill,
}

impl RefundSource {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundSource::Till => "till",
            RefundSource::MerchantPlatform => "merchant_platform",
            RefundSource::Bill => "bill",
        }
    }

    pub fn parse(s: &str) -> Option<RefundSource> {
        [
            RefundSource::Till,
            RefundSource::MerchantPlatform,
            RefundSource::Bill,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// A refund about to be requested. Stored before the request leaves, so every retry sends the same
/// `out_refund_no` with the same amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    /// 1–64 of `[0-9A-Za-z_-|*@]`, unique per merchant.
    pub out_refund_no: String,
    pub out_trade_no: String,
    /// More than zero, at most what the order can still refund.
    pub amount: Fen,
    /// Why (sent as `refund_desc`, shown in the export's note). May be empty.
    pub reason: String,
    /// Who approved it (the manager); required, named on every event of the refund.
    pub approved_by: String,
    pub source: RefundSource,
    pub created_at: DateTime<Utc>,
}

/// A refund as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub out_refund_no: String,
    pub out_trade_no: String,
    pub amount: Fen,
    pub reason: String,
    pub approved_by: String,
    pub source: RefundSource,
    pub status: RefundState,
    /// WeChat's refund id, once the gateway gave one.
    pub refund_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the money was back (the gateway's `success_time`, or when the ledger learned of it).
    pub success_at: Option<DateTime<Utc>>,
    /// `refund_recv_accout`: where the money went.
    pub recv_account: Option<String>,
    /// The manager must look at it (a report contradicting a final state, an amount mismatch).
    pub flagged: bool,
    pub flag_reason: Option<String>,
}

impl Refund {
    /// The instant that decides its business day: its success, else its creation.
    pub fn day_at(&self) -> DateTime<Utc> {
        self.success_at.unwrap_or(self.created_at)
    }
}

/// What came with a refund input: who reported it, a summary for the event log, and the facts stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundEvidence {
    /// `Source::Refund` (the refund response), `Query`, `Notify`, `Startup`.
    pub source: Source,
    /// Written to the event log as given (result codes, amounts), never a key or signature.
    pub detail: String,
    pub refund_id: Option<String>,
    /// The amount the gateway reports; a mismatch with the stored amount is refused and flagged.
    pub refund_fee: Option<Fen>,
    /// The gateway's `success_time` (with `Succeeded`).
    pub success_at: Option<DateTime<Utc>>,
    pub recv_account: Option<String>,
}

impl RefundEvidence {
    /// Evidence with nothing but its source and a summary.
    pub fn new(source: Source, detail: impl Into<String>) -> RefundEvidence {
        RefundEvidence {
            source,
            detail: detail.into(),
            refund_id: None,
            refund_fee: None,
            success_at: None,
            recv_account: None,
        }
    }
}

/// What [`Ledger::apply_refund`] did. The input was recorded on the order's event log in every case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundApplied {
    pub before: RefundState,
    pub after: RefundState,
    pub changed: bool,
    /// Why nothing changed (the state machine's reason, or `"amount mismatch"`).
    pub ignored: Option<&'static str>,
    /// What the manager must see now; the refund and its order are flagged whenever this is set.
    pub alert: Option<String>,
    pub order_before: OrderStatus,
    /// `Refunded` once the succeeded refunds reach the order's total.
    pub order_after: OrderStatus,
    /// What the order can still refund afterwards.
    pub refundable: Fen,
}

/// Why [`Ledger::create_refund`] refused a refund (nothing was written). The texts say how much can be
/// refunded where that helps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundRefusal {
    OrderNotFound(String),
    BadOutRefundNo(String),
    NoApprover,
    ZeroAmount,
    /// The order's status does not allow a refund (not paid, or already refunded in full).
    NotRefundable {
        out_trade_no: String,
        status: OrderStatus,
    },
    TooMuch {
        out_trade_no: String,
        requested: Fen,
        refundable: Fen,
    },
    TooMany {
        out_trade_no: String,
    },
    /// The out_refund_no exists with different values (a retry must send the same ones).
    Conflict {
        out_refund_no: String,
    },
}

impl fmt::Display for RefundRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefundRefusal::OrderNotFound(otn) => write!(f, "order {otn} is not in the ledger"),
            RefundRefusal::BadOutRefundNo(n) => write!(
                f,
                "out_refund_no {n:?} must be 1–64 letters, digits or _-|*@"
            ),
            RefundRefusal::NoApprover => f.write_str("a refund needs the name of who approved it"),
            RefundRefusal::ZeroAmount => f.write_str("a refund must be more than ¥0.00"),
            RefundRefusal::NotRefundable {
                out_trade_no,
                status,
            } => write!(
                f,
                "order {out_trade_no} is {}: only a paid order can be refunded; ¥0.00 can be refunded",
                status.label()
            ),
            RefundRefusal::TooMuch {
                out_trade_no,
                requested,
                refundable,
            } => write!(
                f,
                "{requested} is more than is left to refund of order {out_trade_no}: {refundable} can be \
                 refunded"
            ),
            RefundRefusal::TooMany { out_trade_no } => write!(
                f,
                "order {out_trade_no} already has {MAX_REFUNDS_PER_ORDER} refunds, the most WeChat Pay \
                 allows; refund the rest on the merchant platform"
            ),
            RefundRefusal::Conflict { out_refund_no } => write!(
                f,
                "refund {out_refund_no} is already recorded with different values (a retry must repeat \
                 them exactly)"
            ),
        }
    }
}

/// A business day's money: what orders of the day received, what refunds succeeded on the day, and the net.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DaySums {
    /// Totals of the day's orders that received money (paid, paid after cancel, refunded since).
    pub received: Fen,
    /// Refunds that succeeded on the day, whatever day their order is from.
    pub refunded: Fen,
}

impl DaySums {
    /// What `orders` received (those that received money) and what `refunds` gave back (those that
    /// succeeded); `None` on overflow. The caller picks the day's orders and refunds.
    pub fn of(orders: &[Order], refunds: &[Refund]) -> Option<DaySums> {
        Some(DaySums {
            received: Fen::checked_sum(
                orders
                    .iter()
                    .filter(|o| refund_state::order_received_money(o.status))
                    .map(|o| o.total),
            )?,
            refunded: Fen::checked_sum(
                refunds
                    .iter()
                    .filter(|r| r.status == RefundState::Success)
                    .map(|r| r.amount),
            )?,
        })
    }

    /// received − refunded, in fen (negative on a day with more refunds than sales).
    pub fn net_fen(&self) -> i64 {
        self.received.get() - self.refunded.get()
    }

    /// The net as `¥12.50` or `-¥3.00`.
    pub fn net_label(&self) -> String {
        let n = self.net_fen();
        let abs = Fen::new(n.abs()).unwrap_or(Fen::ZERO);
        if n < 0 {
            format!("-{abs}")
        } else {
            abs.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_can_be_negative() {
        let f = |n| Fen::new(n).unwrap();
        let s = DaySums {
            received: f(100),
            refunded: f(350),
        };
        assert_eq!(s.net_fen(), -250);
        assert_eq!(s.net_label(), "-¥2.50");
        let s = DaySums {
            received: f(1250),
            refunded: f(0),
        };
        assert_eq!(s.net_label(), "¥12.50");
    }

    #[test]
    fn refusals_say_how_much_can_be_refunded() {
        let f = |n| Fen::new(n).unwrap();
        let m = RefundRefusal::TooMuch {
            out_trade_no: "A1".into(),
            requested: f(2000),
            refundable: f(750),
        }
        .to_string();
        assert!(m.contains("¥7.50 can be refunded"), "{m}");
        let m = RefundRefusal::NotRefundable {
            out_trade_no: "A1".into(),
            status: OrderStatus::Open,
        }
        .to_string();
        assert!(m.contains("¥0.00 can be refunded"), "{m}");
    }
}
