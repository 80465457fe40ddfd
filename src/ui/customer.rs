//! The customer display (客显/副屏): a second window, facing the customer, that follows the sale — idle
//! (store name and welcome), the lines and total while the cashier rings up, the big QR with amount,
//! countdown and status while paying, then "支付成功 谢谢惠顾". It never shows a cashier control.
//!
//! It is an egui *deferred* viewport, so it repaints on its own and only when asked: the cashier window
//! publishes a [`CustomerView`] each frame, and only a changed view is written to the shared slot and
//! followed by `request_repaint_of` the customer viewport; while a countdown runs the viewport asks for
//! its own next second. Nothing here writes the window's state or talks to the engine.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use eframe::egui::{self, Align, Layout, RichText};

use super::i18n::Lang;
use super::qr::QrView;
use super::state::{Screen, UiState};
use super::theme::{colour, size};
use crate::app::window::{CartLine, OrderStatus};
use crate::clock::SharedClock;
use crate::money::Fen;

/// The window's title, as the issue and the desk staff call it.
pub const TITLE: &str = "顾客屏 Customer display";

/// What the customer sees, as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerView {
    pub store_name: String,
    pub lang: Lang,
    pub stage: Stage,
}

/// The stage of the sale, for the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    Idle,
    Sale {
        lines: Vec<CartLine>,
        total: Option<Fen>,
    },
    Payment {
        total: Fen,
        code_url: Option<String>,
        expires_at: DateTime<Utc>,
        status: OrderStatus,
    },
    Paid {
        total: Fen,
    },
}

impl CustomerView {
    /// The customer's view of the cashier window's state.
    pub(crate) fn of(state: &UiState, store_name: &str, lang: Lang) -> CustomerView {
        let stage = match (state.screen, state.payment.as_ref()) {
            (Screen::Paid, Some(p)) => Stage::Paid {
                total: p.order.total,
            },
            (_, Some(p)) => Stage::Payment {
                total: p.order.total,
                code_url: p.order.code_url.clone(),
                expires_at: p.order.expires_at,
                status: p.order.status,
            },
            (_, None) if !state.sale.lines.is_empty() => Stage::Sale {
                lines: state.sale.lines.clone(),
                total: state.sale.total(),
            },
            _ => Stage::Idle,
        };
        CustomerView {
            store_name: store_name.to_owned(),
            lang,
            stage,
        }
    }
}

/// What the customer viewport reads: the view and its QR texture.
struct Shown {
    view: CustomerView,
    qr: Option<QrView>,
}

/// The customer display, owned by the cashier window.
pub(crate) struct CustomerDisplay {
    id: egui::ViewportId,
    monitor: usize,
    shown: Arc<Mutex<Shown>>,
    clock: SharedClock,
}

impl CustomerDisplay {
    pub(crate) fn new(monitor: usize, clock: SharedClock, first: CustomerView) -> CustomerDisplay {
        CustomerDisplay {
            id: egui::ViewportId::from_hash_of("customer_display"),
            monitor,
            shown: Arc::new(Mutex::new(Shown {
                view: first,
                qr: None,
            })),
            clock,
        }
    }

    /// Call every frame of the cashier window: publish `view` when it changed, and keep the viewport open.
    pub(crate) fn show(&mut self, ctx: &egui::Context, view: CustomerView) {
        {
            let mut shown = self.shown.lock().expect("customer display lock");
            if shown.view != view {
                let wanted = match &view.stage {
                    Stage::Payment {
                        code_url: Some(u), ..
                    } => Some(u.as_str()),
                    _ => None,
                };
                match wanted {
                    Some(u) if shown.qr.as_ref().map(|q| q.matrix.payload.as_str()) != Some(u) => {
                        shown.qr = QrView::new(ctx, u).ok();
                    }
                    Some(_) => {}
                    None => shown.qr = None,
                }
                shown.view = view;
                ctx.request_repaint_of(self.id);
            }
        }
        let builder = egui::ViewportBuilder::default()
            .with_title(TITLE)
            .with_app_id("paydesk-customer")
            .with_inner_size([1024.0, 768.0])
            .with_monitor(self.monitor)
            .with_fullscreen(true);
        let shown = Arc::clone(&self.shown);
        let clock = Arc::clone(&self.clock);
        ctx.show_viewport_deferred(self.id, builder, move |ui, _class| {
            let now = clock.now();
            let shown = shown.lock().expect("customer display lock");
            // The customer cannot close it; the cashier window owns it.
            if ui.input(|i| i.viewport().close_requested()) {
                ui.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            }
            draw(ui, &shown.view, shown.qr.as_ref(), now);
            if let Some(wait) = next_tick(&shown.view, now) {
                ui.ctx().request_repaint_after(wait);
            }
        });
    }
}

/// When the customer display must repaint by itself: each second of a payable countdown, else never.
pub fn next_tick(view: &CustomerView, now: DateTime<Utc>) -> Option<Duration> {
    match &view.stage {
        Stage::Payment {
            expires_at, status, ..
        } if status.is_payable() => {
            let ms = (*expires_at - now).num_milliseconds();
            let until = if ms > 0 { ms % 1000 } else { 1000 };
            let wait = if until == 0 { 1000 } else { until };
            Some(Duration::from_millis(wait.clamp(50, 1000) as u64))
        }
        _ => None,
    }
}

