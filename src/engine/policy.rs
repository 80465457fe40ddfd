//! The watcher's decisions: from what is known about one order (its stored status, its times, the gateway's
//! last answer, the failures so far), the one next step: query, record an input, close, re-check later,
//! alert, or stop. [`next_step`] is a pure function (no clock, no I/O); `lifecycle` carries its steps out and
//! feeds the outcomes back as [`Facts`].
//!
//! Not here: how a status may change (the order state machine, [`crate::ledger::state`], which the recorded
//! inputs go through), the protocol ([`crate::wxpay`]), timers and the ledger (`lifecycle`).
//!
//! The rules, with the reference sections they come from (`wechatpay-v2.md`):
//! - Poll while the QR is shown (§12.3): the first query after `first_query_after`, then every
//!   `poll_interval`; after a failure back off, doubling up to `max_backoff` (§3.3 transport failures:
//!   the outcome is unknown, ask again). An order found unfinished at start-up is queried at once, and backed
//!   off from the second attempt: never a zero-delay loop while the gateway is unreachable.
//! - Expiry: the countdown ends at `expires_at`; the order is given up only `expiry_margin` later, after one
//!   more query answered past that point (§12.5 "until time_expire plus a margin, then close"), so that a
//!   payment made inside the window but seen late is paid, not paid after cancel. If the gateway cannot be
//!   reached for that query, it is given up after three tries (a payment found later is paid after cancel).
//! - Closing (§5): closeorder not before `close_min_age`; SUCCESS or ORDERCLOSED is confirmed by a query;
//!   ORDERPAID is confirmed by a query; anything else is retried with back-off. Final only on CLOSED (or
//!   PAYERROR after the close, for a failed payment).
//! - PAYERROR (§4): closed at the gateway before it is final (§5, §12.6).
//! - ORDERNOTEXIST (§4): for an order that never got a code_url, it was never created; for one that did, it
//!   is an anomaly: alert once, keep polling, still close.
//! - SUCCESS with an amount that is not the order's (§12.4): recorded once (the ledger refuses and flags it),
//!   then the watcher stops: the manager must look.
//! - Given up (cancelled, expired, failed, with a code_url): re-checked after each `recheck_after` entry
//!   (§5 "Race": a payment can land after the close), and once at every start while `time_expire` is less
//!   than `recheck_horizon` ago. Only answers count as re-checks: a look that got none is repeated after the
//!   back-off, until the horizon.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::settings::Timing;
use crate::ledger::state::is_given_up;
use crate::ledger::{CloseReason, Input, OrderStatus, Source};
use crate::wxpay::TradeState;

/// What the gateway said to the watcher's last call, not yet acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A verified orderquery answer. `amount_ok`: for SUCCESS/REFUND, `total_fee` equals the order's total.
    Query { state: TradeState, amount_ok: bool },
    /// orderquery or closeorder: `ORDERNOTEXIST`.
    NotExist,
    /// No verified answer (transport failure, HTTP 5xx, SYSTEMERROR, bad signature): the outcome is unknown.
    Unknown,
    /// closeorder: SUCCESS, or `ORDERCLOSED` ("treat as success").
    Closed,
    /// closeorder: `ORDERPAID`.
    ClosePaid,
    /// closeorder refused otherwise, e.g. `TRADE_STATE_ERROR` within 5 minutes of creation.
    CloseRefused,
}

