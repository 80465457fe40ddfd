//! Refunds end to end: the engine against a sandbox that really requires the merchant certificate on its
//! HTTPS port (oracle-signed), a real SQLite ledger in a temp dir; and `paydesk refund` /
//! `paydesk config set-manager-pin` as a user runs them, against a running `paydesk sandbox`.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use paydesk::engine::{
    Cart, CartLine, Engine, EngineError, EngineEvent, EngineSettings, RefundState,
};
use paydesk::ledger::{OrderStatus, Source};
use paydesk::money::Fen;
use paydesk::sandbox::{CustomerAction, Faults, Sandbox, SandboxConfig};
use paydesk::wxpay::cert::MerchantIdentity;

fn fen(n: i64) -> Fen {
    Fen::new(n).unwrap()
}

/// A sandbox serving HTTPS (certificates issued into `certs`), refunds `interval` apart, fast notifications.
async fn tls_sandbox(certs: &std::path::Path, interval: Duration) -> Sandbox {
    support::sandbox::start_tls(
        SandboxConfig {
            close_min_age: Duration::ZERO,
            notify_time_scale: 0.001,
            refund_min_interval: interval,
            ..support::sandbox::oracle_config()
        },
        certs,
    )
    .await
}

/// Engine settings against the sandbox's HTTPS port with its merchant certificate and CA.
fn settings(dir: &std::path::Path, sb: &Sandbox) -> EngineSettings {
    let mut s = support::engine::engine_settings(dir, &sb.tls_url().unwrap());
    let pki = sb.pki().unwrap();
    s.gateway_tls.identity =
        Some(MerchantIdentity::load(&pki.merchant_p12(), pki.mch_id()).unwrap());
    s.gateway_tls.extra_roots = vec![pki.ca_der().unwrap()];
    s
}

fn cart(fen_total: i64) -> Cart {
    Cart {
        lines: vec![CartLine {
            name: "咖啡".into(),
            unit_price: fen(fen_total),
            qty: 1,
        }],
        cashier: "张三".into(),
    }
}

/// Charge and pay an order of `total` fen; returns its out_trade_no once the engine has it paid.
async fn paid_order(engine: &Engine, sb: &Sandbox, total: i64) -> String {
    let v = engine.charge(cart(total)).await.unwrap();
    sb.customer(&v.out_trade_no, CustomerAction::Pay)
        .await
        .unwrap();
    engine.check_now(&v.out_trade_no);
    let no = v.out_trade_no.clone();
    support::eventually_async("the order is paid", || async {
        engine.order(&no).await.unwrap().status == OrderStatus::Paid
    })
    .await;
    no
}

async fn wait_refund(engine: &Engine, out_refund_no: &str, want: RefundState) {
    support::eventually_async(&format!("refund {out_refund_no} is {want}"), || async {
        engine.refund_status(out_refund_no).await.unwrap().status == want
    })
    .await;
}

