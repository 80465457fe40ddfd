//! The gateway's refunds: the refund book and the rules of `/secapi/pay/refund` and `/pay/refundquery`
//! (reference §7.1, §7.2), as the live gateway applies them:
//! * only a paid order is refunded, and `total_fee` must be its amount;
//! * the refunds of an order sum to at most what was paid (REFUNDCLOSE ones do not count), at most
//!   [`MAX_REFUNDS_PER_ORDER`] of them, at least `min_interval` apart (`FREQUENCY_LIMITED`);
//! * the same `out_refund_no` is the same refund: sent again with the same values it answers as the first
//!   time and refunds nothing more; with other values it is refused;
//! * an accepted refund is PROCESSING, then settles (`settle`) as SUCCESS, CHANGE or REFUNDCLOSE; the order
//!   answers `trade_state=REFUND` from the first accepted refund on.
//!
//! Pure logic like `store.rs`: the current instant comes in, fields or a [`Refusal`] go out. The error texts
//! for an over-refund, the 50-refund limit and a changed re-sent refund are not in the reference; they are
//! the wording merchants report from the live gateway, or (the 50 limit) made up in its style.
//! Not here: settling over time and the notification (`refund_notify.rs`), HTTP (`gateway.rs`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rand::Rng;

use crate::clock::{format_wx, format_wx_datetime};
use crate::money::Fen;
use crate::wxpay::api::valid_out_refund_no;
use crate::wxpay::{Params, RefundStatus, TradeState};

use super::order::NotifyProgress;
use super::store::{Refusal, Store, biz};

/// At most this many refunds per order (reference §7.1).
pub const MAX_REFUNDS_PER_ORDER: usize = 50;

/// Refunds per page of an order-level refundquery (reference §7.2).
pub const QUERY_PAGE: usize = 10;

/// Where the sandbox says refunded money went.
pub const RECV_ACCOUNT: &str = "支付用户零钱";

/// One refund as the gateway knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundEntry {
    pub out_refund_no: String,
    pub out_trade_no: String,
    pub refund_id: String,
    pub refund_fee: Fen,
    /// The order's total when the refund was asked for.
    pub total_fee: Fen,
    pub refund_desc: Option<String>,
    /// The request's `notify_url`; without one the notification goes to the order's.
    pub notify_url: Option<String>,
    pub status: RefundStatus,
    pub created_at: DateTime<Utc>,
    /// When it settled (SUCCESS, CHANGE or REFUNDCLOSE).
    pub settled_at: Option<DateTime<Utc>>,
    pub notify: NotifyProgress,
}

impl RefundEntry {
    /// Whether its amount counts against what is left of the order (all but REFUNDCLOSE).
    pub fn counts(&self) -> bool {
        self.status != RefundStatus::RefundClose
    }

    /// The fields of the decrypted refund notification (`<root>`, reference §7.3).
    pub fn notification_fields(&self, transaction_id: &str) -> Params {
        let mut p = self.id_and_amount_fields(transaction_id);
        p.insert("refund_status".into(), self.status.as_str().into());
        if self.status == RefundStatus::Success
            && let Some(t) = self.settled_at
        {
            p.insert("success_time".into(), format_wx_datetime(t));
        }
        p.insert("refund_recv_accout".into(), RECV_ACCOUNT.into());
        p.insert(
            "refund_account".into(),
            "REFUND_SOURCE_UNSETTLED_FUNDS".into(),
        );
        p.insert("refund_request_source".into(), "API".into());
        p
    }

    /// The numbers and amounts every answer and notification about this refund carries.
    fn id_and_amount_fields(&self, transaction_id: &str) -> Params {
        let mut p = Params::new();
        p.insert("transaction_id".into(), transaction_id.into());
        p.insert("out_trade_no".into(), self.out_trade_no.clone());
        p.insert("out_refund_no".into(), self.out_refund_no.clone());
        p.insert("refund_id".into(), self.refund_id.clone());
        p.insert("total_fee".into(), self.total_fee.get().to_string());
        p.insert(
            "settlement_total_fee".into(),
            self.total_fee.get().to_string(),
        );
        p.insert("refund_fee".into(), self.refund_fee.get().to_string());
        p.insert(
            "settlement_refund_fee".into(),
            self.refund_fee.get().to_string(),
        );
        p
    }

