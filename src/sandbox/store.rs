//! The gateway's order book and the business rules of the three Native calls and the customer.
//!
//! Pure logic: every operation takes the current instant and returns either the fields of a successful
//! answer or a [`Refusal`]; no I/O, no locking. The HTTP layer (`gateway.rs`) opens and seals the messages
//! (through the wxpay envelope) and frames them; this module decides. An order itself is `order.rs`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::clock::parse_wx;
use crate::money::Fen;
use crate::wxpay::{Params, SignType, TradeState};

use super::order::{Order, new_openid, new_transaction_id, state_desc};
use super::{CustomerAction, SandboxError};

/// The shortest `time_expire` the gateway accepts for Native, counted from its own clock (reference §3.4).
pub const MIN_WINDOW: chrono::Duration = chrono::Duration::minutes(5);

/// The live text of the too-short expiry refusal.
pub const TIME_EXPIRE_TOO_SHORT: &str = "time_expire时间过短，刷卡至少1分钟，其他5分钟";

/// Why a call is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `return_code=FAIL` with this `return_msg`: no business processing, no `sign`.
    Protocol(String),
    /// `result_code=FAIL` with `err_code` and `err_code_des` (signed).
    Business { code: &'static str, des: String },
}

pub(super) fn biz(code: &'static str, des: impl Into<String>) -> Refusal {
    Refusal::Business {
        code,
        des: des.into(),
    }
}

/// Request fields that are not business parameters: they may differ between a request and its re-entry.
const NOT_BUSINESS: [&str; 3] = ["nonce_str", "sign", "sign_type"];

/// All orders of the sandbox's one merchant.
#[derive(Debug, Default)]
pub struct Store {
    orders: HashMap<String, Order>,
    by_code_url: HashMap<String, String>,
    by_transaction_id: HashMap<String, String>,
}

impl Store {
    pub fn insert(&mut self, order: Order) {
        self.by_code_url
            .insert(order.code_url.clone(), order.out_trade_no.clone());
        if let Some(t) = &order.transaction_id {
            self.by_transaction_id
                .insert(t.clone(), order.out_trade_no.clone());
        }
        self.orders.insert(order.out_trade_no.clone(), order);
    }

    pub fn get(&self, out_trade_no: &str) -> Option<&Order> {
        self.orders.get(out_trade_no)
    }

    pub fn get_mut(&mut self, out_trade_no: &str) -> Option<&mut Order> {
        self.orders.get_mut(out_trade_no)
    }

    /// Find an order by its `code_url`, `out_trade_no` or `transaction_id`.
    pub fn resolve(&self, key: &str) -> Option<String> {
        let key = key.trim();
        if let Some(n) = self.by_code_url.get(key) {
            return Some(n.clone());
        }
        if self.orders.contains_key(key) {
            return Some(key.to_string());
        }
        self.by_transaction_id.get(key).cloned()
    }

    /// All orders, oldest first.
    pub fn all(&self) -> Vec<&Order> {
        let mut v: Vec<&Order> = self.orders.values().collect();
        v.sort_by(|a, b| (a.created_at, &a.out_trade_no).cmp(&(b.created_at, &b.out_trade_no)));
        v
    }

    /// `/pay/unifiedorder` after the common checks. Returns the answer fields and whether a new order was
    /// created.
    pub fn unified_order(
        &mut self,
        req: &Params,
        sign_type: SignType,
        now: DateTime<Utc>,
    ) -> Result<(Params, bool), Refusal> {
        let business = validate_unified_order(req)?;
        let out_trade_no = business["out_trade_no"].clone();
        let created = if let Some(existing) = self.orders.get(&out_trade_no) {
            match existing.state {
                TradeState::Success | TradeState::Refund => {
                    return Err(biz("ORDERPAID", "该订单已支付"));
                }
                TradeState::Closed => return Err(biz("ORDERCLOSED", "该订单已关闭")),
                _ if existing.expired(now) => {
                    return Err(biz("ORDERCLOSED", "该订单已过期关闭"));
                }
                TradeState::PayError => return Err(biz("OUT_TRADE_NO_USED", "商户订单号重复")),
                _ => {}
            }
            if existing.request != business {
                return Err(biz(
                    "INVALID_REQUEST",
                    "参数错误：订单重入时，要求参数值与原请求一致，请确认参数问题",
                ));
            }
            false
        } else {
            if let Some(expire) = business.get("time_expire")
                && parse_time("time_expire", expire)? - now < MIN_WINDOW
            {
                return Err(Refusal::Protocol(TIME_EXPIRE_TOO_SHORT.into()));
            }
            self.insert(Order::from_request(business, sign_type, now)?);
            true
        };
        let order = &self.orders[&out_trade_no];
        let mut p = Params::new();
        p.insert("trade_type".into(), "NATIVE".into());
        p.insert("prepay_id".into(), order.prepay_id.clone());
        p.insert("code_url".into(), order.code_url.clone());
        if let Some(d) = order.optional("device_info") {
            p.insert("device_info".into(), d.clone());
        }
        Ok((p, created))
    }

