//! Refunds (reference §7): the typed request of `/secapi/pay/refund` and its answer, refundquery and its
//! `$n`-indexed answer, and the refund notification (its `req_info` is AES-256-ECB encrypted with the
//! lowercase hex MD5 of the API key, §7.3; the notification carries no `sign`).
//!
//! Pure logic, like [`super::api`] (which re-exports these names): fields in, types out, every synchronous
//! answer checked by the envelope before it gets here. Not here: the client certificate and the HTTP call
//! (`client.rs`), what a refund means to the shop (the ledger), or the gateway's refund rules (the sandbox).

use aes::Aes256;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit, generic_array::GenericArray};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use md5::{Digest, Md5};

use super::envelope::Merchant;
use super::error::WxError;
use super::sign::{self, ApiKey, Params};
use crate::clock::parse_wx_datetime;
use crate::money::Fen;

/// `out_refund_no`: 1-64 characters of `[0-9A-Za-z_-|*@]` (reference §7.1).
pub fn valid_out_refund_no(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'|' | b'*' | b'@'))
}

/// One refund request. Every field is fixed when the refund is stored, before the request leaves, so a retry
/// sends the same values under the same `out_refund_no` (only the nonce changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub out_trade_no: String,
    pub out_refund_no: String,
    /// The order's total, as paid.
    pub total_fee: Fen,
    /// What this refund gives back.
    pub refund_fee: Fen,
    /// Shown to the customer (at most 80 UTF-8 bytes).
    pub refund_desc: Option<String>,
    /// Overrides the refund-notify URL configured on the merchant platform.
    pub notify_url: Option<String>,
}

impl Refund {
    /// Check the request against the protocol's rules before anything is sent.
    pub fn validate(&self) -> Result<(), WxError> {
        let bad = |m: String| Err(WxError::InvalidRequest(m));
        if !super::api::valid_out_trade_no(&self.out_trade_no) {
            return bad(format!(
                "out_trade_no {:?} must be 6-32 characters of [0-9A-Za-z_-]",
                self.out_trade_no
            ));
        }
        if !valid_out_refund_no(&self.out_refund_no) {
            return bad(format!(
                "out_refund_no {:?} must be 1-64 characters of [0-9A-Za-z_-|*@]",
                self.out_refund_no
            ));
        }
        if self.total_fee.get() < 1 || self.total_fee > Fen::MAX {
            return bad(format!("total_fee must be 1..={} fen", Fen::MAX.get()));
        }
        if self.refund_fee.get() < 1 || self.refund_fee > self.total_fee {
            return bad(format!(
                "refund_fee must be 1..={} fen (the order's total)",
                self.total_fee.get()
            ));
        }
        if let Some(d) = &self.refund_desc
            && (d.len() > 80 || d.trim() != d)
        {
            return bad("refund_desc must be at most 80 UTF-8 bytes, without outer spaces".into());
        }
        if let Some(u) = &self.notify_url
            && (u.len() > 256 || u.contains('?') || !u.starts_with("http"))
        {
            return bad("notify_url must be an absolute URL of at most 256 characters".into());
        }
        Ok(())
    }

    /// The unsigned request fields.
    pub fn params(&self, merchant: &Merchant) -> Params {
        let mut p = base(merchant);
        p.insert("out_trade_no".into(), self.out_trade_no.clone());
        p.insert("out_refund_no".into(), self.out_refund_no.clone());
        p.insert("total_fee".into(), self.total_fee.get().to_string());
        p.insert("refund_fee".into(), self.refund_fee.get().to_string());
        p.insert("refund_fee_type".into(), "CNY".into());
        if let Some(d) = &self.refund_desc {
            p.insert("refund_desc".into(), d.clone());
        }
        if let Some(u) = &self.notify_url {
            p.insert("notify_url".into(), u.clone());
        }
        p
    }
}

fn base(merchant: &Merchant) -> Params {
    let mut p = Params::new();
    p.insert("appid".into(), merchant.appid.clone());
    p.insert("mch_id".into(), merchant.mch_id.clone());
    p.insert("nonce_str".into(), sign::nonce());
    p
}