fn tr(lang: Lang, zh: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// Draw the customer's screen for `view` (public for tests: the states can be drawn without a window).
pub fn draw(ui: &mut egui::Ui, view: &CustomerView, qr: Option<&QrView>, now: DateTime<Utc>) {
    let lang = view.lang;
    // No fill: the window is cleared to the panel colour already (`PaydeskApp::clear_color`, used for every
    // viewport); in software OpenGL a full-window fill costs a pass over all 2 million pixels each second.
    let frame = egui::Frame::central_panel(ui.style()).fill(egui::Color32::TRANSPARENT);
    egui::CentralPanel::default()
        .frame(frame)
        .show(ui, |ui| match &view.stage {
            Stage::Idle => {
                ui.vertical_centered(|ui| {
                    ui.add_space(ui.available_height() * 0.3);
                    ui.label(RichText::new(&view.store_name).size(size::TOTAL).strong());
                    ui.add_space(24.0);
                    ui.label(
                        RichText::new(tr(lang, "欢迎光临", "Welcome"))
                            .size(size::PAID_TITLE)
                            .color(colour::PAID),
                    );
                });
            }
            Stage::Sale { lines, total } => {
                ui.label(RichText::new(&view.store_name).size(size::HEADING).strong());
                ui.separator();
                egui::ScrollArea::vertical()
                    .max_height(ui.available_height() - 120.0)
                    .stick_to_bottom(true)
                    .show(ui, |ui| {
                        egui::Grid::new("customer_lines")
                            .num_columns(3)
                            .spacing([48.0, 12.0])
                            .show(ui, |ui| {
                                for l in lines {
                                    ui.label(RichText::new(&l.name).size(size::STATUS));
                                    ui.label(
                                        RichText::new(format!("{} × {}", l.unit_price, l.qty))
                                            .size(size::STATUS)
                                            .color(colour::MUTED),
                                    );
                                    let amount = l.total().map_or("—".into(), |f| f.to_string());
                                    ui.label(RichText::new(amount).size(size::STATUS).strong());
                                    ui.end_row();
                                }
                            });
                    });
                ui.separator();
                ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                    let total = total.map_or("—".into(), |f| f.to_string());
                    ui.label(RichText::new(total).size(size::TOTAL).strong());
                    ui.label(RichText::new(tr(lang, "合计", "Total")).size(size::STATUS));
                });
            }
            Stage::Payment {
                total,
                expires_at,
                status,
                ..
            } => {
                let payable = status.is_payable();
                let avail = ui.available_size();
                let side = (avail.y - 16.0).min(avail.x * 0.6).max(120.0);
                ui.horizontal_top(|ui| {
                    ui.vertical(|ui| {
                        ui.set_width(side);
                        match qr {
                            Some(q) if payable => {
                                q.show(ui, side, tr(lang, "付款二维码", "Payment QR code"));
                            }
                            _ => {
                                ui.add_space(side);
                            }
                        }
                    });
                    ui.add_space(32.0);
                    ui.vertical(|ui| {
                        if payable {
                            ui.label(
                                RichText::new(tr(lang, "请使用微信扫一扫", "Scan with WeChat"))
                                    .size(size::STATUS),
                            );
                        }
                        ui.add_space(16.0);
                        ui.label(RichText::new(tr(lang, "应付", "To pay")).color(colour::MUTED));
                        ui.label(
                            RichText::new(total.to_string())
                                .size(size::PAY_AMOUNT)
                                .strong(),
                        );
                        ui.add_space(16.0);
                        if payable {
                            ui.label(
                                RichText::new(super::payment::countdown_text(now, *expires_at))
                                    .size(size::COUNTDOWN)
                                    .monospace(),
                            );
                            ui.add_space(16.0);
                        }
                        ui.label(
                            RichText::new(customer_status(lang, *status))
                                .size(size::STATUS)
                                .color(super::theme::status_colour(*status)),
                        );
                    });
                });
            }
            Stage::Paid { total } => {
                ui.vertical_centered(|ui| {
                    ui.add_space(ui.available_height() * 0.25);
                    ui.label(
                        RichText::new(format!("✓ {}", tr(lang, "支付成功", "Payment received")))
                            .size(size::PAID_TITLE)
                            .color(colour::PAID)
                            .strong(),
                    );
                    ui.add_space(24.0);
                    ui.label(
                        RichText::new(total.to_string())
                            .size(size::PAY_AMOUNT)
                            .strong(),
                    );
                    ui.add_space(24.0);
                    ui.label(
                        RichText::new(tr(lang, "谢谢惠顾", "Thank you")).size(size::PAID_TITLE),
                    );
                });
            }
        });
}

/// The status as the customer should read it: no "contact the manager" alarms on their side.
fn customer_status(lang: Lang, status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Open | OrderStatus::Creating => tr(lang, "等待扫码", "Waiting for payment"),
        OrderStatus::UserPaying => tr(lang, "支付中…", "Paying…"),
        OrderStatus::Paid | OrderStatus::PaidAfterCancel => tr(lang, "支付成功", "Paid"),
        OrderStatus::Failed => tr(lang, "支付失败，请重试", "Payment failed, please try again"),
        OrderStatus::Expired => tr(lang, "二维码已过期", "The code has expired"),
        OrderStatus::Closing | OrderStatus::Cancelled => tr(lang, "订单已取消", "Cancelled"),
        OrderStatus::Refunded => tr(lang, "已退款", "Refunded"),
    }
}
