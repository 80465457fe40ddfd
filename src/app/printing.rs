//! Printing for the window's [`Backend`](super::window::Backend): an order from the engine (or a day's report)
//! mapped onto the printer's documents ([`crate::printer`]), sent on the blocking pool by [`crate::printer::Printer::send`].
//!
//! Not here: the ESC/POS bytes (the printer module), deciding when to print (the window asks).

use super::AppHandle;
use super::window::{PrintJob, Printed};
use crate::printer::{self, PaymentSlip, Receipt, ReceiptLine};

impl AppHandle {
    /// Build and send `job`. Errors are text for the cashier (what to check).
    pub async fn print_job(&self, job: PrintJob) -> Result<Printed, String> {
        let Some(pc) = self.config().printer.clone() else {
            return Err("no printer is configured ([printer] in the configuration file)".into());
        };
        let bytes = match job {
            PrintJob::Paid {
                out_trade_no,
                receipt,
                drawer,
            } => {
                let mut bytes = Vec::new();
                if drawer && let Some(pin) = pc.drawer_kick {
                    bytes.extend(printer::drawer_kick_job(pin));
                }
                if receipt {
                    let r = self.receipt(&out_trade_no).await?;
                    bytes.extend(printer::receipt(&r, &pc.style).map_err(|e| e.to_string())?);
                }
                bytes
            }
            PrintJob::PaymentSlip { out_trade_no } => {
                let order = self
                    .engine()
                    .order(&out_trade_no)
                    .await
                    .map_err(|e| e.to_string())?;
                let code_url = order
                    .code_url
                    .ok_or_else(|| format!("order {out_trade_no} has no payment code"))?;
                let slip = PaymentSlip {
                    store_name: self.config().store.name.clone(),
                    order_no: out_trade_no,
                    amount: order.total,
                    code_url,
                    expires_at: printer::local(order.expires_at),
                    sandbox: self.is_sandbox(),
                };
                printer::payment_slip(&slip, &pc.style).map_err(|e| e.to_string())?
            }
            PrintJob::DayReport { day } => {
                let (report, days) = self.day_report(day).await?;
                let header = crate::report_format::PageHeader {
                    // The printer prints the store's name as the page's heading.
                    store_name: String::new(),
                    printed_at: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
                };
                let body =
                    crate::report_format::text_page(&report, &days, &header, pc.style.columns);
                printer::text_page(
                    &self.config().store.name,
                    &body,
                    &pc.style,
                    self.is_sandbox(),
                )
            }
        };
        if bytes.is_empty() {
            return Ok(Printed::default());
        }
        let delivered = pc.printer().send(bytes).await.map_err(|e| e.to_string())?;
        Ok(Printed {
            paper_low: delivered.paper_low(),
        })
    }

    /// The receipt of a paid order, from the ledger.
    async fn receipt(&self, out_trade_no: &str) -> Result<Receipt, String> {
        let engine = self.engine();
        let order = engine
            .order(out_trade_no)
            .await
            .map_err(|e| e.to_string())?;
        let detail = engine
            .order_detail(out_trade_no)
            .await
            .map_err(|e| e.to_string())?;
        let c = self.config();
        Ok(Receipt {
            store_name: c.store.name.clone(),
            order_no: order.out_trade_no,
            time: printer::local(order.paid_at.unwrap_or(order.created_at)),
            lines: detail
                .lines
                .into_iter()
                .map(|l| ReceiptLine {
                    name: l.name,
                    qty: l.qty,
                    amount: l.line_total,
                })
                .collect(),
            total: order.total,
            transaction_id: order.transaction_id,
            // The order's own cashier, who signed in and took it.
            cashier: Some(detail.cashier).filter(|c| !c.is_empty()),
            station: c.store.station.clone(),
            sandbox: self.is_sandbox(),
        })
    }
}