/// A refund the gateway accepted. Accepted is not refunded: the outcome comes from refundquery or the
/// refund notification (reference §7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundAccepted {
    pub out_refund_no: String,
    pub refund_id: String,
    pub refund_fee: Fen,
    pub total_fee: Fen,
    pub cash_refund_fee: Option<Fen>,
    pub raw: Params,
}

impl RefundAccepted {
    /// Build from verified fields of the answer to `req`; the answer must be about that refund.
    pub fn from_params(p: Params, req: &Refund) -> Result<Self, WxError> {
        for (field, want) in [
            ("out_refund_no", &req.out_refund_no),
            ("out_trade_no", &req.out_trade_no),
        ] {
            if let Some(got) = p.get(field).filter(|s| !s.is_empty())
                && got != want
            {
                return Err(WxError::Mismatch {
                    field,
                    expected: want.clone(),
                    got: got.clone(),
                });
            }
        }
        let refund_fee = fee(&p, "refund_fee")?.ok_or(WxError::MissingField("refund_fee"))?;
        if refund_fee != req.refund_fee {
            return Err(WxError::Mismatch {
                field: "refund_fee",
                expected: req.refund_fee.get().to_string(),
                got: refund_fee.get().to_string(),
            });
        }
        Ok(RefundAccepted {
            out_refund_no: req.out_refund_no.clone(),
            refund_id: text(&p, "refund_id").ok_or(WxError::MissingField("refund_id"))?,
            refund_fee,
            total_fee: fee(&p, "total_fee")?.unwrap_or(req.total_fee),
            cash_refund_fee: fee(&p, "cash_refund_fee")?,
            raw: p,
        })
    }
}

/// `refund_status` (reference §7.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RefundStatus {
    Processing,
    Success,
    /// The refund to the card failed: the merchant must give the money back another way.
    Change,
    RefundClose,
    Unknown(String),
}

impl RefundStatus {
    pub fn parse(s: &str) -> RefundStatus {
        match s {
            "PROCESSING" => RefundStatus::Processing,
            "SUCCESS" => RefundStatus::Success,
            "CHANGE" => RefundStatus::Change,
            "REFUNDCLOSE" => RefundStatus::RefundClose,
            other => RefundStatus::Unknown(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            RefundStatus::Processing => "PROCESSING",
            RefundStatus::Success => "SUCCESS",
            RefundStatus::Change => "CHANGE",
            RefundStatus::RefundClose => "REFUNDCLOSE",
            RefundStatus::Unknown(s) => s,
        }
    }

    /// SUCCESS, CHANGE and REFUNDCLOSE never change again; unknown values are treated as not final.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            RefundStatus::Success | RefundStatus::Change | RefundStatus::RefundClose
        )
    }
}

/// One refund of a refundquery answer (the `$n` fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    pub out_refund_no: String,
    pub refund_id: Option<String>,
    pub refund_fee: Fen,
    pub status: RefundStatus,
    pub success_time: Option<DateTime<Utc>>,
    /// Where the money went (`refund_recv_accout`, misspelt on the wire), e.g. 支付用户零钱.
    pub recv_account: Option<String>,
}

/// A verified refundquery answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundQueryResult {
    pub out_trade_no: String,
    pub transaction_id: String,
    pub total_fee: Fen,
    /// All refunds of the order (`total_refund_count`); only the ones on this page are in `refunds`.
    pub total_refund_count: Option<u32>,
    /// The refunds in this answer, in the gateway's order (`$n` = 0, 1, …).
    pub refunds: Vec<RefundRecord>,
    pub raw: Params,
}