    /// The `$n` fields of a refundquery answer.
    fn query_fields(&self, n: usize, p: &mut Params) {
        let mut put = |name: &str, v: String| {
            p.insert(format!("{name}_{n}"), v);
        };
        put("out_refund_no", self.out_refund_no.clone());
        put("refund_id", self.refund_id.clone());
        put("refund_channel", "ORIGINAL".into());
        put("refund_fee", self.refund_fee.get().to_string());
        put("settlement_refund_fee", self.refund_fee.get().to_string());
        put("refund_status", self.status.as_str().into());
        put("refund_account", "REFUND_SOURCE_UNSETTLED_FUNDS".into());
        put("refund_recv_accout", RECV_ACCOUNT.into());
        if self.status == RefundStatus::Success
            && let Some(t) = self.settled_at
        {
            put("refund_success_time", format_wx_datetime(t));
        }
    }
}

/// All refunds of the sandbox's merchant.
#[derive(Debug, Default)]
pub struct RefundBook {
    entries: HashMap<String, RefundEntry>,
    /// out_trade_no → its refunds' numbers, oldest first.
    by_order: HashMap<String, Vec<String>>,
}

impl RefundBook {
    pub fn insert(&mut self, entry: RefundEntry) {
        self.by_order
            .entry(entry.out_trade_no.clone())
            .or_default()
            .push(entry.out_refund_no.clone());
        self.entries.insert(entry.out_refund_no.clone(), entry);
    }

    pub fn get(&self, out_refund_no: &str) -> Option<&RefundEntry> {
        self.entries.get(out_refund_no)
    }

    pub fn get_mut(&mut self, out_refund_no: &str) -> Option<&mut RefundEntry> {
        self.entries.get_mut(out_refund_no)
    }

    /// The refunds of an order, oldest first.
    pub fn of_order(&self, out_trade_no: &str) -> Vec<&RefundEntry> {
        self.by_order
            .get(out_trade_no)
            .map(|nos| nos.iter().filter_map(|n| self.entries.get(n)).collect())
            .unwrap_or_default()
    }

    /// All refunds, oldest first.
    pub fn all(&self) -> Vec<&RefundEntry> {
        let mut v: Vec<&RefundEntry> = self.entries.values().collect();
        v.sort_by(|a, b| (a.created_at, &a.out_refund_no).cmp(&(b.created_at, &b.out_refund_no)));
        v
    }
}