#[tokio::test]
async fn refund_part_then_the_rest_through_the_certificate_and_refundquery() {
    let dir = support::data_dir();
    let sb = tls_sandbox(&dir.path().join("certs"), Duration::ZERO).await;
    let engine = Engine::start(settings(dir.path(), &sb)).await.unwrap();
    let no = paid_order(&engine, &sb, 1000).await;
    let mut events = engine.subscribe();

    let first = engine
        .refund(
            &no,
            Some(fen(300)),
            "少找零",
            "manager PIN, requested by 张三",
        )
        .await
        .unwrap();
    assert_eq!(first.out_refund_no, format!("{no}R1"));
    assert_eq!(first.amount, fen(300));
    // The first answer is applied before refund() returns: accepted at least.
    assert_ne!(first.status, RefundState::Requesting, "{first:?}");
    wait_refund(&engine, &first.out_refund_no, RefundState::Success).await;
    let part = engine.refunds_of(&no).await.unwrap();
    assert_eq!(part.status, OrderStatus::Paid);
    assert_eq!(part.refunded, fen(300));
    assert_eq!(part.refundable, fen(700));

    // The rest: no amount means all that is left.
    let rest = engine.refund(&no, None, "", "manager PIN").await.unwrap();
    assert_eq!(rest.out_refund_no, format!("{no}R2"));
    assert_eq!(rest.amount, fen(700));
    wait_refund(&engine, &rest.out_refund_no, RefundState::Success).await;
    support::eventually_async("the order is refunded", || async {
        engine.order(&no).await.unwrap().status == OrderStatus::Refunded
    })
    .await;
    let all = engine.refunds_of(&no).await.unwrap();
    assert_eq!((all.refunded, all.refundable), (fen(1000), Fen::ZERO));
    assert_eq!(all.refunds.len(), 2);
    assert!(all.refunds.iter().all(|r| r.refund_id.is_some()));

    // The gateway holds exactly these two, sent with the certificate, for the stored amounts.
    let at_gateway = sb.refunds_of(&no);
    assert_eq!(at_gateway.len(), 2);
    assert_eq!(at_gateway[0].refund_fee, fen(300));
    assert_eq!(at_gateway[0].refund_desc.as_deref(), Some("少找零"));
    assert_eq!(at_gateway[1].refund_fee, fen(700));

    // Nothing is left: refused, nothing stored or sent.
    let e = engine
        .refund(&no, Some(fen(1)), "", "manager PIN")
        .await
        .unwrap_err();
    assert!(matches!(e, EngineError::RefundRefused(_)), "{e:?}");
    assert!(e.to_string().contains("¥0.00 can be refunded"), "{e}");
    assert_eq!(sb.refunds_of(&no).len(), 2);

    // The history names who approved each step; the window was told about each refund.
    let detail = engine.order_detail(&no).await.unwrap();
    let approved: Vec<_> = detail
        .events
        .iter()
        .filter(|e| e.kind == "refund_requested")
        .map(|e| e.detail.clone())
        .collect();
    assert_eq!(approved.len(), 2);
    assert!(
        approved[0].contains("approved by manager PIN, requested by 张三"),
        "{approved:?}"
    );
    let want = [
        (format!("{no}R1"), RefundState::Success),
        (format!("{no}R2"), RefundState::Success),
    ];
    let mut seen = Vec::new();
    tokio::time::timeout(support::PATIENCE, async {
        while !want.iter().all(|w| seen.contains(w)) {
            match events.recv().await {
                Ok(EngineEvent::Refund(v)) => seen.push((v.out_refund_no, v.status)),
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("events: {e}"),
            }
        }
    })
    .await
    .expect("an event for each refund's success");
    assert!(engine.settle(support::PATIENCE).await);
    engine.shutdown().await;
}

#[tokio::test]
async fn refusals_come_before_anything_is_stored_or_sent() {
    let dir = support::data_dir();
    let sb = tls_sandbox(&dir.path().join("certs"), Duration::ZERO).await;
    let engine = Engine::start(settings(dir.path(), &sb)).await.unwrap();
    let ledger = support::engine::ledger(dir.path());

    // Not paid.
    let open = engine.charge(cart(500)).await.unwrap();
    let e = engine
        .refund(&open.out_trade_no, None, "", "manager PIN")
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("only a paid order can be refunded"),
        "{e}"
    );
    assert!(e.to_string().contains("¥0.00 can be refunded"), "{e}");
    // More than is left: the message says how much can be refunded.
    let no = paid_order(&engine, &sb, 800).await;
    let e = engine
        .refund(&no, Some(fen(801)), "", "manager PIN")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("¥8.00 can be refunded"), "{e}");
    assert!(matches!(
        engine.refund("nosuchorder1", None, "", "manager PIN").await,
        Err(EngineError::UnknownOrder(_))
    ));
    assert!(ledger.refunds_of(&no).unwrap().is_empty());
    assert!(ledger.refunds_of(&open.out_trade_no).unwrap().is_empty());
    assert!(sb.refunds_of(&no).is_empty());
    engine.shutdown().await;

    // No merchant certificate: refused, nothing stored.
    let mut s = settings(dir.path(), &sb);
    s.gateway_tls.identity = None;
    let engine = Engine::start(s).await.unwrap();
    let e = engine
        .refund(&no, None, "", "manager PIN")
        .await
        .unwrap_err();
    assert!(matches!(e, EngineError::NoCertificate), "{e:?}");
    assert!(e.to_string().contains("apiclient_cert"), "{e}");
    assert!(ledger.refunds_of(&no).unwrap().is_empty());
    engine.shutdown().await;
}

