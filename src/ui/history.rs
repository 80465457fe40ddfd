//! The history screen (any day's orders, what the day received, refunded and netted, one order's refunds, lines and events) and the export
//! screen.
//!
//! Both draw from read-only state and push commands; the data comes from the engine through the reducer's
//! intents, never from here. The only thing written here is the day field's text as it is typed.

use chrono::{Local, NaiveDate};
use eframe::egui::{self, RichText};

use super::command::UiCommand;
use super::i18n::Lang;
use super::screens::ScreenCtx;
use super::state::HistoryState;
use super::theme::{colour, size, space, status_colour};
use crate::app::window::OrderSummary;
use crate::money::Fen;

/// A typed day (`2026-05-20`) and whether it failed to parse.
#[derive(Debug, Default)]
pub struct DayField {
    pub text: String,
    pub error: bool,
}

impl DayField {
    pub fn set(&mut self, day: NaiveDate) {
        self.text = day.to_string();
        self.error = false;
    }
}

/// The orders that brought money in, and their sum (paid, and paid after cancel; refunded ones are out).
pub fn paid_total(rows: &[OrderSummary]) -> (usize, Option<Fen>) {
    let paid: Vec<Fen> = rows
        .iter()
        .filter(|r| r.status.is_paid())
        .map(|r| r.total)
        .collect();
    (paid.len(), Fen::checked_sum(paid))
}

pub(crate) fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// "收款 ¥X · 退款 ¥Y · 净额 ¥Z".
fn day_sums(ui: &mut egui::Ui, lang: Lang, s: &crate::app::window::DaySums) {
    ui.label(
        RichText::new(lang.day_sums_line(
            &s.received.to_string(),
            &s.refunded.to_string(),
            &s.net_label(),
        ))
        .size(size::HEADING)
        .color(colour::PAID)
        .strong(),
    );
}

/// A day field with previous/next/today; returns the day chosen by this frame's input, if any.
pub(crate) fn day_picker(
    ui: &mut egui::Ui,
    lang: Lang,
    field: &mut DayField,
    current: NaiveDate,
    today: NaiveDate,
) -> Option<NaiveDate> {
    let t = lang.t();
    let mut chosen = None;
    ui.horizontal(|ui| {
        let label = ui.label(t.day);
        let r = ui
            .add(
                egui::TextEdit::singleline(&mut field.text)
                    .hint_text(t.day_hint)
                    .desired_width(140.0),
            )
            .labelled_by(label.id);
        if r.lost_focus() {
            match parse_day(&field.text) {
                Some(d) => {
                    field.error = false;
                    if d != current {
                        chosen = Some(d);
                    }
                }
                None => field.error = true,
            }
        }
        if ui.button(t.previous_day).clicked() {
            chosen = current.pred_opt();
        }
        if ui.button(t.next_day).clicked() {
            chosen = current.succ_opt();
        }
        if ui.button(t.today).clicked() {
            chosen = Some(today);
        }
        if field.error {
            ui.label(RichText::new(t.bad_day).color(colour::ERROR));
        }
    });
    if let Some(d) = chosen {
        field.set(d);
    }
    chosen
}

