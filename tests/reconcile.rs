//! Closing a day against WeChat's trade bill, end to end: the sandbox's `/pay/downloadbill` read by PayDesk's
//! client (plain and gzip, the three bill types, `No Bill Exist`, today's bill, a bad signature), then
//! `paydesk reconcile` run as a binary against a running test sandbox (oracle-signed) and a ledger written by
//! the test: a day that agrees, a late payment the ledger had given up on, a refund made on the merchant
//! platform (dated by the bill), a refund sent again days later; and the engine reconciling past days by
//! itself, once each (its clock pinned with the sandbox's).
//!
//! The sandbox's clock is pinned to a past day, so which Beijing day a trade belongs to never depends on when
//! the tests run; the binary's own engine runs on the real clock, which puts that day beyond its 24-hour
//! re-checks of given-up orders (so the late payment is left for the bill to find).

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use paydesk::clock::ManualClock;
use paydesk::ledger::{
    CloseReason, Evidence, Input, ItemLine, Ledger, NewOrder, NewRefund, OrderStatus, PaymentFacts,
    RefundEvidence, RefundInput, RefundSource, Source,
};
use paydesk::money::Fen;
use paydesk::sandbox::{CustomerAction, Faults, Sandbox, SandboxConfig};
use paydesk::wxpay::bill::{BillAnswer, BillError, BillRequest, BillType, Fee};
use paydesk::wxpay::{ClientConfig, Refund, RetryPolicy, SignType, WxClient, WxError};
use support::builders::{self, NOWHERE};
use support::sandbox::{oracle_config, start, start_tls, tls_client};

/// The pinned day: 2026-11-20 in Beijing.
fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

/// `h:m` Beijing time on `day() + plus_days`.
fn bj(plus_days: i64, h: u32, m: u32) -> DateTime<Utc> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 20, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
        + Duration::days(plus_days)
}

fn client(sb: &Sandbox, key: Option<&str>) -> WxClient {
    let mut merchant = builders::merchant(SignType::HmacSha256);
    if let Some(k) = key {
        merchant.key = paydesk::wxpay::ApiKey::new(k);
    }
    let mut config = ClientConfig::new(sb.base_url(), None);
    config.retry = RetryPolicy::NONE;
    WxClient::new(merchant, config).unwrap()
}

fn request(bill_type: BillType, gzip: bool) -> BillRequest {
    BillRequest {
        bill_date: day(),
        bill_type,
        gzip,
    }
}

fn fen(v: i64) -> Fen {
    Fen::new(v).unwrap()
}

/// A sale of `fee` fen created at `at`: in the ledger first, then at the gateway, then `Created` applied.
async fn sale(ledger: &Ledger, wx: &WxClient, no: &str, fee: i64, at: DateTime<Utc>) {
    let uo = builders::order(no, fee, at, NOWHERE);
    ledger
        .create_order(&NewOrder {
            out_trade_no: no.into(),
            station: "前台1".into(),
            cashier: "小王".into(),
            created_at: at,
            expires_at: uo.time_expire,
            total: fen(fee),
            items: vec![ItemLine::new("咖啡", fen(fee), 1).unwrap()],
            body: uo.body.clone(),
            notify_url: uo.notify_url.clone(),
            spbill_create_ip: uo.spbill_create_ip.clone(),
            product_id: uo.product_id.clone(),
            device_info: uo.device_info.clone(),
            time_start: uo.time_start,
            time_expire: uo.time_expire,
        })
        .unwrap();
    let created = wx.unified_order(&uo).await.unwrap();
    ledger
        .apply(
            no,
            Input::Created,
            &Evidence::created(created.code_url, Some(created.prepay_id), "unifiedorder"),
            at,
        )
        .unwrap();
}

/// The customer pays at the sandbox; the ledger learns it by a query, as the engine would.
async fn pay(ledger: &Ledger, sb: &Sandbox, wx: &WxClient, no: &str, at: DateTime<Utc>) {
    sb.customer(no, CustomerAction::Pay).await.unwrap();
    let q = wx.order_query(no).await.unwrap();
    let p = q.payment.expect("paid");
    let facts = PaymentFacts {
        transaction_id: p.transaction_id,
        total_fee: p.total_fee,
        cash_fee: p.cash_fee,
        time_end: p.time_end,
        bank_type: p.bank_type,
        openid: p.openid,
    };
    let applied = ledger
        .apply(
            no,
            Input::Paid,
            &Evidence::paid(Source::Query, facts, "query"),
            at,
        )
        .unwrap();
    assert_eq!(applied.after, OrderStatus::Paid);
}

