//! The composition root end to end: sandbox mode starts an embedded sandbox on loopback and a notification
//! listener whose address the orders announce; the simulated customer goes through the app handle. The
//! engine talks to the embedded sandbox's HTTPS port with the sandbox's merchant certificate, so a refund
//! made with the engine's own gateway settings goes through the client-certificate path.

use std::time::Duration;

use paydesk::app;
use paydesk::config::Config;
use paydesk::engine::{Cart, CartLine, CustomerAction, EngineEvent, OrderStatus};
use paydesk::money::Fen;
use paydesk::wxpay::{ClientConfig, Refund, WxClient};

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

    // The engine's gateway is the sandbox's HTTPS port, with the merchant certificate issued into the data
    // directory and the sandbox CA as the one extra root.
    let settings = app.engine().settings();
    assert_eq!(settings.gateway.primary, sandbox.tls_url().unwrap());
    assert!(settings.gateway.primary.starts_with("https://127.0.0.1:"));
    assert!(dir.path().join("sandbox-certs/apiclient_cert.p12").exists());
    assert_eq!(settings.gateway_tls.extra_roots.len(), 1);
    let mut client_config = ClientConfig::new(settings.gateway.primary.clone(), None);
    client_config.identity = settings.gateway_tls.identity.clone();
    client_config.extra_roots = settings.gateway_tls.extra_roots.clone();
    let client = WxClient::new(settings.gateway.merchant.clone(), client_config).unwrap();
    let accepted = client
        .refund(&Refund {
            out_trade_no: order.out_trade_no.clone(),
            out_refund_no: format!("{}R1", order.out_trade_no),
            total_fee: Fen::new(300).unwrap(),
            refund_fee: Fen::new(100).unwrap(),
            refund_desc: None,
            notify_url: None,
        })
        .await
        .unwrap();
    assert_eq!(accepted.refund_fee, Fen::new(100).unwrap());
    assert_eq!(sandbox.refunds_of(&order.out_trade_no).len(), 1);
    app.shutdown().await;
}