impl Store {
    /// `/secapi/pay/refund` after the common checks (and the client certificate). Returns the answer
    /// fields and the number of a refund created just now (`None` for a re-sent one).
    pub fn refund(
        &mut self,
        req: &Params,
        now: DateTime<Utc>,
        min_interval: chrono::Duration,
    ) -> Result<(Params, Option<String>), Refusal> {
        let get = |n: &str| req.get(n).map(String::as_str).filter(|s| !s.is_empty());
        for name in ["out_refund_no", "total_fee", "refund_fee"] {
            if get(name).is_none() {
                return Err(biz("LACK_PARAMS", format!("缺少参数{name}")));
            }
        }
        let out_refund_no = get("out_refund_no").unwrap_or_default();
        if !valid_out_refund_no(out_refund_no) {
            return Err(biz(
                "PARAM_ERROR",
                "out_refund_no参数格式错误：1-64位数字、字母、_-|*@",
            ));
        }
        let total_fee = amount("total_fee", get("total_fee").unwrap_or_default())?;
        let refund_fee = amount("refund_fee", get("refund_fee").unwrap_or_default())?;
        if !matches!(get("refund_fee_type"), None | Some("CNY")) {
            return Err(biz("PARAM_ERROR", "refund_fee_type参数错误：只支持CNY"));
        }
        if get("refund_desc").is_some_and(|d| d.len() > 80) {
            return Err(biz("PARAM_ERROR", "refund_desc参数长度有误"));
        }
        let notify_url = get("notify_url");
        if let Some(u) = notify_url
            && (u.len() > 256
                || !(u.starts_with("http://") || u.starts_with("https://"))
                || u.contains('?'))
        {
            return Err(biz(
                "PARAM_ERROR",
                "notify_url参数格式错误：须为不带参数的http(s)地址",
            ));
        }
        let out_trade_no = match (get("transaction_id"), get("out_trade_no")) {
            (Some(t), _) => self
                .resolve(t)
                .filter(|n| {
                    self.get(n)
                        .is_some_and(|o| o.transaction_id.as_deref() == Some(t))
                })
                .ok_or_else(|| biz("INVALID_TRANSACTIONID", "无效transaction_id"))?,
            (None, Some(n)) => n.to_string(),
            (None, None) => {
                return Err(biz("LACK_PARAMS", "缺少参数out_trade_no或transaction_id"));
            }
        };
        let order = self
            .get(&out_trade_no)
            .ok_or_else(|| biz("ORDERNOTEXIST", "订单不存在"))?;
        if !order.state.is_paid() {
            return Err(biz("ORDERNOTEXIST", "订单未支付，不能退款"));
        }
        if total_fee != order.total_fee {
            return Err(biz(
                "PARAM_ERROR",
                "订单金额total_fee与订单实际支付金额不一致",
            ));
        }
        let transaction_id = order.transaction_id.clone().unwrap_or_default();
        let order_total = order.total_fee;

        // The same number is the same refund.
        if let Some(existing) = self.refunds.get(out_refund_no) {
            if existing.out_trade_no != out_trade_no || existing.refund_fee != refund_fee {
                return Err(biz(
                    "INVALID_REQUEST",
                    "订单金额或退款金额与之前请求不一致，请核实后再试",
                ));
            }
            return Ok((apply_answer(existing, &transaction_id), None));
        }

        let refunds = self.refunds.of_order(&out_trade_no);
        let refunded: i64 = refunds
            .iter()
            .filter(|r| r.counts())
            .map(|r| r.refund_fee.get())
            .sum();
        let left = order_total.get() - refunded;
        if left <= 0 {
            return Err(biz("ERROR", "订单已全额退款"));
        }
        if refunds.len() >= MAX_REFUNDS_PER_ORDER {
            return Err(biz(
                "ERROR",
                "该订单退款次数已达上限（50次），请使用其他方式退款",
            ));
        }
        if refund_fee.get() > left {
            return Err(biz("ERROR", "累计退款金额大于支付金额"));
        }
        if let Some(last) = refunds.iter().map(|r| r.created_at).max()
            && now - last < min_interval
        {
            return Err(biz(
                "FREQUENCY_LIMITED",
                "频率限制：同一笔订单两次退款申请的间隔须至少1分钟，请稍后用相同退款单号重试",
            ));
        }
        let entry = RefundEntry {
            out_refund_no: out_refund_no.to_string(),
            out_trade_no: out_trade_no.clone(),
            refund_id: new_refund_id(now),
            refund_fee,
            total_fee: order_total,
            refund_desc: get("refund_desc").map(str::to_string),
            notify_url: notify_url.map(str::to_string),
            status: RefundStatus::Processing,
            created_at: now,
            settled_at: None,
            notify: NotifyProgress::default(),
        };
        let answer = apply_answer(&entry, &transaction_id);
        self.refunds.insert(entry);
        if let Some(order) = self.get_mut(&out_trade_no) {
            order.state = TradeState::Refund;
        }
        Ok((answer, Some(out_refund_no.to_string())))
    }