    /// `/pay/orderquery` after the common checks. `transaction_id` wins over `out_trade_no`.
    pub fn order_query(&self, req: &Params, now: DateTime<Utc>) -> Result<Params, Refusal> {
        let txn = req.get("transaction_id").filter(|s| !s.is_empty());
        let otn = req.get("out_trade_no").filter(|s| !s.is_empty());
        let order = match (txn, otn) {
            (Some(t), _) => self
                .by_transaction_id
                .get(t)
                .and_then(|n| self.orders.get(n)),
            (None, Some(n)) => self.orders.get(n),
            (None, None) => {
                return Err(biz("LACK_PARAMS", "缺少参数out_trade_no或transaction_id"));
            }
        };
        let order = order.ok_or_else(|| biz("ORDERNOTEXIST", "订单不存在"))?;
        let state = order.effective_state(now);
        let mut p = Params::new();
        if state.is_paid() {
            order.payment_fields(&mut p);
        } else {
            p.insert("out_trade_no".into(), order.out_trade_no.clone());
            if state.is_final()
                && let Some(a) = order.optional("attach")
            {
                p.insert("attach".into(), a.clone());
            }
            if let Some(d) = order.optional("device_info") {
                p.insert("device_info".into(), d.clone());
            }
        }
        p.insert("trade_state_desc".into(), state_desc(&state).into());
        p.insert("trade_state".into(), state.as_str().into());
        Ok(p)
    }

    /// `/pay/closeorder` after the common checks. `close_min_age`: closing is refused this soon after
    /// creation, with `err_code=TRADE_STATE_ERROR` (WxJava lists it for closeorder) and the live rule's text;
    /// clients map an unknown code to "query first", which is right: the order is still open.
    pub fn close_order(
        &mut self,
        req: &Params,
        now: DateTime<Utc>,
        close_min_age: chrono::Duration,
    ) -> Result<Params, Refusal> {
        let otn = req
            .get("out_trade_no")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| biz("LACK_PARAMS", "缺少参数out_trade_no"))?;
        let order = self
            .orders
            .get_mut(otn)
            .ok_or_else(|| biz("ORDERNOTEXIST", "订单不存在"))?;
        match order.state {
            TradeState::Success | TradeState::Refund => Err(biz("ORDERPAID", "该订单已支付")),
            TradeState::Closed => Err(biz("ORDERCLOSED", "该订单已关闭")),
            _ if now - order.created_at < close_min_age => Err(biz(
                "TRADE_STATE_ERROR",
                "订单生成后不能马上调用关单接口，最短调用时间间隔为5分钟",
            )),
            // A failed payment is final already; closing it is accepted and changes nothing.
            TradeState::PayError => Ok(close_ok()),
            _ => {
                order.state = TradeState::Closed;
                Ok(close_ok())
            }
        }
    }

    /// The simulated customer. Returns the new state and whether the order was paid just now (so the
    /// notification starts).
    pub fn customer(
        &mut self,
        key: &str,
        action: CustomerAction,
        now: DateTime<Utc>,
    ) -> Result<(TradeState, bool), SandboxError> {
        let otn = self
            .resolve(key)
            .ok_or_else(|| SandboxError::UnknownOrder(key.to_string()))?;
        let order = self.orders.get_mut(&otn).expect("resolved");
        match &order.state {
            TradeState::NotPay | TradeState::UserPaying => {}
            other => {
                return Err(SandboxError::NotPayable {
                    out_trade_no: otn,
                    state: other.as_str().to_string(),
                });
            }
        }
        if order.expired(now) {
            return Err(SandboxError::Expired(otn));
        }
        if order.openid.is_none() {
            order.openid = Some(new_openid());
        }
        let paid = match action {
            CustomerAction::Scan => {
                order.state = TradeState::UserPaying;
                false
            }
            CustomerAction::Fail => {
                order.state = TradeState::PayError;
                false
            }
            CustomerAction::Pay => {
                order.state = TradeState::Success;
                order.time_end = Some(now);
                let txn = new_transaction_id(now);
                self.by_transaction_id.insert(txn.clone(), otn.clone());
                order.transaction_id = Some(txn);
                true
            }
        };
        Ok((order.state.clone(), paid))
    }
}

