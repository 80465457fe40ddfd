//! Refund rules: the refund state machine, and every order rule about refunds (what can be refunded, how
//! much, when an order counts as refunded). The one place that decides them.
//!
//! Pure logic, like [`super::state`] (which stays the only place an *order's* status changes: the ledger
//! moves an order to [`OrderStatus::Refunded`] through [`super::state::next`] with [`Input::Refunded`], and
//! only when [`order_fully_refunded`] says so). Not here: storing refunds (`super::refund`), talking to the
//! gateway, timers (the engine).
//!
//! How an order's refunds are summed:
//! - *refunded*: refunds in [`RefundState::Success`]: money back with the customer;
//! - *pending*: refunds that hold money but have not succeeded ([`RefundState::holds_money`] and not
//!   Success: Requesting, Processing, and Change, which needs manual handling on the merchant platform);
//! - *refundable* = total − refunded − pending, for an order that received money and may be refunded
//!   ([`order_can_be_refunded`]); a refund that closes or fails gives its amount back to "refundable".
//!
//! "Partially refunded / refunded" is derived, never stored ([`refund_progress`]): an order is *refunded*
//! when its succeeded refunds reach its total (and only then does its status become `Refunded`), *partially
//! refunded* when some succeeded but not all, *refunding* while refunds are pending. A refund that later
//! closes never moves the order status backwards: succeeded refunds only ever grow (a late SUCCESS after
//! CHANGE or REFUNDCLOSE is recorded and flagged, not applied), so `Refunded` stays true once reached.

use std::fmt;

use super::state::{Input, OrderStatus};
use crate::money::Fen;

/// WeChat allows at most this many refunds of one order (every refund recorded counts, whatever its state).
pub const MAX_REFUNDS_PER_ORDER: usize = 50;

/// Where a refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefundState {
    /// Stored; the refund request is sent or about to be, no answer yet. Retries reuse the out_refund_no.
    Requesting,
    /// The gateway accepted it (refund SUCCESS, or a query says PROCESSING); money not back yet.
    Processing,
    /// Final: the money is back with the customer (SUCCESS).
    Success,
    /// Final for the till: the refund to the customer's card failed (CHANGE); the manager must handle it on
    /// the merchant platform. The money stays held (not refundable again).
    Change,
    /// Final: the gateway closed the refund (REFUNDCLOSE); its amount is refundable again.
    Closed,
    /// Final: the gateway refused the request for good, it was never accepted; refundable again.
    Failed,
}

impl RefundState {
    pub const ALL: [RefundState; 6] = [
        RefundState::Requesting,
        RefundState::Processing,
        RefundState::Success,
        RefundState::Change,
        RefundState::Closed,
        RefundState::Failed,
    ];

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundState::Requesting => "requesting",
            RefundState::Processing => "processing",
            RefundState::Success => "success",
            RefundState::Change => "change",
            RefundState::Closed => "closed",
            RefundState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<RefundState> {
        RefundState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// No further change is expected: the engine stops watching it.
    pub fn is_final(self) -> bool {
        !self.is_unfinished()
    }

    /// Still on its way: what start-up reconciliation drives to an end (resend with the same out_refund_no,
    /// or query).
    pub fn is_unfinished(self) -> bool {
        matches!(self, RefundState::Requesting | RefundState::Processing)
    }

    /// Its amount is taken out of what the order can still refund (everything but Closed and Failed).
    pub fn holds_money(self) -> bool {
        !matches!(self, RefundState::Closed | RefundState::Failed)
    }

    /// The short Chinese word (history, export, `paydesk orders`).
    pub fn word_zh(self) -> &'static str {
        match self {
            RefundState::Requesting => "退款申请中",
            RefundState::Processing => "退款中",
            RefundState::Success => "已退款",
            RefundState::Change => "退款异常",
            RefundState::Closed => "退款关闭",
            RefundState::Failed => "退款失败",
        }
    }

    /// The short English word.
    pub fn word_en(self) -> &'static str {
        match self {
            RefundState::Requesting => "refund requested",
            RefundState::Processing => "refunding",
            RefundState::Success => "refunded",
            RefundState::Change => "refund exception",
            RefundState::Closed => "refund closed",
            RefundState::Failed => "refund failed",
        }
    }

    /// `"{word_zh} {word_en}"`, as in the CSV export.
    pub fn label(self) -> String {
        format!("{} {}", self.word_zh(), self.word_en())
    }
}

