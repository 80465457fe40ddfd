//! The refund watcher's decisions: from what is known about one refund (its stored state, the gateway's last
//! answer, the calls and failures so far), the one next step: send the refund request (always the same
//! `out_refund_no`), query refundquery, record an input, alert, or stop. [`next_refund_step`] is a pure
//! function (no clock, no I/O), like [`super::policy::next_step`] for orders; `refund_watch` carries its
//! steps out and feeds the outcomes back as [`RefundFacts`].
//!
//! Not here: how a refund's state may change (the refund state machine, [`crate::ledger::refund_state`],
//! which every recorded input goes through), what an error code means (the protocol's
//! [`crate::wxpay::Action`]), timers and the ledger (`refund_watch`).
//!
//! The rules (reference §7, `wechatpay-v2.md`):
//! - A refund is stored before its request leaves; every send, first or retry, uses the stored
//!   `out_refund_no` and amount, so the gateway sees one refund however often it is sent (§7.1, §14.22).
//! - The refund answer SUCCESS means accepted, not refunded: the watcher then queries refundquery (first
//!   after `refund_poll_interval`, the wait doubling with each PROCESSING answer up to `refund_max_poll`)
//!   until SUCCESS, CHANGE or REFUNDCLOSE. A refund notification wakes it early.
//! - No verified answer (transport failure, HTTP 5xx, SYSTEMERROR): the outcome is unknown; a refund not
//!   yet accepted is sent again (same number) after a back-off, an accepted one is queried again.
//! - FREQUENCY_LIMITED (one minute between refunds of one order): sent again after `refund_retry_later`.
//!   NOTENOUGH (balance too low): the manager is told once, then it is sent again every
//!   `refund_retry_later` until the balance allows it.
//! - Refused for good (USER_ACCOUNT_ABNORMAL, TRADE_OVERDUE, the order fully refunded already, the order
//!   unknown, a request or configuration the gateway refuses): recorded as refused; its amount is
//!   refundable again and the manager is told what to do instead. A refusal that an earlier send of this
//!   same number could have caused (the order "fully refunded already", a generic ERROR, "the amount is
//!   wrong": the first send was accepted but its answer was lost) is recorded only after refundquery says
//!   there is no refund under this number; if there is one, its status is recorded instead.
//! - Found at start-up in flight: asked about first (refundquery); a refund the gateway does not know is
//!   sent again with its own number.

use std::time::Duration;

use super::policy::backoff;
use super::settings::Timing;
use crate::ledger::{RefundInput, RefundState};
use crate::wxpay::{Action, RefundStatus, WxError};

/// What the gateway said to the refund watcher's last call, not yet acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundAnswer {
    /// The refund call: `result_code=SUCCESS`, the refund is accepted (not yet refunded).
    Accepted,
    /// refundquery: the status of this refund.
    Status(RefundStatus),
    /// The refund call refused it with a business error, and what to do about it
    /// ([`WxError::action`]).
    Refused(Action),
    /// refundquery: no refund under this number (REFUNDNOTEXIST, or the order is unknown there).
    NotExist,
    /// No verified answer (transport failure, HTTP 5xx, SYSTEMERROR): the outcome is unknown.
    Unknown,
}

/// The answer a failed refund call gives the policy.
pub fn answer_of_send_error(e: &WxError) -> RefundAnswer {
    match e.action() {
        Action::RetrySame => RefundAnswer::Unknown,
        action => RefundAnswer::Refused(action),
    }
}

/// The answer a failed refundquery gives the policy: only "no such refund" tells something; anything else
/// leaves the outcome unknown (the query is repeated after a back-off).
pub fn answer_of_query_error(e: &WxError) -> RefundAnswer {
    match e.err_code() {
        Some("REFUNDNOTEXIST" | "ORDERNOTEXIST") => RefundAnswer::NotExist,
        _ => RefundAnswer::Unknown,
    }
}

/// The input a refund status records; `None` for a status that tells nothing new (unknown values).
pub fn input_of(status: &RefundStatus) -> Option<RefundInput> {
    match status {
        RefundStatus::Processing => Some(RefundInput::Processing),
        RefundStatus::Success => Some(RefundInput::Succeeded),
        RefundStatus::Change => Some(RefundInput::Changed),
        RefundStatus::RefundClose => Some(RefundInput::Closed),
        RefundStatus::Unknown(_) => None,
    }
}

