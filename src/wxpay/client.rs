//! The async HTTP client for the v2 gateway: transport, retries and failover; no business decisions.
//!
//! Every answer goes through [`envelope::open_response`] before it becomes a type, so an unverified body never
//! reaches the caller. Idempotent calls (all three Native calls are idempotent per `out_trade_no` when the
//! parameters are identical) are retried with backoff on transport errors and SYSTEMERROR. Connection
//! errors and timeouts (only those, never business errors) move traffic to the backup domain, which is used
//! until `failback_after` has passed; then the primary is tried again.
//!
//! Refunds go to `/secapi/pay/refund`, which needs the merchant's API client certificate
//! ([`ClientConfig::identity`]): those calls use a second HTTP client that presents it; the others never do.
//! Without an identity a refund fails with [`WxError::NoClientCertificate`] before anything is sent.
//! [`ClientConfig::extra_roots`] adds trust anchors (the sandbox's own CA); live mode adds none.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rustls_pki_types::CertificateDer;

use super::api::{self, QueryResult, UnifiedOrder, UnifiedOrderResult};
use super::bill::{self, BillAnswer, BillRequest};
use super::cert::MerchantIdentity;
use super::envelope::{self, Merchant};
use super::error::{Action, TransportKind, WxError};
use super::refund::{
    Refund, RefundAccepted, RefundQueryKey, RefundQueryResult, refund_query_params,
};
use super::sign::Params;
use super::xml;

/// The live gateway.
pub const LIVE_PRIMARY: &str = "https://api.mch.weixin.qq.com";
/// The live cross-city backup domain.
pub const LIVE_BACKUP: &str = "https://api2.mch.weixin.qq.com";

/// How often and how patiently to retry an idempotent call.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Total attempts, the first included (1 = no retry).
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    pub const NONE: RetryPolicy = RetryPolicy {
        attempts: 1,
        base_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
    };

    /// The delay before attempt `n` (1-based, n ≥ 2): base · 2^(n-2), capped, with ±25 % jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << (attempt.saturating_sub(2)).min(16));
        let capped = exp.min(self.max_delay);
        let jitter = rand::random_range(0.75..=1.25);
        capped.mul_f64(jitter)
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(300),
            max_delay: Duration::from_secs(3),
        }
    }
}

/// Where and how to reach the gateway.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base URL without a trailing slash, e.g. [`LIVE_PRIMARY`] or the sandbox's `http://127.0.0.1:…`.
    pub primary: String,
    pub backup: Option<String>,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub retry: RetryPolicy,
    /// How long to stay on the backup after a connectivity failure of the primary.
    pub failback_after: Duration,
    /// The merchant API certificate presented on `/secapi/*` (refunds). `None`: refunds are refused
    /// locally with [`WxError::NoClientCertificate`].
    pub identity: Option<MerchantIdentity>,
    /// Trust anchors added to the system's (the sandbox's CA, for its HTTPS port). Empty for live.
    pub extra_roots: Vec<CertificateDer<'static>>,
}

impl ClientConfig {
    /// The live gateway with the official SDKs' timeouts (6 s connect, 8 s read).
    pub fn live() -> ClientConfig {
        ClientConfig::new(LIVE_PRIMARY, Some(LIVE_BACKUP.to_string()))
    }

    pub fn new(primary: impl Into<String>, backup: Option<String>) -> ClientConfig {
        ClientConfig {
            primary: primary.into().trim_end_matches('/').to_string(),
            backup: backup.map(|b| b.trim_end_matches('/').to_string()),
            connect_timeout: Duration::from_secs(6),
            read_timeout: Duration::from_secs(8),
            retry: RetryPolicy::default(),
            failback_after: Duration::from_secs(180),
            identity: None,
            extra_roots: Vec::new(),
        }
    }
}

#[derive(Debug, Default)]
struct Failover {
    /// Since when the primary is considered down.
    primary_down_since: Option<Instant>,
}