#[tokio::test]
async fn frequency_limited_is_sent_again_with_the_same_out_refund_no() {
    let dir = support::data_dir();
    // Refunds of one order at least 1 s apart; the engine retries FREQUENCY_LIMITED after 100 ms.
    let sb = tls_sandbox(&dir.path().join("certs"), Duration::from_secs(1)).await;
    let engine = Engine::start(settings(dir.path(), &sb)).await.unwrap();
    let no = paid_order(&engine, &sb, 1000).await;
    let first = engine
        .refund(&no, Some(fen(100)), "", "manager PIN")
        .await
        .unwrap();
    let second = engine
        .refund(&no, Some(fen(200)), "", "manager PIN")
        .await
        .unwrap();
    // Refused for now: still requesting, with the reason shown.
    assert_eq!(second.status, RefundState::Requesting, "{second:?}");
    assert!(
        second
            .notice
            .as_deref()
            .unwrap_or("")
            .contains("FREQUENCY_LIMITED"),
        "{second:?}"
    );
    wait_refund(&engine, &first.out_refund_no, RefundState::Success).await;
    wait_refund(&engine, &second.out_refund_no, RefundState::Success).await;
    // One refund per number at the gateway, however often the second was sent.
    let at_gateway = sb.refunds_of(&no);
    assert_eq!(at_gateway.len(), 2, "{at_gateway:?}");
    let sends = engine
        .order_detail(&no)
        .await
        .unwrap()
        .events
        .iter()
        .filter(|e| e.kind == "refund.request" && e.detail.contains(&second.out_refund_no))
        .count();
    assert!(sends >= 2, "sent {sends} times");
    assert_eq!(engine.refunds_of(&no).await.unwrap().refunded, fen(300));
    engine.shutdown().await;
}

#[tokio::test]
async fn a_refund_in_flight_at_start_up_is_queried_then_sent_with_its_own_number() {
    let dir = support::data_dir();
    let sb = tls_sandbox(&dir.path().join("certs"), Duration::ZERO).await;
    let engine = Engine::start(settings(dir.path(), &sb)).await.unwrap();
    let no = paid_order(&engine, &sb, 600).await;
    engine.shutdown().await;
    // Stored, but PayDesk stopped before its request left.
    let ledger = support::engine::ledger(dir.path());
    ledger
        .create_refund(&paydesk::ledger::NewRefund {
            out_refund_no: format!("{no}R1"),
            out_trade_no: no.clone(),
            amount: fen(600),
            reason: String::new(),
            approved_by: "manager PIN".into(),
            source: paydesk::ledger::RefundSource::Till,
            created_at: chrono::Utc::now(),
        })
        .unwrap();
    let engine = Engine::start(settings(dir.path(), &sb)).await.unwrap();
    wait_refund(&engine, &format!("{no}R1"), RefundState::Success).await;
    assert_eq!(sb.refunds_of(&no).len(), 1);
    assert_eq!(
        ledger.order(&no).unwrap().unwrap().status,
        OrderStatus::Refunded
    );
    let kinds: Vec<_> = engine
        .order_detail(&no)
        .await
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&"startup".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"refund.request".to_string()), "{kinds:?}");
    engine.shutdown().await;
}

#[tokio::test]
async fn refund_notifications_settle_it_and_duplicates_are_harmless() {
    let dir = support::data_dir();
    let sb = tls_sandbox(&dir.path().join("certs"), Duration::ZERO).await;
    let mut s = settings(dir.path(), &sb);
    // Queries so slow that only the notification can settle the refund within the test.
    s.timing.refund_poll_interval = Duration::from_secs(3600);
    s.timing.refund_max_poll = Duration::from_secs(3600);
    let engine = Engine::start(s).await.unwrap();
    let no = paid_order(&engine, &sb, 900).await;
    sb.set_faults(Faults {
        duplicate_notify: 1.0,
        refund_settle_after: Duration::from_millis(50),
        ..Faults::default()
    });
    let r = engine.refund(&no, None, "", "manager PIN").await.unwrap();
    assert_ne!(r.status, RefundState::Requesting, "{r:?}");
    wait_refund(&engine, &r.out_refund_no, RefundState::Success).await;
    support::eventually("the listener acknowledged the refund notification", || {
        sb.refund(&r.out_refund_no).unwrap().notify.acked
    })
    .await;
    let ledger = support::engine::ledger(dir.path());
    let stored = ledger.refund(&r.out_refund_no).unwrap().unwrap();
    assert_eq!(stored.status, paydesk::ledger::RefundState::Success);
    assert!(!stored.flagged);
    assert_eq!(ledger.order(&no).unwrap().unwrap().refunded, fen(900));
    let events = ledger.events(&no).unwrap();
    let by_notify: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "refund_succeeded" && e.source == Source::Notify.as_str())
        .collect();
    assert!(!by_notify.is_empty(), "{events:?}");
    engine.shutdown().await;
}

