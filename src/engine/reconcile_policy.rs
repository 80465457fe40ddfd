//! The automatic reconciliation's decisions: from what the ledger holds (the first order's day, the days
//! already reconciled) and what this run remembers (the days whose bill could not be had, and when), the one
//! next step: reconcile a day, or wait until an instant. [`next_reconcile_step`] is a pure function (no
//! clock, no I/O), like [`super::policy::next_step`] for orders; `reconcile_task` carries its steps out.
//!
//! Not here: the comparison itself and its storage ([`super::reconcile`], [`crate::ledger::reconcile`]),
//! timers and the ledger (`reconcile_task`).
//!
//! The rules (reference §8, §12.7 of `wechatpay-v2.md`), all in Beijing time whatever the machine's zone:
//! - Which days: every day from the first order's day (a till whose first orders were all given up may still
//!   have been paid at WeChat) to yesterday, but at most the last [`DAYS_BACK`] days, oldest first; never
//!   today (its bill does not exist yet). Thirty days cover any closure of a shop (holidays, a broken till)
//!   while keeping the first start after an upgrade to at most thirty bill downloads, and keep the manager
//!   from being told about months-old differences nobody can act on any more; the gateway keeps bills for
//!   three months, and older days are reconciled by hand (`paydesk reconcile --date`).
//! - When: a day's bill is generated from 09:00 the next day and should be fetched after 10:00; the till
//!   asks at [`READY_AFTER`] past midnight the next day (10:30), leaving the gateway some slack.
//! - A day with a stored run is done, whatever its result (a day without trade whose bill is
//!   `No Bill Exist` included): it is never run again automatically; the manager re-runs one by hand.
//! - A day whose bill could not be had (the gateway unreachable, `Bill Creating`, an error answer) is asked
//!   again after a back-off per day ([`RETRY_FIRST`] doubled per failure, at most [`RETRY_MAX`]): never a
//!   zero-delay loop, and one day the gateway keeps refusing does not hold up the others.
//! - Nothing to do: wait until the next day's bill is due (or the earliest retry).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use super::policy::backoff;
use crate::wxpay::bill::{beijing_day, beijing_day_start};

/// The most days back that are reconciled automatically (see the module doc for why thirty).
pub const DAYS_BACK: u64 = 30;

/// How long after the day's end (Beijing midnight) its bill is asked for: 10:30 the next day.
pub const READY_AFTER: chrono::Duration = chrono::Duration::minutes(10 * 60 + 30);

/// The first retry of a day whose bill could not be had comes after twice this; each failure doubles it.
pub const RETRY_FIRST: Duration = Duration::from_secs(60);

/// The longest wait between two attempts at one day.
pub const RETRY_MAX: Duration = Duration::from_secs(60 * 60);

/// The failed attempts at one day, in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failed {
    /// When the last attempt failed.
    pub at: DateTime<Utc>,
    /// Consecutive failures (at least 1).
    pub failures: u32,
}

/// Everything [`next_reconcile_step`] decides from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileFacts {
    pub now: DateTime<Utc>,
    /// The Beijing day of the ledger's first order; `None`: the ledger has none.
    pub first_day: Option<NaiveDate>,
    /// Days with a stored run.
    pub done: BTreeSet<NaiveDate>,
    /// Days whose bill could not be had, in this run.
    pub failed: BTreeMap<NaiveDate, Failed>,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconcileStep {
    /// Reconcile this Beijing day now.
    Reconcile(NaiveDate),
    /// Nothing to do before this instant (always later than `now`).
    WaitUntil(DateTime<Utc>),
}

/// When the bill of `day` is asked for: [`READY_AFTER`] past the day's end.
pub fn due_at(day: NaiveDate) -> DateTime<Utc> {
    beijing_day_start(day) + chrono::Duration::days(1) + READY_AFTER
}

/// The oldest day the rules allow at `now`: the first order's day, at most [`DAYS_BACK`] days ago.
pub fn first_candidate(now: DateTime<Utc>, first_day: NaiveDate) -> NaiveDate {
    let today = beijing_day(now);
    let oldest = today
        .checked_sub_days(chrono::Days::new(DAYS_BACK))
        .unwrap_or(today);
    first_day.max(oldest)
}

