//! `paydesk charge`: the same engine as the window, from a terminal.

use std::process::ExitCode;
use std::time::Duration;

use super::CmdResult;
use crate::engine::{Cart, CartLine, EngineEvent};
use crate::money::Fen;

pub fn run(amount: &str, item: Option<&str>, wait: bool) -> CmdResult {
    let price = Fen::parse_yuan(amount).map_err(|e| format!("--amount {amount:?}: {e}"))?;
    let name = item.unwrap_or("商品").to_string();
    let config = crate::config::Config::load_default()?;
    if !config.is_sandbox() && !wait {
        // Without --wait this command would leave a payable QR behind with nothing watching for the payment.
        return Err(
            "in live mode `paydesk charge` needs --wait: it must watch the order until it is paid \
                    or closed, or a payment could go unrecorded"
                .into(),
        );
    }
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let app = crate::app::start_with(config, &crate::paths::data_dir()).await?;
        let engine = app.engine();
        if app.is_sandbox() {
            println!("sandbox: {}", app.sandbox_url().unwrap_or_default());
        }
        // The cashier signed in at this station (a shift the window left open), else the first of the list.
        let cashier = match engine.open_shift().await? {
            Some(shift) => shift.cashier,
            None => app.config().store.cashiers.first().cloned().unwrap_or_default(),
        };
        let cart = Cart {
            lines: vec![CartLine { name, unit_price: price, qty: 1 }],
            cashier,
        };
        let order = engine.charge(cart).await?;
        let code_url = order.code_url.clone().unwrap_or_default();
        println!("out_trade_no: {}", order.out_trade_no);
        println!("amount: {}", order.total);
        println!("expires: {}", order.expires_at.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S"));
        println!("code_url: {code_url}");
        if let Ok(qr) = qrcode::QrCode::new(code_url.as_bytes()) {
            let text = qr
                .render::<qrcode::render::unicode::Dense1x2>()
                .dark_color(qrcode::render::unicode::Dense1x2::Light)
                .light_color(qrcode::render::unicode::Dense1x2::Dark)
                .quiet_zone(true)
                .build();
            println!("{text}");
        }
        if !wait {
            if app.embedded_sandbox().is_some() {
                eprintln!(
                    "note: the sandbox runs inside this command and stops with it; use --wait, or start `paydesk sandbox` in another terminal first."
                );
            }
            app.shutdown().await;
            return Ok::<ExitCode, Box<dyn std::error::Error>>(ExitCode::SUCCESS);
        }
        if app.is_sandbox() {
            println!(
                "waiting; play the customer with: paydesk sandbox pay {} --url {}",
                order.out_trade_no,
                app.sandbox_url().unwrap_or_default()
            );
        }
        // Subscribed only now: events from before the order was shown are stale.
        let mut events = engine.subscribe();
        let no = order.out_trade_no.clone();
        let mut status = order.status;
        while !status.is_final() {
            match tokio::time::timeout(Duration::from_secs(1), events.recv()).await {
                Ok(Ok(EngineEvent::Order(v))) if v.out_trade_no == no => {
                    if v.status != status {
                        println!("status: {}", v.status);
                    }
                    status = v.status;
                }
                Ok(Ok(_)) | Err(_) => {
                    status = engine.order(&no).await?.status;
                }
                Ok(Err(_)) => status = engine.order(&no).await?.status,
            }
        }
        let v = engine.order(&no).await?;
        println!("final: {}", v.status);
        if let Some(t) = &v.transaction_id {
            println!("transaction_id: {t}");
        }
        app.shutdown().await;
        Ok(if v.status.is_paid() { ExitCode::SUCCESS } else { ExitCode::from(1) })
    })
}
