//! The protocol layer against the reference's test vectors and signed samples, and the client against small
//! HTTP servers on loopback. Those servers, and the notifications made here, sign and verify with the tests'
//! independent signer (`support::oracle`), never with the code under test.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use paydesk::clock::format_wx;
use paydesk::money::Fen;
use paydesk::wxpay::api::{self, check_response};
use paydesk::wxpay::sign::{self, string_to_sign};
use paydesk::wxpay::{
    Action, ApiKey, ClientConfig, Notification, Params, RetryPolicy, SignType, TradeState,
    TransportKind, UnifiedOrder, WxClient, WxError, xml,
};
use serde_json::Value;
use support::builders::merchant;
use support::fields as params;
use support::oracle;

const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

fn vectors() -> Value {
    serde_json::from_str(include_str!("data/vectors.json")).unwrap()
}

fn samples() -> Value {
    serde_json::from_str(include_str!("data/samples.json")).unwrap()
}

fn sample(name: &str) -> Params {
    xml::decode(samples()[name].as_str().unwrap().as_bytes()).unwrap()
}

fn key() -> ApiKey {
    ApiKey::new(KEY)
}

#[test]
fn v1_v2_documented_vectors() {
    let v = vectors();
    let p1 = params(&[
        ("appid", "wxd930ea5d5a258f4f"),
        ("mch_id", "10000100"),
        ("device_info", "1000"),
        ("body", "test"),
        ("nonce_str", "ibuaiVcKdpRxkhJA"),
    ]);
    assert_eq!(string_to_sign(&p1, &key()), v["V1"]["string_to_sign"]);
    assert_eq!(sign::sign(&p1, &key(), SignType::Md5), v["V1"]["md5"]);
    assert_eq!(
        sign::sign(&p1, &key(), SignType::HmacSha256),
        v["V1"]["hmac"]
    );
    let p2 = params(&[("test1", "test1"), ("test2", "test2")]);
    assert_eq!(sign::sign(&p2, &key(), SignType::Md5), v["V2"]["md5"]);
    assert_eq!(
        sign::sign(&p2, &key(), SignType::HmacSha256),
        v["V2"]["hmac"]
    );
}

#[test]
fn v3_unifiedorder_request_with_chinese_body_and_empty_field() {
    let v = vectors();
    let mut p = sample("S2_unifiedorder_request");
    p.insert("attach".into(), String::new()); // an empty field is skipped
    assert_eq!(string_to_sign(&p, &key()), v["V3"]["md5_string"]);
    assert_eq!(sign::sign(&p, &key(), SignType::Md5), v["V3"]["md5"]);
    assert_eq!(
        sign::verify(&p, &key(), Some(SignType::Md5)),
        Ok(SignType::Md5)
    );
    p.insert("sign_type".into(), "HMAC-SHA256".into());
    assert_eq!(string_to_sign(&p, &key()), v["V3"]["hmac_string"]);
    assert_eq!(
        sign::sign(&p, &key(), SignType::HmacSha256),
        v["V3"]["hmac"]
    );
}

#[test]
fn our_unifiedorder_builder_reproduces_s2() {
    // Build S2 with the typed request; with S2's nonce the signature must be V3's.
    let t0 = Utc.with_ymd_and_hms(2024, 5, 20, 4, 30, 0).unwrap();
    let order = UnifiedOrder {
        out_trade_no: "20240520123000POS001A".into(),
        body: "小张南山店-超市".into(),
        total_fee: Fen::new(1288).unwrap(),
        spbill_create_ip: "123.12.12.123".into(),
        notify_url: "https://pay.example.com/wxpay/notify".into(),
        product_id: "SKU-0001".into(),
        device_info: Some("POS-001".into()),
        time_start: t0,
        time_expire: t0 + chrono::Duration::minutes(10),
    };
    order.validate(t0).unwrap();
    let mut p = order.params(&merchant(SignType::Md5));
    p.insert(
        "nonce_str".into(),
        "5K8264ILTKCH16CQ2502SI8ZNMTM67VS".into(),
    );
    p.insert("sign_type".into(), "MD5".into());
    let signed = merchant(SignType::Md5).sign(p);
    assert_eq!(signed["sign"], vectors()["V3"]["md5"]);
    let mut s2 = sample("S2_unifiedorder_request");
    s2.remove("sign");
    let mut ours = signed.clone();
    ours.remove("sign");
    assert_eq!(ours, s2);
}

