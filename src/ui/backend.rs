//! What the window needs from the layers below it, as one small async interface.
//!
//! The window only ever calls these methods from tasks on the tokio runtime, never from the UI thread.
//! The implementation over the real [`crate::engine::Engine`] lives here too; tests may bring their own.
//! Errors come back as text ready to show: the window does not interpret them.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::broadcast;

use crate::engine::{Cart, CustomerAction, EngineEvent, OrderView};
use crate::ledger::state::OrderStatus;
use crate::money::Fen;

/// A boxed future, so the interface can be used as `dyn Backend`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the window shows about the shop and the station.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationInfo {
    pub store_name: String,
    pub station: String,
    /// The cashier whose name goes on each order.
    pub cashier: String,
    /// `"zh"` or `"en"`: the language to start with when the window has no saved choice.
    pub language: String,
    /// The hour (local time) at which a business day starts, for history and export.
    pub day_start_hour: u8,
    pub sandbox: bool,
}

/// One order in the history list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub out_trade_no: String,
    pub created_at: DateTime<Utc>,
    pub total: Fen,
    pub status: OrderStatus,
    pub transaction_id: Option<String>,
    pub cashier: String,
}

/// One line of a stored order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailLine {
    pub name: String,
    pub unit_price: Fen,
    pub qty: u32,
    pub line_total: Fen,
}

/// One entry of an order's event history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailEvent {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub detail: String,
}

/// An order's lines and history.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderDetail {
    pub lines: Vec<DetailLine>,
    pub events: Vec<DetailEvent>,
}

/// The engine and the ledger as the window uses them.
pub trait Backend: Send + Sync + 'static {
    fn info(&self) -> StationInfo;
    /// Order updates and problems, as they happen.
    fn subscribe(&self) -> broadcast::Receiver<EngineEvent>;
    /// Create the order; the answer carries the `code_url` to show.
    fn charge(&self, cart: Cart) -> BoxFuture<'_, Result<OrderView, String>>;
    fn cancel(&self, out_trade_no: String) -> BoxFuture<'_, Result<(), String>>;
    /// Sandbox only: play the customer.
    fn simulate(
        &self,
        out_trade_no: String,
        action: CustomerAction,
    ) -> BoxFuture<'_, Result<(), String>>;
    /// The orders of one business day, oldest first.
    fn orders_for_day(&self, day: NaiveDate) -> BoxFuture<'_, Result<Vec<HistoryRow>, String>>;
    fn order_detail(&self, out_trade_no: String) -> BoxFuture<'_, Result<OrderDetail, String>>;
    /// Write the day's CSV to `path`; the number of rows written.
    fn export_day(&self, day: NaiveDate, path: PathBuf) -> BoxFuture<'_, Result<usize, String>>;
}

/// The window over the real engine: engine calls are awaited on the runtime, ledger reads and the export
/// (SQLite, file I/O) run on the blocking pool.
impl Backend for crate::engine::Engine {
    fn info(&self) -> StationInfo {
        let c = self.config();
        StationInfo {
            store_name: c.store.name.clone(),
            station: c.store.station.clone(),
            cashier: c.store.cashiers.first().cloned().unwrap_or_default(),
            language: match c.language {
                crate::config::Language::Zh => "zh".into(),
                crate::config::Language::En => "en".into(),
            },
            day_start_hour: c.day_start_hour,
            sandbox: self.is_sandbox(),
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        crate::engine::Engine::subscribe(self)
    }

    fn charge(&self, cart: Cart) -> BoxFuture<'_, Result<OrderView, String>> {
        Box::pin(async move {
            crate::engine::Engine::charge(self, cart)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn cancel(&self, out_trade_no: String) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            crate::engine::Engine::cancel(self, &out_trade_no)
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

    fn orders_for_day(&self, day: NaiveDate) -> BoxFuture<'_, Result<Vec<HistoryRow>, String>> {
        let ledger = self.ledger();
        let start = self.config().day_start_hour;
        Box::pin(async move {
            let orders = tokio::task::spawn_blocking(move || ledger.orders_for_day(day, start))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            Ok(orders
                .into_iter()
                .map(|o| HistoryRow {
                    out_trade_no: o.out_trade_no,
                    created_at: o.created_at,
                    total: o.total,
                    status: o.status,
                    transaction_id: o.transaction_id,
                    cashier: o.cashier,
                })
                .collect())
        })
    }

    fn order_detail(&self, out_trade_no: String) -> BoxFuture<'_, Result<OrderDetail, String>> {
        let ledger = self.ledger();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let lines = ledger
                    .items(&out_trade_no)
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|l| DetailLine {
                        name: l.name,
                        unit_price: l.unit_price,
                        qty: l.qty,
                        line_total: l.line_total,
                    })
                    .collect();
                let events = ledger
                    .events(&out_trade_no)
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|e| DetailEvent {
                        at: e.at,
                        kind: e.kind,
                        detail: [e.outcome, e.detail]
                            .into_iter()
                            .filter(|s| !s.is_empty())
                            .collect::<Vec<_>>()
                            .join(" · "),
                    })
                    .collect();
                Ok(OrderDetail { lines, events })
            })
            .await
            .map_err(|e| e.to_string())?
        })
    }

    fn export_day(&self, day: NaiveDate, path: PathBuf) -> BoxFuture<'_, Result<usize, String>> {
        let ledger = self.ledger();
        let start = self.config().day_start_hour;
        Box::pin(async move {
            tokio::task::spawn_blocking(move || ledger.export_day_to_file(day, start, &path))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())
        })
    }
}
