//! One order as the gateway knows it: the business fields of its first unifiedorder, its state, payer and
//! notification progress, the identifiers the gateway hands out (in their live shapes), and the payment
//! facts it reports. Pure data and derivations; the rules of the calls that change an order are in
//! `store.rs`.

use chrono::{DateTime, Utc};
use rand::Rng;

use crate::clock::format_wx;
use crate::money::Fen;
use crate::wxpay::{Params, SignType, TradeState};

use super::SandboxOrder;
use super::store::{Refusal, parse_fee, parse_time};

/// How long an order stays payable when the request has no `time_expire`. Not documented for v2; this is
/// the documented validity of a `code_url`/`prepay_id` (reference §10).
pub const DEFAULT_WINDOW: chrono::Duration = chrono::Duration::hours(2);

/// Progress of the payment notification of one order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyProgress {
    /// Schedule slots used so far (sent or dropped by a fault).
    pub slots: u32,
    /// Slots in which the notification was really POSTed.
    pub attempts: u32,
    /// HTTP POSTs made (a duplicated delivery counts twice).
    pub posts: u32,
    /// Slots dropped by the `drop_notify` fault.
    pub dropped: u32,
    /// The merchant answered HTTP 200 with `return_code=SUCCESS`.
    pub acked: bool,
}

/// One order as the gateway knows it.
#[derive(Debug, Clone)]
pub struct Order {
    /// The business fields of the first request (without nonce_str, sign, sign_type, empty values).
    pub request: Params,
    /// The algorithm of the first unifiedorder; notifications are signed with it.
    pub sign_type: SignType,
    pub out_trade_no: String,
    pub body: String,
    pub total_fee: Fen,
    pub notify_url: String,
    pub code_url: String,
    pub prepay_id: String,
    pub created_at: DateTime<Utc>,
    pub time_expire: DateTime<Utc>,
    /// The stored state; see [`Order::effective_state`] for what orderquery says.
    pub state: TradeState,
    pub transaction_id: Option<String>,
    pub time_end: Option<DateTime<Utc>>,
    /// The payer, bound at the first scan.
    pub openid: Option<String>,
    pub notify: NotifyProgress,
}

impl Order {
    /// Built from the validated business fields of a first request.
    pub fn from_request(
        request: Params,
        sign_type: SignType,
        created_at: DateTime<Utc>,
    ) -> Result<Order, Refusal> {
        let field = |n: &str| request.get(n).cloned().unwrap_or_default();
        let total_fee = parse_fee(&field("total_fee"))?;
        let time_expire = match request.get("time_expire") {
            Some(s) => parse_time("time_expire", s)?,
            None => created_at + DEFAULT_WINDOW,
        };
        Ok(Order {
            out_trade_no: field("out_trade_no"),
            body: field("body"),
            notify_url: field("notify_url"),
            total_fee,
            request,
            sign_type,
            code_url: new_code_url(),
            prepay_id: new_prepay_id(created_at),
            created_at,
            time_expire,
            state: TradeState::NotPay,
            transaction_id: None,
            time_end: None,
            openid: None,
            notify: NotifyProgress::default(),
        })
    }