#[test]
fn every_signed_sample_verifies_and_survives_a_round_trip() {
    let v = vectors();
    let expect: BTreeMap<&str, (SignType, String)> = [
        (
            "S2_unifiedorder_request",
            (SignType::Md5, v["V3"]["md5"].as_str().unwrap().to_string()),
        ),
        (
            "S3_unifiedorder_success",
            (SignType::Md5, v["V4"]["md5"].as_str().unwrap().to_string()),
        ),
        (
            "S5_unifiedorder_orderpaid",
            (SignType::Md5, "BE4183AF40F4C0A932524744039162D3".into()),
        ),
        (
            "S6a_orderquery_request",
            (SignType::Md5, v["V6"]["md5"].as_str().unwrap().to_string()),
        ),
        (
            "S6b_orderquery_success",
            (SignType::Md5, "CDCEA8C4C981CAF13829E286C81DB4DF".into()),
        ),
        (
            "S6c_orderquery_notpay",
            (SignType::Md5, "934D742F6CC9DC2A43D95DF9AB887565".into()),
        ),
        (
            "S6d_orderquery_ordernotexist",
            (SignType::Md5, "A8563B5A645D745FD2566DC806033D9D".into()),
        ),
        (
            "S7a_closeorder_request",
            (SignType::Md5, v["V7"]["md5"].as_str().unwrap().to_string()),
        ),
        (
            "S7b_closeorder_success",
            (SignType::Md5, "B3A084E95F16C15D0404439BF546B264".into()),
        ),
        (
            "S8_payment_notify_hmac",
            (
                SignType::HmacSha256,
                v["V5"]["hmac"].as_str().unwrap().to_string(),
            ),
        ),
    ]
    .into_iter()
    .collect();
    for (name, body) in samples().as_object().unwrap() {
        let p = xml::decode(body.as_str().unwrap().as_bytes()).unwrap();
        let (alg, sig) = &expect[name.as_str()];
        assert_eq!(&p["sign"], sig, "{name}");
        assert_eq!(sign::verify(&p, &key(), None), Ok(*alg), "{name}");
        let again = xml::decode(xml::encode(&p).unwrap().as_bytes()).unwrap();
        // encode leaves out empty fields, which are not signed either.
        let non_empty: Params = p
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(again, non_empty, "{name}");
        assert_eq!(
            sign::verify(&again, &key(), None),
            Ok(*alg),
            "{name} after round trip"
        );
    }
}

#[test]
fn v5_notify_is_hmac_and_fails_as_md5() {
    let v = vectors();
    let p = sample("S8_payment_notify_hmac");
    assert_eq!(
        sign::sign(&p, &key(), SignType::Md5),
        v["V5"]["md5_if_wrongly_used"]
    );
    let n = Notification::parse(
        samples()["S8_payment_notify_hmac"]
            .as_str()
            .unwrap()
            .as_bytes(),
        &merchant(SignType::HmacSha256),
    )
    .unwrap();
    assert_eq!(n.out_trade_no, "20240520123000POS001A");
    assert_eq!(n.payment.total_fee, Fen::new(1288).unwrap());
    assert_eq!(n.payment.transaction_id, "4200002000202405201234567890");
    assert_eq!(n.sign_type, SignType::HmacSha256);
    assert_eq!(format_wx(n.payment.time_end.unwrap()), "20240520123215");

    // A notify without sign_type but with a 64-character sign still verifies (picked by length).
    let mut no_type = p.clone();
    no_type.remove("sign_type");
    let s = oracle::sign(&no_type, KEY, true);
    no_type.insert("sign".into(), s);
    let body = xml::encode(&no_type).unwrap();
    assert!(Notification::parse(body.as_bytes(), &merchant(SignType::Md5)).is_ok());

    // Forged: amount changed after signing.
    let mut forged = p.clone();
    forged.insert("total_fee".into(), "1".into());
    let body = xml::encode(&forged).unwrap();
    assert!(matches!(
        Notification::parse(body.as_bytes(), &merchant(SignType::HmacSha256)),
        Err(WxError::Signature(_))
    ));
    // Someone else's merchant, correctly signed with our key (leaked key or a replay from another shop).
    let mut other = p.clone();
    other.insert("mch_id".into(), "99999999".into());
    let s = oracle::sign(&other, KEY, true);
    other.insert("sign".into(), s);
    assert!(matches!(
        Notification::parse(
            xml::encode(&other).unwrap().as_bytes(),
            &merchant(SignType::HmacSha256)
        ),
        Err(WxError::Mismatch {
            field: "mch_id",
            ..
        })
    ));
    // XXE attempt.
    let xxe = br#"<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><a>&e;</a></xml>"#;
    assert!(matches!(
        Notification::parse(xxe, &merchant(SignType::HmacSha256)),
        Err(WxError::Xml(xml::XmlError::Doctype))
    ));
}

