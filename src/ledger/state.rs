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

    /// Still on its way to a final state (the opposite of [`OrderStatus::is_final`]): what start-up
    /// reconciliation drives to an end.
    pub fn is_unfinished(self) -> bool {
        !self.is_final()
    }

    /// The customer may still pay it as far as the cashier is concerned: the payment screen shows its QR
    /// and offers Cancel.
    pub fn is_payable(self) -> bool {
        matches!(
            self,
            OrderStatus::Creating | OrderStatus::Open | OrderStatus::UserPaying
        )
    }

    /// Its QR is out and its payment window runs: past `expires_at` it is closed as expired.
    pub fn can_expire(self) -> bool {
        matches!(self, OrderStatus::Open | OrderStatus::UserPaying)
    }

    /// How far along an order is, for display and for merging two reports of one order (keep the one
    /// further along): Creating 0, Open 1, UserPaying 2, Closing 3, any final status 4.
    pub fn progress(self) -> u8 {
        match self {
            OrderStatus::Creating => 0,
            OrderStatus::Open => 1,
            OrderStatus::UserPaying => 2,
            OrderStatus::Closing => 3,
            _ => 4,
        }
    }

    /// The short Chinese word for the status (history list, export, `paydesk orders`).
    pub fn word_zh(self) -> &'static str {
        match self {
            OrderStatus::Creating => "创建中",
            OrderStatus::Open => "待支付",
            OrderStatus::UserPaying => "支付中",
            OrderStatus::Closing => "关闭中",
            OrderStatus::Paid => "已支付",
            OrderStatus::PaidAfterCancel => "取消后已支付",
            OrderStatus::Failed => "支付失败",
            OrderStatus::Cancelled => "已取消",
            OrderStatus::Expired => "已过期",
            OrderStatus::Refunded => "已退款",
        }
    }

    /// The short English word for the status.
    pub fn word_en(self) -> &'static str {
        match self {
            OrderStatus::Creating => "creating",
            OrderStatus::Open => "open",
            OrderStatus::UserPaying => "paying",
            OrderStatus::Closing => "closing",
            OrderStatus::Paid => "paid",
            OrderStatus::PaidAfterCancel => "paid after cancel",
            OrderStatus::Failed => "failed",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Expired => "expired",
            OrderStatus::Refunded => "refunded",
        }
    }

    /// `"{word_zh} {word_en}"`: how a status reads in the CSV export and in `paydesk orders`.
    pub fn label(self) -> String {
        format!("{} {}", self.word_zh(), self.word_en())
    }
}

/// The statuses that are not final, as SQL text: `'creating', 'open', …` (for `status IN (…)`).
pub fn unfinished_sql_list() -> String {
    OrderStatus::ALL
        .into_iter()
        .filter(|s| s.is_unfinished())
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
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

/// The ledger refuses a reported payment, before the state machine, when its amount differs from the order's
/// total, or when the order is already paid by a different transaction. Refused payments are recorded,
/// flagged and alerted, and never mark the order paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The short reason (`Applied::ignored`): `"amount mismatch"`, `"different transaction_id"`.
    pub why: &'static str,
    /// The text for the manager (flag and alert).
    pub alert: String,
}

/// Whether a payment of `paid` by `transaction_id` is refused for order `out_trade_no` of `total`, already
/// paid by `stored_transaction_id` if any.
pub fn payment_refusal(
    out_trade_no: &str,
    total: crate::money::Fen,
    stored_transaction_id: Option<&str>,
    paid: crate::money::Fen,
    transaction_id: &str,
) -> Option<Refusal> {
    if paid != total {
        return Some(Refusal {
            why: "amount mismatch",
            alert: format!(
                "payment {out_trade_no} (transaction {transaction_id}) of {paid} does not match the order \
                 total {total}"
            ),
        });
    }
    match stored_transaction_id {
        Some(tid) if tid != transaction_id => Some(Refusal {
            why: "different transaction_id",
            alert: format!(
                "a second payment (transaction {transaction_id}) arrived for order {out_trade_no} already paid \
                 by transaction {tid} — check the merchant platform and refund one"
            ),
        }),
        _ => None,
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
    fn payable_unfinished_and_progress() {
        for s in OrderStatus::ALL {
            assert_eq!(s.is_unfinished(), !s.is_final(), "{s:?}");
            // What the cashier may still be paid for is unfinished; Closing is unfinished but not payable.
            if s.is_payable() {
                assert!(s.is_unfinished(), "{s:?}");
            }
            if s.can_expire() {
                assert!(s.is_payable(), "{s:?}");
            }
            assert_eq!(s.progress() == 4, s.is_final(), "{s:?}");
        }
        assert!(S::Creating.is_payable() && S::Open.is_payable() && S::UserPaying.is_payable());
        assert!(!S::Closing.is_payable() && !S::Paid.is_payable());
        assert!(!S::Creating.can_expire() && S::Open.can_expire() && !S::Closing.can_expire());
        let order = [S::Creating, S::Open, S::UserPaying, S::Closing, S::Paid];
        assert!(order.windows(2).all(|w| w[0].progress() < w[1].progress()));
        assert_eq!(S::Expired.progress(), S::Paid.progress());
    }

    #[test]
    fn status_words() {
        assert_eq!(S::Open.label(), "待支付 open");
        assert_eq!(S::PaidAfterCancel.label(), "取消后已支付 paid after cancel");
        assert_eq!(S::UserPaying.word_en(), "paying");
        let mut zh: Vec<_> = OrderStatus::ALL.iter().map(|s| s.word_zh()).collect();
        zh.sort();
        zh.dedup();
        assert_eq!(zh.len(), OrderStatus::ALL.len());
    }

    #[test]
    fn unfinished_list_matches_the_schema() {
        let list = unfinished_sql_list();
        assert_eq!(list, "'creating', 'open', 'user_paying', 'closing'");
        // The partial index of unfinished orders must cover exactly these.
        let schema = crate::ledger::schema::MIGRATIONS.concat();
        assert!(schema.contains(&format!("WHERE status IN ({list});")));
    }

    #[test]
    fn payments_are_refused_on_amount_or_second_transaction() {
        let fen = |n| crate::money::Fen::new(n).unwrap();
        assert_eq!(payment_refusal("A", fen(100), None, fen(100), "T1"), None);
        assert_eq!(
            payment_refusal("A", fen(100), Some("T1"), fen(100), "T1"),
            None
        );
        let r = payment_refusal("A", fen(100), None, fen(99), "T1").unwrap();
        assert_eq!(r.why, "amount mismatch");
        let r = payment_refusal("A", fen(100), Some("T1"), fen(100), "T2").unwrap();
        assert_eq!(r.why, "different transaction_id");
        assert!(r.alert.contains("refund one"));
    }

    #[test]
    fn status_text_round_trips() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(OrderStatus::parse("nope"), None);
    }
}
