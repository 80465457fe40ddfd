//! The payment screen (QR, amount, order number, countdown, status, Cancel) and the paid view.
//!
//! The countdown reads the injected clock. The status comes from engine events only; this screen never
//! decides that an order is paid, expired or cancelled: it draws the order on screen, read-only, and pushes
//! commands (cancel, simulate, new sale).

use chrono::{DateTime, Utc};
use eframe::egui::{self, Key, RichText};

use super::command::UiCommand;
use super::i18n::{Lang, Texts};
use super::screens::ScreenCtx;
use super::state::{PAID_VIEW_SECONDS, PaymentState};
use super::theme::{colour, size, space, status_colour};
use crate::app::window::{CustomerAction, OrderStatus};

/// `mm:ss` left until `expires_at` (never negative; minutes can pass 59).
pub fn countdown_text(now: DateTime<Utc>, expires_at: DateTime<Utc>) -> String {
    let left = (expires_at - now).num_seconds().max(0);
    format!("{:02}:{:02}", left / 60, left % 60)
}

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

/// Draw the payment screen: the QR on the left, the order, its status and the buttons on the right.
pub(crate) fn draw(ui: &mut egui::Ui, cx: &ScreenCtx<'_>, out: &mut Vec<UiCommand>) {
    let Some(p) = cx.state.payment.as_ref() else {
        out.push(UiCommand::Navigate(super::state::Screen::Sale));
        return;
    };
    let status = p.order.status;

    // Esc asks to cancel, like the button.
    if !status.is_final() && !p.cancel_sent && ui.input(|i| i.key_pressed(Key::Escape)) {
        out.push(UiCommand::AskCancel);
    }

    let super::layout::PaymentLayout {
        qr_side,
        info_width,
    } = super::layout::payment_layout(ui.available_size());

    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(qr_side);
            qr_panel(ui, cx.t, p, qr_side);
        });
        ui.add_space(super::layout::GAP);
        ui.vertical(|ui| {
            ui.set_width(info_width);
            order_panel(ui, cx.t, p, cx.now);
            status_panel(ui, cx.lang, p);
            ui.add_space(space::SECTION);
            if status.is_final() {
                final_buttons(ui, cx.t, status, out);
            } else {
                open_buttons(ui, cx.t, p, cx.info.mode.is_sandbox(), out);
            }
            if cx.counter.printer {
                ui.add_space(space::GAP);
                if status.is_payable() && p.order.code_url.is_some() {
                    super::printing::slip_button(ui, cx.lang, &p.order.out_trade_no, out);
                }
                super::printing::status_line(ui, cx.lang, &cx.state.print);
            }
        });
    });

    if p.confirm_cancel && !status.is_final() {
        cancel_dialog(ui, cx.t, out);
    }
}

/// The QR, as large as the window allows, while the customer can still pay.
fn qr_panel(ui: &mut egui::Ui, t: &Texts, p: &PaymentState, side: f32) {
    let payable = p.order.status.is_payable();
    match (&p.qr, &p.qr_error) {
        (Some(qr), _) if payable => {
            qr.show(ui, side, t.qr_label);
        }
        (_, Some(e)) => {
            ui.label(RichText::new(e).color(colour::ERROR));
        }
        (None, None) if payable => {
            ui.label(RichText::new(t.waiting_code_url).size(size::STATUS));
        }
        _ => {
            // A closing or final order shows no code: nobody should scan it any more.
            ui.add_space(space::SECTION);
        }
    }
}