#[test]
fn responses_are_checked_in_protocol_order() {
    let m = merchant(SignType::Md5);
    let ok = check_response(sample("S3_unifiedorder_success"), &m).unwrap();
    let uo = api::UnifiedOrderResult::from_params(ok).unwrap();
    assert_eq!(uo.code_url, "weixin://wxpay/bizpayurl?pr=NwY5Mz9");

    let paid = check_response(sample("S5_unifiedorder_orderpaid"), &m).unwrap_err();
    assert_eq!(paid.err_code(), Some("ORDERPAID"));
    assert_eq!(paid.action(), Action::TreatAsPaid);

    let q = check_response(sample("S6b_orderquery_success"), &m).unwrap();
    let q = api::QueryResult::from_params(q, "20240520123000POS001A").unwrap();
    assert_eq!(q.trade_state, TradeState::Success);
    let pay = q.payment.unwrap();
    assert_eq!(pay.total_fee.get(), 1288);
    assert_eq!(pay.cash_fee.unwrap().get(), 1288);
    assert_eq!(pay.bank_type.as_deref(), Some("OTHERS"));

    let q = check_response(sample("S6c_orderquery_notpay"), &m).unwrap();
    let q = api::QueryResult::from_params(q, "20240520123000POS001A").unwrap();
    assert_eq!(q.trade_state, TradeState::NotPay);
    assert!(q.payment.is_none());
    // The answer is about another order: refused.
    let q = check_response(sample("S6c_orderquery_notpay"), &m).unwrap();
    assert!(matches!(
        api::QueryResult::from_params(q, "OTHER000001"),
        Err(WxError::Mismatch { .. })
    ));

    let ne = check_response(sample("S6d_orderquery_ordernotexist"), &m).unwrap_err();
    assert_eq!(ne.err_code(), Some("ORDERNOTEXIST"));

    assert!(check_response(sample("S7b_closeorder_success"), &m).is_ok());

    // return_code FAIL carries no sign: reported as a protocol failure, not a signature failure.
    let fail = xml::decode("<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[签名错误]]></return_msg></xml>".as_bytes()).unwrap();
    let e = check_response(fail, &m).unwrap_err();
    assert_eq!(
        e,
        WxError::Protocol {
            msg: "签名错误".into()
        }
    );
    assert_eq!(e.action(), Action::FixConfig);

    // Tampered success: refused before its result is believed.
    let mut t = sample("S6b_orderquery_success");
    t.insert("total_fee".into(), "1".into());
    assert!(matches!(check_response(t, &m), Err(WxError::Signature(_))));
    // Configured for HMAC but the answer is MD5: refused.
    assert!(matches!(
        check_response(
            sample("S3_unifiedorder_success"),
            &merchant(SignType::HmacSha256)
        ),
        Err(WxError::Signature(_))
    ));
}

#[test]
fn v8_v9_refund_req_info_decrypts() {
    let v = vectors();
    let p = paydesk::wxpay::refund::decrypt_req_info(v["V8"]["req_info"].as_str().unwrap(), &key())
        .unwrap();
    let want = xml::decode_root(v["V8"]["plaintext"].as_str().unwrap().as_bytes(), "root").unwrap();
    assert_eq!(p, want);
    assert_eq!(p["refund_recv_accout"], "支付用户零钱");

    let real = include_str!("data/refund_req_info_sample.b64");
    let p = paydesk::wxpay::refund::decrypt_req_info(
        real,
        &ApiKey::new("OF4Ne3znh8KqL0V4NqmALQa0uXMYKcEk"),
    )
    .unwrap();
    let want = xml::decode_root(v["V9"]["plaintext"].as_str().unwrap().as_bytes(), "root").unwrap();
    assert_eq!(p, want);
    assert_eq!(p["out_refund_no"], "1234");
    assert!(paydesk::wxpay::refund::decrypt_req_info(real, &key()).is_err());
}