/// Everything [`next_step`] decides from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// As stored in the ledger now.
    pub status: OrderStatus,
    pub close_reason: Option<CloseReason>,
    /// The gateway gave it a code_url (so a customer may have seen its QR).
    pub has_code_url: bool,
    pub now: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// The end of the payment window (`time_expire`).
    pub expires_at: DateTime<Utc>,
    /// The last answer, not yet acted on.
    pub answer: Option<Answer>,
    /// When the gateway last answered a query in this watch.
    pub answered_at: Option<DateTime<Utc>>,
    /// Queries sent in this watch (answered or not).
    pub queries: u32,
    /// Consecutive failed calls (gateway or ledger); 0 after any success.
    pub failures: u32,
    /// Watched since start-up: it was unfinished or given up when PayDesk started, nobody shows its QR.
    pub startup: bool,
    /// closeorder was accepted in this watch.
    pub close_sent: bool,
    /// Re-checks made since it was given up (stored in the ledger, so they survive a restart).
    pub rechecks: u32,
    /// The ORDERNOTEXIST anomaly was alerted in this watch.
    pub alerted: bool,
    /// A SUCCESS with the wrong amount was recorded (and flagged) in this watch.
    pub mismatch_recorded: bool,
    /// The end of the countdown was noted in the history.
    pub countdown_noted: bool,
}

/// The watcher's next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Ask orderquery, `after` from now (sooner when woken by a notification or the cashier).
    Query { after: Duration },
    /// Record `input` through the state machine, `after` from now. A `Paid` carries the last answer's payment.
    Record {
        input: Input,
        source: Source,
        why: &'static str,
        after: Duration,
    },
    /// Send closeorder, `after` from now.
    Close { after: Duration },
    /// Query a given-up order again `after` from now, counting one re-check.
    Recheck { after: Duration },
    /// Note in the history that the countdown is over and when the order will be closed.
    NoteCountdownOver,
    /// Tell the manager (log, history, the window's error line).
    Alert(Alert),
    /// Stop watching this order.
    Stop,
}

/// What an [`Step::Alert`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alert {
    /// The gateway says it does not know an order it gave a code_url for.
    NotExistWithCodeUrl,
}

/// After this many failed queries past the expiry margin, the order is given up without the last answer.
pub const EXPIRY_TRIES: u32 = 3;

/// The watcher's next step for `f`.
pub fn next_step(f: &Facts, t: &Timing) -> Step {
    if let Some(a) = &f.answer
        && let Some(step) = on_answer(f, t, a)
    {
        return step;
    }
    on_time(f, t)
}

/// Whether a failure is worth a warning in the log: the first, then each time the count doubles (1, 2, 4,
/// 8, …), so a gateway down for a day adds a dozen lines per order, not one per attempt.
pub fn warn_now(failures: u32) -> bool {
    failures.is_power_of_two()
}

/// The wait after `failures` consecutive failures: `base` doubled per failure, at most `max`.
pub fn backoff(base: Duration, max: Duration, failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    base.saturating_mul(1u32 << failures.min(10)).min(max)
}