/// The history screen: the day picker, the day's orders with the paid total, and the selected order.
pub(crate) fn draw_history(
    ui: &mut egui::Ui,
    cx: &ScreenCtx<'_>,
    day: &mut DayField,
    refund: &mut super::refund::RefundFields,
    out: &mut Vec<UiCommand>,
) {
    let (lang, t) = (cx.lang, cx.t);
    let h = &cx.state.history;
    let current = h.day.unwrap_or(cx.today);
    ui.heading(t.history_title);
    let mut export = false;
    ui.horizontal(|ui| {
        if let Some(d) = day_picker(ui, lang, day, current, cx.today) {
            out.push(UiCommand::LoadHistory(d));
        }
        if ui.button(t.refresh).clicked() {
            out.push(UiCommand::LoadHistory(current));
        }
        if ui.button(t.export_this_day).clicked() {
            export = true;
        }
    });
    if export {
        out.push(UiCommand::ExportDay(current));
        return;
    }
    ui.separator();

    match &h.rows {
        _ if h.loading => {
            ui.label(t.loading);
        }
        None => {}
        Some(Err(e)) => {
            ui.label(RichText::new(format!("{}: {e}", t.load_failed)).color(colour::ERROR));
        }
        Some(Ok(rows)) if rows.is_empty() => {
            ui.label(RichText::new(t.no_orders).color(colour::MUTED));
            // Refunds of older orders still move this day's money.
            if let Some(Ok(s)) = &h.sums
                && s.refunded > Fen::ZERO
            {
                day_sums(ui, lang, s);
            }
        }
        Some(Ok(rows)) => {
            match &h.sums {
                // The day's money net of refunds, the day report's figures (a refund counts on the day it
                // succeeded, whatever day its order is from).
                Some(Ok(s)) => {
                    let received = rows
                        .iter()
                        .filter(|r| crate::app::window::order_received_money(r.status))
                        .count();
                    ui.label(
                        RichText::new(lang.day_orders_line(rows.len(), received))
                            .size(size::HEADING)
                            .strong(),
                    );
                    day_sums(ui, lang, s);
                }
                // Until they arrive (or if they cannot be read), the paid orders' total.
                _ => {
                    let (paid, sum) = paid_total(rows);
                    let sum = sum.map_or_else(|| "—".to_owned(), |f| f.to_string());
                    ui.label(
                        RichText::new(lang.paid_summary(rows.len(), paid, &sum))
                            .size(size::HEADING)
                            .strong(),
                    );
                }
            }
            ui.add_space(space::GAP);
            let list_width = (ui.available_width() * 0.55).max(420.0);
            ui.horizontal_top(|ui| {
                ui.vertical(|ui| {
                    ui.set_width(list_width);
                    egui::ScrollArea::vertical()
                        .id_salt("history_list")
                        .auto_shrink(false)
                        .show(ui, |ui| order_list(ui, lang, h, rows, out));
                });
                ui.separator();
                ui.vertical(|ui| {
                    // Reprint the receipt of the selected order once it is paid.
                    let paid = rows.iter().find(|r| {
                        h.selected.as_deref() == Some(r.out_trade_no.as_str())
                            && r.status == crate::app::window::OrderStatus::Paid
                    });
                    if let (true, Some(r)) = (cx.counter.printer, paid) {
                        ui.horizontal(|ui| {
                            super::printing::receipt_button(ui, lang, &r.out_trade_no, out);
                            super::printing::status_line(ui, lang, &cx.state.print);
                        });
                    }
                    egui::ScrollArea::vertical()
                        .id_salt("history_detail")
                        .auto_shrink(false)
                        .show(ui, |ui| draw_detail(ui, cx, refund, out));
                });
            });
        }
    }
}

/// The day's orders, one row each; a click on the time selects one.
fn order_list(
    ui: &mut egui::Ui,
    lang: Lang,
    h: &HistoryState,
    rows: &[OrderSummary],
    out: &mut Vec<UiCommand>,
) {
    let t = lang.t();
    egui::Grid::new("history_rows")
        .striped(true)
        .num_columns(4)
        .spacing(egui::vec2(20.0, 8.0))
        .show(ui, |ui| {
            for c in [t.col_time, t.col_amount, t.col_status, t.col_order_no] {
                ui.label(RichText::new(c).color(colour::MUTED));
            }
            ui.end_row();
            for r in rows {
                let selected = h.selected.as_deref() == Some(r.out_trade_no.as_str());
                let time = r
                    .created_at
                    .with_timezone(&Local)
                    .format("%H:%M:%S")
                    .to_string();
                if ui.selectable_label(selected, time).clicked() {
                    out.push(UiCommand::SelectOrder(r.out_trade_no.clone()));
                }
                ui.label(RichText::new(r.total.to_string()).strong());
                ui.label(RichText::new(lang.status_short(r.status)).color(status_colour(r.status)));
                ui.label(RichText::new(&r.out_trade_no).monospace().size(14.0));
                ui.end_row();
            }
        });
}

