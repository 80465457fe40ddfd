//! `paydesk reconcile --date YYYY-MM-DD`: close a day against WeChat Pay's trade bill with the same engine
//! as the window (a running `paydesk sandbox` is used as by `charge`), print the result and keep it in the
//! ledger. The exit code is 0 only when no difference is left unexplained.

use std::process::ExitCode;

use chrono::NaiveDate;

use super::CmdResult;

pub fn run(date: &str) -> CmdResult {
    let day = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|e| format!("--date {date:?}: {e} (expected YYYY-MM-DD, a Beijing-time day)"))?;
    let config = crate::config::Config::load_default()?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let app = crate::app::start_with(config, &crate::paths::data_dir()).await?;
        if app.is_sandbox() {
            println!("sandbox: {}", app.sandbox_url().unwrap_or_default());
        }
        let result = app.engine().reconcile_day(day).await;
        app.shutdown().await;
        let r = result?;
        print!("{}", r.report());
        Ok::<ExitCode, Box<dyn std::error::Error>>(if r.unexplained() == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}
