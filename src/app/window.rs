//! What the window is given: one small async interface ([`Backend`]) and the views it reads.
//!
//! The window (`crate::ui`) imports only this module and the leaf modules; it never names the engine, the
//! ledger or the configuration. The engine's view types it draws (carts, order views, events, statuses) are
//! re-exported here. The window only ever calls these methods from tasks on the tokio runtime, never from the
//! UI thread. The implementation over the running PayDesk is [`crate::app::AppHandle`]'s (`backend.rs`);
//! tests may bring their own. Errors come back as text ready to show: the window does not interpret them.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use chrono::NaiveDate;
use tokio::sync::broadcast;

pub use crate::app::refunds::{RefundInfo, RefundRequest};
pub use crate::config::WindowStart;
pub use crate::engine::{
    Cart, CartLine, CustomerAction, EngineEvent, EventView, LineView, OrderDetail, OrderRefunds,
    OrderStatus, OrderSummary, OrderView, ReconciledDay, RefundState, RefundView,
};
pub use crate::ledger::refund_state::order_received_money;
pub use crate::ledger::report::{DailyTotal, DayReport, GroupLine, HourLine, StatusLine};
pub use crate::ledger::{DaySums, ReconciliationRecord, ShiftSummary};
pub use crate::money::Fen;
pub use crate::report_format::Reconciled;

/// A boxed future, so the interface can be used as `dyn Backend`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the window shows about the shop and the station.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationInfo {
    pub store_name: String,
    pub station: String,
    /// The first configured cashier (empty with no list). Who signs in, and so whose name goes on each
    /// order, is [`Backend::sign_in_info`]'s and the window's sign-in.
    pub cashier: String,
    /// `"zh"` or `"en"`: the language to start with when the window has no saved choice.
    pub language: String,
    /// The hour (local time) at which a business day starts, for history and export.
    pub day_start_hour: u8,
    /// Whose gateway takes the payments: the window says so in its banner.
    pub mode: Mode,
}

/// Whose gateway takes the payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The sandbox: no real money.
    Sandbox,
    /// A `[merchant]` pointed at a gateway other than WeChat Pay's own: not the live service.
    TestGateway,
    /// WeChat Pay's own gateway: real money.
    Live,
}

impl Mode {
    pub fn is_sandbox(self) -> bool {
        self == Mode::Sandbox
    }
}

/// The counter's windows and hardware as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CounterInfo {
    pub window_start: WindowStart,
    /// `Some(monitor)`: open the customer display on that monitor.
    pub customer_display: Option<usize>,
    /// A receipt printer is configured.
    pub printer: bool,
    /// Print the receipt as soon as a sale is paid.
    pub auto_print: bool,
    /// Open the cash drawer when a sale is paid.
    pub drawer_kick: bool,
}

/// Something to print: about one order, or a day's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrintJob {
    /// A paid order: open the drawer first when `drawer`, then print its receipt when `receipt`
    /// (one job, so a printer that takes one client at a time gets both).
    Paid {
        out_trade_no: String,
        receipt: bool,
        drawer: bool,
    },
    /// The payment QR of an open order on paper, with the amount and when it expires.
    PaymentSlip { out_trade_no: String },
    /// The day report (日结) of a business day, laid out for the paper.
    DayReport { day: NaiveDate },
}

/// What the printer said about a job it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Printed {
    /// The roll is nearly used up.
    pub paper_low: bool,
}

/// How cashiers sign in at this station, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignInInfo {
    /// The names to choose from, in the configured order; empty: no list.
    pub cashiers: Vec<CashierChoice>,
    /// Hide the expected totals at handover.
    pub blind: bool,
}

/// One cashier on the sign-in screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashierChoice {
    pub name: String,
    /// A PIN is asked for.
    pub pin: bool,
}

impl SignInInfo {
    /// Who signs in without being asked: with no list, nobody by name (`""`); with a single cashier
    /// without a PIN, that cashier. `None`: the sign-in screen asks.
    pub fn automatic(&self) -> Option<String> {
        match self.cashiers.as_slice() {
            [] => Some(String::new()),
            [one] if !one.pin => Some(one.name.clone()),
            _ => None,
        }
    }
}

/// The signed-in cashier's shift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftView {
    pub cashier: String,
    pub signed_in_at: chrono::DateTime<chrono::Utc>,
}