/// The next step (see the module doc for the rules).
pub fn next_reconcile_step(f: &ReconcileFacts) -> ReconcileStep {
    let today = beijing_day(f.now);
    // Today's bill is the next one to come; it is always later than now.
    let mut wake = due_at(today);
    if let Some(first_day) = f.first_day {
        let mut day = first_candidate(f.now, first_day);
        while day < today {
            if !f.done.contains(&day) {
                let mut from = due_at(day);
                if let Some(failed) = f.failed.get(&day) {
                    let wait = backoff(RETRY_FIRST, RETRY_MAX, failed.failures.max(1));
                    let retry = failed.at
                        + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
                    from = from.max(retry);
                }
                if from <= f.now {
                    return ReconcileStep::Reconcile(day);
                }
                wake = wake.min(from);
            }
            let Some(next) = day.succ_opt() else { break };
            day = next;
        }
    }
    ReconcileStep::WaitUntil(wake)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, TimeZone};

    /// `h:m` Beijing time on 2026-11-`d`.
    fn bj(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, d, h, m, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn mins(m: i64) -> chrono::Duration {
        chrono::Duration::minutes(m)
    }

    /// Now is Beijing 2026-11-28 11:00; the first order was on the 27th; nothing reconciled yet.
    fn base() -> ReconcileFacts {
        ReconcileFacts {
            now: bj(28, 11, 0),
            first_day: Some(day(27)),
            done: BTreeSet::new(),
            failed: BTreeMap::new(),
        }
    }

    fn done(days: &[u32]) -> BTreeSet<NaiveDate> {
        days.iter().map(|d| day(*d)).collect()
    }

    fn failed(d: u32, at: DateTime<Utc>, failures: u32) -> BTreeMap<NaiveDate, Failed> {
        BTreeMap::from([(day(d), Failed { at, failures })])
    }

    type Row = (&'static str, fn() -> ReconcileFacts, ReconcileStep);

    fn table() -> Vec<Row> {
        use ReconcileStep::{Reconcile, WaitUntil};
        vec![
            (
                "an empty ledger: nothing to reconcile, look again when today's bill is due",
                || ReconcileFacts {
                    first_day: None,
                    ..base()
                },
                WaitUntil(bj(29, 10, 30)),
            ),
            (
                "yesterday's trade, its bill due: reconcile yesterday",
                base,
                Reconcile(day(27)),
            ),
            (
                "yesterday's bill is due from 10:30, not before (the gateway makes it from 09:00)",
                || ReconcileFacts {
                    now: bj(28, 10, 29),
                    ..base()
                },
                WaitUntil(bj(28, 10, 30)),
            ),
            (
                "at 10:30 sharp it is due",
                || ReconcileFacts {
                    now: bj(28, 10, 30),
                    ..base()
                },
                Reconcile(day(27)),
            ),
            (
                "yesterday done: wait for tomorrow's 10:30 (once a day)",
                || ReconcileFacts {
                    done: done(&[27]),
                    ..base()
                },
                WaitUntil(bj(29, 10, 30)),
            ),
            (
                "never today, even with today's trade only",
                || ReconcileFacts {
                    first_day: Some(day(28)),
                    now: bj(28, 23, 59),
                    ..base()
                },
                WaitUntil(bj(29, 10, 30)),
            ),
            (
                "the till was off for days: the oldest day not done first",
                || ReconcileFacts {
                    first_day: Some(day(20)),
                    done: done(&[20, 21, 23]),
                    ..base()
                },
                Reconcile(day(22)),
            ),
            (
                "a day without trade in between is reconciled too (its answer may be No Bill Exist)",
                || ReconcileFacts {
                    first_day: Some(day(20)),
                    done: done(&[20, 21, 22, 23, 24, 25, 27]),
                    ..base()
                },
                Reconcile(day(26)),
            ),
            (
                "at most 30 days back: a ledger from last year starts 30 days ago",
                || ReconcileFacts {
                    first_day: Some(NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()),
                    ..base()
                },
                Reconcile(NaiveDate::from_ymd_opt(2026, 10, 29).unwrap()),
            ),
            (
                "days before the 30 are never asked for, even when not done",
                || ReconcileFacts {
                    first_day: Some(NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()),
                    done: (0..30).map(|n| day(27) - chrono::Days::new(n)).collect(),
                    ..base()
                },
                WaitUntil(bj(29, 10, 30)),
            ),
            (
                "a day done whatever its result: not run again",
                || ReconcileFacts {
                    first_day: Some(day(26)),
                    done: done(&[26, 27]),
                    ..base()
                },
                WaitUntil(bj(29, 10, 30)),
            ),
            (
                "the bill could not be had a minute ago: retried after the back-off (2 minutes)",
                || ReconcileFacts {
                    failed: failed(27, bj(28, 10, 59), 1),
                    ..base()
                },
                WaitUntil(bj(28, 11, 1)),
            ),
            (
                "the back-off is over: asked again",
                || ReconcileFacts {
                    now: bj(28, 11, 1),
                    failed: failed(27, bj(28, 10, 59), 1),
                    ..base()
                },
                Reconcile(day(27)),
            ),
            (
                "the back-off doubles per failure",
                || ReconcileFacts {
                    failed: failed(27, bj(28, 10, 59), 3),
                    ..base()
                },
                WaitUntil(bj(28, 10, 59) + mins(8)),
            ),
            (
                "the back-off is at most an hour",
                || ReconcileFacts {
                    failed: failed(27, bj(28, 10, 59), 20),
                    ..base()
                },
                WaitUntil(bj(28, 11, 59)),
            ),
            (
                "a day the gateway keeps refusing does not hold up the next one",
                || ReconcileFacts {
                    first_day: Some(day(26)),
                    failed: failed(26, bj(28, 10, 59), 4),
                    ..base()
                },
                Reconcile(day(27)),
            ),
            (
                "every day waiting for its retry: wake at the earliest",
                || ReconcileFacts {
                    first_day: Some(day(26)),
                    failed: BTreeMap::from([
                        (
                            day(26),
                            Failed {
                                at: bj(28, 10, 59),
                                failures: 4,
                            },
                        ),
                        (
                            day(27),
                            Failed {
                                at: bj(28, 10, 59),
                                failures: 1,
                            },
                        ),
                    ]),
                    ..base()
                },
                WaitUntil(bj(28, 11, 1)),
            ),
            (
                "a failure recorded with no count still backs off",
                || ReconcileFacts {
                    failed: failed(27, bj(28, 10, 59), 0),
                    ..base()
                },
                WaitUntil(bj(28, 11, 1)),
            ),
            (
                "the machine's clock before the first order (set back): nothing to do",
                || ReconcileFacts {
                    now: bj(20, 11, 0),
                    ..base()
                },
                WaitUntil(bj(21, 10, 30)),
            ),
            (
                "just after Beijing midnight (16:00 UTC): yesterday is the 28th, not yet due",
                || ReconcileFacts {
                    now: bj(29, 0, 1),
                    done: done(&[27]),
                    ..base()
                },
                WaitUntil(bj(29, 10, 30)),
            ),
        ]
    }

    #[test]
    fn every_rule_of_the_automatic_reconciliation() {
        for (name, facts, want) in table() {
            assert_eq!(next_reconcile_step(&facts()), want, "{name}");
        }
    }

    #[test]
    fn never_a_zero_delay_loop_and_never_today() {
        for (name, facts, _) in table() {
            let f = facts();
            match next_reconcile_step(&f) {
                ReconcileStep::WaitUntil(t) => {
                    assert!(t > f.now, "{name}: {t} is not after {}", f.now)
                }
                ReconcileStep::Reconcile(d) => {
                    assert!(d < beijing_day(f.now), "{name}: {d}");
                    assert!(!f.done.contains(&d), "{name}: {d} is done");
                    assert!(due_at(d) <= f.now, "{name}: {d} is not due");
                }
            }
        }
    }

    #[test]
    fn the_bill_is_due_at_half_past_ten_beijing_whatever_the_zone() {
        assert_eq!(due_at(day(27)), bj(28, 10, 30));
        assert_eq!(due_at(day(27)).to_rfc3339(), "2026-11-28T02:30:00+00:00");
    }
}
