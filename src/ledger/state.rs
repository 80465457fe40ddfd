//! The order state machine: the only place that decides how an order's status may change.
//!
//! Pure logic. The ledger applies [`next`] inside one SQLite transaction per input, so every change is
//! durable and checked against the status actually stored. Statuses never move backwards: a query result or
//! notification that would do so is recorded by the ledger and ignored here. Paid is undone only by a refund.
//! A payment that arrives after the cashier gave the order up (cancelled, expired, failed) is kept and flagged
//! as [`OrderStatus::PaidAfterCancel`]: the money was taken and the manager must see it.

use std::fmt;

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrderStatus {
    /// Stored; unifiedorder sent or about to be, no answer yet.
    Creating,
    /// The gateway gave a code_url; the QR is shown; not paid yet.
    Open,
    /// The gateway reports USERPAYING/ACCEPT: the customer is paying.
    UserPaying,
    /// Cancelled by the cashier or past its expiry; closeorder pending or sent; not yet confirmed closed.
    Closing,
    /// Final: paid.
    Paid,
    /// Final (but a refund is still possible): paid after the cashier cancelled, or after it expired or failed.
    PaidAfterCancel,
    /// Final: the payment failed (PAYERROR) or the order could not be created.
    Failed,
    /// Final: cancelled by the cashier and confirmed closed.
    Cancelled,
    /// Final: expired and confirmed closed.
    Expired,
    /// Final: paid, then refunded.
    Refunded,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 10] = [
        OrderStatus::Creating,
        OrderStatus::Open,
        OrderStatus::UserPaying,
        OrderStatus::Closing,
        OrderStatus::Paid,
        OrderStatus::PaidAfterCancel,
        OrderStatus::Failed,
        OrderStatus::Cancelled,
        OrderStatus::Expired,
        OrderStatus::Refunded,
    ];

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Creating => "creating",
            OrderStatus::Open => "open",
            OrderStatus::UserPaying => "user_paying",
            OrderStatus::Closing => "closing",
            OrderStatus::Paid => "paid",
            OrderStatus::PaidAfterCancel => "paid_after_cancel",
            OrderStatus::Failed => "failed",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Expired => "expired",
            OrderStatus::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        OrderStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// No further change is expected from the gateway (a late payment of a given-up order is still accepted,
    /// and flagged). Orders that are not final are driven to a final state at start-up.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            OrderStatus::Creating
                | OrderStatus::Open
                | OrderStatus::UserPaying
                | OrderStatus::Closing
        )
    }

    /// Money was received for this order.
    pub fn is_paid(self) -> bool {
        matches!(self, OrderStatus::Paid | OrderStatus::PaidAfterCancel)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an order is being closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    Cancel,
    Expire,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Cancel => "cancel",
            CloseReason::Expire => "expire",
        }
    }
    pub fn parse(s: &str) -> Option<CloseReason> {
        match s {
            "cancel" => Some(CloseReason::Cancel),
            "expire" => Some(CloseReason::Expire),
            _ => None,
        }
    }
}

/// Something that happened to an order, as far as its status is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// unifiedorder succeeded: a code_url exists.
    Created,
    /// unifiedorder was refused for good, or the gateway says the order does not exist (ORDERNOTEXIST while
    /// creating: it was never created).
    CreateFailed,
    /// The gateway reports USERPAYING or ACCEPT.
    UserPaying,
    /// A verified payment (notification or query SUCCESS) whose amount matches the order.
    Paid,
    /// The gateway reports PAYERROR.
    PayError,
    /// The cashier cancelled, or the expiry passed: close it.
    CloseRequested(CloseReason),
    /// The gateway confirms the order is closed (query CLOSED/REVOKED, or closeorder followed by a query).
    Closed,
    /// A refund of a paid order was accepted.
    Refunded,
}

/// What to do with an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Change to this status.
    To(OrderStatus),
    /// Nothing changes (a duplicate, or a report that would move the order backwards). Record and ignore.
    Ignore(&'static str),
}