/// Beijing time does not depend on the machine's time zone: re-run a check in child processes under other TZs.
/// (Windows ignores `TZ`, so there the children all run in the machine's own zone.)
#[test]
fn beijing_time_under_other_time_zones() {
    for tz in ["America/New_York", "UTC", "Asia/Shanghai", "Europe/Berlin"] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "beijing_time_child", "--ignored", "--nocapture"])
            .env("TZ", tz)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "TZ={tz}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "TZ={tz}"
        );
    }
}

#[test]
#[ignore = "run by beijing_time_under_other_time_zones with TZ set"]
fn beijing_time_child() {
    let t = Utc.with_ymd_and_hms(2024, 5, 20, 4, 30, 0).unwrap();
    assert_eq!(format_wx(t), "20240520123000");
    assert_eq!(paydesk::clock::parse_wx("20240520123000"), Some(t));
    // And "now" formats to the Beijing wall clock, whatever the local zone says.
    let now = Utc::now();
    let bj = now + chrono::Duration::hours(8);
    assert_eq!(format_wx(now), bj.format("%Y%m%d%H%M%S").to_string());
}

// ---- the client against servers on loopback ----

type Handler = Arc<dyn Fn(Params) -> (u16, String) + Send + Sync>;

/// A tiny gateway stand-in: decodes the request and answers what `handler` says.
async fn serve(handler: Handler, delay: Duration) -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h2 = hits.clone();
    let app = axum::Router::new().fallback(move |body: bytes::Bytes| {
        let handler = handler.clone();
        let hits = h2.clone();
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(delay).await;
            let req = xml::decode(&body).expect("client sends valid XML");
            oracle::assert_signed(&req); // the client signs its requests
            let (status, body) = handler(req);
            (axum::http::StatusCode::from_u16(status).unwrap(), body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, hits)
}

fn signed_answer(mut p: Params) -> String {
    p.insert("appid".into(), "wxd930ea5d5a258f4f".into());
    p.insert("mch_id".into(), "10000100".into());
    p.insert("nonce_str".into(), sign::nonce());
    let s = oracle::sign(&p, KEY, false);
    p.insert("sign".into(), s);
    xml::encode(&p).unwrap()
}

fn notpay(req: &Params) -> String {
    signed_answer(params(&[
        ("return_code", "SUCCESS"),
        ("result_code", "SUCCESS"),
        ("trade_state", "NOTPAY"),
        ("out_trade_no", &req["out_trade_no"]),
    ]))
}

fn fast(mut c: ClientConfig) -> ClientConfig {
    c.retry = RetryPolicy {
        attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    };
    c.connect_timeout = Duration::from_millis(500);
    c.read_timeout = Duration::from_millis(300);
    c
}

fn client(primary: String, backup: Option<String>) -> WxClient {
    WxClient::new(
        merchant(SignType::Md5),
        fast(ClientConfig::new(primary, backup)),
    )
    .unwrap()
}

#[tokio::test]
async fn client_success_and_fail_bodies() {
    let (addr, _) = serve(Arc::new(|req| (200, notpay(&req))), Duration::ZERO).await;
    let c = client(format!("http://{addr}"), None);
    let q = c.order_query("ORDER0001").await.unwrap();
    assert_eq!(q.trade_state, TradeState::NotPay);

    let (addr, hits) = serve(
        Arc::new(|_| (200, "<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[签名错误]]></return_msg></xml>".into())),
        Duration::ZERO,
    )
    .await;
    let c = client(format!("http://{addr}"), None);
    let e = c.order_query("ORDER0001").await.unwrap_err();
    assert_eq!(e.action(), Action::FixConfig);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "configuration errors are not retried"
    );
}