/// The selected order: its number, its refunds (and the refund form) when it was paid, its lines and events.
fn draw_detail(
    ui: &mut egui::Ui,
    cx: &ScreenCtx<'_>,
    refund: &mut super::refund::RefundFields,
    out: &mut Vec<UiCommand>,
) {
    let (lang, h) = (cx.lang, &cx.state.history);
    let t = lang.t();
    let Some(no) = &h.selected else {
        ui.label(RichText::new(t.select_order).color(colour::MUTED));
        return;
    };
    ui.label(RichText::new(format!("{} {no}", t.order_no)).strong());
    super::refund::draw(ui, cx, refund, out);
    match &h.detail {
        None => {
            ui.label(t.loading);
        }
        Some(Err(e)) => {
            ui.label(RichText::new(format!("{}: {e}", t.load_failed)).color(colour::ERROR));
        }
        Some(Ok(d)) => {
            ui.add_space(space::GAP);
            ui.label(RichText::new(t.lines_title).size(size::HEADING));
            egui::Grid::new("detail_lines")
                .striped(true)
                .show(ui, |ui| {
                    for l in &d.lines {
                        ui.label(&l.name);
                        ui.label(l.unit_price.to_string());
                        ui.label(format!("× {}", l.qty));
                        ui.label(RichText::new(l.line_total.to_string()).strong());
                        ui.end_row();
                    }
                });
            ui.add_space(space::GAP);
            ui.label(RichText::new(t.events_title).size(size::HEADING));
            for e in &d.events {
                ui.label(
                    RichText::new(format!(
                        "{}  {}",
                        e.at.with_timezone(&Local).format("%H:%M:%S"),
                        e.kind
                    ))
                    .strong(),
                );
                let text = e.text();
                if !text.is_empty() {
                    ui.add(
                        egui::Label::new(RichText::new(text).size(14.0).color(colour::MUTED))
                            .wrap(),
                    );
                }
                ui.add_space(4.0);
            }
        }
    }
}

/// The export screen: a day, the Export button (a save dialog follows), and the result.
pub(crate) fn draw_export(
    ui: &mut egui::Ui,
    cx: &ScreenCtx<'_>,
    day_field: &mut DayField,
    out: &mut Vec<UiCommand>,
) {
    let (lang, t, today) = (cx.lang, cx.t, cx.today);
    let e = &cx.state.export;
    ui.heading(t.export_title);
    ui.label(t.export_explain);
    ui.add_space(space::GAP);
    if day_field.text.is_empty() {
        day_field.set(today);
    }
    let current = parse_day(&day_field.text).unwrap_or(today);
    day_picker(ui, lang, day_field, current, today);
    ui.add_space(space::GAP);
    let day = parse_day(&day_field.text);
    day_field.error = day.is_none();
    let button = egui::Button::new(RichText::new(t.export_button).size(size::HEADING))
        .min_size(egui::vec2(260.0, size::BIG_BUTTON_HEIGHT));
    if ui.add_enabled(!e.busy && day.is_some(), button).clicked()
        && let Some(day) = day
    {
        out.push(UiCommand::Export(day));
    }
    ui.add_space(space::GAP);
    if e.busy {
        ui.label(t.exporting);
    } else if e.cancelled {
        ui.add(egui::Label::new(RichText::new(t.export_cancelled).color(colour::MUTED)).wrap());
    } else {
        match &e.result {
            Some(Ok((rows, path))) => {
                ui.label(
                    RichText::new(lang.exported(*rows, &path.display().to_string()))
                        .color(colour::PAID)
                        .size(size::BODY),
                );
            }
            Some(Err(err)) => {
                ui.label(
                    RichText::new(format!("{}: {err}", t.export_failed))
                        .color(colour::ERROR)
                        .size(size::BODY),
                );
            }
            None => {}
        }
    }
}
