//! One error type for every v2 call, and what the caller should do about it.
//!
//! Three layers fail differently (reference §1, §3.3): the transport (the outcome is unknown), the protocol
//! (`return_code=FAIL`: the request was refused before any business processing) and the business
//! (`result_code=FAIL` with an `err_code`). [`WxError::action`] turns each into the one thing to do next.
//!
//! Refunds (`/secapi/pay/refund`, `/pay/refundquery`) share some `err_code`s with the order calls but not
//! their meaning (ORDERNOTEXIST is "start a new sale" for an order, "nothing to refund" for a refund), so
//! their business failures are a variant of their own, [`WxError::Refund`], with its own actions
//! (reference §7.1, §7.2). A retry of a refund always reuses its `out_refund_no`: a new number risks a double
//! refund (§14.22).

use super::bill::BillError;
use super::sign::SignError;
use super::xml::XmlError;

/// What the caller should do after an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The outcome is unknown or the gateway was busy: send the same request again, byte-identical
    /// parameters (a new nonce is fine).
    RetrySame,
    /// Ask the gateway (orderquery) what happened before doing anything else.
    Query,
    /// The order is already paid: confirm with orderquery and record it as paid.
    TreatAsPaid,
    /// This `out_trade_no` is burnt (closed, or never created): a new sale needs a new number.
    NewOutTradeNo,
    /// The merchant configuration is wrong (key, appid, mch_id, permissions, clock): a person must fix it.
    FixConfig,
    /// PayDesk built a request the gateway refuses: a bug, not something a retry fixes.
    FixRequest,
    /// Refunds: too many requests for now (one minute between refunds of one order): send the same refund
    /// (same `out_refund_no`) again after a minute.
    RetryLater,
    /// Refunds: the merchant's available balance is too low. A person tops it up (or waits for the day's
    /// settlement), then the same refund is sent again.
    TopUpBalance,
    /// Refunds: this refund cannot go through WeChat Pay (the customer's account is closed, the order is
    /// over a year old…): give the money back another way.
    RefundOtherwise,
    /// Refunds: the order is fully refunded already; nothing is left to refund.
    FullyRefunded,
    /// Refunds: the order is unknown to the gateway or was never paid: there is nothing to refund.
    NotRefundable,
}

