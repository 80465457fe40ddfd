//! `paydesk sandbox` (serve the sandbox gateway until Ctrl-C) and `paydesk sandbox pay` (play the customer
//! of a running sandbox over HTTP).

use std::process::ExitCode;
use std::time::Duration;

use super::{CmdResult, SandboxAction, SandboxArgs};
use crate::sandbox::{self, CustomerAction, Sandbox, SandboxConfig, SandboxError, TlsSettings};
use crate::wxpay::ApiKey;

pub fn run(args: SandboxArgs) -> CmdResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    match args.action {
        Some(SandboxAction::Pay { order, fail, url }) => {
            let action = if fail {
                CustomerAction::Fail
            } else {
                CustomerAction::Pay
            };
            match runtime.block_on(sandbox::remote_customer(&url, &order, action)) {
                Ok(answer) => {
                    println!("{answer}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e @ SandboxError::NotRunning { .. }) => Err(e.into()),
                Err(e) => {
                    eprintln!("paydesk: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        None => runtime.block_on(serve(args)),
    }
}

async fn serve(args: SandboxArgs) -> CmdResult {
    // Show what the gateway does (orders, customer actions, notifications) unless RUST_LOG says otherwise.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("paydesk=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
    let config = SandboxConfig {
        appid: args.appid.clone(),
        mch_id: args.mch_id.clone(),
        key: ApiKey::new(args.key.clone()),
        close_min_age: if args.fast_close {
            Duration::ZERO
        } else {
            Duration::from_secs(5 * 60)
        },
        persist: args.state.clone(),
        refund_min_interval: Duration::from_secs(args.refund_interval),
        bills_today: args.bills_today,
        tls: args.tls_listen.map(|listen| TlsSettings {
            listen,
            certs: args
                .certs
                .clone()
                .unwrap_or_else(|| crate::paths::data_dir().join("sandbox-certs")),
        }),
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config, args.listen)
        .await
        .map_err(|e| format!("cannot start the sandbox on {}: {e}", args.listen))?;
    let base = sandbox.base_url();
    println!("PayDesk sandbox gateway (WeChat Pay API v2, no real money)");
    println!("  base URL:       {base}");
    println!("  customer page:  {base}/");
    println!("  appid:          {}", args.appid);
    println!("  mch_id:         {}", args.mch_id);
    println!("  key:            {}", args.key);
    println!(
        "  closeorder:     {}",
        if args.fast_close {
            "allowed at once (--fast-close)"
        } else {
            "refused within 5 minutes of creation, as live"
        }
    );
    println!(
        "  refunds:        at most 50 per order, {} s apart (FREQUENCY_LIMITED otherwise)",
        args.refund_interval
    );
    println!(
        "  trade bill:     {}",
        if args.bills_today {
            "/pay/downloadbill serves finished days and today (--bills-today)"
        } else {
            "/pay/downloadbill serves finished Beijing-time days"
        }
    );
    if let Some(state) = &args.state {
        println!("  state file:     {}", state.display());
    }
    match (sandbox.tls_url(), sandbox.pki()) {
        (Some(url), Some(pki)) => {
            println!("  HTTPS:          {url} (/secapi/* needs the merchant certificate)");
            println!("  certificates:   {}", pki.dir().display());
            for line in pki.summary().lines() {
                println!("    {line}");
            }
        }
        _ => println!(
            "  refunds:        /secapi/* needs HTTPS with the merchant certificate: start with --tls-listen ADDR"
        ),
    }
    println!(
        "Pay an order: open the customer page, or `paydesk sandbox pay <code_url|out_trade_no> --url {base}`."
    );
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    println!("stopping");
    sandbox.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
