//! Typed messages of Native scan-to-pay: unifiedorder, orderquery, closeorder and the payment notification.
//!
//! Pure logic: typed requests become the fields of each call, and received fields that the envelope
//! ([`super::envelope`]) has checked in the protocol's order (return_code → sign → appid/mch_id → result_code)
//! become types. Nothing unverified is handed upward. The raw fields stay attached to every typed response.

use chrono::{DateTime, Utc};

use super::envelope::{self, Merchant};
use super::error::WxError;
use super::sign::{self, Params, SignType};

// The synchronous-answer check and the notification listener's replies live with the envelope; these are
// their names from the caller's side.
pub use super::envelope::{
    SUCCESS_REPLY as NOTIFY_SUCCESS, check_response, fail_reply as notify_fail,
};
use crate::clock::{format_wx, parse_wx};
use crate::money::Fen;

/// The common head of every request: appid, mch_id, nonce_str.
fn base(merchant: &Merchant) -> Params {
    let mut p = Params::new();
    p.insert("appid".into(), merchant.appid.clone());
    p.insert("mch_id".into(), merchant.mch_id.clone());
    p.insert("nonce_str".into(), sign::nonce());
    p
}

/// The shortest payment window WeChat accepts for Native (reference §3.4).
pub const MIN_WINDOW: chrono::Duration = chrono::Duration::minutes(5);

/// A Native unifiedorder. Every field is fixed when the order is created and stored, so a retry sends the
/// same values (only the nonce changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnifiedOrder {
    pub out_trade_no: String,
    pub body: String,
    pub total_fee: Fen,
    pub spbill_create_ip: String,
    pub notify_url: String,
    pub product_id: String,
    pub device_info: Option<String>,
    pub time_start: DateTime<Utc>,
    pub time_expire: DateTime<Utc>,
}

/// `[0-9A-Za-z_-]{6,32}`
pub fn valid_out_trade_no(s: &str) -> bool {
    (6..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Cut `s` to at most `max` UTF-8 bytes at a character boundary.
pub fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl UnifiedOrder {
    /// Check the request against the protocol's rules (reference §3.1, §11), with `now` for the expiry rule.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), WxError> {
        let bad = |m: String| Err(WxError::InvalidRequest(m));
        if !valid_out_trade_no(&self.out_trade_no) {
            return bad(format!(
                "out_trade_no {:?} must be 6-32 characters of [0-9A-Za-z_-]",
                self.out_trade_no
            ));
        }
        if self.body.is_empty() || self.body.len() > 127 {
            return bad(format!(
                "body must be 1-127 UTF-8 bytes, is {}",
                self.body.len()
            ));
        }
        if self.body.trim() != self.body {
            return bad("body must not start or end with spaces".into());
        }
        if self.total_fee.get() < 1 || self.total_fee > Fen::MAX {
            return bad(format!("total_fee must be 1..={} fen", Fen::MAX.get()));
        }
        if self.product_id.is_empty() || self.product_id.len() > 32 {
            return bad("product_id (required for NATIVE) must be 1-32 characters".into());
        }
        if self.notify_url.is_empty()
            || self.notify_url.len() > 256
            || self.notify_url.contains('?')
        {
            return bad(
                "notify_url must be an absolute URL of at most 256 characters without a query"
                    .into(),
            );
        }
        if self.spbill_create_ip.is_empty() || self.spbill_create_ip.len() > 64 {
            return bad("spbill_create_ip must be set".into());
        }
        if let Some(d) = &self.device_info
            && d.len() > 32
        {
            return bad("device_info must be at most 32 characters".into());
        }
        if self.time_expire - now < MIN_WINDOW {
            return bad(format!(
                "time_expire {} is less than 5 minutes after now {}",
                format_wx(self.time_expire),
                format_wx(now)
            ));
        }
        Ok(())
    }

    /// The unsigned request fields.
    pub fn params(&self, merchant: &Merchant) -> Params {
        let mut p = base(merchant);
        p.insert("body".into(), self.body.clone());
        p.insert("out_trade_no".into(), self.out_trade_no.clone());
        p.insert("fee_type".into(), "CNY".into());
        p.insert("total_fee".into(), self.total_fee.get().to_string());
        p.insert("spbill_create_ip".into(), self.spbill_create_ip.clone());
        p.insert("notify_url".into(), self.notify_url.clone());
        p.insert("trade_type".into(), "NATIVE".into());
        p.insert("product_id".into(), self.product_id.clone());
        p.insert("time_start".into(), format_wx(self.time_start));
        p.insert("time_expire".into(), format_wx(self.time_expire));
        if let Some(d) = &self.device_info {
            p.insert("device_info".into(), d.clone());
        }
        p
    }
}

/// A successful unifiedorder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnifiedOrderResult {
    pub prepay_id: String,
    /// Encode exactly this string into the QR code.
    pub code_url: String,
    pub raw: Params,
}