    /// Past `time_expire`: the order can no longer be paid.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.time_expire
    }

    /// What orderquery answers. Expiry alone does not close an order (the live gateway sends nothing and
    /// community reports differ, reference §15): an unpaid order past its `time_expire` answers `NOTPAY`
    /// (a customer who had scanned it can no longer pay, so `USERPAYING` falls back to `NOTPAY` too) until
    /// the merchant closes it.
    pub fn effective_state(&self, now: DateTime<Utc>) -> TradeState {
        match &self.state {
            TradeState::UserPaying if self.expired(now) => TradeState::NotPay,
            s => s.clone(),
        }
    }

    /// Open: the customer can still pay it.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        matches!(self.state, TradeState::NotPay | TradeState::UserPaying) && !self.expired(now)
    }

    pub fn optional(&self, name: &str) -> Option<&String> {
        self.request.get(name).filter(|v| !v.is_empty())
    }

    pub fn snapshot(&self, now: DateTime<Utc>) -> SandboxOrder {
        SandboxOrder {
            out_trade_no: self.out_trade_no.clone(),
            body: self.body.clone(),
            total_fee: self.total_fee,
            trade_state: self.effective_state(now),
            expired: self.expired(now),
            transaction_id: self.transaction_id.clone(),
            code_url: self.code_url.clone(),
            prepay_id: self.prepay_id.clone(),
            notify_url: self.notify_url.clone(),
            sign_type: self.sign_type,
            time_expire: self.time_expire,
            created_at: self.created_at,
            time_end: self.time_end,
            openid: self.openid.clone(),
            notify_attempts: self.notify.attempts,
            notify_posts: self.notify.posts,
            notify_dropped: self.notify.dropped,
            notify_acked: self.notify.acked,
        }
    }

    /// The payment facts shared by a SUCCESS orderquery and the notification.
    pub fn payment_fields(&self, p: &mut Params) {
        let total = self.total_fee.get().to_string();
        p.insert("openid".into(), self.openid.clone().unwrap_or_default());
        p.insert("is_subscribe".into(), "N".into());
        p.insert("trade_type".into(), "NATIVE".into());
        p.insert("bank_type".into(), "OTHERS".into());
        p.insert("total_fee".into(), total.clone());
        p.insert("fee_type".into(), "CNY".into());
        p.insert("cash_fee".into(), total);
        p.insert("cash_fee_type".into(), "CNY".into());
        p.insert(
            "transaction_id".into(),
            self.transaction_id.clone().unwrap_or_default(),
        );
        p.insert("out_trade_no".into(), self.out_trade_no.clone());
        p.insert(
            "time_end".into(),
            self.time_end.map(format_wx).unwrap_or_default(),
        );
        if let Some(d) = self.optional("device_info") {
            p.insert("device_info".into(), d.clone());
        }
        if let Some(a) = self.optional("attach") {
            p.insert("attach".into(), a.clone());
        }
    }
}

/// `trade_state_desc` as the live gateway words it.
pub fn state_desc(state: &TradeState) -> &'static str {
    match state {
        TradeState::Success => "支付成功",
        TradeState::Refund => "转入退款",
        TradeState::NotPay => "订单未支付",
        TradeState::Closed => "订单已关闭",
        TradeState::Revoked => "已撤销",
        TradeState::UserPaying => "需要用户输入支付密码",
        TradeState::PayError => "支付失败，请重新下单支付",
        TradeState::Accept => "已接收，等待扣款",
        TradeState::Unknown(_) => "未知状态",
    }
}

fn random_string(charset: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| charset[rng.random_range(0..charset.len())] as char)
        .collect()
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `weixin://wxpay/bizpayurl?pr=` and 7 base62 characters, like the live v2 answers.
fn new_code_url() -> String {
    format!("weixin://wxpay/bizpayurl?pr={}", random_string(BASE62, 7))
}

/// `wx` + creation time + 20 hex digits (the live shape, 36 characters).
fn new_prepay_id(now: DateTime<Utc>) -> String {
    format!(
        "wx{}{}",
        format_wx(now),
        random_string(b"0123456789abcdef", 20)
    )
}

/// 28 digits: `4200002000`, the Beijing date, 10 random digits.
pub(super) fn new_transaction_id(now: DateTime<Utc>) -> String {
    let date = &format_wx(now)[..8];
    format!("4200002000{date}{}", random_string(b"0123456789", 10))
}

/// A payer's openid for this merchant's appid: 28 characters starting with `o`.
pub(super) fn new_openid() -> String {
    let charset = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-";
    format!("oUpF8u{}", random_string(charset, 22))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 20, 4, 30, 0).unwrap()
    }

    #[test]
    fn ids_have_the_live_shapes() {
        let t = new_transaction_id(now());
        assert_eq!(t.len(), 28);
        assert!(t.starts_with("420000200020240520"));
        let c = new_code_url();
        assert_eq!(c.len(), "weixin://wxpay/bizpayurl?pr=".len() + 7);
        assert_eq!(new_openid().len(), 28);
        assert!(new_prepay_id(now()).starts_with("wx20240520123000"));
    }
}