#[tokio::test]
async fn client_refuses_bad_response_signature() {
    let (addr, _) = serve(
        Arc::new(|req| {
            let good = notpay(&req);
            (200, good.replace("NOTPAY", "SUCCESS"))
        }),
        Duration::ZERO,
    )
    .await;
    let c = client(format!("http://{addr}"), None);
    let e = c.order_query("ORDER0001").await.unwrap_err();
    assert!(matches!(e, WxError::Signature(_)), "{e:?}");
    assert_eq!(e.action(), Action::Query);
}

#[tokio::test]
async fn client_retries_systemerror_and_5xx_with_same_parameters() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::<Params>::new()));
    let s2 = seen.clone();
    let (addr, hits) = serve(
        Arc::new(move |req: Params| {
            let mut seen = s2.lock().unwrap();
            seen.push(req.clone());
            match seen.len() {
                1 => (500, "oops".into()),
                2 => (
                    200,
                    signed_answer(params(&[
                        ("return_code", "SUCCESS"),
                        ("result_code", "FAIL"),
                        ("err_code", "SYSTEMERROR"),
                        ("err_code_des", "系统繁忙"),
                    ])),
                ),
                _ => (
                    200,
                    signed_answer(params(&[
                        ("return_code", "SUCCESS"),
                        ("result_code", "SUCCESS"),
                        ("trade_type", "NATIVE"),
                        ("prepay_id", "wx1"),
                        ("code_url", "weixin://wxpay/bizpayurl?pr=abc1234"),
                    ])),
                ),
            }
        }),
        Duration::ZERO,
    )
    .await;
    let c = client(format!("http://{addr}"), None);
    let now = Utc::now();
    let order = UnifiedOrder {
        out_trade_no: "20261127POS1abcdef".into(),
        body: "测试店-超市".into(),
        total_fee: Fen::new(1250).unwrap(),
        spbill_create_ip: "127.0.0.1".into(),
        notify_url: "https://example.com/notify".into(),
        product_id: "20261127POS1abcdef".into(),
        device_info: Some("POS1".into()),
        time_start: now,
        time_expire: now + chrono::Duration::minutes(10),
    };
    let r = c.unified_order(&order).await.unwrap();
    assert_eq!(r.code_url, "weixin://wxpay/bizpayurl?pr=abc1234");
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    let seen = seen.lock().unwrap();
    let strip = |p: &Params| {
        let mut p = p.clone();
        p.remove("nonce_str");
        p.remove("sign");
        p
    };
    assert_eq!(strip(&seen[0]), strip(&seen[1]));
    assert_eq!(strip(&seen[1]), strip(&seen[2]));
}

#[tokio::test]
async fn client_times_out_and_reports_unknown_outcome() {
    let (addr, _) = serve(Arc::new(|req| (200, notpay(&req))), Duration::from_secs(3)).await;
    let mut cfg = fast(ClientConfig::new(format!("http://{addr}"), None));
    cfg.retry = RetryPolicy::NONE;
    let c = WxClient::new(merchant(SignType::Md5), cfg).unwrap();
    let e = c.order_query("ORDER0001").await.unwrap_err();
    assert!(
        matches!(
            e,
            WxError::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.action(), Action::RetrySame);
}

#[tokio::test]
async fn client_fails_over_to_backup_on_connection_errors_only() {
    // A port with nothing listening: connection refused.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (backup, backup_hits) = serve(Arc::new(|req| (200, notpay(&req))), Duration::ZERO).await;
    let c = client(format!("http://{dead}"), Some(format!("http://{backup}")));
    let q = c.order_query("ORDER0001").await.unwrap();
    assert_eq!(q.trade_state, TradeState::NotPay);
    assert_eq!(backup_hits.load(Ordering::SeqCst), 1);
    assert_eq!(
        c.current_base(),
        format!("http://{backup}"),
        "stays on the backup for a while"
    );

    // A business error from a live primary does not move traffic.
    let (primary, _) = serve(
        Arc::new(|_| {
            (
                200,
                signed_answer(params(&[
                    ("return_code", "SUCCESS"),
                    ("result_code", "FAIL"),
                    ("err_code", "ORDERNOTEXIST"),
                    ("err_code_des", "订单不存在"),
                ])),
            )
        }),
        Duration::ZERO,
    )
    .await;
    let (backup, backup_hits) = serve(Arc::new(|req| (200, notpay(&req))), Duration::ZERO).await;
    let c = client(
        format!("http://{primary}"),
        Some(format!("http://{backup}")),
    );
    let e = c.order_query("ORDER0001").await.unwrap_err();
    assert_eq!(e.err_code(), Some("ORDERNOTEXIST"));
    assert_eq!(backup_hits.load(Ordering::SeqCst), 0);
    assert_eq!(c.current_base(), format!("http://{primary}"));
}

// Two clients instead of one 50 ms window that had to outlast a whole request (a wall-clock race on a slow
// machine): within an hour the backup certainly stays; after a short window the primary comes back, waited
// for as a condition.
#[tokio::test]
async fn client_switches_back_after_the_failback_period() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (backup, _) = serve(Arc::new(|req| (200, notpay(&req))), Duration::ZERO).await;
    let client = |failback_after: Duration| {
        let mut cfg = fast(ClientConfig::new(
            format!("http://{dead}"),
            Some(format!("http://{backup}")),
        ));
        cfg.failback_after = failback_after;
        WxClient::new(merchant(SignType::Md5), cfg).unwrap()
    };
    // Within the failback period: the backup stays.
    let c = client(Duration::from_secs(3600));
    c.order_query("ORDER0001").await.unwrap();
    assert_eq!(c.current_base(), format!("http://{backup}"));
    // After it: the primary is tried again. (Whether this query ends on the backup or, on a machine slower
    // than the window, back at the dead primary does not matter here.)
    let c = client(Duration::from_millis(50));
    let _ = c.order_query("ORDER0001").await;
    support::eventually("the primary is tried again", || {
        c.current_base() == format!("http://{dead}")
    })
    .await;
}

