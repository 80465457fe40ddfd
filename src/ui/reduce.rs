//! The reducer: the only writer of [`Prefs`] and [`UiState`]. It applies the screens' [`UiCommand`]s, the
//! [`Msg`]s that come back from the runtime, and the paid view's timeout, and collects the [`Intent`]s the
//! engine must run.
//!
//! It draws nothing and starts no task (see [`super::effects`]). The status of an order comes from the engine's
//! reports only; this module merely keeps the newer of two reports.

use chrono::{DateTime, NaiveDate, Utc};
use eframe::egui;

use super::command::UiCommand;
use super::effects::{Intent, Msg};
use super::qr::QrView;
use super::state::HandoverRefusal;
use super::state::{
    Fields, PAID_VIEW_SECONDS, PaymentState, Prefs, RefundForm, RefundStep, SaleState, Screen,
    UiState,
};
use crate::app::window::{Cart, EngineEvent, OrderStatus, OrderView};
use crate::app::window::{CounterInfo, PrintJob, RefundRequest, StationInfo};
use crate::app::window::{ShiftError, ShiftSummary, ShiftView};
use crate::money::Fen;

/// One frame's writes: the state it may change, what it reads, and the intents it decides on.
pub(crate) struct Reducer<'a> {
    pub prefs: &'a mut Prefs,
    pub ui: &'a mut UiState,
    pub fields: &'a mut Fields,
    pub info: &'a StationInfo,
    pub counter: &'a CounterInfo,
    pub now: DateTime<Utc>,
    /// For the QR texture of a new `code_url`.
    pub ctx: &'a egui::Context,
    pub intents: Vec<Intent>,
}

