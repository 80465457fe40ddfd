//! [`UiCommand`]: what a screen asks for when the cashier clicks or presses a key.
//!
//! Screens push commands while they draw and change nothing themselves; `reduce` applies them at the
//! start of the next frame, in order. A command is not work off the UI thread: the reducer turns the ones that
//! need the engine into [`super::effects::Intent`]s.

use std::path::PathBuf;

use chrono::NaiveDate;

use super::i18n::Lang;
use super::state::Screen;
use crate::app::window::{CartLine, CustomerAction, PrintJob};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiCommand {
    // ---- the frame around every screen ----
    /// A navigation button. "Sale" goes back to the order on screen while there is one.
    Navigate(Screen),
    SetLang(Lang),
    /// Dismiss the paid-after-cancel alert at this position.
    DismissAlert(usize),
    /// Dismiss the engine problem at this position.
    DismissError(usize),

    // ---- sale ----
    /// A checked line from the entry fields: into the cart (where the edited line was, or at the end).
    AddLine(CartLine),
    /// Take line `i` back into the entry fields.
    EditLine(usize),
    RemoveLine(usize),
    ClearCart,
    /// Charge the cart, if it can be charged.
    Charge,

    // ---- payment and paid ----
    /// Show the "cancel this order?" dialog.
    AskCancel,
    /// "Yes" in that dialog: cancel the order on screen.
    ConfirmCancel,
    /// "No" (or Esc, or a click beside it): keep waiting.
    KeepOrder,
    /// Sandbox only: play the customer of this order.
    Simulate(String, CustomerAction),
    /// Back to an empty sale.
    NewSale,
    /// Drop the order on screen and charge the same cart again.
    ChargeAgain,

    // ---- history and export ----
    LoadHistory(NaiveDate),
    SelectOrder(String),
    /// From the history to the export screen, for this day.
    ExportDay(NaiveDate),
    /// Ask for a file with the save dialog, then export this day.
    Export(NaiveDate),
    /// Export to a known file (no dialog).
    ExportTo(NaiveDate, PathBuf),

    // ---- the day report (日结) ----
    /// Show this day's report.
    LoadDayReport(NaiveDate),
    /// Ask for a file with the save dialog, then write this day's report CSV.
    ExportDayReport(NaiveDate),
    /// Write this day's report CSV to a known file (no dialog).
    ExportDayReportTo(NaiveDate, PathBuf),

    // ---- refunds (history) ----
    /// "退款 Refund" beside a paid order: open the form.
    OpenRefund(String),
    /// "Next": check the form and ask for confirmation.
    ReviewRefund,
    /// "Confirm refund": send it with the PIN.
    ConfirmRefund,
    /// "Back" from the confirmation to the form.
    BackToRefundForm,
    CloseRefund,
    /// "Refund" on the paid-after-cancel alert at this position: that order in the history, form open.
    RefundFromAlert(usize),

    // ---- sign-in and handover (交班) ----
    /// At start: resume the station's open shift, or sign in automatically, or ask.
    StartShift,
    /// A name on the sign-in screen: signed in at once without a PIN, else its PIN is asked for.
    PickCashier(String),
    /// "签到 Sign in" with the PIN typed for the picked name.
    SignIn,
    /// Back from the PIN to the names.
    BackToCashiers,
    /// "交班 Hand over" in the navigation: the shift's summary (refused while an order is in progress).
    OpenHandover,
    /// "确认交班 Confirm handover".
    ConfirmHandover,
    /// Dismiss the handover's refusal or its "recorded" notice.
    DismissHandoverNotice,

    // ---- the counter ----
    /// Print a receipt, a payment slip, or open the drawer.
    Print(PrintJob),
    /// F11: full screen on or off.
    ToggleFullscreen,
}
