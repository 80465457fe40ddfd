//! Closing a day against WeChat's trade bill: download the bill of a Beijing-time day, compare it with the
//! ledger order by order and refund by refund ([`compare`], pure), apply what the bill shows that the ledger
//! missed (a late payment, a refund made on the merchant platform, a refund's outcome) through the ledger's
//! state machines with the bill as their source, and store the result of the run.
//!
//! The bill is WeChat's record of money and the ledger the shop's; each difference is explained, and is
//! either resolved (the ledger now agrees: the fix was applied) or left for the manager (an order the ledger
//! does not know, a payment the bill does not have, amounts or transactions that differ, a refund the ledger
//! holds as failed while the bill has it). Which day a trade belongs to is the bill's rule: a payment by its
//! success time, a refund by when it was accepted (for the ledger: when the refund API accepted the send
//! that got through, days after its recording if it was sent again later; see
//! [`crate::ledger::Ledger::refunds_accepted_between`]), both in Beijing time; a trade in the last seconds
//! before midnight may fall on the neighbouring day of the other side, and is then reported as missing from
//! one day and found in the next. A refund found in the bill is dated by the bill's times (the REFUND bill's
//! success time, asked for only then), never by the run's.
//!
//! Not here: the bill's format (`wxpay::bill`), storage (`ledger::reconcile`), wording for the window (the
//! CLI prints [`DayReconciliation::report`]), running it automatically each day (`reconcile_policy`,
//! `reconcile_task`).
//!
//! Two files: `compare.rs` is the pure comparison (bill rows against the ledger's side of the day, giving
//! the differences and the fix for each; the REFUND bill's success times); `run.rs` runs a day (asks for
//! the bill when it is ready, applies the fixes through the ledger, stores and announces the result).

mod compare;
mod run;
#[cfg(test)]
mod test_support;

pub use compare::{
    Comparison, Difference, DifferenceKind, Fix, LedgerSide, compare, success_times,
    success_times_wanted, with_success_times,
};
pub use run::{BILL_APPROVER, DayReconciliation, Finding};