impl Reducer<'_> {
    /// The business day that is running now.
    fn today(&self) -> NaiveDate {
        crate::calendar::business_day(self.now, self.info.day_start_hour)
    }

    // ---- commands from the screens ----

    pub(crate) fn command(&mut self, cmd: UiCommand) {
        match cmd {
            UiCommand::Navigate(screen) => self.navigate(screen),
            UiCommand::SetLang(lang) => self.prefs.lang = lang,
            UiCommand::DismissAlert(i) => {
                if i < self.ui.alerts.len() {
                    self.ui.alerts.remove(i);
                }
            }
            UiCommand::DismissError(i) => {
                if i < self.ui.errors.len() {
                    self.ui.errors.remove(i);
                }
            }
            UiCommand::AddLine(line) => {
                let sale = &mut self.ui.sale;
                let at = sale
                    .editing
                    .take()
                    .unwrap_or(sale.lines.len())
                    .min(sale.lines.len());
                sale.lines.insert(at, line);
            }
            UiCommand::EditLine(i) => {
                let sale = &mut self.ui.sale;
                if i < sale.lines.len() {
                    let line = sale.lines.remove(i);
                    sale.editing = Some(i);
                    self.fields.sale.load(line);
                }
            }
            UiCommand::RemoveLine(i) => {
                let sale = &mut self.ui.sale;
                if i < sale.lines.len() {
                    sale.lines.remove(i);
                    if let Some(e) = sale.editing.as_mut()
                        && *e > i
                    {
                        *e -= 1;
                    }
                }
                self.fields.sale.focus_name();
            }
            UiCommand::ClearCart => {
                let sale = &mut self.ui.sale;
                sale.lines.clear();
                sale.editing = None;
                sale.charge_error = None;
                self.fields.sale.focus_name();
            }
            UiCommand::Charge => self.charge(),
            UiCommand::AskCancel => {
                if let Some(p) = self.ui.payment.as_mut() {
                    p.confirm_cancel = true;
                }
            }
            UiCommand::ConfirmCancel => {
                if let Some(p) = self.ui.payment.as_mut() {
                    p.confirm_cancel = false;
                    p.cancel_sent = true;
                    self.intents
                        .push(Intent::Cancel(p.order.out_trade_no.clone()));
                }
            }
            UiCommand::KeepOrder => {
                if let Some(p) = self.ui.payment.as_mut() {
                    p.confirm_cancel = false;
                }
            }
            UiCommand::Simulate(no, action) => self.intents.push(Intent::Simulate(no, action)),
            UiCommand::NewSale => self.new_sale(),
            UiCommand::ChargeAgain => {
                self.ui.payment = None;
                self.ui.screen = Screen::Sale;
                self.charge();
            }
            UiCommand::LoadHistory(day) => self.load_history(day),
            UiCommand::SelectOrder(no) => self.select_order(no),
            UiCommand::OpenRefund(no) => self.open_refund(no),
            UiCommand::ReviewRefund => self.review_refund(),
            UiCommand::ConfirmRefund => self.confirm_refund(),
            UiCommand::BackToRefundForm => {
                if let Some(f) = self.ui.history.refund.as_mut()
                    && matches!(f.step, RefundStep::Confirming { .. })
                {
                    f.step = RefundStep::Entering;
                    // The PIN approved that amount; a changed one is approved again.
                    self.fields.refund.pin.clear();
                }
            }
            UiCommand::CloseRefund => {
                self.ui.history.refund = None;
                self.fields.refund = Default::default();
            }
            UiCommand::RefundFromAlert(i) => {
                // Signed out (the sign-in screen shows alerts too): sign in first.
                if let Some(a) = self.ui.alerts.get(i).cloned()
                    && self.ui.shift.cashier.is_some()
                {
                    let day = crate::calendar::business_day(a.day_at(), self.info.day_start_hour);
                    self.ui.screen = Screen::History;
                    self.load_history(day);
                    self.select_order(a.out_trade_no.clone());
                    self.open_refund(a.out_trade_no);
                }
            }
            UiCommand::ExportDay(day) => {
                self.fields.export_day.set(day);
                self.ui.export.result = None;
                self.ui.export.cancelled = false;
                self.go(Screen::Export);
            }
            UiCommand::Export(day) => {
                self.start_export();
                self.intents.push(Intent::ExportWithDialog(day));
            }
            UiCommand::ExportTo(day, path) => {
                self.start_export();
                self.intents.push(Intent::ExportTo(day, path));
            }
            UiCommand::LoadDayReport(day) => self.load_day_report(day),
            UiCommand::ExportDayReport(day) => {
                self.start_report_export();
                self.intents.push(Intent::ExportDayReportWithDialog(day));
            }
            UiCommand::ExportDayReportTo(day, path) => {
                self.start_report_export();
                self.intents.push(Intent::ExportDayReportTo(day, path));
            }
            UiCommand::StartShift => self.start_shift(),
            UiCommand::PickCashier(name) => self.pick_cashier(name),
            UiCommand::SignIn => self.sign_in(),
            UiCommand::BackToCashiers => {
                let sh = &mut self.ui.shift;
                if !sh.signing_in {
                    sh.picked = None;
                    sh.sign_in_error = None;
                    self.fields.sign_in_pin.clear();
                }
            }
            UiCommand::OpenHandover => self.open_handover(),
            UiCommand::ConfirmHandover => self.confirm_handover(),
            UiCommand::DismissHandoverNotice => {
                self.ui.shift.refused = None;
                self.ui.shift.handed_over = None;
            }
            UiCommand::Print(job) => self.print(job),
            UiCommand::ToggleFullscreen => {
                self.ui.fullscreen = !self.ui.fullscreen;
                self.ctx
                    .send_viewport_cmd(egui::ViewportCommand::Fullscreen(self.ui.fullscreen));
            }
        }
    }

    /// A navigation button: "Sale" goes back to the order on screen (or its final state) while there is one.
    /// Nothing but the sign-in screen until someone is signed in.
    fn navigate(&mut self, screen: Screen) {
        if self.ui.shift.cashier.is_none() {
            return;
        }
        if screen == Screen::Handover {
            return self.open_handover();
        }
        match (screen, self.ui.payment.as_ref()) {
            (Screen::Sale, Some(p)) => {
                self.ui.screen = if p.order.status == OrderStatus::Paid {
                    Screen::Paid
                } else {
                    Screen::Payment
                };
            }
            _ => self.go(screen),
        }
    }

    fn go(&mut self, screen: Screen) {
        if screen == self.ui.screen {
            return;
        }
        self.ui.screen = screen;
        match screen {
            Screen::History => {
                let day = self.ui.history.day.unwrap_or_else(|| self.today());
                self.load_history(day);
            }
            Screen::Export => {
                if self.fields.export_day.text.is_empty() {
                    let today = self.today();
                    self.fields.export_day.set(today);
                }
            }
            Screen::DayReport => {
                // Read again on every visit: the day's money moves while the window is open.
                let day = self.ui.day_report.day.unwrap_or_else(|| self.today());
                self.load_day_report(day);
            }
            Screen::Sale => self.fields.sale.focus_name(),
            Screen::Handover => {
                let sh = &mut self.ui.shift;
                sh.summary = None;
                sh.loading = true;
                self.intents.push(Intent::LoadShiftSummary);
            }
            Screen::Payment | Screen::Paid | Screen::SignIn => {}
        }
    }

    // ---- sign-in and handover ----

    /// At start: the cashier who signs in without being asked is signed in at once (the ledger records or
    /// resumes the shift meanwhile); otherwise the sign-in screen waits for the station's open shift, which
    /// a restart resumes.
    fn start_shift(&mut self) {
        let sh = &mut self.ui.shift;
        sh.resuming = true;
        let automatic = sh.info.automatic();
        if let Some(name) = &automatic {
            sh.cashier = Some(name.clone());
        } else {
            sh.cashier = None;
            self.ui.screen = Screen::SignIn;
        }
        self.intents.push(Intent::ResumeShift(automatic));
    }

    /// A name on the sign-in screen: without a PIN, signed in; with one, its PIN field.
    fn pick_cashier(&mut self, name: String) {
        let sh = &mut self.ui.shift;
        if sh.cashier.is_some() || sh.signing_in || sh.resuming {
            return;
        }
        let Some(choice) = sh.info.cashiers.iter().find(|c| c.name == name) else {
            return;
        };
        sh.sign_in_error = None;
        self.fields.sign_in_pin.clear();
        if choice.pin {
            sh.picked = Some(name);
        } else {
            sh.picked = None;
            sh.signing_in = true;
            self.intents.push(Intent::SignIn(
                name,
                super::effects::TypedPin(String::new()),
            ));
        }
    }

    /// "Sign in" with the PIN typed for the picked name; the PIN is not kept.
    fn sign_in(&mut self) {
        let sh = &mut self.ui.shift;
        if sh.signing_in || sh.cashier.is_some() {
            return;
        }
        let Some(name) = sh.picked.clone() else {
            return;
        };
        let pin = std::mem::take(&mut self.fields.sign_in_pin);
        if pin.trim().is_empty() {
            return;
        }
        sh.signing_in = true;
        sh.sign_in_error = None;
        self.intents.push(Intent::SignIn(
            name,
            super::effects::TypedPin(pin.trim().to_owned()),
        ));
    }

    /// Signed in (or the open shift resumed): to a new sale.
    fn signed_in(&mut self, shift: ShiftView) {
        let sh = &mut self.ui.shift;
        sh.cashier = Some(shift.cashier);
        sh.signed_in_at = Some(shift.signed_in_at);
        sh.picked = None;
        sh.sign_in_error = None;
        sh.refused = None;
        self.fields.sign_in_pin.clear();
        if self.ui.screen == Screen::SignIn {
            self.new_sale();
            self.fields.sale.focus_name();
        }
    }

    /// Why the handover cannot start now, as far as the window knows: the customer may be paying.
    fn handover_blocked(&self) -> bool {
        self.ui.order_in_progress()
    }

    /// "交班" in the navigation: the summary, unless an order is in progress (then the refusal says so).
    fn open_handover(&mut self) {
        if self.ui.shift.cashier.is_none() {
            return;
        }
        if self.handover_blocked() {
            self.ui.shift.refused = Some(HandoverRefusal::OrderInProgress);
            return;
        }
        self.ui.shift.refused = None;
        self.ui.shift.handed_over = None;
        if self.ui.screen == Screen::Handover {
            // Again: the numbers as of now.
            self.ui.screen = Screen::Sale;
        }
        self.go(Screen::Handover);
    }

    /// "Confirm handover": recorded by the ledger, which refuses while an order of the station is open.
    fn confirm_handover(&mut self) {
        if self.ui.screen != Screen::Handover || self.ui.shift.handing_over {
            return;
        }
        if self.handover_blocked() {
            self.ui.shift.refused = Some(HandoverRefusal::OrderInProgress);
            return;
        }
        self.ui.shift.refused = None;
        self.ui.shift.handing_over = true;
        self.intents.push(Intent::HandOver);
    }

    /// Handed over: back to sign-in (signed in again at once when nobody needs to be asked).
    fn handed_over(&mut self, summary: ShiftSummary) {
        self.new_sale();
        let sh = &mut self.ui.shift;
        sh.handing_over = false;
        sh.summary = None;
        sh.cashier = None;
        sh.signed_in_at = None;
        sh.handed_over = Some(summary);
        self.ui.screen = Screen::SignIn;
        if let Some(name) = sh.info.automatic() {
            sh.cashier = Some(name.clone());
            sh.resuming = true;
            self.ui.screen = Screen::Sale;
            self.intents.push(Intent::ResumeShift(Some(name)));
        }
    }

    fn load_history(&mut self, day: NaiveDate) {
        let h = &mut self.ui.history;
        h.day = Some(day);
        h.loading = true;
        h.selected = None;
        h.detail = None;
        h.refunds = None;
        h.refund = None;
        self.fields.refund = Default::default();
        self.fields.history_day.set(day);
        self.intents.push(Intent::LoadHistory(day));
        self.ui.history.sums = None;
        self.intents.push(Intent::LoadDaySums(day));
    }

    fn load_day_report(&mut self, day: NaiveDate) {
        let r = &mut self.ui.day_report;
        r.day = Some(day);
        r.loading = true;
        r.exported = None;
        r.export_cancelled = false;
        self.fields.day_report_day.set(day);
        self.intents.push(Intent::LoadDayReport(day));
    }

    fn start_report_export(&mut self) {
        let r = &mut self.ui.day_report;
        r.exporting = true;
        r.export_cancelled = false;
        r.exported = None;
    }

    fn select_order(&mut self, no: String) {
        let h = &mut self.ui.history;
        if h.refund.as_ref().is_some_and(|f| f.out_trade_no != no) {
            h.refund = None;
            self.fields.refund = Default::default();
        }
        h.selected = Some(no.clone());
        h.detail = None;
        h.refunds = None;
        self.intents.push(Intent::LoadDetail(no.clone()));
        self.intents.push(Intent::LoadRefunds(no));
    }

    /// The refund form for `no`, its amount filled with what is left (once known).
    fn open_refund(&mut self, no: String) {
        let h = &mut self.ui.history;
        let left = match &h.refunds {
            Some(Ok(r)) if r.out_trade_no == no => Some(r.refundable),
            _ => None,
        };
        h.refund = Some(RefundForm {
            out_trade_no: no,
            step: RefundStep::Entering,
            error: None,
        });
        self.fields.refund = Default::default();
        if let Some(left) = left {
            self.fields.refund.amount = left.yuan_string();
        }
    }

    fn refundable(&self, no: &str) -> Option<Fen> {
        match &self.ui.history.refunds {
            Some(Ok(r)) if r.out_trade_no == no => Some(r.refundable),
            _ => None,
        }
    }

    /// "Next": the form checked, then the confirmation; or the reason it cannot go, in the form.
    fn review_refund(&mut self) {
        let Some(no) = self
            .ui
            .history
            .refund
            .as_ref()
            .filter(|f| f.step == RefundStep::Entering)
            .map(|f| f.out_trade_no.clone())
        else {
            return;
        };
        let checked =
            super::refund::review(self.prefs.lang, &self.fields.refund, self.refundable(&no));
        if let Some(f) = self.ui.history.refund.as_mut() {
            match checked {
                Ok(amount) => {
                    f.error = None;
                    f.step = RefundStep::Confirming { amount };
                }
                Err(e) => f.error = Some(e),
            }
        }
    }

    /// "Confirm refund": sent with the PIN, which is not kept.
    fn confirm_refund(&mut self) {
        let Some(f) = self.ui.history.refund.as_mut() else {
            return;
        };
        let RefundStep::Confirming { amount } = f.step else {
            return;
        };
        f.step = RefundStep::Sending;
        let fields = std::mem::take(&mut self.fields.refund.pin);
        self.intents.push(Intent::Refund(RefundRequest {
            out_trade_no: f.out_trade_no.clone(),
            amount: Some(amount),
            reason: self.fields.refund.reason.trim().to_owned(),
            pin: fields,
            requested_by: self.ui.shift.cashier.clone().unwrap_or_default(),
        }));
    }

    fn start_export(&mut self) {
        let e = &mut self.ui.export;
        e.busy = true;
        e.cancelled = false;
        e.result = None;
    }

    /// Send the cart to the engine, or say beside Charge why it cannot go.
    fn charge(&mut self) {
        let lang = self.prefs.lang;
        // Only a signed-in cashier charges, and their name goes on the order.
        let Some(cashier) = self.ui.shift.cashier.as_deref() else {
            return;
        };
        let sale = &mut self.ui.sale;
        match cart_to_charge(sale, cashier) {
            Ok(Some(cart)) => {
                sale.charging = true;
                sale.charge_error = None;
                self.intents.push(Intent::Charge(cart));
            }
            Ok(None) => {}
            Err(Refusal::TooLarge) => sale.charge_error = Some(lang.t().total_too_large.into()),
            Err(Refusal::Zero) => sale.charge_error = Some(lang.t().total_is_zero.into()),
        }
    }

    fn print(&mut self, job: PrintJob) {
        self.ui.print.busy += 1;
        self.intents.push(Intent::Print(job));
    }

    /// Back to an empty sale.
    fn new_sale(&mut self) {
        self.ui.payment = None;
        self.ui.sale = SaleState::default();
        self.fields.sale = Default::default();
        self.ui.screen = Screen::Sale;
    }

    /// The paid view goes back to a new sale by itself.
    pub(crate) fn tick(&mut self) {
        if self.ui.screen == Screen::Paid
            && let Some(at) = self.ui.payment.as_ref().and_then(|p| p.paid_shown_at)
            && (self.now - at).num_seconds() >= PAID_VIEW_SECONDS
        {
            self.new_sale();
        }
    }

    // ---- messages from the runtime ----

    pub(crate) fn message(&mut self, msg: Msg) {
        let t = self.prefs.lang.t();
        match msg {
            Msg::Charged(Ok(view)) => {
                let sale = &mut self.ui.sale;
                sale.charging = false;
                sale.charge_error = None;
                // An event for this order may have overtaken the answer: keep the newer of the two.
                let order = match sale.early_events.remove(&view.out_trade_no) {
                    Some(ev) => merge(view, ev),
                    None => view,
                };
                sale.early_events.clear();
                self.show_order(order);
            }
            Msg::Charged(Err(e)) => {
                let sale = &mut self.ui.sale;
                sale.charging = false;
                sale.early_events.clear();
                sale.charge_error = Some(e);
            }
            Msg::Event(EngineEvent::Order(view)) => self.on_order_event(view),
            // Refund progress: the order's own event (its refunded total) follows each one; the History
            // refund panel will show these.
            Msg::Event(EngineEvent::Refund(view)) => {
                // The selected order's refunds, totals and events are read again as its refund moves.
                if self.ui.history.selected.as_deref() == Some(view.out_trade_no.as_str()) {
                    self.intents
                        .push(Intent::LoadDetail(view.out_trade_no.clone()));
                    self.intents.push(Intent::LoadRefunds(view.out_trade_no));
                }
            }
            Msg::Refunds(no, r) => {
                let h = &mut self.ui.history;
                if h.selected.as_deref() == Some(no.as_str()) {
                    // A form opened before the refunds arrived gets what is left as its amount.
                    if let (Ok(r), Some(f)) = (&r, h.refund.as_ref())
                        && f.out_trade_no == no
                        && f.step == RefundStep::Entering
                        && self.fields.refund.amount.is_empty()
                    {
                        self.fields.refund.amount = r.refundable.yuan_string();
                    }
                    h.refunds = Some(r);
                }
            }
            Msg::Refunded(no, result) => {
                if let Some(f) = self
                    .ui
                    .history
                    .refund
                    .as_mut()
                    .filter(|f| f.out_trade_no == no)
                {
                    match result {
                        Ok(view) => {
                            f.error = None;
                            f.step = RefundStep::Sent(view.out_refund_no);
                        }
                        Err(e) => {
                            f.error = Some(e);
                            f.step = RefundStep::Entering;
                        }
                    }
                }
                if self.ui.history.selected.as_deref() == Some(no.as_str()) {
                    self.intents.push(Intent::LoadRefunds(no));
                }
            }
            Msg::Event(EngineEvent::Error { message }) => {
                self.ui.errors.push(message);
                if self.ui.errors.len() > 3 {
                    self.ui.errors.remove(0);
                }
            }
            // A day reconciled with WeChat's bill: the manager is told only about what is left to look at.
            Msg::Event(EngineEvent::Reconciled(r)) => {
                if r.unexplained > 0 {
                    let day = r.day.to_string();
                    self.ui
                        .errors
                        .push(self.prefs.lang.reconcile_alert(&day, r.unexplained));
                    if self.ui.errors.len() > 3 {
                        self.ui.errors.remove(0);
                    }
                }
            }
            Msg::CancelDone(no, result) => {
                if let Some(p) = self
                    .ui
                    .payment
                    .as_mut()
                    .filter(|p| p.order.out_trade_no == no)
                {
                    match result {
                        Ok(()) => p.error = None,
                        Err(e) => {
                            p.cancel_sent = false;
                            p.error = Some(format!("{}: {e}", t.cancel_failed));
                        }
                    }
                }
            }
            Msg::SimulateDone(result) => {
                if let (Err(e), Some(p)) = (result, self.ui.payment.as_mut()) {
                    p.error = Some(format!("{}: {e}", t.simulate_failed));
                }
            }
            Msg::History(day, rows) => {
                let h = &mut self.ui.history;
                if h.day == Some(day) {
                    h.loading = false;
                    h.rows = Some(rows);
                }
            }
            Msg::Detail(no, detail) => {
                let h = &mut self.ui.history;
                if h.selected.as_deref() == Some(no.as_str()) {
                    h.detail = Some(detail);
                }
            }
            Msg::Exported(result) => {
                self.ui.export.busy = false;
                self.ui.export.result = Some(result);
            }
            Msg::ExportCancelled => {
                self.ui.export.busy = false;
                self.ui.export.cancelled = true;
            }
            Msg::DayReport(day, data) => {
                let r = &mut self.ui.day_report;
                // Only the answer for the day on screen (the cashier may have clicked on).
                if r.day == Some(day) {
                    r.loading = false;
                    r.data = Some(data);
                }
            }
            Msg::DayReportExported(result) => {
                let r = &mut self.ui.day_report;
                r.exporting = false;
                r.exported = Some(result);
            }
            Msg::DayReportExportCancelled => {
                let r = &mut self.ui.day_report;
                r.exporting = false;
                r.export_cancelled = true;
            }
            Msg::DaySums(day, sums) => {
                let h = &mut self.ui.history;
                if h.day == Some(day) {
                    h.sums = Some(sums);
                }
            }
            Msg::Resumed(result) => {
                self.ui.shift.resuming = false;
                match result {
                    Ok(Some(shift)) => self.signed_in(shift),
                    Ok(None) => {}
                    Err(e) => self.ui.errors.push(e),
                }
            }
            Msg::SignedIn(result) => {
                self.ui.shift.signing_in = false;
                match result {
                    Ok(shift) => {
                        // The next cashier has no use for the last one's "recorded".
                        self.ui.shift.handed_over = None;
                        self.signed_in(shift);
                    }
                    Err(e) => self.ui.shift.sign_in_error = Some(e),
                }
            }
            Msg::ShiftSummary(result) => {
                let sh = &mut self.ui.shift;
                sh.loading = false;
                if let Ok((shift, _)) = &result {
                    sh.signed_in_at = Some(shift.signed_in_at);
                }
                sh.summary = Some(result);
            }
            Msg::HandedOver(result) => match result {
                Ok(summary) => self.handed_over(summary),
                Err(e) => {
                    let sh = &mut self.ui.shift;
                    sh.handing_over = false;
                    sh.refused = Some(match e {
                        ShiftError::OrderOpen { out_trade_no } => {
                            HandoverRefusal::OrderOpen(out_trade_no)
                        }
                        e => HandoverRefusal::Failed(super::shift::error_text(self.prefs.lang, &e)),
                    });
                }
            },
            Msg::Printed(result) => {
                let p = &mut self.ui.print;
                p.busy = p.busy.saturating_sub(1);
                p.last = Some(result);
            }
        }
    }

    fn on_order_event(&mut self, view: OrderView) {
        let ui = &mut *self.ui;
        if view.status == OrderStatus::PaidAfterCancel
            && !ui
                .alerts
                .iter()
                .any(|a| a.out_trade_no == view.out_trade_no)
        {
            ui.alerts.push(view.clone());
        }
        // Keep the history list current when it shows the order.
        if let Some(Ok(rows)) = ui.history.rows.as_mut()
            && let Some(row) = rows
                .iter_mut()
                .find(|r| r.out_trade_no == view.out_trade_no)
        {
            row.status = view.status;
            row.transaction_id.clone_from(&view.transaction_id);
        }
        match ui.payment.as_mut() {
            Some(p) if p.order.out_trade_no == view.out_trade_no => {
                let order = merge(p.order.clone(), view);
                self.show_order(order);
            }
            _ if ui.sale.charging => {
                // The answer to Charge has not arrived yet: keep the event for it.
                let early = &mut ui.sale.early_events;
                let merged = match early.remove(&view.out_trade_no) {
                    Some(old) => merge(old, view),
                    None => view,
                };
                early.insert(merged.out_trade_no.clone(), merged);
            }
            _ => {}
        }
    }

    /// Put `order` on screen (a new order, or a newer view of the one shown).
    fn show_order(&mut self, order: OrderView) {
        let ui = &mut *self.ui;
        let same = ui
            .payment
            .as_ref()
            .is_some_and(|p| p.order.out_trade_no == order.out_trade_no);
        // A late change to an order the cashier already left (say, paid after cancel while they look at the
        // history) updates it and raises the alert, but does not pull them off the screen they are on.
        let follow = !same || matches!(ui.screen, Screen::Payment | Screen::Paid);
        let p = match ui.payment.as_mut() {
            Some(p) if same => p,
            _ => ui.payment.insert(PaymentState::new(order.clone())),
        };
        p.order = order;
        let wanted = p.order.code_url.as_deref();
        if wanted.is_some() && p.qr.as_ref().map(|q| q.matrix.payload.as_str()) != wanted {
            match QrView::new(self.ctx, wanted.unwrap_or_default()) {
                Ok(q) => {
                    p.qr = Some(q);
                    p.qr_error = None;
                }
                Err(e) => p.qr_error = Some(e),
            }
        }
        if p.order.status.is_final() {
            p.confirm_cancel = false;
        }
        let mut just_paid = None;
        let to = if p.order.status == OrderStatus::Paid {
            if p.paid_shown_at.is_none() {
                p.paid_shown_at = Some(self.now);
                just_paid = Some(p.order.out_trade_no.clone());
            }
            Screen::Paid
        } else {
            Screen::Payment
        };
        if follow {
            ui.screen = to;
        }
        // A sale just paid: the drawer and the receipt, as configured.
        let c = self.counter;
        if let Some(no) = just_paid
            && c.printer
            && (c.auto_print || c.drawer_kick)
        {
            self.print(PrintJob::Paid {
                out_trade_no: no,
                receipt: c.auto_print,
                drawer: c.drawer_kick,
            });
        }
    }
}

