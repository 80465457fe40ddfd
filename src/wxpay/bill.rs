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

use std::collections::HashMap;
use std::fmt;
use std::io::Read;

use chrono::{DateTime, Duration, Months, NaiveDate, TimeZone, Utc};

use super::envelope::Merchant;
use super::sign::{self, Params};
use super::xml;
use crate::clock::{beijing, parse_wx_datetime};
use crate::money::Fen;

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

/// The start of the summary header.
pub const SUMMARY_START: &str = "总交易单数";

/// Split a backtick-prefixed line into its fields: drop the first backtick, split on `` ,` `` (which keeps
/// a comma inside a product name in its field).
fn fields(line: usize, text: &str) -> Result<Vec<&str>, BillError> {
    let rest = text
        .strip_prefix('`')
        .ok_or_else(|| BillError::NoBacktick {
            line,
            text: text.chars().take(60).collect(),
        })?;
    Ok(rest.split(",`").collect())
}

/// `12.50` → 1250 fen: digits, a point, exactly two decimals.
fn parse_amount(s: &str) -> Option<Fen> {
    let (int, frac) = s.split_once('.')?;
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.len() != 2 || !digits(frac) || int.len() > 12 {
        return None;
    }
    let fen = int.parse::<i64>().ok()?.checked_mul(100)? + frac.parse::<i64>().ok()?;
    Fen::new(fen)
}

/// `0.07000`, `-0.03000`, `0.07` → [`Fee`]: an optional minus, digits, a point, two to five decimals.
fn parse_fee(s: &str) -> Option<Fee> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = s.split_once('.')?;
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) || !(2..=5).contains(&frac.len()) || int.len() > 12 {
        return None;
    }
    let scale = 10i64.pow(5 - frac.len() as u32);
    let units = int.parse::<i64>().ok()?.checked_mul(100_000)? + frac.parse::<i64>().ok()? * scale;
    Some(Fee(if neg { -units } else { units }))
}

/// The columns a row is read from: each name (or its old-format alias) to its position.
struct Columns {
    index: HashMap<String, usize>,
    count: usize,
}

impl Columns {
    fn find(&self, names: &[&'static str]) -> Option<usize> {
        names.iter().find_map(|n| self.index.get(*n).copied())
    }

    fn require(&self, names: &[&'static str]) -> Result<usize, BillError> {
        self.find(names).ok_or(BillError::MissingColumn(names[0]))
    }
}

/// One data line's fields, with what is needed to say where a bad value is.
struct Line<'a> {
    no: usize,
    fields: Vec<&'a str>,
    names: &'a [String],
}

impl Line<'_> {
    fn text(&self, idx: Option<usize>) -> String {
        idx.map(|i| self.fields[i].trim().to_string())
            .unwrap_or_default()
    }

    fn required(&self, idx: usize) -> Result<String, BillError> {
        let v = self.fields[idx].trim();
        if v.is_empty() {
            return Err(BillError::EmptyField {
                line: self.no,
                column: self.names[idx].clone(),
            });
        }
        Ok(v.to_string())
    }

    fn amount(&self, idx: usize) -> Result<Fen, BillError> {
        let v = self.fields[idx].trim();
        parse_amount(v).ok_or_else(|| BillError::BadAmount {
            line: self.no,
            column: self.names[idx].clone(),
            value: v.to_string(),
        })
    }

    fn fee(&self, idx: usize) -> Result<Fee, BillError> {
        let v = self.fields[idx].trim();
        parse_fee(v).ok_or_else(|| BillError::BadAmount {
            line: self.no,
            column: self.names[idx].clone(),
            value: v.to_string(),
        })
    }

    /// A time column the bill may lack, or leave empty (a refund not yet succeeded has no success time).
    fn optional_time(&self, idx: Option<usize>) -> Result<Option<DateTime<Utc>>, BillError> {
        match idx {
            Some(i) if !self.fields[i].trim().is_empty() => self.time(i).map(Some),
            _ => Ok(None),
        }
    }

    fn time(&self, idx: usize) -> Result<DateTime<Utc>, BillError> {
        let v = self.fields[idx].trim();
        parse_wx_datetime(v).ok_or_else(|| BillError::BadTime {
            line: self.no,
            column: self.names[idx].clone(),
            value: v.to_string(),
        })
    }
}