/// How a transport failure happened. Connect-phase failures are known not to have reached the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The connection could not be made (refused, DNS, TLS): the request was not delivered.
    Connect,
    /// No (complete) answer in time: the request may or may not have been processed.
    Timeout,
    /// HTTP status other than 200.
    HttpStatus(u16),
    /// Anything else on the wire (reset mid-body, …).
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WxError {
    #[error("network error talking to WeChat Pay ({kind:?}): {detail}")]
    Transport { kind: TransportKind, detail: String },
    #[error("WeChat Pay refused the request: {msg}")]
    Protocol { msg: String },
    #[error("WeChat Pay: {code} ({des})")]
    Business { code: String, des: String },
    #[error("response signature invalid: {0}")]
    Signature(#[from] SignError),
    #[error("unreadable body: {0}")]
    Xml(#[from] XmlError),
    #[error("response field {field} is {got:?}, expected {expected:?}")]
    Mismatch {
        field: &'static str,
        expected: String,
        got: String,
    },
    #[error("response lacks field {0}")]
    MissingField(&'static str),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A refund or refundquery refused with `result_code=FAIL` (see the module doc).
    #[error("WeChat Pay refused the refund: {code} ({des})")]
    Refund { code: String, des: String },
    /// A call on `/secapi/*` with no merchant API certificate configured: nothing was sent.
    #[error(
        "refunds need the merchant API certificate (apiclient_cert.p12, or apiclient_cert.pem + apiclient_key.pem): set `cert` (and `cert_key` for PEM) in [merchant]; nothing was sent"
    )]
    NoClientCertificate,
    /// downloadbill: no bill could be had, or it did not read (see [`BillError`]).
    #[error("trade bill: {0}")]
    Bill(#[from] BillError),
}

impl WxError {
    /// The one thing to do next.
    pub fn action(&self) -> Action {
        match self {
            WxError::Transport { .. } => Action::RetrySame,
            // Something that does not verify may be an attack or a broken proxy: trust nothing it says,
            // find out the truth by querying.
            WxError::Signature(_)
            | WxError::Xml(_)
            | WxError::Mismatch { .. }
            | WxError::MissingField(_) => Action::Query,
            WxError::Protocol { msg } => protocol_action(msg),
            WxError::Business { code, .. } => business_action(code),
            WxError::InvalidRequest(_) => Action::FixRequest,
            WxError::Refund { code, des } => refund_action(code, des),
            WxError::NoClientCertificate => Action::FixConfig,
            WxError::Bill(e) => bill_action(e),
        }
    }

    /// The `err_code` of a business failure.
    pub fn err_code(&self) -> Option<&str> {
        match self {
            WxError::Business { code, .. } | WxError::Refund { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True when the request is known not to have reached the gateway (safe to send elsewhere at once).
    pub fn not_delivered(&self) -> bool {
        matches!(
            self,
            WxError::Transport {
                kind: TransportKind::Connect,
                ..
            }
        )
    }

    /// Whether a failover to the backup domain is warranted (connection errors and timeouts only).
    pub fn is_connectivity(&self) -> bool {
        matches!(
            self,
            WxError::Transport {
                kind: TransportKind::Connect | TransportKind::Timeout,
                ..
            }
        )
    }

    /// A sentence a cashier or manager can act on.
    pub fn advice(&self) -> String {
        if let WxError::Bill(e) = self {
            return match e {
                BillError::NotReady(_) => format!("{self}."),
                BillError::Refused { .. } => format!(
                    "{self}. Check the merchant settings (`paydesk config check`) and the bill date (the last 3 months only)."
                ),
                _ => format!(
                    "{self}. Download the bill again; if it stays unreadable, compare it on the merchant platform."
                ),
            };
        }
        match self.action() {
            Action::RetrySame if matches!(self, WxError::Refund { .. }) => format!(
                "{self}. PayDesk retries with the same refund number (never a new one: that could refund twice)."
            ),
            Action::RetrySame => format!("{self}. PayDesk retries with the same order number."),
            Action::Query => {
                format!("{self}. PayDesk checks the order's real state with WeChat Pay.")
            }
            Action::TreatAsPaid => "This order is already paid.".to_string(),
            Action::NewOutTradeNo => format!("{self}. Start a new sale."),
            Action::FixConfig => format!(
                "{self}. Fix the configuration (`paydesk config check`): the merchant settings (appid, mch_id, \
                 the 32-character API v2 key, sign type, client_ip, Native permission), store.name (the order's \
                 body, at most 127 bytes), notify.url, and the computer's clock."
            ),
            Action::FixRequest => format!("{self}. This is a PayDesk bug: please report it."),
            Action::RetryLater => format!(
                "{self}. Refunds of one order must be at least a minute apart: PayDesk sends the same refund again in a minute."
            ),
            Action::TopUpBalance => format!(
                "{self}. The merchant account's available balance is too low for this refund: top it up on the merchant platform (or wait for today's settlement), then retry — the same refund number is reused."
            ),
            Action::RefundOtherwise => format!(
                "{self}. WeChat Pay cannot refund this one: give the money back another way (cash, bank transfer)."
            ),
            Action::FullyRefunded => {
                format!("{self}. This order is fully refunded already; nothing is left to refund.")
            }
            Action::NotRefundable => format!(
                "{self}. WeChat Pay knows no paid order under this number: there is nothing to refund."
            ),
        }
    }
}

fn protocol_action(msg: &str) -> Action {
    // return_code=FAIL: the request never reached business processing. Signature and parameter problems are
    // configuration (key, clock) or request bugs; a retry does not help. System-busy texts are the exception.
    if msg.contains("系统繁忙") || msg.contains("SYSTEMERROR") || msg.contains("系统错误") {
        Action::RetrySame
    } else if msg.contains("签名")
        || msg.contains("time_expire")
        // Values that come from the configuration: the shop's name (body), this till's IP, the notify URL.
        || msg.contains("body")
        || msg.contains("spbill_create_ip")
        || msg.contains("notify_url")
        || msg.contains("appid")
        || msg.contains("mch_id")
        || msg.contains("商户号")
        || msg.contains("certificate")
        || msg.contains("证书")
    {
        Action::FixConfig
    } else {
        Action::FixRequest
    }
}

/// What to do when no bill could be had: wait for one not ready yet; fix the settings the gateway refused;
/// fetch again one that did not read (the transfer may have broken it).
fn bill_action(e: &BillError) -> Action {
    match e {
        BillError::NotReady(_) => Action::RetryLater,
        BillError::Refused { msg, .. } if msg.contains("SIGN") || msg.contains("权限") => {
            Action::FixConfig
        }
        BillError::Refused { .. } => Action::FixRequest,
        _ => Action::RetrySame,
    }
}

fn business_action(code: &str) -> Action {
    match code {
        "SYSTEMERROR" | "BIZERR_NEED_RETRY" => Action::RetrySame,
        "ORDERPAID" => Action::TreatAsPaid,
        "ORDERCLOSED" | "ORDERNOTEXIST" => Action::NewOutTradeNo,
        "OUT_TRADE_NO_USED" => Action::Query,
        "NOAUTH"
        | "APPID_NOT_EXIST"
        | "MCHID_NOT_EXIST"
        | "APPID_MCHID_NOT_MATCH"
        | "SIGNERROR" => Action::FixConfig,
        "INVALID_REQUEST"
        | "LACK_PARAMS"
        | "PARAM_ERROR"
        | "XML_FORMAT_ERROR"
        | "REQUIRE_POST_METHOD"
        | "POST_DATA_EMPTY"
        | "NOT_UTF8" => Action::FixRequest,
        // Unknown codes: find out the real state rather than guess.
        _ => Action::Query,
    }
}

/// What to do after a refund or refundquery failure (reference §7.1, §7.2).
fn refund_action(code: &str, des: &str) -> Action {
    match code {
        // Temporary: the same out_refund_no and the same parameters.
        "SYSTEMERROR" | "BIZERR_NEED_RETRY" => Action::RetrySame,
        "FREQUENCY_LIMITED" | "INVALID_REQ_TOO_MUCH" => Action::RetryLater,
        "NOTENOUGH" => Action::TopUpBalance,
        "USER_ACCOUNT_ABNORMAL" | "TRADE_OVERDUE" => Action::RefundOtherwise,
        "ORDERNOTEXIST" => Action::NotRefundable,
        // "Business error, read the message": the one message with a known meaning is the fully refunded
        // order; an amount over what is left is answered by asking what is left.
        "ERROR" if des.contains("全额退款") => Action::FullyRefunded,
        "ERROR" if des.contains("退款金额") => Action::Query,
        "ERROR" => Action::RefundOtherwise,
        // refundquery: no refund under this number reached the gateway, so it was never made; asking again
        // is the way to find out, and sending it again (same number) is safe.
        "REFUNDNOTEXIST" => Action::Query,
        "NOAUTH"
        | "APPID_NOT_EXIST"
        | "MCHID_NOT_EXIST"
        | "APPID_MCHID_NOT_MATCH"
        | "SIGNERROR" => Action::FixConfig,
        "INVALID_TRANSACTIONID"
        | "INVALID_REQUEST"
        | "PARAM_ERROR"
        | "LACK_PARAMS"
        | "XML_FORMAT_ERROR"
        | "REQUIRE_POST_METHOD"
        | "POST_DATA_EMPTY"
        | "NOT_UTF8" => Action::FixRequest,
        _ => Action::Query,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn biz(code: &str) -> WxError {
        WxError::Business {
            code: code.into(),
            des: String::new(),
        }
    }

    #[test]
    fn failures_caused_by_the_configuration_advise_fixing_it() {
        for msg in [
            "invalid spbill_create_ip",
            "body参数长度有误",
            "notify_url参数格式错误",
        ] {
            let e = WxError::Protocol { msg: msg.into() };
            assert_eq!(e.action(), Action::FixConfig, "{msg}");
            let advice = e.advice();
            assert!(advice.contains("Fix the configuration"), "{advice}");
            assert!(!advice.contains("bug"), "{advice}");
        }
    }

    #[test]
    fn each_failure_says_what_to_do() {
        assert_eq!(biz("SYSTEMERROR").action(), Action::RetrySame);
        assert_eq!(biz("ORDERPAID").action(), Action::TreatAsPaid);
        assert_eq!(biz("ORDERCLOSED").action(), Action::NewOutTradeNo);
        assert_eq!(biz("OUT_TRADE_NO_USED").action(), Action::Query);
        assert_eq!(biz("NOAUTH").action(), Action::FixConfig);
        assert_eq!(biz("INVALID_REQUEST").action(), Action::FixRequest);
        assert_eq!(biz("SOMETHING_NEW").action(), Action::Query);
        assert_eq!(
            WxError::Protocol {
                msg: "签名错误".into()
            }
            .action(),
            Action::FixConfig
        );
        assert_eq!(
            WxError::Protocol {
                msg: "time_expire时间过短，刷卡至少1分钟，其他5分钟".into()
            }
            .action(),
            Action::FixConfig
        );
        let t = WxError::Transport {
            kind: TransportKind::Timeout,
            detail: "read".into(),
        };
        assert_eq!(t.action(), Action::RetrySame);
        assert!(t.is_connectivity());
        assert!(!t.not_delivered());
        assert_eq!(
            WxError::Signature(SignError::Mismatch).action(),
            Action::Query
        );
    }

    #[test]
    fn each_refund_failure_says_what_to_do() {
        let refund = |code: &str, des: &str| WxError::Refund {
            code: code.into(),
            des: des.into(),
        };
        for (code, des, action) in [
            ("SYSTEMERROR", "", Action::RetrySame),
            ("BIZERR_NEED_RETRY", "", Action::RetrySame),
            ("FREQUENCY_LIMITED", "", Action::RetryLater),
            ("NOTENOUGH", "基本账户余额不足", Action::TopUpBalance),
            ("USER_ACCOUNT_ABNORMAL", "", Action::RefundOtherwise),
            ("TRADE_OVERDUE", "", Action::RefundOtherwise),
            ("ERROR", "订单已全额退款", Action::FullyRefunded),
            ("ERROR", "累计退款金额大于支付金额", Action::Query),
            ("ORDERNOTEXIST", "", Action::NotRefundable),
            ("INVALID_TRANSACTIONID", "", Action::FixRequest),
            ("PARAM_ERROR", "", Action::FixRequest),
            ("MCHID_NOT_EXIST", "", Action::FixConfig),
        ] {
            let e = refund(code, des);
            assert_eq!(e.action(), action, "{code} {des}");
            assert_eq!(e.err_code(), Some(code));
            assert!(!e.advice().is_empty());
        }
        // The order call's meaning of the same code is unchanged.
        assert_eq!(biz("ORDERNOTEXIST").action(), Action::NewOutTradeNo);
        assert!(refund("SYSTEMERROR", "").advice().contains("same"));
        assert_eq!(WxError::NoClientCertificate.action(), Action::FixConfig);
        assert!(
            WxError::NoClientCertificate
                .to_string()
                .contains("cert_key")
        );
    }
}