/// Why a cart cannot be charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    TooLarge,
    Zero,
}

/// The cart to charge; `None` when there is nothing to charge or a Charge is already on its way.
fn cart_to_charge(sale: &SaleState, cashier: &str) -> Result<Option<Cart>, Refusal> {
    if sale.lines.is_empty() || sale.charging {
        return Ok(None);
    }
    match sale.total() {
        None => Err(Refusal::TooLarge),
        Some(total) if total > Fen::MAX => Err(Refusal::TooLarge),
        Some(total) if total == Fen::ZERO => Err(Refusal::Zero),
        Some(_) => Ok(Some(Cart {
            lines: sale.lines.clone(),
            cashier: cashier.to_owned(),
        })),
    }
}

/// Two views of one order: keep the one further along, and never lose the code_url.
fn merge(old: OrderView, new: OrderView) -> OrderView {
    let mut out = if new.status.progress() >= old.status.progress() {
        new
    } else {
        old.clone()
    };
    if out.code_url.is_none() {
        out.code_url = old.code_url;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::window::{CartLine, CashierChoice, SignInInfo};
    use crate::ui::i18n::Lang;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    fn info() -> StationInfo {
        StationInfo {
            store_name: "s".into(),
            station: "1".into(),
            cashier: "小王".into(),
            language: "zh".into(),
            day_start_hour: 0,
            mode: crate::app::window::Mode::Sandbox,
        }
    }

    /// Apply `cmds` to `ui`/`fields` and return the intents.
    fn run(ui: &mut UiState, fields: &mut Fields, cmds: Vec<UiCommand>) -> Vec<Intent> {
        let ctx = egui::Context::default();
        let mut prefs = Prefs::default();
        let info = info();
        let mut r = Reducer {
            prefs: &mut prefs,
            ui,
            fields,
            info: &info,
            counter: &crate::app::window::CounterInfo::default(),
            now: t0(),
            ctx: &ctx,
            intents: Vec::new(),
        };
        for c in cmds {
            r.command(c);
        }
        r.intents
    }

    /// Apply one message from the runtime to `ui`/`fields` and return the intents.
    fn receive(ui: &mut UiState, fields: &mut Fields, msg: Msg) -> Vec<Intent> {
        let ctx = egui::Context::default();
        let mut prefs = Prefs::default();
        let info = info();
        let mut r = Reducer {
            prefs: &mut prefs,
            ui,
            fields,
            info: &info,
            counter: &CounterInfo::default(),
            now: t0(),
            ctx: &ctx,
            intents: Vec::new(),
        };
        r.message(msg);
        r.intents
    }

    #[test]
    fn the_day_report_is_read_on_each_visit_and_only_the_days_answer_is_kept() {
        use crate::app::window::{DayReport, DaySums};
        // Signed in: nothing but the sign-in screen otherwise.
        let (mut ui, mut fields) = (signed_in("小王"), Fields::default());
        let today = crate::calendar::business_day(t0(), 0);
        let before = today.pred_opt().unwrap();
        let report = |day| DayReport {
            day,
            day_start_hour: 0,
            by_status: vec![],
            sums: DaySums {
                received: Fen::ZERO,
                refunded: Fen::ZERO,
            },
            paid_orders: 0,
            refunds: 0,
            by_cashier: vec![],
            by_station: vec![],
            hourly: vec![],
            reconciliation: None,
        };
        let intents = run(
            &mut ui,
            &mut fields,
            vec![UiCommand::Navigate(Screen::DayReport)],
        );
        assert_eq!(intents, vec![Intent::LoadDayReport(today)]);
        assert!(ui.day_report.loading);
        assert_eq!(fields.day_report_day.text, today.to_string());

        // The cashier clicks on to the day before; today's late answer is dropped.
        let intents = run(&mut ui, &mut fields, vec![UiCommand::LoadDayReport(before)]);
        assert_eq!(intents, vec![Intent::LoadDayReport(before)]);
        receive(
            &mut ui,
            &mut fields,
            Msg::DayReport(today, Ok((report(today), vec![]))),
        );
        assert!(ui.day_report.loading && ui.day_report.data.is_none());
        receive(
            &mut ui,
            &mut fields,
            Msg::DayReport(before, Ok((report(before), vec![]))),
        );
        assert!(!ui.day_report.loading);
        assert!(matches!(&ui.day_report.data, Some(Ok((r, _))) if r.day == before));

        // Export to a file: busy until the answer, then where it went.
        let path = std::path::PathBuf::from("/tmp/r.csv");
        let intents = run(
            &mut ui,
            &mut fields,
            vec![UiCommand::ExportDayReportTo(before, path.clone())],
        );
        assert_eq!(
            intents,
            vec![Intent::ExportDayReportTo(before, path.clone())]
        );
        assert!(ui.day_report.exporting);
        receive(
            &mut ui,
            &mut fields,
            Msg::DayReportExported(Ok(path.clone())),
        );
        assert!(!ui.day_report.exporting);
        assert_eq!(ui.day_report.exported, Some(Ok(path)));

        // Away and back: read again (the day's money moves while the window is open).
        run(
            &mut ui,
            &mut fields,
            vec![UiCommand::Navigate(Screen::Sale)],
        );
        let intents = run(
            &mut ui,
            &mut fields,
            vec![UiCommand::Navigate(Screen::DayReport)],
        );
        assert_eq!(intents, vec![Intent::LoadDayReport(before)]);
    }

    #[test]
    fn the_history_reads_the_days_sums_with_its_orders() {
        use crate::app::window::DaySums;
        // Signed in: nothing but the sign-in screen otherwise.
        let (mut ui, mut fields) = (signed_in("小王"), Fields::default());
        let today = crate::calendar::business_day(t0(), 0);
        let intents = run(
            &mut ui,
            &mut fields,
            vec![UiCommand::Navigate(Screen::History)],
        );
        assert_eq!(
            intents,
            vec![Intent::LoadHistory(today), Intent::LoadDaySums(today)]
        );
        let sums = DaySums {
            received: Fen::new(2500).unwrap(),
            refunded: Fen::new(500).unwrap(),
        };
        // An answer for another day is not this day's.
        receive(
            &mut ui,
            &mut fields,
            Msg::DaySums(today.pred_opt().unwrap(), Ok(sums)),
        );
        assert!(ui.history.sums.is_none());
        receive(&mut ui, &mut fields, Msg::DaySums(today, Ok(sums)));
        assert_eq!(ui.history.sums, Some(Ok(sums)));
    }

    fn line(name: &str, fen: i64, qty: u32) -> CartLine {
        CartLine {
            name: name.into(),
            unit_price: Fen::new(fen).unwrap(),
            qty,
        }
    }

    #[test]
    fn a_sale_paid_prints_and_opens_the_drawer_once_as_configured() {
        let t = t0();
        let open = OrderView {
            out_trade_no: "A".into(),
            total: Fen::new(100).unwrap(),
            status: OrderStatus::Open,
            code_url: Some("weixin://x".into()),
            created_at: t,
            expires_at: t + chrono::Duration::minutes(10),
            transaction_id: None,
            paid_at: None,
            notice: None,
        };
        let paid = OrderView {
            status: OrderStatus::Paid,
            ..open.clone()
        };
        let intents = |counter: CounterInfo| {
            let ctx = egui::Context::default();
            let (mut prefs, mut ui, mut fields) =
                (Prefs::default(), UiState::default(), Fields::default());
            ui.sale.charging = true;
            let info = info();
            let mut r = Reducer {
                prefs: &mut prefs,
                ui: &mut ui,
                fields: &mut fields,
                info: &info,
                counter: &counter,
                now: t,
                ctx: &ctx,
                intents: Vec::new(),
            };
            r.message(Msg::Charged(Ok(open.clone())));
            // Paid, then the same news again (notification and query both report it).
            r.message(Msg::Event(EngineEvent::Order(paid.clone())));
            r.message(Msg::Event(EngineEvent::Order(paid.clone())));
            r.intents
        };
        assert_eq!(intents(CounterInfo::default()), vec![]);
        let configured = CounterInfo {
            printer: true,
            auto_print: true,
            drawer_kick: true,
            ..CounterInfo::default()
        };
        assert_eq!(
            intents(configured),
            vec![Intent::Print(PrintJob::Paid {
                out_trade_no: "A".into(),
                receipt: true,
                drawer: true,
            })]
        );
        let drawer_only = CounterInfo {
            auto_print: false,
            ..configured
        };
        assert_eq!(
            intents(drawer_only),
            vec![Intent::Print(PrintJob::Paid {
                out_trade_no: "A".into(),
                receipt: false,
                drawer: true,
            })]
        );
    }

    #[test]
    fn merge_keeps_the_later_status_and_the_code_url() {
        let t = t0();
        let open = OrderView {
            out_trade_no: "A".into(),
            total: Fen::new(100).unwrap(),
            status: OrderStatus::Open,
            code_url: Some("weixin://x".into()),
            created_at: t,
            expires_at: t,
            transaction_id: None,
            paid_at: None,
            notice: None,
        };
        let paid = OrderView {
            status: OrderStatus::Paid,
            code_url: None,
            ..open.clone()
        };
        let m = merge(open.clone(), paid.clone());
        assert_eq!(m.status, OrderStatus::Paid);
        assert_eq!(m.code_url.as_deref(), Some("weixin://x"));
        assert_eq!(merge(paid, open).status, OrderStatus::Paid);
    }

    #[test]
    fn a_day_reconciled_with_differences_left_is_shown_to_the_manager() {
        let ctx = egui::Context::default();
        let (mut prefs, mut ui, mut fields) =
            (Prefs::default(), UiState::default(), Fields::default());
        let info = info();
        let counter = CounterInfo::default();
        let mut r = Reducer {
            prefs: &mut prefs,
            ui: &mut ui,
            fields: &mut fields,
            info: &info,
            counter: &counter,
            now: t0(),
            ctx: &ctx,
            intents: Vec::new(),
        };
        let day = |d: u32, unexplained: u32| {
            Msg::Event(EngineEvent::Reconciled(crate::app::window::ReconciledDay {
                day: NaiveDate::from_ymd_opt(2026, 11, d).unwrap(),
                had_bill: true,
                matched: 3,
                differences: unexplained + 1,
                unexplained,
            }))
        };
        r.message(day(26, 0));
        assert!(r.ui.errors.is_empty(), "a day that agrees is not news");
        r.message(day(27, 2));
        assert_eq!(r.ui.errors.len(), 1);
        assert!(r.ui.errors[0].contains("2026-11-27"), "{}", r.ui.errors[0]);
        assert!(r.ui.errors[0].contains('2'), "{}", r.ui.errors[0]);
        assert!(r.intents.is_empty());
    }

    #[test]
    fn refunding_from_the_alert_opens_the_history_of_the_day_it_was_paid() {
        // Created just before midnight, paid after cancel just after it: the ledger lists it on the day of
        // its payment, so that is the history the refund is made from.
        let created = Utc.with_ymd_and_hms(2026, 1, 1, 23, 58, 0).unwrap();
        let paid = Utc.with_ymd_and_hms(2026, 1, 2, 0, 1, 0).unwrap();
        let view = OrderView {
            out_trade_no: "PD1".into(),
            total: Fen::new(800).unwrap(),
            status: OrderStatus::PaidAfterCancel,
            code_url: None,
            created_at: created,
            expires_at: created,
            transaction_id: Some("4200".into()),
            paid_at: Some(paid),
            notice: None,
        };
        let mut ui = signed_in("小王");
        let mut fields = Fields::default();
        receive(&mut ui, &mut fields, Msg::Event(EngineEvent::Order(view)));
        assert_eq!(ui.alerts.len(), 1);
        let intents = run(&mut ui, &mut fields, vec![UiCommand::RefundFromAlert(0)]);
        // (The window's days are local time; in UTC this is 2026-01-02, not the day it was created.)
        let day = crate::calendar::business_day(paid, 0);
        assert!(
            intents
                .iter()
                .any(|i| matches!(i, Intent::LoadHistory(d) if *d == day)),
            "{intents:?}"
        );
    }

    #[test]
    fn an_edited_line_goes_back_where_it_was() {
        let mut ui = UiState::default();
        let mut fields = Fields::default();
        let adds = ["a", "b", "c"]
            .iter()
            .zip(1..)
            .map(|(n, f)| UiCommand::AddLine(line(n, f * 100, 1)))
            .collect();
        run(&mut ui, &mut fields, adds);
        run(&mut ui, &mut fields, vec![UiCommand::EditLine(1)]);
        assert_eq!(fields.sale.name, "b");
        assert_eq!(fields.sale.price, "2.00");
        assert_eq!(ui.sale.lines.len(), 2);
        fields.sale.qty = "5".into();
        let back = fields.sale.take_line(Lang::En).unwrap();
        run(&mut ui, &mut fields, vec![UiCommand::AddLine(back)]);
        assert_eq!(ui.sale.lines[1].qty, 5);
        assert_eq!(ui.sale.total(), Fen::new(1400));
        run(&mut ui, &mut fields, vec![UiCommand::RemoveLine(0)]);
        assert_eq!(ui.sale.total(), Fen::new(1300));
    }

    #[test]
    fn charge_sends_the_cart_once_and_refuses_a_zero_total() {
        let mut ui = signed_in("小王");
        let mut fields = Fields::default();
        let intents = run(
            &mut ui,
            &mut fields,
            vec![UiCommand::AddLine(line("赠品", 0, 1)), UiCommand::Charge],
        );
        assert!(intents.is_empty());
        assert!(ui.sale.charge_error.is_some());

        let intents = run(
            &mut ui,
            &mut fields,
            vec![
                UiCommand::AddLine(line("茶", 150, 2)),
                UiCommand::Charge,
                UiCommand::Charge,
            ],
        );
        assert_eq!(intents.len(), 1, "{intents:?}");
        let Intent::Charge(cart) = &intents[0] else {
            panic!("{intents:?}")
        };
        assert_eq!(cart.cashier, "小王");
        assert_eq!(cart.total(), Fen::new(300));
        assert!(ui.sale.charging && ui.sale.charge_error.is_none());
    }

    #[test]
    fn a_refund_is_checked_confirmed_then_sent_once_without_keeping_the_pin() {
        let (mut ui, mut fields) = (signed_in("小王"), Fields::default());
        let intents = run(
            &mut ui,
            &mut fields,
            vec![UiCommand::SelectOrder("A".into())],
        );
        assert_eq!(
            intents,
            vec![
                Intent::LoadDetail("A".into()),
                Intent::LoadRefunds("A".into())
            ]
        );
        // The form opened before the refunds arrived gets what is left when they do.
        run(
            &mut ui,
            &mut fields,
            vec![UiCommand::OpenRefund("A".into())],
        );
        assert_eq!(fields.refund.amount, "");
        let refunds = crate::app::window::OrderRefunds {
            out_trade_no: "A".into(),
            status: OrderStatus::Paid,
            total: Fen::new(1880).unwrap(),
            refunded: Fen::ZERO,
            pending: Fen::ZERO,
            refundable: Fen::new(1880).unwrap(),
            refunds: Vec::new(),
        };
        {
            let ctx = egui::Context::default();
            let mut prefs = Prefs::default();
            let info = info();
            let mut r = Reducer {
                prefs: &mut prefs,
                ui: &mut ui,
                fields: &mut fields,
                info: &info,
                counter: &CounterInfo::default(),
                now: t0(),
                ctx: &ctx,
                intents: Vec::new(),
            };
            r.message(Msg::Refunds("A".into(), Ok(refunds)));
        }
        assert_eq!(fields.refund.amount, "18.80");

        // Confirm before review does nothing; more than is left stays in the form.
        fields.refund.amount = "20".into();
        fields.refund.pin = "0000".into();
        let intents = run(
            &mut ui,
            &mut fields,
            vec![UiCommand::ConfirmRefund, UiCommand::ReviewRefund],
        );
        assert!(intents.is_empty());
        let form = ui.history.refund.clone().unwrap();
        assert_eq!(form.step, RefundStep::Entering);
        assert!(form.error.unwrap().contains("¥18.80"));

        fields.refund.amount = "5".into();
        fields.refund.reason = " 退货 ".into();
        let intents = run(
            &mut ui,
            &mut fields,
            vec![
                UiCommand::ReviewRefund,
                UiCommand::ConfirmRefund,
                UiCommand::ConfirmRefund,
            ],
        );
        assert_eq!(
            intents,
            vec![Intent::Refund(RefundRequest {
                out_trade_no: "A".into(),
                amount: Some(Fen::new(500).unwrap()),
                reason: "退货".into(),
                pin: "0000".into(),
                requested_by: "小王".into(),
            })],
            "sent once"
        );
        assert_eq!(fields.refund.pin, "", "the PIN is not kept");
        assert_eq!(
            ui.history.refund.as_ref().unwrap().step,
            RefundStep::Sending
        );
    }

    /// A window where `name` is signed in (one cashier, no PIN).
    fn signed_in(name: &str) -> UiState {
        let mut ui = UiState::default();
        ui.shift.info = SignInInfo {
            cashiers: vec![CashierChoice {
                name: name.into(),
                pin: false,
            }],
            blind: false,
        };
        run(&mut ui, &mut Fields::default(), vec![UiCommand::StartShift]);
        ui
    }

    fn two_cashiers() -> SignInInfo {
        SignInInfo {
            cashiers: vec![
                CashierChoice {
                    name: "小王".into(),
                    pin: false,
                },
                CashierChoice {
                    name: "小李".into(),
                    pin: true,
                },
            ],
            blind: false,
        }
    }

    /// Apply `msgs` to `ui`/`fields` and return the intents.
    fn receive_all(ui: &mut UiState, fields: &mut Fields, msgs: Vec<Msg>) -> Vec<Intent> {
        let ctx = egui::Context::default();
        let mut prefs = Prefs::default();
        let info = info();
        let mut r = Reducer {
            prefs: &mut prefs,
            ui,
            fields,
            info: &info,
            counter: &CounterInfo::default(),
            now: t0(),
            ctx: &ctx,
            intents: Vec::new(),
        };
        for m in msgs {
            r.message(m);
        }
        r.intents
    }

    fn shift_of(name: &str) -> ShiftView {
        ShiftView {
            cashier: name.into(),
            signed_in_at: t0(),
        }
    }

    fn summary(orders: u32, received: i64, refunded: i64) -> ShiftSummary {
        ShiftSummary {
            orders,
            refunds: u32::from(refunded > 0),
            sums: crate::app::window::DaySums {
                received: Fen::new(received).unwrap(),
                refunded: Fen::new(refunded).unwrap(),
            },
        }
    }

    #[test]
    fn one_cashier_without_a_pin_is_signed_in_at_once_and_charges_under_their_name() {
        let mut ui = UiState::default();
        ui.shift.info = SignInInfo {
            cashiers: vec![CashierChoice {
                name: "小王".into(),
                pin: false,
            }],
            blind: false,
        };
        let mut fields = Fields::default();
        let intents = run(&mut ui, &mut fields, vec![UiCommand::StartShift]);
        assert_eq!(intents, vec![Intent::ResumeShift(Some("小王".into()))]);
        assert_eq!(ui.screen, Screen::Sale);
        assert_eq!(ui.shift.cashier.as_deref(), Some("小王"));
        // No list at all: signed in as nobody by name, still without a question.
        let mut none = UiState::default();
        let intents = run(&mut none, &mut fields, vec![UiCommand::StartShift]);
        assert_eq!(intents, vec![Intent::ResumeShift(Some(String::new()))]);
        assert_eq!(
            (none.screen, none.shift.cashier.as_deref()),
            (Screen::Sale, Some(""))
        );
    }

    #[test]
    fn two_cashiers_choose_and_a_pin_is_asked_for_then_not_kept() {
        let mut ui = UiState::default();
        ui.shift.info = two_cashiers();
        let mut fields = Fields::default();
        let intents = run(&mut ui, &mut fields, vec![UiCommand::StartShift]);
        assert_eq!(intents, vec![Intent::ResumeShift(None)]);
        assert_eq!(
            (ui.screen, ui.shift.cashier.as_deref()),
            (Screen::SignIn, None)
        );
        // Nothing to choose while the open shift is looked for; nothing can be charged either.
        assert!(
            run(
                &mut ui,
                &mut fields,
                vec![UiCommand::PickCashier("小王".into())]
            )
            .is_empty()
        );
        let intents = run(
            &mut ui,
            &mut fields,
            vec![UiCommand::AddLine(line("茶", 150, 1)), UiCommand::Charge],
        );
        assert!(intents.is_empty(), "{intents:?}");
        receive_all(&mut ui, &mut fields, vec![Msg::Resumed(Ok(None))]);
        assert_eq!(ui.screen, Screen::SignIn);

        // 小李 has a PIN: asked for; Sign in sends it once and forgets it.
        run(
            &mut ui,
            &mut fields,
            vec![UiCommand::PickCashier("小李".into())],
        );
        assert_eq!(ui.shift.picked.as_deref(), Some("小李"));
        fields.sign_in_pin = "1357".into();
        let intents = run(
            &mut ui,
            &mut fields,
            vec![UiCommand::SignIn, UiCommand::SignIn],
        );
        assert_eq!(
            intents,
            vec![Intent::SignIn(
                "小李".into(),
                super::super::effects::TypedPin("1357".into())
            )]
        );
        assert!(fields.sign_in_pin.is_empty());
        assert_eq!(format!("{:?}", intents[0]), "SignIn(\"小李\", ****)");
        // Wrong: said on the screen, still signed out.
        receive_all(
            &mut ui,
            &mut fields,
            vec![Msg::SignedIn(Err(ShiftError::WrongPin { left: 4 }))],
        );
        assert_eq!(
            ui.shift.sign_in_error,
            Some(ShiftError::WrongPin { left: 4 })
        );
        assert_eq!(ui.shift.cashier, None);
        // Right: to an empty sale, and the next charge carries 小李's name.
        fields.sign_in_pin = "2468".into();
        run(&mut ui, &mut fields, vec![UiCommand::SignIn]);
        receive_all(
            &mut ui,
            &mut fields,
            vec![Msg::SignedIn(Ok(shift_of("小李")))],
        );
        assert_eq!(
            (ui.screen, ui.shift.cashier.as_deref()),
            (Screen::Sale, Some("小李"))
        );
        assert!(ui.sale.lines.is_empty() && ui.shift.sign_in_error.is_none());
        let intents = run(
            &mut ui,
            &mut fields,
            vec![UiCommand::AddLine(line("茶", 150, 1)), UiCommand::Charge],
        );
        let [Intent::Charge(cart)] = intents.as_slice() else {
            panic!("{intents:?}")
        };
        assert_eq!(cart.cashier, "小李");

        // Without a PIN, a name signs in at once.
        let mut other = UiState::default();
        other.shift.info = two_cashiers();
        run(&mut other, &mut fields, vec![UiCommand::StartShift]);
        receive_all(&mut other, &mut fields, vec![Msg::Resumed(Ok(None))]);
        let intents = run(
            &mut other,
            &mut fields,
            vec![UiCommand::PickCashier("小王".into())],
        );
        assert_eq!(
            intents,
            vec![Intent::SignIn(
                "小王".into(),
                super::super::effects::TypedPin(String::new())
            )]
        );
    }

    #[test]
    fn a_shift_left_open_is_resumed_at_start() {
        let mut ui = UiState::default();
        ui.shift.info = two_cashiers();
        let mut fields = Fields::default();
        run(&mut ui, &mut fields, vec![UiCommand::StartShift]);
        receive_all(
            &mut ui,
            &mut fields,
            vec![Msg::Resumed(Ok(Some(shift_of("小李"))))],
        );
        assert_eq!(
            (ui.screen, ui.shift.cashier.as_deref()),
            (Screen::Sale, Some("小李"))
        );
        assert_eq!(ui.shift.signed_in_at, Some(t0()));
    }

    #[test]
    fn the_handover_is_refused_while_an_order_is_in_progress_then_returns_to_sign_in() {
        let mut ui = signed_in("小王");
        ui.shift.info = two_cashiers();
        let mut fields = Fields::default();
        // The payment screen is up: refused, the cashier stays on the order.
        let open = OrderView {
            out_trade_no: "A".into(),
            total: Fen::new(100).unwrap(),
            status: OrderStatus::Open,
            code_url: None,
            created_at: t0(),
            expires_at: t0() + chrono::Duration::minutes(10),
            transaction_id: None,
            paid_at: None,
            notice: None,
        };
        ui.payment = Some(PaymentState::new(open.clone()));
        ui.screen = Screen::Payment;
        let intents = run(&mut ui, &mut fields, vec![UiCommand::OpenHandover]);
        assert!(intents.is_empty());
        assert_eq!(ui.screen, Screen::Payment);
        assert_eq!(ui.shift.refused, Some(HandoverRefusal::OrderInProgress));
        // A Charge on its way counts as in progress too.
        ui.payment = None;
        ui.screen = Screen::Sale;
        ui.sale.charging = true;
        assert!(run(&mut ui, &mut fields, vec![UiCommand::OpenHandover]).is_empty());
        ui.sale.charging = false;

        // Free: the summary is loaded; Confirm sends the handover once.
        let intents = run(&mut ui, &mut fields, vec![UiCommand::OpenHandover]);
        assert_eq!(intents, vec![Intent::LoadShiftSummary]);
        assert_eq!(
            (ui.screen, ui.shift.refused.clone()),
            (Screen::Handover, None)
        );
        receive_all(
            &mut ui,
            &mut fields,
            vec![Msg::ShiftSummary(Ok((
                shift_of("小王"),
                summary(2, 2050, 300),
            )))],
        );
        let intents = run(
            &mut ui,
            &mut fields,
            vec![UiCommand::ConfirmHandover, UiCommand::ConfirmHandover],
        );
        assert_eq!(intents, vec![Intent::HandOver]);
        // The ledger refuses: an order of the station is unfinished. Said; still signed in.
        receive_all(
            &mut ui,
            &mut fields,
            vec![Msg::HandedOver(Err(ShiftError::OrderOpen {
                out_trade_no: "B".into(),
            }))],
        );
        assert_eq!(
            ui.shift.refused,
            Some(HandoverRefusal::OrderOpen("B".into()))
        );
        assert_eq!(ui.shift.cashier.as_deref(), Some("小王"));
        assert_eq!(
            run(&mut ui, &mut fields, vec![UiCommand::ConfirmHandover]),
            vec![Intent::HandOver]
        );
        receive_all(
            &mut ui,
            &mut fields,
            vec![Msg::HandedOver(Ok(summary(2, 2050, 300)))],
        );
        assert_eq!(
            (ui.screen, ui.shift.cashier.clone()),
            (Screen::SignIn, None)
        );
        assert_eq!(ui.shift.handed_over, Some(summary(2, 2050, 300)));
        // Signed out: no navigation, no charge.
        run(
            &mut ui,
            &mut fields,
            vec![UiCommand::Navigate(Screen::History)],
        );
        assert_eq!(ui.screen, Screen::SignIn);
    }

    #[test]
    fn with_one_cashier_the_handover_signs_in_again_at_once() {
        let mut ui = signed_in("小王");
        let mut fields = Fields::default();
        run(&mut ui, &mut fields, vec![UiCommand::OpenHandover]);
        run(&mut ui, &mut fields, vec![UiCommand::ConfirmHandover]);
        let intents = receive_all(
            &mut ui,
            &mut fields,
            vec![Msg::HandedOver(Ok(summary(1, 100, 0)))],
        );
        assert_eq!(intents, vec![Intent::ResumeShift(Some("小王".into()))]);
        assert_eq!(
            (ui.screen, ui.shift.cashier.as_deref()),
            (Screen::Sale, Some("小王"))
        );
        assert!(ui.shift.handed_over.is_some());
    }
}
