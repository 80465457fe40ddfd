//! The API endpoints: one pipeline for every call, then one handler per endpoint.
//!
//! Order of checks, as the live gateway evaluates them (reference §1, §3.3):
//! 1. faults: `latency`, then `http_5xx` (HTTP 500, nothing done);
//! 2. transport (`return_code=FAIL`, no sign): not POST → `REQUIRE_POST_METHOD`; then the envelope
//!    ([`Sealer::open_request`](crate::wxpay::envelope::Sealer::open_request)): empty body → `POST_DATA_EMPTY`; not UTF-8 or a 4-byte character →
//!    `NOT_UTF8`; anything else unreadable → `XML格式错误`;
//! 3. signature over all received fields with the key and `sign_type` (absent → MD5, unknown value →
//!    `sign_type参数错误`), missing or wrong → `签名错误`, computed by the configured signer;
//! 4. fault `system_error` (signed `SYSTEMERROR`, nothing done);
//! 5. `appid`, `mch_id`, `nonce_str` present (`LACK_PARAMS`); `mch_id` is this merchant's
//!    (`MCHID_NOT_EXIST`); `appid` is its appid: a well-formed appid of someone else is
//!    `APPID_MCHID_NOT_MATCH`, anything else `APPID_NOT_EXIST`;
//! 6. the endpoint's own rules ([`super::store`]; refunds: [`super::refund`]; the bill: [`super::bill`],
//!    whose answers are a text bill or an unsigned XML error, see [`bill_answer`]).
//!
//! `/secapi/pay/refund` is reached only with a verified client certificate (the router's `secapi_guard`
//! refuses it before this pipeline otherwise, and always on the plain port); a certificate of another
//! merchant is refused at step 2.
//!
//! Answers past step 3 are signed with the request's algorithm, carry no `sign_type`, and echo the
//! request's `appid`/`mch_id` (so a client with the wrong mch_id still reads the business error).
//! Fault `corrupt_sign` then alters one digit of `sign`.

use std::sync::Arc;

use super::Inner;
use super::store::Refusal;
use super::tls::ClientCert;
use crate::wxpay::TradeState;
use crate::wxpay::envelope::{RequestError, fail_reply};
use crate::wxpay::sign::{self, Params, SignType};
use crate::wxpay::xml;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// The gateway's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    UnifiedOrder,
    OrderQuery,
    CloseOrder,
    Refund,
    RefundQuery,
    /// Answered with a text bill, not a signed message: see [`bill_answer`].
    DownloadBill,
}

impl Api {
    pub fn from_path(path: &str) -> Option<Api> {
        match path.trim_end_matches('/') {
            "/pay/unifiedorder" => Some(Api::UnifiedOrder),
            "/pay/orderquery" => Some(Api::OrderQuery),
            "/pay/closeorder" => Some(Api::CloseOrder),
            "/secapi/pay/refund" => Some(Api::Refund),
            "/pay/refundquery" => Some(Api::RefundQuery),
            "/pay/downloadbill" => Some(Api::DownloadBill),
            _ => None,
        }
    }
}

/// What the pipeline answers before framing.
enum Reply {
    /// `return_code=FAIL`.
    Protocol(String),
    /// `return_code=SUCCESS`, to be signed.
    Signed { fields: Params, sign_type: SignType },
}

