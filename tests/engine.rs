//! The payment engine against a real sandbox gateway on loopback and a real SQLite ledger in a temp dir:
//! every path by which an order reaches a final state.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use paydesk::app::sandbox_merchant;
use paydesk::clock::{ManualClock, SharedClock};
use paydesk::engine::{Cart, CartLine, Engine, EngineError, EngineSettings, Gateway};
use paydesk::ledger::OrderStatus;
use paydesk::money::Fen;
use paydesk::sandbox::{CustomerAction, Faults, Sandbox, SandboxConfig};
use paydesk::wxpay::{TradeState, xml};

const WAIT: Duration = Duration::from_secs(20);

fn sandbox_config(clock: SharedClock, close_min_age: Duration) -> SandboxConfig {
    SandboxConfig {
        clock,
        close_min_age,
        notify_time_scale: 0.001,
        ..support::sandbox::oracle_config()
    }
}

async fn sandbox() -> Sandbox {
    Sandbox::start(
        sandbox_config(Arc::new(paydesk::clock::SystemClock), Duration::ZERO),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

fn settings(dir: &std::path::Path, sb: &Sandbox) -> EngineSettings {
    support::engine::engine_settings(dir, &sb.base_url())
}

fn cart() -> Cart {
    Cart {
        lines: vec![
            CartLine {
                name: "可乐".into(),
                unit_price: Fen::new(300).unwrap(),
                qty: 2,
            },
            CartLine {
                name: "薯片, \"大包\"".into(),
                unit_price: Fen::new(650).unwrap(),
                qty: 1,
            },
        ],
        cashier: "张三".into(),
    }
}

async fn wait_status(engine: &Engine, no: &str, want: OrderStatus) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let v = engine.order(no).await.unwrap();
        if v.status == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{no}: still {:?}, want {want:?}",
            v.status
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn charge_shows_a_code_and_the_notification_confirms_payment() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox().await;
    let mut s = settings(dir.path(), &sb);
    // Polling so slow that only the notification can confirm within the test.
    s.timing.first_query_after = Duration::from_secs(3600);
    s.timing.poll_interval = Duration::from_secs(3600);
    let engine = Engine::start(s).await.unwrap();
    let mut events = engine.subscribe();
    let v = engine.charge(cart()).await.unwrap();
    assert_eq!(v.status, OrderStatus::Open);
    assert_eq!(v.total, Fen::new(1250).unwrap());
    let code_url = v.code_url.clone().unwrap();
    assert!(
        code_url.starts_with("weixin://wxpay/bizpayurl?pr="),
        "{code_url}"
    );
    assert_eq!(sb.order(&v.out_trade_no).unwrap().code_url, code_url);

    sb.customer(&code_url, CustomerAction::Pay).await.unwrap();
    wait_status(&engine, &v.out_trade_no, OrderStatus::Paid).await;
    let paid = support::engine::ledger(dir.path())
        .order(&v.out_trade_no)
        .unwrap()
        .unwrap();
    let gw = sb.order(&v.out_trade_no).unwrap();
    assert_eq!(paid.transaction_id, gw.transaction_id);
    assert_eq!(paid.total, gw.total_fee);
    // The gateway records the acknowledgement once the listener's answer is back: wait for it.
    support::eventually("the listener acknowledged the notification", || {
        sb.order(&v.out_trade_no).unwrap().notify_acked
    })
    .await;
    // The UI was told (the event may still be on its way: wait for it).
    tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(paydesk::engine::EngineEvent::Order(o)) = events.recv().await
                && o.status == OrderStatus::Paid
            {
                return;
            }
        }
    })
    .await
    .expect("an event saying the order is paid");
    assert!(engine.settle(WAIT).await);
    engine.shutdown().await;
}

#[tokio::test]
async fn polling_alone_confirms_payment_when_no_notification_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox().await;
    sb.set_faults(Faults {
        drop_notify: 1.0,
        ..Faults::default()
    });
    let engine = Engine::start(settings(dir.path(), &sb)).await.unwrap();
    let v = engine.charge(cart()).await.unwrap();
    sb.customer(&v.out_trade_no, CustomerAction::Pay)
        .await
        .unwrap();
    wait_status(&engine, &v.out_trade_no, OrderStatus::Paid).await;
    assert!(!sb.order(&v.out_trade_no).unwrap().notify_acked);
    engine.shutdown().await;
}

