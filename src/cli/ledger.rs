//! `paydesk export`, `paydesk orders`, `paydesk backup`: thin wrappers over [`crate::ledger::Ledger`].
//!
//! All three use the ledger at [`crate::paths::ledger_path`] (honouring `PAYDESK_DATA_DIR`). They never
//! create a ledger: when there is none yet, `orders` says there are no orders, and `export` and `backup` fail
//! with a message naming the path they looked at (most likely the data directory is not the one the
//! window uses).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use chrono::{Local, NaiveDate};

use super::CmdResult;
use crate::ledger::{Ledger, OrderStatus, RefundState};
use crate::money::Fen;
use crate::paths;

pub(super) fn parse_date(date: &str) -> Result<NaiveDate, Box<dyn std::error::Error>> {
    NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
        .map_err(|_| format!("--date {date:?} is not a date like 2026-11-27").into())
}

/// The ledger, if one exists.
pub(super) fn existing_ledger() -> Result<Option<Ledger>, Box<dyn std::error::Error>> {
    let path = paths::ledger_path();
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(Ledger::open(&path)?))
}

pub(super) fn no_ledger() -> Box<dyn std::error::Error> {
    format!(
        "there is no ledger at {}: no orders have been recorded there (set PAYDESK_DATA_DIR if PayDesk keeps \
         its data elsewhere)",
        paths::ledger_path().display()
    )
    .into()
}

/// The business day it is now.
pub(super) fn today(day_start_hour: u8) -> NaiveDate {
    crate::calendar::business_day(chrono::Utc::now(), day_start_hour)
}

/// `paydesk export --date YYYY-MM-DD [--out FILE]`: the day's CSV to standard output, or to FILE (replaced
/// atomically) with a summary on standard error.
pub fn export(date: &str, out: Option<&Path>, day_start_hour: u8) -> CmdResult {
    let day = parse_date(date)?;
    let ledger = existing_ledger()?.ok_or_else(no_ledger)?;
    match out {
        Some(path) => {
            let rows = ledger.export_day_to_file(day, day_start_hour, path)?;
            eprintln!("wrote {rows} rows to {}", path.display());
        }
        None => {
            let stdout = std::io::stdout().lock();
            ledger.export_day(day, day_start_hour, std::io::BufWriter::new(stdout))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `paydesk orders [--date YYYY-MM-DD]`: the day's orders as a table, then the day's refunds (on the day of
/// their success, else of their creation), then what the day received, refunded and netted.
pub fn orders(date: Option<&str>, day_start_hour: u8) -> CmdResult {
    let day = match date {
        Some(d) => parse_date(d)?,
        None => today(day_start_hour),
    };
    let Some(ledger) = existing_ledger()? else {
        println!(
            "No orders: there is no ledger yet at {}.",
            paths::ledger_path().display()
        );
        return Ok(ExitCode::SUCCESS);
    };
    let orders = ledger.orders_for_day(day, day_start_hour)?;
    let refunds = ledger.refunds_for_day(day, day_start_hour)?;
    let mut out = std::io::stdout().lock();
    if orders.is_empty() && refunds.is_empty() {
        writeln!(out, "No orders on {day}.")?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{:<19}  {:<32}  {:>12}  {:<30}  items",
        "time", "out_trade_no", "amount", "status"
    )?;
    let mut flagged = 0;
    for o in &orders {
        let items = ledger
            .items(&o.out_trade_no)?
            .iter()
            .map(|l| format!("{} ×{}", l.name.replace(['\n', '\r'], " "), l.qty))
            .collect::<Vec<_>>()
            .join("; ");
        let mark = if o.flagged {
            flagged += 1;
            " !"
        } else {
            ""
        };
        writeln!(
            out,
            "{:<19}  {:<32}  {:>12}  {:<30}  {items}",
            o.created_at
                .with_timezone(&Local)
                .format("%Y-%m-%d %H:%M:%S"),
            o.out_trade_no,
            o.total.to_string(),
            format!("{}{mark}", o.status.label()),
        )?;
        if let Some(why) = o.flag_reason.as_deref().filter(|_| o.flagged) {
            writeln!(out, "{:<19}  ! {why}", "")?;
        }
        let progress = o.refund_progress();
        if progress != crate::ledger::RefundProgress::None && o.status != OrderStatus::Refunded {
            writeln!(
                out,
                "{:<19}  {} {}, {} left to refund",
                "",
                progress.label(),
                if o.refunded > Fen::ZERO {
                    o.refunded
                } else {
                    o.refund_pending
                },
                o.refundable()
            )?;
        }
    }
    if !refunds.is_empty() {
        writeln!(out, "\nRefunds:")?;
        for r in &refunds {
            let mark = if r.flagged {
                flagged += 1;
                " !"
            } else {
                ""
            };
            writeln!(
                out,
                "{:<19}  {:<32}  {:>12}  {:<30}  {} of {}, approved by {}{}",
                r.day_at().with_timezone(&Local).format("%Y-%m-%d %H:%M:%S"),
                r.out_refund_no,
                format!("-{}", r.amount),
                format!("{}{mark}", r.status.label()),
                if r.reason.is_empty() {
                    "refund"
                } else {
                    r.reason.as_str()
                }
                .replace(['\n', '\r'], " "),
                r.out_trade_no,
                r.approved_by,
                // Only money back counts in the day's "refunded".
                if r.status == RefundState::Success {
                    ""
                } else {
                    " (not counted)"
                },
            )?;
            if let Some(why) = r.flag_reason.as_deref().filter(|_| r.flagged) {
                writeln!(out, "{:<19}  ! {why}", "")?;
            }
        }
    }
    let sums = ledger.day_sums(day, day_start_hour)?;
    writeln!(
        out,
        "\n{} orders on {day}; received {}; refunded {} ({} refunds); net {}{}",
        orders.len(),
        sums.received,
        sums.refunded,
        refunds.len(),
        sums.net_label(),
        if flagged > 0 {
            format!("; {flagged} flagged (!) for the manager")
        } else {
            String::new()
        }
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `paydesk backup FILE`: an online copy of the ledger (safe while PayDesk runs).
pub fn backup(file: &Path) -> CmdResult {
    let ledger = existing_ledger()?.ok_or_else(no_ledger)?;
    ledger.backup_to(file)?;
    eprintln!(
        "backed up {} to {}",
        ledger.path().display(),
        file.display()
    );
    Ok(ExitCode::SUCCESS)
}
