//! The gateway's trade bill (`/pay/downloadbill`, reference §8): the day's payments and refunds of its
//! orders, in the live text format (the same columns, backticks and summary that
//! [`crate::wxpay::bill::parse`] reads), gzipped when `tar_type=GZIP` asks for it.
//!
//! Which day a trade belongs to, as live: a payment to the Beijing day of its success time (`time_end`), a
//! refund to the day it was accepted (the sandbox accepts a refund when it is asked for, so its creation).
//! Refund statuses are the ones known when the bill is made (live bills are a snapshot too).
//!
//! A bill exists for any finished Beijing day; a day without trades answers `No Bill Exist`; today's (or a
//! later day's) answers `Bill Creating` unless the sandbox was started with
//! [`SandboxConfig::bills_today`](super::SandboxConfig::bills_today) (tests and training).
//!
//! Pure logic like `store.rs`: orders, refunds and the instant in, the answer's bytes out. Not here: the
//! request's signature and merchant checks (`gateway.rs`).

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::clock::format_wx_datetime;
use crate::money::Fen;
use crate::wxpay::bill::{
    self, ALL_COLUMNS, BillType, Fee, REFUND_COLUMNS, SUCCESS_COLUMNS, SUCCESS_SUMMARY_COLUMNS,
    SUMMARY_COLUMNS, beijing_day, beijing_day_start,
};
use crate::wxpay::{Params, RefundStatus, TradeState};

use super::order::Order;
use super::refund::RefundEntry;

/// The sandbox's service-fee rate: 0.6 % (six per mille), the standard rate of most mainland merchants.
pub const FEE_PER_MILLE: i64 = 6;

/// The fee of `amount` at [`FEE_PER_MILLE`], in whole fen, rounded half up. The live bill writes fees with
/// five decimals but charges whole fen: the reference's sample shows a 0.01-yuan payment at 0.90 % with a
/// fee of `0.00000`, not `0.00009`, so the fee is rounded to the fen per trade; half up is the usual
/// commercial rounding (四舍五入). A refund gives back the fee of its own amount, rounded the same way.
pub fn fee_fen(amount: Fen) -> i64 {
    (amount.get() * FEE_PER_MILLE + 500) / 1000
}

/// `0.60%`, as the 费率 column writes it.
fn rate_text() -> String {
    format!("{}.{:02}%", FEE_PER_MILLE / 10, (FEE_PER_MILLE % 10) * 10)
}

/// What the gateway answers a downloadbill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillReply {
    /// The bill's bytes (text, or gzip).
    Bill(Vec<u8>),
    /// An XML error body: `return_msg` and `error_code`.
    Fail {
        msg: &'static str,
        error_code: &'static str,
    },
}

/// The reference's `error_code` for `No Bill Exist`; the other messages' codes are not documented, and the
/// sandbox sends 20001 with them (clients act on `return_msg`).
const NO_BILL_CODE: &str = "20002";
const OTHER_CODE: &str = "20001";

fn fail(msg: &'static str) -> BillReply {
    BillReply::Fail {
        msg,
        error_code: if msg == "No Bill Exist" {
            NO_BILL_CODE
        } else {
            OTHER_CODE
        },
    }
}

/// The merchant identity the bill's rows name.
pub struct BillContext<'a> {
    pub appid: &'a str,
    pub mch_id: &'a str,
    pub now: DateTime<Utc>,
    pub bills_today: bool,
}

/// Answer a verified downloadbill request.
pub fn download_bill(
    ctx: &BillContext<'_>,
    req: &Params,
    orders: &[&Order],
    refunds: &[&RefundEntry],
) -> BillReply {
    let Some(date) = req.get("bill_date").filter(|d| !d.is_empty()) else {
        return fail("missing parameter");
    };
    let Some(day) = bill::parse_bill_date(date) else {
        return fail("data format error");
    };
    let Some(bill_type) = BillType::parse(req.get("bill_type").map_or("", String::as_str)) else {
        return fail("invalid bill_type");
    };
    let gzip = match req.get("tar_type").map_or("", String::as_str) {
        "" => false,
        "GZIP" => true,
        _ => return fail("data format error"),
    };
    let finished = ctx.now >= beijing_day_start(day) + Duration::days(1);
    let today_allowed = ctx.bills_today && day <= beijing_day(ctx.now);
    if !(finished || today_allowed) {
        return fail("Bill Creating");
    }
    match render(ctx, day, bill_type, orders, refunds) {
        None => fail("No Bill Exist"),
        Some(text) if gzip => BillReply::Bill(bill::gzip(text.as_bytes())),
        Some(text) => BillReply::Bill(text.into_bytes()),
    }
}