impl fmt::Display for RefundState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The refund states that are not final, as SQL text (for `status IN (…)`).
pub fn unfinished_sql_list() -> String {
    sql_list(RefundState::is_unfinished)
}

/// The refund states that hold money, as SQL text (for `status IN (…)`).
pub fn holding_sql_list() -> String {
    sql_list(RefundState::holds_money)
}

fn sql_list(keep: fn(RefundState) -> bool) -> String {
    RefundState::ALL
        .into_iter()
        .filter(|s| keep(*s))
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Something that happened to a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundInput {
    /// The refund request was accepted (refund API `result_code` SUCCESS).
    Accepted,
    /// The refund request was refused for good (e.g. USER_ACCOUNT_ABNORMAL, TRADE_OVERDUE): never accepted.
    /// Not for errors that say "retry with the same out_refund_no" (SYSTEMERROR, FREQUENCY_LIMITED…).
    Refused,
    /// refundquery says PROCESSING.
    Processing,
    /// refundquery or the refund notification says SUCCESS.
    Succeeded,
    /// refundquery or the refund notification says CHANGE.
    Changed,
    /// refundquery or the refund notification says REFUNDCLOSE.
    Closed,
}

impl RefundInput {
    pub const ALL: [RefundInput; 6] = [
        RefundInput::Accepted,
        RefundInput::Refused,
        RefundInput::Processing,
        RefundInput::Succeeded,
        RefundInput::Changed,
        RefundInput::Closed,
    ];

    /// The event kind recorded on the order's log.
    pub fn event_kind(self) -> &'static str {
        match self {
            RefundInput::Accepted => "refund_accepted",
            RefundInput::Refused => "refund_refused",
            RefundInput::Processing => "refund_processing",
            RefundInput::Succeeded => "refund_succeeded",
            RefundInput::Changed => "refund_changed",
            RefundInput::Closed => "refund_closed",
        }
    }
}

/// What to do with a refund input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundDecision {
    /// Change to this state.
    To(RefundState),
    /// Nothing changes (a duplicate or a stale report). Record and ignore.
    Ignore(&'static str),
    /// Nothing changes, but the report contradicts a final state (money may have moved where the ledger
    /// says it did not): record it, flag the refund and its order for the manager.
    Flag(&'static str),
}

/// The refund transition rule. Never backwards; final states stay final.
pub fn next(state: RefundState, input: RefundInput) -> RefundDecision {
    use RefundDecision::{Flag, Ignore, To};
    use RefundInput as I;
    use RefundState as S;
    match (state, input) {
        (S::Requesting, I::Accepted | I::Processing) => To(S::Processing),
        (S::Requesting, I::Refused) => To(S::Failed),
        (S::Requesting | S::Processing, I::Succeeded) => To(S::Success),
        (S::Requesting | S::Processing, I::Changed) => To(S::Change),
        (S::Requesting | S::Processing, I::Closed) => To(S::Closed),

        (S::Processing, I::Accepted | I::Processing) => Ignore("already accepted"),
        (S::Processing, I::Refused) => Ignore("already accepted by the gateway"),

        (S::Success, I::Succeeded) => Ignore("already refunded"),
        (S::Success, I::Changed | I::Closed) => Flag("reported failed after it succeeded"),
        (S::Success, _) => Ignore("already refunded"),

        (S::Change, I::Changed) => Ignore("already reported CHANGE"),
        (S::Change, I::Succeeded) => Flag("late SUCCESS after CHANGE"),
        (S::Change, I::Closed) => Flag("REFUNDCLOSE after CHANGE"),
        (S::Change, _) => Ignore("already final (CHANGE)"),

        (S::Closed, I::Closed) => Ignore("already closed"),
        (S::Closed, I::Succeeded) => Flag("late SUCCESS after REFUNDCLOSE"),
        (S::Closed, I::Changed) => Flag("CHANGE after REFUNDCLOSE"),
        (S::Closed, _) => Ignore("already closed"),

        (S::Failed, I::Refused) => Ignore("already refused"),
        (S::Failed, I::Closed) => Ignore("already failed"),
        // The gateway does have it after all.
        (S::Failed, I::Accepted | I::Processing | I::Succeeded | I::Changed) => {
            Flag("reported by the gateway after it was refused")
        }
    }
}

// ------------------------------------------------------------------------------------- order rules

/// An order in this status may be refunded (a partially refunded order keeps its paid status and stays
/// refundable while [`refundable`] is above zero).
pub fn order_can_be_refunded(status: OrderStatus) -> bool {
    matches!(status, OrderStatus::Paid | OrderStatus::PaidAfterCancel)
}

/// Money was received for an order in this status (paid, paid after cancel, or refunded since): what a
/// day's "received" counts. Refunds are subtracted separately, on their own day.
pub fn order_received_money(status: OrderStatus) -> bool {
    status.is_paid() || status == OrderStatus::Refunded
}

/// What can still be refunded of an order: total − refunded − pending, zero if the order may not be
/// refunded. `None` if the stored refunds exceed the total (a broken ledger: refuse everything).
pub fn refundable(status: OrderStatus, total: Fen, refunded: Fen, pending: Fen) -> Option<Fen> {
    if !order_can_be_refunded(status) {
        return Some(Fen::ZERO);
    }
    let held = refunded.checked_add(pending)?;
    Fen::new(total.get() - held.get())
}

/// Whether the order must now move to `Refunded` ([`Input::Refunded`] through the order state machine):
/// its succeeded refunds reach its total.
pub fn order_fully_refunded(total: Fen, refunded: Fen) -> bool {
    total > Fen::ZERO && refunded >= total
}

/// The input that moves a fully refunded order to `Refunded`.
pub const FULL_REFUND_INPUT: Input = Input::Refunded;

/// How far an order's refunds have gone (derived from the sums, for display).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundProgress {
    /// No refund holds money.
    None,
    /// Refunds are pending, none succeeded yet.
    Refunding,
    /// Some money is back, not all.
    Partial,
    /// All of it is back.
    Full,
}

