//! Charging a cart: checking it, building the stored order (body, order number), creating it at the gateway.
//!
//! The order is stored before any request leaves; what happens when unifiedorder fails depends on whether
//! the order may exist at the gateway (see [`crate::wxpay::Action`]). Watching it afterwards is
//! [`super::lifecycle`]'s job.

use chrono::{DateTime, Utc};

use super::{Cart, Engine, EngineError, OrderView};
use crate::clock::format_wx;
use crate::ledger::{Evidence, Input, LedgerError, NewOrder, Order, Source};
use crate::money::Fen;
use crate::wxpay::UnifiedOrder;
use crate::wxpay::api::truncate_bytes;

/// How long a charge waits for the ledger's start-up check before it is refused ("checking the ledger…").
const CHECK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

impl Engine {
    /// Charge a cart: store the order, create it at the gateway, and return it with its code_url.
    /// The order is then watched in the background until it is paid, failed, expired or cancelled.
    pub async fn charge(&self, cart: Cart) -> Result<OrderView, EngineError> {
        let inner = &self.inner;
        // Not before the ledger's check has passed: a charge pressed while it runs (seconds, on a big
        // ledger) waits for it; one on a ledger that failed it, or whose check takes too long, is refused.
        self.ledger_checked(CHECK_WAIT).await;
        inner.ledger.refuse_if_unchecked()?;
        let total = validate_cart(&cart)?;
        let now = inner.now();
        let settings = &inner.settings;
        let expires =
            now + chrono::Duration::from_std(settings.payment_window).expect("window fits");
        let mut new = NewOrder {
            out_trade_no: String::new(),
            station: settings.station.clone(),
            cashier: cart.cashier.clone(),
            created_at: now,
            expires_at: expires,
            total,
            items: cart
                .lines
                .iter()
                .map(|l| crate::ledger::ItemLine {
                    name: l.name.trim().to_string(),
                    unit_price: l.unit_price,
                    qty: l.qty,
                    line_total: l.total().expect("validated"),
                })
                .collect(),
            body: order_body(&settings.store_name, &cart),
            notify_url: inner.notify_url.clone(),
            spbill_create_ip: settings.client_ip.clone(),
            product_id: String::new(),
            device_info: Some(settings.station.clone()),
            time_start: now,
            time_expire: expires,
        };
        // Stored before any request leaves. A clash of numbers (same second, same random tail) gets a new one.
        let mut attempt = 0;
        loop {
            new.out_trade_no = new_out_trade_no(now, &settings.station);
            new.product_id = new.out_trade_no.clone();
            let n = new.clone();
            match inner.db(move |l| l.create_order(&n)).await {
                Ok(()) => break,
                Err(EngineError::Ledger(LedgerError::Duplicate(_))) if attempt < 5 => attempt += 1,
                Err(e) => return Err(e),
            }
        }
        let no = new.out_trade_no.clone();
        tracing::info!(out_trade_no = %no, total = %total, "charge: order stored");
        inner.emit_order(&no).await;

        let order = inner.load(&no).await?;
        let request = unified_order_of(&order);
        inner
            .log(
                &no,
                "unifiedorder.request",
                &format!(
                    "total_fee={} time_expire={} via {}",
                    total.get(),
                    format_wx(expires),
                    inner.client.current_base()
                ),
            )
            .await;
        let result = inner.client.unified_order(&request).await;
        match result {
            Ok(r) => {
                let ev = Evidence::created(
                    r.code_url.clone(),
                    Some(r.prepay_id.clone()),
                    format!("code_url={} prepay_id={}", r.code_url, r.prepay_id),
                );
                inner.apply(&no, Input::Created, ev).await?;
                inner.clone().watch(no.clone(), false);
                inner.view(&no).await
            }
            Err(e) => {
                use crate::wxpay::Action;
                inner.log(&no, "unifiedorder.error", &e.to_string()).await;
                match e.action() {
                    Action::TreatAsPaid => {
                        // Already paid under this number: confirm by query; the watcher records it.
                        inner.clone().watch(no.clone(), false);
                        inner.poke(&no);
                        inner.view(&no).await
                    }
                    Action::FixConfig
                    | Action::FixRequest
                    | Action::NewOutTradeNo
                    // Refund-only actions: never the answer to a unifiedorder, and final if they were.
                    | Action::RetryLater
                    | Action::TopUpBalance
                    | Action::RefundOtherwise
                    | Action::FullyRefunded
                    | Action::NotRefundable => {
                        inner
                            .apply(
                                &no,
                                Input::CreateFailed,
                                Evidence::new(Source::UnifiedOrder, e.to_string()),
                            )
                            .await?;
                        Err(EngineError::Gateway {
                            advice: e.advice(),
                            error: e,
                        })
                    }
                    Action::RetrySame | Action::Query => {
                        // The outcome is unknown: the order may exist. The cashier never saw its QR, so it is
                        // closed (after the 5-minute rule) and watched until the gateway confirms.
                        inner
                            .apply(
                                &no,
                                Input::CloseRequested(crate::ledger::CloseReason::Cancel),
                                Evidence::new(
                                    Source::UnifiedOrder,
                                    format!(
                                        "unifiedorder outcome unknown ({e}); closing this number"
                                    ),
                                ),
                            )
                            .await?;
                        inner.clone().watch(no.clone(), false);
                        Err(EngineError::Gateway {
                            advice: format!(
                                "Cannot reach WeChat Pay: {e}. No QR code was shown; try Charge again."
                            ),
                            error: e,
                        })
                    }
                }
            }
        }
    }
}