/// How a refundquery names what it asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundQueryKey<'a> {
    OutRefundNo(&'a str),
    OutTradeNo(&'a str),
}

/// The fields of a refundquery.
pub fn refund_query_params(merchant: &Merchant, key: RefundQueryKey<'_>) -> Params {
    let mut p = base(merchant);
    match key {
        RefundQueryKey::OutRefundNo(n) => p.insert("out_refund_no".into(), n.into()),
        RefundQueryKey::OutTradeNo(n) => p.insert("out_trade_no".into(), n.into()),
    };
    p
}

/// Refunds on one refundquery page at most (reference §7.2).
const MAX_REFUNDS_PER_ANSWER: u32 = 50;

impl RefundQueryResult {
    /// Build from verified fields of the answer to a query by `key`.
    pub fn from_params(p: Params, key: RefundQueryKey<'_>) -> Result<Self, WxError> {
        let out_trade_no = text(&p, "out_trade_no").ok_or(WxError::MissingField("out_trade_no"))?;
        if let RefundQueryKey::OutTradeNo(asked) = key
            && asked != out_trade_no
        {
            return Err(WxError::Mismatch {
                field: "out_trade_no",
                expected: asked.into(),
                got: out_trade_no,
            });
        }
        let count = match text(&p, "refund_count") {
            None => return Err(WxError::MissingField("refund_count")),
            Some(c) => c
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= MAX_REFUNDS_PER_ANSWER)
                .ok_or(WxError::Mismatch {
                    field: "refund_count",
                    expected: format!("0..={MAX_REFUNDS_PER_ANSWER}"),
                    got: c,
                })?,
        };
        let mut refunds = Vec::with_capacity(count as usize);
        for n in 0..count {
            let name = |f: &str| format!("{f}_{n}");
            let missing = |f: &'static str| WxError::MissingField(f);
            let out_refund_no = p
                .get(&name("out_refund_no"))
                .filter(|s| !s.is_empty())
                .cloned()
                .ok_or(missing("out_refund_no_$n"))?;
            let refund_fee =
                indexed_fee(&p, &name("refund_fee"))?.ok_or(missing("refund_fee_$n"))?;
            let status = RefundStatus::parse(
                p.get(&name("refund_status"))
                    .ok_or(missing("refund_status_$n"))?,
            );
            refunds.push(RefundRecord {
                out_refund_no,
                refund_id: p.get(&name("refund_id")).filter(|s| !s.is_empty()).cloned(),
                refund_fee,
                status,
                success_time: p
                    .get(&name("refund_success_time"))
                    .and_then(|s| parse_wx_datetime(s)),
                recv_account: p
                    .get(&name("refund_recv_accout"))
                    .filter(|s| !s.is_empty())
                    .cloned(),
            });
        }
        if let RefundQueryKey::OutRefundNo(asked) = key
            && !refunds.iter().any(|r| r.out_refund_no == asked)
        {
            return Err(WxError::Mismatch {
                field: "out_refund_no_$n",
                expected: asked.into(),
                got: refunds
                    .iter()
                    .map(|r| r.out_refund_no.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            });
        }
        Ok(RefundQueryResult {
            out_trade_no,
            transaction_id: text(&p, "transaction_id").unwrap_or_default(),
            total_fee: fee(&p, "total_fee")?.ok_or(WxError::MissingField("total_fee"))?,
            total_refund_count: text(&p, "total_refund_count").and_then(|c| c.parse().ok()),
            refunds,
            raw: p,
        })
    }

    /// The refund named `out_refund_no`, if it is in this answer.
    pub fn refund(&self, out_refund_no: &str) -> Option<&RefundRecord> {
        self.refunds
            .iter()
            .find(|r| r.out_refund_no == out_refund_no)
    }
}

/// A decrypted and checked refund notification (reference §7.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundNotification {
    pub out_trade_no: String,
    pub transaction_id: Option<String>,
    pub out_refund_no: String,
    pub refund_id: String,
    pub total_fee: Fen,
    pub refund_fee: Fen,
    pub settlement_refund_fee: Option<Fen>,
    /// SUCCESS, CHANGE or REFUNDCLOSE.
    pub status: RefundStatus,
    pub success_time: Option<DateTime<Utc>>,
    pub recv_account: Option<String>,
    /// `API` (this till) or `VENDOR_PLATFORM` (the merchant platform).
    pub request_source: Option<String>,
    /// The decrypted `<root>` fields.
    pub raw: Params,
}

