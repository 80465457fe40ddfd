//! The strict parser of the text bill (reference §8): the header's columns by name, every row's fields
//! into exact fen and [`Fee`] units, the summary, and the check that the summary equals the sum of the rows;
//! a bill that does not read is refused with the line and column at fault.
//!
//! Not here: telling a text bill from an error body or a gzip stream (`mod.rs`, [`super::read_answer`]),
//! and the column tables (`columns.rs`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Bill, BillError, BillRefund, BillRow, BillSummary, Fee};
use crate::clock::parse_wx_datetime;
use crate::money::Fen;

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

#[cfg(test)]
mod tests {
    use super::super::test_support::sample;
    use super::super::*;
    use super::*;

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
}
