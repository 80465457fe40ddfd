//! The window's [`Backend`] over the running PayDesk: engine calls and views are awaited on the runtime
//! (the engine runs ledger reads and the export on the blocking pool); errors become text ready to show.

use std::path::PathBuf;

use chrono::NaiveDate;
use tokio::sync::broadcast;

use super::AppHandle;
use super::window::{
    Backend, BoxFuture, CounterInfo, Mode, OrderDetail, OrderRefunds, OrderSummary, PrintJob,
    Printed, RefundInfo, RefundRequest, RefundView, StationInfo,
};
use super::window::{DailyTotal, DayReport, DaySums};
use super::window::{ShiftError, ShiftSummary, ShiftView, SignInInfo};
use crate::config::Language;
use crate::engine::{Cart, CustomerAction, EngineError, EngineEvent, OrderView};

/// A view's error as the window shows it: a ledger problem in the ledger's own words.
fn view_error(e: EngineError) -> String {
    match e {
        EngineError::Ledger(e) => e.to_string(),
        e => e.to_string(),
    }
}

impl Backend for AppHandle {
    fn info(&self) -> StationInfo {
        let c = self.config();
        StationInfo {
            store_name: c.store.name.clone(),
            station: c.store.station.clone(),
            cashier: c.store.cashiers.first().cloned().unwrap_or_default(),
            language: match c.language {
                Language::Zh => "zh".into(),
                Language::En => "en".into(),
            },
            day_start_hour: c.day_start_hour,
            mode: if self.is_sandbox() {
                Mode::Sandbox
            } else if c.merchant.as_ref().is_some_and(|m| m.is_test_gateway()) {
                Mode::TestGateway
            } else {
                Mode::Live
            },
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.engine().subscribe()
    }

    fn charge(&self, cart: Cart) -> BoxFuture<'_, Result<OrderView, String>> {
        Box::pin(async move { self.engine().charge(cart).await.map_err(|e| e.to_string()) })
    }

    fn cancel(&self, out_trade_no: String) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.engine()
                .cancel(&out_trade_no)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn simulate(
        &self,
        out_trade_no: String,
        action: CustomerAction,
    ) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.simulate_customer(&out_trade_no, action)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn orders_for_day(&self, day: NaiveDate) -> BoxFuture<'_, Result<Vec<OrderSummary>, String>> {
        let start = self.config().day_start_hour;
        Box::pin(async move {
            self.engine()
                .orders_for_day(day, start)
                .await
                .map_err(view_error)
        })
    }

    fn order_detail(&self, out_trade_no: String) -> BoxFuture<'_, Result<OrderDetail, String>> {
        Box::pin(async move {
            self.engine()
                .order_detail(&out_trade_no)
                .await
                .map_err(view_error)
        })
    }

    fn export_day(&self, day: NaiveDate, path: PathBuf) -> BoxFuture<'_, Result<usize, String>> {
        let start = self.config().day_start_hour;
        Box::pin(async move {
            self.engine()
                .export_day(day, start, path)
                .await
                .map_err(view_error)
        })
    }

    fn counter(&self) -> CounterInfo {
        let c = self.config();
        CounterInfo {
            window_start: c.window_start,
            customer_display: c.customer_display.map(|d| d.monitor),
            printer: c.printer.is_some(),
            auto_print: c.printer.as_ref().is_some_and(|p| p.auto_print),
            drawer_kick: c.printer.as_ref().is_some_and(|p| p.drawer_kick.is_some()),
        }
    }

    fn print(&self, job: PrintJob) -> BoxFuture<'_, Result<Printed, String>> {
        Box::pin(self.print_job(job))
    }

    fn refund_info(&self) -> RefundInfo {
        AppHandle::refund_info(self)
    }

    fn refund(&self, req: RefundRequest) -> BoxFuture<'_, Result<RefundView, String>> {
        Box::pin(async move {
            AppHandle::refund(self, req).await.map_err(|e| match e {
                super::AppError::Engine(e) => view_error(e),
                e => e.to_string(),
            })
        })
    }

    fn sign_in_info(&self) -> SignInInfo {
        AppHandle::sign_in_info(self)
    }

    fn resume_shift(
        &self,
        automatic: Option<String>,
    ) -> BoxFuture<'_, Result<Option<ShiftView>, String>> {
        Box::pin(AppHandle::resume_shift(self, automatic))
    }

    fn sign_in(
        &self,
        cashier: String,
        pin: String,
    ) -> BoxFuture<'_, Result<ShiftView, ShiftError>> {
        Box::pin(AppHandle::sign_in(self, cashier, pin))
    }

    fn shift_summary(&self) -> BoxFuture<'_, Result<(ShiftView, ShiftSummary), String>> {
        Box::pin(AppHandle::shift_summary(self))
    }

    fn hand_over(&self) -> BoxFuture<'_, Result<ShiftSummary, ShiftError>> {
        Box::pin(AppHandle::hand_over(self))
    }

    fn refunds_of(&self, out_trade_no: String) -> BoxFuture<'_, Result<OrderRefunds, String>> {
        Box::pin(async move {
            self.engine()
                .refunds_of(&out_trade_no)
                .await
                .map_err(view_error)
        })
    }

    fn day_report(
        &self,
        day: NaiveDate,
    ) -> BoxFuture<'_, Result<(DayReport, Vec<DailyTotal>), String>> {
        Box::pin(AppHandle::day_report(self, day))
    }

    fn export_day_report(
        &self,
        day: NaiveDate,
        path: PathBuf,
    ) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(AppHandle::export_day_report(self, day, path))
    }

    fn day_sums(&self, day: NaiveDate) -> BoxFuture<'_, Result<DaySums, String>> {
        Box::pin(AppHandle::day_sums(self, day))
    }
}