/// Parse and check a refund notification body: XML safety, `return_code=SUCCESS`, `appid` and `mch_id` are
/// this merchant's, then `req_info` decrypted with MD5(API key) and parsed. There is no `sign`: only the
/// holder of the key can produce a `req_info` that decrypts. The amounts are checked by the caller
/// against its own refund. Reply with [`REFUND_NOTIFY_SUCCESS`] once it is stored, else
/// [`super::api::notify_fail`].
pub fn parse_refund_notification(
    body: &[u8],
    merchant: &Merchant,
) -> Result<RefundNotification, WxError> {
    let outer = super::xml::decode(body)?;
    if outer.get("return_code").map(String::as_str) != Some("SUCCESS") {
        return Err(WxError::Protocol {
            msg: outer.get("return_msg").cloned().unwrap_or_default(),
        });
    }
    for (field, want) in [("appid", &merchant.appid), ("mch_id", &merchant.mch_id)] {
        let got = outer.get(field).ok_or(WxError::MissingField(field))?;
        if got != want {
            return Err(WxError::Mismatch {
                field,
                expected: want.clone(),
                got: got.clone(),
            });
        }
    }
    let req_info = outer
        .get("req_info")
        .filter(|s| !s.is_empty())
        .ok_or(WxError::MissingField("req_info"))?;
    let p = decrypt_req_info(req_info, &merchant.key)?;
    let required = |name: &'static str| text(&p, name).ok_or(WxError::MissingField(name));
    Ok(RefundNotification {
        out_trade_no: required("out_trade_no")?,
        transaction_id: text(&p, "transaction_id"),
        out_refund_no: required("out_refund_no")?,
        refund_id: required("refund_id")?,
        total_fee: fee(&p, "total_fee")?.ok_or(WxError::MissingField("total_fee"))?,
        refund_fee: fee(&p, "refund_fee")?.ok_or(WxError::MissingField("refund_fee"))?,
        settlement_refund_fee: fee(&p, "settlement_refund_fee")?,
        status: RefundStatus::parse(&required("refund_status")?),
        success_time: p.get("success_time").and_then(|s| parse_wx_datetime(s)),
        recv_account: text(&p, "refund_recv_accout"),
        request_source: text(&p, "refund_request_source"),
        raw: p,
    })
}

/// The reply that stops refund-notification retries: the same as for payment notifications (§7.3).
pub const REFUND_NOTIFY_SUCCESS: &str = super::envelope::SUCCESS_REPLY;

/// Decrypt a refund notification's `req_info` into the fields of its `<root>` document.
pub fn decrypt_req_info(req_info: &str, key: &ApiKey) -> Result<Params, WxError> {
    let bad = |m: &str| WxError::InvalidRequest(format!("req_info: {m}"));
    let mut data = base64::engine::general_purpose::STANDARD
        .decode(req_info.trim())
        .map_err(|_| bad("not base64"))?;
    if data.is_empty() || data.len() % 16 != 0 {
        return Err(bad("length is not a multiple of the AES block size"));
    }
    let aes_key = hex_lower(&Md5::digest(key.expose().as_bytes()));
    let cipher = Aes256::new(GenericArray::from_slice(aes_key.as_bytes()));
    for block in data.chunks_mut(16) {
        cipher.decrypt_block(GenericArray::from_mut_slice(block));
    }
    let pad = usize::from(*data.last().expect("non-empty"));
    if pad == 0
        || pad > 16
        || data[data.len() - pad..]
            .iter()
            .any(|&b| usize::from(b) != pad)
    {
        return Err(bad("bad padding (wrong API key?)"));
    }
    data.truncate(data.len() - pad);
    Ok(super::xml::decode_root(&data, "root")?)
}