/// What to do with the last answer; `None`: nothing to record, go by the clock.
fn on_answer(f: &Facts, t: &Timing, a: &Answer) -> Option<Step> {
    use OrderStatus as S;
    // A pending answer with failures means recording it failed: back off before writing again.
    let after = backoff(t.poll_interval, t.max_backoff, f.failures);
    let record = |input, source, why| {
        Some(Step::Record {
            input,
            source,
            why,
            after,
        })
    };
    let cancel = |why| {
        record(
            Input::CloseRequested(CloseReason::Cancel),
            Source::Query,
            why,
        )
    };
    match a {
        Answer::Query { state, amount_ok } => match state {
            TradeState::Success | TradeState::Refund => {
                if f.status.is_paid() || f.status == S::Refunded {
                    None
                } else if *amount_ok {
                    record(Input::Paid, Source::Query, "paid")
                } else if !f.mismatch_recorded {
                    // The ledger refuses it and flags the order for the manager.
                    record(Input::Paid, Source::Query, "paid, wrong amount")
                } else {
                    Some(Step::Stop)
                }
            }
            TradeState::NotPay
            | TradeState::UserPaying
            | TradeState::Accept
            | TradeState::Unknown(_) => {
                if f.status == S::Creating {
                    cancel("order exists at the gateway but its QR was never shown")
                } else if f.startup && f.status.is_payable() {
                    record(
                        Input::CloseRequested(CloseReason::Cancel),
                        Source::Startup,
                        "PayDesk restarted while this order was open; its QR is no longer shown",
                    )
                } else if f.status == S::Open && *state != TradeState::NotPay {
                    record(Input::UserPaying, Source::Query, "customer paying")
                } else {
                    None
                }
            }
            TradeState::PayError => {
                if f.status.is_payable() {
                    record(
                        Input::CloseRequested(CloseReason::PayError),
                        Source::Query,
                        "payment failed (PAYERROR); closing it before it is final",
                    )
                } else if f.status == S::Closing && f.close_sent {
                    record(Input::PayError, Source::Query, "PAYERROR after the close")
                } else {
                    None
                }
            }
            TradeState::Closed | TradeState::Revoked => {
                if f.status.is_final() {
                    None
                } else {
                    record(Input::Closed, Source::Query, "closed at the gateway")
                }
            }
        },
        Answer::NotExist => {
            if f.status == S::Creating {
                record(
                    Input::CreateFailed,
                    Source::Query,
                    "ORDERNOTEXIST: never created",
                )
            } else if !f.has_code_url && !f.status.is_final() {
                // Its unifiedorder never created it: nothing payable exists under this number.
                record(Input::Closed, Source::Query, "ORDERNOTEXIST: never created")
            } else if f.has_code_url && !f.alerted {
                Some(Step::Alert(Alert::NotExistWithCodeUrl))
            } else {
                None
            }
        }
        // Confirm a close (and a payment the close refused) by a query.
        Answer::Closed | Answer::ClosePaid => Some(Step::Query {
            after: Duration::ZERO,
        }),
        Answer::Unknown | Answer::CloseRefused => None,
    }
}

