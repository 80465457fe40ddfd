//! Refunds in the history screen: a paid order's refunds (what was refunded, what is under way, what is
//! left), the "退款 Refund" form (amount, reason, the manager's PIN), its confirmation, and the refund's live
//! status until it is final.
//!
//! Draws from read-only state and pushes commands; the only thing written here is the form's typed text
//! ([`RefundFields`]). Checking the form ([`review`]) is a pure function; the PIN itself is checked by the
//! backend, never here.

use chrono::Local;
use eframe::egui::{self, RichText};

use super::command::UiCommand;
use super::i18n::Lang;
use super::screens::ScreenCtx;
use super::state::{RefundForm, RefundStep};
use super::theme::{colour, size, space};
use crate::app::window::{OrderRefunds, RefundState, RefundView};
use crate::money::Fen;

/// The refund form's typed text. Its `Debug` never shows the PIN.
#[derive(Default)]
pub struct RefundFields {
    /// Yuan, as typed; filled with what is left when the form opens.
    pub amount: String,
    pub reason: String,
    /// Never kept after it is sent.
    pub pin: String,
}

impl std::fmt::Debug for RefundFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefundFields")
            .field("amount", &self.amount)
            .field("reason", &self.reason)
            .field("pin", &"****")
            .finish()
    }
}

/// Check the form before the confirmation: the amount (yuan, at most what is left, more than zero) and that a
/// PIN was typed. The error is ready to show.
pub fn review(lang: Lang, fields: &RefundFields, refundable: Option<Fen>) -> Result<Fen, String> {
    let t = lang.t();
    let amount = Fen::parse_yuan(&fields.amount).map_err(|e| lang.money_error(&e))?;
    if amount == Fen::ZERO {
        return Err(t.refund_amount_zero.to_owned());
    }
    if let Some(left) = refundable
        && amount > left
    {
        return Err(lang.refund_too_much(&left.to_string()));
    }
    if fields.pin.trim().is_empty() {
        return Err(t.refund_pin_missing.to_owned());
    }
    Ok(amount)
}

/// The words of a refund's state.
pub fn state_word(lang: Lang, s: RefundState) -> &'static str {
    match lang {
        Lang::Zh => s.word_zh(),
        Lang::En => s.word_en(),
    }
}

fn state_colour(s: RefundState) -> egui::Color32 {
    match s {
        RefundState::Success => colour::PAID,
        RefundState::Change | RefundState::Failed => colour::ERROR,
        RefundState::Closed => colour::MUTED,
        RefundState::Requesting | RefundState::Processing => {
            egui::Color32::from_rgb(0xE6, 0x7E, 0x00)
        }
    }
}

/// The refunds part of the selected order's detail.
pub(crate) fn draw(
    ui: &mut egui::Ui,
    cx: &ScreenCtx<'_>,
    fields: &mut RefundFields,
    out: &mut Vec<UiCommand>,
) {
    let (lang, t) = (cx.lang, cx.t);
    let h = &cx.state.history;
    let Some(no) = h.selected.as_deref() else {
        return;
    };
    let refunds = match &h.refunds {
        Some(Ok(r)) if r.out_trade_no == no => r,
        Some(Err(e)) => {
            ui.label(RichText::new(format!("{}: {e}", t.load_failed)).color(colour::ERROR));
            return;
        }
        _ => return,
    };
    if !refunds.status.is_paid() && refunds.refunds.is_empty() {
        return;
    }
    ui.add_space(space::GAP);
    ui.label(RichText::new(t.refunds_title).size(size::HEADING));
    ui.label(lang.refund_totals(
        &refunds.refunded.to_string(),
        &refunds.pending.to_string(),
        &refunds.refundable.to_string(),
    ));
    list(ui, lang, &refunds.refunds);

    let form = h.refund.as_ref().filter(|f| f.out_trade_no == no);
    match form {
        None => {
            let info = &cx.refund_info;
            // One refund of an order at a time: the next one once this one is final (so a refund that seems
            // slow is not made twice).
            let under_way = refunds.refunds.iter().any(|r| r.status.is_unfinished());
            if under_way {
                ui.label(RichText::new(t.refund_under_way).color(colour::MUTED));
            } else if refunds.refundable > Fen::ZERO {
                if info.available {
                    let button =
                        egui::Button::new(RichText::new(t.refund_button).size(size::BUTTON));
                    if ui.add(button).clicked() {
                        out.push(UiCommand::OpenRefund(no.to_owned()));
                    }
                } else if let Some(why) = &info.unavailable_reason {
                    ui.add(
                        egui::Label::new(
                            RichText::new(format!("{}: {why}", t.refund_unavailable))
                                .color(colour::MUTED),
                        )
                        .wrap(),
                    );
                }
            }
        }
        Some(form) => draw_form(ui, cx, form, refunds, fields, out),
    }
}

/// Each refund: time, amount, state, number, who approved it, and a problem worth showing.
fn list(ui: &mut egui::Ui, lang: Lang, refunds: &[RefundView]) {
    for r in refunds {
        ui.horizontal_wrapped(|ui| {
            ui.label(
                r.created_at
                    .with_timezone(&Local)
                    .format("%H:%M:%S")
                    .to_string(),
            );
            ui.label(RichText::new(format!("−{}", r.amount)).strong());
            ui.label(RichText::new(state_word(lang, r.status)).color(state_colour(r.status)));
            ui.label(RichText::new(&r.out_refund_no).monospace().size(14.0));
        });
        let mut more = vec![lang.refund_approved_by(&r.approved_by)];
        if !r.reason.is_empty() {
            more.push(r.reason.clone());
        }
        if let Some(n) = &r.notice {
            more.push(n.clone());
        }
        ui.add(
            egui::Label::new(
                RichText::new(more.join(" · "))
                    .size(14.0)
                    .color(colour::MUTED),
            )
            .wrap(),
        );
    }
}

