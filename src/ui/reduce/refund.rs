//! The refund form of the history screen: opening it with what is left, checking it, the confirmation, and
//! sending the refund once with the manager's PIN, which is not kept.
//!
//! It draws nothing (the form is `ui::refund`) and checks no PIN: the backend does.

use super::Reducer;
use crate::app::window::RefundRequest;
use crate::money::Fen;
use crate::ui::effects::Intent;
use crate::ui::state::{RefundForm, RefundStep};

impl Reducer<'_> {
    /// The refund form for `no`, its amount filled with what is left (once known).
    pub(super) fn open_refund(&mut self, no: String) {
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

    pub(super) fn refundable(&self, no: &str) -> Option<Fen> {
        match &self.ui.history.refunds {
            Some(Ok(r)) if r.out_trade_no == no => Some(r.refundable),
            _ => None,
        }
    }

    /// "Next": the form checked, then the confirmation; or the reason it cannot go, in the form.
    pub(super) fn review_refund(&mut self) {
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
            crate::ui::refund::review(self.prefs.lang, &self.fields.refund, self.refundable(&no));
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
    pub(super) fn confirm_refund(&mut self) {
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
}

#[cfg(test)]
mod tests {
    use super::super::Reducer;
    use super::super::test_support::*;
    use crate::app::window::{CounterInfo, EngineEvent, OrderStatus, OrderView, RefundRequest};
    use crate::money::Fen;
    use crate::ui::command::UiCommand;
    use crate::ui::effects::{Intent, Msg};
    use crate::ui::state::{Fields, Prefs, RefundStep};
    use chrono::{TimeZone, Utc};
    use eframe::egui;

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
}