/// What to do when nothing is pending: go by the status and the clock.
fn on_time(f: &Facts, t: &Timing) -> Step {
    use OrderStatus as S;
    let retry = backoff(t.poll_interval, t.max_backoff, f.failures);
    // The next poll: at once for an order found at start-up, after `first_query_after` for a new one, then
    // every poll interval, or the back-off after failures.
    let poll = if f.failures > 0 {
        retry
    } else if f.queries == 0 {
        if f.startup {
            Duration::ZERO
        } else {
            t.first_query_after
        }
    } else {
        t.poll_interval
    };
    match f.status {
        S::Paid | S::PaidAfterCancel | S::Refunded => Step::Stop,
        s if is_given_up(s) => {
            let horizon =
                chrono::Duration::from_std(t.recheck_horizon).unwrap_or(chrono::Duration::MAX);
            if !f.has_code_url || f.now >= f.expires_at + horizon {
                Step::Stop
            } else if f.failures > 0 {
                // The last look got no answer: look again after the back-off (only answers count).
                Step::Recheck { after: retry }
            } else if f.startup && f.answered_at.is_none() {
                Step::Recheck {
                    after: Duration::ZERO,
                }
            } else if let Some(next) = t.recheck_after.get(f.rechecks as usize) {
                Step::Recheck { after: *next }
            } else {
                Step::Stop
            }
        }
        S::Creating => Step::Query { after: poll },
        S::Open | S::UserPaying => {
            let margin =
                chrono::Duration::from_std(t.expiry_margin).unwrap_or(chrono::Duration::MAX);
            let deadline = f.expires_at + margin;
            if f.now >= f.expires_at && !margin.is_zero() && !f.countdown_noted {
                Step::NoteCountdownOver
            } else if f.now >= deadline {
                let answered_late = f.answered_at.is_some_and(|a| a >= deadline);
                if answered_late || f.failures >= EXPIRY_TRIES {
                    Step::Record {
                        input: Input::CloseRequested(CloseReason::Expire),
                        source: Source::Cashier,
                        why: "payment window over",
                        after: retry,
                    }
                } else {
                    // One more look before giving it up.
                    Step::Query { after: retry }
                }
            } else {
                let left = (deadline - f.now).to_std().unwrap_or(Duration::ZERO);
                Step::Query {
                    after: poll.min(left),
                }
            }
        }
        S::Closing => {
            let age = (f.now - f.created_at).to_std().unwrap_or(Duration::ZERO);
            if age < t.close_min_age {
                // WeChat refuses closeorder this early: keep polling until it is allowed.
                Step::Query {
                    after: poll.min(t.close_min_age - age),
                }
            } else if !f.close_sent {
                Step::Close { after: retry }
            } else {
                Step::Query { after: poll }
            }
        }
        _ => Step::Stop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus as S;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 4, 0, 0).unwrap()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Round numbers: poll 2 s (first after 3 s), back-off up to 30 s, close after 5 min, margin 30 s,
    /// re-checks +30 s, +2 min, +10 min, +1 h within 24 h.
    fn timing() -> Timing {
        Timing::live()
    }

    /// An open order, 1 minute old, 9 minutes left, queried once, nothing pending.
    fn open() -> Facts {
        Facts {
            status: S::Open,
            close_reason: None,
            has_code_url: true,
            now: t0() + chrono::Duration::minutes(1),
            created_at: t0(),
            expires_at: t0() + chrono::Duration::minutes(10),
            answer: None,
            answered_at: Some(t0() + chrono::Duration::seconds(58)),
            queries: 1,
            failures: 0,
            startup: false,
            close_sent: false,
            rechecks: 0,
            alerted: false,
            mismatch_recorded: false,
            countdown_noted: false,
        }
    }

    fn q(state: TradeState) -> Option<Answer> {
        Some(Answer::Query {
            state,
            amount_ok: true,
        })
    }

    fn rec(input: Input) -> Step {
        rec_after(input, Duration::ZERO)
    }

    fn rec_after(input: Input, after: Duration) -> Step {
        Step::Record {
            input,
            source: Source::Query,
            why: "",
            after,
        }
    }

    fn query(after: Duration) -> Step {
        Step::Query { after }
    }

    const CANCEL: Input = Input::CloseRequested(CloseReason::Cancel);
    const EXPIRE: Input = Input::CloseRequested(CloseReason::Expire);
    const PAYERROR: Input = Input::CloseRequested(CloseReason::PayError);

    /// Compares steps, ignoring the wording and the source of a Record (checked separately).
    fn same(a: &Step, b: &Step) -> bool {
        match (a, b) {
            (
                Step::Record {
                    input: i1,
                    after: a1,
                    ..
                },
                Step::Record {
                    input: i2,
                    after: a2,
                    ..
                },
            ) => i1 == i2 && a1 == a2,
            _ => a == b,
        }
    }

    type Row = (&'static str, fn(&mut Facts), Step);

    /// Every row of reference §3.3–§5 that reaches the watcher, and the clock's rules.
    fn table() -> Vec<Row> {
        vec![
            // §4 trade_state, order open.
            (
                "open SUCCESS amount ok",
                |f| f.answer = q(TradeState::Success),
                rec(Input::Paid),
            ),
            (
                "open REFUND (money received)",
                |f| f.answer = q(TradeState::Refund),
                rec(Input::Paid),
            ),
            (
                "open SUCCESS wrong amount: recorded (refused, flagged) once",
                |f| {
                    f.answer = Some(Answer::Query {
                        state: TradeState::Success,
                        amount_ok: false,
                    })
                },
                rec(Input::Paid),
            ),
            (
                "open SUCCESS wrong amount already recorded: stop, not every poll",
                |f| {
                    f.answer = Some(Answer::Query {
                        state: TradeState::Success,
                        amount_ok: false,
                    });
                    f.mismatch_recorded = true;
                },
                Step::Stop,
            ),
            (
                "open NOTPAY: poll",
                |f| f.answer = q(TradeState::NotPay),
                query(ms(2000)),
            ),
            (
                "open USERPAYING",
                |f| f.answer = q(TradeState::UserPaying),
                rec(Input::UserPaying),
            ),
            (
                "open ACCEPT: non-final",
                |f| f.answer = q(TradeState::Accept),
                rec(Input::UserPaying),
            ),
            (
                "open unknown trade_state: non-final",
                |f| f.answer = q(TradeState::Unknown("NEW".into())),
                rec(Input::UserPaying),
            ),
            (
                "paying USERPAYING again: poll",
                |f| {
                    f.status = S::UserPaying;
                    f.answer = q(TradeState::UserPaying)
                },
                query(ms(2000)),
            ),
            (
                "open CLOSED: closed at the gateway",
                |f| f.answer = q(TradeState::Closed),
                rec(Input::Closed),
            ),
            (
                "open REVOKED: final, not paid",
                |f| f.answer = q(TradeState::Revoked),
                rec(Input::Closed),
            ),
            (
                "open PAYERROR: close before final",
                |f| f.answer = q(TradeState::PayError),
                rec(PAYERROR),
            ),
            // §4 errors.
            (
                "open ORDERNOTEXIST with a code_url: alert",
                |f| f.answer = Some(Answer::NotExist),
                Step::Alert(Alert::NotExistWithCodeUrl),
            ),
            (
                "open ORDERNOTEXIST alerted already: keep polling",
                |f| {
                    f.answer = Some(Answer::NotExist);
                    f.alerted = true
                },
                query(ms(2000)),
            ),
            (
                "creating ORDERNOTEXIST: never created",
                |f| {
                    f.status = S::Creating;
                    f.has_code_url = false;
                    f.answer = Some(Answer::NotExist)
                },
                rec(Input::CreateFailed),
            ),
            (
                "closing without code_url ORDERNOTEXIST: nothing payable exists",
                |f| {
                    f.status = S::Closing;
                    f.has_code_url = false;
                    f.answer = Some(Answer::NotExist)
                },
                rec(Input::Closed),
            ),
            (
                "closing with code_url ORDERNOTEXIST: alert, final only on CLOSED",
                |f| {
                    f.status = S::Closing;
                    f.answer = Some(Answer::NotExist)
                },
                Step::Alert(Alert::NotExistWithCodeUrl),
            ),
            (
                "SYSTEMERROR / transport, 1st failure: back off",
                |f| {
                    f.answer = Some(Answer::Unknown);
                    f.failures = 1
                },
                query(ms(4000)),
            ),
            (
                "SYSTEMERROR / transport, 5th failure: at most max_backoff",
                |f| {
                    f.answer = Some(Answer::Unknown);
                    f.failures = 5
                },
                query(ms(30_000)),
            ),
            // §3.3: a Creating order found at the gateway (lost unifiedorder answer).
            (
                "creating NOTPAY: exists but never shown, close it",
                |f| {
                    f.status = S::Creating;
                    f.answer = q(TradeState::NotPay)
                },
                rec(CANCEL),
            ),
            (
                "creating SUCCESS (ORDERPAID at unifiedorder): paid",
                |f| {
                    f.status = S::Creating;
                    f.answer = q(TradeState::Success)
                },
                rec(Input::Paid),
            ),
            (
                "creating, first look",
                |f| {
                    f.status = S::Creating;
                    f.queries = 0
                },
                query(ms(3000)),
            ),
            // Start-up.
            (
                "start-up: first query at once",
                |f| {
                    f.startup = true;
                    f.queries = 0
                },
                query(Duration::ZERO),
            ),
            (
                "start-up, gateway unreachable: back off from the second attempt",
                |f| {
                    f.startup = true;
                    f.answer = Some(Answer::Unknown);
                    f.failures = 1
                },
                query(ms(4000)),
            ),
            (
                "start-up NOTPAY: nobody shows the QR, close it",
                |f| {
                    f.startup = true;
                    f.answer = q(TradeState::NotPay)
                },
                rec(CANCEL),
            ),
            (
                "start-up USERPAYING: close it too",
                |f| {
                    f.startup = true;
                    f.status = S::UserPaying;
                    f.answer = q(TradeState::UserPaying)
                },
                rec(CANCEL),
            ),
            (
                "start-up SUCCESS: paid",
                |f| {
                    f.startup = true;
                    f.answer = q(TradeState::Success)
                },
                rec(Input::Paid),
            ),
            // The payment window (§3.4, §12.5).
            (
                "open, new: first query after 3 s",
                |f| f.queries = 0,
                query(ms(3000)),
            ),
            (
                "open, 1 s before the end: wait at most until the deadline (end + margin)",
                |f| f.now = f.expires_at - chrono::Duration::seconds(1),
                query(ms(2000)),
            ),
            (
                "open, countdown just over: noted",
                |f| f.now = f.expires_at,
                Step::NoteCountdownOver,
            ),
            (
                "open, inside the margin: keep polling",
                |f| {
                    f.now = f.expires_at + chrono::Duration::seconds(29);
                    f.countdown_noted = true
                },
                query(ms(1000)),
            ),
            (
                "open, margin over, last answer before it: one more query",
                |f| {
                    f.now = f.expires_at + chrono::Duration::seconds(30);
                    f.countdown_noted = true
                },
                query(Duration::ZERO),
            ),
            (
                "open, margin over, answered NOTPAY after it: give up as expired",
                |f| {
                    f.now = f.expires_at + chrono::Duration::seconds(31);
                    f.answered_at = Some(f.expires_at + chrono::Duration::seconds(30));
                    f.answer = q(TradeState::NotPay);
                    f.countdown_noted = true
                },
                rec(EXPIRE),
            ),
            (
                "open, margin over, the last query says SUCCESS: paid, not paid after cancel",
                |f| {
                    f.now = f.expires_at + chrono::Duration::seconds(31);
                    f.answered_at = Some(f.now);
                    f.answer = q(TradeState::Success);
                    f.countdown_noted = true
                },
                rec(Input::Paid),
            ),
            (
                "open, margin over, gateway unreachable twice: try again",
                |f| {
                    f.now = f.expires_at + chrono::Duration::seconds(40);
                    f.failures = 2;
                    f.countdown_noted = true
                },
                query(ms(8000)),
            ),
            (
                "open, margin over, gateway unreachable three times: give up (after the back-off)",
                |f| {
                    f.now = f.expires_at + chrono::Duration::seconds(60);
                    f.failures = EXPIRY_TRIES;
                    f.countdown_noted = true
                },
                rec_after(EXPIRE, ms(16_000)),
            ),
            (
                "open, margin over, recording the expiry failed: back off, no zero-delay loop",
                |f| {
                    f.now = f.expires_at + chrono::Duration::seconds(31);
                    f.answered_at = Some(f.expires_at + chrono::Duration::seconds(30));
                    f.failures = 1;
                    f.countdown_noted = true
                },
                rec_after(EXPIRE, ms(4000)),
            ),
            (
                "a pending answer whose recording failed: back off",
                |f| {
                    f.answer = q(TradeState::Success);
                    f.failures = 2
                },
                rec_after(Input::Paid, ms(8000)),
            ),
            // §5 closeorder.
            (
                "closing within 5 minutes: poll until closing is allowed",
                |f| {
                    f.status = S::Closing;
                    f.now = t0() + chrono::Duration::seconds(299);
                },
                query(ms(1000)),
            ),
            (
                "closing after 5 minutes: close",
                |f| {
                    f.status = S::Closing;
                    f.now = t0() + chrono::Duration::minutes(5);
                },
                Step::Close {
                    after: Duration::ZERO,
                },
            ),
            (
                "closeorder SUCCESS / ORDERCLOSED: confirm by query",
                |f| {
                    f.status = S::Closing;
                    f.close_sent = true;
                    f.answer = Some(Answer::Closed)
                },
                query(Duration::ZERO),
            ),
            (
                "closeorder ORDERPAID: confirm by query",
                |f| {
                    f.status = S::Closing;
                    f.now = t0() + chrono::Duration::minutes(6);
                    f.answer = Some(Answer::ClosePaid)
                },
                query(Duration::ZERO),
            ),
            (
                "closeorder SYSTEMERROR: call again after the back-off",
                |f| {
                    f.status = S::Closing;
                    f.now = t0() + chrono::Duration::minutes(6);
                    f.answer = Some(Answer::CloseRefused);
                    f.failures = 1
                },
                Step::Close { after: ms(4000) },
            ),
            (
                "closeorder TRADE_STATE_ERROR (within 5 min at the gateway's clock): call again later",
                |f| {
                    f.status = S::Closing;
                    f.now = t0() + chrono::Duration::minutes(6);
                    f.answer = Some(Answer::CloseRefused);
                    f.failures = 2
                },
                Step::Close { after: ms(8000) },
            ),
            (
                "closing, confirmed CLOSED: final",
                |f| {
                    f.status = S::Closing;
                    f.close_sent = true;
                    f.answer = q(TradeState::Closed)
                },
                rec(Input::Closed),
            ),
            (
                "closing, the confirmation query says SUCCESS (§5 race): paid (after cancel)",
                |f| {
                    f.status = S::Closing;
                    f.close_sent = true;
                    f.answer = q(TradeState::Success)
                },
                rec(Input::Paid),
            ),
            (
                "closing, confirmation NOTPAY: keep confirming",
                |f| {
                    f.status = S::Closing;
                    f.now = t0() + chrono::Duration::minutes(6);
                    f.close_sent = true;
                    f.answer = q(TradeState::NotPay)
                },
                query(ms(2000)),
            ),
            (
                "closing USERPAYING: not recorded, keep closing",
                |f| {
                    f.status = S::Closing;
                    f.now = t0() + chrono::Duration::minutes(6);
                    f.answer = q(TradeState::UserPaying)
                },
                Step::Close {
                    after: Duration::ZERO,
                },
            ),
            (
                "closing after PAYERROR, not closed yet: close first",
                |f| {
                    f.status = S::Closing;
                    f.close_reason = Some(CloseReason::PayError);
                    f.now = t0() + chrono::Duration::minutes(6);
                    f.answer = q(TradeState::PayError)
                },
                Step::Close {
                    after: Duration::ZERO,
                },
            ),
            (
                "closing after PAYERROR, closed: PAYERROR is final",
                |f| {
                    f.status = S::Closing;
                    f.close_reason = Some(CloseReason::PayError);
                    f.close_sent = true;
                    f.answer = q(TradeState::PayError)
                },
                rec(Input::PayError),
            ),
            // Given up: re-checks (§5 race).
            (
                "cancelled: first re-check after 30 s",
                |f| f.status = S::Cancelled,
                Step::Recheck { after: ms(30_000) },
            ),
            (
                "expired, 3 re-checks done: the last after 1 h",
                |f| {
                    f.status = S::Expired;
                    f.rechecks = 3
                },
                Step::Recheck {
                    after: ms(3_600_000),
                },
            ),
            (
                "failed, schedule done: stop",
                |f| {
                    f.status = S::Failed;
                    f.rechecks = 4
                },
                Step::Stop,
            ),
            (
                "given up, re-check says CLOSED: next re-check",
                |f| {
                    f.status = S::Cancelled;
                    f.rechecks = 1;
                    f.answer = q(TradeState::Closed)
                },
                Step::Recheck { after: ms(120_000) },
            ),
            (
                "given up, re-check finds SUCCESS: paid (after cancel)",
                |f| {
                    f.status = S::Expired;
                    f.rechecks = 1;
                    f.answer = q(TradeState::Success)
                },
                rec(Input::Paid),
            ),
            (
                "given up, re-check ORDERNOTEXIST: alert once",
                |f| {
                    f.status = S::Cancelled;
                    f.answer = Some(Answer::NotExist)
                },
                Step::Alert(Alert::NotExistWithCodeUrl),
            ),
            (
                "start-up, given up within 24 h, schedule done: asked again once",
                |f| {
                    f.status = S::Cancelled;
                    f.startup = true;
                    f.queries = 0;
                    f.answered_at = None;
                    f.rechecks = 4;
                    f.now = f.expires_at + chrono::Duration::hours(23)
                },
                Step::Recheck {
                    after: Duration::ZERO,
                },
            ),
            (
                "start-up, given up more than 24 h ago: nothing",
                |f| {
                    f.status = S::Cancelled;
                    f.startup = true;
                    f.queries = 0;
                    f.now = f.expires_at + chrono::Duration::hours(24)
                },
                Step::Stop,
            ),
            (
                "given up, the re-check got no answer: ask again after the back-off",
                |f| {
                    f.status = S::Cancelled;
                    f.rechecks = 4;
                    f.failures = 1;
                    f.answer = Some(Answer::Unknown)
                },
                Step::Recheck { after: ms(4000) },
            ),
            (
                "start-up re-check got no answer: ask again after the back-off",
                |f| {
                    f.status = S::Expired;
                    f.startup = true;
                    f.answered_at = None;
                    f.rechecks = 4;
                    f.failures = 2;
                    f.answer = Some(Answer::Unknown)
                },
                Step::Recheck { after: ms(8000) },
            ),
            (
                "given up, no answer for a day after time_expire: stop",
                |f| {
                    f.status = S::Cancelled;
                    f.failures = 9;
                    f.now = f.expires_at + chrono::Duration::hours(24)
                },
                Step::Stop,
            ),
            (
                "given up without a code_url (never created): nothing to re-check",
                |f| {
                    f.status = S::Failed;
                    f.has_code_url = false
                },
                Step::Stop,
            ),
            ("paid: stop", |f| f.status = S::Paid, Step::Stop),
            (
                "paid, a duplicate SUCCESS: stop",
                |f| {
                    f.status = S::Paid;
                    f.answer = q(TradeState::Success)
                },
                Step::Stop,
            ),
            ("refunded: stop", |f| f.status = S::Refunded, Step::Stop),
        ]
    }

    #[test]
    fn every_row_of_the_reference_tables() {
        let t = timing();
        let rows = table();
        for (name, set, want) in &rows {
            let mut f = open();
            set(&mut f);
            let got = next_step(&f, &t);
            assert!(same(&got, want), "{name}: want {want:?}, got {got:?}");
        }
        assert!(rows.len() >= 50, "{} rows", rows.len());
    }

    #[test]
    fn records_name_their_source() {
        let t = timing();
        let mut f = open();
        f.startup = true;
        f.answer = q(TradeState::NotPay);
        assert!(matches!(
            next_step(&f, &t),
            Step::Record {
                source: Source::Startup,
                ..
            }
        ));
        let mut f = open();
        f.now = f.expires_at + chrono::Duration::seconds(31);
        f.answered_at = Some(f.now);
        f.countdown_noted = true;
        assert!(matches!(
            next_step(&f, &t),
            Step::Record {
                source: Source::Cashier,
                ..
            }
        ));
    }

    #[test]
    fn no_zero_delay_loop_while_failing() {
        // Whatever the status, a failure never leads to an immediate repeat of a gateway call or a write.
        let t = timing();
        for status in OrderStatus::ALL {
            for failures in 1..20 {
                for startup in [false, true] {
                    let mut f = open();
                    f.status = status;
                    f.failures = failures;
                    f.startup = startup;
                    f.now = t0() + chrono::Duration::minutes(6);
                    f.answer = Some(Answer::Unknown);
                    match next_step(&f, &t) {
                        Step::Query { after }
                        | Step::Close { after }
                        | Step::Recheck { after }
                        | Step::Record { after, .. } => {
                            assert!(!after.is_zero(), "{status:?} after {failures} failures")
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    #[test]
    fn warnings_are_rate_limited() {
        let warned = (1..=2880).filter(|n| warn_now(*n)).count();
        assert_eq!(warned, 12, "a day of failures at the 30 s ceiling");
        assert!(warn_now(1) && warn_now(2) && !warn_now(3));
    }
}