impl UnifiedOrderResult {
    pub fn from_params(p: Params) -> Result<Self, WxError> {
        Ok(UnifiedOrderResult {
            prepay_id: p.get("prepay_id").cloned().unwrap_or_default(),
            code_url: p
                .get("code_url")
                .filter(|s| !s.is_empty())
                .cloned()
                .ok_or(WxError::MissingField("code_url"))?,
            raw: p,
        })
    }
}

/// `trade_state` of orderquery (reference §4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TradeState {
    Success,
    Refund,
    NotPay,
    Closed,
    Revoked,
    UserPaying,
    PayError,
    Accept,
    Unknown(String),
}

impl TradeState {
    pub fn parse(s: &str) -> TradeState {
        match s {
            "SUCCESS" => TradeState::Success,
            "REFUND" => TradeState::Refund,
            "NOTPAY" => TradeState::NotPay,
            "CLOSED" => TradeState::Closed,
            "REVOKED" => TradeState::Revoked,
            "USERPAYING" => TradeState::UserPaying,
            "PAYERROR" => TradeState::PayError,
            "ACCEPT" => TradeState::Accept,
            other => TradeState::Unknown(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            TradeState::Success => "SUCCESS",
            TradeState::Refund => "REFUND",
            TradeState::NotPay => "NOTPAY",
            TradeState::Closed => "CLOSED",
            TradeState::Revoked => "REVOKED",
            TradeState::UserPaying => "USERPAYING",
            TradeState::PayError => "PAYERROR",
            TradeState::Accept => "ACCEPT",
            TradeState::Unknown(s) => s,
        }
    }

    /// Final states never change again. Unknown values are treated as not final.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            TradeState::Success
                | TradeState::Refund
                | TradeState::Closed
                | TradeState::Revoked
                | TradeState::PayError
        )
    }

    /// The money was taken (a refund may have started since).
    pub fn is_paid(&self) -> bool {
        matches!(self, TradeState::Success | TradeState::Refund)
    }
}

/// Payment facts common to a SUCCESS query and a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub transaction_id: String,
    pub total_fee: Fen,
    pub cash_fee: Option<Fen>,
    pub time_end: Option<DateTime<Utc>>,
    pub bank_type: Option<String>,
    pub openid: Option<String>,
}

impl Payment {
    fn from_params(p: &Params) -> Result<Payment, WxError> {
        let fee =
            |name: &'static str| -> Result<Option<Fen>, WxError> {
                match p.get(name).filter(|s| !s.is_empty()) {
                    None => Ok(None),
                    Some(v) => v.parse::<i64>().ok().and_then(Fen::new).map(Some).ok_or(
                        WxError::Mismatch {
                            field: name,
                            expected: "an amount in fen".into(),
                            got: v.clone(),
                        },
                    ),
                }
            };
        let opt = |name: &str| p.get(name).filter(|s| !s.is_empty()).cloned();
        Ok(Payment {
            transaction_id: opt("transaction_id").ok_or(WxError::MissingField("transaction_id"))?,
            total_fee: fee("total_fee")?.ok_or(WxError::MissingField("total_fee"))?,
            cash_fee: fee("cash_fee")?,
            time_end: p.get("time_end").and_then(|s| parse_wx(s)),
            bank_type: opt("bank_type"),
            openid: opt("openid"),
        })
    }
}