#[tokio::test]
async fn oversized_response_is_refused() {
    let (addr, _) = serve(
        Arc::new(|_| (200, format!("<xml>{}</xml>", " ".repeat(xml::MAX_BODY)))),
        Duration::ZERO,
    )
    .await;
    let c = client(format!("http://{addr}"), None);
    let e = c.order_query("ORDER0001").await.unwrap_err();
    assert!(
        matches!(e, WxError::Xml(xml::XmlError::TooLarge { .. })),
        "{e:?}"
    );
}

// ---- refunds ----

fn v8_notification(appid: &str, mch_id: &str) -> String {
    let v = vectors();
    oracle::raw_xml(&params(&[
        ("return_code", "SUCCESS"),
        ("appid", appid),
        ("mch_id", mch_id),
        ("nonce_str", "TeqClE3i0mvn3DrK"),
        ("req_info", v["V8"]["req_info"].as_str().unwrap()),
    ]))
}

#[test]
fn v8_refund_notification_parses_and_is_checked() {
    let m = merchant(SignType::Md5);
    let n = api::parse_refund_notification(
        v8_notification("wxd930ea5d5a258f4f", "10000100").as_bytes(),
        &m,
    )
    .unwrap();
    assert_eq!(n.out_refund_no, "R20240520001");
    assert_eq!(n.out_trade_no, "20240520123000POS001A");
    assert_eq!(n.refund_id, "50300000002024052012345678901");
    assert_eq!(n.status, api::RefundStatus::Success);
    assert_eq!(
        (n.refund_fee, n.total_fee),
        (Fen::new(1288).unwrap(), Fen::new(1288).unwrap())
    );
    assert_eq!(
        n.success_time,
        Some(Utc.with_ymd_and_hms(2024, 5, 20, 4, 40, 0).unwrap())
    );
    assert_eq!(n.recv_account.as_deref(), Some("支付用户零钱"));
    assert_eq!(n.request_source.as_deref(), Some("API"));
    assert_eq!(api::REFUND_NOTIFY_SUCCESS, api::NOTIFY_SUCCESS);

    // Another merchant's notification is refused before decryption.
    let e = api::parse_refund_notification(
        v8_notification("wxd930ea5d5a258f4f", "10000101").as_bytes(),
        &m,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            WxError::Mismatch {
                field: "mch_id",
                ..
            }
        ),
        "{e:?}"
    );
    // The wrong key does not decrypt.
    let mut other = m.clone();
    other.key = ApiKey::new("OF4Ne3znh8KqL0V4NqmALQa0uXMYKcEk");
    assert!(
        api::parse_refund_notification(
            v8_notification("wxd930ea5d5a258f4f", "10000100").as_bytes(),
            &other
        )
        .is_err()
    );
    // return_code=FAIL carries nothing to trust.
    let fail = "<xml><return_code>FAIL</return_code><return_msg>x</return_msg></xml>";
    assert!(matches!(
        api::parse_refund_notification(fail.as_bytes(), &m),
        Err(WxError::Protocol { .. })
    ));
}