#[tokio::test]
async fn the_window_backend_refunds_with_the_pin_checked_inside() {
    use paydesk::app::window::{Backend, RefundRequest};
    let dir = support::data_dir();
    let mut config = paydesk::config::Config::sandbox_default();
    config.sandbox_listen = "127.0.0.1:0".parse().unwrap();
    let app = paydesk::app::start_with(config, dir.path()).await.unwrap();
    let backend: &dyn Backend = &app;
    let info = backend.refund_info();
    assert!(
        info.available && info.sandbox_default_pin && !info.pin_missing,
        "{info:?}"
    );
    let order = backend.charge(cart(1200)).await.unwrap();
    backend
        .simulate(
            order.out_trade_no.clone(),
            paydesk::engine::CustomerAction::Pay,
        )
        .await
        .unwrap();
    let no = order.out_trade_no.clone();
    support::eventually_async("the order is paid", || async {
        app.engine().order(&no).await.unwrap().status == OrderStatus::Paid
    })
    .await;
    let mut events = backend.subscribe();
    let request = |pin: &str| RefundRequest {
        out_trade_no: no.clone(),
        amount: Some(fen(200)),
        reason: "退一杯".into(),
        pin: pin.into(),
        requested_by: "张三".into(),
    };
    let e = backend.refund(request("1234")).await.unwrap_err();
    assert!(e.contains("wrong manager PIN"), "{e}");
    let e = backend
        .refund(RefundRequest {
            amount: Some(fen(1201)),
            ..request("0000")
        })
        .await
        .unwrap_err();
    assert!(e.contains("¥12.00 can be refunded"), "{e}");
    let v = backend.refund(request("0000")).await.unwrap();
    assert_eq!(v.out_refund_no, format!("{no}R1"));
    assert_eq!(
        v.approved_by,
        "manager PIN (sandbox 0000), requested by 张三"
    );
    tokio::time::timeout(support::PATIENCE, async {
        loop {
            match events.recv().await {
                Ok(EngineEvent::Refund(r)) if r.status == RefundState::Success => return,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("events: {e}"),
            }
        }
    })
    .await
    .expect("the refund's success is reported");
    let refunds = backend.refunds_of(no.clone()).await.unwrap();
    assert_eq!(refunds.refunds.len(), 1);
    assert_eq!(
        (refunds.refunded, refunds.refundable),
        (fen(200), fen(1000))
    );
    app.shutdown().await;
}

// ------------------------------------------------------------------------------------ the binary

/// Run the binary with its configuration file and data directory pinned (never the developer's own).
fn paydesk(config: &std::path::Path, data: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_paydesk"));
    c.env("PAYDESK_CONFIG", config)
        .env("PAYDESK_DATA_DIR", data)
        .env("RUST_LOG", "warn")
        .env_remove("PAYDESK_MANAGER_PIN");
    c
}