/// The gateway side of [`decrypt_req_info`]: `fields` as a `<root>` document, PKCS#7-padded, AES-256-ECB
/// encrypted with MD5(API key) and base64-encoded (the sandbox's refund notifications).
pub fn encrypt_req_info(fields: &Params, key: &ApiKey) -> Result<String, WxError> {
    let xml = super::xml::encode(fields)?;
    // Same body, other root element: `<xml>…</xml>` → `<root>…</root>`.
    let inner = &xml["<xml>".len()..xml.len() - "</xml>".len()];
    let mut data = format!("<root>{inner}</root>").into_bytes();
    let pad = 16 - data.len() % 16;
    data.extend(std::iter::repeat_n(pad as u8, pad));
    let aes_key = hex_lower(&Md5::digest(key.expose().as_bytes()));
    let cipher = Aes256::new(GenericArray::from_slice(aes_key.as_bytes()));
    for block in data.chunks_mut(16) {
        cipher.encrypt_block(GenericArray::from_mut_slice(block));
    }
    Ok(base64::engine::general_purpose::STANDARD.encode(data))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(p: &Params, name: &str) -> Option<String> {
    p.get(name).filter(|s| !s.is_empty()).cloned()
}

fn fee(p: &Params, name: &'static str) -> Result<Option<Fen>, WxError> {
    match p.get(name).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => parse_fen(v).map(Some).ok_or(WxError::Mismatch {
            field: name,
            expected: "an amount in fen".into(),
            got: v.clone(),
        }),
    }
}

fn indexed_fee(p: &Params, name: &str) -> Result<Option<Fen>, WxError> {
    match p.get(name).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => parse_fen(v).map(Some).ok_or(WxError::Mismatch {
            field: "refund_fee_$n",
            expected: "an amount in fen".into(),
            got: v.clone(),
        }),
    }
}

fn parse_fen(v: &str) -> Option<Fen> {
    v.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| v.parse::<i64>().ok())
        .flatten()
        .and_then(Fen::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn encryption_round_trips() {
        let key = ApiKey::new("192006250b4c09247ec02edce69f6a2d");
        let fields = p(&[("out_refund_no", "R1"), ("refund_status", "SUCCESS")]);
        let enc = encrypt_req_info(&fields, &key).unwrap();
        assert_eq!(decrypt_req_info(&enc, &key).unwrap(), fields);
        assert!(decrypt_req_info(&enc, &ApiKey::new("x".repeat(32))).is_err());
    }

    #[test]
    fn out_refund_no_rule() {
        assert!(valid_out_refund_no("R1"));
        assert!(valid_out_refund_no("a|b*c@d-e_f"));
        assert!(!valid_out_refund_no(""));
        assert!(!valid_out_refund_no(&"x".repeat(65)));
        assert!(!valid_out_refund_no("退款1"));
    }

    #[test]
    fn query_answer_with_indexed_fields() {
        let fields = p(&[
            ("out_trade_no", "ORDER0001"),
            ("transaction_id", "4200"),
            ("total_fee", "1288"),
            ("refund_count", "2"),
            ("total_refund_count", "2"),
            ("out_refund_no_0", "R1"),
            ("refund_id_0", "503"),
            ("refund_fee_0", "300"),
            ("refund_status_0", "SUCCESS"),
            ("refund_success_time_0", "2024-05-20 12:40:00"),
            ("refund_recv_accout_0", "支付用户零钱"),
            ("out_refund_no_1", "R2"),
            ("refund_fee_1", "988"),
            ("refund_status_1", "PROCESSING"),
        ]);
        let q =
            RefundQueryResult::from_params(fields.clone(), RefundQueryKey::OutTradeNo("ORDER0001"))
                .unwrap();
        assert_eq!(q.refunds.len(), 2);
        let r1 = q.refund("R1").unwrap();
        assert_eq!(r1.status, RefundStatus::Success);
        assert_eq!(
            r1.success_time.map(crate::clock::format_wx).as_deref(),
            Some("20240520124000")
        );
        assert_eq!(q.refund("R2").unwrap().status, RefundStatus::Processing);
        assert!(!q.refund("R2").unwrap().status.is_final());
        assert!(
            RefundQueryResult::from_params(fields.clone(), RefundQueryKey::OutRefundNo("R3"))
                .is_err()
        );
        let mut broken = fields;
        broken.remove("refund_fee_1");
        assert_eq!(
            RefundQueryResult::from_params(broken, RefundQueryKey::OutRefundNo("R1")),
            Err(WxError::MissingField("refund_fee_$n"))
        );
    }
}
