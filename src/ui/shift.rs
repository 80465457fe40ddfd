//! The sign-in screen (choose a name, type the PIN when that cashier has one) and the handover screen (交班:
//! the shift's summary, blind or not, and the confirmation).
//!
//! Both draw from read-only state and push commands; the only thing written here is the PIN as it is typed.
//! Who may sign in, the PIN check and what a shift counts are the backend's and the ledger's.

use chrono::{DateTime, Local, Utc};
use eframe::egui::{self, Key, RichText};

use super::command::UiCommand;
use super::i18n::Lang;
use super::screens::ScreenCtx;
use super::state::HandoverRefusal;
use super::theme::{colour, size, space};
use crate::app::window::{ShiftError, ShiftSummary};

/// Local `HH:MM`.
fn clock(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%H:%M").to_string()
}

/// A sign-in or handover error in the window's words.
pub(crate) fn error_text(lang: Lang, e: &ShiftError) -> String {
    match e {
        ShiftError::WrongPin { left } => lang.wrong_pin(*left),
        ShiftError::Locked { until } => {
            lang.pin_locked(&until.with_timezone(&Local).format("%H:%M:%S").to_string())
        }
        ShiftError::OtherSignedIn { cashier } => lang.other_signed_in(cashier),
        ShiftError::OrderOpen { out_trade_no } => lang.handover_order_open(out_trade_no),
        ShiftError::Failed(text) => text.clone(),
    }
}

/// Why the handover was refused, in the window's words.
pub(crate) fn refusal_text(lang: Lang, r: &HandoverRefusal) -> String {
    match r {
        HandoverRefusal::OrderInProgress => lang.shift().refused_in_progress.to_owned(),
        HandoverRefusal::OrderOpen(no) => lang.handover_order_open(no),
        HandoverRefusal::Failed(text) => text.clone(),
    }
}

/// The sign-in screen: the configured names as big buttons; the picked name's PIN field.
pub(crate) fn draw_sign_in(
    ui: &mut egui::Ui,
    cx: &ScreenCtx<'_>,
    pin: &mut String,
    out: &mut Vec<UiCommand>,
) {
    let (lang, st) = (cx.lang, cx.lang.shift());
    let sh = &cx.state.shift;
    ui.add_space(space::SECTION);
    ui.vertical_centered(|ui| {
        ui.label(RichText::new(st.sign_in_title).size(size::HEADING).strong());
        ui.add_space(space::GAP);
        if sh.resuming {
            ui.label(
                RichText::new(st.resuming)
                    .color(colour::MUTED)
                    .size(size::BODY),
            );
            return;
        }
        match &sh.picked {
            None => {
                ui.label(RichText::new(st.choose_name).size(size::BODY));
                ui.add_space(space::GAP);
                if sh.info.cashiers.is_empty() {
                    ui.label(RichText::new(st.no_cashiers).color(colour::MUTED));
                }
                for c in &sh.info.cashiers {
                    let text = if c.pin {
                        format!("{}  ({})", c.name, st.pin_marker)
                    } else {
                        c.name.clone()
                    };
                    let button = egui::Button::new(RichText::new(text).size(size::HEADING))
                        .min_size(egui::vec2(320.0, size::BIG_BUTTON_HEIGHT));
                    if ui.add_enabled(!sh.signing_in, button).clicked() {
                        out.push(UiCommand::PickCashier(c.name.clone()));
                    }
                    ui.add_space(space::GAP / 2.0);
                }
            }
            Some(name) => {
                let label = ui.label(RichText::new(lang.pin_of(name)).size(size::BODY));
                let r = ui
                    .add_enabled(
                        !sh.signing_in,
                        egui::TextEdit::singleline(pin)
                            .password(true)
                            .hint_text(st.pin_label)
                            .font(egui::FontId::proportional(size::FIELD))
                            .desired_width(200.0),
                    )
                    .labelled_by(label.id);
                // Read before the focus is asked back: `lost_focus` is read from memory as it is now.
                let enter = r.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
                if !enter && !sh.signing_in && ui.memory(|m| m.focused().is_none()) {
                    r.request_focus();
                }
                ui.add_space(space::GAP);
                ui.horizontal(|ui| {
                    // Centred: the two buttons' width, as the row is laid out from the left.
                    ui.add_space((ui.available_width() - 340.0).max(0.0) / 2.0);
                    let go = egui::Button::new(
                        RichText::new(st.sign_in_button)
                            .size(size::HEADING)
                            .color(colour::CHARGE_TEXT),
                    )
                    .fill(colour::CHARGE)
                    .min_size(egui::vec2(200.0, size::BIG_BUTTON_HEIGHT));
                    if ui.add_enabled(!sh.signing_in, go).clicked() || enter {
                        out.push(UiCommand::SignIn);
                    }
                    let back = egui::Button::new(RichText::new(st.back).size(size::BUTTON))
                        .min_size(egui::vec2(120.0, size::BIG_BUTTON_HEIGHT));
                    if ui.add_enabled(!sh.signing_in, back).clicked() {
                        out.push(UiCommand::BackToCashiers);
                    }
                });
            }
        }
        ui.add_space(space::GAP);
        if sh.signing_in {
            ui.label(RichText::new(st.signing_in).color(colour::MUTED));
        }
        if let Some(e) = &sh.sign_in_error {
            ui.label(
                RichText::new(error_text(lang, e))
                    .color(colour::ERROR)
                    .size(size::BODY),
            );
        }
    });
}