/// Everything [`next_refund_step`] decides from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundFacts {
    /// As stored in the ledger now.
    pub state: RefundState,
    /// The last answer, not yet acted on.
    pub answer: Option<RefundAnswer>,
    /// Found in flight at start-up (nobody knows what became of its last request).
    pub startup: bool,
    /// Refund requests sent in this watch.
    pub sends: u32,
    /// refundqueries sent in this watch.
    pub queries: u32,
    /// Consecutive calls without a verified answer, or failed writes; 0 after any success.
    pub failures: u32,
    /// PROCESSING answers in a row: each doubles the wait before the next query.
    pub polls: u32,
    /// The manager was told (NOTENOUGH, or an accepted refund the gateway no longer knows) in this watch.
    pub alerted: bool,
    /// The last send was refused with this action, and the refusal is being checked by refundquery.
    pub refused: Option<Action>,
}

/// The refund watcher's next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStep {
    /// Send the refund request (the stored `out_refund_no` and amount), `after` from now.
    Send { after: Duration },
    /// Ask refundquery about this refund, `after` from now (sooner when a notification wakes the watcher).
    Query { after: Duration },
    /// Record `input` through the refund state machine, `after` from now.
    Record {
        input: RefundInput,
        why: &'static str,
        after: Duration,
    },
    /// Tell the manager (log, the order's history, the window's error line).
    Alert(RefundAlert),
    /// Stop watching this refund.
    Stop,
}

/// What a [`RefundStep::Alert`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundAlert {
    /// NOTENOUGH: the merchant's available balance is too low; it is sent again until it goes through.
    TopUpBalance,
    /// refundquery does not know a refund the gateway accepted.
    NotExistAfterAccepted,
}

/// The refund watcher's next step for `f`.
pub fn next_refund_step(f: &RefundFacts, t: &Timing) -> RefundStep {
    if let Some(a) = &f.answer
        && let Some(step) = on_answer(f, t, a)
    {
        return step;
    }
    on_time(f, t)
}

/// The wait before the next refundquery of an accepted refund after `polls` PROCESSING answers.
pub fn processing_wait(t: &Timing, polls: u32) -> Duration {
    t.refund_poll_interval
        .saturating_mul(1u32 << polls.min(16))
        .min(t.refund_max_poll.max(t.refund_poll_interval))
}

fn on_answer(f: &RefundFacts, t: &Timing, a: &RefundAnswer) -> Option<RefundStep> {
    use RefundState as S;
    // A pending answer with failures means recording it failed: back off before writing again.
    let after = backoff(t.refund_poll_interval, t.max_backoff, f.failures);
    let record = |input, why| Some(RefundStep::Record { input, why, after });
    let requesting = f.state == S::Requesting;
    match a {
        RefundAnswer::Accepted if requesting => record(RefundInput::Accepted, "accepted"),
        RefundAnswer::Accepted => None,
        RefundAnswer::Status(status) => match input_of(status) {
            Some(RefundInput::Processing) if requesting => {
                record(RefundInput::Processing, "PROCESSING")
            }
            Some(RefundInput::Processing) | None => None,
            Some(input) if f.state.is_unfinished() => record(input, status_why(status)),
            Some(_) => None,
        },
        RefundAnswer::Refused(action) if requesting => match action {
            // The answer did not verify (bad signature, a field that does not match): ask what happened.
            Action::Query => Some(RefundStep::Query {
                after: backoff(t.refund_poll_interval, t.max_backoff, f.failures.max(1)),
            }),
            Action::RetrySame => Some(RefundStep::Send {
                after: backoff(t.refund_poll_interval, t.max_backoff, f.failures.max(1)),
            }),
            Action::RetryLater => Some(RefundStep::Send {
                after: t.refund_retry_later,
            }),
            Action::TopUpBalance if !f.alerted => {
                Some(RefundStep::Alert(RefundAlert::TopUpBalance))
            }
            Action::TopUpBalance => Some(RefundStep::Send {
                after: t.refund_retry_later,
            }),
            // A refusal an earlier, accepted send of this number could explain: ask before believing it.
            Action::RefundOtherwise | Action::FullyRefunded => Some(RefundStep::Query {
                after: t.refund_poll_interval,
            }),
            // This request with this number was refused: it was never accepted, so its amount is free again.
            Action::NotRefundable | Action::NewOutTradeNo | Action::TreatAsPaid => record(
                RefundInput::Refused,
                "the gateway knows no paid order to refund",
            ),
            Action::FixConfig => record(
                RefundInput::Refused,
                "the merchant configuration is refused",
            ),
            Action::FixRequest => record(RefundInput::Refused, "the gateway refuses the request"),
        },
        RefundAnswer::Refused(_) => None,
        // The refusal being checked is confirmed: nothing was accepted under this number.
        RefundAnswer::NotExist if requesting && let Some(action) = f.refused => {
            record(RefundInput::Refused, refused_why(action))
        }
        RefundAnswer::NotExist if requesting => Some(RefundStep::Send { after }),
        RefundAnswer::NotExist if f.state == S::Processing && !f.alerted => {
            Some(RefundStep::Alert(RefundAlert::NotExistAfterAccepted))
        }
        RefundAnswer::NotExist | RefundAnswer::Unknown => None,
    }
}