    /// `/pay/refundquery` after the common checks. The key is `refund_id` > `out_refund_no` >
    /// `transaction_id` > `out_trade_no`; an order-level query answers [`QUERY_PAGE`] refunds from `offset`.
    pub fn refund_query(&self, req: &Params) -> Result<Params, Refusal> {
        let get = |n: &str| req.get(n).map(String::as_str).filter(|s| !s.is_empty());
        let not_found = || biz("REFUNDNOTEXIST", "退款订单查询失败");
        let (out_trade_no, page, total): (String, Vec<&RefundEntry>, usize) = if let Some(id) =
            get("refund_id")
        {
            let e = self
                .refunds
                .all()
                .into_iter()
                .find(|r| r.refund_id == id)
                .ok_or_else(not_found)?;
            (e.out_trade_no.clone(), vec![e], 1)
        } else if let Some(no) = get("out_refund_no") {
            let e = self.refunds.get(no).ok_or_else(not_found)?;
            (e.out_trade_no.clone(), vec![e], 1)
        } else {
            let out_trade_no = match (get("transaction_id"), get("out_trade_no")) {
                (Some(t), _) => self
                    .resolve(t)
                    .filter(|n| {
                        self.get(n)
                            .is_some_and(|o| o.transaction_id.as_deref() == Some(t))
                    })
                    .ok_or_else(|| biz("INVALID_TRANSACTIONID", "无效transaction_id"))?,
                (None, Some(n)) => n.to_string(),
                (None, None) => {
                    return Err(biz(
                        "LACK_PARAMS",
                        "缺少参数：refund_id、out_refund_no、transaction_id、out_trade_no须填一个",
                    ));
                }
            };
            let all = self.refunds.of_order(&out_trade_no);
            if all.is_empty() {
                return Err(not_found());
            }
            let offset = match get("offset") {
                None => 0,
                Some(o) => o
                    .parse::<usize>()
                    .ok()
                    .filter(|o| *o < all.len())
                    .ok_or_else(|| biz("PARAM_ERROR", "offset参数错误"))?,
            };
            let total = all.len();
            let page = all.into_iter().skip(offset).take(QUERY_PAGE).collect();
            (out_trade_no, page, total)
        };
        let order = self.get(&out_trade_no).ok_or_else(not_found)?;
        let mut p = Params::new();
        p.insert(
            "transaction_id".into(),
            order.transaction_id.clone().unwrap_or_default(),
        );
        p.insert("out_trade_no".into(), out_trade_no.clone());
        p.insert("total_fee".into(), order.total_fee.get().to_string());
        p.insert("fee_type".into(), "CNY".into());
        p.insert("cash_fee".into(), order.total_fee.get().to_string());
        p.insert("refund_count".into(), page.len().to_string());
        p.insert("total_refund_count".into(), total.to_string());
        for (n, r) in page.iter().enumerate() {
            r.query_fields(n, &mut p);
        }
        Ok(p)
    }

    /// A PROCESSING refund reaches its final `status` at `now`. Returns whether it changed (a refund that
    /// settled already stays as it is).
    pub fn settle_refund(
        &mut self,
        out_refund_no: &str,
        status: RefundStatus,
        now: DateTime<Utc>,
    ) -> bool {
        match self.refunds.get_mut(out_refund_no) {
            Some(r) if r.status == RefundStatus::Processing && status.is_final() => {
                r.status = status;
                r.settled_at = Some(now);
                true
            }
            _ => false,
        }
    }
}

/// The answer fields of an accepted refund (the first time and when it is sent again).
fn apply_answer(r: &RefundEntry, transaction_id: &str) -> Params {
    let mut p = r.id_and_amount_fields(transaction_id);
    p.insert("fee_type".into(), "CNY".into());
    p.insert("cash_fee".into(), r.total_fee.get().to_string());
    p.insert("cash_refund_fee".into(), r.refund_fee.get().to_string());
    p.insert("refund_channel".into(), "ORIGINAL".into());
    p
}

fn amount(name: &str, s: &str) -> Result<Fen, Refusal> {
    s.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| s.parse::<i64>().ok())
        .flatten()
        .and_then(Fen::new)
        .filter(|f| f.get() >= 1 && *f <= Fen::MAX)
        .ok_or_else(|| {
            biz(
                "PARAM_ERROR",
                format!("{name}参数错误：须为正整数（单位分）"),
            )
        })
}

