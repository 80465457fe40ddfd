//! Set-ups shared by the integration tests.
//!
//! * [`oracle`]: an independent v2 signer, written from the reference without `paydesk::wxpay`'s signing;
//!   every test gateway and every notification a test makes is signed with it.
//! * [`sandbox`]: a sandbox gateway on a free loopback port that signs and verifies with the oracle.
//! * [`receiver`]: a merchant's notification endpoint that records what it receives.
//! * [`http`]: raw requests (signed XML, wrong methods, broken bodies) to a gateway or a listener.
//! * [`engine`]: engine settings against a test sandbox (fast timing), a second handle on its ledger.
//! * [`builders`]: the sandbox's merchant, a valid unifiedorder (typed and as raw fields).
//! * here: waiting for a condition, a temporary data directory, fixed instants and field sets.
//!
//! Not a test of anything by itself: `tests/sandbox.rs` pins the oracle to the reference's vector V1.
#![allow(dead_code)]

pub mod builders;
pub mod engine;
pub mod http;
pub mod oracle;
pub mod receiver;
pub mod sandbox;

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};

pub use oracle::Fields;

/// How long a test waits for a condition before it fails: a guard against hangs, not a timing assertion.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Wait until `cond` holds (checked every few milliseconds; fails after [`PATIENCE`]).
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// [`eventually`] for a condition that must be awaited (asking an engine, a ledger, a gateway).
pub async fn eventually_async<F: Future<Output = bool>>(what: &str, mut cond: impl FnMut() -> F) {
    let deadline = Instant::now() + PATIENCE;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A fresh data directory, removed when dropped.
pub fn data_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// `127.0.0.1:0`: a free port on loopback.
pub fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().expect("valid address")
}

/// 2024-05-20 12:30:00 Beijing time, the instant of the reference's samples.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 20, 4, 30, 0).unwrap()
}

/// A field set from pairs.
pub fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