/// One line of the summary: the label, the count (if any) and the amount, or the blind note's dash.
fn summary_row(ui: &mut egui::Ui, label: &str, count: Option<String>, amount: Option<String>) {
    ui.label(RichText::new(label).size(size::BODY));
    ui.label(RichText::new(count.unwrap_or_default()).size(size::BODY));
    ui.label(
        RichText::new(amount.unwrap_or_else(|| "—".into()))
            .size(size::HEADING)
            .strong(),
    );
    ui.end_row();
}

/// The summary's amounts, or `None` each when blind.
fn amounts(s: &ShiftSummary, blind: bool) -> [Option<String>; 3] {
    if blind {
        return [None, None, None];
    }
    [
        Some(s.sums.received.to_string()),
        Some(s.sums.refunded.to_string()),
        Some(s.sums.net_label()),
    ]
}

/// The handover screen: who and since when, the shift's numbers (amounts hidden when blind), Confirm.
pub(crate) fn draw_handover(ui: &mut egui::Ui, cx: &ScreenCtx<'_>, out: &mut Vec<UiCommand>) {
    let (lang, st) = (cx.lang, cx.lang.shift());
    let sh = &cx.state.shift;
    let blind = sh.info.blind;
    ui.heading(
        RichText::new(st.handover_title)
            .size(size::HEADING)
            .strong(),
    );
    if let (Some(cashier), Some(since)) = (&sh.cashier, sh.signed_in_at) {
        ui.label(
            RichText::new(lang.shift_line(cashier, &clock(since)))
                .color(colour::MUTED)
                .size(size::BODY),
        );
    }
    ui.add_space(space::GAP);
    let summary = match &sh.summary {
        None => {
            ui.label(RichText::new(st.loading).color(colour::MUTED));
            None
        }
        Some(Err(e)) => {
            ui.label(RichText::new(e).color(colour::ERROR).size(size::BODY));
            None
        }
        Some(Ok((_, s))) => Some(*s),
    };
    if let Some(s) = summary {
        let [received, refunded, net] = amounts(&s, blind);
        egui::Grid::new("shift_summary")
            .num_columns(3)
            .spacing([space::SECTION * 2.0, space::GAP])
            .show(ui, |ui| {
                // The count alone: no amount on this line.
                summary_row(
                    ui,
                    st.orders,
                    Some(lang.count(s.orders)),
                    Some(String::new()),
                );
                summary_row(ui, st.received, None, received);
                summary_row(ui, st.refunds, Some(lang.count(s.refunds)), refunded);
                summary_row(ui, st.net, None, net);
            });
        ui.add_space(space::GAP);
        if blind {
            ui.add(
                egui::Label::new(
                    RichText::new(st.blind_note)
                        .color(colour::NOTICE_FG)
                        .strong(),
                )
                .wrap(),
            );
        }
        ui.add(egui::Label::new(RichText::new(st.what_counts).color(colour::MUTED)).wrap());
    }
    ui.add_space(space::SECTION);
    ui.horizontal(|ui| {
        let confirm = egui::Button::new(
            RichText::new(st.confirm_handover)
                .size(size::HEADING)
                .color(colour::CHARGE_TEXT),
        )
        .fill(colour::CHARGE)
        .min_size(egui::vec2(260.0, size::BIG_BUTTON_HEIGHT));
        if ui
            .add_enabled(summary.is_some() && !sh.handing_over, confirm)
            .clicked()
        {
            out.push(UiCommand::ConfirmHandover);
        }
        let back = egui::Button::new(RichText::new(st.back_to_sale).size(size::BUTTON))
            .min_size(egui::vec2(160.0, size::BIG_BUTTON_HEIGHT));
        if ui.add_enabled(!sh.handing_over, back).clicked() {
            out.push(UiCommand::Navigate(super::state::Screen::Sale));
        }
    });
    if sh.handing_over {
        ui.label(RichText::new(st.handing_over).color(colour::MUTED));
    }
}

