//! The composition root end to end: sandbox mode starts an embedded sandbox on loopback and a notification
//! listener whose address the orders announce; the simulated customer goes through the app handle.

use std::time::Duration;

use paydesk::app;
use paydesk::config::Config;
use paydesk::engine::{Cart, CartLine, CustomerAction, EngineEvent, OrderStatus};
use paydesk::money::Fen;

#[tokio::test]
async fn sandbox_mode_starts_the_embedded_sandbox_and_plays_the_customer() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::sandbox_default();
    config.sandbox_listen = "127.0.0.1:0".parse().unwrap();
    let app = app::start_with(config, dir.path()).await.unwrap();
    assert!(app.is_sandbox());
    let sandbox = app.embedded_sandbox().expect("an embedded sandbox");
    assert_eq!(app.sandbox_url(), Some(sandbox.base_url()));
    let listener = app
        .engine()
        .listener_addr()
        .expect("a notification listener");
    assert!(listener.ip().is_loopback());
    assert_eq!(
        app.engine().notify_url(),
        format!("http://{listener}/wxpay/notify")
    );

    let mut events = app.engine().subscribe();
    let cart = Cart {
        lines: vec![CartLine {
            name: "可乐".into(),
            unit_price: Fen::new(300).unwrap(),
            qty: 1,
        }],
        cashier: String::new(),
    };
    let order = app.engine().charge(cart).await.unwrap();
    assert!(order.code_url.is_some());
    app.simulate_customer(&order.out_trade_no, CustomerAction::Pay)
        .await
        .unwrap();
    let paid = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match events.recv().await {
                Ok(EngineEvent::Order(v))
                    if v.out_trade_no == order.out_trade_no && v.status.is_final() =>
                {
                    return v.status;
                }
                Ok(_) => {}
                Err(e) => panic!("events: {e}"),
            }
        }
    })
    .await
    .expect("the payment is seen");
    assert_eq!(paid, OrderStatus::Paid);
    app.shutdown().await;
}