/// One line of backtick-prefixed fields.
fn line(fields: &[String]) -> String {
    fields
        .iter()
        .map(|f| format!("`{f}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// One row's values by column name.
type Fields = Vec<(&'static str, String)>;

/// The bill of `day`, or `None` when it had no trade.
fn render(
    ctx: &BillContext<'_>,
    day: NaiveDate,
    bill_type: BillType,
    orders: &[&Order],
    refunds: &[&RefundEntry],
) -> Option<String> {
    // Every row as (trade time, its fields by column name).
    let mut rows: Vec<(DateTime<Utc>, Fields)> = Vec::new();
    let mut settlement = Fen::ZERO;
    let mut refunded = Fen::ZERO;
    let mut fees = Fee::ZERO;
    let add = |a: Fen, b: Fen| a.checked_add(b).unwrap_or(a);
    let common = |o: &Order| -> Fields {
        vec![
            ("公众账号ID", ctx.appid.to_string()),
            ("商户号", ctx.mch_id.to_string()),
            ("特约商户号", "0".into()),
            (
                "设备号",
                o.optional("device_info").cloned().unwrap_or_default(),
            ),
            ("微信订单号", o.transaction_id.clone().unwrap_or_default()),
            ("商户订单号", o.out_trade_no.clone()),
            ("用户标识", o.openid.clone().unwrap_or_default()),
            ("交易类型", "NATIVE".into()),
            ("付款银行", "OTHERS".into()),
            ("货币种类", "CNY".into()),
            ("代金券金额", "0.00".into()),
            ("充值券退款金额", "0.00".into()),
            ("商品名称", o.body.clone()),
            (
                "商户数据包",
                o.optional("attach").cloned().unwrap_or_default(),
            ),
            ("费率", rate_text()),
            ("费率备注", String::new()),
        ]
    };
    if bill_type != BillType::Refund {
        for o in orders {
            let paid = matches!(o.state, TradeState::Success | TradeState::Refund);
            let Some(t) = o.time_end.filter(|t| paid && beijing_day(*t) == day) else {
                continue;
            };
            let fee = Fee::from_fen(fee_fen(o.total_fee));
            let mut f = common(o);
            f.extend([
                ("交易时间", format_wx_datetime(t)),
                ("交易状态", "SUCCESS".to_string()),
                ("应结订单金额", o.total_fee.yuan_string()),
                ("微信退款单号", "0".into()),
                ("商户退款单号", "0".into()),
                ("退款金额", "0.00".into()),
                ("退款类型", String::new()),
                ("退款状态", String::new()),
                ("手续费", fee.yuan_string()),
                ("订单金额", o.total_fee.yuan_string()),
                ("申请退款金额", "0.00".into()),
            ]);
            settlement = add(settlement, o.total_fee);
            fees = fees.checked_add(fee).unwrap_or(fees);
            rows.push((t, f));
        }
    }
    if bill_type != BillType::Success {
        for r in refunds {
            if beijing_day(r.created_at) != day {
                continue;
            }
            let Some(o) = orders.iter().find(|o| o.out_trade_no == r.out_trade_no) else {
                continue;
            };
            let fee = Fee::from_fen(-fee_fen(r.refund_fee));
            let mut f = common(o);
            // A refund row's money is in its refund columns; its order amounts are 0.00, so that the
            // summary's order totals are the payments' (as in the reference's sample summary).
            f.extend([
                ("交易时间", format_wx_datetime(r.created_at)),
                ("交易状态", "REFUND".to_string()),
                ("应结订单金额", "0.00".into()),
                ("退款申请时间", format_wx_datetime(r.created_at)),
                (
                    "退款成功时间",
                    r.settled_at
                        .filter(|_| r.status == RefundStatus::Success)
                        .map(format_wx_datetime)
                        .unwrap_or_default(),
                ),
                ("微信退款单号", r.refund_id.clone()),
                ("商户退款单号", r.out_refund_no.clone()),
                ("退款金额", r.refund_fee.yuan_string()),
                ("退款类型", "ORIGINAL".into()),
                ("退款状态", r.status.as_str().to_string()),
                ("手续费", fee.yuan_string()),
                ("订单金额", "0.00".into()),
                ("申请退款金额", r.refund_fee.yuan_string()),
            ]);
            refunded = add(refunded, r.refund_fee);
            fees = fees.checked_add(fee).unwrap_or(fees);
            rows.push((r.created_at, f));
        }
    }
    if rows.is_empty() {
        return None;
    }
    rows.sort_by_key(|(t, _)| *t);
    let (columns, summary_columns): (&[&str], &[&str]) = match bill_type {
        BillType::All => (&ALL_COLUMNS[..], &SUMMARY_COLUMNS[..]),
        BillType::Success => (&SUCCESS_COLUMNS[..], &SUCCESS_SUMMARY_COLUMNS[..]),
        BillType::Refund => (&REFUND_COLUMNS[..], &SUMMARY_COLUMNS[..]),
    };
    let mut out = columns.join(",");
    out.push_str("\r\n");
    for (_, f) in &rows {
        let values: Vec<String> = columns
            .iter()
            .map(|c| {
                f.iter()
                    .find(|(name, _)| name == c)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            })
            .collect();
        out.push_str(&line(&values));
        out.push_str("\r\n");
    }
    let summary: Vec<String> = summary_columns
        .iter()
        .map(|c| match *c {
            "总交易单数" => rows.len().to_string(),
            "应结订单总金额" | "订单总金额" => settlement.yuan_string(),
            "退款总金额" | "申请退款总金额" => refunded.yuan_string(),
            "手续费总金额" => fees.yuan_string(),
            _ => "0.00".to_string(),
        })
        .collect();
    out.push_str(&summary_columns.join(","));
    out.push_str("\r\n");
    out.push_str(&line(&summary));
    out.push_str("\r\n");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_are_rounded_half_up_to_the_fen() {
        assert_eq!(fee_fen(Fen::new(1).unwrap()), 0);
        assert_eq!(fee_fen(Fen::new(83).unwrap()), 0); // 0.498 fen
        assert_eq!(fee_fen(Fen::new(84).unwrap()), 1); // 0.504 fen
        assert_eq!(fee_fen(Fen::new(1200).unwrap()), 7); // 7.2 fen
        assert_eq!(fee_fen(Fen::new(1250).unwrap()), 8); // 7.5 fen
        assert_eq!(rate_text(), "0.60%");
    }
}