/// Settle a refund now (it may have settled on its own already: the default settles at once).
async fn settled(sb: &Sandbox, out_refund_no: &str) {
    sb.settle_refund(out_refund_no);
    support::eventually("the refund settles", || {
        sb.refund(out_refund_no)
            .is_some_and(|r| r.status == paydesk::wxpay::RefundStatus::Success)
    })
    .await;
}

/// Run `paydesk` with its configuration (the running sandbox at `sandbox`) and data directory pinned.
async fn paydesk(dir: &Path, sandbox: std::net::SocketAddr, args: &[&str]) -> std::process::Output {
    let config = dir.join("paydesk.toml");
    std::fs::write(&config, format!("[sandbox]\nlisten = \"{sandbox}\"\n")).unwrap();
    let data = dir.join("data");
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_paydesk"))
            .args(args)
            .env("PAYDESK_CONFIG", config)
            .env("PAYDESK_DATA_DIR", data)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn ledger_at(dir: &Path) -> Ledger {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    Ledger::open(&paydesk::paths::ledger_in(&data)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_serves_a_days_bill_in_the_live_format() {
    let dir = support::data_dir();
    let clock = ManualClock::new(bj(0, 12, 0));
    let sb = start_tls(
        SandboxConfig {
            clock: Arc::new(clock.clone()),
            close_min_age: StdDuration::ZERO,
            refund_min_interval: StdDuration::ZERO,
            ..oracle_config()
        },
        &dir.path().join("certs"),
    )
    .await;
    let wx = client(&sb, None);
    for (no, fee) in [("BILL-A1", 1200), ("BILL-B1", 800), ("BILL-C1", 500)] {
        wx.unified_order(&builders::order(no, fee, bj(0, 12, 0), NOWHERE))
            .await
            .unwrap();
    }
    sb.customer("BILL-A1", CustomerAction::Pay).await.unwrap();
    sb.customer("BILL-B1", CustomerAction::Pay).await.unwrap();
    tls_client(&sb, true)
        .refund(&Refund {
            out_trade_no: "BILL-B1".into(),
            out_refund_no: "BILL-B1-R1".into(),
            total_fee: fen(800),
            refund_fee: fen(300),
            refund_desc: None,
            notify_url: None,
        })
        .await
        .unwrap();
    settled(&sb, "BILL-B1-R1").await;

    // The day is not over: the live gateway has no bill yet, and neither has this sandbox.
    match wx.download_bill(&request(BillType::All, false)).await {
        Err(WxError::Bill(BillError::NotReady(msg))) => assert!(msg.contains("Bill Creating")),
        other => panic!("{other:?}"),
    }

    clock.set(bj(1, 11, 0));
    let plain = match wx
        .download_bill(&request(BillType::All, false))
        .await
        .unwrap()
    {
        BillAnswer::Bill(b) => b,
        other => panic!("{other:?}"),
    };
    let gzipped = wx
        .download_bill(&request(BillType::All, true))
        .await
        .unwrap();
    assert_eq!(gzipped, BillAnswer::Bill(plain.clone()));
    assert_eq!(plain.columns.len(), 27);
    let summary: Vec<_> = plain
        .rows
        .iter()
        .map(|r| {
            (
                r.out_trade_no.as_str(),
                r.trade_state.as_str(),
                r.total,
                r.refund.as_ref().map(|f| (f.amount, f.status.as_str())),
                r.fee,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("BILL-A1", "SUCCESS", fen(1200), None, Fee::from_fen(7)),
            ("BILL-B1", "SUCCESS", fen(800), None, Fee::from_fen(5)),
            (
                "BILL-B1",
                "REFUND",
                fen(0),
                Some((fen(300), "SUCCESS")),
                Fee::from_fen(-2)
            ),
        ]
    );
    assert_eq!(plain.summary.count, 3);
    assert_eq!(plain.summary.settlement_total, fen(2000));
    assert_eq!(plain.summary.refund_total, Some(fen(300)));
    // 0.6 %: 7.2 → 7 fen, 4.8 → 5 fen, 1.8 → 2 fen given back.
    assert_eq!(plain.summary.fee_total, Fee::from_fen(10));
    assert!(plain.rows.iter().all(|r| r.rate == "0.60%"));

    match wx
        .download_bill(&request(BillType::Success, true))
        .await
        .unwrap()
    {
        BillAnswer::Bill(b) => {
            assert_eq!(b.columns.len(), 20);
            assert_eq!(b.rows.len(), 2);
            assert_eq!(b.summary.fee_total, Fee::from_fen(12));
        }
        other => panic!("{other:?}"),
    }
    match wx
        .download_bill(&request(BillType::Refund, false))
        .await
        .unwrap()
    {
        BillAnswer::Bill(b) => {
            assert_eq!(b.columns.len(), 29);
            assert_eq!(b.rows.len(), 1);
            assert!(b.rows[0].is_refund());
        }
        other => panic!("{other:?}"),
    }
    // A day without trades; a request the sandbox cannot verify.
    let before = BillRequest {
        bill_date: day().pred_opt().unwrap(),
        ..request(BillType::All, true)
    };
    assert_eq!(wx.download_bill(&before).await.unwrap(), BillAnswer::NoBill);
    match client(&sb, Some("00000000000000000000000000000000"))
        .download_bill(&request(BillType::All, false))
        .await
    {
        Err(WxError::Bill(BillError::Refused { msg, .. })) => assert_eq!(msg, "SIGN ERROR"),
        other => panic!("{other:?}"),
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_with_paid_unpaid_and_refunded_orders_reconciles_with_no_difference() {
    let dir = support::data_dir();
    let clock = ManualClock::new(bj(0, 12, 0));
    // Today's bill on the sandbox's (pinned) day: `--bills-today`, as a shop closing its day early would.
    let sb = start_tls(
        SandboxConfig {
            clock: Arc::new(clock.clone()),
            close_min_age: StdDuration::ZERO,
            refund_min_interval: StdDuration::ZERO,
            bills_today: true,
            ..oracle_config()
        },
        &dir.path().join("certs"),
    )
    .await;
    let wx = client(&sb, None);
    let at = bj(0, 12, 0);
    {
        let ledger = ledger_at(dir.path());
        sale(&ledger, &wx, "DAY-PAID", 1200, at).await;
        pay(&ledger, &sb, &wx, "DAY-PAID", at).await;
        sale(&ledger, &wx, "DAY-REFUND", 800, at).await;
        pay(&ledger, &sb, &wx, "DAY-REFUND", at).await;
        ledger
            .create_refund(&NewRefund {
                out_refund_no: "DAY-REFUND-R1".into(),
                out_trade_no: "DAY-REFUND".into(),
                amount: fen(300),
                reason: "少一杯".into(),
                approved_by: "店长".into(),
                source: RefundSource::Till,
                created_at: at,
            })
            .unwrap();
        let accepted = tls_client(&sb, true)
            .refund(&Refund {
                out_trade_no: "DAY-REFUND".into(),
                out_refund_no: "DAY-REFUND-R1".into(),
                total_fee: fen(800),
                refund_fee: fen(300),
                refund_desc: None,
                notify_url: None,
            })
            .await
            .unwrap();
        let evidence = RefundEvidence {
            refund_id: Some(accepted.refund_id),
            ..RefundEvidence::new(Source::Refund, "refund SUCCESS")
        };
        ledger
            .apply_refund("DAY-REFUND-R1", RefundInput::Accepted, &evidence, at)
            .unwrap();
        settled(&sb, "DAY-REFUND-R1").await;
        ledger
            .apply_refund("DAY-REFUND-R1", RefundInput::Succeeded, &evidence, at)
            .unwrap();
        // Cancelled before anyone paid: never in a bill.
        sale(&ledger, &wx, "DAY-UNPAID", 500, at).await;
        ledger
            .apply(
                "DAY-UNPAID",
                Input::CloseRequested(CloseReason::Cancel),
                &Evidence::new(Source::Cashier, "cancel"),
                at,
            )
            .unwrap();
        wx.close_order("DAY-UNPAID").await.unwrap();
        let closed = ledger
            .apply(
                "DAY-UNPAID",
                Input::Closed,
                &Evidence::new(Source::CloseOrder, "closed"),
                at,
            )
            .unwrap();
        assert_eq!(closed.after, OrderStatus::Cancelled);
    }

    let out = paydesk(
        dir.path(),
        sb.local_addr(),
        &["reconcile", "--date", "2026-11-20"],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "bill: 2 payments, 1 refunds; received ¥20.00, refunded ¥3.00; service fee ¥0.10000"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("matched: 3; differences: 0 (0 resolved from the bill, 0 unexplained)"),
        "{stdout}"
    );
    let ledger = ledger_at(dir.path());
    let runs = ledger.reconciliations(day()).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].matched, runs[0].differences, runs[0].unexplained),
        (3, 0, 0)
    );
    assert_eq!(runs[0].fee_e5, Fee::from_fen(10).units());
    assert!(runs[0].had_bill);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_the_ledger_shows_expired_but_the_bill_shows_paid_is_found_and_applied() {
    let dir = support::data_dir();
    let clock = ManualClock::new(bj(0, 12, 0));
    let sb = start(SandboxConfig {
        clock: Arc::new(clock.clone()),
        close_min_age: StdDuration::ZERO,
        faults: Faults {
            pay_after_close: 1.0,
            late_payment_after: StdDuration::ZERO,
            ..Faults::default()
        },
        ..oracle_config()
    })
    .await;
    let wx = client(&sb, None);
    let at = bj(0, 12, 0);
    {
        let ledger = ledger_at(dir.path());
        sale(&ledger, &wx, "LATE-1", 1500, at).await;
        // The customer scanned it; the till gave it up at its expiry and the gateway confirmed the close.
        sb.customer("LATE-1", CustomerAction::Scan).await.unwrap();
        ledger
            .apply(
                "LATE-1",
                Input::CloseRequested(CloseReason::Expire),
                &Evidence::new(Source::Cashier, "expired"),
                at,
            )
            .unwrap();
        wx.close_order("LATE-1").await.unwrap();
        let closed = ledger
            .apply(
                "LATE-1",
                Input::Closed,
                &Evidence::new(Source::CloseOrder, "closed"),
                at,
            )
            .unwrap();
        assert_eq!(closed.after, OrderStatus::Expired);
    }
    // ...but the payment under way still landed (the sandbox's late-payment fault).
    support::eventually("the late payment lands", || {
        sb.order("LATE-1")
            .is_some_and(|o| o.trade_state == paydesk::wxpay::TradeState::Success)
    })
    .await;
    let txn = sb.order("LATE-1").unwrap().transaction_id.unwrap();
    clock.set(bj(1, 11, 0));

    let out = paydesk(
        dir.path(),
        sb.local_addr(),
        &["reconcile", "--date", "2026-11-20"],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("differences: 1 (1 resolved from the bill, 0 unexplained)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("- [resolved] order LATE-1: paid at WeChat"),
        "{stdout}"
    );
    assert!(
        stdout.contains("now 取消后已支付 paid after cancel (flagged)"),
        "{stdout}"
    );
    {
        let ledger = ledger_at(dir.path());
        let o = ledger.order("LATE-1").unwrap().unwrap();
        assert_eq!(o.status, OrderStatus::PaidAfterCancel);
        assert_eq!(o.transaction_id.as_deref(), Some(txn.as_str()));
        assert!(o.flagged);
        let events = ledger.events("LATE-1").unwrap();
        let paid = events
            .iter()
            .find(|e| e.kind == "paid")
            .expect("a paid event");
        assert_eq!(paid.source, "bill");
        assert_eq!(paid.outcome, "expired -> paid_after_cancel");
    }

    // Run again: the ledger agrees now.
    let out = paydesk(
        dir.path(),
        sb.local_addr(),
        &["reconcile", "--date", "2026-11-20"],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("matched: 1; differences: 0"), "{stdout}");
    assert_eq!(
        ledger_at(dir.path()).reconciliations(day()).unwrap().len(),
        2
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_missing_from_the_bill_is_left_unexplained_and_exits_one() {
    let dir = support::data_dir();
    let clock = ManualClock::new(bj(1, 11, 0));
    let sb = start(SandboxConfig {
        clock: Arc::new(clock.clone()),
        ..oracle_config()
    })
    .await;
    {
        // Paid in the ledger on the day, by a transaction the gateway never had.
        let ledger = ledger_at(dir.path());
        let at = bj(0, 12, 0);
        let uo = builders::order("GHOST-1", 900, at, NOWHERE);
        ledger
            .create_order(&NewOrder {
                out_trade_no: "GHOST-1".into(),
                station: "前台1".into(),
                cashier: "小王".into(),
                created_at: at,
                expires_at: uo.time_expire,
                total: fen(900),
                items: vec![ItemLine::new("茶", fen(900), 1).unwrap()],
                body: uo.body.clone(),
                notify_url: uo.notify_url.clone(),
                spbill_create_ip: uo.spbill_create_ip.clone(),
                product_id: uo.product_id.clone(),
                device_info: None,
                time_start: at,
                time_expire: uo.time_expire,
            })
            .unwrap();
        let facts = PaymentFacts {
            transaction_id: "4200000000000000000000000001".into(),
            total_fee: fen(900),
            cash_fee: None,
            time_end: Some(at),
            bank_type: None,
            openid: None,
        };
        ledger
            .apply(
                "GHOST-1",
                Input::Paid,
                &Evidence::paid(Source::Notify, facts, "notify"),
                at,
            )
            .unwrap();
    }
    let out = paydesk(
        dir.path(),
        sb.local_addr(),
        &["reconcile", "--date", "2026-11-20"],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("bill: none (No Bill Exist"), "{stdout}");
    assert!(
        stdout.contains("- [UNEXPLAINED] order GHOST-1: 已支付 paid in the ledger"),
        "{stdout}"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_made_on_the_merchant_platform_is_recorded_from_the_bill() {
    let dir = support::data_dir();
    let clock = ManualClock::new(bj(0, 12, 0));
    // Refunds settle when the test says so (at 12:07, seven minutes after they were accepted).
    let sb = start_tls(
        SandboxConfig {
            clock: Arc::new(clock.clone()),
            refund_min_interval: StdDuration::ZERO,
            faults: Faults {
                refund_settle_after: StdDuration::from_secs(3600),
                ..Faults::default()
            },
            ..oracle_config()
        },
        &dir.path().join("certs"),
    )
    .await;
    let wx = client(&sb, None);
    let at = bj(0, 12, 0);
    {
        let ledger = ledger_at(dir.path());
        sale(&ledger, &wx, "PLATFORM-1", 1000, at).await;
        pay(&ledger, &sb, &wx, "PLATFORM-1", at).await;
    }
    // Refunded in full behind the till's back (the merchant platform is another client of the gateway).
    tls_client(&sb, true)
        .refund(&Refund {
            out_trade_no: "PLATFORM-1".into(),
            out_refund_no: "MP-REFUND-1".into(),
            total_fee: fen(1000),
            refund_fee: fen(1000),
            refund_desc: None,
            notify_url: None,
        })
        .await
        .unwrap();
    clock.set(bj(0, 12, 7));
    settled(&sb, "MP-REFUND-1").await;
    clock.set(bj(1, 11, 0));

    let out = paydesk(
        dir.path(),
        sb.local_addr(),
        &["reconcile", "--date", "2026-11-20"],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "- [resolved] order PLATFORM-1 refund MP-REFUND-1: refund MP-REFUND-1 of ¥10.00 (SUCCESS)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("recorded from the bill (success)"),
        "{stdout}"
    );
    let ledger = ledger_at(dir.path());
    let r = ledger.refund("MP-REFUND-1").unwrap().expect("recorded");
    assert_eq!(r.source, RefundSource::Bill);
    assert_eq!(r.amount, fen(1000));
    assert_eq!(r.status, paydesk::ledger::RefundState::Success, "{r:?}");
    assert!(r.refund_id.is_some());
    // Dated by the bill (accepted at 12:00 in the ALL bill, succeeded at 12:07 in the REFUND bill), not by
    // the run (today, on the binary's real clock): the refund stays on the business day it happened.
    assert_eq!(r.created_at, at);
    assert_eq!(r.success_at, Some(bj(0, 12, 7)));
    assert_eq!(
        ledger.order("PLATFORM-1").unwrap().unwrap().status,
        OrderStatus::Refunded
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_days_are_reconciled_automatically_once() {
    let dir = support::data_dir();
    let clock = ManualClock::new(bj(0, 12, 0));
    let sb = start(SandboxConfig {
        clock: Arc::new(clock.clone()),
        ..oracle_config()
    })
    .await;
    let wx = client(&sb, None);
    {
        // Yesterday's trade, in the ledger the engine opens.
        let ledger = support::engine::ledger(dir.path());
        sale(&ledger, &wx, "AUTO-1", 1200, bj(0, 12, 0)).await;
        pay(&ledger, &sb, &wx, "AUTO-1", bj(0, 12, 0)).await;
    }
    let start_engine = |now: DateTime<Utc>| {
        clock.set(now);
        let mut settings = support::engine::engine_settings(dir.path(), &sb.base_url());
        settings.clock = Arc::new(clock.clone());
        async move {
            let engine = paydesk::engine::Engine::start(settings).await.unwrap();
            let events = engine.subscribe();
            engine.start_daily_reconciliation();
            (engine, events)
        }
    };
    async fn next_reconciled(
        events: &mut tokio::sync::broadcast::Receiver<paydesk::engine::EngineEvent>,
    ) -> paydesk::engine::ReconciledDay {
        tokio::time::timeout(support::PATIENCE, async {
            loop {
                if let paydesk::engine::EngineEvent::Reconciled(r) = events.recv().await.unwrap() {
                    return r;
                }
            }
        })
        .await
        .expect("a day is reconciled")
    }

    // The next morning after 10:30 Beijing time: yesterday is reconciled without being asked.
    let (engine, mut events) = start_engine(bj(1, 11, 0)).await;
    let r = next_reconciled(&mut events).await;
    assert_eq!(
        (r.day, r.had_bill, r.matched, r.differences, r.unexplained),
        (day(), true, 1, 0, 0)
    );
    let runs = support::engine::ledger(dir.path())
        .reconciliations(day())
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0].matched, runs[0].unexplained), (1, 0));
    engine.shutdown().await;

    // Started again a day later: the day without trade since is reconciled (No Bill Exist), the day done
    // is not run again (the oldest day is always the first looked at).
    let (engine, mut events) = start_engine(bj(2, 11, 0)).await;
    let r = next_reconciled(&mut events).await;
    assert_eq!(
        (r.day, r.had_bill, r.differences),
        (day().succ_opt().unwrap(), false, 0)
    );
    let ledger = support::engine::ledger(dir.path());
    assert_eq!(ledger.reconciliations(day()).unwrap().len(), 1);
    assert_eq!(
        ledger
            .reconciliations(day().succ_opt().unwrap())
            .unwrap()
            .len(),
        1
    );
    engine.shutdown().await;
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_sent_again_days_later_is_on_the_day_it_got_through() {
    let dir = support::data_dir();
    let clock = ManualClock::new(bj(0, 12, 0));
    let sb = start_tls(
        SandboxConfig {
            clock: Arc::new(clock.clone()),
            refund_min_interval: StdDuration::ZERO,
            ..oracle_config()
        },
        &dir.path().join("certs"),
    )
    .await;
    let wx = client(&sb, None);
    {
        let ledger = ledger_at(dir.path());
        sale(&ledger, &wx, "RESENT-1", 1000, bj(0, 12, 0)).await;
        pay(&ledger, &sb, &wx, "RESENT-1", bj(0, 12, 0)).await;
        // Recorded at 12:05; its sends fail (the till is offline) until two days later.
        ledger
            .create_refund(&NewRefund {
                out_refund_no: "RESENT-1R1".into(),
                out_trade_no: "RESENT-1".into(),
                amount: fen(400),
                reason: "退一杯".into(),
                approved_by: "店长".into(),
                source: RefundSource::Till,
                created_at: bj(0, 12, 5),
            })
            .unwrap();
        clock.set(bj(2, 9, 0));
        let accepted = tls_client(&sb, true)
            .refund(&Refund {
                out_trade_no: "RESENT-1".into(),
                out_refund_no: "RESENT-1R1".into(),
                total_fee: fen(1000),
                refund_fee: fen(400),
                refund_desc: None,
                notify_url: None,
            })
            .await
            .unwrap();
        let evidence = RefundEvidence {
            refund_id: Some(accepted.refund_id),
            ..RefundEvidence::new(Source::Refund, "refund SUCCESS")
        };
        ledger
            .apply_refund("RESENT-1R1", RefundInput::Accepted, &evidence, bj(2, 9, 0))
            .unwrap();
        settled(&sb, "RESENT-1R1").await;
        ledger
            .apply_refund("RESENT-1R1", RefundInput::Succeeded, &evidence, bj(2, 9, 0))
            .unwrap();
    }
    clock.set(bj(3, 11, 0));
    for (date, matched) in [
        ("2026-11-20", "matched: 1; differences: 0"),
        ("2026-11-22", "matched: 1; differences: 0"),
    ] {
        let out = paydesk(dir.path(), sb.local_addr(), &["reconcile", "--date", date]).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{date}: {stdout}\n{stderr}");
        assert!(stdout.contains(matched), "{date}: {stdout}");
    }
    sb.shutdown().await;
}
