//! The trade bill (`/pay/downloadbill`, reference §8, §12.7, §14.20): the request, when a day's bill can be
//! asked for, how an answer is told apart (an XML error body, "No Bill Exist", a plain or gzipped text bill)
//! and a strict parser of the live text format into exact amounts.
//!
//! Pure logic: bytes in, types out. The HTTP call is [`super::client::WxClient::download_bill`]; the
//! comparison with the shop's ledger is the engine's (`engine::reconcile`). The bill itself carries no
//! signature (the protocol signs only XML messages): it is trusted as far as the TLS connection it came on.
//!
//! The format ([DOC] format page): a header line of comma-separated Chinese column names; one line per
//! payment or refund, every field prefixed with a backtick; a summary header starting with `总交易单数`; one
//! summary line, also backtick-prefixed. Columns are read by header name, never by position (the old and the
//! current formats, and the ALL / SUCCESS / REFUND bills, differ). Amounts are yuan with two decimals and
//! become integer fen exactly; the service fee (手续费) has up to five decimals and is kept exactly in
//! [`Fee`] units. A bill whose lines do not have the header's column count, whose amounts or times do not
//! read, that lacks its summary, or whose summary does not equal the sum of its rows is refused with the
//! line and column at fault.
//!
//! This file: what a bill is ([`Bill`], [`BillRow`], [`Fee`]), what to ask ([`BillRequest`]), when a day's
//! bill is ready ([`availability`]) and telling an answer apart ([`read_answer`], gzip). The text-format
//! parser is `parse.rs`; the column tables of the bills (for the sandbox and the tests) are `columns.rs`.

use std::fmt;
use std::io::Read;

use chrono::{DateTime, Duration, Months, NaiveDate, TimeZone, Utc};

use super::envelope::Merchant;
use super::sign::{self, Params};
use super::xml;
use crate::clock::beijing;
use crate::money::Fen;

mod columns;
mod parse;
#[cfg(test)]
mod test_support;

pub use columns::{
    ALL_COLUMNS, REFUND_COLUMNS, SUCCESS_COLUMNS, SUCCESS_SUMMARY_COLUMNS, SUMMARY_COLUMNS,
};
pub use parse::{SUMMARY_START, parse};

/// Which trades a bill lists (reference §8; `RECHARGE_REFUND` is not used by PayDesk).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BillType {
    /// Payments and refunds (the default).
    All,
    /// Payments only.
    Success,
    /// Refunds only.
    Refund,
}

impl BillType {
    pub fn as_str(self) -> &'static str {
        match self {
            BillType::All => "ALL",
            BillType::Success => "SUCCESS",
            BillType::Refund => "REFUND",
        }
    }

    /// The wire value; an absent or empty `bill_type` is `ALL`.
    pub fn parse(s: &str) -> Option<BillType> {
        match s {
            "" | "ALL" => Some(BillType::All),
            "SUCCESS" => Some(BillType::Success),
            "REFUND" => Some(BillType::Refund),
            _ => None,
        }
    }
}

/// A downloadbill request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillRequest {
    /// The Beijing-time calendar day.
    pub bill_date: NaiveDate,
    pub bill_type: BillType,
    /// Ask for `tar_type=GZIP` (the answer is decompressed by [`read_answer`]).
    pub gzip: bool,
}

impl BillRequest {
    /// The unsigned request fields.
    pub fn params(&self, merchant: &Merchant) -> Params {
        let mut p = Params::new();
        p.insert("appid".into(), merchant.appid.clone());
        p.insert("mch_id".into(), merchant.mch_id.clone());
        p.insert("nonce_str".into(), sign::nonce());
        p.insert("bill_date".into(), format_bill_date(self.bill_date));
        p.insert("bill_type".into(), self.bill_type.as_str().into());
        if self.gzip {
            p.insert("tar_type".into(), "GZIP".into());
        }
        p
    }
}

/// `yyyyMMdd`.
pub fn format_bill_date(day: NaiveDate) -> String {
    day.format("%Y%m%d").to_string()
}

/// Parse a `yyyyMMdd` bill date.
pub fn parse_bill_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y%m%d").ok()
}

/// The hour (Beijing time) of the next day from which a day's bill can be fetched: it is generated from
/// 09:00 and the reference says to fetch it after 10:00.
pub const READY_HOUR: u32 = 10;

/// The Beijing calendar day of an instant: the day whose bill lists a trade made then.
pub fn beijing_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&beijing()).date_naive()
}

/// The first instant of Beijing day `day`.
pub fn beijing_day_start(day: NaiveDate) -> DateTime<Utc> {
    beijing()
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .single()
        .expect("a fixed offset has no gaps")
        .with_timezone(&Utc)
}

