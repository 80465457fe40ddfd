//! The reducer: the only writer of [`Prefs`] and [`UiState`]. It applies the screens' [`UiCommand`]s, the
//! [`Msg`]s that come back from the runtime, and the paid view's timeout, and collects the [`Intent`]s the
//! engine must run.
//!
//! It draws nothing and starts no task (see [`super::effects`]). The status of an order comes from the engine's
//! reports only; this module merely keeps the newer of two reports.
//!
//! One file per screen's handlers: `sale` (the cart, Charge, the order on screen), `shift` (sign-in and
//! handover), `history` (the history list, the export and the day report) and `refund` (the refund form).
//! This file holds the [`Reducer`] itself, the dispatch of commands and messages, and navigation.

use chrono::{DateTime, NaiveDate, Utc};
use eframe::egui;

use super::command::UiCommand;
use super::effects::{Intent, Msg};
use super::state::HandoverRefusal;
use super::state::{Fields, Prefs, RefundStep, Screen, UiState};
use crate::app::window::ShiftError;
use crate::app::window::{CounterInfo, EngineEvent, OrderStatus, StationInfo};

use sale::merge;

mod history;
mod refund;
mod sale;
mod shift;
#[cfg(test)]
mod test_support;

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
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

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
}
