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

/// Run the binary with its configuration file and data directory pinned (never the developer's own).
fn paydesk(
    config: &std::path::Path,
    data_dir: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_paydesk"))
        .args(args)
        .env("PAYDESK_CONFIG", config)
        .env("PAYDESK_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_second_paydesk_on_the_same_data_directory_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config_file = dir.path().join("paydesk.toml");
    std::fs::write(&config_file, "[sandbox]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    let config = Config::load(&config_file).unwrap();
    let first = app::start_with(config.clone(), &data).await.unwrap();
    let running = format!("PayDesk is already running (pid {})", std::process::id());

    // A second engine in this process is refused...
    match app::start_with(config.clone(), &data).await {
        Ok(_) => panic!("a second engine started on the same data directory"),
        Err(e) => assert!(e.to_string().contains(&running), "{e}"),
    }
    // ...and so is `paydesk charge` from another process, at once and non-zero, creating no order.
    let out = tokio::task::spawn_blocking({
        let (c, d) = (config_file.clone(), data.clone());
        move || paydesk(&c, &d, &["charge", "--amount", "1.00"])
    })
    .await
    .unwrap();
    assert!(
        !out.status.success(),
        "a second charge ran beside the first"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&running), "{stderr}");
    // Read-only commands work beside it.
    for args in [&["orders"][..], &["export", "--date", "2026-11-27"][..]] {
        let out = tokio::task::spawn_blocking({
            let (c, d) = (config_file.clone(), data.clone());
            move || paydesk(&c, &d, args)
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Once the first one stops, the ledger is free again.
    first.shutdown().await;
    let again = app::start_with(config, &data).await.unwrap();
    again.shutdown().await;
}

/// A live configuration (a gateway on loopback that nothing answers), owner-only as a file with a key must be.
fn live_config(dir: &std::path::Path) -> std::path::PathBuf {
    let file = dir.join("live.toml");
    std::fs::write(
        &file,
        "[merchant]\nappid = \"wx0123456789abcdef\"\nmch_id = \"1900000109\"\n\
         key = \"0123456789abcdef0123456789abcdef\"\ngateway = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    file
}

#[test]
fn live_charge_without_wait_is_refused_before_any_order_exists() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = paydesk(
        &live_config(dir.path()),
        &data,
        &["charge", "--amount", "1.00"],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--wait"), "{stderr}");
    assert!(
        !data.join("ledger.sqlite3").exists(),
        "an order was started"
    );
}

// ----------------------------------------------------------------------------------------- panics

const PANIC_CHILD_ENV: &str = "PAYDESK_TEST_PANIC_DATA_DIR";

/// Not a test on its own: the process for [`a_panic_is_written_to_the_crash_log`]. It starts logging as
/// the program does, then a named thread panics.
#[test]
#[ignore = "run by a_panic_is_written_to_the_crash_log as a child process"]
fn panic_child() {
    let Some(dir) = std::env::var_os(PANIC_CHILD_ENV) else {
        return;
    };
    let _logs = paydesk::logging::init(Some(std::path::Path::new(&dir)));
    let worker = std::thread::Builder::new()
        .name("order-watcher".into())
        .spawn(|| panic!("the gateway said 42"))
        .unwrap();
    let _ = worker.join();
}

#[test]
fn a_panic_is_written_to_the_crash_log() {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "panic_child", "--ignored", "--nocapture"])
        .env(PANIC_CHILD_ENV, dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{status:?}");
    let log =
        std::fs::read_to_string(dir.path().join("logs").join(paydesk::logging::CRASH_LOG)).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(
        lines[0].contains("panic in thread order-watcher:")
            && lines[0].contains("the gateway said 42")
            && lines[0].contains("tests/app.rs"),
        "{log}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta =
            std::fs::metadata(dir.path().join("logs").join(paydesk::logging::CRASH_LOG)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
}
