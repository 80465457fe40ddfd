//! The sandbox gateway over real HTTP on 127.0.0.1, driven by the protocol client (`WxClient`) as the
//! merchant, and by raw requests where the client cannot produce the fault. Every sandbox here signs and
//! verifies with the tests' independent signer (`support::oracle`, not `wxpay::sign`), itself pinned to the
//! reference's vector V1, and answers are checked with it too, so a bug shared by the client and the
//! sandbox cannot hide.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use paydesk::clock::{ManualClock, format_wx};
use paydesk::money::Fen;
use paydesk::sandbox::{
    CustomerAction, Faults, RefundOutcome, Sandbox, SandboxConfig, SandboxError, remote_customer,
};
use paydesk::sandbox_defaults::{APPID, KEY, MCH_ID};
use paydesk::wxpay::error::TransportKind;
use paydesk::wxpay::{
    Action, ApiKey, ClientConfig, Merchant, Notification, Params, Refund, RefundStatus,
    RetryPolicy, SignType, Signer, TradeState, UnifiedOrder, WxClient, WxError, xml,
};

use support::builders::{NOWHERE, merchant, order, uo_fields};
use support::http::{call_raw, raw_post};
use support::oracle::{assert_signed, raw_xml, sign as indep_sign, signed};
use support::receiver::Receiver;
use support::sandbox::{start, start_tls, tls_client};
use support::{Fields, eventually, fields, localhost, t0};

// ---------------------------------------------------------------------------------------------------
// Helpers

fn assert_protocol_fail(p: &Fields, msg: &str) {
    assert_eq!(
        p.get("return_code").map(String::as_str),
        Some("FAIL"),
        "{p:?}"
    );
    assert_eq!(p.get("return_msg").map(String::as_str), Some(msg), "{p:?}");
    assert!(
        !p.contains_key("sign"),
        "a FAIL answer carries no sign: {p:?}"
    );
}

fn assert_business_fail(p: &Fields, code: &str) {
    assert_eq!(p["return_code"], "SUCCESS", "{p:?}");
    assert_eq!(p["result_code"], "FAIL", "{p:?}");
    assert_eq!(p["err_code"], code, "{p:?}");
    assert!(!p.contains_key("sign_type"), "{p:?}");
    assert_signed(p);
}

fn config(clock: &ManualClock) -> SandboxConfig {
    SandboxConfig {
        clock: Arc::new(clock.clone()),
        notify_time_scale: 0.0001,
        ..support::sandbox::oracle_config()
    }
}

const FAST: RetryPolicy = RetryPolicy {
    attempts: 1,
    base_delay: Duration::from_millis(1),
    max_delay: Duration::from_millis(5),
};

fn client_with(
    merchant: Merchant,
    primary: &str,
    backup: Option<String>,
    retry: RetryPolicy,
) -> WxClient {
    let mut cfg = ClientConfig::new(primary, backup);
    cfg.retry = retry;
    cfg.connect_timeout = Duration::from_secs(2);
    cfg.read_timeout = Duration::from_secs(5);
    WxClient::new(merchant, cfg).unwrap()
}

fn client(sandbox: &Sandbox, sign_type: SignType) -> WxClient {
    client_with(merchant(sign_type), &sandbox.base_url(), None, FAST)
}

/// Create `out_trade_no` (1 fen, MD5, notifying `notify_url`) through the client; the customer pays it.
async fn order_and_pay(sb: &Sandbox, out_trade_no: &str, notify_url: &str) {
    client(sb, SignType::Md5)
        .unified_order(&order(out_trade_no, 1, t0(), notify_url))
        .await
        .unwrap();
    sb.customer(out_trade_no, CustomerAction::Pay)
        .await
        .unwrap();
}

/// Wait until the notification of `out_trade_no` is acknowledged.
async fn acknowledged(sb: &Sandbox, out_trade_no: &str) {
    eventually("acknowledged", || {
        sb.order(out_trade_no).is_some_and(|o| o.notify_acked)
    })
    .await;
}

// ---------------------------------------------------------------------------------------------------
// Signatures

#[test]
fn independent_signer_matches_reference_vector_v1() {
    let p = fields(&[
        ("appid", "wxd930ea5d5a258f4f"),
        ("mch_id", "10000100"),
        ("device_info", "1000"),
        ("body", "test"),
        ("nonce_str", "ibuaiVcKdpRxkhJA"),
    ]);
    assert_eq!(
        indep_sign(&p, KEY, false),
        "9A0A8659F005D6984697E2CA0A9CF3B7"
    );
    assert_eq!(
        indep_sign(&p, KEY, true),
        "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
    );
}

