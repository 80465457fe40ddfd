//! Sign-in and handover (交班): starting or resuming the station's shift, picking a cashier and their PIN,
//! the handover summary and its confirmation.
//!
//! It draws nothing (the screens are in `ui::shift`) and checks no PIN: the ledger does, through the engine.

use super::Reducer;
use crate::app::window::{ShiftSummary, ShiftView};
use crate::ui::effects::{Intent, TypedPin};
use crate::ui::state::{HandoverRefusal, Screen};

impl Reducer<'_> {
    /// At start: the cashier who signs in without being asked is signed in at once (the ledger records or
    /// resumes the shift meanwhile); otherwise the sign-in screen waits for the station's open shift, which
    /// a restart resumes.
    pub(super) fn start_shift(&mut self) {
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
    pub(super) fn pick_cashier(&mut self, name: String) {
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
            self.intents
                .push(Intent::SignIn(name, TypedPin(String::new())));
        }
    }

    /// "Sign in" with the PIN typed for the picked name; the PIN is not kept.
    pub(super) fn sign_in(&mut self) {
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
        self.intents
            .push(Intent::SignIn(name, TypedPin(pin.trim().to_owned())));
    }

    /// Signed in (or the open shift resumed): to a new sale.
    pub(super) fn signed_in(&mut self, shift: ShiftView) {
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
    pub(super) fn handover_blocked(&self) -> bool {
        self.ui.order_in_progress()
    }

    /// "交班" in the navigation: the summary, unless an order is in progress (then the refusal says so).
    pub(super) fn open_handover(&mut self) {
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
    pub(super) fn confirm_handover(&mut self) {
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
    pub(super) fn handed_over(&mut self, summary: ShiftSummary) {
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
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::app::window::{CashierChoice, OrderView, ShiftError, SignInInfo};
    use crate::ui::command::UiCommand;
    use crate::ui::effects::{Intent, Msg};
    use crate::ui::state::{Fields, Screen, UiState};
    use crate::ui::state::{HandoverRefusal, PaymentState};

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
                crate::ui::effects::TypedPin("1357".into())
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
                crate::ui::effects::TypedPin(String::new())
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
            code_url: None,
            ..open_order()
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
