//! The simulated customer over HTTP: a small page at `/` that lists the open orders with Pay / Fail
//! buttons (plain HTML forms, no JavaScript), and `POST /sandbox/customer` that the page, `curl` and
//! `paydesk sandbox pay` use.
//!
//! `POST /sandbox/customer` takes form fields `order` (code_url or out_trade_no), `action`
//! (`pay`, `fail` or `scan`), optionally `delay_ms` (act later, in the background) and `redirect`
//! (answer 303 back to the page). It answers in plain text: 200 `order X: STATE`; 404 unknown order,
//! 410 expired, 409 not payable (header `x-sandbox-trade-state` says the state), 400 bad action.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::{CustomerAction, Inner, SandboxError, gateway, order};
use crate::clock::beijing;

/// The customer endpoint.
pub const CUSTOMER_PATH: &str = "/sandbox/customer";
/// On a 409 answer: the order's trade_state.
pub const STATE_HEADER: &str = "x-sandbox-trade-state";
/// On the customer page, when the sandbox also serves HTTPS: that port's base URL.
pub const TLS_URL_HEADER: &str = "x-sandbox-tls-url";
/// On the customer page, when the sandbox also serves HTTPS: the directory of its certificates (its CA and
/// the merchant certificate a PayDesk on this machine presents for refunds).
pub const TLS_CERTS_HEADER: &str = "x-sandbox-tls-certs";

pub(crate) fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/", get(page))
        .route(CUSTOMER_PATH, post(customer))
        .fallback(gateway::handle)
        // `/secapi/*` only with a verified client certificate: never on the plain port.
        .layer(axum::middleware::from_fn(super::tls::secapi_guard))
        .with_state(inner)
}

async fn customer(
    State(inner): State<Arc<Inner>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let order = form.get("order").map(|s| s.trim()).unwrap_or_default();
    let redirect = form.get("redirect").is_some_and(|v| !v.is_empty());
    let action_text = form.get("action").map(String::as_str).unwrap_or_default();
    let delay = form
        .get("delay_ms")
        .and_then(|d| d.trim().parse::<u64>().ok())
        .map(Duration::from_millis)
        .filter(|d| !d.is_zero());
    let result = match CustomerAction::parse(action_text) {
        None => Err(SandboxError::BadAction(action_text.to_string())),
        Some(action) => match delay {
            Some(delay) => {
                let known = inner.store().resolve(order);
                match known {
                    None => Err(SandboxError::UnknownOrder(order.to_string())),
                    Some(out_trade_no) => {
                        let task_inner = Arc::clone(&inner);
                        let order = order.to_string();
                        let task = tokio::spawn(async move {
                            tokio::time::sleep(delay).await;
                            if let Err(e) = task_inner.customer(&order, action) {
                                tracing::warn!(error = %e, "sandbox: delayed customer action failed");
                            }
                        });
                        inner.track(task.abort_handle());
                        Ok(format!(
                            "order {out_trade_no}: {} in {} ms",
                            action.as_str(),
                            delay.as_millis()
                        ))
                    }
                }
            }
            None => inner
                .customer(order, action)
                .map(|(n, state)| format!("order {n}: {}", state.as_str())),
        },
    };
    if redirect {
        let msg = match &result {
            Ok(m) => m.clone(),
            Err(e) => e.to_string(),
        };
        return Redirect::to(&format!("/?msg={}", percent_encode(&msg))).into_response();
    }
    match result {
        Ok(msg) => (StatusCode::OK, format!("{msg}\n")).into_response(),
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let mut resp = (status, format!("{e}\n")).into_response();
            if let SandboxError::NotPayable { state, .. } = &e
                && let Ok(v) = state.parse()
            {
                resp.headers_mut().insert(STATE_HEADER, v);
            }
            resp
        }
    }
}

