//! The simulated customer's vocabulary ([`CustomerAction`], [`SandboxError`]) and the client of the customer
//! endpoint of a sandbox running elsewhere ([`remote_customer`], for `paydesk sandbox pay`). The endpoint
//! itself and the web page are in `page.rs`; what an action does to an order is in `store.rs`.

use std::time::Duration;

use super::page::{CUSTOMER_PATH, STATE_HEADER};

/// What the simulated customer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerAction {
    /// Scan the QR code: NOTPAY → USERPAYING (binds the payer).
    Scan,
    /// Pay: → SUCCESS, and the notification starts.
    Pay,
    /// The payment fails (bank refused…): → PAYERROR.
    Fail,
}

impl CustomerAction {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerAction::Scan => "scan",
            CustomerAction::Pay => "pay",
            CustomerAction::Fail => "fail",
        }
    }

    pub fn parse(s: &str) -> Option<CustomerAction> {
        match s.trim().to_ascii_lowercase().as_str() {
            "scan" => Some(CustomerAction::Scan),
            "pay" => Some(CustomerAction::Pay),
            "fail" => Some(CustomerAction::Fail),
            _ => None,
        }
    }
}

/// Why the simulated customer (or `paydesk sandbox pay`) could not act.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    #[error("no order {0:?} in the sandbox (give its code_url or out_trade_no)")]
    UnknownOrder(String),
    #[error("order {0} is past its time_expire and can no longer be paid")]
    Expired(String),
    #[error("order {out_trade_no} is {state} and can no longer be paid")]
    NotPayable { out_trade_no: String, state: String },
    #[error("unknown customer action {0:?} (use pay, fail or scan)")]
    BadAction(String),
    #[error("the sandbox at {url} is not reachable ({detail}); start it with `paydesk sandbox`")]
    NotRunning { url: String, detail: String },
    #[error("the sandbox answered HTTP {status}: {body}")]
    Http { status: u16, body: String },
}

impl SandboxError {
    /// The HTTP status the customer endpoint answers with.
    pub(crate) fn status(&self) -> u16 {
        match self {
            SandboxError::UnknownOrder(_) => 404,
            SandboxError::Expired(_) => 410,
            SandboxError::NotPayable { .. } => 409,
            SandboxError::BadAction(_) => 400,
            SandboxError::NotRunning { .. } => 503,
            SandboxError::Http { status, .. } => *status,
        }
    }
}

/// Play the customer against a running sandbox over HTTP (`paydesk sandbox pay`). Returns the sandbox's
/// one-line answer, e.g. `order X: SUCCESS`.
pub async fn remote_customer(
    base_url: &str,
    order: &str,
    action: CustomerAction,
) -> Result<String, SandboxError> {
    let base = base_url.trim_end_matches('/');
    let url = format!("{base}{}", CUSTOMER_PATH);
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| SandboxError::NotRunning {
            url: base.to_string(),
            detail: e.to_string(),
        })?;
    let resp = http
        .post(&url)
        .form(&[("order", order), ("action", action.as_str())])
        .send()
        .await
        .map_err(|e| SandboxError::NotRunning {
            url: base.to_string(),
            detail: if e.is_connect() {
                "connection refused".to_string()
            } else {
                e.to_string()
            },
        })?;
    let status = resp.status().as_u16();
    let state = resp
        .headers()
        .get(STATE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = resp.text().await.unwrap_or_default().trim().to_string();
    match status {
        200 => Ok(body),
        404 => Err(SandboxError::UnknownOrder(order.to_string())),
        410 => Err(SandboxError::Expired(order.to_string())),
        409 => Err(SandboxError::NotPayable {
            out_trade_no: order.to_string(),
            state,
        }),
        _ => Err(SandboxError::Http { status, body }),
    }
}