/// A client of the v2 gateway for one merchant.
#[derive(Debug)]
pub struct WxClient {
    http: reqwest::Client,
    /// The same, presenting the merchant certificate: only for `/secapi/*`.
    secapi: Option<reqwest::Client>,
    merchant: Merchant,
    config: ClientConfig,
    failover: Mutex<Failover>,
}

impl WxClient {
    pub fn new(merchant: Merchant, config: ClientConfig) -> Result<WxClient, WxError> {
        let build_error = |e: String| WxError::Transport {
            kind: TransportKind::Other,
            detail: format!("cannot build HTTP client: {e}"),
        };
        let builder = || -> Result<reqwest::ClientBuilder, WxError> {
            let mut b = reqwest::Client::builder()
                .connect_timeout(config.connect_timeout)
                .read_timeout(config.read_timeout)
                .timeout(config.connect_timeout + config.read_timeout)
                .user_agent(format!(
                    "PayDesk/{} {}",
                    env!("CARGO_PKG_VERSION"),
                    merchant.mch_id
                ));
            for root in &config.extra_roots {
                let cert =
                    reqwest::Certificate::from_der(root).map_err(|e| build_error(e.to_string()))?;
                b = b.add_root_certificate(cert);
            }
            Ok(b)
        };
        let http = builder()?.build().map_err(|e| build_error(e.to_string()))?;
        let secapi = match &config.identity {
            None => None,
            Some(identity) => {
                let id = identity
                    .reqwest_identity()
                    .map_err(|e| build_error(e.to_string()))?;
                Some(
                    builder()?
                        .identity(id)
                        .build()
                        .map_err(|e| build_error(e.to_string()))?,
                )
            }
        };
        Ok(WxClient {
            http,
            secapi,
            merchant,
            config,
            failover: Mutex::new(Failover::default()),
        })
    }