fn run(mut c: Command) -> (Output, String, String) {
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

/// A `paydesk sandbox` child process, stopped when dropped.
struct SandboxProcess(std::process::Child);

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn cli_charge_pay_refund_part_then_the_rest_against_a_running_sandbox() {
    let dir = support::data_dir();
    let data = dir.path().join("data");
    let config = dir.path().join("paydesk.toml");
    let port = free_port();
    std::fs::write(
        &config,
        format!("[sandbox]\nlisten = \"127.0.0.1:{port}\"\n"),
    )
    .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let mut sandbox = paydesk(&config, &data);
    sandbox
        .args(["sandbox", "--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--tls-listen",
            "127.0.0.1:0",
            "--refund-interval",
            "0",
            "--fast-close",
        ])
        .arg("--certs")
        .arg(dir.path().join("certs"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _sandbox = SandboxProcess(sandbox.spawn().unwrap());
    let client = reqwest::Client::new();
    support::eventually_async("the sandbox answers", || async {
        client
            .get(format!("{url}/"))
            .send()
            .await
            .is_ok_and(|r| r.headers().contains_key(paydesk::sandbox::TLS_URL_HEADER))
    })
    .await;

    // Charge ¥10.00 and pay it as the sandbox's customer.
    let mut charge = paydesk(&config, &data);
    charge
        .args(["charge", "--amount", "10.00", "--wait"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = charge.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let no = loop {
        let line = lines.next().expect("charge prints out_trade_no").unwrap();
        if let Some(no) = line.strip_prefix("out_trade_no: ") {
            break no.to_string();
        }
    };
    let mut pay = paydesk(&config, &data);
    pay.args(["sandbox", "pay", &no, "--url", &url]);
    let (out, _, stderr) = run(pay);
    assert!(out.status.success(), "{stderr}");
    for _ in lines.by_ref() {}
    assert!(child.wait().unwrap().success(), "the charge is paid");

    // Refund ¥3.00, then the rest, each waited for.
    let mut part = paydesk(&config, &data);
    part.env("PAYDESK_MANAGER_PIN", "0000").args([
        "refund",
        &no,
        "--amount",
        "3.00",
        "--reason",
        "少找零",
        "--wait",
    ]);
    let (out, stdout, stderr) = run(part);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("out_refund_no: {no}R1")),
        "{stdout}"
    );
    assert!(stdout.contains("status: "), "{stdout}");
    assert!(stdout.contains("final: success"), "{stdout}");
    assert!(
        stdout.contains("approved_by: manager PIN (sandbox 0000)"),
        "{stdout}"
    );

    let mut rest = paydesk(&config, &data);
    rest.env("PAYDESK_MANAGER_PIN", "0000")
        .args(["refund", &no, "--wait"]);
    let (out, stdout, stderr) = run(rest);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("out_refund_no: {no}R2")),
        "{stdout}"
    );
    assert!(stdout.contains("amount: ¥7.00"), "{stdout}");
    assert!(stdout.contains("final: success"), "{stdout}");

    // Nothing is left: refused with how much can be refunded.
    let mut over = paydesk(&config, &data);
    over.env("PAYDESK_MANAGER_PIN", "0000")
        .args(["refund", &no, "--amount", "0.01"]);
    let (out, stdout, stderr) = run(over);
    assert!(!out.status.success(), "{stdout}");
    assert!(stderr.contains("¥0.00 can be refunded"), "{stderr}");

    // Both refunds are in `paydesk orders`.
    let mut orders = paydesk(&config, &data);
    orders.arg("orders");
    let (out, stdout, stderr) = run(orders);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains(&format!("{no}R1")), "{stdout}");
    assert!(stdout.contains(&format!("{no}R2")), "{stdout}");
    // And in the day's CSV, each as its own row with a negative amount.
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    let mut export = paydesk(&config, &data);
    export.args(["export", "--date", &today]);
    let (out, csv, stderr) = run(export);
    assert!(out.status.success(), "{stderr}");
    let rows: Vec<_> = csv
        .lines()
        .filter(|l| l.contains(&format!("{no}R")))
        .collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(rows.iter().any(|r| r.contains("-3.00")), "{csv}");
    assert!(rows.iter().any(|r| r.contains("-7.00")), "{csv}");
}

#[test]
fn cli_wrong_pins_are_refused_and_five_lock_refunds() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("paydesk.toml");
    std::fs::write(&config, "[store]\nname = \"小店\"\n").unwrap();
    let refund = |pin: &str| {
        let mut c = paydesk(&config, &data);
        c.env("PAYDESK_MANAGER_PIN", pin).args([
            "refund",
            "20261128POS1abcdef",
            "--amount",
            "1.00",
        ]);
        run(c)
    };
    for left in (1..=4).rev() {
        let (out, _, stderr) = refund("1111");
        assert!(!out.status.success());
        assert!(stderr.contains("wrong manager PIN"), "{stderr}");
        assert!(stderr.contains(&format!("{left} more")), "{stderr}");
    }
    let (out, _, stderr) = refund("1111");
    assert!(!out.status.success());
    assert!(stderr.contains("refunds are locked until"), "{stderr}");
    // Locked: the right PIN is refused too, and nothing was started.
    let (out, _, stderr) = refund("0000");
    assert!(!out.status.success());
    assert!(stderr.contains("refunds are locked until"), "{stderr}");
    assert!(!data.join("ledger.sqlite3").exists());
}