/// Rebuild the stored request: every retry and re-entry sends exactly these values.
fn unified_order_of(o: &Order) -> UnifiedOrder {
    UnifiedOrder {
        out_trade_no: o.out_trade_no.clone(),
        body: o.body.clone(),
        total_fee: o.total,
        spbill_create_ip: o.spbill_create_ip.clone(),
        notify_url: o.notify_url.clone(),
        product_id: o.product_id.clone(),
        device_info: o.device_info.clone(),
        time_start: o.time_start,
        time_expire: o.time_expire,
    }
}

fn validate_cart(cart: &Cart) -> Result<Fen, EngineError> {
    if cart.lines.is_empty() {
        return Err(EngineError::EmptyCart);
    }
    for l in &cart.lines {
        if l.name.trim().is_empty() {
            return Err(EngineError::InvalidCart("every line needs a name".into()));
        }
        if l.qty == 0 {
            return Err(EngineError::InvalidCart(format!(
                "{}: quantity must be at least 1",
                l.name
            )));
        }
        if l.total().is_none() {
            return Err(EngineError::InvalidCart(format!(
                "{}: amount too large",
                l.name
            )));
        }
    }
    let total = cart.total().filter(|t| *t <= Fen::MAX).ok_or_else(|| {
        EngineError::InvalidCart(format!("the total is over the limit of {}", Fen::MAX))
    })?;
    if total.get() < 1 {
        return Err(EngineError::InvalidCart(
            "the total must be at least ¥0.01".into(),
        ));
    }
    Ok(total)
}

/// `店名-商品` (reference: 店名-销售商品类目), at most 127 UTF-8 bytes, only characters the gateway accepts.
fn order_body(store: &str, cart: &Cart) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| (*c as u32) <= 0xFFFF && !c.is_control())
            .collect::<String>()
            .trim()
            .to_string()
    };
    let first = cart
        .lines
        .first()
        .map(|l| clean(&l.name))
        .unwrap_or_default();
    let more = if cart.lines.len() > 1 {
        format!("等{}件", cart.lines.len())
    } else {
        String::new()
    };
    let store = clean(store);
    let body = match (store.is_empty(), first.is_empty()) {
        (false, false) => format!("{store}-{first}{more}"),
        (false, true) => store,
        (true, false) => format!("{first}{more}"),
        (true, true) => "PayDesk".into(),
    };
    let cut = truncate_bytes(&body, 127).trim().to_string();
    if cut.is_empty() {
        "PayDesk".into()
    } else {
        cut
    }
}

/// `yyyyMMddHHmmss` (Beijing) + station + 6 random alphanumerics: at most 28 characters of `[0-9A-Za-z]`.
fn new_out_trade_no(now: DateTime<Utc>, station: &str) -> String {
    use rand::Rng;
    use rand::distr::Alphanumeric;
    let tail: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(6)
        .map(char::from)
        .collect();
    format!("{}{}{}", format_wx(now), station, tail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::CartLine;

    fn line(name: &str, fen: i64, qty: u32) -> CartLine {
        CartLine {
            name: name.into(),
            unit_price: Fen::new(fen).unwrap(),
            qty,
        }
    }

    #[test]
    fn body_is_short_clean_and_chinese() {
        let cart = Cart {
            lines: vec![line("可乐🥤", 300, 2), line("薯片", 550, 1)],
            cashier: "张三".into(),
        };
        assert_eq!(order_body("小张南山店", &cart), "小张南山店-可乐等2件");
        let long = Cart {
            lines: vec![line(&"很长的商品名".repeat(20), 1, 1)],
            cashier: String::new(),
        };
        let b = order_body("店", &long);
        assert!(b.len() <= 127 && b.starts_with("店-很长"));
    }

    #[test]
    fn order_numbers_follow_the_rule() {
        let no = new_out_trade_no(Utc::now(), "POS1");
        assert!(crate::wxpay::api::valid_out_trade_no(&no), "{no}");
        assert!(no.len() <= 28);
        assert_ne!(no, new_out_trade_no(Utc::now(), "POS1"));
    }

    #[test]
    fn carts_are_checked() {
        assert!(matches!(
            validate_cart(&Cart::default()),
            Err(EngineError::EmptyCart)
        ));
        let zero = Cart {
            lines: vec![line("赠品", 0, 1)],
            cashier: String::new(),
        };
        assert!(matches!(
            validate_cart(&zero),
            Err(EngineError::InvalidCart(_))
        ));
        let huge = Cart {
            lines: vec![line("金条", Fen::MAX.get(), 2)],
            cashier: String::new(),
        };
        assert!(matches!(
            validate_cart(&huge),
            Err(EngineError::InvalidCart(_))
        ));
        let ok = Cart {
            lines: vec![line("可乐", 300, 2), line("薯片", 550, 1)],
            cashier: String::new(),
        };
        assert_eq!(validate_cart(&ok).unwrap(), Fen::new(1150).unwrap());
    }
}