fn close_ok() -> Params {
    let mut p = Params::new();
    p.insert("result_msg".into(), "OK".into());
    p
}

/// Check a unifiedorder's fields (reference §3.1, §11) and return its business parameters.
fn validate_unified_order(req: &Params) -> Result<Params, Refusal> {
    for name in [
        "body",
        "out_trade_no",
        "total_fee",
        "spbill_create_ip",
        "notify_url",
        "trade_type",
    ] {
        if req.get(name).is_none_or(|v| v.is_empty()) {
            return Err(biz("LACK_PARAMS", format!("缺少参数{name}")));
        }
    }
    let param = |des: &str| Err(biz("PARAM_ERROR", des));
    let get = |n: &str| req.get(n).map(String::as_str).unwrap_or("");
    if get("trade_type") != "NATIVE" {
        return param("trade_type参数错误：沙箱只支持NATIVE");
    }
    let product_id = get("product_id");
    if product_id.is_empty() {
        return param("trade_type=NATIVE时，product_id为必填参数");
    }
    if product_id.len() > 32 {
        return param("product_id参数长度有误");
    }
    parse_fee(get("total_fee"))?;
    if !matches!(get("fee_type"), "" | "CNY") {
        return param("fee_type参数错误：只支持CNY");
    }
    if get("body").len() > 127 {
        return param("body参数长度有误");
    }
    if !valid_out_trade_no(get("out_trade_no")) {
        return param("out_trade_no参数格式错误：6-32位数字、字母、_-|*");
    }
    for name in ["time_start", "time_expire"] {
        if let Some(v) = req.get(name).filter(|v| !v.is_empty()) {
            parse_time(name, v)?;
        }
    }
    let url = get("notify_url");
    if url.len() > 256
        || !(url.starts_with("http://") || url.starts_with("https://"))
        || url.contains('?')
    {
        return param("notify_url参数格式错误：须为不带参数的http(s)地址");
    }
    for (name, max) in [
        ("spbill_create_ip", 64),
        ("device_info", 32),
        ("attach", 127),
        ("goods_tag", 32),
        ("detail", 6000),
    ] {
        if get(name).len() > max {
            return param(&format!("{name}参数长度有误"));
        }
    }
    Ok(req
        .iter()
        .filter(|(k, v)| !v.is_empty() && !NOT_BUSINESS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect())
}

/// `[0-9A-Za-z_-|*]{6,32}` (the gateway's charset; PayDesk itself sends the `[0-9A-Za-z_-]` subset).
pub fn valid_out_trade_no(s: &str) -> bool {
    (6..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'|' | b'*'))
}

pub(super) fn parse_fee(s: &str) -> Result<Fen, Refusal> {
    s.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| s.parse::<i64>().ok())
        .flatten()
        .and_then(Fen::new)
        .filter(|f| f.get() >= 1 && *f <= Fen::MAX)
        .ok_or_else(|| biz("PARAM_ERROR", "total_fee参数错误：须为正整数（单位分）"))
}