#[test]
fn cli_set_manager_pin_stores_only_a_hash_and_then_that_pin_is_needed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("paydesk.toml");
    std::fs::write(&config, "# the shop\n[store]\nname = \"小店\"\n").unwrap();
    let mut set = paydesk(&config, &data);
    set.env("PAYDESK_MANAGER_PIN", "24680")
        .args(["config", "set-manager-pin"]);
    let (out, stdout, stderr) = run(set);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.starts_with("# the shop\n[store]\nname = \"小店\"\n"),
        "{text}"
    );
    assert!(text.contains("pin_hash = \"$argon2id$"), "{text}");
    assert!(!text.contains("24680"), "{text}");
    let mut bad = paydesk(&config, &data);
    bad.env("PAYDESK_MANAGER_PIN", "12a")
        .args(["config", "set-manager-pin"]);
    let (out, _, stderr) = run(bad);
    assert!(!out.status.success());
    assert!(stderr.contains("4 to 12 digits"), "{stderr}");
    // The sandbox's 0000 no longer works.
    let mut refund = paydesk(&config, &data);
    refund
        .env("PAYDESK_MANAGER_PIN", "0000")
        .args(["refund", "20261128POS1abcdef"]);
    let (out, _, stderr) = run(refund);
    assert!(!out.status.success());
    assert!(stderr.contains("wrong manager PIN"), "{stderr}");
}

#[test]
fn cli_live_refunds_need_a_pin_to_be_set() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("live.toml");
    std::fs::write(
        &config,
        "[merchant]\nappid = \"wx0123456789abcdef\"\nmch_id = \"1900000109\"\n\
         key = \"0123456789abcdef0123456789abcdef\"\ngateway = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut refund = paydesk(&config, &data);
    refund
        .env("PAYDESK_MANAGER_PIN", "0000")
        .args(["refund", "20261128POS1abcdef"]);
    let (out, _, stderr) = run(refund);
    assert!(!out.status.success());
    assert!(
        stderr.contains("paydesk config set-manager-pin"),
        "{stderr}"
    );
    assert!(!data.join("ledger.sqlite3").exists());
}

#[tokio::test]
async fn a_refund_made_on_the_merchant_platform_is_recorded_from_its_notification() {
    let dir = support::data_dir();
    let sb = tls_sandbox(&dir.path().join("certs"), Duration::ZERO).await;
    let engine = Engine::start(settings(dir.path(), &sb)).await.unwrap();
    let no = paid_order(&engine, &sb, 1500).await;
    sb.set_faults(Faults {
        refund_settle_after: Duration::from_millis(50),
        ..Faults::default()
    });
    // The manager refunds ¥4 on the merchant platform: PayDesk sends nothing, it only hears of it.
    let platform = support::sandbox::tls_client(&sb, true);
    platform
        .refund(&paydesk::wxpay::api::Refund {
            out_trade_no: no.clone(),
            out_refund_no: "PLATFORM0001".into(),
            total_fee: fen(1500),
            refund_fee: fen(400),
            refund_desc: Some("商户平台退款".into()),
            notify_url: None,
        })
        .await
        .unwrap();
    support::eventually_async("the platform's refund is recorded and settled", || async {
        engine
            .refund_status("PLATFORM0001")
            .await
            .is_ok_and(|r| r.status == RefundState::Success)
    })
    .await;
    support::eventually("the listener acknowledged the refund notification", || {
        sb.refund("PLATFORM0001").unwrap().notify.acked
    })
    .await;
    let refunds = engine.refunds_of(&no).await.unwrap();
    assert_eq!(
        (refunds.refunded, refunds.refundable),
        (fen(400), fen(1100))
    );
    let ledger = support::engine::ledger(dir.path());
    let stored = ledger.refund("PLATFORM0001").unwrap().unwrap();
    assert_eq!(
        stored.source,
        paydesk::ledger::RefundSource::MerchantPlatform
    );
    assert!(stored.approved_by.contains("merchant platform"));
    engine.shutdown().await;
}
