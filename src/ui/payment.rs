//! The payment screen (QR, amount, order number, countdown, status, Cancel) and the paid view.
//!
//! The countdown reads the injected clock. The status comes from engine events only; this screen never
//! decides that an order is paid, expired or cancelled.

use eframe::egui::{self, Key, RichText};

use super::app::{Intent, PAID_VIEW_SECONDS, PaydeskApp, Screen, countdown_text};
use super::theme::{colour, size, space, status_colour};
use crate::engine::CustomerAction;
use crate::ledger::state::OrderStatus;

fn big_button(text: &str, fill: Option<egui::Color32>) -> egui::Button<'static> {
    let mut rt = RichText::new(text.to_owned()).size(size::HEADING);
    if fill.is_some() {
        rt = rt.color(egui::Color32::WHITE);
    }
    let mut b = egui::Button::new(rt).min_size(egui::vec2(200.0, size::BIG_BUTTON_HEIGHT));
    if let Some(f) = fill {
        b = b.fill(f);
    }
    b
}

/// The customer can still pay by scanning: the code and the countdown are shown.
pub fn payable(status: OrderStatus) -> bool {
    matches!(
        status,
        OrderStatus::Creating | OrderStatus::Open | OrderStatus::UserPaying
    )
}

/// Draw the payment screen.
pub fn draw(app: &mut PaydeskApp, ui: &mut egui::Ui) {
    let lang = app.lang();
    let t = lang.t();
    let sandbox = app.info.sandbox;
    let now = app.clock.now();
    let Some(p) = app.payment.as_mut() else {
        app.screen = Screen::Sale;
        return;
    };
    let status = p.order.status;
    let mut intents = Vec::new();
    let mut new_sale = false;
    let mut charge_again = false;

    // Esc asks to cancel, like the button.
    if !status.is_final() && !p.cancel_sent && ui.input(|i| i.key_pressed(Key::Escape)) {
        p.confirm_cancel = true;
    }

    let avail = ui.available_size();
    let info_width = (avail.x * 0.42).clamp(340.0, 560.0);
    let qr_side = (avail.x - info_width - space::SECTION)
        .min(avail.y - space::GAP)
        .max(120.0);

    ui.horizontal_top(|ui| {
        // The QR, as large as the window allows.
        ui.vertical(|ui| {
            ui.set_width(qr_side);
            match (&p.qr, &p.qr_error) {
                (Some(qr), _) if payable(status) => {
                    qr.show(ui, qr_side, t.qr_label);
                }
                (_, Some(e)) => {
                    ui.label(RichText::new(e).color(colour::ERROR));
                }
                (None, None) if payable(status) => {
                    ui.label(RichText::new(t.waiting_code_url).size(size::STATUS));
                }
                _ => {
                    // A closing or final order shows no code: nobody should scan it any more.
                    ui.add_space(space::SECTION);
                }
            }
        });
        ui.add_space(space::SECTION);
        ui.vertical(|ui| {
            ui.set_width(info_width);
            if payable(status) {
                ui.label(RichText::new(t.scan_to_pay).size(size::HEADING));
            }
            ui.label(RichText::new(t.amount).color(colour::MUTED));
            ui.label(
                RichText::new(p.order.total.to_string())
                    .size(size::PAY_AMOUNT)
                    .strong(),
            );
            ui.add_space(space::GAP);
            ui.label(RichText::new(t.order_no).color(colour::MUTED));
            ui.label(RichText::new(&p.order.out_trade_no).monospace());
            ui.add_space(space::GAP);
            if payable(status) {
                ui.label(RichText::new(t.time_left).color(colour::MUTED));
                ui.label(
                    RichText::new(countdown_text(now, p.order.expires_at))
                        .size(size::COUNTDOWN)
                        .monospace(),
                );
                ui.add_space(space::GAP);
            }
            // The status in words and colour.
            let status_text = RichText::new(lang.status(status))
                .size(size::STATUS)
                .strong();
            if status == OrderStatus::PaidAfterCancel {
                egui::Frame::new()
                    .fill(colour::ALERT_BG)
                    .inner_margin(12.0)
                    .corner_radius(6.0)
                    .show(ui, |ui| {
                        ui.label(status_text.color(colour::ALERT_FG));
                        ui.label(
                            RichText::new(lang.paid_after_cancel_alert(
                                &p.order.out_trade_no,
                                &p.order.total.to_string(),
                            ))
                            .color(colour::ALERT_FG),
                        );
                    });
            } else {
                ui.label(status_text.color(status_colour(status)));
            }
            if status == OrderStatus::Closing {
                ui.add(egui::Label::new(RichText::new(t.closing_note).color(colour::MUTED)).wrap());
            }
            if let Some(n) = &p.order.notice {
                ui.label(
                    RichText::new(n)
                        .color(colour::NOTICE_FG)
                        .background_color(colour::NOTICE_BG),
                );
            }
            if let Some(e) = &p.error {
                ui.label(RichText::new(e).color(colour::ERROR));
            }
            ui.add_space(space::SECTION);

            if status.is_final() {
                ui.horizontal(|ui| {
                    if ui
                        .add(big_button(t.new_sale, Some(colour::CHARGE)))
                        .clicked()
                    {
                        new_sale = true;
                    }
                    if matches!(
                        status,
                        OrderStatus::Failed | OrderStatus::Expired | OrderStatus::Cancelled
                    ) && ui.add(big_button(t.charge_again, None)).clicked()
                    {
                        charge_again = true;
                    }
                });
            } else {
                let can_cancel = !p.cancel_sent && status != OrderStatus::Closing;
                if ui
                    .add_enabled(can_cancel, big_button(t.cancel_order, Some(colour::ERROR)))
                    .clicked()
                {
                    p.confirm_cancel = true;
                }
                if sandbox {
                    ui.add_space(space::SECTION);
                    ui.label(RichText::new(t.simulate_title).color(colour::MUTED));
                    ui.horizontal(|ui| {
                        // Also while closing: a customer who pays in those seconds is how a
                        // "paid after cancel" happens, and training should be able to show it.
                        let open = matches!(
                            status,
                            OrderStatus::Open | OrderStatus::UserPaying | OrderStatus::Closing
                        );
                        if ui
                            .add_enabled(open, egui::Button::new(t.simulate_pay))
                            .clicked()
                        {
                            intents.push(Intent::Simulate(
                                p.order.out_trade_no.clone(),
                                CustomerAction::Pay,
                            ));
                        }
                        if ui
                            .add_enabled(open, egui::Button::new(t.simulate_fail))
                            .clicked()
                        {
                            intents.push(Intent::Simulate(
                                p.order.out_trade_no.clone(),
                                CustomerAction::Fail,
                            ));
                        }
                    });
                }
            }
        });
    });

    // Cancel needs a second, deliberate click.
    if p.confirm_cancel && !status.is_final() {
        let modal = egui::Modal::new(egui::Id::unique("confirm_cancel")).show(ui.ctx(), |ui| {
            ui.set_width(540.0);
            ui.heading(t.cancel_confirm_title);
            ui.label(t.cancel_confirm_body);
            ui.add_space(space::GAP);
            let mut answer = None;
            ui.horizontal(|ui| {
                if ui
                    .add(big_button(t.cancel_confirm_yes, Some(colour::ERROR)))
                    .clicked()
                {
                    answer = Some(true);
                }
                if ui.add(big_button(t.cancel_confirm_no, None)).clicked() {
                    answer = Some(false);
                }
            });
            answer
        });
        match modal.inner {
            Some(true) => {
                p.confirm_cancel = false;
                p.cancel_sent = true;
                intents.push(Intent::Cancel(p.order.out_trade_no.clone()));
            }
            Some(false) => p.confirm_cancel = false,
            None if modal.should_close() => p.confirm_cancel = false,
            None => {}
        }
    }

    for i in intents {
        app.request(i);
    }
    if new_sale {
        app.new_sale();
    } else if charge_again {
        let cashier = app.info.cashier.clone();
        app.payment = None;
        app.screen = Screen::Sale;
        if let Some(cart) = app.sale.cart_to_charge(lang, &cashier) {
            app.request(Intent::Charge(cart));
        }
    }
}

