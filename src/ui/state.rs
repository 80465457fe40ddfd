//! What the window keeps: [`Prefs`], saved between runs, apart from [`UiState`], alive only while it is open,
//! and [`Fields`], the text being typed.
//!
//! Only `reduce` writes [`Prefs`] and [`UiState`]; screens read them. [`Fields`] are the edit buffers
//! of the text fields: the widgets write them as the cashier types, the reducer fills or empties them when a
//! command says so (a line taken back for editing, a new sale). No business data is saved here: orders live in
//! the ledger, and eframe's storage holds the window size and [`Prefs`] only.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::history::DayField;
use super::i18n::Lang;
use super::printing::PrintState;
use super::qr::QrView;
use super::sale::SaleForm;
use crate::app::window::{Cart, CartLine, OrderView};
use crate::app::window::{DailyTotal, DayReport, DaySums};
use crate::app::window::{OrderDetail, OrderRefunds, OrderSummary};
use crate::app::window::{ShiftError, ShiftSummary, ShiftView, SignInInfo};
use crate::money::Fen;

/// How long the paid view stays before the window goes back to a new sale by itself.
pub const PAID_VIEW_SECONDS: i64 = 6;

/// Saved between runs in eframe's storage: only UI preferences, never business data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    /// Bumped when the shape changes, so old saves can be migrated or dropped.
    pub version: u32,
    pub lang: Lang,
}

impl Prefs {
    pub const VERSION: u32 = 1;
    pub const KEY: &'static str = "paydesk-ui-prefs";

    /// The saved preferences, or the configured language when nothing (or an older shape) was saved.
    pub fn load(storage: Option<&dyn eframe::Storage>, configured: Lang) -> Prefs {
        storage
            .and_then(|s| eframe::get_value::<Prefs>(s, Prefs::KEY))
            .filter(|p| p.version == Prefs::VERSION)
            .unwrap_or(Prefs {
                version: Prefs::VERSION,
                lang: configured,
            })
    }
}

impl Default for Prefs {
    fn default() -> Self {
        Prefs {
            version: Prefs::VERSION,
            lang: Lang::Zh,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Sale,
    Payment,
    Paid,
    History,
    Export,
    /// 日结: the day report.
    DayReport,
    /// Choose a name (and type a PIN) to sign in: the start, and after each handover.
    SignIn,
    /// 交班: the shift's summary and the handover.
    Handover,
}

/// Everything the window shows that is not typed text, while it is open.
pub struct UiState {
    pub(crate) screen: Screen,
    pub(crate) sale: SaleState,
    pub(crate) payment: Option<PaymentState>,
    pub(crate) history: HistoryState,
    pub(crate) export: ExportState,
    /// Orders paid after they were given up: shown until the cashier dismisses them.
    pub(crate) alerts: Vec<OrderView>,
    /// Problems reported by the engine that are not tied to the order on screen.
    pub(crate) errors: Vec<String>,
    /// The printer's last answer.
    pub(crate) print: PrintState,
    /// Full screen, as last asked for (F11 or the configuration).
    pub(crate) fullscreen: bool,
    /// The day report screen (日结).
    pub(crate) day_report: DayReportState,
    /// Who is signed in, the sign-in screen and the handover.
    pub(crate) shift: ShiftState,
}

impl Default for UiState {
    fn default() -> Self {
        UiState {
            screen: Screen::Sale,
            sale: SaleState::default(),
            payment: None,
            history: HistoryState::default(),
            export: ExportState::default(),
            alerts: Vec::new(),
            errors: Vec::new(),
            print: PrintState::default(),
            fullscreen: false,
            day_report: DayReportState::default(),
            shift: ShiftState::default(),
        }
    }
}

impl UiState {
    /// Is an order still in the customer's hands? Then the cashier stays on it.
    pub(crate) fn order_in_progress(&self) -> bool {
        self.sale.charging
            || self
                .payment
                .as_ref()
                .is_some_and(|p| !p.order.status.is_final())
    }
}

/// The cart being rung up and its Charge.
#[derive(Debug, Default)]
pub struct SaleState {
    pub lines: Vec<CartLine>,
    /// A line taken back into the fields for editing goes back to this position.
    pub editing: Option<usize>,
    /// A Charge has been sent and its answer has not arrived.
    pub charging: bool,
    pub charge_error: Option<String>,
    /// Events for an order whose Charge answer has not arrived yet.
    pub(crate) early_events: HashMap<String, OrderView>,
}

impl SaleState {
    /// The exact total, `None` if it overflows.
    pub fn total(&self) -> Option<Fen> {
        Cart {
            lines: self.lines.clone(),
            cashier: String::new(),
        }
        .total()
    }
}

/// The order on screen.
pub struct PaymentState {
    pub order: OrderView,
    pub(crate) qr: Option<QrView>,
    pub(crate) qr_error: Option<String>,
    pub confirm_cancel: bool,
    pub cancel_sent: bool,
    pub error: Option<String>,
    pub paid_shown_at: Option<DateTime<Utc>>,
}

impl PaymentState {
    /// A payment screen for `order`, before its QR is drawn and before the cashier did anything.
    pub fn new(order: OrderView) -> PaymentState {
        PaymentState {
            order,
            qr: None,
            qr_error: None,
            confirm_cancel: false,
            cancel_sent: false,
            error: None,
            paid_shown_at: None,
        }
    }
}

/// The history screen.
#[derive(Default)]
pub struct HistoryState {
    pub day: Option<NaiveDate>,
    pub loading: bool,
    pub rows: Option<Result<Vec<OrderSummary>, String>>,
    pub selected: Option<String>,
    pub detail: Option<Result<OrderDetail, String>>,
    /// The selected order's refunds and what is left to refund.
    pub refunds: Option<Result<OrderRefunds, String>>,
    /// The refund form, open for one order.
    pub refund: Option<RefundForm>,
    /// The day's received, refunded and net (refunds of the day count whatever day their order is from).
    pub sums: Option<Result<DaySums, String>>,
}

/// The refund form of one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundForm {
    pub out_trade_no: String,
    pub step: RefundStep,
    /// Why the last try was refused (a wrong PIN, more than is left, locked), shown in the form.
    pub error: Option<String>,
}

/// Where the refund form stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundStep {
    /// Amount, reason and PIN being typed.
    Entering,
    /// "Refund ¥X to the customer?"
    Confirming { amount: Fen },
    /// Sent; waiting for the first answer.
    Sending,
    /// Accepted under this out_refund_no; its live status shows until the form is closed.
    Sent(String),
}