fn draw_form(
    ui: &mut egui::Ui,
    cx: &ScreenCtx<'_>,
    form: &RefundForm,
    refunds: &OrderRefunds,
    fields: &mut RefundFields,
    out: &mut Vec<UiCommand>,
) {
    let (lang, t) = (cx.lang, cx.t);
    egui::Frame::group(ui.style())
        .inner_margin(10.0)
        .show(ui, |ui| {
            ui.label(RichText::new(t.refund_title).strong().size(size::BODY));
            match &form.step {
                RefundStep::Entering => {
                    egui::Grid::new("refund_form")
                        .num_columns(2)
                        .spacing(egui::vec2(12.0, 8.0))
                        .show(ui, |ui| {
                            let l = ui.label(t.refund_amount);
                            let hint = lang.refund_left_hint(&refunds.refundable.to_string());
                            ui.add(
                                egui::TextEdit::singleline(&mut fields.amount)
                                    .hint_text(hint)
                                    .desired_width(160.0),
                            )
                            .labelled_by(l.id);
                            ui.end_row();
                            let l = ui.label(t.refund_reason);
                            ui.add(
                                egui::TextEdit::singleline(&mut fields.reason)
                                    .hint_text(t.refund_reason_hint)
                                    .desired_width(260.0),
                            )
                            .labelled_by(l.id);
                            ui.end_row();
                            let l = ui.label(t.refund_pin);
                            let pin = ui
                                .add(
                                    egui::TextEdit::singleline(&mut fields.pin)
                                        .password(true)
                                        .desired_width(160.0),
                                )
                                .labelled_by(l.id);
                            // Enter after the PIN is "Next".
                            if pin.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                                out.push(UiCommand::ReviewRefund);
                            }
                            ui.end_row();
                        });
                    if cx.refund_info.sandbox_default_pin {
                        ui.label(RichText::new(t.refund_sandbox_pin).color(colour::MUTED));
                    }
                    if cx.refund_info.pin_missing {
                        ui.label(RichText::new(t.refund_pin_not_set).color(colour::ERROR));
                    }
                    if let Some(e) = &form.error {
                        ui.add(egui::Label::new(RichText::new(e).color(colour::ERROR)).wrap());
                    }
                    ui.horizontal(|ui| {
                        if ui.button(t.refund_next).clicked() {
                            out.push(UiCommand::ReviewRefund);
                        }
                        if ui.button(t.refund_close).clicked() {
                            out.push(UiCommand::CloseRefund);
                        }
                    });
                }
                RefundStep::Confirming { amount } => {
                    ui.label(
                        RichText::new(lang.refund_confirm(&amount.to_string(), &form.out_trade_no))
                            .strong()
                            .size(size::BODY),
                    );
                    if !fields.reason.trim().is_empty() {
                        ui.label(lang.labelled(t.refund_reason, fields.reason.trim()));
                    }
                    ui.horizontal(|ui| {
                        let confirm = egui::Button::new(
                            RichText::new(t.refund_confirm_button).color(colour::CHARGE_TEXT),
                        )
                        .fill(colour::ALERT_BG);
                        if ui.add(confirm).clicked() {
                            out.push(UiCommand::ConfirmRefund);
                        }
                        if ui.button(t.refund_back).clicked() {
                            out.push(UiCommand::BackToRefundForm);
                        }
                    });
                }
                RefundStep::Sending => {
                    ui.label(t.refund_sending);
                }
                RefundStep::Sent(out_refund_no) => {
                    let status = refunds
                        .refunds
                        .iter()
                        .find(|r| &r.out_refund_no == out_refund_no)
                        .map(|r| r.status);
                    let (text, c) = match status {
                        Some(RefundState::Success) => (t.refund_done.to_owned(), colour::PAID),
                        Some(s) => (
                            lang.refund_status_line(out_refund_no, state_word(lang, s)),
                            state_colour(s),
                        ),
                        None => (lang.refund_status_line(out_refund_no, "…"), colour::MUTED),
                    };
                    ui.label(RichText::new(text).strong().color(c));
                    if ui.button(t.refund_close).clicked() {
                        out.push(UiCommand::CloseRefund);
                    }
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(amount: &str, pin: &str) -> RefundFields {
        RefundFields {
            amount: amount.into(),
            reason: String::new(),
            pin: pin.into(),
        }
    }

    #[test]
    fn the_form_is_checked_before_the_confirmation() {
        let left = Some(Fen::new(1000).unwrap());
        let lang = Lang::En;
        assert_eq!(
            review(lang, &fields("4.50", "0000"), left),
            Ok(Fen::new(450).unwrap())
        );
        assert_eq!(
            review(lang, &fields("¥10", "0000"), left),
            Ok(Fen::new(1000).unwrap())
        );
        let too_much = review(lang, &fields("10.01", "0000"), left).unwrap_err();
        assert!(too_much.contains("¥10.00"), "{too_much}");
        assert!(review(lang, &fields("0", "0000"), left).is_err());
        assert!(review(lang, &fields("abc", "0000"), left).is_err());
        assert!(review(lang, &fields("1.234", "0000"), left).is_err());
        assert!(review(lang, &fields("-1", "0000"), left).is_err());
        assert_eq!(
            review(lang, &fields("1", " "), left).unwrap_err(),
            Lang::En.t().refund_pin_missing
        );
        // Before the order's refunds have loaded, the backend is the judge of the amount.
        assert!(review(lang, &fields("99", "1"), None).is_ok());
        let zh = review(Lang::Zh, &fields("20", "0000"), left).unwrap_err();
        assert!(zh.contains("¥10.00"), "{zh}");
    }
}