/// Parse a bill's text (see the module doc for the format and what is refused).
pub fn parse(text: &str) -> Result<Bill, BillError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or(BillError::Empty)?;
    if header.starts_with('`') || !header.contains("交易时间") {
        return Err(BillError::NoHeader(header.chars().take(60).collect()));
    }
    let names: Vec<String> = header.split(',').map(|n| n.trim().to_string()).collect();
    let cols = Columns {
        index: names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect(),
        count: names.len(),
    };
    let c_time = cols.require(&["交易时间"])?;
    let c_txn = cols.require(&["微信订单号"])?;
    let c_otn = cols.require(&["商户订单号"])?;
    let c_state = cols.require(&["交易状态"])?;
    let c_settle = cols.require(&["应结订单金额", "总金额"])?;
    let c_fee = cols.require(&["手续费"])?;
    let c_total = cols.find(&["订单金额"]);
    let c_coupon = cols.find(&["代金券金额", "代金券或立减优惠金额"]);
    let c_refund_id = cols.find(&["微信退款单号"]);
    let c_out_refund = cols.find(&["商户退款单号"]);
    let c_refund_amount = cols.find(&["退款金额"]);
    let c_refund_req = cols.find(&["申请退款金额"]);
    // Only the REFUND bill has this column: there every row is a refund.
    let refund_bill = cols.find(&["退款申请时间"]).is_some();

    let mut rows = Vec::new();
    let mut summary = None;
    while let Some((no, text)) = lines.next() {
        if text.starts_with(SUMMARY_START) {
            let (sno, stext) = lines.next().ok_or(BillError::MissingSummary)?;
            summary = Some(parse_summary(text, sno, stext)?);
            if let Some((no, text)) = lines.next() {
                return Err(BillError::AfterSummary {
                    line: no,
                    text: text.chars().take(60).collect(),
                });
            }
            break;
        }
        let line = Line {
            no,
            fields: fields(no, text)?,
            names: &names,
        };
        if line.fields.len() != cols.count {
            return Err(BillError::ColumnCount {
                line: no,
                expected: cols.count,
                got: line.fields.len(),
            });
        }
        let trade_state = line.required(c_state)?;
        let refund = if refund_bill || trade_state == "REFUND" {
            let need =
                |c: Option<usize>, name: &'static str| c.ok_or(BillError::MissingColumn(name));
            let amount = line.amount(need(c_refund_amount, "退款金额")?)?;
            Some(BillRefund {
                refund_id: line.required(need(c_refund_id, "微信退款单号")?)?,
                out_refund_no: line.required(need(c_out_refund, "商户退款单号")?)?,
                amount,
                requested: match c_refund_req {
                    Some(c) => line.amount(c)?,
                    None => amount,
                },
                refund_type: line.text(cols.find(&["退款类型"])),
                status: line.text(cols.find(&["退款状态"])),
                requested_at: line.optional_time(cols.find(&["退款申请时间"]))?,
                succeeded_at: line.optional_time(cols.find(&["退款成功时间"]))?,
            })
        } else {
            None
        };
        let settlement = line.amount(c_settle)?;
        rows.push(BillRow {
            line: no,
            trade_time: line.time(c_time)?,
            appid: line.text(cols.find(&["公众账号ID"])),
            mch_id: line.text(cols.find(&["商户号"])),
            device_info: line.text(cols.find(&["设备号"])),
            transaction_id: line.required(c_txn)?,
            out_trade_no: line.required(c_otn)?,
            openid: line.text(cols.find(&["用户标识"])),
            trade_type: line.text(cols.find(&["交易类型"])),
            trade_state,
            bank_type: line.text(cols.find(&["付款银行"])),
            currency: line.text(cols.find(&["货币种类"])),
            settlement,
            coupon: match c_coupon {
                Some(c) => line.amount(c)?,
                None => Fen::ZERO,
            },
            refund,
            body: line.text(cols.find(&["商品名称"])),
            attach: line.text(cols.find(&["商户数据包"])),
            fee: line.fee(c_fee)?,
            rate: line.text(cols.find(&["费率"])),
            total: match c_total {
                Some(c) => line.amount(c)?,
                None => settlement,
            },
        });
    }
    let summary = summary.ok_or(BillError::MissingSummary)?;
    let bill = Bill {
        columns: names,
        rows,
        summary,
    };
    check_totals(&bill)?;
    Ok(bill)
}