impl RefundProgress {
    /// `""` for None, else `"{zh} {en}"`.
    pub fn label(self) -> &'static str {
        match self {
            RefundProgress::None => "",
            RefundProgress::Refunding => "退款中 refunding",
            RefundProgress::Partial => "部分退款 partially refunded",
            RefundProgress::Full => "已退款 refunded",
        }
    }
}

/// An order's [`RefundProgress`] from its sums.
pub fn refund_progress(total: Fen, refunded: Fen, pending: Fen) -> RefundProgress {
    if order_fully_refunded(total, refunded) {
        RefundProgress::Full
    } else if refunded > Fen::ZERO {
        RefundProgress::Partial
    } else if pending > Fen::ZERO {
        RefundProgress::Refunding
    } else {
        RefundProgress::None
    }
}

/// `out_refund_no` as WeChat takes it: 1–64 of `[0-9A-Za-z_-|*@]`.
pub fn valid_out_refund_no(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-|*@".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use RefundDecision::{Flag, Ignore, To};
    use RefundInput as I;
    use RefundState as S;

    /// The full table: every state × every input, and what must happen.
    fn expected(s: RefundState, i: RefundInput) -> RefundDecision {
        let open = s.is_unfinished();
        match (s, i) {
            (S::Requesting, I::Accepted | I::Processing) => To(S::Processing),
            (S::Requesting, I::Refused) => To(S::Failed),
            (_, I::Succeeded) if open => To(S::Success),
            (_, I::Changed) if open => To(S::Change),
            (_, I::Closed) if open => To(S::Closed),
            (S::Success, I::Changed | I::Closed) => Flag(""),
            (S::Change, I::Succeeded | I::Closed) => Flag(""),
            (S::Closed, I::Succeeded | I::Changed) => Flag(""),
            (S::Failed, I::Accepted | I::Processing | I::Succeeded | I::Changed) => Flag(""),
            _ => Ignore(""),
        }
    }

    #[test]
    fn every_state_and_input() {
        for s in RefundState::ALL {
            for i in RefundInput::ALL {
                match (expected(s, i), next(s, i)) {
                    (To(a), To(b)) => assert_eq!(a, b, "{s:?} + {i:?}"),
                    (Ignore(_), Ignore(_)) | (Flag(_), Flag(_)) => {}
                    (want, got) => panic!("{s:?} + {i:?}: want {want:?}, got {got:?}"),
                }
            }
        }
    }

    #[test]
    fn never_backwards_and_final_stays_final() {
        fn rank(s: RefundState) -> u8 {
            match s {
                S::Requesting => 0,
                S::Processing => 1,
                _ => 2,
            }
        }
        for s in RefundState::ALL {
            for i in RefundInput::ALL {
                if let To(t) = next(s, i) {
                    assert!(rank(t) > rank(s), "{s:?} + {i:?} -> {t:?} moves backwards");
                    assert!(!s.is_final(), "final {s:?} changed by {i:?}");
                }
            }
        }
    }

    #[test]
    fn late_success_after_change_or_close_is_flagged_not_applied() {
        assert!(matches!(next(S::Change, I::Succeeded), Flag(_)));
        assert!(matches!(next(S::Closed, I::Succeeded), Flag(_)));
        assert!(matches!(next(S::Failed, I::Succeeded), Flag(_)));
    }

    #[test]
    fn which_states_hold_money_and_are_unfinished() {
        let holding: Vec<_> = RefundState::ALL
            .into_iter()
            .filter(|s| s.holds_money())
            .collect();
        assert_eq!(
            holding,
            [S::Requesting, S::Processing, S::Success, S::Change]
        );
        assert_eq!(unfinished_sql_list(), "'requesting', 'processing'");
        assert_eq!(
            holding_sql_list(),
            "'requesting', 'processing', 'success', 'change'"
        );
        let schema = crate::ledger::schema::MIGRATIONS.concat();
        assert!(schema.contains(&format!("WHERE status IN ({});", unfinished_sql_list())));
        for s in RefundState::ALL {
            assert_eq!(RefundState::parse(s.as_str()), Some(s));
            assert!(
                schema.contains(&format!("'{}'", s.as_str())),
                "{s:?} in the CHECK"
            );
        }
    }

    #[test]
    fn words_are_distinct() {
        assert_eq!(S::Closed.label(), "退款关闭 refund closed");
        assert_eq!(S::Processing.label(), "退款中 refunding");
        let mut zh: Vec<_> = RefundState::ALL.iter().map(|s| s.word_zh()).collect();
        zh.sort();
        zh.dedup();
        assert_eq!(zh.len(), RefundState::ALL.len());
    }

    #[test]
    fn order_rules() {
        let f = |n| Fen::new(n).unwrap();
        for st in OrderStatus::ALL {
            assert_eq!(
                order_can_be_refunded(st),
                matches!(st, OrderStatus::Paid | OrderStatus::PaidAfterCancel),
                "{st:?}"
            );
            if !order_can_be_refunded(st) {
                assert_eq!(refundable(st, f(100), f(0), f(0)), Some(Fen::ZERO));
            }
        }
        assert!(order_received_money(OrderStatus::Refunded));
        assert!(!order_received_money(OrderStatus::Cancelled));
        assert_eq!(
            refundable(OrderStatus::Paid, f(1250), f(500), f(250)),
            Some(f(500))
        );
        assert_eq!(
            refundable(OrderStatus::Paid, f(1250), f(1250), f(0)),
            Some(f(0))
        );
        assert_eq!(refundable(OrderStatus::Paid, f(100), f(80), f(30)), None);
        assert!(order_fully_refunded(f(100), f(100)));
        assert!(!order_fully_refunded(f(100), f(99)));
        assert!(!order_fully_refunded(f(0), f(0)));
        assert_eq!(refund_progress(f(100), f(0), f(0)), RefundProgress::None);
        assert_eq!(
            refund_progress(f(100), f(0), f(40)),
            RefundProgress::Refunding
        );
        assert_eq!(
            refund_progress(f(100), f(40), f(60)),
            RefundProgress::Partial
        );
        assert_eq!(refund_progress(f(100), f(100), f(0)), RefundProgress::Full);
        // A fully refunded order moves through the order state machine, from either paid status.
        for st in [OrderStatus::Paid, OrderStatus::PaidAfterCancel] {
            assert_eq!(
                crate::ledger::state::next(st, FULL_REFUND_INPUT, None),
                crate::ledger::state::Decision::To(OrderStatus::Refunded)
            );
        }
    }

    #[test]
    fn out_refund_no_charset() {
        assert!(valid_out_refund_no("R20261128-0001_a|b*c@d"));
        assert!(!valid_out_refund_no(""));
        assert!(!valid_out_refund_no("退款1"));
        assert!(!valid_out_refund_no("a b"));
        assert!(!valid_out_refund_no(&"a".repeat(65)));
    }
}
