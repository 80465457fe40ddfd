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
    // The listener records the payment before its answer reaches the sandbox: wait for the ack.
    support::eventually("the listener acknowledged the notification", || {
        sb.order(&v.out_trade_no).unwrap().notify_acked
    })
    .await;
    // The UI was told.
    let mut saw_paid = false;
    while let Ok(ev) = events.try_recv() {
        if let paydesk::engine::EngineEvent::Order(o) = ev {
            saw_paid |= o.status == OrderStatus::Paid;
        }
    }
    assert!(saw_paid);
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