fn parse_summary(header: &str, no: usize, text: &str) -> Result<BillSummary, BillError> {
    let names: Vec<String> = header.split(',').map(|n| n.trim().to_string()).collect();
    let line = Line {
        no,
        fields: fields(no, text)?,
        names: &names,
    };
    if line.fields.len() != names.len() {
        return Err(BillError::ColumnCount {
            line: no,
            expected: names.len(),
            got: line.fields.len(),
        });
    }
    let cols = Columns {
        index: names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect(),
        count: names.len(),
    };
    let c_count = cols.require(&["总交易单数"])?;
    let count_text = line.fields[c_count].trim();
    let count = count_text
        .parse::<usize>()
        .map_err(|_| BillError::BadAmount {
            line: no,
            column: "总交易单数".into(),
            value: count_text.to_string(),
        })?;
    let opt = |names: &[&'static str]| -> Result<Option<Fen>, BillError> {
        cols.find(names).map(|c| line.amount(c)).transpose()
    };
    Ok(BillSummary {
        count,
        settlement_total: line.amount(cols.require(&["应结订单总金额", "总交易额"])?)?,
        refund_total: opt(&["退款总金额", "总退款金额"])?,
        fee_total: line.fee(cols.require(&["手续费总金额"])?)?,
        order_total: opt(&["订单总金额"])?,
        refund_requested_total: opt(&["申请退款总金额"])?,
    })
}

/// The summary must be the sum of the rows. Settlement and order totals count payment rows only (a refund
/// row's money is in its refund columns); the fee total is net of the fees refunds gave back.
fn check_totals(bill: &Bill) -> Result<(), BillError> {
    let s = &bill.summary;
    if s.count != bill.rows.len() {
        return Err(BillError::TotalsDiffer {
            what: "总交易单数",
            summary: s.count.to_string(),
            rows: bill.rows.len().to_string(),
        });
    }
    fn sum(
        bill: &Bill,
        what: &'static str,
        f: impl Fn(&BillRow) -> Option<Fen>,
    ) -> Result<Fen, BillError> {
        Fen::checked_sum(bill.rows.iter().filter_map(f)).ok_or(BillError::TotalsDiffer {
            what,
            summary: "-".into(),
            rows: "an overflow".into(),
        })
    }
    let differ = |what: &'static str, summary: Fen, rows: Fen| {
        if summary == rows {
            Ok(())
        } else {
            Err(BillError::TotalsDiffer {
                what,
                summary: summary.yuan_string(),
                rows: rows.yuan_string(),
            })
        }
    };
    differ(
        "应结订单总金额",
        s.settlement_total,
        sum(bill, "应结订单总金额", |r| {
            (!r.is_refund()).then_some(r.settlement)
        })?,
    )?;
    if let Some(total) = s.order_total {
        differ(
            "订单总金额",
            total,
            sum(bill, "订单总金额", |r| {
                (!r.is_refund()).then_some(r.total)
            })?,
        )?;
    }
    if let Some(total) = s.refund_total {
        differ(
            "退款总金额",
            total,
            sum(bill, "退款总金额", |r| {
                r.refund.as_ref().map(|f| f.amount)
            })?,
        )?;
    }
    if let Some(total) = s.refund_requested_total {
        differ(
            "申请退款总金额",
            total,
            sum(bill, "申请退款总金额", |r| {
                r.refund.as_ref().map(|f| f.requested)
            })?,
        )?;
    }
    let fees = bill
        .rows
        .iter()
        .try_fold(Fee::ZERO, |acc, r| acc.checked_add(r.fee));
    if fees != Some(s.fee_total) {
        return Err(BillError::TotalsDiffer {
            what: "手续费总金额",
            summary: s.fee_total.yuan_string(),
            rows: fees.map_or("an overflow".into(), Fee::yuan_string),
        });
    }
    Ok(())
}

/// The detail columns of the current (2018+) ALL bill, in the live order (reference §8).
pub const ALL_COLUMNS: [&str; 27] = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
];

/// The SUCCESS bill's 20 columns: the ALL bill's without the refund ones.
pub const SUCCESS_COLUMNS: [&str; 20] = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "费率备注",
];

/// The REFUND bill's 29 columns: the ALL bill's with the refund's application and success times.
pub const REFUND_COLUMNS: [&str; 29] = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "退款申请时间",
    "退款成功时间",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
];

/// The summary columns of the ALL and REFUND bills.
pub const SUMMARY_COLUMNS: [&str; 7] = [
    "总交易单数",
    "应结订单总金额",
    "退款总金额",
    "充值券退款总金额",
    "手续费总金额",
    "订单总金额",
    "申请退款总金额",
];