/// 29 digits, `5030000000` + the Beijing date + 11 random digits (the live shape).
fn new_refund_id(now: DateTime<Utc>) -> String {
    let mut rng = rand::rng();
    let tail: String = (0..11)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect();
    format!("5030000000{}{tail}", &format_wx(now)[..8])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::CustomerAction;
    use crate::wxpay::SignType;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 20, 4, 30, 0).unwrap()
    }

    fn paid_order(s: &mut Store, no: &str, fee: &str) {
        let req: Params = [
            ("body", "小张南山店-超市"),
            ("out_trade_no", no),
            ("total_fee", fee),
            ("spbill_create_ip", "127.0.0.1"),
            ("notify_url", "http://127.0.0.1:9/notify"),
            ("trade_type", "NATIVE"),
            ("product_id", "SKU-1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        s.unified_order(&req, SignType::Md5, now()).unwrap();
        s.customer(no, CustomerAction::Pay, now()).unwrap();
    }

    fn refund_req(order: &str, no: &str, total: &str, fee: &str) -> Params {
        [
            ("out_trade_no", order),
            ("out_refund_no", no),
            ("total_fee", total),
            ("refund_fee", fee),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn code(r: Result<(Params, Option<String>), Refusal>) -> &'static str {
        match r {
            Ok(_) => "OK",
            Err(Refusal::Business { code, .. }) => code,
            Err(Refusal::Protocol(_)) => "PROTOCOL",
        }
    }

    #[test]
    fn refund_rules() {
        let mut s = Store::default();
        let gap = chrono::Duration::minutes(1);
        paid_order(&mut s, "ORDER001", "1000");
        let (a, created) = s
            .refund(&refund_req("ORDER001", "R1", "1000", "300"), now(), gap)
            .unwrap();
        assert_eq!(created.as_deref(), Some("R1"));
        assert_eq!(a["refund_id"].len(), 29);
        assert_eq!(s.get("ORDER001").unwrap().state, TradeState::Refund);
        // Re-sent: the same refund, nothing new.
        let (b, created) = s
            .refund(&refund_req("ORDER001", "R1", "1000", "300"), now(), gap)
            .unwrap();
        assert_eq!((created, &b["refund_id"]), (None, &a["refund_id"]));
        assert_eq!(
            code(s.refund(&refund_req("ORDER001", "R1", "1000", "301"), now(), gap)),
            "INVALID_REQUEST"
        );
        assert_eq!(
            code(s.refund(&refund_req("ORDER001", "R2", "1000", "100"), now(), gap)),
            "FREQUENCY_LIMITED"
        );
        let later = now() + gap;
        assert_eq!(
            code(s.refund(&refund_req("ORDER001", "R2", "1000", "701"), later, gap)),
            "ERROR"
        );
        assert_eq!(
            code(s.refund(&refund_req("ORDER001", "R2", "999", "700"), later, gap)),
            "PARAM_ERROR"
        );
        assert_eq!(
            code(s.refund(&refund_req("ORDER001", "R2", "1000", "700"), later, gap)),
            "OK"
        );
        assert_eq!(
            code(s.refund(&refund_req("ORDER001", "R3", "1000", "1"), later + gap, gap)),
            "ERROR"
        );
        // A closed refund gives its amount back.
        assert!(s.settle_refund("R2", RefundStatus::RefundClose, later));
        assert!(!s.settle_refund("R2", RefundStatus::Success, later));
        assert_eq!(
            code(s.refund(
                &refund_req("ORDER001", "R3", "1000", "700"),
                later + gap,
                gap
            )),
            "OK"
        );
        assert_eq!(
            code(s.refund(&refund_req("NOSUCH01", "R9", "1000", "1"), now(), gap)),
            "ORDERNOTEXIST"
        );

        let q = s.refund_query(&refund_req("ORDER001", "", "", "")).unwrap();
        assert_eq!(q["refund_count"], "3");
        assert_eq!(q["out_refund_no_1"], "R2");
        assert_eq!(q["refund_status_1"], "REFUNDCLOSE");
        let q = s.refund_query(&refund_req("", "R3", "", "")).unwrap();
        assert_eq!(
            (q["refund_count"].as_str(), q["out_refund_no_0"].as_str()),
            ("1", "R3")
        );
    }
}