/// "Scan to pay", the amount, the order number and the countdown.
fn order_panel(ui: &mut egui::Ui, t: &Texts, p: &PaymentState, now: DateTime<Utc>) {
    let payable = p.order.status.is_payable();
    if payable {
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
    if payable {
        ui.label(RichText::new(t.time_left).color(colour::MUTED));
        ui.label(
            RichText::new(countdown_text(now, p.order.expires_at))
                .size(size::COUNTDOWN)
                .monospace(),
        );
        ui.add_space(space::GAP);
    }
}

/// The status in words and colour, the paid-after-cancel alert, the engine's notice and the last error.
fn status_panel(ui: &mut egui::Ui, lang: Lang, p: &PaymentState) {
    let t = lang.t();
    let status = p.order.status;
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
}

/// A final order: New sale, and Charge again when no money was taken.
fn final_buttons(ui: &mut egui::Ui, t: &Texts, status: OrderStatus, out: &mut Vec<UiCommand>) {
    ui.horizontal(|ui| {
        if ui
            .add(big_button(t.new_sale, Some(colour::CHARGE)))
            .clicked()
        {
            out.push(UiCommand::NewSale);
        }
        if matches!(
            status,
            OrderStatus::Failed | OrderStatus::Expired | OrderStatus::Cancelled
        ) && ui.add(big_button(t.charge_again, None)).clicked()
        {
            out.push(UiCommand::ChargeAgain);
        }
    });
}

/// An order still open: Cancel, and in the sandbox the customer's two answers.
fn open_buttons(
    ui: &mut egui::Ui,
    t: &Texts,
    p: &PaymentState,
    sandbox: bool,
    out: &mut Vec<UiCommand>,
) {
    let status = p.order.status;
    let can_cancel = !p.cancel_sent && status != OrderStatus::Closing;
    if ui
        .add_enabled(can_cancel, big_button(t.cancel_order, Some(colour::ERROR)))
        .clicked()
    {
        out.push(UiCommand::AskCancel);
    }
    if !sandbox {
        return;
    }
    ui.add_space(space::SECTION);
    ui.label(RichText::new(t.simulate_title).color(colour::MUTED));
    ui.horizontal(|ui| {
        // Also while closing: a customer who pays in those seconds is how a "paid after cancel" happens,
        // and training should be able to show it.
        let open = matches!(
            status,
            OrderStatus::Open | OrderStatus::UserPaying | OrderStatus::Closing
        );
        for (label, action) in [
            (t.simulate_pay, CustomerAction::Pay),
            (t.simulate_fail, CustomerAction::Fail),
        ] {
            if ui.add_enabled(open, egui::Button::new(label)).clicked() {
                out.push(UiCommand::Simulate(p.order.out_trade_no.clone(), action));
            }
        }
    });
}

/// Cancel needs a second, deliberate click.
fn cancel_dialog(ui: &mut egui::Ui, t: &Texts, out: &mut Vec<UiCommand>) {
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
        Some(true) => out.push(UiCommand::ConfirmCancel),
        Some(false) => out.push(UiCommand::KeepOrder),
        None if modal.should_close() => out.push(UiCommand::KeepOrder),
        None => {}
    }
}

/// Draw the paid view: a clear success, the amount and the WeChat transaction id.
pub(crate) fn draw_paid(ui: &mut egui::Ui, cx: &ScreenCtx<'_>, out: &mut Vec<UiCommand>) {
    let t = cx.t;
    let Some(p) = cx.state.payment.as_ref() else {
        out.push(UiCommand::Navigate(super::state::Screen::Sale));
        return;
    };
    let left = p
        .paid_shown_at
        .map(|at| PAID_VIEW_SECONDS - (cx.now - at).num_seconds())
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
        ui.label(RichText::new(cx.lang.auto_return(left)).color(colour::MUTED));
        if cx.counter.printer {
            ui.add_space(space::GAP);
            super::printing::receipt_button(ui, cx.lang, &p.order.out_trade_no, out);
            super::printing::status_line(ui, cx.lang, &cx.state.print);
        }
    });
    if done {
        out.push(UiCommand::NewSale);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn countdown_is_mm_ss_and_stops_at_zero() {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            countdown_text(t, t + chrono::Duration::seconds(125)),
            "02:05"
        );
        assert_eq!(
            countdown_text(t, t + chrono::Duration::milliseconds(59_900)),
            "00:59"
        );
        assert_eq!(countdown_text(t, t - chrono::Duration::seconds(3)), "00:00");
        assert_eq!(
            countdown_text(t, t + chrono::Duration::minutes(120)),
            "120:00"
        );
    }
}