/// The axum fallback: every path that is not the customer's goes here.
pub async fn handle(
    State(inner): State<Arc<Inner>>,
    client: Option<Extension<ClientCert>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let Some(api) = Api::from_path(uri.path()) else {
        return (StatusCode::NOT_FOUND, "404 Not Found\n").into_response();
    };
    let latency = inner.faults().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if inner.chance(|f| f.http_5xx) {
        tracing::debug!(?api, "sandbox fault: HTTP 500");
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<html><body><h1>500 Internal Server Error</h1></body></html>",
        )
            .into_response();
    }
    if api == Api::DownloadBill {
        return bill_answer(&inner, &method, &body);
    }
    // The merchant id of the verified client certificate, if any (the guard let `/secapi/*` through only
    // with one).
    let cert_mch_id = match client.as_deref() {
        Some(ClientCert::Verified { mch_id, .. }) => mch_id.clone(),
        _ => None,
    };
    let body = match pipeline(&inner, api, &method, &body, cert_mch_id.as_deref()) {
        Reply::Protocol(msg) => {
            tracing::debug!(?api, %msg, "sandbox: refused (return_code FAIL)");
            fail_reply(&msg)
        }
        Reply::Signed { fields, sign_type } => {
            let mut fields = inner.sealer().seal_answer(fields, sign_type);
            if inner.chance(|f| f.corrupt_sign) {
                tracing::debug!(?api, "sandbox fault: corrupt sign");
                let s = corrupt(&fields["sign"]);
                fields.insert("sign".into(), s);
            }
            xml::encode(&fields).unwrap_or_else(|e| {
                // Only an echoed non-BMP value could do this, and those were refused at step 2.
                tracing::error!(error = %e, "sandbox: cannot encode an answer");
                fail_reply("系统错误")
            })
        }
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

/// `/pay/downloadbill`: the same checks as every call (steps 2, 3 and 5), then the bill (`bill.rs`). Its
/// refusals are unsigned XML bodies with `return_msg` and `error_code`, as live (reference §8); the bill is
/// text (or gzip) and carries no signature.
fn bill_answer(inner: &Arc<Inner>, method: &Method, body: &[u8]) -> Response {
    let xml_fail = |msg: &str, code: &str| {
        let mut p = Params::new();
        p.insert("return_code".into(), "FAIL".into());
        p.insert("return_msg".into(), msg.into());
        p.insert("error_code".into(), code.into());
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            xml::encode(&p).unwrap_or_else(|_| fail_reply(msg)),
        )
            .into_response()
    };
    if method != Method::POST {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            fail_reply("REQUIRE_POST_METHOD"),
        )
            .into_response();
    }
    let req = match inner.sealer().open_request(body) {
        Ok((req, _)) => req,
        Err(RequestError::Sign(_)) => return xml_fail("SIGN ERROR", "20001"),
        Err(e) => return xml_fail(e.return_msg(), "20001"),
    };
    if let Err(Refusal::Business { code, des }) = check_merchant(inner, &req) {
        return xml_fail(&des, code);
    }
    let store = inner.store();
    let ctx = super::bill::BillContext {
        appid: &inner.appid,
        mch_id: &inner.mch_id,
        now: inner.now(),
        bills_today: inner.bills_today,
    };
    let reply = super::bill::download_bill(&ctx, &req, &store.all(), &store.refunds.all());
    drop(store);
    match reply {
        super::bill::BillReply::Fail { msg, error_code } => xml_fail(msg, error_code),
        super::bill::BillReply::Bill(bytes) => {
            let gzip = bytes.starts_with(&[0x1f, 0x8b]);
            tracing::debug!(bytes = bytes.len(), gzip, "sandbox: bill served");
            let content_type = if gzip {
                "application/x-gzip"
            } else {
                "text/plain; charset=utf-8"
            };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, content_type)],
                bytes,
            )
                .into_response()
        }
    }
}

/// Change the first hex digit of a signature (keeping its length, so the client sees a mismatch).
fn corrupt(sign: &str) -> String {
    let mut chars: Vec<char> = sign.chars().collect();
    if let Some(c) = chars.first_mut() {
        *c = if *c == '0' { '1' } else { '0' };
    }
    chars.into_iter().collect()
}