/// When the bill of `day` can be asked for: [`READY_HOUR`]:00 Beijing time the next day.
pub fn bill_ready_at(day: NaiveDate) -> DateTime<Utc> {
    beijing_day_start(day) + Duration::days(1) + Duration::hours(i64::from(READY_HOUR))
}

/// Whether a day's bill can be asked for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Ready,
    /// Not before this instant.
    NotYet {
        from: DateTime<Utc>,
    },
    /// Older than the three months the gateway keeps.
    TooOld,
}

/// Whether the bill of Beijing day `day` can be asked for at `now` (reference §8: from about 10:00 the next
/// day, for the last three months).
pub fn availability(day: NaiveDate, now: DateTime<Utc>) -> Availability {
    let ready = bill_ready_at(day);
    if now < ready {
        return Availability::NotYet { from: ready };
    }
    let oldest = beijing_day(now).checked_sub_months(Months::new(3));
    if oldest.is_some_and(|oldest| day < oldest) {
        return Availability::TooOld;
    }
    Availability::Ready
}

/// A service fee as the bill gives it: in 0.00001 yuan (a thousandth of a fen), signed (a refund gives
/// its share of the fee back, so refund rows carry a negative fee).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fee(i64);

impl Fee {
    pub const ZERO: Fee = Fee(0);
    /// [`Fee`] units per fen.
    pub const PER_FEN: i64 = 1000;

    /// A fee in its own units (0.00001 yuan).
    pub const fn from_units(units: i64) -> Fee {
        Fee(units)
    }

    /// A whole number of fen (negative for a fee given back).
    pub const fn from_fen(fen: i64) -> Fee {
        Fee(fen * Fee::PER_FEN)
    }

    pub const fn units(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Fee) -> Option<Fee> {
        self.0.checked_add(other.0).map(Fee)
    }

    /// `0.07000`, `-0.03000`: yuan with five decimals, as the bill writes it.
    pub fn yuan_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        format!("{sign}{}.{:05}", a / 100_000, a % 100_000)
    }
}

impl fmt::Display for Fee {
    /// `¥0.07000`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.yuan_string();
        match s.strip_prefix('-') {
            Some(abs) => write!(f, "-¥{abs}"),
            None => write!(f, "¥{s}"),
        }
    }
}

/// The refund part of a refund row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillRefund {
    /// 微信退款单号
    pub refund_id: String,
    /// 商户退款单号
    pub out_refund_no: String,
    /// 退款金额
    pub amount: Fen,
    /// 申请退款金额 (the amount itself where the bill has no such column).
    pub requested: Fen,
    /// 退款类型 (`ORIGINAL`, …); may be empty.
    pub refund_type: String,
    /// 退款状态 when the bill was made (`SUCCESS`, `PROCESSING`, …; the bill is not updated afterwards).
    pub status: String,
    /// 退款申请时间: when the refund was applied for (REFUND bill only; `None` in the ALL bill).
    pub requested_at: Option<DateTime<Utc>>,
    /// 退款成功时间: when the money was back (REFUND bill only, and only for a refund that succeeded).
    pub succeeded_at: Option<DateTime<Utc>>,
}

/// One line of a bill: a payment, or a refund (then [`BillRow::refund`] is set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillRow {
    /// The 1-based line number in the bill text (for messages).
    pub line: usize,
    /// 交易时间: the payment's success time; for a refund, when it was accepted.
    pub trade_time: DateTime<Utc>,
    pub appid: String,
    pub mch_id: String,
    pub device_info: String,
    pub transaction_id: String,
    pub out_trade_no: String,
    pub openid: String,
    pub trade_type: String,
    /// 交易状态: `SUCCESS` for a payment, `REFUND` for a refund row, `REVOKED` for a revoked one.
    pub trade_state: String,
    pub bank_type: String,
    pub currency: String,
    /// 应结订单金额 (old format: 总金额).
    pub settlement: Fen,
    /// 代金券金额
    pub coupon: Fen,
    pub refund: Option<BillRefund>,
    /// 商品名称
    pub body: String,
    /// 商户数据包
    pub attach: String,
    /// 手续费
    pub fee: Fee,
    /// 费率, as written (`0.60%`).
    pub rate: String,
    /// 订单金额 (the settlement amount where the bill has no such column).
    pub total: Fen,
}

impl BillRow {
    pub fn is_refund(&self) -> bool {
        self.refund.is_some()
    }
}