/// The SUCCESS bill's summary columns (official doc).
pub const SUCCESS_SUMMARY_COLUMNS: [&str; 4] =
    ["总交易单数", "应结订单总金额", "手续费总金额", "订单总金额"];

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's real sample line (§8), with its elided fields filled in, and a refund row in the
    /// same shape; the summary is theirs.
    fn sample() -> String {
        let header = ALL_COLUMNS.join(",");
        let pay = "`2022-03-21 13:51:31,`wxfdc955f7104ad557,`180023671,`176531292,`,`420000612032130748613220688,`T20220321135100A,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`SUCCESS,`OTHERS,`CNY,`0.01,`0.00,`0,`0,`0.00,`0.00,`,`,`微信云托管支付测试,`,`0.00000,`0.90%,`0.01,`0.00,`";
        let refund = "`2022-03-21 14:00:02,`wxfdc955f7104ad557,`180023671,`176531292,`,`420000612032130748613220688,`T20220321135100A,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50300501062022032118960312345,`R20220321A,`0.01,`0.00,`ORIGINAL,`SUCCESS,`微信云托管支付测试,`,`0.00000,`0.90%,`0.00,`0.01,`";
        let summary_header = SUMMARY_COLUMNS.join(",");
        format!(
            "{header}\r\n{pay}\r\n{refund}\r\n{summary_header}\r\n`2,`0.01,`0.01,`0.00,`0.00000,`0.01,`0.01\r\n"
        )
    }

    #[test]
    fn the_reference_sample_parses_exactly() {
        let bill = parse(&sample()).unwrap();
        assert_eq!(bill.rows.len(), 2);
        let pay = &bill.rows[0];
        assert_eq!(pay.out_trade_no, "T20220321135100A");
        assert_eq!(pay.transaction_id, "420000612032130748613220688");
        assert_eq!(pay.total, Fen::new(1).unwrap());
        assert_eq!(pay.settlement, Fen::new(1).unwrap());
        assert_eq!(pay.fee, Fee::ZERO);
        assert_eq!(pay.rate, "0.90%");
        assert_eq!(pay.body, "微信云托管支付测试");
        assert_eq!(pay.trade_time.to_rfc3339(), "2022-03-21T05:51:31+00:00");
        assert!(!pay.is_refund());
        let r = bill.rows[1].refund.as_ref().unwrap();
        assert_eq!(r.out_refund_no, "R20220321A");
        assert_eq!(r.amount, Fen::new(1).unwrap());
        assert_eq!(r.status, "SUCCESS");
        assert_eq!(bill.summary.count, 2);
        assert_eq!(bill.summary.fee_total, Fee::ZERO);
        assert_eq!(bill.payments().count(), 1);
        assert_eq!(bill.refunds().count(), 1);
    }

    /// The sample's refund row laid out in the REFUND bill's columns, with its application and success
    /// times (the success time empty for a refund still processing).
    fn refund_bill(success: &str, status: &str) -> String {
        let all: Vec<&str> = "2022-03-21 14:00:02,wxfdc955f7104ad557,180023671,176531292,,420000612032130748613220688,T20220321135100A,oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,JSAPI,REFUND,OTHERS,CNY,0.00,0.00,50300501062022032118960312345,R20220321A,0.01,0.00,ORIGINAL,STATUS,微信云托管支付测试,,0.00000,0.90%,0.00,0.01,"
            .split(',')
            .collect();
        let value = |name: &str| -> String {
            match name {
                "退款申请时间" => "2022-03-21 14:00:02".into(),
                "退款成功时间" => success.into(),
                "退款状态" => status.into(),
                _ => all[ALL_COLUMNS.iter().position(|c| *c == name).unwrap()].into(),
            }
        };
        let row: Vec<String> = REFUND_COLUMNS
            .iter()
            .map(|c| format!("`{}", value(c)))
            .collect();
        format!(
            "{}\r\n{}\r\n{}\r\n`1,`0.00,`0.01,`0.00,`0.00000,`0.00,`0.01\r\n",
            REFUND_COLUMNS.join(","),
            row.join(","),
            SUMMARY_COLUMNS.join(",")
        )
    }

    #[test]
    fn the_refund_bill_gives_each_refunds_application_and_success_times() {
        let bill = parse(&refund_bill("2022-03-21 14:03:10", "SUCCESS")).unwrap();
        let r = bill.rows[0].refund.as_ref().unwrap();
        assert_eq!(r.out_refund_no, "R20220321A");
        assert_eq!(
            r.requested_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2022-03-21T06:00:02+00:00")
        );
        assert_eq!(
            r.succeeded_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2022-03-21T06:03:10+00:00")
        );
        let processing = parse(&refund_bill("", "PROCESSING")).unwrap();
        assert_eq!(
            processing.rows[0].refund.as_ref().unwrap().succeeded_at,
            None
        );
        assert!(matches!(
            parse(&refund_bill("yesterday", "SUCCESS")),
            Err(BillError::BadTime { line: 2, .. })
        ));
        // The ALL bill has neither column.
        let all = parse(&sample()).unwrap();
        let r = all.rows[1].refund.as_ref().unwrap();
        assert_eq!((r.requested_at, r.succeeded_at), (None, None));
    }

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
    fn amounts_are_exact_fen_and_fees_exact_units() {
        assert_eq!(parse_amount("0.01"), Fen::new(1));
        assert_eq!(parse_amount("12.50"), Fen::new(1250));
        assert_eq!(parse_amount("21474836.47"), Fen::new(2_147_483_647));
        for bad in [
            "1", "1.5", "1.500", "-1.00", "1,00", "", ".50", "1.5a", "0x1.00",
        ] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
        assert_eq!(parse_fee("0.07000"), Some(Fee::from_fen(7)));
        assert_eq!(parse_fee("-0.03000"), Some(Fee::from_fen(-3)));
        assert_eq!(parse_fee("0.00009"), Some(Fee::from_units(9)));
        assert_eq!(parse_fee("1.20"), Some(Fee::from_fen(120)));
        for bad in ["0.000001", "0.0", "abc", "--1.00", "1"] {
            assert_eq!(parse_fee(bad), None, "{bad}");
        }
        assert_eq!(Fee::from_fen(-3).yuan_string(), "-0.03000");
        assert_eq!(Fee::from_units(123_456).yuan_string(), "1.23456");
        assert_eq!(Fee::from_fen(-3).to_string(), "-¥0.03000");
    }

    #[test]
    fn malformed_bills_are_refused_with_the_place_at_fault() {
        let good = sample();
        let broken = |from: &str, to: &str| parse(&good.replacen(from, to, 1)).unwrap_err();
        // A column too few on the payment line.
        assert_eq!(
            broken(",`0.90%,`0.01,`0.00,`\r", ",`0.90%,`0.01,`0.00\r"),
            BillError::ColumnCount {
                line: 2,
                expected: 27,
                got: 26
            }
        );
        assert!(matches!(
            broken("`CNY,`0.01,", "`CNY,`0.1,"),
            BillError::BadAmount { line: 2, ref column, ref value } if column == "应结订单金额" && value == "0.1"
        ));
        assert!(matches!(
            broken("`2022-03-21 13:51:31", "`2022-03-21"),
            BillError::BadTime { line: 2, .. }
        ));
        assert!(matches!(
            broken("\r\n`2022-03-21 13:51:31", "\r\n2022-03-21 13:51:31"),
            BillError::NoBacktick { line: 2, .. }
        ));
        assert_eq!(
            broken("`2,`0.01,`0.01", "`3,`0.01,`0.01"),
            BillError::TotalsDiffer {
                what: "总交易单数",
                summary: "3".into(),
                rows: "2".into()
            }
        );
        assert_eq!(
            broken("`2,`0.01,`0.01", "`2,`0.02,`0.01"),
            BillError::TotalsDiffer {
                what: "应结订单总金额",
                summary: "0.02".into(),
                rows: "0.01".into()
            }
        );
        assert!(matches!(
            broken("`0.00000,`0.01,`0.01\r", "`0.01000,`0.01,`0.01\r"),
            BillError::TotalsDiffer {
                what: "手续费总金额",
                ..
            }
        ));
        assert!(matches!(
            broken("`R20220321A", "`"),
            BillError::EmptyField { line: 3, .. }
        ));
        // No summary at all, a summary header without its line, something after the summary.
        let cut = good.find("总交易单数").unwrap();
        assert_eq!(parse(&good[..cut]), Err(BillError::MissingSummary));
        let header_only = good.find("\r\n`2,").unwrap();
        assert_eq!(parse(&good[..header_only]), Err(BillError::MissingSummary));
        assert!(matches!(
            parse(&format!("{good}`extra\r\n")),
            Err(BillError::AfterSummary { line: 6, .. })
        ));
        assert!(matches!(parse("`a,`b\n"), Err(BillError::NoHeader(_))));
        assert_eq!(
            parse(&good.replace("商户订单号", "订单号X")),
            Err(BillError::MissingColumn("商户订单号"))
        );
    }

    #[test]
    fn a_comma_in_a_product_name_stays_in_its_field() {
        let bill = parse(&sample().replace("微信云托管支付测试", "咖啡,大杯")).unwrap();
        assert_eq!(bill.rows[0].body, "咖啡,大杯");
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