    pub fn merchant(&self) -> &Merchant {
        &self.merchant
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Create (or re-enter, with identical parameters) a Native order.
    pub async fn unified_order(&self, order: &UnifiedOrder) -> Result<UnifiedOrderResult, WxError> {
        order.validate(order.time_start)?;
        let fields = self
            .call(
                "/pay/unifiedorder",
                || order.params(&self.merchant),
                self.config.retry,
            )
            .await?;
        UnifiedOrderResult::from_params(fields)
    }

    /// Ask for an order's state, with the configured retries.
    pub async fn order_query(&self, out_trade_no: &str) -> Result<QueryResult, WxError> {
        self.order_query_with(out_trade_no, self.config.retry).await
    }

    /// Ask for an order's state with an explicit retry policy (pollers retry by polling again).
    pub async fn order_query_with(
        &self,
        out_trade_no: &str,
        retry: RetryPolicy,
    ) -> Result<QueryResult, WxError> {
        let fields = self
            .call(
                "/pay/orderquery",
                || api::query_params(&self.merchant, out_trade_no),
                retry,
            )
            .await?;
        QueryResult::from_params(fields, out_trade_no)
    }

    /// Close an order. `ORDERCLOSED` counts as success; `ORDERPAID` comes back as an error whose action is
    /// [`Action::TreatAsPaid`].
    pub async fn close_order(&self, out_trade_no: &str) -> Result<(), WxError> {
        match self
            .call(
                "/pay/closeorder",
                || api::close_params(&self.merchant, out_trade_no),
                self.config.retry,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.err_code() == Some("ORDERCLOSED") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Ask for a refund of `req` on `/secapi/pay/refund`, presenting the merchant certificate. Retried (same
    /// `out_refund_no`, same fields) on transport errors and SYSTEMERROR, as the reference requires. A
    /// SUCCESS answer means accepted: the outcome comes from [`WxClient::refund_query_by_refund_no`] or
    /// the refund notification.
    pub async fn refund(&self, req: &Refund) -> Result<RefundAccepted, WxError> {
        req.validate()?;
        let http = self.secapi.as_ref().ok_or(WxError::NoClientCertificate)?;
        let fields = self
            .call_on(
                http,
                "/secapi/pay/refund",
                || req.params(&self.merchant),
                self.config.retry,
                as_refund_error,
            )
            .await?;
        RefundAccepted::from_params(fields, req)
    }

    /// The refunds of the order that `out_refund_no` belongs to (that refund is among them).
    pub async fn refund_query_by_refund_no(
        &self,
        out_refund_no: &str,
    ) -> Result<RefundQueryResult, WxError> {
        self.refund_query(RefundQueryKey::OutRefundNo(out_refund_no))
            .await
    }

    /// The refunds of an order (the first page of 10 at most for orders with many refunds).
    pub async fn refund_query_by_trade_no(
        &self,
        out_trade_no: &str,
    ) -> Result<RefundQueryResult, WxError> {
        self.refund_query(RefundQueryKey::OutTradeNo(out_trade_no))
            .await
    }

    async fn refund_query(&self, key: RefundQueryKey<'_>) -> Result<RefundQueryResult, WxError> {
        let fields = self
            .call_on(
                &self.http,
                "/pay/refundquery",
                || refund_query_params(&self.merchant, key),
                self.config.retry,
                as_refund_error,
            )
            .await?;
        RefundQueryResult::from_params(fields, key)
    }

    /// POST a signed request to `path`, verify the answer, retry what may be retried.
    /// `build` makes the unsigned fields; it is called for every attempt so each gets a fresh nonce while every
    /// business field stays identical.
    pub async fn call(
        &self,
        path: &str,
        build: impl Fn() -> Params,
        retry: RetryPolicy,
    ) -> Result<Params, WxError> {
        self.call_on(&self.http, path, build, retry, |e| e).await
    }

    /// [`WxClient::call`] with a given HTTP client, and `refine` applied to every error before it is judged
    /// (refunds read business codes their own way).
    async fn call_on(
        &self,
        http: &reqwest::Client,
        path: &str,
        build: impl Fn() -> Params,
        retry: RetryPolicy,
        refine: fn(WxError) -> WxError,
    ) -> Result<Params, WxError> {
        self.call_reading(http, path, build, retry, refine, xml::MAX_BODY, |bytes| {
            envelope::open_response(bytes, &self.merchant)
        })
        .await
    }

    /// Download the trade bill of a Beijing-time day (reference §8). Retried like the other idempotent
    /// calls on transport errors. `No Bill Exist` is an answer ([`BillAnswer::NoBill`]), not an error; a
    /// bill not generated yet is [`bill::BillError::NotReady`]. The bill is not signed (only XML messages are):
    /// it is as trustworthy as the TLS connection it came on.
    pub async fn download_bill(&self, req: &BillRequest) -> Result<BillAnswer, WxError> {
        self.call_reading(
            &self.http,
            "/pay/downloadbill",
            || req.params(&self.merchant),
            self.config.retry,
            |e| e,
            bill::MAX_BILL,
            |bytes| Ok(bill::read_answer(bytes)?),
        )
        .await
    }

    /// POST signed requests to `path` until one is answered or retrying is pointless; `read` turns the
    /// body (at most `limit` bytes) into the answer.
    #[allow(clippy::too_many_arguments)]
    async fn call_reading<T>(
        &self,
        http: &reqwest::Client,
        path: &str,
        build: impl Fn() -> Params,
        retry: RetryPolicy,
        refine: fn(WxError) -> WxError,
        limit: usize,
        read: impl Fn(&[u8]) -> Result<T, WxError>,
    ) -> Result<T, WxError> {
        let mut attempt = 1;
        loop {
            let base = self.pick_base();
            let body = self.merchant.request_body(build())?;
            let result = match self.post_once(http, &base, path, body, limit).await {
                Ok(bytes) => read(&bytes),
                Err(e) => Err(e),
            };
            let err = match result {
                Ok(fields) => return Ok(fields),
                Err(e) => refine(e),
            };
            tracing::warn!(path, base = %base, attempt, error = %err, "gateway call failed");
            let switched = err.is_connectivity() && self.note_connectivity_failure(&base);
            if err.action() != Action::RetrySame || attempt >= retry.attempts.max(1) {
                return Err(err);
            }
            attempt += 1;
            // A request that never left can go to the backup at once; anything else waits.
            if !(switched && err.not_delivered()) {
                tokio::time::sleep(retry.delay(attempt)).await;
            }
        }
    }

    async fn post_once(
        &self,
        http: &reqwest::Client,
        base: &str,
        path: &str,
        body: String,
        limit: usize,
    ) -> Result<Vec<u8>, WxError> {
        let url = format!("{base}{path}");
        let resp = http
            .post(&url)
            .header("Content-Type", "text/xml; charset=utf-8")
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status();
        if status == reqwest::StatusCode::BAD_REQUEST && path.starts_with("/secapi/") {
            // The gateway's front end refusing the TLS client certificate (an nginx page, not XML).
            let text = resp.text().await.unwrap_or_default();
            if text.contains("SSL certificate") {
                return Err(WxError::Protocol {
                    msg: format!(
                        "HTTP 400 from {url}: the gateway did not accept the merchant API certificate (No required SSL certificate was sent)"
                    ),
                });
            }
            return Err(WxError::Transport {
                kind: TransportKind::HttpStatus(400),
                detail: format!("HTTP {status} from {url}"),
            });
        }
        if status != reqwest::StatusCode::OK {
            return Err(WxError::Transport {
                kind: TransportKind::HttpStatus(status.as_u16()),
                detail: format!("HTTP {status} from {url}"),
            });
        }
        read_limited(resp, limit).await
    }

    /// The base URL for the next call; after the failback period the primary is tried again.
    fn pick_base(&self) -> String {
        {
            let mut f = self.failover.lock().expect("failover lock");
            if f.primary_down_since
                .is_some_and(|since| since.elapsed() >= self.config.failback_after)
            {
                tracing::info!("trying the primary gateway again");
                f.primary_down_since = None;
            }
        }
        self.current_base()
    }

    /// Returns whether traffic now moves to the other domain.
    fn note_connectivity_failure(&self, base: &str) -> bool {
        let Some(backup) = &self.config.backup else {
            return false;
        };
        let mut f = self.failover.lock().expect("failover lock");
        if base == self.config.primary {
            tracing::warn!(backup = %backup, "primary gateway unreachable, switching to backup");
            f.primary_down_since = Some(Instant::now());
            true
        } else {
            // The backup failed too: go back to the primary for the next attempt.
            f.primary_down_since = None;
            true
        }
    }

    /// Which base URL the next call goes to (for status displays and tests).
    pub fn current_base(&self) -> String {
        let Some(backup) = &self.config.backup else {
            return self.config.primary.clone();
        };
        let f = self.failover.lock().expect("failover lock");
        match f.primary_down_since {
            Some(since) if since.elapsed() < self.config.failback_after => backup.clone(),
            _ => self.config.primary.clone(),
        }
    }
}

/// Business failures of refund calls carry refund meanings (see `error.rs`).
fn as_refund_error(e: WxError) -> WxError {
    match e {
        WxError::Business { code, des } => WxError::Refund { code, des },
        other => other,
    }
}

fn transport(e: reqwest::Error) -> WxError {
    let kind = if e.is_connect() {
        TransportKind::Connect
    } else if e.is_timeout() {
        TransportKind::Timeout
    } else {
        TransportKind::Other
    };
    // reqwest's Display hides the cause; walk the chain for a useful message.
    let mut detail = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        src = s.source();
    }
    WxError::Transport { kind, detail }
}

async fn read_limited(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, WxError> {
    if let Some(len) = resp.content_length()
        && len as usize > limit
    {
        return Err(xml::XmlError::TooLarge {
            len: len as usize,
            limit,
        }
        .into());
    }
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(transport)? {
        buf.extend_from_slice(&chunk);
        if buf.len() > limit {
            return Err(xml::XmlError::TooLarge {
                len: buf.len(),
                limit,
            }
            .into());
        }
    }
    Ok(buf)
}