/// The summary line, read by its header's names. Totals the bill's format does not have are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillSummary {
    /// 总交易单数: payment and refund rows together.
    pub count: usize,
    /// 应结订单总金额 (old: 总交易额): the payments' settlement amounts.
    pub settlement_total: Fen,
    /// 退款总金额 (old: 总退款金额).
    pub refund_total: Option<Fen>,
    /// 手续费总金额: fees net of those given back.
    pub fee_total: Fee,
    /// 订单总金额
    pub order_total: Option<Fen>,
    /// 申请退款总金额
    pub refund_requested_total: Option<Fen>,
}

/// A parsed, self-consistent bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill {
    /// The detail header's column names, in the bill's order.
    pub columns: Vec<String>,
    pub rows: Vec<BillRow>,
    pub summary: BillSummary,
}

impl Bill {
    /// The payment rows.
    pub fn payments(&self) -> impl Iterator<Item = &BillRow> {
        self.rows.iter().filter(|r| !r.is_refund())
    }

    /// The refund rows.
    pub fn refunds(&self) -> impl Iterator<Item = &BillRow> {
        self.rows.iter().filter(|r| r.is_refund())
    }
}

/// What a downloadbill answer said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillAnswer {
    Bill(Bill),
    /// `No Bill Exist`: the merchant had no trade that day.
    NoBill,
}

/// Why a bill was not had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillError {
    /// `Bill Creating`, or asked before it could be: ask again later.
    #[error("the bill is not ready yet ({0}); ask again after 10:00 Beijing time the next day")]
    NotReady(String),
    /// The gateway answered an XML error body.
    #[error("the gateway refused the bill request: {msg}{}", code.as_ref().map(|c| format!(" (error_code {c})")).unwrap_or_default())]
    Refused { msg: String, code: Option<String> },
    #[error("the gzip stream does not decompress: {0}")]
    Gzip(String),
    #[error("the bill is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the bill is not UTF-8 text")]
    NotUtf8,
    #[error("the bill is empty")]
    Empty,
    #[error("line 1 is not a bill header: {0:?}")]
    NoHeader(String),
    #[error("the bill has no column {0}")]
    MissingColumn(&'static str),
    #[error("line {line} does not start with a backtick: {text:?}")]
    NoBacktick { line: usize, text: String },
    #[error("line {line} has {got} columns, the header {expected}")]
    ColumnCount {
        line: usize,
        expected: usize,
        got: usize,
    },
    #[error("line {line}, column {column}: {value:?} is not an amount in yuan with two decimals")]
    BadAmount {
        line: usize,
        column: String,
        value: String,
    },
    #[error("line {line}, column {column}: {value:?} is not a time yyyy-MM-dd HH:mm:ss")]
    BadTime {
        line: usize,
        column: String,
        value: String,
    },
    #[error("line {line}, column {column} is empty")]
    EmptyField { line: usize, column: String },
    #[error("the bill has no summary (a line starting with 总交易单数 followed by the totals)")]
    MissingSummary,
    #[error("line {line} follows the summary: {text:?}")]
    AfterSummary { line: usize, text: String },
    #[error("the summary's {what} is {summary}, the rows add up to {rows}")]
    TotalsDiffer {
        what: &'static str,
        summary: String,
        rows: String,
    },
}

/// The largest bill PayDesk reads (a busy shop's day is a few hundred kilobytes).
pub const MAX_BILL: usize = 32 * 1024 * 1024;

/// Read a downloadbill answer: a gzip stream is decompressed first (magic `1f 8b`); an XML body is the
/// gateway's error (`No Bill Exist` → [`BillAnswer::NoBill`]); anything else is the text bill, parsed.
pub fn read_answer(body: &[u8]) -> Result<BillAnswer, BillError> {
    let inflated;
    let body = if body.starts_with(&[0x1f, 0x8b]) {
        inflated = gunzip(body)?;
        &inflated[..]
    } else {
        body
    };
    let body = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return Err(BillError::Empty);
    };
    if body[start] == b'<' {
        return error_body(&body[start..]).map(|()| BillAnswer::NoBill);
    }
    let text = std::str::from_utf8(body).map_err(|_| BillError::NotUtf8)?;
    parse(text).map(BillAnswer::Bill)
}

/// An XML error body: `Ok(())` for `No Bill Exist`, otherwise the error it states.
fn error_body(body: &[u8]) -> Result<(), BillError> {
    let p = xml::decode(body).map_err(|e| BillError::Refused {
        msg: format!("unreadable XML answer: {e}"),
        code: None,
    })?;
    let msg = p.get("return_msg").cloned().unwrap_or_default();
    let code = p.get("error_code").filter(|c| !c.is_empty()).cloned();
    // The docs write "NO Bill Exist"; the gateway sends "No Bill Exist" (reference §14.20). Accept both.
    if msg.eq_ignore_ascii_case("No Bill Exist") {
        return Ok(());
    }
    if msg.contains("Bill Creating") {
        return Err(BillError::NotReady(msg));
    }
    Err(BillError::Refused { msg, code })
}