pub(super) fn parse_time(name: &str, s: &str) -> Result<DateTime<Utc>, Refusal> {
    parse_wx(s).ok_or_else(|| {
        biz(
            "PARAM_ERROR",
            format!("{name}参数格式错误：须为yyyyMMddHHmmss"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 20, 4, 30, 0).unwrap()
    }

    fn req(out_trade_no: &str, fee: &str) -> Params {
        [
            ("appid", "wxd930ea5d5a258f4f"),
            ("mch_id", "10000100"),
            ("nonce_str", "abc"),
            ("sign", "X"),
            ("body", "小张南山店-超市"),
            ("out_trade_no", out_trade_no),
            ("total_fee", fee),
            ("spbill_create_ip", "127.0.0.1"),
            ("notify_url", "http://127.0.0.1:9/notify"),
            ("trade_type", "NATIVE"),
            ("product_id", "SKU-1"),
            ("time_expire", "20240520124000"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn re_entry_and_lifecycle() {
        let mut s = Store::default();
        let (a, created) = s
            .unified_order(&req("ORDER001", "1288"), SignType::Md5, now())
            .unwrap();
        assert!(created);
        let mut again = req("ORDER001", "1288");
        again.insert("nonce_str".into(), "other".into());
        again.insert("sign_type".into(), "MD5".into());
        let (b, created) = s.unified_order(&again, SignType::Md5, now()).unwrap();
        assert!(!created);
        assert_eq!(a["code_url"], b["code_url"]);
        assert_eq!(
            s.unified_order(&req("ORDER001", "1289"), SignType::Md5, now()),
            Err(biz(
                "INVALID_REQUEST",
                "参数错误：订单重入时，要求参数值与原请求一致，请确认参数问题"
            ))
        );
        let (st, paid) = s
            .customer(&a["code_url"], CustomerAction::Pay, now())
            .unwrap();
        assert_eq!((st, paid), (TradeState::Success, true));
        assert!(matches!(
            s.unified_order(&req("ORDER001", "1288"), SignType::Md5, now()),
            Err(Refusal::Business {
                code: "ORDERPAID",
                ..
            })
        ));
        assert!(matches!(
            s.customer("ORDER001", CustomerAction::Fail, now()),
            Err(SandboxError::NotPayable { .. })
        ));
    }

    #[test]
    fn expiry_blocks_payment_and_queries_say_notpay() {
        let mut s = Store::default();
        s.unified_order(&req("ORDER002", "1"), SignType::Md5, now())
            .unwrap();
        s.customer("ORDER002", CustomerAction::Scan, now()).unwrap();
        let later = now() + chrono::Duration::minutes(10);
        assert!(matches!(
            s.customer("ORDER002", CustomerAction::Pay, later),
            Err(SandboxError::Expired(_))
        ));
        let q = s.order_query(&req("ORDER002", "1"), later).unwrap();
        assert_eq!(q["trade_state"], "NOTPAY");
        assert!(matches!(
            s.unified_order(&req("ORDER002", "1"), SignType::Md5, later),
            Err(Refusal::Business {
                code: "ORDERCLOSED",
                ..
            })
        ));
    }

    #[test]
    fn validation() {
        let mut s = Store::default();
        let bad = |field: &str, value: &str| {
            let mut r = req("ORDER003", "1");
            r.insert(field.into(), value.into());
            r
        };
        for (field, value) in [
            ("total_fee", "0"),
            ("total_fee", "-1"),
            ("total_fee", "1.5"),
            ("total_fee", "+5"),
            ("trade_type", "JSAPI"),
            ("product_id", ""),
            ("body", &"x".repeat(128)),
            ("out_trade_no", "short"),
            ("out_trade_no", "has space1"),
            ("time_expire", "2024-05-20"),
            ("notify_url", "ftp://x"),
        ] {
            assert!(
                matches!(
                    s.unified_order(&bad(field, value), SignType::Md5, now()),
                    Err(Refusal::Business {
                        code: "PARAM_ERROR",
                        ..
                    })
                ),
                "{field}={value}"
            );
        }
        assert!(matches!(
            s.unified_order(&bad("spbill_create_ip", ""), SignType::Md5, now()),
            Err(Refusal::Business {
                code: "LACK_PARAMS",
                ..
            })
        ));
        assert!(valid_out_trade_no("a|b*c-_1"));
        assert_eq!(
            s.unified_order(&bad("time_expire", "20240520123400"), SignType::Md5, now()),
            Err(Refusal::Protocol(TIME_EXPIRE_TOO_SHORT.into()))
        );
        assert!(
            s.unified_order(&bad("time_expire", "20240520123500"), SignType::Md5, now())
                .is_ok()
        );
    }
}
