//! The automatic reconciliation: one background task that carries out what
//! [`super::reconcile_policy::next_reconcile_step`] decides — reconcile a past day with WeChat's bill
//! ([`Engine::reconcile_day`], which stores the result and reports [`super::EngineEvent::Reconciled`]), or
//! wait — and feeds the outcomes back. Started by the app for the window
//! ([`Engine::start_daily_reconciliation`]); one-shot commands do not start it.
//!
//! Not here: which day and when (the policy), the comparison (`reconcile`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Engine;
use super::policy::{backoff, warn_now};
use super::reconcile_policy::{
    Failed, RETRY_FIRST, RETRY_MAX, ReconcileFacts, ReconcileStep, first_candidate,
    next_reconcile_step,
};
use crate::ledger::LedgerError;
use crate::wxpay::bill::beijing_day;

/// The longest single wait: the plan is looked at again at least this often, so that a clock set forward
/// or a machine woken from sleep does not miss a day's bill.
const NAP_MAX: Duration = Duration::from_secs(15 * 60);

/// The shortest wait (the policy never asks for less than a moment; this only bounds a clock that stands
/// still, as in tests).
const NAP_MIN: Duration = Duration::from_secs(1);

impl Engine {
    /// Reconcile every past day not yet reconciled, at start-up and then once a day, in the background
    /// (rules: [`super::reconcile_policy`]). Each day's result is stored in the ledger, logged and reported
    /// as [`super::EngineEvent::Reconciled`]. Stops with [`Engine::shutdown`].
    pub fn start_daily_reconciliation(&self) {
        let engine = self.clone();
        let task = tokio::spawn(async move { engine.reconcile_days().await });
        self.inner.track(task);
    }

    async fn reconcile_days(self) {
        // Nothing is reconciled on a ledger whose start-up check has not passed.
        loop {
            match self.inner.ledger.refuse_if_unchecked() {
                Ok(()) => break,
                Err(LedgerError::Checking { .. }) => tokio::time::sleep(NAP_MIN).await,
                Err(e) => {
                    tracing::warn!(error = %e, "no automatic reconciliation: the ledger cannot be written");
                    return;
                }
            }
        }
        let mut failed: BTreeMap<chrono::NaiveDate, Failed> = BTreeMap::new();
        // Days reconciled by this task: done even if reading them back failed (never run twice in a row).
        let mut ran = BTreeSet::new();
        let mut read_failures = 0u32;
        loop {
            let now = self.inner.now();
            let mut facts = match self.reconcile_facts(now).await {
                Ok(f) => {
                    read_failures = 0;
                    f
                }
                Err(e) => {
                    read_failures += 1;
                    if warn_now(read_failures) {
                        tracing::warn!(error = %e, failures = read_failures, "automatic reconciliation cannot read the ledger");
                    }
                    tokio::time::sleep(backoff(RETRY_FIRST, RETRY_MAX, read_failures)).await;
                    continue;
                }
            };
            facts.done.extend(ran.iter().copied());
            facts.failed = failed.clone();
            match next_reconcile_step(&facts) {
                ReconcileStep::WaitUntil(until) => {
                    tokio::time::sleep(nap(now, until)).await;
                }
                ReconcileStep::Reconcile(day) => match self.reconcile_day(day).await {
                    Ok(r) => {
                        failed.remove(&day);
                        ran.insert(day);
                        if r.unexplained() > 0 {
                            tracing::warn!(
                                %day,
                                unexplained = r.unexplained(),
                                differences = r.findings.len(),
                                "reconciled automatically: differences left for the manager"
                            );
                        } else {
                            tracing::info!(
                                %day,
                                bill = r.had_bill,
                                matched = r.matched,
                                differences = r.findings.len(),
                                "reconciled automatically: the ledger agrees with the bill"
                            );
                        }
                    }
                    Err(e) => {
                        let entry = failed.entry(day).or_insert(Failed {
                            at: now,
                            failures: 0,
                        });
                        entry.failures += 1;
                        entry.at = self.inner.now();
                        if warn_now(entry.failures) {
                            tracing::warn!(%day, error = %e, failures = entry.failures, "automatic reconciliation: the day's bill could not be had; retrying later");
                        } else {
                            tracing::debug!(%day, error = %e, failures = entry.failures, "automatic reconciliation failed again");
                        }
                    }
                },
            }
        }
    }

    /// What the policy needs from the ledger at `now`.
    async fn reconcile_facts(
        &self,
        now: DateTime<Utc>,
    ) -> Result<ReconcileFacts, super::EngineError> {
        let (first_day, done) = self
            .inner
            .db(move |l| {
                let Some(first) = l.first_order_at()? else {
                    return Ok((None, Vec::new()));
                };
                let first_day = beijing_day(first);
                let today = beijing_day(now);
                let done = l.reconciled_days(first_candidate(now, first_day), today)?;
                Ok((Some(first_day), done))
            })
            .await?;
        Ok(ReconcileFacts {
            now,
            first_day,
            done: done.into_iter().collect(),
            failed: BTreeMap::new(),
        })
    }
}

/// How long to sleep until `until`, bounded by [`NAP_MIN`] and [`NAP_MAX`].
fn nap(now: DateTime<Utc>, until: DateTime<Utc>) -> Duration {
    (until - now)
        .to_std()
        .unwrap_or(Duration::ZERO)
        .clamp(NAP_MIN, NAP_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn naps_are_bounded() {
        let t = Utc.with_ymd_and_hms(2026, 11, 28, 3, 0, 0).unwrap();
        assert_eq!(nap(t, t), NAP_MIN);
        assert_eq!(nap(t, t - chrono::Duration::hours(1)), NAP_MIN);
        assert_eq!(
            nap(t, t + chrono::Duration::seconds(90)),
            Duration::from_secs(90)
        );
        assert_eq!(nap(t, t + chrono::Duration::days(1)), NAP_MAX);
    }
}
