//! `paydesk refund` (refund a paid order from a terminal, with the manager's PIN) and the PIN prompt shared
//! with `paydesk config set-manager-pin`.
//!
//! Like `paydesk charge` it starts through [`crate::app::start_with`]: a running `paydesk sandbox` is used
//! when there is one (its orders are the ones to refund), else the embedded sandbox, or live per the
//! configuration. The PIN is checked before anything starts.

use std::process::ExitCode;
use std::time::Duration;

use super::CmdResult;
use crate::engine::{EngineEvent, RefundState};
use crate::money::Fen;

/// The environment variable a PIN may come from (scripts, tests); otherwise it is asked for without echo.
pub const PIN_ENV: &str = "PAYDESK_MANAGER_PIN";

/// The PIN from [`PIN_ENV`], else asked for on the terminal without echo.
pub fn read_pin(prompt: &str) -> Result<String, String> {
    read_pin_from(PIN_ENV, "the manager PIN", prompt)
}

/// The PIN (`what`) from the environment variable `env`, else asked for on the terminal without echo.
pub fn read_pin_from(env: &str, what: &str, prompt: &str) -> Result<String, String> {
    if let Some(pin) = std::env::var(env).ok().filter(|p| !p.is_empty()) {
        return Ok(pin.trim().to_string());
    }
    rpassword::prompt_password(prompt)
        .map(|p| p.trim().to_string())
        .map_err(|e| format!("cannot ask for {what} ({e}): run it in a terminal, or set {env}"))
}

pub fn run(
    out_trade_no: &str,
    amount: Option<&str>,
    reason: Option<&str>,
    wait: bool,
) -> CmdResult {
    let amount = amount
        .map(|a| Fen::parse_yuan(a).map_err(|e| format!("--amount {a:?}: {e}")))
        .transpose()?;
    let config = crate::config::Config::load_default()?;
    let data_dir = crate::paths::data_dir();
    let prompt = if config.is_sandbox() && config.manager_pin_hash.is_none() {
        "manager PIN (sandbox mode, none set: 0000): "
    } else {
        "manager PIN: "
    };
    let pin = read_pin(prompt)?;
    crate::app::check_pin(&config, &data_dir, &pin, chrono::Utc::now())?;
    let approved_by = crate::app::approved_by_for(&config, "paydesk refund");
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let app = crate::app::start_with(config, &data_dir).await?;
        let engine = app.engine();
        if app.is_sandbox() {
            println!("sandbox: {}", app.sandbox_url().unwrap_or_default());
        }
        let reason = reason.unwrap_or("").to_string();
        let view = match engine
            .refund(out_trade_no, amount, &reason, &approved_by)
            .await
        {
            Ok(v) => v,
            Err(e) => {
                app.shutdown().await;
                return Err(e.to_string().into());
            }
        };
        let no = view.out_refund_no.clone();
        println!("out_refund_no: {no}");
        println!("amount: {}", view.amount);
        println!("approved_by: {}", view.approved_by);
        println!("status: {}", view.status);
        if let Some(n) = &view.notice {
            println!("note: {n}");
        }
        let mut status = view.status;
        if wait {
            let mut events = engine.subscribe();
            let mut notice = view.notice.clone();
            loop {
                let v = match tokio::time::timeout(Duration::from_secs(1), events.recv()).await {
                    Ok(Ok(EngineEvent::Refund(v))) if v.out_refund_no == no => v,
                    // Anything else (another event, a quiet second, missed events): look it up.
                    _ => engine.refund_status(&no).await?,
                };
                if v.status != status {
                    println!("status: {}", v.status);
                    status = v.status;
                }
                if v.notice != notice {
                    if let Some(n) = &v.notice {
                        println!("note: {n}");
                    }
                    notice = v.notice;
                }
                if status.is_final() {
                    break;
                }
            }
            let v = engine.refund_status(&no).await?;
            println!("final: {} ({})", v.status, v.status.label());
            if let Some(id) = &v.refund_id {
                println!("refund_id: {id}");
            }
        } else if !status.is_final() && app.embedded_sandbox().is_some() {
            eprintln!(
                "note: the sandbox runs inside this command and stops with it; the refund is finished the next \
                 time PayDesk starts. Use --wait, or start `paydesk sandbox --tls-listen 127.0.0.1:7879` first."
            );
        }
        app.shutdown().await;
        let ok = if wait {
            status == RefundState::Success
        } else {
            status != RefundState::Failed && status != RefundState::Closed
        };
        Ok::<ExitCode, Box<dyn std::error::Error>>(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}