/// The transition rule. `close_reason` is the reason stored with a `Closing` order (`None` otherwise).
pub fn next(status: OrderStatus, input: Input, close_reason: Option<CloseReason>) -> Decision {
    use Decision::{Ignore, To};
    use OrderStatus as S;
    match (status, input) {
        // Payment: from any unpaid state. Given-up orders are flagged.
        (S::Creating | S::Open | S::UserPaying, Input::Paid) => To(S::Paid),
        (S::Closing | S::Cancelled | S::Expired | S::Failed, Input::Paid) => To(S::PaidAfterCancel),
        (S::Paid | S::PaidAfterCancel | S::Refunded, Input::Paid) => Ignore("already paid"),

        (S::Creating, Input::Created) => To(S::Open),
        (_, Input::Created) => Ignore("already created"),

        (S::Creating, Input::CreateFailed) => To(S::Failed),
        (_, Input::CreateFailed) => Ignore("order exists beyond creation"),

        (S::Creating | S::Open, Input::UserPaying) => To(S::UserPaying),
        (_, Input::UserPaying) => Ignore("not an open order"),

        (S::Creating | S::Open | S::UserPaying, Input::PayError) => To(S::Failed),
        (S::Closing, Input::PayError) => To(closed_status(close_reason)),
        (_, Input::PayError) => Ignore("order already final"),

        (S::Creating | S::Open | S::UserPaying, Input::CloseRequested(_)) => To(S::Closing),
        (S::Closing, Input::CloseRequested(_)) => Ignore("already closing"),
        (_, Input::CloseRequested(_)) => Ignore("order already final"),

        (S::Closing, Input::Closed) => To(closed_status(close_reason)),
        // The gateway closed it without our asking (e.g. it expired there first).
        (S::Creating | S::Open | S::UserPaying, Input::Closed) => To(S::Expired),
        (_, Input::Closed) => Ignore("order already final"),

        (S::Paid | S::PaidAfterCancel, Input::Refunded) => To(S::Refunded),
        (_, Input::Refunded) => Ignore("only a paid order can be refunded"),
    }
}

fn closed_status(reason: Option<CloseReason>) -> OrderStatus {
    match reason {
        Some(CloseReason::Expire) => OrderStatus::Expired,
        _ => OrderStatus::Cancelled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Decision::{Ignore, To};
    use OrderStatus as S;

    const INPUTS: [Input; 9] = [
        Input::Created,
        Input::CreateFailed,
        Input::UserPaying,
        Input::Paid,
        Input::PayError,
        Input::CloseRequested(CloseReason::Cancel),
        Input::CloseRequested(CloseReason::Expire),
        Input::Closed,
        Input::Refunded,
    ];

    /// The full table: every status × every input, and what must happen.
    fn expected(s: OrderStatus, i: Input) -> Decision {
        let final_unpaid = matches!(s, S::Cancelled | S::Expired | S::Failed);
        let paid = matches!(s, S::Paid | S::PaidAfterCancel);
        match i {
            Input::Created if s == S::Creating => To(S::Open),
            Input::CreateFailed if s == S::Creating => To(S::Failed),
            Input::UserPaying if matches!(s, S::Creating | S::Open) => To(S::UserPaying),
            Input::Paid if matches!(s, S::Creating | S::Open | S::UserPaying) => To(S::Paid),
            Input::Paid if s == S::Closing || final_unpaid => To(S::PaidAfterCancel),
            Input::PayError if matches!(s, S::Creating | S::Open | S::UserPaying) => To(S::Failed),
            Input::PayError if s == S::Closing => To(S::Cancelled),
            Input::CloseRequested(_) if matches!(s, S::Creating | S::Open | S::UserPaying) => {
                To(S::Closing)
            }
            Input::Closed if s == S::Closing => To(S::Cancelled),
            Input::Closed if matches!(s, S::Creating | S::Open | S::UserPaying) => To(S::Expired),
            Input::Refunded if paid => To(S::Refunded),
            _ => Ignore(""),
        }
    }

    #[test]
    fn every_status_and_input() {
        for s in OrderStatus::ALL {
            for i in INPUTS {
                let got = next(
                    s,
                    i,
                    if s == S::Closing {
                        Some(CloseReason::Cancel)
                    } else {
                        None
                    },
                );
                match (expected(s, i), got) {
                    (To(a), To(b)) => assert_eq!(a, b, "{s:?} + {i:?}"),
                    (Ignore(_), Ignore(_)) => {}
                    (want, got) => panic!("{s:?} + {i:?}: want {want:?}, got {got:?}"),
                }
            }
        }
    }

    #[test]
    fn closing_ends_by_its_reason() {
        assert_eq!(
            next(S::Closing, Input::Closed, Some(CloseReason::Expire)),
            To(S::Expired)
        );
        assert_eq!(
            next(S::Closing, Input::Closed, Some(CloseReason::Cancel)),
            To(S::Cancelled)
        );
    }

    #[test]
    fn never_moves_backwards_and_paid_stays_paid() {
        // Rank of "how far along" an order is; a change never lowers it.
        fn rank(s: OrderStatus) -> u8 {
            match s {
                S::Creating => 0,
                S::Open => 1,
                S::UserPaying => 2,
                S::Closing => 3,
                S::Failed | S::Cancelled | S::Expired => 4,
                S::Paid | S::PaidAfterCancel => 5,
                S::Refunded => 6,
            }
        }
        for s in OrderStatus::ALL {
            for i in INPUTS {
                if let To(t) = next(s, i, Some(CloseReason::Cancel)) {
                    assert!(rank(t) > rank(s), "{s:?} + {i:?} -> {t:?} moves backwards");
                    if s.is_paid() {
                        assert_eq!(t, S::Refunded, "paid undone by {i:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn status_text_round_trips() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(OrderStatus::parse("nope"), None);
    }
}