/// Why a sign-in or a handover did not go through, for the window to say in its own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShiftError {
    /// A wrong PIN; `left` more lock this cashier's sign-in.
    WrongPin { left: u32 },
    /// Too many wrong PINs: this cashier cannot sign in until then.
    Locked {
        until: chrono::DateTime<chrono::Utc>,
    },
    /// Someone else's shift is open at this station (it must be handed over first).
    OtherSignedIn { cashier: String },
    /// An order of this station is not finished: no handover until it is.
    OrderOpen { out_trade_no: String },
    /// Anything else, ready to show.
    Failed(String),
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
    fn orders_for_day(&self, day: NaiveDate) -> BoxFuture<'_, Result<Vec<OrderSummary>, String>>;
    fn order_detail(&self, out_trade_no: String) -> BoxFuture<'_, Result<OrderDetail, String>>;
    /// Write the day's CSV to `path`; the number of rows written.
    fn export_day(&self, day: NaiveDate, path: PathBuf) -> BoxFuture<'_, Result<usize, String>>;
    /// The counter's windows and hardware; by default a plain window and no printer.
    fn counter(&self) -> CounterInfo {
        CounterInfo::default()
    }
    /// Whether refunds can be made here, and the PIN situation (sandbox: 0000 while none is set; live:
    /// refused until one is set). By default: not available.
    fn refund_info(&self) -> RefundInfo {
        RefundInfo {
            available: false,
            unavailable_reason: Some("refunds are not available here".into()),
            sandbox_default_pin: false,
            pin_missing: false,
        }
    }
    /// Refund a paid order (`req.amount` `None`: all that is left) with the manager's PIN, checked inside
    /// (five wrong PINs lock refunds for five minutes, shared with `paydesk refund`). Resolves once the
    /// first answer is applied; the live status follows as [`EngineEvent::Refund`] until it is final. The
    /// error is ready to show (wrong PIN, locked until …, more than is left: how much can be refunded).
    fn refund(&self, req: RefundRequest) -> BoxFuture<'_, Result<RefundView, String>> {
        let _ = req;
        Box::pin(async { Err("refunds are not available here".into()) })
    }
    /// An order's refunds (oldest first) with its refunded total and what is left to refund.
    fn refunds_of(&self, out_trade_no: String) -> BoxFuture<'_, Result<OrderRefunds, String>> {
        let _ = out_trade_no;
        Box::pin(async { Err("refunds are not available here".into()) })
    }
    /// Business day `day`'s report (日结) and the 30 days up to it (oldest first, every day present), for
    /// the day report screen. By default: not available.
    fn day_report(
        &self,
        day: NaiveDate,
    ) -> BoxFuture<'_, Result<(DayReport, Vec<DailyTotal>), String>> {
        let _ = day;
        Box::pin(async { Err("the day report is not available here".into()) })
    }
    /// Write business day `day`'s report CSV to `path` (replaced atomically). By default: not available.
    fn export_day_report(
        &self,
        day: NaiveDate,
        path: PathBuf,
    ) -> BoxFuture<'_, Result<(), String>> {
        let _ = (day, path);
        Box::pin(async { Err("the day report is not available here".into()) })
    }
    /// Business day `day`'s received, refunded and net (the history's summary). By default: not available.
    fn day_sums(&self, day: NaiveDate) -> BoxFuture<'_, Result<DaySums, String>> {
        let _ = day;
        Box::pin(async { Err("the day's sums are not available here".into()) })
    }
    /// The cashiers to choose from at sign-in; by default the one of [`StationInfo::cashier`], without a
    /// PIN (signed in automatically).
    fn sign_in_info(&self) -> SignInInfo {
        let name = self.info().cashier;
        SignInInfo {
            cashiers: if name.is_empty() {
                Vec::new()
            } else {
                vec![CashierChoice { name, pin: false }]
            },
            blind: false,
        }
    }
    /// The station's open shift, resumed (a restart does not sign the cashier out); with none open and
    /// `automatic` given, that cashier is signed in. By default shifts are not recorded: `Ok(None)`.
    fn resume_shift(
        &self,
        automatic: Option<String>,
    ) -> BoxFuture<'_, Result<Option<ShiftView>, String>> {
        let _ = automatic;
        Box::pin(async { Ok(None) })
    }
    /// Sign `cashier` in with their PIN (empty when they have none), checked inside with the lockout.
    fn sign_in(
        &self,
        cashier: String,
        pin: String,
    ) -> BoxFuture<'_, Result<ShiftView, ShiftError>> {
        let _ = (cashier, pin);
        Box::pin(async { Err(ShiftError::Failed("sign-in is not available here".into())) })
    }
    /// The open shift and what it took so far.
    fn shift_summary(&self) -> BoxFuture<'_, Result<(ShiftView, ShiftSummary), String>> {
        Box::pin(async { Err("shifts are not recorded here".into()) })
    }
    /// Hand the open shift over (refused while an order of the station is open); what it took.
    fn hand_over(&self) -> BoxFuture<'_, Result<ShiftSummary, ShiftError>> {
        Box::pin(async { Err(ShiftError::Failed("shifts are not recorded here".into())) })
    }
    /// Print `job` on the configured printer; the error says what to check.
    fn print(&self, job: PrintJob) -> BoxFuture<'_, Result<Printed, String>> {
        let _ = job;
        Box::pin(async {
            Err("no printer is configured ([printer] in the configuration file)".into())
        })
    }
}
