//! The sale and the payment: Charge (the cart checked and sent once), the order on screen as the engine's
//! reports come in, the paid view and its timeout, printing the receipt and the drawer.
//!
//! It draws nothing and decides no order status: the status comes from the engine's reports only; this file
//! merely keeps the newer of two ([`merge`]). The cart lines' own edits are dispatched in `mod.rs`.

use super::Reducer;
use crate::app::window::{Cart, OrderStatus, OrderView, PrintJob};
use crate::money::Fen;
use crate::ui::effects::Intent;
use crate::ui::qr::QrView;
use crate::ui::state::{PAID_VIEW_SECONDS, PaymentState, SaleState, Screen};

impl Reducer<'_> {
    /// Send the cart to the engine, or say beside Charge why it cannot go.
    pub(super) fn charge(&mut self) {
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

    pub(super) fn print(&mut self, job: PrintJob) {
        self.ui.print.busy += 1;
        self.intents.push(Intent::Print(job));
    }

    /// Back to an empty sale.
    pub(super) fn new_sale(&mut self) {
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

    pub(super) fn on_order_event(&mut self, view: OrderView) {
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
    pub(super) fn show_order(&mut self, order: OrderView) {
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
pub(super) enum Refusal {
    TooLarge,
    Zero,
}

/// The cart to charge; `None` when there is nothing to charge or a Charge is already on its way.
pub(super) fn cart_to_charge(sale: &SaleState, cashier: &str) -> Result<Option<Cart>, Refusal> {
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
pub(super) fn merge(old: OrderView, new: OrderView) -> OrderView {
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
    use super::super::test_support::*;
    use super::*;
    use crate::app::window::{CounterInfo, EngineEvent};
    use crate::ui::command::UiCommand;
    use crate::ui::effects::Msg;
    use crate::ui::i18n::Lang;
    use crate::ui::state::{Fields, Prefs, UiState};
    use eframe::egui;

    #[test]
    fn a_sale_paid_prints_and_opens_the_drawer_once_as_configured() {
        let open = open_order();
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
                now: t0(),
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
        let open = open_order();
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
}
