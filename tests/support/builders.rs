//! Builders of the requests tests send: the sandbox's merchant identity, a valid Native unifiedorder as a
//! typed request and as raw fields.

use chrono::{DateTime, Utc};
use paydesk::clock::format_wx;
use paydesk::money::Fen;
use paydesk::sandbox_defaults::{APPID, KEY, MCH_ID};
use paydesk::wxpay::{ApiKey, Merchant, SignType, UnifiedOrder};

use super::{Fields, fields};

/// A notify URL where nothing listens: notifications to it are never acknowledged.
pub const NOWHERE: &str = "http://127.0.0.1:9/notify";

/// The merchant the default sandbox accepts, signing with `sign_type`.
pub fn merchant(sign_type: SignType) -> Merchant {
    Merchant {
        appid: APPID.into(),
        mch_id: MCH_ID.into(),
        key: ApiKey::new(KEY),
        sign_type,
    }
}

/// A valid Native unifiedorder created at `now`, open 10 minutes.
pub fn order(out_trade_no: &str, fee: i64, now: DateTime<Utc>, notify_url: &str) -> UnifiedOrder {
    UnifiedOrder {
        out_trade_no: out_trade_no.into(),
        body: "小张南山店-超市".into(),
        total_fee: Fen::new(fee).unwrap(),
        spbill_create_ip: "127.0.0.1".into(),
        notify_url: notify_url.into(),
        product_id: "SKU-0001".into(),
        device_info: Some("POS-001".into()),
        time_start: now,
        time_expire: now + chrono::Duration::minutes(10),
    }
}

/// The business fields of a valid NATIVE unifiedorder (unsigned), created at `now` and open 10 minutes.
pub fn uo_fields(out_trade_no: &str, now: DateTime<Utc>) -> Fields {
    fields(&[
        ("appid", APPID),
        ("mch_id", MCH_ID),
        ("nonce_str", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"),
        ("body", "小张南山店-超市"),
        ("out_trade_no", out_trade_no),
        ("fee_type", "CNY"),
        ("total_fee", "1288"),
        ("spbill_create_ip", "127.0.0.1"),
        ("time_start", &format_wx(now)),
        (
            "time_expire",
            &format_wx(now + chrono::Duration::minutes(10)),
        ),
        ("notify_url", "http://127.0.0.1:9/notify"),
        ("trade_type", "NATIVE"),
        ("product_id", "SKU-0001"),
    ])
}