#[test]
fn v9_real_refund_notification_parses_with_its_key() {
    let real = include_str!("data/refund_req_info_sample.b64").trim();
    let mut m = merchant(SignType::Md5);
    m.key = ApiKey::new("OF4Ne3znh8KqL0V4NqmALQa0uXMYKcEk");
    let body = oracle::raw_xml(&params(&[
        ("return_code", "SUCCESS"),
        ("appid", &m.appid),
        ("mch_id", &m.mch_id),
        ("nonce_str", "abc"),
        ("req_info", real),
    ]));
    let n = api::parse_refund_notification(body.as_bytes(), &m).unwrap();
    assert_eq!(n.out_refund_no, "1234");
    assert_eq!(n.refund_fee, Fen::new(1).unwrap());
    assert_eq!(n.recv_account.as_deref(), Some("招商银行信用卡8915"));
    // The tests' own decryption agrees.
    let plain = oracle::decrypt_req_info(real, "OF4Ne3znh8KqL0V4NqmALQa0uXMYKcEk").unwrap();
    assert_eq!(
        oracle::xml_field(&plain, "refund_id").as_deref(),
        Some(n.refund_id.as_str())
    );
}

fn a_refund() -> api::Refund {
    api::Refund {
        out_trade_no: "ORDER0001".into(),
        out_refund_no: "ORDER0001R1".into(),
        total_fee: Fen::new(1288).unwrap(),
        refund_fee: Fen::new(300).unwrap(),
        refund_desc: Some("退货".into()),
        notify_url: None,
    }
}

#[tokio::test]
async fn a_refund_without_a_certificate_is_a_configuration_error_and_sends_nothing() {
    let (addr, hits) = serve(Arc::new(|req| (200, notpay(&req))), Duration::ZERO).await;
    let c = client(format!("http://{addr}"), None);
    let e = c.refund(&a_refund()).await.unwrap_err();
    assert!(matches!(e, WxError::NoClientCertificate), "{e:?}");
    assert_eq!(e.action(), Action::FixConfig);
    assert!(e.advice().contains("cert"), "{}", e.advice());
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    // A refund of more than the order is refused before anything is sent too.
    let mut too_much = a_refund();
    too_much.refund_fee = Fen::new(1289).unwrap();
    assert_eq!(
        c.refund(&too_much).await.unwrap_err().action(),
        Action::FixRequest
    );
}