/// Why a refusal confirmed by refundquery is recorded.
fn refused_why(action: Action) -> &'static str {
    match action {
        Action::FullyRefunded => {
            "the order is fully refunded already (refundquery: no refund under this number)"
        }
        Action::Query => {
            "the answer did not hold and refundquery knows no refund under this number"
        }
        _ => "cannot be refunded through WeChat Pay (refundquery: no refund under this number)",
    }
}

fn status_why(status: &RefundStatus) -> &'static str {
    match status {
        RefundStatus::Success => "SUCCESS",
        RefundStatus::Change => "CHANGE: the refund to the card failed",
        RefundStatus::RefundClose => "REFUNDCLOSE",
        RefundStatus::Processing => "PROCESSING",
        RefundStatus::Unknown(_) => "unknown refund_status",
    }
}

fn on_time(f: &RefundFacts, t: &Timing) -> RefundStep {
    use RefundState as S;
    let retry = backoff(t.refund_poll_interval, t.max_backoff, f.failures);
    match f.state {
        S::Requesting => {
            if f.startup && f.sends == 0 && f.queries == 0 {
                // Its request may or may not have reached the gateway before PayDesk stopped: ask first.
                RefundStep::Query {
                    after: Duration::ZERO,
                }
            } else if f.sends == 0 && f.failures == 0 {
                RefundStep::Send {
                    after: Duration::ZERO,
                }
            } else {
                // After an unknown outcome (or an answer the ledger would not take): the same request again,
                // never at once.
                RefundStep::Send {
                    after: retry.max(t.refund_poll_interval),
                }
            }
        }
        S::Processing => {
            let after = if f.failures > 0 {
                retry.max(t.refund_poll_interval)
            } else if f.queries == 0 {
                if f.startup {
                    Duration::ZERO
                } else {
                    t.refund_poll_interval
                }
            } else {
                processing_wait(t, f.polls)
            };
            RefundStep::Query { after }
        }
        S::Success | S::Change | S::Closed | S::Failed => RefundStep::Stop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RefundState as S;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Live numbers: first refundquery after 5 s, doubling up to 30 min; back-off from 5 s up to 30 s;
    /// FREQUENCY_LIMITED / NOTENOUGH retried after 61 s.
    fn timing() -> Timing {
        Timing::live()
    }

    /// A refund just stored, nothing sent yet.
    fn requesting() -> RefundFacts {
        RefundFacts {
            state: S::Requesting,
            answer: None,
            startup: false,
            sends: 0,
            queries: 0,
            failures: 0,
            polls: 0,
            alerted: false,
            refused: None,
        }
    }

    /// An accepted refund, queried once.
    fn processing() -> RefundFacts {
        RefundFacts {
            state: S::Processing,
            sends: 1,
            queries: 1,
            ..requesting()
        }
    }

    fn refused(code: &str, des: &str) -> Option<RefundAnswer> {
        Some(answer_of_send_error(&WxError::Refund {
            code: code.into(),
            des: des.into(),
        }))
    }

    fn status(s: RefundStatus) -> Option<RefundAnswer> {
        Some(RefundAnswer::Status(s))
    }

    fn rec(input: RefundInput) -> RefundStep {
        rec_after(input, Duration::ZERO)
    }

    fn rec_after(input: RefundInput, after: Duration) -> RefundStep {
        RefundStep::Record {
            input,
            why: "",
            after,
        }
    }

    /// Compares steps, ignoring the wording of a Record.
    fn same(a: &RefundStep, b: &RefundStep) -> bool {
        match (a, b) {
            (
                RefundStep::Record {
                    input: i1,
                    after: a1,
                    ..
                },
                RefundStep::Record {
                    input: i2,
                    after: a2,
                    ..
                },
            ) => i1 == i2 && a1 == a2,
            _ => a == b,
        }
    }

    type Row = (&'static str, fn() -> RefundFacts, RefundStep);

    /// Every refund answer, status and error code of reference §7 that reaches the watcher.
    fn table() -> Vec<Row> {
        vec![
            // Sending.
            (
                "new refund: sent at once",
                requesting,
                RefundStep::Send {
                    after: Duration::ZERO,
                },
            ),
            (
                "refund SUCCESS: accepted",
                || RefundFacts {
                    answer: Some(RefundAnswer::Accepted),
                    sends: 1,
                    ..requesting()
                },
                rec(RefundInput::Accepted),
            ),
            (
                "SYSTEMERROR: the same request (same out_refund_no) after the back-off",
                || RefundFacts {
                    answer: refused("SYSTEMERROR", "系统超时"),
                    sends: 1,
                    failures: 1,
                    ..requesting()
                },
                RefundStep::Send { after: ms(10_000) },
            ),
            (
                "BIZERR_NEED_RETRY: the same request after the back-off",
                || RefundFacts {
                    answer: refused("BIZERR_NEED_RETRY", ""),
                    sends: 1,
                    failures: 2,
                    ..requesting()
                },
                RefundStep::Send { after: ms(20_000) },
            ),
            (
                "transport failure: outcome unknown, sent again (same number), back-off capped",
                || RefundFacts {
                    answer: Some(RefundAnswer::Unknown),
                    sends: 6,
                    failures: 6,
                    ..requesting()
                },
                RefundStep::Send { after: ms(30_000) },
            ),
            (
                "FREQUENCY_LIMITED: the same refund again a minute later",
                || RefundFacts {
                    answer: refused("FREQUENCY_LIMITED", "频率限制"),
                    sends: 1,
                    ..requesting()
                },
                RefundStep::Send { after: ms(61_000) },
            ),
            (
                "INVALID_REQ_TOO_MUCH: like FREQUENCY_LIMITED",
                || RefundFacts {
                    answer: refused("INVALID_REQ_TOO_MUCH", ""),
                    sends: 1,
                    ..requesting()
                },
                RefundStep::Send { after: ms(61_000) },
            ),
            (
                "NOTENOUGH, first time: tell the manager",
                || RefundFacts {
                    answer: refused("NOTENOUGH", "基本账户余额不足"),
                    sends: 1,
                    ..requesting()
                },
                RefundStep::Alert(RefundAlert::TopUpBalance),
            ),
            (
                "NOTENOUGH, told already: send again later",
                || RefundFacts {
                    answer: refused("NOTENOUGH", "基本账户余额不足"),
                    sends: 2,
                    alerted: true,
                    ..requesting()
                },
                RefundStep::Send { after: ms(61_000) },
            ),
            (
                "USER_ACCOUNT_ABNORMAL: refused for good (after refundquery knows no refund under this number)",
                || RefundFacts {
                    answer: refused("USER_ACCOUNT_ABNORMAL", ""),
                    sends: 1,
                    ..requesting()
                },
                RefundStep::Query {
                    after: Timing::live().refund_poll_interval,
                },
            ),
            (
                "TRADE_OVERDUE: refused for good (after refundquery knows no refund under this number)",
                || RefundFacts {
                    answer: refused("TRADE_OVERDUE", "订单已经超过退款期限"),
                    sends: 1,
                    ..requesting()
                },
                RefundStep::Query {
                    after: Timing::live().refund_poll_interval,
                },
            ),
            (
                "ERROR 订单已全额退款: an earlier send of this number may have been accepted: ask first",
                || RefundFacts {
                    answer: refused("ERROR", "订单已全额退款"),
                    sends: 2,
                    refused: Some(Action::FullyRefunded),
                    ..requesting()
                },
                RefundStep::Query {
                    after: Timing::live().refund_poll_interval,
                },
            ),
            (
                "ERROR, another message: ask first too",
                || RefundFacts {
                    answer: refused("ERROR", "交易未结算资金不足"),
                    sends: 1,
                    refused: Some(Action::RefundOtherwise),
                    ..requesting()
                },
                RefundStep::Query {
                    after: Timing::live().refund_poll_interval,
                },
            ),
            (
                "the refusal checked: refundquery knows no refund under this number: refused",
                || RefundFacts {
                    answer: Some(RefundAnswer::NotExist),
                    sends: 2,
                    queries: 1,
                    refused: Some(Action::FullyRefunded),
                    ..requesting()
                },
                rec(RefundInput::Refused),
            ),
            (
                "the refusal checked: the first send was accepted and has succeeded: recorded so",
                || RefundFacts {
                    answer: status(RefundStatus::Success),
                    sends: 2,
                    queries: 1,
                    refused: Some(Action::FullyRefunded),
                    ..requesting()
                },
                rec(RefundInput::Succeeded),
            ),
            (
                "an answer that did not hold, and no refund under this number: refused, not sent forever",
                || RefundFacts {
                    answer: Some(RefundAnswer::NotExist),
                    sends: 1,
                    queries: 1,
                    refused: Some(Action::Query),
                    ..requesting()
                },
                rec(RefundInput::Refused),
            ),
            (
                "ERROR 退款金额大于…: ask what happened",
                || RefundFacts {
                    answer: refused("ERROR", "退款金额大于支付金额"),
                    sends: 1,
                    ..requesting()
                },
                RefundStep::Query { after: ms(10_000) },
            ),
            (
                "ORDERNOTEXIST: nothing to refund",
                || RefundFacts {
                    answer: refused("ORDERNOTEXIST", ""),
                    sends: 1,
                    ..requesting()
                },
                rec(RefundInput::Refused),
            ),
            (
                "PARAM_ERROR / INVALID_TRANSACTIONID: the request is refused",
                || RefundFacts {
                    answer: refused("INVALID_TRANSACTIONID", ""),
                    sends: 1,
                    ..requesting()
                },
                rec(RefundInput::Refused),
            ),
            (
                "NOAUTH / SIGNERROR: the configuration is refused",
                || RefundFacts {
                    answer: refused("NOAUTH", ""),
                    sends: 1,
                    ..requesting()
                },
                rec(RefundInput::Refused),
            ),
            (
                "no client certificate: refused, nothing was sent",
                || RefundFacts {
                    answer: Some(answer_of_send_error(&WxError::NoClientCertificate)),
                    sends: 1,
                    ..requesting()
                },
                rec(RefundInput::Refused),
            ),
            (
                "an answer that does not verify: ask refundquery",
                || RefundFacts {
                    answer: Some(answer_of_send_error(&WxError::MissingField("refund_id"))),
                    sends: 1,
                    failures: 1,
                    ..requesting()
                },
                RefundStep::Query { after: ms(10_000) },
            ),
            (
                "recording the acceptance failed: back off before writing again",
                || RefundFacts {
                    answer: Some(RefundAnswer::Accepted),
                    sends: 1,
                    failures: 1,
                    ..requesting()
                },
                rec_after(RefundInput::Accepted, ms(10_000)),
            ),
            // refundquery while requesting.
            (
                "requesting, refundquery PROCESSING: accepted",
                || RefundFacts {
                    answer: status(RefundStatus::Processing),
                    queries: 1,
                    ..requesting()
                },
                rec(RefundInput::Processing),
            ),
            (
                "requesting, refundquery SUCCESS: refunded",
                || RefundFacts {
                    answer: status(RefundStatus::Success),
                    queries: 1,
                    ..requesting()
                },
                rec(RefundInput::Succeeded),
            ),
            (
                "requesting, REFUNDNOTEXIST: never arrived, send it (same number)",
                || RefundFacts {
                    answer: Some(RefundAnswer::NotExist),
                    queries: 1,
                    ..requesting()
                },
                RefundStep::Send {
                    after: Duration::ZERO,
                },
            ),
            // Start-up.
            (
                "start-up, requesting: ask first",
                || RefundFacts {
                    startup: true,
                    ..requesting()
                },
                RefundStep::Query {
                    after: Duration::ZERO,
                },
            ),
            (
                "start-up, requesting, the query got no answer: send (same number) after the back-off",
                || RefundFacts {
                    startup: true,
                    queries: 1,
                    failures: 1,
                    answer: Some(RefundAnswer::Unknown),
                    ..requesting()
                },
                RefundStep::Send { after: ms(10_000) },
            ),
            (
                "start-up, processing: query at once",
                || RefundFacts {
                    startup: true,
                    queries: 0,
                    ..processing()
                },
                RefundStep::Query {
                    after: Duration::ZERO,
                },
            ),
            // Accepted refunds.
            (
                "accepted, first query after the poll interval",
                || RefundFacts {
                    queries: 0,
                    ..processing()
                },
                RefundStep::Query { after: ms(5_000) },
            ),
            (
                "PROCESSING: query again, the wait doubling",
                || RefundFacts {
                    answer: status(RefundStatus::Processing),
                    polls: 2,
                    ..processing()
                },
                RefundStep::Query { after: ms(20_000) },
            ),
            (
                "PROCESSING for long: at most refund_max_poll",
                || RefundFacts {
                    answer: status(RefundStatus::Processing),
                    polls: 30,
                    ..processing()
                },
                RefundStep::Query {
                    after: ms(30 * 60_000),
                },
            ),
            (
                "an unknown refund_status: keep asking",
                || RefundFacts {
                    answer: status(RefundStatus::Unknown("NEW".into())),
                    polls: 1,
                    ..processing()
                },
                RefundStep::Query { after: ms(10_000) },
            ),
            (
                "SUCCESS: refunded",
                || RefundFacts {
                    answer: status(RefundStatus::Success),
                    ..processing()
                },
                rec(RefundInput::Succeeded),
            ),
            (
                "CHANGE: final, the manager handles it",
                || RefundFacts {
                    answer: status(RefundStatus::Change),
                    ..processing()
                },
                rec(RefundInput::Changed),
            ),
            (
                "REFUNDCLOSE: closed",
                || RefundFacts {
                    answer: status(RefundStatus::RefundClose),
                    ..processing()
                },
                rec(RefundInput::Closed),
            ),
            (
                "refundquery SYSTEMERROR / transport: query again after the back-off",
                || RefundFacts {
                    answer: Some(RefundAnswer::Unknown),
                    failures: 2,
                    ..processing()
                },
                RefundStep::Query { after: ms(20_000) },
            ),
            (
                "accepted, REFUNDNOTEXIST: tell the manager",
                || RefundFacts {
                    answer: Some(RefundAnswer::NotExist),
                    ..processing()
                },
                RefundStep::Alert(RefundAlert::NotExistAfterAccepted),
            ),
            (
                "accepted, REFUNDNOTEXIST, told already: keep asking",
                || RefundFacts {
                    answer: Some(RefundAnswer::NotExist),
                    alerted: true,
                    ..processing()
                },
                RefundStep::Query { after: ms(5_000) },
            ),
            (
                "accepted, a duplicate acceptance: nothing to record",
                || RefundFacts {
                    answer: Some(RefundAnswer::Accepted),
                    ..processing()
                },
                RefundStep::Query { after: ms(5_000) },
            ),
            (
                "accepted, a stale refusal: nothing to record",
                || RefundFacts {
                    answer: refused("FREQUENCY_LIMITED", ""),
                    ..processing()
                },
                RefundStep::Query { after: ms(5_000) },
            ),
            // Final states.
            (
                "success: stop",
                || RefundFacts {
                    state: S::Success,
                    ..processing()
                },
                RefundStep::Stop,
            ),
            (
                "success, a duplicate SUCCESS: stop",
                || RefundFacts {
                    state: S::Success,
                    answer: status(RefundStatus::Success),
                    ..processing()
                },
                RefundStep::Stop,
            ),
            (
                "change: stop",
                || RefundFacts {
                    state: S::Change,
                    ..processing()
                },
                RefundStep::Stop,
            ),
            (
                "closed: stop",
                || RefundFacts {
                    state: S::Closed,
                    ..processing()
                },
                RefundStep::Stop,
            ),
            (
                "failed: stop",
                || RefundFacts {
                    state: S::Failed,
                    ..requesting()
                },
                RefundStep::Stop,
            ),
            (
                "requesting, an answer the ledger did not take (flagged): sent again, not at once",
                || RefundFacts {
                    sends: 1,
                    ..requesting()
                },
                RefundStep::Send { after: ms(5_000) },
            ),
        ]
    }

    #[test]
    fn every_refund_answer_status_and_error_code() {
        let t = timing();
        let rows = table();
        for (name, facts, want) in &rows {
            let got = next_refund_step(&facts(), &t);
            assert!(same(&got, want), "{name}: want {want:?}, got {got:?}");
        }
        assert!(rows.len() >= 40, "{} rows", rows.len());
    }

    #[test]
    fn every_action_of_a_refused_refund_leads_somewhere_without_a_zero_delay_loop() {
        let t = timing();
        let actions = [
            Action::RetrySame,
            Action::Query,
            Action::TreatAsPaid,
            Action::NewOutTradeNo,
            Action::FixConfig,
            Action::FixRequest,
            Action::RetryLater,
            Action::TopUpBalance,
            Action::RefundOtherwise,
            Action::FullyRefunded,
            Action::NotRefundable,
        ];
        for action in actions {
            for failures in 0..4 {
                for alerted in [false, true] {
                    let f = RefundFacts {
                        answer: Some(RefundAnswer::Refused(action)),
                        sends: 1,
                        failures,
                        alerted,
                        ..requesting()
                    };
                    match next_refund_step(&f, &t) {
                        RefundStep::Send { after } | RefundStep::Query { after } => {
                            assert!(!after.is_zero(), "{action:?}: an immediate repeat")
                        }
                        RefundStep::Record { input, .. } => {
                            assert_eq!(input, RefundInput::Refused, "{action:?}")
                        }
                        RefundStep::Alert(_) => assert!(!alerted, "{action:?}: told twice"),
                        RefundStep::Stop => {
                            panic!("{action:?}: a requesting refund left unwatched")
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn failures_never_repeat_a_call_at_once() {
        let t = timing();
        for state in RefundState::ALL {
            for failures in 1..20 {
                for startup in [false, true] {
                    for answer in [RefundAnswer::Unknown, RefundAnswer::Accepted] {
                        let f = RefundFacts {
                            state,
                            answer: Some(answer.clone()),
                            startup,
                            sends: 1,
                            queries: 1,
                            failures,
                            ..requesting()
                        };
                        match next_refund_step(&f, &t) {
                            RefundStep::Send { after }
                            | RefundStep::Query { after }
                            | RefundStep::Record { after, .. } => {
                                assert!(!after.is_zero(), "{state:?} after {failures} failures")
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn query_errors_and_statuses() {
        let e = |code: &str| WxError::Refund {
            code: code.into(),
            des: String::new(),
        };
        assert_eq!(
            answer_of_query_error(&e("REFUNDNOTEXIST")),
            RefundAnswer::NotExist
        );
        assert_eq!(
            answer_of_query_error(&e("ORDERNOTEXIST")),
            RefundAnswer::NotExist
        );
        assert_eq!(
            answer_of_query_error(&e("SYSTEMERROR")),
            RefundAnswer::Unknown
        );
        let transport = WxError::Transport {
            kind: crate::wxpay::TransportKind::Timeout,
            detail: "slow".into(),
        };
        assert_eq!(answer_of_query_error(&transport), RefundAnswer::Unknown);
        assert_eq!(answer_of_send_error(&transport), RefundAnswer::Unknown);
        assert_eq!(input_of(&RefundStatus::Unknown("X".into())), None);
        assert_eq!(input_of(&RefundStatus::Change), Some(RefundInput::Changed));
        let t = timing();
        assert_eq!(processing_wait(&t, 0), ms(5_000));
        assert_eq!(processing_wait(&t, 1), ms(10_000));
        assert_eq!(processing_wait(&t, 99), ms(30 * 60_000));
    }
}