#[tokio::test]
async fn answers_are_signed_with_the_request_algorithm_and_verify_independently() {
    let clock = ManualClock::new(t0());
    let sb = start(config(&clock)).await;
    let base = sb.base_url();
    for (no, hmac) in [("SIGNMD5001", false), ("SIGNHMAC001", true)] {
        let p = call_raw(
            &base,
            "/pay/unifiedorder",
            signed(uo_fields(no, t0()), hmac),
        )
        .await;
        assert_eq!(p["return_code"], "SUCCESS", "{p:?}");
        assert_eq!(p["result_code"], "SUCCESS", "{p:?}");
        assert_eq!(p["sign"].len(), if hmac { 64 } else { 32 });
        assert!(!p.contains_key("sign_type"), "answers carry no sign_type");
        assert_signed(&p);
        assert_eq!(p["appid"], APPID);
        assert_eq!(p["mch_id"], MCH_ID);
        assert!(!p.contains_key("device_info"), "none was sent");
        assert_eq!(p["trade_type"], "NATIVE");
        let pr = p["code_url"]
            .strip_prefix("weixin://wxpay/bizpayurl?pr=")
            .expect("live code_url shape");
        assert_eq!(pr.len(), 7);
        assert!(pr.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(p["prepay_id"].starts_with("wx20240520123000"));

        let q = fields(&[
            ("appid", APPID),
            ("mch_id", MCH_ID),
            ("nonce_str", "ec2316275641faa3aacf3cc599e8730f"),
            ("out_trade_no", no),
        ]);
        let a = call_raw(&base, "/pay/orderquery", signed(q, hmac)).await;
        assert_eq!(a["trade_state"], "NOTPAY");
        assert_eq!(a["trade_state_desc"], "订单未支付");
        assert_eq!(a["sign"].len(), if hmac { 64 } else { 32 });
        assert_signed(&a);
    }
    sb.shutdown().await;
}

/// A signer that is right in everything but the key: a gateway whose signing is broken.
struct OtherKeySigner;

const OTHER_KEY: &str = "00000000000000000000000000000000";

impl Signer for OtherKeySigner {
    fn sign(&self, fields: &Params, sign_type: SignType, _key: &ApiKey) -> String {
        indep_sign(fields, OTHER_KEY, sign_type == SignType::HmacSha256)
    }
}

#[tokio::test]
async fn the_gateway_signs_and_verifies_with_its_configured_signer() {
    let clock = ManualClock::new(t0());
    let sb = Sandbox::start(
        SandboxConfig {
            signer: Arc::new(OtherKeySigner),
            ..config(&clock)
        },
        localhost(),
    )
    .await
    .expect("sandbox starts");
    // PayDesk's correctly signed request does not verify with that signer...
    let err = client(&sb, SignType::Md5)
        .order_query("INJECTED01")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        WxError::Protocol {
            msg: "签名错误".into()
        }
    );
    // ...one it signed does, and the answer is signed by it too.
    let mut q = fields(&[
        ("appid", APPID),
        ("mch_id", MCH_ID),
        ("nonce_str", "n1"),
        ("out_trade_no", "INJECTED01"),
    ]);
    support::oracle::sign_fields(&mut q, OTHER_KEY, true);
    let a = call_raw(&sb.base_url(), "/pay/orderquery", raw_xml(&q)).await;
    assert_eq!(a["err_code"], "ORDERNOTEXIST", "{a:?}");
    assert_eq!(a["sign"], indep_sign(&a, OTHER_KEY, true));
    sb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------
// The three endpoints through the protocol client

#[tokio::test]
async fn order_lifecycle_through_the_client_md5_and_hmac() {
    let clock = ManualClock::new(t0());
    let sb = start(config(&clock)).await;
    for (no, st) in [
        ("LIFEMD5001", SignType::Md5),
        ("LIFEHMAC01", SignType::HmacSha256),
    ] {
        let c = client(&sb, st);
        let now = clock_now(&clock);
        let created = c
            .unified_order(&order(no, 1288, now, NOWHERE))
            .await
            .unwrap();
        assert!(created.code_url.starts_with("weixin://wxpay/bizpayurl?pr="));
        let snap = sb.order(no).unwrap();
        assert_eq!(snap.code_url, created.code_url);
        assert_eq!(snap.total_fee, Fen::new(1288).unwrap());
        assert_eq!(snap.sign_type, st);
        assert_eq!(snap.created_at, now);
        assert_eq!(snap.time_expire, now + chrono::Duration::minutes(10));
        assert_eq!(snap.notify_url, NOWHERE);

        assert_eq!(
            c.order_query(no).await.unwrap().trade_state,
            TradeState::NotPay
        );
        sb.customer(&created.code_url, CustomerAction::Scan)
            .await
            .unwrap();
        assert_eq!(
            c.order_query(no).await.unwrap().trade_state,
            TradeState::UserPaying
        );
        clock.advance(chrono::Duration::seconds(95));
        sb.customer(no, CustomerAction::Pay).await.unwrap();
        let q = c.order_query(no).await.unwrap();
        assert_eq!(q.trade_state, TradeState::Success);
        assert_eq!(q.trade_state_desc.as_deref(), Some("支付成功"));
        let pay = q.payment.clone().unwrap();
        assert_eq!(pay.transaction_id.len(), 28);
        assert!(pay.transaction_id.starts_with("4200002000"));
        assert!(pay.transaction_id.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(pay.total_fee, Fen::new(1288).unwrap());
        assert_eq!(pay.cash_fee, Some(Fen::new(1288).unwrap()));
        assert_eq!(pay.bank_type.as_deref(), Some("OTHERS"));
        assert!(pay.openid.as_deref().is_some_and(|o| o.starts_with('o')));
        assert_eq!(pay.time_end, Some(now + chrono::Duration::seconds(95)));
        assert_eq!(
            q.raw["time_end"],
            format_wx(now + chrono::Duration::seconds(95))
        );
        assert_eq!(q.raw["fee_type"], "CNY");
        assert_eq!(q.raw["trade_type"], "NATIVE");
        assert_eq!(q.raw["is_subscribe"], "N");
        assert_eq!(q.raw["device_info"], "POS-001");
        let snap = sb.order(no).unwrap();
        assert_eq!(snap.trade_state, TradeState::Success);
        assert_eq!(
            snap.transaction_id.as_deref(),
            Some(pay.transaction_id.as_str())
        );

        // Query by transaction_id too (it wins over out_trade_no).
        let by_txn = c
            .call(
                "/pay/orderquery",
                || {
                    let mut p = paydesk::wxpay::Params::new();
                    p.insert("appid".into(), APPID.into());
                    p.insert("mch_id".into(), MCH_ID.into());
                    p.insert("nonce_str".into(), "n1".into());
                    p.insert("transaction_id".into(), pay.transaction_id.clone());
                    p.insert("out_trade_no".into(), "SOMETHINGELSE".into());
                    p
                },
                FAST,
            )
            .await
            .unwrap();
        assert_eq!(by_txn["out_trade_no"], no);

        let err = c.close_order(no).await.unwrap_err();
        assert_eq!(err.err_code(), Some("ORDERPAID"));
        assert_eq!(err.action(), Action::TreatAsPaid);
    }
    assert_eq!(sb.orders().len(), 2);
    assert_eq!(
        sb.order("LIFEMD5001")
            .unwrap()
            .time_end
            .map(format_wx)
            .as_deref(),
        Some("20240520123135")
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn payment_failure_and_unknown_orders() {
    let clock = ManualClock::new(t0());
    let sb = start(config(&clock)).await;
    let c = client(&sb, SignType::Md5);
    c.unified_order(&order("FAILPAY001", 500, t0(), NOWHERE))
        .await
        .unwrap();
    sb.customer("FAILPAY001", CustomerAction::Fail)
        .await
        .unwrap();
    let q = c.order_query("FAILPAY001").await.unwrap();
    assert_eq!(q.trade_state, TradeState::PayError);
    assert!(q.payment.is_none());
    assert!(matches!(
        sb.customer("FAILPAY001", CustomerAction::Pay).await,
        Err(SandboxError::NotPayable { ref state, .. }) if state == "PAYERROR"
    ));
    // No notification for a failed payment.
    assert_eq!(sb.order("FAILPAY001").unwrap().notify_attempts, 0);

    let err = c.order_query("NOSUCHORDER1").await.unwrap_err();
    assert_eq!(err.err_code(), Some("ORDERNOTEXIST"));
    let err = c.close_order("NOSUCHORDER1").await.unwrap_err();
    assert_eq!(err.err_code(), Some("ORDERNOTEXIST"));
    assert!(matches!(
        sb.customer("NOSUCHORDER1", CustomerAction::Pay).await,
        Err(SandboxError::UnknownOrder(_))
    ));
    sb.shutdown().await;
}

#[tokio::test]
async fn closeorder_rules() {
    let clock = ManualClock::new(t0());
    let sb = start(config(&clock)).await;
    let c = client(&sb, SignType::Md5);
    c.unified_order(&order("CLOSE00001", 100, t0(), NOWHERE))
        .await
        .unwrap();
    // Within 5 minutes of creation: refused, and the client's advice is to query.
    let err = c.close_order("CLOSE00001").await.unwrap_err();
    assert_eq!(err.err_code(), Some("TRADE_STATE_ERROR"));
    assert_eq!(err.action(), Action::Query);
    assert!(err.to_string().contains("最短调用时间间隔为5分钟"));
    assert_eq!(
        c.order_query("CLOSE00001").await.unwrap().trade_state,
        TradeState::NotPay
    );

    clock.advance(chrono::Duration::minutes(5));
    c.close_order("CLOSE00001").await.unwrap();
    assert_eq!(
        c.order_query("CLOSE00001").await.unwrap().trade_state,
        TradeState::Closed
    );
    // Closing again answers ORDERCLOSED, which the client treats as success.
    let raw = call_raw(
        &sb.base_url(),
        "/pay/closeorder",
        signed(
            fields(&[
                ("appid", APPID),
                ("mch_id", MCH_ID),
                ("nonce_str", "x1"),
                ("out_trade_no", "CLOSE00001"),
            ]),
            false,
        ),
    )
    .await;
    assert_business_fail(&raw, "ORDERCLOSED");
    c.close_order("CLOSE00001").await.unwrap();
    // A closed order cannot be paid.
    assert!(matches!(
        sb.customer("CLOSE00001", CustomerAction::Pay).await,
        Err(SandboxError::NotPayable { ref state, .. }) if state == "CLOSED"
    ));
    sb.shutdown().await;

    // Demo mode: close at once.
    let sb = start(SandboxConfig {
        close_min_age: Duration::ZERO,
        ..config(&clock)
    })
    .await;
    let c = client(&sb, SignType::Md5);
    c.unified_order(&order("CLOSE00002", 100, clock_now(&clock), NOWHERE))
        .await
        .unwrap();
    c.close_order("CLOSE00002").await.unwrap();
    assert_eq!(
        sb.order("CLOSE00002").unwrap().trade_state,
        TradeState::Closed
    );
    sb.shutdown().await;
}

fn clock_now(c: &ManualClock) -> DateTime<Utc> {
    use paydesk::clock::Clock;
    c.now()
}

#[tokio::test]
async fn re_entry() {
    let clock = ManualClock::new(t0());
    let sb = start(config(&clock)).await;
    let c = client(&sb, SignType::Md5);
    let o = order("REENTRY001", 1288, t0(), NOWHERE);
    let first = c.unified_order(&o).await.unwrap();
    // Identical parameters (new nonce, later, even with another algorithm): the same order.
    clock.advance(chrono::Duration::minutes(6));
    let again = c.unified_order(&o).await.unwrap();
    assert_eq!(again.code_url, first.code_url);
    assert_eq!(again.prepay_id, first.prepay_id);
    let hmac = client(&sb, SignType::HmacSha256)
        .unified_order(&o)
        .await
        .unwrap();
    assert_eq!(hmac.code_url, first.code_url);
    assert_eq!(sb.orders().len(), 1);

    // Different parameters: INVALID_REQUEST.
    for changed in [
        UnifiedOrder {
            total_fee: Fen::new(1289).unwrap(),
            ..o.clone()
        },
        UnifiedOrder {
            body: "别的".into(),
            ..o.clone()
        },
        UnifiedOrder {
            time_expire: o.time_expire + chrono::Duration::minutes(1),
            ..o.clone()
        },
    ] {
        let err = c.unified_order(&changed).await.unwrap_err();
        assert_eq!(err.err_code(), Some("INVALID_REQUEST"), "{err}");
    }

    // After payment: ORDERPAID.
    sb.customer(&first.code_url, CustomerAction::Pay)
        .await
        .unwrap();
    let err = c.unified_order(&o).await.unwrap_err();
    assert_eq!(err.err_code(), Some("ORDERPAID"));

    // After close: ORDERCLOSED.
    let o2 = order("REENTRY002", 100, clock_now(&clock), NOWHERE);
    c.unified_order(&o2).await.unwrap();
    clock.advance(chrono::Duration::minutes(5));
    c.close_order("REENTRY002").await.unwrap();
    let err = c.unified_order(&o2).await.unwrap_err();
    assert_eq!(err.err_code(), Some("ORDERCLOSED"));
    assert_eq!(err.action(), Action::NewOutTradeNo);

    // After expiry (not closed): ORDERCLOSED too.
    let o3 = order("REENTRY003", 100, clock_now(&clock), NOWHERE);
    c.unified_order(&o3).await.unwrap();
    clock.advance(chrono::Duration::minutes(11));
    let err = c.unified_order(&o3).await.unwrap_err();
    assert_eq!(err.err_code(), Some("ORDERCLOSED"));
    sb.shutdown().await;
}

#[tokio::test]
async fn expiry_blocks_payment_and_query_says_notpay() {
    let clock = ManualClock::new(t0());
    let sb = start(config(&clock)).await;
    let c = client(&sb, SignType::Md5);
    let created = c
        .unified_order(&order("EXPIRE0001", 100, t0(), NOWHERE))
        .await
        .unwrap();
    sb.customer(&created.code_url, CustomerAction::Scan)
        .await
        .unwrap();
    clock.advance(chrono::Duration::minutes(9));
    assert!(!sb.order("EXPIRE0001").unwrap().expired);
    clock.advance(chrono::Duration::minutes(1));
    let snap = sb.order("EXPIRE0001").unwrap();
    assert!(snap.expired);
    assert!(matches!(
        sb.customer(&created.code_url, CustomerAction::Pay).await,
        Err(SandboxError::Expired(ref n)) if n == "EXPIRE0001"
    ));
    // Expiry alone does not close the order: NOTPAY until the merchant closes it.
    assert_eq!(
        c.order_query("EXPIRE0001").await.unwrap().trade_state,
        TradeState::NotPay
    );
    c.close_order("EXPIRE0001").await.unwrap();
    assert_eq!(
        c.order_query("EXPIRE0001").await.unwrap().trade_state,
        TradeState::Closed
    );
    sb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------
// Refusals

#[tokio::test]
async fn protocol_level_refusals_carry_no_sign() {
    let clock = ManualClock::new(t0());
    let sb = start(config(&clock)).await;
    let base = sb.base_url();

    for method in [reqwest::Method::GET, reqwest::Method::PUT] {
        let (status, text) = raw_post(&base, "/pay/unifiedorder", method, Vec::new()).await;
        assert_eq!(status, 200);
        assert_protocol_fail(
            &xml::decode(text.as_bytes()).unwrap(),
            "REQUIRE_POST_METHOD",
        );
    }
    assert_protocol_fail(
        &call_raw(&base, "/pay/orderquery", "").await,
        "POST_DATA_EMPTY",
    );
    assert_protocol_fail(
        &call_raw(
            &base,
            "/pay/orderquery",
            b"<xml><a>\xff\xfe</a></xml>".to_vec(),
        )
        .await,
        "NOT_UTF8",
    );
    for bad in [
        "<xml><appid>wx",
        "not xml",
        "<root><a>1</a></root>",
        "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><xml><a>&e;</a></xml>",
    ] {
        assert_protocol_fail(
            &call_raw(&base, "/pay/unifiedorder", bad).await,
            "XML格式错误",
        );
    }

    // A wrong signature, a wrong key, HMAC without sign_type (checked as MD5), no sign at all.
    let mut tampered = uo_fields("BADSIGN001", t0());
    let s = indep_sign(&tampered, KEY, false);
    tampered.insert("sign".into(), s);
    tampered.insert("total_fee".into(), "1".into());
    assert_protocol_fail(
        &call_raw(&base, "/pay/unifiedorder", raw_xml(&tampered)).await,
        "签名错误",
    );
    let mut wrong_key = uo_fields("BADSIGN002", t0());
    let s = indep_sign(&wrong_key, "00000000000000000000000000000000", false);
    wrong_key.insert("sign".into(), s);
    assert_protocol_fail(
        &call_raw(&base, "/pay/unifiedorder", raw_xml(&wrong_key)).await,
        "签名错误",
    );
    let mut hmac_no_type = uo_fields("BADSIGN003", t0());
    let s = indep_sign(&hmac_no_type, KEY, true);
    hmac_no_type.insert("sign".into(), s);
    assert_protocol_fail(
        &call_raw(&base, "/pay/unifiedorder", raw_xml(&hmac_no_type)).await,
        "签名错误",
    );
    assert_protocol_fail(
        &call_raw(
            &base,
            "/pay/unifiedorder",
            raw_xml(&uo_fields("BADSIGN004", t0())),
        )
        .await,
        "签名错误",
    );
    assert!(sb.orders().is_empty());

    // The client sees a wrong key as a protocol refusal to fix in the configuration.
    let wrong = Merchant {
        key: ApiKey::new("11111111111111111111111111111111"),
        ..merchant(SignType::Md5)
    };
    let err = client_with(wrong, &base, None, FAST)
        .order_query("BADSIGN001")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        WxError::Protocol {
            msg: "签名错误".into()
        }
    );
    assert_eq!(err.action(), Action::FixConfig);

    // time_expire less than 5 minutes after the gateway's now (Beijing time).
    let mut short = uo_fields("SHORTEXP01", t0());
    short.insert(
        "time_expire".into(),
        format_wx(t0() + chrono::Duration::seconds(299)),
    );
    assert_protocol_fail(
        &call_raw(&base, "/pay/unifiedorder", signed(short.clone(), false)).await,
        "time_expire时间过短，刷卡至少1分钟，其他5分钟",
    );
    short.insert(
        "time_expire".into(),
        format_wx(t0() + chrono::Duration::seconds(300)),
    );
    let ok = call_raw(&base, "/pay/unifiedorder", signed(short, false)).await;
    assert_eq!(ok["result_code"], "SUCCESS", "{ok:?}");

    // Unknown paths are not the gateway's.
    let (status, _) = raw_post(
        &base,
        "/pay/nosuch",
        reqwest::Method::POST,
        b"<xml></xml>".to_vec(),
    )
    .await;
    assert_eq!(status, 404);
    sb.shutdown().await;
}

#[tokio::test]
async fn business_refusals_are_signed() {
    let clock = ManualClock::new(t0());
    let sb = start(config(&clock)).await;
    let base = sb.base_url();
    let uo = |change: &dyn Fn(&mut Fields)| {
        let mut f = uo_fields("PARAMS0001", t0());
        change(&mut f);
        signed(f, false)
    };

    for missing in [
        "appid",
        "mch_id",
        "nonce_str",
        "body",
        "out_trade_no",
        "total_fee",
        "spbill_create_ip",
        "notify_url",
        "trade_type",
    ] {
        let p = call_raw(
            &base,
            "/pay/unifiedorder",
            uo(&|f| {
                f.remove(missing);
            }),
        )
        .await;
        assert_business_fail(&p, "LACK_PARAMS");
        assert!(p["err_code_des"].contains(missing), "{p:?}");
    }
    let q = call_raw(
        &base,
        "/pay/orderquery",
        signed(
            fields(&[("appid", APPID), ("mch_id", MCH_ID), ("nonce_str", "x")]),
            false,
        ),
    )
    .await;
    assert_business_fail(&q, "LACK_PARAMS");

    let long_body = "中".repeat(43); // 129 bytes
    let cases: Vec<(&str, String)> = vec![
        ("total_fee", "0".into()),
        ("total_fee", "-5".into()),
        ("total_fee", "12.5".into()),
        ("total_fee", "abc".into()),
        ("trade_type", "JSAPI".into()),
        ("product_id", String::new()),
        ("body", long_body),
        ("out_trade_no", "12345".into()),
        ("out_trade_no", "订单号123456".into()),
        ("out_trade_no", "x".repeat(33)),
        ("time_expire", "2024-05-20 12:40".into()),
        ("time_start", "20241340123000".into()),
        ("fee_type", "USD".into()),
        ("notify_url", "https://x.example/notify?id=1".into()),
    ];
    for (field, value) in &cases {
        let p = call_raw(
            &base,
            "/pay/unifiedorder",
            uo(&|f| {
                f.insert(field.to_string(), value.clone());
            }),
        )
        .await;
        assert_business_fail(&p, "PARAM_ERROR");
    }
    // 127 bytes of body and the full out_trade_no charset are fine.
    let p = call_raw(
        &base,
        "/pay/unifiedorder",
        uo(&|f| {
            f.insert("body".into(), format!("{}a", "中".repeat(42)));
            f.insert("out_trade_no".into(), "a|b*c-d_e1".into());
        }),
    )
    .await;
    assert_eq!(p["result_code"], "SUCCESS", "{p:?}");
    assert_signed(&p);

    // Unknown merchant identities, through the client (same key, so it reads the business error).
    let cases = [
        (
            Merchant {
                mch_id: "1900000109".into(),
                ..merchant(SignType::Md5)
            },
            "MCHID_NOT_EXIST",
        ),
        (
            Merchant {
                appid: "wx1234567890abcdef".into(),
                ..merchant(SignType::Md5)
            },
            "APPID_MCHID_NOT_MATCH",
        ),
        (
            Merchant {
                appid: "not-an-appid".into(),
                ..merchant(SignType::HmacSha256)
            },
            "APPID_NOT_EXIST",
        ),
    ];
    for (m, code) in cases {
        let err = client_with(m, &base, None, FAST)
            .unified_order(&order("IDENTITY01", 100, t0(), NOWHERE))
            .await
            .unwrap_err();
        assert_eq!(err.err_code(), Some(code), "{err}");
        assert_eq!(err.action(), Action::FixConfig);
    }
    assert!(sb.order("IDENTITY01").is_none());
    sb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------
// Notifications

#[tokio::test]
async fn notification_retries_until_acknowledged() {
    let clock = ManualClock::new(t0());
    let sb = start(config(&clock)).await;
    // Not acknowledgements: HTTP 500 or 302 (even with a SUCCESS body), plain "success", a FAIL reply.
    let (rx, url) = Receiver::start(vec![
        (500, paydesk::wxpay::api::NOTIFY_SUCCESS),
        (302, paydesk::wxpay::api::NOTIFY_SUCCESS),
        (200, "success"),
        (200, "<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[busy]]></return_msg></xml>"),
    ])
    .await;
    let c = client(&sb, SignType::Md5);
    let created = c
        .unified_order(&order("NOTIFY0001", 1288, t0(), &url))
        .await
        .unwrap();
    sb.customer(&created.code_url, CustomerAction::Pay)
        .await
        .unwrap();
    acknowledged(&sb, "NOTIFY0001").await;
    let snap = sb.order("NOTIFY0001").unwrap();
    assert_eq!(snap.notify_attempts, 5);
    assert_eq!(snap.notify_posts, 5);
    // Nothing more after the acknowledgement.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(rx.count(), 5);

    let bodies = rx.bodies();
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every retry sends the same notification"
    );
    let p = xml::decode(&bodies[0]).unwrap();
    assert_signed(&p);
    assert_eq!(p["sign"].len(), 32);
    assert!(!p.contains_key("sign_type"));
    for (k, v) in [
        ("return_code", "SUCCESS"),
        ("result_code", "SUCCESS"),
        ("appid", APPID),
        ("mch_id", MCH_ID),
        ("out_trade_no", "NOTIFY0001"),
        ("total_fee", "1288"),
        ("cash_fee", "1288"),
        ("fee_type", "CNY"),
        ("trade_type", "NATIVE"),
        ("bank_type", "OTHERS"),
        ("is_subscribe", "N"),
        ("device_info", "POS-001"),
        ("time_end", "20240520123000"),
    ] {
        assert_eq!(p.get(k).map(String::as_str), Some(v), "{k} in {p:?}");
    }
    assert_eq!(Some(&p["transaction_id"]), snap.transaction_id.as_ref());
    assert_eq!(Some(&p["openid"]), snap.openid.as_ref());
    let n = Notification::parse(&bodies[0], &merchant(SignType::Md5)).unwrap();
    assert_eq!(n.out_trade_no, "NOTIFY0001");
    assert_eq!(n.payment.total_fee, Fen::new(1288).unwrap());
    sb.shutdown().await;
}

#[tokio::test]
async fn hmac_orders_get_hmac_notifications_with_sign_type() {
    let clock = ManualClock::new(t0());
    let sb = start(config(&clock)).await;
    let (rx, url) = Receiver::start(vec![]).await;
    let c = client(&sb, SignType::HmacSha256);
    c.unified_order(&order("NOTIFYHMAC", 1, t0(), &url))
        .await
        .unwrap();
    sb.customer("NOTIFYHMAC", CustomerAction::Pay)
        .await
        .unwrap();
    acknowledged(&sb, "NOTIFYHMAC").await;
    assert_eq!(sb.order("NOTIFYHMAC").unwrap().notify_attempts, 1);
    let p = xml::decode(&rx.bodies()[0]).unwrap();
    assert_eq!(p["sign_type"], "HMAC-SHA256");
    assert_eq!(p["sign"].len(), 64);
    assert_signed(&p);
    let n = Notification::parse(&rx.bodies()[0], &merchant(SignType::HmacSha256)).unwrap();
    assert_eq!(n.sign_type, SignType::HmacSha256);
    sb.shutdown().await;
}

#[tokio::test]
async fn notification_gives_up_after_the_live_schedule() {
    let clock = ManualClock::new(t0());
    // 24 h × 1e-6 ≈ 87 ms.
    let sb = start(SandboxConfig {
        notify_time_scale: 0.000_001,
        ..config(&clock)
    })
    .await;
    let fail = "<xml><return_code><![CDATA[FAIL]]></return_code></xml>";
    let (rx, url) = Receiver::start(vec![(200, fail); 40]).await;
    order_and_pay(&sb, "GIVEUP0001", &url).await;
    eventually("16 attempts", || rx.count() == 16).await;
    assert_eq!(paydesk::sandbox::NOTIFY_SCHEDULE.len(), 15);
    assert_eq!(
        paydesk::sandbox::NOTIFY_SCHEDULE.iter().sum::<Duration>(),
        Duration::from_secs(24 * 3600 + 4 * 60)
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(rx.count(), 16);
    let snap = sb.order("GIVEUP0001").unwrap();
    assert_eq!((snap.notify_attempts, snap.notify_acked), (16, false));
    sb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------
// Faults

#[tokio::test]
async fn fault_drop_notify() {
    let clock = ManualClock::new(t0());
    let sb = start(SandboxConfig {
        notify_time_scale: 0.000_001,
        faults: Faults {
            drop_notify: 1.0,
            ..Faults::default()
        },
        ..config(&clock)
    })
    .await;
    let (rx, url) = Receiver::start(vec![]).await;
    order_and_pay(&sb, "DROP000001", &url).await;
    eventually("every slot dropped", || {
        sb.order("DROP000001").unwrap().notify_dropped == 16
    })
    .await;
    let snap = sb.order("DROP000001").unwrap();
    assert_eq!(
        (snap.notify_attempts, snap.notify_posts, snap.notify_acked),
        (0, 0, false)
    );
    assert_eq!(rx.count(), 0);
    // The merchant still learns the truth by querying.
    let q = client(&sb, SignType::Md5)
        .order_query("DROP000001")
        .await
        .unwrap();
    assert_eq!(q.trade_state, TradeState::Success);

    // Half dropped, seeded: the first delivered attempt is acknowledged.
    sb.set_faults(Faults {
        drop_notify: 0.5,
        seed: 7,
        ..Faults::default()
    });
    order_and_pay(&sb, "DROP000002", &url).await;
    acknowledged(&sb, "DROP000002").await;
    let snap = sb.order("DROP000002").unwrap();
    assert_eq!(snap.notify_attempts, 1);
    assert_eq!(rx.count(), 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn fault_duplicate_notify() {
    let clock = ManualClock::new(t0());
    let sb = start(SandboxConfig {
        faults: Faults {
            duplicate_notify: 1.0,
            ..Faults::default()
        },
        ..config(&clock)
    })
    .await;
    let (rx, url) = Receiver::start(vec![]).await;
    order_and_pay(&sb, "DUPL000001", &url).await;
    acknowledged(&sb, "DUPL000001").await;
    eventually("two posts", || rx.count() == 2).await;
    let snap = sb.order("DUPL000001").unwrap();
    assert_eq!((snap.notify_attempts, snap.notify_posts), (1, 2));
    let b = rx.bodies();
    assert_eq!(b[0], b[1]);
    sb.shutdown().await;
}

#[tokio::test]
async fn fault_notify_delay() {
    let clock = ManualClock::new(t0());
    let delay = Duration::from_millis(300);
    let sb = start(SandboxConfig {
        faults: Faults {
            notify_delay: delay,
            ..Faults::default()
        },
        ..config(&clock)
    })
    .await;
    let (rx, url) = Receiver::start(vec![]).await;
    client(&sb, SignType::Md5)
        .unified_order(&order("DELAY00001", 1, t0(), &url))
        .await
        .unwrap();
    let paid_at = Instant::now();
    sb.customer("DELAY00001", CustomerAction::Pay)
        .await
        .unwrap();
    acknowledged(&sb, "DELAY00001").await;
    assert!(rx.first_at().unwrap() - paid_at >= delay);
    sb.shutdown().await;
}

#[tokio::test]
async fn fault_system_error() {
    let clock = ManualClock::new(t0());
    let sb = start(SandboxConfig {
        faults: Faults {
            system_error: 1.0,
            ..Faults::default()
        },
        ..config(&clock)
    })
    .await;
    let c = client(&sb, SignType::Md5);
    let err = c
        .unified_order(&order("SYSERR0001", 1, t0(), NOWHERE))
        .await
        .unwrap_err();
    assert_eq!(err.err_code(), Some("SYSTEMERROR"));
    assert_eq!(err.action(), Action::RetrySame);
    // Signed, and nothing was done.
    let raw = call_raw(
        &sb.base_url(),
        "/pay/unifiedorder",
        signed(uo_fields("SYSERR0001", t0()), false),
    )
    .await;
    assert_business_fail(&raw, "SYSTEMERROR");
    assert!(sb.order("SYSERR0001").is_none());

    // Half the calls fail, seeded: the client's retries get through.
    sb.set_faults(Faults {
        system_error: 0.5,
        seed: 42,
        ..Faults::default()
    });
    let patient = client_with(
        merchant(SignType::Md5),
        &sb.base_url(),
        None,
        RetryPolicy {
            attempts: 12,
            ..FAST
        },
    );
    patient
        .unified_order(&order("SYSERR0002", 1, t0(), NOWHERE))
        .await
        .unwrap();
    assert!(sb.order("SYSERR0002").is_some());
    sb.shutdown().await;
}

#[tokio::test]
async fn fault_http_5xx() {
    let clock = ManualClock::new(t0());
    let sb = start(SandboxConfig {
        faults: Faults {
            http_5xx: 1.0,
            ..Faults::default()
        },
        ..config(&clock)
    })
    .await;
    let err = client(&sb, SignType::Md5)
        .unified_order(&order("HTTP500001", 1, t0(), NOWHERE))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            WxError::Transport {
                kind: TransportKind::HttpStatus(500),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(sb.order("HTTP500001").is_none());
    sb.set_faults(Faults::default());
    client(&sb, SignType::Md5)
        .unified_order(&order("HTTP500001", 1, t0(), NOWHERE))
        .await
        .unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn fault_latency() {
    let clock = ManualClock::new(t0());
    let latency = Duration::from_millis(250);
    let sb = start(SandboxConfig {
        faults: Faults {
            latency,
            ..Faults::default()
        },
        ..config(&clock)
    })
    .await;
    let c = client(&sb, SignType::Md5);
    let began = Instant::now();
    c.unified_order(&order("LATENCY001", 1, t0(), NOWHERE))
        .await
        .unwrap();
    assert!(began.elapsed() >= latency);
    assert_eq!(sb.faults().latency, latency);
    sb.shutdown().await;
}

#[tokio::test]
async fn fault_corrupt_sign() {
    let clock = ManualClock::new(t0());
    let sb = start(SandboxConfig {
        faults: Faults {
            corrupt_sign: 1.0,
            ..Faults::default()
        },
        ..config(&clock)
    })
    .await;
    for st in [SignType::Md5, SignType::HmacSha256] {
        let err = client(&sb, st)
            .unified_order(&order("CORRUPT001", 1, t0(), NOWHERE))
            .await
            .unwrap_err();
        assert!(matches!(err, WxError::Signature(_)), "{err:?}");
        assert_eq!(err.action(), Action::Query);
    }
    // The call itself was processed: only the answer's signature is bad.
    assert!(sb.order("CORRUPT001").is_some());
    let raw = call_raw(
        &sb.base_url(),
        "/pay/orderquery",
        signed(
            fields(&[
                ("appid", APPID),
                ("mch_id", MCH_ID),
                ("nonce_str", "x"),
                ("out_trade_no", "CORRUPT001"),
            ]),
            false,
        ),
    )
    .await;
    assert_eq!(raw["sign"].len(), 32);
    assert_ne!(indep_sign(&raw, KEY, false), raw["sign"]);
    sb.shutdown().await;
}

#[tokio::test]
async fn fault_refuse_connections_and_failover_to_backup() {
    let clock = ManualClock::new(t0());
    let primary = start(config(&clock)).await;
    let backup = start(config(&clock)).await;
    let url = primary.base_url();

    // Works, then the port is really closed: connection refused.
    let c = client(&primary, SignType::Md5);
    c.unified_order(&order("REFUSE0001", 1, t0(), NOWHERE))
        .await
        .unwrap();
    primary.set_faults(Faults {
        refuse_connections: true,
        ..Faults::default()
    });
    let err = c.order_query("REFUSE0001").await.unwrap_err();
    assert!(matches!(err, WxError::Transport { .. }), "{err:?}");
    let fresh = client(&primary, SignType::Md5);
    let err = fresh.order_query("REFUSE0001").await.unwrap_err();
    assert!(
        matches!(
            err,
            WxError::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.not_delivered());
    assert!(
        tokio::net::TcpStream::connect(primary.local_addr())
            .await
            .is_err()
    );

    // A client with a backup fails over to it.
    let with_backup = client_with(
        merchant(SignType::Md5),
        &url,
        Some(backup.base_url()),
        RetryPolicy {
            attempts: 3,
            ..FAST
        },
    );
    let created = with_backup
        .unified_order(&order("FAILOVER01", 1, t0(), NOWHERE))
        .await
        .unwrap();
    assert_eq!(with_backup.current_base(), backup.base_url());
    assert_eq!(
        backup.order("FAILOVER01").unwrap().code_url,
        created.code_url
    );
    assert!(primary.order("FAILOVER01").is_none());

    // Switched back on: the same port serves again, with its orders.
    primary.set_faults(Faults::default());
    assert_eq!(primary.base_url(), url);
    let again = client(&primary, SignType::Md5);
    assert_eq!(
        again.order_query("REFUSE0001").await.unwrap().trade_state,
        TradeState::NotPay
    );
    primary.shutdown().await;
    backup.shutdown().await;
}

#[tokio::test]
async fn refusing_from_the_start() {
    let clock = ManualClock::new(t0());
    let sb = start(SandboxConfig {
        faults: Faults {
            refuse_connections: true,
            ..Faults::default()
        },
        ..config(&clock)
    })
    .await;
    let err = client(&sb, SignType::Md5)
        .order_query("ANYORDER01")
        .await
        .unwrap_err();
    assert!(err.not_delivered(), "{err:?}");
    sb.set_faults(Faults::default());
    let err = client(&sb, SignType::Md5)
        .order_query("ANYORDER01")
        .await
        .unwrap_err();
    assert_eq!(err.err_code(), Some("ORDERNOTEXIST"));
    sb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------
// The customer over HTTP

#[tokio::test]
async fn customer_page_and_endpoint() {
    let clock = ManualClock::new(t0());
    let sb = start(config(&clock)).await;
    let base = sb.base_url();
    let c = client(&sb, SignType::Md5);
    let created = c
        .unified_order(&order("PAGE000001", 1288, t0(), NOWHERE))
        .await
        .unwrap();
    c.unified_order(&order("PAGE000002", 5, t0(), NOWHERE))
        .await
        .unwrap();
    c.unified_order(&order("PAGE000003", 7, t0(), NOWHERE))
        .await
        .unwrap();

    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("utf-8")
    );
    let html = page.text().await.unwrap();
    for text in [
        "PAGE000001",
        "12.88",
        "2024-05-20 12:40:00",
        "Pay",
        "支付",
        "/sandbox/customer",
    ] {
        assert!(html.contains(text), "page lacks {text}");
    }

    // The page's form: pay, then back to the page.
    let resp = http
        .post(format!("{base}/sandbox/customer"))
        .form(&[
            ("order", "PAGE000001"),
            ("action", "pay"),
            ("redirect", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert!(
        resp.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/?msg=")
    );
    assert_eq!(
        sb.order("PAGE000001").unwrap().trade_state,
        TradeState::Success
    );
    let html = http
        .get(format!("{base}/?msg=hello%20%3Cb%3E"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("hello &lt;b&gt;"), "messages are escaped");

    // curl style, by code_url: plain text.
    let resp = http
        .post(format!("{base}/sandbox/customer"))
        .form(&[("order", created.code_url.as_str()), ("action", "fail")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    let resp = http
        .post(format!("{base}/sandbox/customer"))
        .form(&[("order", "PAGE000002"), ("action", "dance")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    // remote_customer, as `paydesk sandbox pay` uses it.
    assert_eq!(
        remote_customer(&base, "PAGE000002", CustomerAction::Fail)
            .await
            .unwrap(),
        "order PAGE000002: PAYERROR"
    );
    assert_eq!(
        remote_customer(&base, "PAGE000001", CustomerAction::Pay).await,
        Err(SandboxError::NotPayable {
            out_trade_no: "PAGE000001".into(),
            state: "SUCCESS".into()
        })
    );
    assert_eq!(
        remote_customer(&base, "NOSUCH0001", CustomerAction::Pay).await,
        Err(SandboxError::UnknownOrder("NOSUCH0001".into()))
    );
    clock.advance(chrono::Duration::minutes(10));
    assert_eq!(
        remote_customer(&base, "PAGE000003", CustomerAction::Pay).await,
        Err(SandboxError::Expired("PAGE000003".into()))
    );
    let html = http
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("No open orders"),
        "expired orders are not open"
    );
    sb.shutdown().await;
    assert!(matches!(
        remote_customer(&base, "PAGE000003", CustomerAction::Pay).await,
        Err(SandboxError::NotRunning { .. })
    ));
}

#[tokio::test]
async fn delayed_customer() {
    let clock = ManualClock::new(t0());
    let sb = start(config(&clock)).await;
    let base = sb.base_url();
    let c = client(&sb, SignType::Md5);
    c.unified_order(&order("LATER00001", 1, t0(), NOWHERE))
        .await
        .unwrap();
    c.unified_order(&order("LATER00002", 1, t0(), NOWHERE))
        .await
        .unwrap();

    let handle = sb.customer_after(Duration::from_millis(20), "LATER00001", CustomerAction::Pay);
    handle.await.unwrap().unwrap();
    assert_eq!(
        sb.order("LATER00001").unwrap().trade_state,
        TradeState::Success
    );

    let resp = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{base}/sandbox/customer"))
        .form(&[
            ("order", "LATER00002"),
            ("action", "scan"),
            ("delay_ms", "20"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    eventually("scanned", || {
        sb.order("LATER00002").unwrap().trade_state == TradeState::UserPaying
    })
    .await;
    sb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------
// Persistence

#[tokio::test]
async fn orders_survive_a_restart_with_a_state_file() {
    let dir = support::data_dir();
    let path = dir.path().join("sandbox.toml");
    let clock = ManualClock::new(t0());
    let (rx, url) = Receiver::start(vec![(200, "no"); 3]).await;
    let cfg = || SandboxConfig {
        persist: Some(path.clone()),
        notify_time_scale: 1.0, // the live schedule: the 2nd attempt would come 15 s later
        ..config(&clock)
    };
    let sb = start(cfg()).await;
    let c = client(&sb, SignType::HmacSha256);
    let created = c
        .unified_order(&order("PERSIST001", 1288, t0(), &url))
        .await
        .unwrap();
    c.unified_order(&order("PERSIST002", 1, t0(), NOWHERE))
        .await
        .unwrap();
    sb.customer("PERSIST001", CustomerAction::Pay)
        .await
        .unwrap();
    eventually("first notification delivered", || rx.count() == 1).await;
    let before = sb.order("PERSIST001").unwrap();
    sb.shutdown().await;
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("version = 1"), "{text}");

    let sb = start(cfg()).await;
    let after = sb.order("PERSIST001").unwrap();
    assert_eq!(after.code_url, created.code_url);
    assert_eq!(after.transaction_id, before.transaction_id);
    assert_eq!(after.trade_state, TradeState::Success);
    assert_eq!(after.sign_type, SignType::HmacSha256);
    assert_eq!((after.notify_attempts, after.notify_acked), (1, false));
    let c = client(&sb, SignType::HmacSha256);
    let q = c.order_query("PERSIST001").await.unwrap();
    assert_eq!(
        q.payment.unwrap().transaction_id,
        before.transaction_id.unwrap()
    );
    assert_eq!(
        c.order_query("PERSIST002").await.unwrap().trade_state,
        TradeState::NotPay
    );
    // Re-entry still recognises the original parameters.
    let again = c
        .unified_order(&order("PERSIST002", 1, t0(), NOWHERE))
        .await
        .unwrap();
    assert_eq!(again.code_url, sb.order("PERSIST002").unwrap().code_url);
    sb.shutdown().await;
}

#[tokio::test]
async fn fault_knobs_for_late_payments() {
    let clock = ManualClock::new(t0());
    let sb = start(SandboxConfig {
        close_min_age: Duration::ZERO,
        faults: Faults {
            clock_offset_secs: 120,
            ..Faults::default()
        },
        ..config(&clock)
    })
    .await;
    let c = client(&sb, SignType::Md5);
    let url = "http://127.0.0.1:9/notify";

    // A gateway clock two minutes ahead of the till's.
    c.unified_order(&order("SKEW000001", 1, t0(), url))
        .await
        .unwrap();
    assert_eq!(
        sb.order("SKEW000001").unwrap().created_at,
        t0() + chrono::Duration::seconds(120)
    );

    // A spurious ORDERNOTEXIST for an order that exists.
    sb.set_faults(Faults {
        spurious_not_exist: 1.0,
        ..Faults::default()
    });
    let err = c.order_query("SKEW000001").await.unwrap_err();
    assert_eq!(err.err_code(), Some("ORDERNOTEXIST"));
    sb.set_faults(Faults::default());
    assert_eq!(
        c.order_query("SKEW000001").await.unwrap().trade_state,
        TradeState::NotPay
    );

    // The customer's payment fails.
    sb.set_faults(Faults {
        pay_error: 1.0,
        ..Faults::default()
    });
    sb.customer("SKEW000001", CustomerAction::Pay)
        .await
        .unwrap();
    assert_eq!(
        sb.order("SKEW000001").unwrap().trade_state,
        TradeState::PayError
    );

    // A payment lands after the close was answered and the order read CLOSED: only for an order a customer
    // scanned (nobody can pay a QR code that never reached a screen).
    sb.set_faults(Faults {
        pay_after_close: 1.0,
        late_payment_after: Duration::from_millis(20),
        ..Faults::default()
    });
    c.unified_order(&order("NOSCAN0001", 1, t0(), url))
        .await
        .unwrap();
    c.close_order("NOSCAN0001").await.unwrap();
    c.unified_order(&order("LATE000001", 1, t0(), url))
        .await
        .unwrap();
    sb.customer("LATE000001", CustomerAction::Scan)
        .await
        .unwrap();
    c.close_order("LATE000001").await.unwrap();
    assert_eq!(
        c.order_query("LATE000001").await.unwrap().trade_state,
        TradeState::Closed
    );
    eventually("the late payment lands", || {
        sb.order("LATE000001")
            .is_some_and(|o| o.trade_state == TradeState::Success && o.transaction_id.is_some())
    })
    .await;
    let q = c.order_query("LATE000001").await.unwrap();
    assert_eq!(q.trade_state, TradeState::Success);
    // The unscanned order, closed first, stayed closed (its late payment would have landed first).
    assert_eq!(
        c.order_query("NOSCAN0001").await.unwrap().trade_state,
        TradeState::Closed
    );
    sb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------
// Refunds (reference §7), on the HTTPS port with the merchant certificate

fn refund_req(out_trade_no: &str, out_refund_no: &str, total: i64, fee: i64) -> Refund {
    Refund {
        out_trade_no: out_trade_no.into(),
        out_refund_no: out_refund_no.into(),
        total_fee: Fen::new(total).unwrap(),
        refund_fee: Fen::new(fee).unwrap(),
        refund_desc: Some("退货".into()),
        notify_url: None,
    }
}

/// A sandbox with an HTTPS port (refunds of one order at least `gap` apart, `faults`), its client with the
/// merchant certificate, and order `no` of `fee` fen, paid.
async fn paid_over_tls(
    clock: &ManualClock,
    certs: &std::path::Path,
    gap: Duration,
    faults: Faults,
    no: &str,
    fee: i64,
    notify_url: &str,
) -> (Sandbox, WxClient) {
    let sb = start_tls(
        SandboxConfig {
            refund_min_interval: gap,
            faults,
            ..config(clock)
        },
        certs,
    )
    .await;
    let c = tls_client(&sb, true);
    c.unified_order(&order(no, fee, t0(), notify_url))
        .await
        .unwrap();
    sb.customer(no, CustomerAction::Pay).await.unwrap();
    (sb, c)
}

fn refund_refusal(e: WxError) -> (String, String, Action) {
    let action = e.action();
    match e {
        WxError::Refund { code, des } => (code, des, action),
        other => panic!("expected a refund refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn refunds_of_an_order_sum_to_at_most_what_was_paid() {
    let clock = ManualClock::new(t0());
    let certs = support::data_dir();
    let (sb, c) = paid_over_tls(
        &clock,
        certs.path(),
        Duration::ZERO,
        Faults::default(),
        "REFUND0001",
        1000,
        NOWHERE,
    )
    .await;
    let a = c
        .refund(&refund_req("REFUND0001", "R1", 1000, 600))
        .await
        .unwrap();
    assert_eq!(a.refund_fee, Fen::new(600).unwrap());
    assert_eq!(a.refund_id.len(), 29);
    let (code, des, action) = refund_refusal(
        c.refund(&refund_req("REFUND0001", "R2", 1000, 401))
            .await
            .unwrap_err(),
    );
    assert_eq!((code.as_str(), action), ("ERROR", Action::Query), "{des}");
    c.refund(&refund_req("REFUND0001", "R2", 1000, 400))
        .await
        .unwrap();
    let (code, des, action) = refund_refusal(
        c.refund(&refund_req("REFUND0001", "R3", 1000, 1))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (code.as_str(), des.as_str(), action),
        ("ERROR", "订单已全额退款", Action::FullyRefunded)
    );
    assert_eq!(sb.refunds_of("REFUND0001").len(), 2);
    // orderquery says REFUND from the first refund on, with the payment facts still there.
    let q = c.order_query("REFUND0001").await.unwrap();
    assert_eq!(q.trade_state, TradeState::Refund);
    assert!(q.payment.is_some());
    // An unpaid order has nothing to refund.
    c.unified_order(&order("UNPAID0001", 100, t0(), NOWHERE))
        .await
        .unwrap();
    let (code, _, action) = refund_refusal(
        c.refund(&refund_req("UNPAID0001", "R9", 100, 1))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (code.as_str(), action),
        ("ORDERNOTEXIST", Action::NotRefundable)
    );
}

#[tokio::test]
async fn at_most_fifty_refunds_per_order() {
    let clock = ManualClock::new(t0());
    let certs = support::data_dir();
    let (sb, c) = paid_over_tls(
        &clock,
        certs.path(),
        Duration::ZERO,
        Faults::default(),
        "REFUND0050",
        100,
        NOWHERE,
    )
    .await;
    for i in 0..50 {
        c.refund(&refund_req("REFUND0050", &format!("R{i}"), 100, 1))
            .await
            .unwrap();
    }
    let (code, des, action) = refund_refusal(
        c.refund(&refund_req("REFUND0050", "R50", 100, 1))
            .await
            .unwrap_err(),
    );
    assert_eq!((code.as_str(), action), ("ERROR", Action::RefundOtherwise));
    assert!(des.contains("50"), "{des}");
    assert_eq!(sb.refunds_of("REFUND0050").len(), 50);
    // refundquery by order pages 10 at a time and says how many there are.
    let q = c.refund_query_by_trade_no("REFUND0050").await.unwrap();
    assert_eq!((q.refunds.len(), q.total_refund_count), (10, Some(50)));
}

#[tokio::test]
async fn refunds_of_one_order_are_a_minute_apart() {
    let clock = ManualClock::new(t0());
    let certs = support::data_dir();
    let (_sb, c) = paid_over_tls(
        &clock,
        certs.path(),
        Duration::from_secs(60),
        Faults::default(),
        "REFUND0060",
        1000,
        NOWHERE,
    )
    .await;
    c.refund(&refund_req("REFUND0060", "R1", 1000, 100))
        .await
        .unwrap();
    let (code, _, action) = refund_refusal(
        c.refund(&refund_req("REFUND0060", "R2", 1000, 100))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (code.as_str(), action),
        ("FREQUENCY_LIMITED", Action::RetryLater)
    );
    clock.advance(chrono::Duration::seconds(59));
    assert!(
        c.refund(&refund_req("REFUND0060", "R2", 1000, 100))
            .await
            .is_err()
    );
    clock.advance(chrono::Duration::seconds(1));
    // The same refund, retried with the same number a minute later, goes through.
    c.refund(&refund_req("REFUND0060", "R2", 1000, 100))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_same_out_refund_no_is_the_same_refund() {
    let clock = ManualClock::new(t0());
    let certs = support::data_dir();
    let (sb, c) = paid_over_tls(
        &clock,
        certs.path(),
        Duration::from_secs(60),
        Faults::default(),
        "REFUND0070",
        1000,
        NOWHERE,
    )
    .await;
    let first = c
        .refund(&refund_req("REFUND0070", "R1", 1000, 300))
        .await
        .unwrap();
    // Sent again (a retry after a lost answer): the same refund, not a second one, and the one-minute rule
    // does not apply to it.
    let again = c
        .refund(&refund_req("REFUND0070", "R1", 1000, 300))
        .await
        .unwrap();
    assert_eq!(again.refund_id, first.refund_id);
    assert_eq!(sb.refunds_of("REFUND0070").len(), 1);
    let (code, _, action) = refund_refusal(
        c.refund(&refund_req("REFUND0070", "R1", 1000, 301))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (code.as_str(), action),
        ("INVALID_REQUEST", Action::FixRequest)
    );
    let q = c.refund_query_by_refund_no("R1").await.unwrap();
    assert_eq!(q.refunds.len(), 1);
    assert_eq!(q.refunds[0].refund_fee, Fen::new(300).unwrap());
}

#[tokio::test]
async fn a_refund_is_processing_then_success_and_its_notification_decrypts() {
    let clock = ManualClock::new(t0());
    let certs = support::data_dir();
    let (rx, rx_url) = Receiver::start(vec![(500, "busy")]).await;
    let faults = Faults {
        refund_settle_after: Duration::from_secs(3600),
        ..Faults::default()
    };
    let (sb, c) = paid_over_tls(
        &clock,
        certs.path(),
        Duration::ZERO,
        faults,
        "REFUND0080",
        1000,
        NOWHERE,
    )
    .await;
    let mut req = refund_req("REFUND0080", "R1", 1000, 500);
    req.notify_url = Some(rx_url);
    let accepted = c.refund(&req).await.unwrap();
    let q = c.refund_query_by_refund_no("R1").await.unwrap();
    assert_eq!(q.refunds[0].status, RefundStatus::Processing);
    assert_eq!(q.refunds[0].success_time, None);
    assert_eq!(
        c.order_query("REFUND0080").await.unwrap().trade_state,
        TradeState::Refund
    );

    clock.advance(chrono::Duration::seconds(30));
    assert!(sb.settle_refund("R1"));
    assert!(!sb.settle_refund("R1"), "final already");
    // The first delivery is refused (HTTP 500), the retry is acknowledged.
    eventually("the refund notification is acknowledged", || {
        sb.refund("R1").is_some_and(|r| r.notify.acked)
    })
    .await;
    assert_eq!(rx.count(), 2);
    let body = String::from_utf8(rx.bodies()[1].clone()).unwrap();
    let outer = xml::decode(body.as_bytes()).unwrap();
    assert!(
        !outer.contains_key("sign"),
        "a refund notification is not signed"
    );
    assert_eq!(
        (outer["appid"].as_str(), outer["mch_id"].as_str()),
        (APPID, MCH_ID)
    );
    // Decrypted by the tests' own AES, not PayDesk's.
    let plain = support::oracle::decrypt_req_info(&outer["req_info"], KEY).unwrap();
    let field = |n: &str| support::oracle::xml_field(&plain, n).unwrap_or_default();
    assert!(plain.starts_with("<root>"), "{plain}");
    assert_eq!(field("refund_status"), "SUCCESS");
    assert_eq!(field("out_refund_no"), "R1");
    assert_eq!(field("out_trade_no"), "REFUND0080");
    assert_eq!(field("refund_id"), accepted.refund_id);
    assert_eq!(
        (field("refund_fee"), field("total_fee")),
        ("500".into(), "1000".into())
    );
    assert_eq!(
        field("success_time"),
        paydesk::clock::format_wx_datetime(t0() + chrono::Duration::seconds(30))
    );
    // PayDesk's parser agrees with the oracle.
    let n =
        paydesk::wxpay::api::parse_refund_notification(body.as_bytes(), &merchant(SignType::Md5))
            .unwrap();
    assert_eq!(
        (n.status, n.refund_fee, n.out_refund_no.as_str()),
        (RefundStatus::Success, Fen::new(500).unwrap(), "R1")
    );
    let q = c.refund_query_by_trade_no("REFUND0080").await.unwrap();
    assert_eq!(q.refunds[0].status, RefundStatus::Success);
    assert_eq!(
        q.refunds[0].success_time,
        Some(t0() + chrono::Duration::seconds(30))
    );
    assert!(q.refunds[0].recv_account.is_some());
}

#[tokio::test]
async fn a_refund_can_end_in_change_notified_to_the_orders_url() {
    let clock = ManualClock::new(t0());
    let certs = support::data_dir();
    let (rx, rx_url) = Receiver::start(vec![]).await;
    let faults = Faults {
        refund_outcome: RefundOutcome::Change,
        ..Faults::default()
    };
    let (sb, c) = paid_over_tls(
        &clock,
        certs.path(),
        Duration::ZERO,
        faults,
        "REFUND0090",
        1000,
        &rx_url,
    )
    .await;
    c.refund(&refund_req("REFUND0090", "R1", 1000, 1000))
        .await
        .unwrap();
    eventually("the refund settles and is notified", || {
        sb.refund("R1").is_some_and(|r| r.notify.acked)
    })
    .await;
    // The receiver got the payment notification and the refund notification.
    let bodies: Vec<String> = rx
        .bodies()
        .into_iter()
        .map(|b| String::from_utf8(b).unwrap())
        .filter(|b| b.contains("req_info"))
        .collect();
    assert_eq!(bodies.len(), 1);
    let outer = xml::decode(bodies[0].as_bytes()).unwrap();
    let plain = support::oracle::decrypt_req_info(&outer["req_info"], KEY).unwrap();
    assert_eq!(
        support::oracle::xml_field(&plain, "refund_status").as_deref(),
        Some("CHANGE")
    );
    let q = c.refund_query_by_refund_no("R1").await.unwrap();
    assert_eq!(q.refunds[0].status, RefundStatus::Change);
}

#[tokio::test]
async fn the_https_port_refuses_a_refund_without_the_merchant_certificate() {
    let clock = ManualClock::new(t0());
    let certs = support::data_dir();
    let (sb, with_cert) = paid_over_tls(
        &clock,
        certs.path(),
        Duration::ZERO,
        Faults::default(),
        "REFUND0100",
        1000,
        NOWHERE,
    )
    .await;
    let mut body = fields(&[
        ("appid", APPID),
        ("mch_id", MCH_ID),
        ("nonce_str", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"),
        ("out_trade_no", "REFUND0100"),
        ("out_refund_no", "R1"),
        ("total_fee", "1000"),
        ("refund_fee", "100"),
    ]);
    support::oracle::sign_fields(&mut body, KEY, false);
    let body = raw_xml(&body);

    // A client that trusts the sandbox CA but has no certificate: the front end's HTTP 400 page.
    let ca = std::fs::read(sb.pki().unwrap().path("ca.pem")).unwrap();
    let anonymous = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .build()
        .unwrap();
    let resp = anonymous
        .post(format!("{}/secapi/pay/refund", sb.tls_url().unwrap()))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("No required SSL certificate was sent")
    );
    // The plain port has no certificates at all: refused there too.
    let (status, text) = raw_post(
        &sb.base_url(),
        "/secapi/pay/refund",
        reqwest::Method::POST,
        body.into_bytes(),
    )
    .await;
    assert_eq!(status, 400, "{text}");
    // PayDesk's client without a certificate refuses before sending; through the plain port it reads the
    // refusal as a configuration problem.
    let no_cert = tls_client(&sb, false);
    let e = no_cert
        .refund(&refund_req("REFUND0100", "R1", 1000, 100))
        .await
        .unwrap_err();
    assert!(matches!(e, WxError::NoClientCertificate), "{e:?}");
    assert_eq!(e.action(), Action::FixConfig);
    assert!(sb.refunds_of("REFUND0100").is_empty());

    // With the merchant's apiclient_cert.p12 (password = mch_id): accepted.
    with_cert
        .refund(&refund_req("REFUND0100", "R1", 1000, 100))
        .await
        .unwrap();
    assert_eq!(sb.refunds_of("REFUND0100").len(), 1);
}

#[tokio::test]
async fn refunds_survive_a_restart_of_the_sandbox() {
    let clock = ManualClock::new(t0());
    let dir = support::data_dir();
    let state = dir.path().join("state.toml");
    let certs = dir.path().join("certs");
    let cfg = || SandboxConfig {
        persist: Some(state.clone()),
        refund_min_interval: Duration::ZERO,
        faults: Faults {
            refund_settle_after: Duration::from_secs(3600),
            ..Faults::default()
        },
        ..config(&clock)
    };
    let sb = start_tls(cfg(), &certs).await;
    let c = tls_client(&sb, true);
    c.unified_order(&order("REFUND0110", 1000, t0(), NOWHERE))
        .await
        .unwrap();
    sb.customer("REFUND0110", CustomerAction::Pay)
        .await
        .unwrap();
    c.refund(&refund_req("REFUND0110", "R1", 1000, 400))
        .await
        .unwrap();
    sb.shutdown().await;

    let sb = start_tls(cfg(), &certs).await;
    let r = sb.refund("R1").expect("the refund is still known");
    assert_eq!(
        (r.status, r.refund_fee),
        (RefundStatus::Processing, Fen::new(400).unwrap())
    );
    let c = tls_client(&sb, true);
    // What is left is still counted with it.
    assert!(
        c.refund(&refund_req("REFUND0110", "R2", 1000, 601))
            .await
            .is_err()
    );
    assert_eq!(
        c.order_query("REFUND0110").await.unwrap().trade_state,
        TradeState::Refund
    );
}
