//! The frame around every screen: the sandbox banner, the header with navigation and the language switch,
//! alerts that must not be missed, then the screen itself.

use eframe::egui::{self, RichText};

use super::app::{PaydeskApp, Screen};
use super::theme::{colour, size};
use super::{history, payment, sale};
use crate::ledger::state::OrderStatus;

pub fn draw(app: &mut PaydeskApp, ui: &mut egui::Ui) {
    let lang = app.lang();
    let t = lang.t();

    if app.info.sandbox {
        egui::Panel::top("sandbox_banner")
            .frame(
                egui::Frame::new()
                    .fill(colour::SANDBOX_BG)
                    .inner_margin(8.0),
            )
            .show(ui, |ui| {
                ui.vertical_centered(|ui| {
                    ui.label(
                        RichText::new(t.sandbox_banner)
                            .size(size::BANNER)
                            .strong()
                            .color(colour::SANDBOX_FG),
                    );
                });
            });
    }

    egui::Panel::top("header")
        .frame(egui::Frame::side_top_panel(ui.style()).inner_margin(8.0))
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new(&app.info.store_name)
                        .size(size::HEADING)
                        .strong(),
                );
                let mut who = format!("{} {}", t.station, app.info.station);
                if !app.info.cashier.is_empty() {
                    who.push_str(&format!(" · {} {}", t.cashier, app.info.cashier));
                }
                ui.label(RichText::new(who).color(colour::MUTED));
                ui.add_space(24.0);
                let locked = app.order_in_progress();
                let on_sale = matches!(app.screen, Screen::Sale | Screen::Payment | Screen::Paid);
                for (screen, label, selected) in [
                    (Screen::Sale, t.nav_sale, on_sale),
                    (
                        Screen::History,
                        t.nav_history,
                        app.screen == Screen::History,
                    ),
                    (Screen::Export, t.nav_export, app.screen == Screen::Export),
                ] {
                    let r = ui.add_enabled(
                        !locked || screen == Screen::Sale,
                        egui::Button::selectable(selected, RichText::new(label).size(size::BUTTON)),
                    );
                    if r.clicked() {
                        if let (Screen::Sale, Some(p)) = (screen, app.payment.as_ref()) {
                            // Back to the order on screen (or its final state).
                            app.screen = if p.order.status == OrderStatus::Paid {
                                Screen::Paid
                            } else {
                                Screen::Payment
                            };
                        } else {
                            app.go(screen);
                        }
                    }
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui.button(t.switch_language).clicked() {
                        app.set_lang(lang.other());
                        let title = super::window_title(app.lang(), &app.info.store_name);
                        ui.ctx()
                            .send_viewport_cmd(egui::ViewportCommand::Title(title));
                    }
                });
            });
        });

    // Orders paid after they were given up: the money was taken, someone must act.
    if !app.alerts.is_empty() || !app.errors.is_empty() {
        let mut dismiss_alert = None;
        let mut dismiss_error = None;
        egui::Panel::top("alerts")
            .frame(
                egui::Frame::new()
                    .fill(ui.visuals().panel_fill)
                    .inner_margin(6.0),
            )
            .show(ui, |ui| {
                for (i, a) in app.alerts.iter().enumerate() {
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
                            if ui.button(t.dismiss).clicked() {
                                dismiss_alert = Some(i);
                            }
                        });
                }
                for (i, e) in app.errors.iter().enumerate() {
                    egui::Frame::new()
                        .fill(colour::NOTICE_BG)
                        .inner_margin(8.0)
                        .show(ui, |ui| {
                            ui.set_width(ui.available_width());
                            ui.add(
                                egui::Label::new(RichText::new(e).color(colour::NOTICE_FG)).wrap(),
                            );
                            if ui.button(t.dismiss).clicked() {
                                dismiss_error = Some(i);
                            }
                        });
                }
            });
        if let Some(i) = dismiss_alert {
            app.alerts.remove(i);
        }
        if let Some(i) = dismiss_error {
            app.errors.remove(i);
        }
    }

    // No fill: the clear colour already is the panel colour (see `PaydeskApp::clear_color`). Under software
    // OpenGL every full-window layer costs a pass over all pixels, each second on the payment screen.
    let central = egui::Frame::central_panel(ui.style()).fill(egui::Color32::TRANSPARENT);
    egui::CentralPanel::default()
        .frame(central)
        .show(ui, |ui| match app.screen {
            Screen::Sale => sale::draw(app, ui),
            Screen::Payment => payment::draw(app, ui),
            Screen::Paid => payment::draw_paid(app, ui),
            Screen::History => history::draw_history(app, ui),
            Screen::Export => history::draw_export(app, ui),
        });
}
