//! The frame around every screen: the mode banner (sandbox, test gateway), the header with navigation and the language switch,
//! alerts that must not be missed, then the screen itself.
//!
//! Every screen draws from the read-only [`ScreenCtx`] and pushes [`UiCommand`]s; only typed text is written
//! here (each screen's own [`Fields`]).

use chrono::{DateTime, NaiveDate, Utc};
use eframe::egui::{self, RichText};

use super::command::UiCommand;
use super::i18n::{Lang, Texts};
use super::state::{Fields, Screen, UiState};
use super::theme::{colour, size};
use super::{day_report, history, payment, sale, shift};
use crate::app::window::{CounterInfo, Mode, RefundInfo, StationInfo};

/// What every screen reads this frame.
pub(crate) struct ScreenCtx<'a> {
    pub lang: Lang,
    pub t: &'static Texts,
    pub info: &'a StationInfo,
    pub counter: &'a CounterInfo,
    /// Whether refunds can be made here and what the PIN is.
    pub refund_info: &'a RefundInfo,
    pub now: DateTime<Utc>,
    /// The business day running now.
    pub today: NaiveDate,
    pub state: &'a UiState,
}

pub(crate) fn draw(
    ui: &mut egui::Ui,
    cx: &ScreenCtx<'_>,
    fields: &mut Fields,
    out: &mut Vec<UiCommand>,
) {
    if let Some(text) = banner_text(cx.info.mode, cx.t) {
        mode_banner(ui, text);
    }
    header(ui, cx, out);
    if !cx.state.alerts.is_empty() || !cx.state.errors.is_empty() {
        alerts(ui, cx, out);
    }
    let sh = &cx.state.shift;
    if sh.refused.is_some() || sh.handed_over.is_some() {
        egui::Panel::top("shift_notice")
            .frame(
                egui::Frame::new()
                    .fill(ui.visuals().panel_fill)
                    .inner_margin(6.0),
            )
            .show(ui, |ui| shift::notice(ui, cx, out));
    }

    // No fill: the clear colour already is the panel colour (see `PaydeskApp::clear_color`). Under software
    // OpenGL every full-window layer costs a pass over all pixels, each second on the payment screen.
    let central = egui::Frame::central_panel(ui.style()).fill(egui::Color32::TRANSPARENT);
    egui::CentralPanel::default()
        .frame(central)
        .show(ui, |ui| match cx.state.screen {
            Screen::Sale => sale::draw(ui, cx, &mut fields.sale, out),
            Screen::Payment => payment::draw(ui, cx, out),
            Screen::Paid => payment::draw_paid(ui, cx, out),
            Screen::History => {
                history::draw_history(ui, cx, &mut fields.history_day, &mut fields.refund, out)
            }
            Screen::Export => history::draw_export(ui, cx, &mut fields.export_day, out),
            Screen::DayReport => day_report::draw(ui, cx, &mut fields.day_report_day, out),
            Screen::SignIn => shift::draw_sign_in(ui, cx, &mut fields.sign_in_pin, out),
            Screen::Handover => shift::draw_handover(ui, cx, out),
        });
}

/// What the banner over every screen says: nothing on WeChat Pay's live service.
pub(crate) fn banner_text(mode: Mode, t: &Texts) -> Option<&'static str> {
    match mode {
        Mode::Sandbox => Some(t.sandbox_banner),
        Mode::TestGateway => Some(t.test_gateway_banner),
        Mode::Live => None,
    }
}

fn mode_banner(ui: &mut egui::Ui, text: &str) {
    egui::Panel::top("sandbox_banner")
        .frame(
            egui::Frame::new()
                .fill(colour::SANDBOX_BG)
                .inner_margin(8.0),
        )
        .show(ui, |ui| {
            ui.vertical_centered(|ui| {
                ui.label(
                    RichText::new(text)
                        .size(size::BANNER)
                        .strong()
                        .color(colour::SANDBOX_FG),
                );
            });
        });
}

