//! Raw HTTP for tests: bodies a well-behaved client would never send (wrong methods, broken XML, forged
//! signatures) and signed bodies built with the oracle, to a gateway or a notification listener.

use paydesk::wxpay::xml;

use super::Fields;

/// Send `body` with `method` to `base` + `path`; the status and the answer's text.
pub async fn raw_post(
    base: &str,
    path: &str,
    method: reqwest::Method,
    body: Vec<u8>,
) -> (u16, String) {
    let resp = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .request(method, format!("{base}{path}"))
        .body(body)
        .send()
        .await
        .expect("server reachable");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

/// POST a body; the answer's fields (the answer must be HTTP 200 and XML).
pub async fn call_raw(base: &str, path: &str, body: impl Into<Vec<u8>>) -> Fields {
    let (status, text) = raw_post(base, path, reqwest::Method::POST, body.into()).await;
    assert_eq!(status, 200, "{text}");
    xml::decode(text.as_bytes()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// POST a body to a full URL (a notification listener); the answer's text.
pub async fn post_text(url: &str, body: impl Into<Vec<u8>>) -> String {
    raw_post(url, "", reqwest::Method::POST, body.into())
        .await
        .1
}
