//! What the reconciliation's tests share: times on the bill's day, ledger orders and refunds, bill rows and
//! the ledger's side of a day. Tests only; no test lives here.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::LedgerSide;
use crate::ledger::{CloseReason, Order, OrderStatus, Refund, RefundSource, RefundState};
use crate::money::Fen;
use crate::wxpay::bill::{BillRow, Fee};

pub(super) fn t(h: u32, m: u32) -> DateTime<Utc> {
    // Beijing 2026-11-27 h:m.
    Utc.with_ymd_and_hms(2026, 11, 27, h, m, 0).unwrap() - Duration::hours(8)
}

pub(super) fn fen(v: i64) -> Fen {
    Fen::new(v).unwrap()
}

pub(super) fn order(no: &str, total: i64, status: OrderStatus, txn: Option<&str>) -> Order {
    let at = t(9, 0);
    Order {
        out_trade_no: no.into(),
        station: "S1".into(),
        cashier: String::new(),
        created_at: at,
        expires_at: at,
        total: fen(total),
        body: "PayDesk".into(),
        notify_url: String::new(),
        spbill_create_ip: String::new(),
        product_id: no.into(),
        device_info: None,
        time_start: at,
        time_expire: at,
        status,
        close_reason: (status == OrderStatus::Expired).then_some(CloseReason::Expire),
        code_url: None,
        prepay_id: None,
        transaction_id: txn.map(str::to_string),
        paid_at: txn.map(|_| t(9, 1)),
        cash_fee: None,
        bank_type: None,
        openid: None,
        flagged: false,
        flag_reason: None,
        updated_at: at,
        rechecks: 0,
        refunded: Fen::ZERO,
        refund_pending: Fen::ZERO,
    }
}

pub(super) fn refund(no: &str, otn: &str, amount: i64, status: RefundState) -> Refund {
    Refund {
        out_refund_no: no.into(),
        out_trade_no: otn.into(),
        amount: fen(amount),
        reason: String::new(),
        approved_by: "店长".into(),
        source: RefundSource::Till,
        status,
        refund_id: None,
        created_at: t(10, 0),
        updated_at: t(10, 0),
        success_at: None,
        recv_account: None,
        flagged: false,
        flag_reason: None,
    }
}

pub(super) fn pay_row(no: &str, total: i64, txn: &str) -> BillRow {
    BillRow {
        line: 2,
        trade_time: t(9, 1),
        appid: String::new(),
        mch_id: String::new(),
        device_info: String::new(),
        transaction_id: txn.into(),
        out_trade_no: no.into(),
        openid: "o1".into(),
        trade_type: "NATIVE".into(),
        trade_state: "SUCCESS".into(),
        bank_type: "OTHERS".into(),
        currency: "CNY".into(),
        settlement: fen(total),
        coupon: Fen::ZERO,
        refund: None,
        body: String::new(),
        attach: String::new(),
        fee: Fee::ZERO,
        rate: "0.60%".into(),
        total: fen(total),
    }
}

pub(super) fn refund_row(no: &str, otn: &str, amount: i64, status: &str) -> BillRow {
    BillRow {
        trade_state: "REFUND".into(),
        trade_time: t(10, 0),
        refund: Some(crate::wxpay::bill::BillRefund {
            refund_id: format!("5030{no}"),
            out_refund_no: no.into(),
            amount: fen(amount),
            requested: fen(amount),
            refund_type: "ORIGINAL".into(),
            status: status.into(),
            requested_at: None,
            succeeded_at: None,
        }),
        settlement: Fen::ZERO,
        total: Fen::ZERO,
        ..pay_row(otn, 0, "T")
    }
}

pub(super) fn side(orders: Vec<Order>, refunds: Vec<Refund>) -> LedgerSide {
    let mut s = LedgerSide::default();
    for o in orders {
        if o.paid_at.is_some() {
            s.paid_on_day.push(o.out_trade_no.clone());
        }
        s.orders.insert(o.out_trade_no.clone(), o);
    }
    for r in refunds {
        s.refunds_on_day.push(r.out_refund_no.clone());
        s.refunds.insert(r.out_refund_no.clone(), r);
    }
    s
}