fn gunzip(body: &[u8]) -> Result<Vec<u8>, BillError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(MAX_BILL as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| BillError::Gzip(e.to_string()))?;
    if out.len() > MAX_BILL {
        return Err(BillError::TooLarge { limit: MAX_BILL });
    }
    Ok(out)
}

/// Compress a bill as `tar_type=GZIP` answers it (the sandbox's side).
pub fn gzip(text: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(text).expect("writing to memory");
    enc.finish().expect("writing to memory")
}

#[cfg(test)]
mod tests {
    use super::test_support::sample;
    use super::*;

    #[test]
    fn answers_are_told_apart() {
        let no_bill = "<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[No Bill Exist]]></return_msg><error_code><![CDATA[20002]]></error_code></xml>";
        assert_eq!(read_answer(no_bill.as_bytes()), Ok(BillAnswer::NoBill));
        let creating = no_bill.replace("No Bill Exist", "Bill Creating");
        assert!(matches!(
            read_answer(creating.as_bytes()),
            Err(BillError::NotReady(_))
        ));
        let sign = no_bill.replace("No Bill Exist", "SIGN ERROR");
        assert_eq!(
            read_answer(sign.as_bytes()),
            Err(BillError::Refused {
                msg: "SIGN ERROR".into(),
                code: Some("20002".into())
            })
        );
        let text = sample();
        let plain = read_answer(text.as_bytes()).unwrap();
        assert!(matches!(plain, BillAnswer::Bill(_)));
        assert_eq!(read_answer(&gzip(text.as_bytes())).unwrap(), plain);
        // A gzipped error body is an error body.
        assert_eq!(
            read_answer(&gzip(no_bill.as_bytes())),
            Ok(BillAnswer::NoBill)
        );
        assert!(matches!(
            read_answer(&[0x1f, 0x8b, 1, 2, 3]),
            Err(BillError::Gzip(_))
        ));
        assert_eq!(read_answer(b"  \n"), Err(BillError::Empty));
    }

    #[test]
    fn a_days_bill_is_ready_at_ten_beijing_time_the_next_day() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let ready = bill_ready_at(day);
        assert_eq!(ready.to_rfc3339(), "2026-11-28T02:00:00+00:00");
        assert_eq!(
            availability(day, ready - Duration::seconds(1)),
            Availability::NotYet { from: ready }
        );
        assert_eq!(availability(day, ready), Availability::Ready);
        let today = beijing_day(ready);
        assert_eq!(
            availability(today, ready),
            Availability::NotYet {
                from: bill_ready_at(today)
            }
        );
        let old = NaiveDate::from_ymd_opt(2026, 8, 27).unwrap();
        assert_eq!(availability(old, ready), Availability::TooOld);
        let kept = NaiveDate::from_ymd_opt(2026, 8, 28).unwrap();
        assert_eq!(availability(kept, ready), Availability::Ready);
        // 23:30 UTC on the 27th is already the 28th in Beijing.
        let late = Utc.with_ymd_and_hms(2026, 11, 27, 23, 30, 0).unwrap();
        assert_eq!(
            beijing_day(late),
            NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
        );
        assert_eq!(parse_bill_date("20261127"), Some(day));
        assert_eq!(format_bill_date(day), "20261127");
        assert_eq!(parse_bill_date("2026-11-27"), None);
    }

    #[test]
    fn the_request_carries_the_date_type_and_compression() {
        let m = Merchant {
            appid: "wx2421b1c4370ec43b".into(),
            mch_id: "10000100".into(),
            key: crate::wxpay::ApiKey::new("192006250b4c09247ec02edce69f6a2d"),
            sign_type: crate::wxpay::SignType::Md5,
        };
        let req = BillRequest {
            bill_date: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            bill_type: BillType::Refund,
            gzip: true,
        };
        let p = req.params(&m);
        assert_eq!(p["bill_date"], "20261127");
        assert_eq!(p["bill_type"], "REFUND");
        assert_eq!(p["tar_type"], "GZIP");
        assert!(!req_without_gzip(&m).contains_key("tar_type"));
        assert_eq!(BillType::parse(""), Some(BillType::All));
        assert_eq!(BillType::parse("RECHARGE_REFUND"), None);
    }

    fn req_without_gzip(m: &Merchant) -> Params {
        BillRequest {
            bill_date: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            bill_type: BillType::All,
            gzip: false,
        }
        .params(m)
    }
}