fn pipeline(
    inner: &Arc<Inner>,
    api: Api,
    method: &Method,
    body: &[u8],
    cert_mch_id: Option<&str>,
) -> Reply {
    if method != Method::POST {
        return Reply::Protocol("REQUIRE_POST_METHOD".into());
    }
    if api == Api::Refund && cert_mch_id != Some(inner.mch_id.as_str()) {
        return Reply::Protocol("证书与商户号不匹配".into());
    }
    let (req, sign_type) = match inner.sealer().open_request(body) {
        Ok(opened) => opened,
        Err(e) => return Reply::Protocol(e.return_msg().into()),
    };

    let mut fields = Params::new();
    fields.insert("return_code".into(), "SUCCESS".into());
    fields.insert("return_msg".into(), "OK".into());
    for name in ["appid", "mch_id"] {
        if let Some(v) = req.get(name) {
            fields.insert(name.into(), v.clone());
        }
    }
    fields.insert("nonce_str".into(), sign::nonce());
    let outcome = if inner.chance(|f| f.system_error) {
        tracing::debug!(?api, "sandbox fault: SYSTEMERROR");
        Err(Refusal::Business {
            code: "SYSTEMERROR",
            des: "系统超时，请用相同参数重新调用".into(),
        })
    } else {
        check_merchant(inner, &req).and_then(|()| dispatch(inner, api, &req, sign_type))
    };
    match outcome {
        Ok(extra) => {
            fields.insert("result_code".into(), "SUCCESS".into());
            fields.extend(extra);
        }
        Err(Refusal::Protocol(msg)) => return Reply::Protocol(msg),
        Err(Refusal::Business { code, des }) => {
            tracing::debug!(?api, code, %des, "sandbox: business failure");
            fields.insert("result_code".into(), "FAIL".into());
            fields.insert("err_code".into(), code.into());
            fields.insert("err_code_des".into(), des);
        }
    }
    Reply::Signed { fields, sign_type }
}

fn check_merchant(inner: &Inner, req: &Params) -> Result<(), Refusal> {
    let biz = |code: &'static str, des: &str| {
        Err(Refusal::Business {
            code,
            des: des.into(),
        })
    };
    for name in ["appid", "mch_id", "nonce_str"] {
        if req.get(name).is_none_or(|v| v.is_empty()) {
            return biz("LACK_PARAMS", &format!("缺少参数{name}"));
        }
    }
    if req["nonce_str"].len() > 32 {
        return biz("PARAM_ERROR", "nonce_str参数长度有误");
    }
    if req["mch_id"] != inner.mch_id {
        return biz("MCHID_NOT_EXIST", "商户号不存在");
    }
    let appid = &req["appid"];
    if *appid != inner.appid {
        let well_formed = appid.len() == 18
            && appid.starts_with("wx")
            && appid[2..].bytes().all(|b| b.is_ascii_hexdigit());
        return if well_formed {
            biz("APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        } else {
            biz("APPID_NOT_EXIST", "APPID不存在")
        };
    }
    Ok(())
}

fn dispatch(
    inner: &Arc<Inner>,
    api: Api,
    req: &Params,
    sign_type: SignType,
) -> Result<Params, Refusal> {
    let now = inner.now();
    let mut store = inner.store();
    match api {
        Api::UnifiedOrder => {
            let (fields, created) = store.unified_order(req, sign_type, now)?;
            if created {
                inner.save(&store);
                tracing::info!(out_trade_no = %req["out_trade_no"], "sandbox: order created");
            }
            Ok(fields)
        }
        Api::OrderQuery => {
            let known = req
                .get("out_trade_no")
                .is_some_and(|n| store.get(n).is_some());
            if known && inner.chance(|f| f.spurious_not_exist) {
                tracing::debug!(?api, "sandbox fault: spurious ORDERNOTEXIST");
                return Err(super::store::biz("ORDERNOTEXIST", "订单不存在"));
            }
            store.order_query(req, now)
        }
        Api::CloseOrder => {
            let otn = req.get("out_trade_no").cloned().unwrap_or_default();
            // Only a customer who scanned the QR code can have a payment under way (`openid` is set by the
            // first scan): an order whose code_url never reached a screen cannot be paid late.
            let was_paying = store.get(&otn).is_some_and(|o| {
                matches!(o.state, TradeState::NotPay | TradeState::UserPaying) && o.openid.is_some()
            });
            let fields = store.close_order(req, now, inner.close_min_age)?;
            inner.save(&store);
            drop(store);
            if was_paying && inner.chance(|f| f.pay_after_close) {
                inner.pay_later(otn);
            }
            Ok(fields)
        }
        Api::Refund => {
            let (fields, created) = store.refund(req, now, inner.refund_min_interval)?;
            if let Some(out_refund_no) = created {
                inner.save(&store);
                drop(store);
                tracing::info!(%out_refund_no, "sandbox: refund accepted");
                super::refund_notify::spawn_settle(inner, out_refund_no);
            }
            Ok(fields)
        }
        Api::RefundQuery => store.refund_query(req),
        // Answered by `bill_answer` before the signed-message pipeline.
        Api::DownloadBill => Err(Refusal::Protocol("invalid request".into())),
    }
}