/// The export screen.
#[derive(Default)]
pub struct ExportState {
    pub busy: bool,
    pub cancelled: bool,
    pub result: Option<Result<(usize, PathBuf), String>>,
}

/// The day report screen (日结): the day shown, its report and the 30 days up to it, and the last export.
#[derive(Default)]
pub struct DayReportState {
    pub day: Option<NaiveDate>,
    pub loading: bool,
    pub data: Option<Result<(DayReport, Vec<DailyTotal>), String>>,
    /// The report CSV: being written, no file chosen, or where it went (or why not).
    pub exporting: bool,
    pub export_cancelled: bool,
    pub exported: Option<Result<PathBuf, String>>,
}

/// Signing in and handing over (交班).
#[derive(Debug, Default)]
pub struct ShiftState {
    /// The configured cashiers and the blind option (from the backend, once).
    pub info: SignInInfo,
    /// Who is signed in: their name goes on each order. `None`: the sign-in screen.
    pub cashier: Option<String>,
    /// Since when, once the ledger has recorded the shift.
    pub signed_in_at: Option<DateTime<Utc>>,
    /// Asking the ledger for the station's open shift (at start): the sign-in screen waits.
    pub resuming: bool,
    /// The name chosen on the sign-in screen, whose PIN is being typed.
    pub picked: Option<String>,
    /// A sign-in has been sent and its answer has not arrived.
    pub signing_in: bool,
    pub sign_in_error: Option<ShiftError>,
    /// The handover screen's summary: loading while `None` and `loading`.
    pub summary: Option<Result<(ShiftView, ShiftSummary), String>>,
    pub loading: bool,
    /// The handover has been sent and its answer has not arrived.
    pub handing_over: bool,
    /// Why the handover was refused, shown until dismissed or the next try.
    pub refused: Option<HandoverRefusal>,
    /// The last handover's summary: "recorded", until dismissed or the next sign-in.
    pub handed_over: Option<ShiftSummary>,
}

/// Why "交班" did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandoverRefusal {
    /// The payment screen is up (or a Charge is on its way): the customer may be paying.
    OrderInProgress,
    /// The ledger has an unfinished order of this station.
    OrderOpen(String),
    /// Anything else, ready to show.
    Failed(String),
}

/// The text fields' edit buffers (see the module doc for who writes them).
#[derive(Debug, Default)]
pub struct Fields {
    pub sale: SaleForm,
    pub history_day: DayField,
    pub export_day: DayField,
    pub refund: super::refund::RefundFields,
    pub day_report_day: DayField,
    /// The PIN typed on the sign-in screen (emptied once sent).
    pub sign_in_pin: String,
}