async fn page(
    State(inner): State<Arc<Inner>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let now = inner.now();
    let orders: Vec<_> = inner
        .store()
        .all()
        .into_iter()
        .rev()
        .map(|o| (o.is_open(now), o.snapshot(now)))
        .collect();
    let mut h = String::with_capacity(4096);
    h.push_str(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"5\">\
         <title>PayDesk 沙箱顾客 / Sandbox customer</title>\
         <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}.amt{text-align:right}\
         .msg{background:#ffd;padding:.5em}form{display:inline}</style></head><body>\
         <h1>微信支付沙箱：顾客 / WeChat Pay sandbox: customer</h1>\
         <p>扫码付款的模拟顾客。没有真实资金。/ The simulated customer of the sandbox gateway. No real money.</p>",
    );
    if let Some(msg) = query.get("msg").filter(|m| !m.is_empty()) {
        let _ = write!(h, "<p class=\"msg\">{}</p>", escape(msg));
    }
    h.push_str("<h2>待支付订单 / Open orders</h2>");
    let open: Vec<_> = orders.iter().filter(|(open, _)| *open).collect();
    if open.is_empty() {
        h.push_str("<p>暂无待支付订单 / No open orders.</p>");
    } else {
        h.push_str(
            "<table><tr><th>金额 / Amount</th><th>商品 / Item</th><th>商户订单号 / out_trade_no</th>\
             <th>状态 / State</th><th>有效期至 / Expires (北京时间)</th><th></th></tr>",
        );
        for (_, o) in open {
            let _ = write!(
                h,
                "<tr><td class=\"amt\">¥{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>",
                o.total_fee.yuan_string(),
                escape(&o.body),
                escape(&o.out_trade_no),
                o.trade_state.as_str(),
                o.time_expire
                    .with_timezone(&beijing())
                    .format("%Y-%m-%d %H:%M:%S"),
            );
            for (action, label) in [
                ("pay", "支付 / Pay"),
                ("fail", "支付失败 / Fail"),
                ("scan", "扫码 / Scan"),
            ] {
                let _ = write!(
                    h,
                    "<form method=\"post\" action=\"{CUSTOMER_PATH}\">\
                     <input type=\"hidden\" name=\"order\" value=\"{}\">\
                     <input type=\"hidden\" name=\"action\" value=\"{action}\">\
                     <input type=\"hidden\" name=\"redirect\" value=\"1\">\
                     <button type=\"submit\">{label}</button></form> ",
                    escape(&o.out_trade_no)
                );
            }
            h.push_str("</td></tr>");
        }
        h.push_str("</table>");
    }
    h.push_str("<h2>最近订单 / Recent orders</h2>");
    if orders.is_empty() {
        h.push_str("<p>暂无订单 / No orders yet.</p>");
    } else {
        h.push_str(
            "<table><tr><th>金额 / Amount</th><th>商户订单号 / out_trade_no</th><th>状态 / State</th>\
             <th>微信订单号 / transaction_id</th><th>通知 / Notify</th></tr>",
        );
        for (_, o) in orders.iter().take(50) {
            let state = if o.expired && !o.trade_state.is_final() {
                format!("{} (已过期 / expired)", o.trade_state.as_str())
            } else {
                format!(
                    "{} ({})",
                    o.trade_state.as_str(),
                    order::state_desc(&o.trade_state)
                )
            };
            let notify = if o.transaction_id.is_none() {
                String::new()
            } else if o.notify_acked {
                format!("已确认 / acknowledged ({}×)", o.notify_posts)
            } else {
                format!("未确认 / not acknowledged ({}×)", o.notify_posts)
            };
            let _ = write!(
                h,
                "<tr><td class=\"amt\">¥{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                o.total_fee.yuan_string(),
                escape(&o.out_trade_no),
                escape(&state),
                escape(o.transaction_id.as_deref().unwrap_or("")),
                escape(&notify),
            );
        }
        h.push_str("</table>");
    }
    let _ = write!(
        h,
        "<p>命令行 / From a terminal: <code>curl -d order=OUT_TRADE_NO -d action=pay {}</code></p></body></html>",
        escape(&format!("http://HOST{CUSTOMER_PATH}"))
    );
    let mut response = ([(header::CACHE_CONTROL, "no-store")], Html(h)).into_response();
    // How a PayDesk that finds this sandbox running reaches its HTTPS port (refunds) and which CA and
    // merchant certificate to use there.
    if let Some((url, certs)) = inner.tls_info.get() {
        let headers = response.headers_mut();
        if let Ok(v) = header::HeaderValue::from_str(url) {
            headers.insert(TLS_URL_HEADER, v);
        }
        if let Some(v) = certs
            .to_str()
            .and_then(|c| header::HeaderValue::from_str(c).ok())
        {
            headers.insert(TLS_CERTS_HEADER, v);
        }
    }
    response
}

/// Escape text for HTML element content and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encode for a query value.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(percent_encode("a b/中"), "a%20b%2F%E4%B8%AD");
    }
}