#[tokio::test]
async fn payment_error_and_cancel_end_unpaid() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox().await;
    let engine = Engine::start(settings(dir.path(), &sb)).await.unwrap();

    let a = engine.charge(cart()).await.unwrap();
    sb.customer(&a.out_trade_no, CustomerAction::Fail)
        .await
        .unwrap();
    wait_status(&engine, &a.out_trade_no, OrderStatus::Failed).await;

    let b = engine.charge(cart()).await.unwrap();
    engine.cancel(&b.out_trade_no).await.unwrap();
    wait_status(&engine, &b.out_trade_no, OrderStatus::Cancelled).await;
    assert_eq!(
        sb.order(&b.out_trade_no).unwrap().trade_state,
        TradeState::Closed
    );
    // A closed order cannot be paid any more.
    assert!(
        sb.customer(&b.out_trade_no, CustomerAction::Pay)
            .await
            .is_err()
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn payment_after_cancel_is_kept_and_flagged() {
    let dir = tempfile::tempdir().unwrap();
    // WeChat refuses to close within 5 minutes: the order stays payable after the cashier cancels.
    let sb = Sandbox::start(
        sandbox_config(
            Arc::new(paydesk::clock::SystemClock),
            Duration::from_secs(300),
        ),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let mut s = settings(dir.path(), &sb);
    s.timing.close_min_age = Duration::from_secs(300);
    let engine = Engine::start(s).await.unwrap();
    let v = engine.charge(cart()).await.unwrap();
    engine.cancel(&v.out_trade_no).await.unwrap();
    wait_status(&engine, &v.out_trade_no, OrderStatus::Closing).await;
    sb.customer(&v.out_trade_no, CustomerAction::Pay)
        .await
        .unwrap();
    wait_status(&engine, &v.out_trade_no, OrderStatus::PaidAfterCancel).await;
    let o = support::engine::ledger(dir.path())
        .order(&v.out_trade_no)
        .unwrap()
        .unwrap();
    assert!(o.flagged);
    assert_eq!(
        o.transaction_id,
        sb.order(&v.out_trade_no).unwrap().transaction_id
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn expiry_closes_the_order() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(Utc::now());
    let shared: SharedClock = Arc::new(clock.clone());
    let sb = Sandbox::start(
        sandbox_config(shared.clone(), Duration::ZERO),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let mut s = settings(dir.path(), &sb);
    s.clock = shared;
    let engine = Engine::start(s).await.unwrap();
    let v = engine.charge(cart()).await.unwrap();
    assert_eq!(v.expires_at - v.created_at, chrono::Duration::minutes(10));
    clock.advance(chrono::Duration::minutes(10) + chrono::Duration::seconds(1));
    wait_status(&engine, &v.out_trade_no, OrderStatus::Expired).await;
    assert_eq!(
        sb.order(&v.out_trade_no).unwrap().trade_state,
        TradeState::Closed
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn restart_reconciles_unfinished_orders() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox().await;
    let engine = Engine::start(settings(dir.path(), &sb)).await.unwrap();
    let paid_while_down = engine.charge(cart()).await.unwrap();
    let abandoned = engine.charge(cart()).await.unwrap();
    engine.shutdown().await;
    sb.set_faults(Faults {
        drop_notify: 1.0,
        ..Faults::default()
    });
    sb.customer(&paid_while_down.out_trade_no, CustomerAction::Pay)
        .await
        .unwrap();

    let engine = Engine::start(settings(dir.path(), &sb)).await.unwrap();
    assert!(
        engine.settle(WAIT).await,
        "every unfinished order reaches a final state"
    );
    let l = support::engine::ledger(dir.path());
    assert_eq!(
        l.order(&paid_while_down.out_trade_no)
            .unwrap()
            .unwrap()
            .status,
        OrderStatus::Paid
    );
    assert_eq!(
        l.order(&abandoned.out_trade_no).unwrap().unwrap().status,
        OrderStatus::Cancelled
    );
    assert_eq!(
        sb.order(&abandoned.out_trade_no).unwrap().trade_state,
        TradeState::Closed
    );
    assert!(l.unfinished().unwrap().is_empty());
    engine.shutdown().await;
}

#[tokio::test]
async fn forged_wrong_amount_and_duplicate_notifications() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox().await;
    let mut s = settings(dir.path(), &sb);
    s.timing.first_query_after = Duration::from_secs(3600);
    s.timing.poll_interval = Duration::from_secs(3600);
    let engine = Engine::start(s).await.unwrap();
    let v = engine.charge(cart()).await.unwrap();
    let url = format!("http://{}/wxpay/notify", engine.listener_addr().unwrap());
    let key = sandbox_merchant().key;
    let notify = |total: &str, tamper: bool| {
        let mut p: paydesk::wxpay::Params = [
            ("return_code", "SUCCESS"),
            ("result_code", "SUCCESS"),
            ("appid", paydesk::sandbox_defaults::APPID),
            ("mch_id", paydesk::sandbox_defaults::MCH_ID),
            ("nonce_str", "abcdefg"),
            ("out_trade_no", v.out_trade_no.as_str()),
            ("transaction_id", "4200000000000000000000000001"),
            ("total_fee", total),
            ("cash_fee", total),
            ("fee_type", "CNY"),
            ("trade_type", "NATIVE"),
            ("time_end", "20261127120000"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        support::oracle::sign_fields(&mut p, key.expose(), true);
        if tamper {
            p.insert("total_fee".into(), "1".into());
        }
        xml::encode(&p).unwrap()
    };
    let http = reqwest::Client::new();
    let post = |body: String| {
        let http = http.clone();
        let url = url.clone();
        async move {
            http.post(&url)
                .body(body)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    // Forged: altered after signing.
    let r = post(notify("1250", true)).await;
    assert!(r.contains("FAIL"), "{r}");
    // Correctly signed but the wrong amount.
    let r = post(notify("1", false)).await;
    assert!(r.contains("FAIL"), "{r}");
    let o = support::engine::ledger(dir.path())
        .order(&v.out_trade_no)
        .unwrap()
        .unwrap();
    assert_eq!(o.status, OrderStatus::Open);
    assert!(
        o.flagged,
        "a wrong-amount notification is flagged for the manager"
    );
    // XXE.
    let r = post(
        r#"<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><a>&e;</a></xml>"#.into(),
    )
    .await;
    assert!(r.contains("FAIL"), "{r}");
    // The real thing, twice.
    let r1 = post(notify("1250", false)).await;
    let r2 = post(notify("1250", false)).await;
    assert_eq!(r1, paydesk::wxpay::api::NOTIFY_SUCCESS);
    assert_eq!(r2, paydesk::wxpay::api::NOTIFY_SUCCESS);
    let o = support::engine::ledger(dir.path())
        .order(&v.out_trade_no)
        .unwrap()
        .unwrap();
    assert_eq!(o.status, OrderStatus::Paid);
    assert_eq!(
        o.transaction_id.as_deref(),
        Some("4200000000000000000000000001")
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn gateway_down_at_charge_shows_no_code_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox().await;
    let engine = Engine::start(settings(dir.path(), &sb)).await.unwrap();
    sb.set_faults(Faults {
        refuse_connections: true,
        ..Faults::default()
    });
    let err = engine.charge(cart()).await.unwrap_err();
    assert!(matches!(err, EngineError::Gateway { .. }), "{err}");
    let orders = support::engine::ledger(dir.path()).unfinished().unwrap();
    assert_eq!(orders.len(), 1, "the order was stored before the request");
    assert_eq!(orders[0].status, OrderStatus::Closing);
    sb.set_faults(Faults::default());
    assert!(engine.settle(WAIT).await);
    let o = support::engine::ledger(dir.path())
        .order(&orders[0].out_trade_no)
        .unwrap()
        .unwrap();
    assert!(matches!(o.status, OrderStatus::Cancelled), "{:?}", o.status);
    engine.shutdown().await;
}

#[tokio::test]
async fn wrong_key_stops_at_once_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox().await;
    let mut s = settings(dir.path(), &sb);
    let mut m = sandbox_merchant();
    m.key = paydesk::wxpay::ApiKey::new("00000000000000000000000000000000");
    s.gateway = Gateway {
        primary: sb.base_url(),
        backup: None,
        merchant: m,
        sandbox: true,
    };
    let engine = Engine::start(s).await.unwrap();
    let err = engine.charge(cart()).await.unwrap_err();
    assert!(err.to_string().contains("API v2 key"), "{err}");
    let orders = support::engine::ledger(dir.path())
        .orders_between(
            Utc::now() - chrono::Duration::hours(1),
            Utc::now() + chrono::Duration::hours(1),
        )
        .unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].status, OrderStatus::Failed);
    engine.shutdown().await;
}

// ------------------------------------------------------------------------------ late payments (issue 11)

/// The kinds in an order's history, oldest first.
fn history(dir: &std::path::Path, no: &str) -> Vec<String> {
    support::engine::ledger(dir)
        .events(no)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

#[tokio::test]
async fn a_payment_inside_the_window_seen_late_is_paid_not_paid_after_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(Utc::now());
    let shared: SharedClock = Arc::new(clock.clone());
    let sb = Sandbox::start(
        sandbox_config(shared.clone(), Duration::ZERO),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let mut s = settings(dir.path(), &sb);
    s.clock = shared;
    s.timing.expiry_margin = Duration::from_secs(30);
    let engine = Engine::start(s).await.unwrap();
    let v = engine.charge(cart()).await.unwrap();
    // The customer pays a second before the end; neither the notification nor a query gets through.
    sb.set_faults(Faults {
        drop_notify: 1.0,
        refuse_connections: true,
        ..Faults::default()
    });
    clock.advance(chrono::Duration::minutes(10) - chrono::Duration::seconds(1));
    sb.customer(&v.out_trade_no, CustomerAction::Pay)
        .await
        .unwrap();
    // The countdown is over, the margin is not: the order is not given up while the gateway cannot answer.
    clock.advance(chrono::Duration::seconds(2));
    support::eventually("a query failed after the countdown ended", || {
        history(dir.path(), &v.out_trade_no)
            .iter()
            .any(|k| k == "orderquery.error" || k == "close_requested")
    })
    .await;
    sb.set_faults(Faults {
        drop_notify: 1.0,
        ..Faults::default()
    });
    assert!(engine.settle(WAIT).await);
    let o = support::engine::ledger(dir.path())
        .order(&v.out_trade_no)
        .unwrap()
        .unwrap();
    assert_eq!(
        o.status,
        OrderStatus::Paid,
        "paid inside its window: {:?}",
        history(dir.path(), &v.out_trade_no)
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn an_expired_order_is_closed_only_after_the_margin_and_one_more_query() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(Utc::now());
    let shared: SharedClock = Arc::new(clock.clone());
    let sb = Sandbox::start(
        sandbox_config(shared.clone(), Duration::ZERO),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let mut s = settings(dir.path(), &sb);
    s.clock = shared;
    s.timing.expiry_margin = Duration::from_secs(30);
    let engine = Engine::start(s).await.unwrap();
    let v = engine.charge(cart()).await.unwrap();
    clock.advance(chrono::Duration::minutes(10) + chrono::Duration::seconds(5));
    // Inside the margin it stays open: the history says when it will be closed.
    support::eventually("the end of the countdown is noticed", || {
        history(dir.path(), &v.out_trade_no)
            .iter()
            .any(|k| k == "expiry.margin" || k == "close_requested")
    })
    .await;
    assert_eq!(
        engine.order(&v.out_trade_no).await.unwrap().status,
        OrderStatus::Open
    );
    clock.advance(chrono::Duration::seconds(30));
    wait_status(&engine, &v.out_trade_no, OrderStatus::Expired).await;
    let kinds = history(dir.path(), &v.out_trade_no);
    let close = kinds.iter().position(|k| k == "close_requested").unwrap();
    assert_eq!(
        kinds[close - 1],
        "orderquery",
        "one query just before the expiry is recorded: {kinds:?}"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn a_payment_after_the_confirmed_close_is_found_by_a_recheck() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox().await;
    let engine = Engine::start(settings(dir.path(), &sb)).await.unwrap();
    let v = engine.charge(cart()).await.unwrap();
    // No notification URL answers in the counter setup: only queries can find it.
    sb.set_faults(Faults {
        drop_notify: 1.0,
        pay_after_close: 1.0,
        late_payment_after: Duration::from_millis(100),
        ..Faults::default()
    });
    // The customer has scanned and is paying as the cashier cancels.
    sb.customer(&v.out_trade_no, CustomerAction::Scan)
        .await
        .unwrap();
    engine.cancel(&v.out_trade_no).await.unwrap();
    wait_status(&engine, &v.out_trade_no, OrderStatus::Cancelled).await;
    support::eventually("the late payment lands at the gateway", || {
        sb.order(&v.out_trade_no).unwrap().trade_state == TradeState::Success
    })
    .await;
    wait_status(&engine, &v.out_trade_no, OrderStatus::PaidAfterCancel).await;
    let o = support::engine::ledger(dir.path())
        .order(&v.out_trade_no)
        .unwrap()
        .unwrap();
    assert!(o.flagged);
    assert_eq!(
        o.transaction_id,
        sb.order(&v.out_trade_no).unwrap().transaction_id
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn a_restart_rechecks_orders_given_up_within_a_day() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox().await;
    let mut s = settings(dir.path(), &sb);
    // This run gives up at once and re-checks only long after it has stopped.
    s.timing.recheck_after = [Duration::from_secs(3600); 4];
    let engine = Engine::start(s.clone()).await.unwrap();
    let v = engine.charge(cart()).await.unwrap();
    sb.set_faults(Faults {
        drop_notify: 1.0,
        pay_after_close: 1.0,
        late_payment_after: Duration::from_millis(50),
        ..Faults::default()
    });
    sb.customer(&v.out_trade_no, CustomerAction::Scan)
        .await
        .unwrap();
    engine.cancel(&v.out_trade_no).await.unwrap();
    wait_status(&engine, &v.out_trade_no, OrderStatus::Cancelled).await;
    engine.shutdown().await;
    support::eventually("the late payment lands at the gateway", || {
        sb.order(&v.out_trade_no).unwrap().trade_state == TradeState::Success
    })
    .await;

    let engine = Engine::start(s).await.unwrap();
    wait_status(&engine, &v.out_trade_no, OrderStatus::PaidAfterCancel).await;
    engine.shutdown().await;
}

#[tokio::test]
async fn a_failed_payment_is_closed_at_the_gateway_before_it_is_final() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox().await;
    let engine = Engine::start(settings(dir.path(), &sb)).await.unwrap();
    let v = engine.charge(cart()).await.unwrap();
    sb.set_faults(Faults {
        pay_error: 1.0,
        ..Faults::default()
    });
    sb.customer(&v.out_trade_no, CustomerAction::Pay)
        .await
        .unwrap();
    wait_status(&engine, &v.out_trade_no, OrderStatus::Failed).await;
    let kinds = history(dir.path(), &v.out_trade_no);
    let close = kinds.iter().position(|k| k == "closeorder.request");
    let last = kinds.len()
        - 1
        - kinds
            .iter()
            .rev()
            .position(|k| k == "pay_error" || k == "closed")
            .unwrap();
    assert!(
        close.is_some_and(|c| c < last),
        "closeorder is sent before the order is final: {kinds:?}"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn order_not_exist_for_an_order_with_a_code_is_an_anomaly_not_a_close() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox().await;
    let engine = Engine::start(settings(dir.path(), &sb)).await.unwrap();
    let mut events = engine.subscribe();
    let v = engine.charge(cart()).await.unwrap();
    sb.set_faults(Faults {
        spurious_not_exist: 1.0,
        drop_notify: 1.0,
        ..Faults::default()
    });
    // An alert reaches the window (the engine's error events).
    let alert = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(paydesk::engine::EngineEvent::Error { message }) = events.recv().await {
                return message;
            }
        }
    })
    .await
    .expect("an alert about ORDERNOTEXIST");
    assert!(alert.contains(&v.out_trade_no), "{alert}");
    assert!(
        !engine
            .order(&v.out_trade_no)
            .await
            .unwrap()
            .status
            .is_final(),
        "not final on ORDERNOTEXIST"
    );
    sb.set_faults(Faults {
        drop_notify: 1.0,
        ..Faults::default()
    });
    sb.customer(&v.out_trade_no, CustomerAction::Pay)
        .await
        .unwrap();
    wait_status(&engine, &v.out_trade_no, OrderStatus::Paid).await;
    engine.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_gateway_at_start_up_is_not_queried_in_a_loop() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox().await;
    let engine = Engine::start(settings(dir.path(), &sb)).await.unwrap();
    let v = engine.charge(cart()).await.unwrap();
    engine.shutdown().await;

    // A gateway that accepts connections and drops them at once.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        for c in dead.incoming() {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(c);
        }
    });
    let mut s = support::engine::engine_settings(dir.path(), &url);
    s.retry = paydesk::wxpay::RetryPolicy::NONE;
    let engine = Engine::start(s).await.unwrap();
    support::eventually("the first start-up query", || {
        accepted.load(Ordering::SeqCst) >= 1
    })
    .await;
    let start = accepted.load(Ordering::SeqCst);
    // Fast timing backs off to at most 400 ms: a second holds a handful of attempts, not hundreds.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let attempts = accepted.load(Ordering::SeqCst) - start;
    assert!(attempts <= 12, "{attempts} queries in a second");
    assert!(
        !support::engine::ledger(dir.path())
            .order(&v.out_trade_no)
            .unwrap()
            .unwrap()
            .status
            .is_final()
    );
    engine.shutdown().await;
}

/// A signed notification for `no` (the oracle signs it), as a whole HTTP/1.1 request to the listener.
fn notification_request(addr: std::net::SocketAddr, no: &str, total: &str) -> Vec<u8> {
    let mut p: paydesk::wxpay::Params = [
        ("return_code", "SUCCESS"),
        ("result_code", "SUCCESS"),
        ("appid", paydesk::sandbox_defaults::APPID),
        ("mch_id", paydesk::sandbox_defaults::MCH_ID),
        ("nonce_str", "drain0001"),
        ("out_trade_no", no),
        ("transaction_id", "4200000000000000000000000077"),
        ("total_fee", total),
        ("cash_fee", total),
        ("fee_type", "CNY"),
        ("trade_type", "NATIVE"),
        ("time_end", "20261127120000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    support::oracle::sign_fields(&mut p, sandbox_merchant().key.expose(), true);
    let body = xml::encode(&p).unwrap();
    format!(
        "POST /wxpay/notify HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

// Current-thread runtime: the two notifications are sent with blocking calls, so nothing in the engine runs
// between their arrival and the call to shutdown; they are "already received" (in the listener's queue).
#[tokio::test(flavor = "current_thread")]
async fn shutdown_answers_the_notifications_already_received() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox().await;
    let mut s = settings(dir.path(), &sb);
    s.timing.first_query_after = Duration::from_secs(3600);
    s.timing.poll_interval = Duration::from_secs(3600);
    let engine = Engine::start(s).await.unwrap();
    let v = engine.charge(cart()).await.unwrap();
    let addr = engine.listener_addr().unwrap();
    // The genuine notification and WeChat's duplicate of it, arriving together just as PayDesk stops.
    let mut conns: Vec<std::net::TcpStream> = (0..2)
        .map(|_| {
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            c.write_all(&notification_request(addr, &v.out_trade_no, "1250"))
                .unwrap();
            c
        })
        .collect();
    engine.shutdown().await;
    for c in &mut conns {
        c.set_read_timeout(Some(WAIT)).unwrap();
        let mut reply = String::new();
        let _ = c.read_to_string(&mut reply);
        assert!(
            reply.starts_with("HTTP/1.1 200") && reply.contains("<return_code><![CDATA[SUCCESS]]>"),
            "a notification received before shutdown was not answered: {reply:?}"
        );
    }
    let o = support::engine::ledger(dir.path())
        .order(&v.out_trade_no)
        .unwrap()
        .unwrap();
    assert_eq!(o.status, OrderStatus::Paid);
}

/// A "gateway" that accepts every connection and drops it at once, counting them: each query attempt of the
/// engine is one connection (queries are single attempts).
async fn dropping_gateway() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", tcp.local_addr().unwrap());
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = tcp.accept().await {
            c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(conn);
        }
    });
    (url, count)
}

#[tokio::test]
async fn unreachable_gateway_at_start_up_is_queried_with_back_off() {
    const ORDERS: usize = 5;
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox().await;
    // Orders left open by a PayDesk that stopped (a power cut).
    let engine = Engine::start(settings(dir.path(), &sb)).await.unwrap();
    let mut nos = Vec::new();
    for _ in 0..ORDERS {
        nos.push(engine.charge(cart()).await.unwrap().out_trade_no);
    }
    engine.shutdown().await;

    // Restart with the router still down: every query fails at once.
    let (url, attempts) = dropping_gateway().await;
    let mut s = support::engine::engine_settings(dir.path(), &url);
    s.timing = paydesk::engine::Timing::live();
    let engine = Engine::start(s).await.unwrap();
    let ledger = support::engine::ledger(dir.path());
    let history = |l: &paydesk::ledger::Ledger| -> usize {
        nos.iter().map(|n| l.events(n).unwrap().len()).sum()
    };
    // Every order has had its first query...
    support::eventually("a first query per order", || {
        attempts.load(std::sync::atomic::Ordering::SeqCst) >= ORDERS
    })
    .await;
    let before = history(&ledger);
    // ...and over the next three seconds, with live timing, each is asked again at most once or twice (the
    // back-off starts at twice the 2 s poll interval). Without a back-off this is thousands: each order
    // spins through failing queries with no delay. The bound is generous on purpose: it tells a back-off
    // from a spin, not one back-off schedule from another.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let n = attempts.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        n <= ORDERS * 3,
        "{n} query attempts for {ORDERS} orders in 3 s: the start-up reconciliation does not back off"
    );
    // The history records the failure once, not once per attempt.
    let grown = history(&ledger) - before;
    assert!(
        grown <= ORDERS,
        "the orders' history grew by {grown} lines in 3 s"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn a_ledger_that_fails_its_background_check_refuses_charges_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    drop(paydesk::ledger::Ledger::open(&path).unwrap());
    {
        // Pages for the damage to land in, past the ones the cheap checks at open read.
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute_batch(
            "CREATE TABLE pad (x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
             WHERE i < 2000) INSERT INTO pad SELECT randomblob(200) FROM n;",
        )
        .unwrap();
        raw.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    let mut bytes = std::fs::read(&path).unwrap();
    let (page, end) = (4096, bytes.len());
    assert!(end > 16 * page);
    for b in &mut bytes[end - 8 * page + 8..end - page] {
        *b = 0x5A;
    }
    std::fs::write(&path, &bytes).unwrap();

    let sb = sandbox().await;
    let engine = Engine::start(settings(dir.path(), &sb)).await.unwrap();
    let mut events = engine.subscribe();
    assert!(!engine.ledger_checked(WAIT).await, "the check fails");
    // Reported to the window (a subscriber after the failure hears it too).
    let message = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(paydesk::engine::EngineEvent::Error { message }) = events.recv().await {
                return message;
            }
        }
    })
    .await
    .expect("an error event");
    assert!(message.contains("damaged"), "{message}");
    let err = engine.charge(cart()).await.unwrap_err();
    assert!(err.to_string().contains("damaged"), "{err}");
    assert!(engine.ledger_problem().is_some());
    engine.shutdown().await;
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "file bytes unchanged");
}

#[tokio::test]
async fn a_sound_ledger_takes_charges_once_its_background_check_passes() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox().await;
    let first = Engine::start(settings(dir.path(), &sb)).await.unwrap();
    first.charge(cart()).await.unwrap();
    first.shutdown().await;
    let engine = Engine::start(settings(dir.path(), &sb)).await.unwrap();
    assert!(engine.ledger_checked(WAIT).await);
    assert_eq!(engine.ledger_problem(), None);
    engine.charge(cart()).await.unwrap();
    engine.shutdown().await;
}