/// Draw the paid view: a clear success, the amount and the WeChat transaction id.
pub fn draw_paid(app: &mut PaydeskApp, ui: &mut egui::Ui) {
    let lang = app.lang();
    let t = lang.t();
    let now = app.clock.now();
    let Some(p) = app.payment.as_ref() else {
        app.screen = Screen::Sale;
        return;
    };
    let left = p
        .paid_shown_at
        .map(|at| PAID_VIEW_SECONDS - (now - at).num_seconds())
        .unwrap_or(PAID_VIEW_SECONDS)
        .max(0);
    let mut done = ui.input(|i| i.key_pressed(Key::Enter) || i.key_pressed(Key::Space));
    ui.vertical_centered(|ui| {
        ui.add_space(space::SECTION * 2.0);
        ui.label(
            RichText::new(format!("✓ {}", t.paid_title))
                .size(size::PAID_TITLE)
                .color(colour::PAID)
                .strong(),
        );
        ui.add_space(space::SECTION);
        ui.label(
            RichText::new(p.order.total.to_string())
                .size(size::PAY_AMOUNT)
                .strong(),
        );
        ui.add_space(space::GAP);
        ui.label(RichText::new(t.transaction_id).color(colour::MUTED));
        ui.label(
            RichText::new(p.order.transaction_id.as_deref().unwrap_or("—"))
                .size(size::HEADING)
                .monospace(),
        );
        ui.label(
            RichText::new(format!("{} {}", t.order_no, p.order.out_trade_no)).color(colour::MUTED),
        );
        ui.add_space(space::SECTION);
        if ui
            .add(big_button(t.new_sale, Some(colour::CHARGE)))
            .clicked()
        {
            done = true;
        }
        ui.label(RichText::new(lang.auto_return(left)).color(colour::MUTED));
    });
    if done {
        app.new_sale();
    }
}