#[tokio::test]
async fn refund_presents_the_certificate_and_retries_with_the_same_out_refund_no() {
    use paydesk::sandbox::tls::{ClientCert, SandboxPki, secapi_guard, serve_tls, server_config};
    use paydesk::wxpay::cert::MerchantIdentity;

    let dir = tempfile::tempdir().unwrap();
    let pki = SandboxPki::ensure(dir.path(), "10000100", Utc::now()).unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::<(Params, bool)>::new()));
    let s2 = seen.clone();
    let router = axum::Router::new()
        .fallback(
            move |cert: Option<axum::Extension<ClientCert>>, body: bytes::Bytes| {
                let seen = s2.clone();
                async move {
                    let req = xml::decode(&body).unwrap();
                    oracle::assert_signed(&req);
                    let verified = cert.is_some_and(|c| c.0.is_verified());
                    let n = {
                        let mut s = seen.lock().unwrap();
                        s.push((req.clone(), verified));
                        s.len()
                    };
                    let mut p = params(&[("return_code", "SUCCESS")]);
                    match n {
                        1 => {
                            p.insert("result_code".into(), "FAIL".into());
                            p.insert("err_code".into(), "SYSTEMERROR".into());
                        }
                        2 => {
                            p.insert("result_code".into(), "SUCCESS".into());
                            for f in ["out_trade_no", "out_refund_no", "refund_fee", "total_fee"] {
                                p.insert(f.into(), req[f].clone());
                            }
                            p.insert("refund_id".into(), "50300000002024052012345678901".into());
                        }
                        _ => {
                            p.insert("result_code".into(), "FAIL".into());
                            p.insert("err_code".into(), "FREQUENCY_LIMITED".into());
                        }
                    }
                    signed_answer(p)
                }
            },
        )
        .layer(axum::middleware::from_fn(secapi_guard));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve_tls(listener, server_config(&pki).unwrap(), router));

    let mut config = fast(ClientConfig::new(format!("https://{addr}"), None));
    config.extra_roots = vec![pki.ca_der().unwrap()];
    config.identity = Some(MerchantIdentity::load(&pki.merchant_p12(), "10000100").unwrap());
    let c = WxClient::new(merchant(SignType::Md5), config).unwrap();
    let accepted = c.refund(&a_refund()).await.unwrap();
    assert_eq!(accepted.refund_id, "50300000002024052012345678901");
    assert_eq!(accepted.refund_fee, Fen::new(300).unwrap());
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "SYSTEMERROR is retried");
        for (req, verified) in seen.iter() {
            assert!(verified, "the merchant certificate is presented");
            assert_eq!(req["out_refund_no"], "ORDER0001R1");
            assert_eq!(req["refund_fee"], "300");
        }
        assert_ne!(seen[0].0["nonce_str"], seen[1].0["nonce_str"]);
    }
    // FREQUENCY_LIMITED: wait a minute, then the same refund again; the client does not hammer.
    let e = c.refund(&a_refund()).await.unwrap_err();
    assert_eq!(e.action(), Action::RetryLater);
    assert_eq!(e.err_code(), Some("FREQUENCY_LIMITED"));
    assert_eq!(seen.lock().unwrap().len(), 3);
    server.abort();
}

#[tokio::test]
async fn refundquery_reads_the_indexed_refunds() {
    let (addr, _) = serve(
        Arc::new(|req| {
            if req.contains_key("out_refund_no") {
                return (
                    200,
                    signed_answer(params(&[
                        ("return_code", "SUCCESS"),
                        ("result_code", "FAIL"),
                        ("err_code", "REFUNDNOTEXIST"),
                        ("err_code_des", "退款订单查询失败"),
                    ])),
                );
            }
            (
                200,
                signed_answer(params(&[
                    ("return_code", "SUCCESS"),
                    ("result_code", "SUCCESS"),
                    ("out_trade_no", &req["out_trade_no"]),
                    ("transaction_id", "4200002000202405201234567890"),
                    ("total_fee", "1288"),
                    ("refund_count", "2"),
                    ("total_refund_count", "2"),
                    ("out_refund_no_0", "R1"),
                    ("refund_id_0", "50300000002024052012345678901"),
                    ("refund_fee_0", "288"),
                    ("refund_status_0", "SUCCESS"),
                    ("refund_success_time_0", "2024-05-20 12:40:00"),
                    ("refund_recv_accout_0", "支付用户零钱"),
                    ("out_refund_no_1", "R2"),
                    ("refund_id_1", "50300000002024052012345678902"),
                    ("refund_fee_1", "1000"),
                    ("refund_status_1", "REFUNDCLOSE"),
                    ("coupon_refund_count_1", "0"),
                ])),
            )
        }),
        Duration::ZERO,
    )
    .await;
    let c = client(format!("http://{addr}"), None);
    let q = c.refund_query_by_trade_no("ORDER0001").await.unwrap();
    assert_eq!(q.total_fee, Fen::new(1288).unwrap());
    assert_eq!(q.refunds.len(), 2);
    assert_eq!(q.refunds[0].status, api::RefundStatus::Success);
    assert_eq!(q.refunds[0].recv_account.as_deref(), Some("支付用户零钱"));
    assert_eq!(q.refunds[1].status, api::RefundStatus::RefundClose);
    assert!(q.refunds[1].status.is_final());
    assert_eq!(q.refunds[1].success_time, None);
    let e = c.refund_query_by_refund_no("R9").await.unwrap_err();
    assert!(matches!(e, WxError::Refund { .. }), "{e:?}");
    assert_eq!(e.err_code(), Some("REFUNDNOTEXIST"));
}