/// A verified orderquery answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryResult {
    pub out_trade_no: String,
    pub trade_state: TradeState,
    pub trade_state_desc: Option<String>,
    /// Present when the state is SUCCESS or REFUND.
    pub payment: Option<Payment>,
    pub raw: Params,
}

impl QueryResult {
    /// Build from verified fields; `out_trade_no` is the number that was asked about.
    pub fn from_params(p: Params, out_trade_no: &str) -> Result<Self, WxError> {
        if let Some(got) = p.get("out_trade_no").filter(|s| !s.is_empty())
            && got != out_trade_no
        {
            return Err(WxError::Mismatch {
                field: "out_trade_no",
                expected: out_trade_no.into(),
                got: got.clone(),
            });
        }
        let trade_state = TradeState::parse(
            p.get("trade_state")
                .ok_or(WxError::MissingField("trade_state"))?,
        );
        let payment = if trade_state.is_paid() {
            Some(Payment::from_params(&p)?)
        } else {
            None
        };
        Ok(QueryResult {
            out_trade_no: out_trade_no.to_string(),
            trade_state,
            trade_state_desc: p.get("trade_state_desc").cloned(),
            payment,
            raw: p,
        })
    }
}

/// The fields of an orderquery by `out_trade_no`.
pub fn query_params(merchant: &Merchant, out_trade_no: &str) -> Params {
    let mut p = base(merchant);
    p.insert("out_trade_no".into(), out_trade_no.into());
    p
}

/// The fields of a closeorder.
pub fn close_params(merchant: &Merchant, out_trade_no: &str) -> Params {
    query_params(merchant, out_trade_no)
}

/// A verified payment notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub out_trade_no: String,
    pub payment: Payment,
    pub sign_type: SignType,
    pub raw: Params,
}

impl Notification {
    /// Parse and verify a notification body: XML safety, signature over all fields (algorithm by its length,
    /// as notifies may omit `sign_type`), appid, mch_id, and both codes SUCCESS. The amount is checked by
    /// the caller against its own order.
    pub fn parse(body: &[u8], merchant: &Merchant) -> Result<Notification, WxError> {
        let (p, sign_type) = envelope::open_notification(body, merchant)?;
        let out_trade_no = p
            .get("out_trade_no")
            .filter(|s| !s.is_empty())
            .cloned()
            .ok_or(WxError::MissingField("out_trade_no"))?;
        if let Some(ft) = p.get("fee_type").filter(|s| !s.is_empty())
            && ft != "CNY"
        {
            return Err(WxError::Mismatch {
                field: "fee_type",
                expected: "CNY".into(),
                got: ft.clone(),
            });
        }
        let payment = Payment::from_params(&p)?;
        Ok(Notification {
            out_trade_no,
            payment,
            sign_type,
            raw: p,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate_bytes("中文字", 7), "中文");
        assert_eq!(truncate_bytes("abc", 7), "abc");
    }

    #[test]
    fn out_trade_no_rule() {
        assert!(valid_out_trade_no("20240520123000POS001A"));
        assert!(valid_out_trade_no("a_b-c1"));
        assert!(!valid_out_trade_no("short"));
        assert!(!valid_out_trade_no("has space 123"));
        assert!(!valid_out_trade_no(&"x".repeat(33)));
        assert!(!valid_out_trade_no("订单号123456"));
    }

    #[test]
    fn trade_states() {
        for s in ["SUCCESS", "REFUND", "CLOSED", "REVOKED", "PAYERROR"] {
            assert!(TradeState::parse(s).is_final(), "{s}");
        }
        for s in ["NOTPAY", "USERPAYING", "ACCEPT", "SOMETHING"] {
            assert!(!TradeState::parse(s).is_final(), "{s}");
        }
        assert_eq!(TradeState::parse("X").as_str(), "X");
    }
}