/// The notice under the header: the handover's refusal, or that it was recorded; with its Dismiss.
pub(crate) fn notice(ui: &mut egui::Ui, cx: &ScreenCtx<'_>, out: &mut Vec<UiCommand>) {
    let lang = cx.lang;
    let sh = &cx.state.shift;
    let (text, bg, fg) = if let Some(r) = &sh.refused {
        (refusal_text(lang, r), colour::ALERT_BG, colour::ALERT_FG)
    } else if let Some(s) = &sh.handed_over {
        let net = (!sh.info.blind).then(|| s.sums.net_label());
        (
            lang.handed_over(s.orders, net.as_deref()),
            colour::NOTICE_BG,
            colour::NOTICE_FG,
        )
    } else {
        return;
    };
    egui::Frame::new()
        .fill(bg)
        .inner_margin(8.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.add(egui::Label::new(RichText::new(text).color(fg).strong()).wrap());
            if ui.button(cx.t.dismiss).clicked() {
                out.push(UiCommand::DismissHandoverNotice);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::window::{DaySums, Fen};

    #[test]
    fn blind_hides_every_amount_and_errors_have_words_in_both_languages() {
        let s = ShiftSummary {
            orders: 2,
            refunds: 1,
            sums: DaySums {
                received: Fen::new(2050).unwrap(),
                refunded: Fen::new(300).unwrap(),
            },
        };
        assert_eq!(amounts(&s, true), [None, None, None]);
        assert_eq!(
            amounts(&s, false),
            [
                Some("¥20.50".to_owned()),
                Some("¥3.00".to_owned()),
                Some("¥17.50".to_owned())
            ]
        );
        for lang in [Lang::Zh, Lang::En] {
            for e in [
                ShiftError::WrongPin { left: 3 },
                ShiftError::Locked {
                    until: chrono::Utc::now(),
                },
                ShiftError::OtherSignedIn {
                    cashier: "小王".into(),
                },
                ShiftError::OrderOpen {
                    out_trade_no: "A1".into(),
                },
            ] {
                assert!(!error_text(lang, &e).is_empty());
            }
            assert!(refusal_text(lang, &HandoverRefusal::OrderOpen("A1".into())).contains("A1"));
        }
        assert_ne!(
            refusal_text(Lang::Zh, &HandoverRefusal::OrderInProgress),
            refusal_text(Lang::En, &HandoverRefusal::OrderInProgress)
        );
    }
}