/// The store, the station and cashier, navigation (locked while an order is in the customer's hands) and
/// the language switch.
fn header(ui: &mut egui::Ui, cx: &ScreenCtx<'_>, out: &mut Vec<UiCommand>) {
    let (t, info, screen) = (cx.t, cx.info, cx.state.screen);
    egui::Panel::top("header")
        .frame(egui::Frame::side_top_panel(ui.style()).inner_margin(8.0))
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new(&info.store_name).size(size::HEADING).strong());
                let mut who = format!("{} {}", t.station, info.station);
                // The signed-in cashier, whose name goes on each order.
                let cashier = cx.state.shift.cashier.as_deref();
                if let Some(c) = cashier.filter(|c| !c.is_empty()) {
                    who.push_str(&format!(" · {} {}", t.cashier, c));
                }
                ui.label(RichText::new(who).color(colour::MUTED));
                ui.add_space(24.0);
                let locked = cx.state.order_in_progress();
                // Nobody signed in: nothing to navigate to.
                let signed_in = cashier.is_some();
                let on_sale = matches!(screen, Screen::Sale | Screen::Payment | Screen::Paid);
                for (to, label, selected) in [
                    (Screen::Sale, t.nav_sale, on_sale),
                    (Screen::History, t.nav_history, screen == Screen::History),
                    (Screen::Export, t.nav_export, screen == Screen::Export),
                    (
                        Screen::DayReport,
                        cx.lang.report().nav,
                        screen == Screen::DayReport,
                    ),
                ] {
                    if !signed_in {
                        break;
                    }
                    let r = ui.add_enabled(
                        !locked || to == Screen::Sale,
                        egui::Button::selectable(selected, RichText::new(label).size(size::BUTTON)),
                    );
                    if r.clicked() {
                        out.push(UiCommand::Navigate(to));
                    }
                }
                // 交班 stays clickable while an order is in progress: the refusal says why it must wait.
                if signed_in {
                    let handover = egui::Button::selectable(
                        screen == Screen::Handover,
                        RichText::new(cx.lang.shift().nav_handover).size(size::BUTTON),
                    );
                    if ui.add(handover).clicked() {
                        out.push(UiCommand::OpenHandover);
                    }
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui.button(t.switch_language).clicked() {
                        out.push(UiCommand::SetLang(cx.lang.other()));
                    }
                });
            });
        });
}

/// Orders paid after they were given up (the money was taken, someone must act) and engine problems, each
/// until dismissed.
fn alerts(ui: &mut egui::Ui, cx: &ScreenCtx<'_>, out: &mut Vec<UiCommand>) {
    let (lang, t) = (cx.lang, cx.t);
    egui::Panel::top("alerts")
        .frame(
            egui::Frame::new()
                .fill(ui.visuals().panel_fill)
                .inner_margin(6.0),
        )
        .show(ui, |ui| {
            for (i, a) in cx.state.alerts.iter().enumerate() {
                egui::Frame::new()
                    .fill(colour::ALERT_BG)
                    .inner_margin(8.0)
                    .show(ui, |ui| {
                        ui.set_width(ui.available_width());
                        ui.add(
                            egui::Label::new(
                                RichText::new(lang.paid_after_cancel_alert(
                                    &a.out_trade_no,
                                    &a.total.to_string(),
                                ))
                                .color(colour::ALERT_FG)
                                .strong(),
                            )
                            .wrap(),
                        );
                        ui.horizontal(|ui| {
                            // Refund it from here, when refunds can be made (the manager's PIN is asked).
                            if cx.refund_info.available
                                && !cx.state.order_in_progress()
                                && cx.state.shift.cashier.is_some()
                                && ui.button(t.refund_button).clicked()
                            {
                                out.push(UiCommand::RefundFromAlert(i));
                            }
                            if ui.button(t.dismiss).clicked() {
                                out.push(UiCommand::DismissAlert(i));
                            }
                        });
                    });
            }
            for (i, e) in cx.state.errors.iter().enumerate() {
                egui::Frame::new()
                    .fill(colour::NOTICE_BG)
                    .inner_margin(8.0)
                    .show(ui, |ui| {
                        ui.set_width(ui.available_width());
                        ui.add(egui::Label::new(RichText::new(e).color(colour::NOTICE_FG)).wrap());
                        if ui.button(t.dismiss).clicked() {
                            out.push(UiCommand::DismissError(i));
                        }
                    });
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::i18n::{EN, ZH};

    #[test]
    fn the_banner_names_each_mode_and_is_absent_on_the_live_service() {
        for t in [&ZH, &EN] {
            let sandbox = banner_text(Mode::Sandbox, t).unwrap();
            assert!(
                sandbox.contains("沙箱模式") && sandbox.contains("Sandbox"),
                "{sandbox}"
            );
            let test = banner_text(Mode::TestGateway, t).unwrap();
            assert_eq!(
                test,
                "测试网关 — 非微信支付正式环境 / Test gateway — not WeChat Pay's live service"
            );
            assert_eq!(banner_text(Mode::Live, t), None);
        }
    }
}
