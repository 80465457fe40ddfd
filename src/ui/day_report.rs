//! The day report screen (日结): a business day's money at a glance for the manager at closing time —
//! received, refunds, net and WeChat's fee, orders by status, by cashier and by station, the day's
//! reconciliation with WeChat's bill in words, and two bar charts (net takings by hour, and the last 30 days),
//! with Export CSV and Print.
//!
//! It draws from read-only state and pushes commands; the report comes from the ledger through the reducer's
//! intents. Nothing here moves by itself, so this screen asks for no repaint of its own (the charts do not
//! animate; zoom and drag are off). Not here: the report's figures (the ledger), the CSV and the printed page
//! (`crate::report_format`, through the backend).

use chrono::NaiveDate;
use eframe::egui::{self, RichText};
use egui_plot::{Bar, BarChart, GridInput, GridMark, Plot};

use super::command::UiCommand;
use super::history::{DayField, day_picker};
use super::i18n::Lang;
use super::i18n_report::ReportTexts;
use super::screens::ScreenCtx;
use super::theme::{colour, size, space, status_colour};
use crate::app::window::{DailyTotal, DayReport, GroupLine, PrintJob, Reconciled};

/// `¥12.50`, `-¥3.00`: signed fen (a net can be negative; [`crate::money::Fen`] cannot).
fn signed(fen: i64) -> String {
    let abs = crate::money::Fen::new(fen.saturating_abs()).unwrap_or_default();
    if fen < 0 {
        format!("-{abs}")
    } else {
        abs.to_string()
    }
}

/// The bill's fee (0.00001 yuan) as yuan with the decimals it needs, at least two: `0.41`, `0.006`.
fn fee_short(fee_e5: i64) -> String {
    let sign = if fee_e5 < 0 { "-" } else { "" };
    let a = fee_e5.unsigned_abs();
    let frac = format!("{:05}", a % 100_000);
    let frac = frac.trim_end_matches('0');
    let frac = if frac.len() < 2 {
        format!("{frac:0<2}")
    } else {
        frac.to_owned()
    };
    format!("{sign}{}.{frac}", a / 100_000)
}

/// Yuan as a bar's height. Drawing only: the figures shown as text are exact fen.
fn bar_yuan(fen: i64) -> f64 {
    fen as f64 / 100.0
}

pub(crate) fn draw(
    ui: &mut egui::Ui,
    cx: &ScreenCtx<'_>,
    day_field: &mut DayField,
    out: &mut Vec<UiCommand>,
) {
    let (lang, rt) = (cx.lang, cx.lang.report());
    let r = &cx.state.day_report;
    let current = r.day.unwrap_or(cx.today);
    ui.heading(rt.title);
    ui.horizontal(|ui| {
        if let Some(d) = day_picker(ui, lang, day_field, current, cx.today) {
            out.push(UiCommand::LoadDayReport(d));
        }
        if ui.button(cx.t.refresh).clicked() {
            out.push(UiCommand::LoadDayReport(current));
        }
        let ready = matches!(r.data, Some(Ok(_))) && !r.loading;
        if ui
            .add_enabled(ready && !r.exporting, egui::Button::new(rt.export_csv))
            .clicked()
        {
            out.push(UiCommand::ExportDayReport(current));
        }
        let print = ui.add_enabled(ready && cx.counter.printer, egui::Button::new(rt.print));
        let print = if cx.counter.printer {
            print
        } else {
            print.on_disabled_hover_text(rt.no_printer)
        };
        if print.clicked() {
            out.push(UiCommand::Print(PrintJob::DayReport { day: current }));
        }
        super::printing::status_line(ui, lang, &cx.state.print);
    });
    export_result(ui, lang, rt, r);
    ui.separator();

    match &r.data {
        _ if r.loading => {
            ui.label(cx.t.loading);
        }
        None => {}
        Some(Err(e)) => {
            ui.label(RichText::new(format!("{}: {e}", cx.t.load_failed)).color(colour::ERROR));
        }
        Some(Ok((report, days))) => {
            egui::ScrollArea::vertical()
                .id_salt("day_report")
                .auto_shrink(false)
                .show(ui, |ui| body(ui, lang, rt, report, days));
        }
    }
}

fn export_result(
    ui: &mut egui::Ui,
    lang: Lang,
    rt: &ReportTexts,
    r: &super::state::DayReportState,
) {
    if r.exporting {
        ui.label(rt.exporting);
    } else if r.export_cancelled {
        ui.label(RichText::new(rt.export_cancelled).color(colour::MUTED));
    } else {
        match &r.exported {
            Some(Ok(path)) => {
                ui.label(
                    RichText::new(lang.report_exported(&path.display().to_string()))
                        .color(colour::PAID),
                );
            }
            Some(Err(e)) => {
                ui.label(RichText::new(format!("{}: {e}", rt.export_failed)).color(colour::ERROR));
            }
            None => {}
        }
    }
}

fn body(ui: &mut egui::Ui, lang: Lang, rt: &ReportTexts, report: &DayReport, days: &[DailyTotal]) {
    totals(ui, lang, rt, report);
    ui.add_space(space::GAP);

    // At a glance first: takings by hour and the last 30 days side by side, then the tables.
    let gaps = space::SECTION + 2.0 * ui.spacing().item_spacing.x;
    let half = ((ui.available_width() - gaps) / 2.0).max(300.0);
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(half);
            ui.label(RichText::new(rt.by_hour).size(size::BODY).strong());
            hour_chart(ui, report, half);
        });
        ui.add_space(space::SECTION);
        ui.vertical(|ui| {
            ui.set_width(half);
            ui.label(RichText::new(rt.last_days).size(size::BODY).strong());
            days_chart(ui, report.day, days, half);
        });
    });
    ui.add_space(space::GAP);
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(half);
            ui.label(RichText::new(rt.by_cashier).size(size::BODY).strong());
            groups(ui, rt, "by_cashier", rt.col_cashier, &report.by_cashier);
        });
        ui.add_space(space::SECTION);
        ui.vertical(|ui| {
            ui.set_width(half);
            ui.label(RichText::new(rt.by_station).size(size::BODY).strong());
            groups(ui, rt, "by_station", rt.col_station, &report.by_station);
        });
    });
}

/// The day's figures, large, then the reconciliation in words.
fn totals(ui: &mut egui::Ui, lang: Lang, rt: &ReportTexts, report: &DayReport) {
    let s = &report.sums;
    let fee = report
        .reconciliation
        .as_ref()
        .map(|r| format!("¥{}", fee_short(r.fee_e5)));
    ui.horizontal_wrapped(|ui| {
        figure(
            ui,
            rt.received,
            &s.received.to_string(),
            &lang.orders_count(report.paid_orders),
            colour::PAID,
        );
        figure(
            ui,
            rt.refunds,
            &s.refunded.to_string(),
            &lang.orders_count(report.refunds),
            colour::ERROR,
        );
        figure(ui, rt.net, &s.net_label(), "", egui::Color32::PLACEHOLDER);
        figure(
            ui,
            rt.wechat_fee,
            fee.as_deref().unwrap_or("—"),
            if fee.is_some() { "" } else { rt.fee_unknown },
            colour::MUTED,
        );
    });
    let state = Reconciled::of(report.reconciliation.as_ref());
    let colour = match state {
        Reconciled::Matched { .. } | Reconciled::NoBill => colour::PAID,
        Reconciled::Differences { unexplained: 0, .. } => colour::NOTICE_FG,
        Reconciled::Differences { .. } => colour::ERROR,
        Reconciled::NotRun => colour::MUTED,
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(
            RichText::new(format!("{}: {}", rt.reconciliation, lang.reconciled(state)))
                .size(size::BODY)
                .color(colour),
        );
        ui.add_space(space::SECTION);
        // Orders by status, in one line of coloured words.
        ui.label(RichText::new(format!("{}:", rt.by_status)).color(colour::MUTED));
        if report.by_status.is_empty() {
            ui.label(RichText::new(rt.no_orders).color(colour::MUTED));
        }
        for l in &report.by_status {
            ui.label(
                RichText::new(format!(
                    "{} {} ({})",
                    lang.status_short(l.status),
                    lang.orders_count(l.orders),
                    l.amount
                ))
                .color(status_colour(l.status)),
            );
        }
    });
}

/// One figure: its name small, the amount large, a note under it.
fn figure(ui: &mut egui::Ui, name: &str, amount: &str, note: &str, colour: egui::Color32) {
    egui::Frame::group(ui.style())
        .inner_margin(12.0)
        .show(ui, |ui| {
            ui.set_min_width(190.0);
            ui.vertical(|ui| {
                ui.label(RichText::new(name).color(colour::MUTED).size(size::BODY));
                let text = RichText::new(amount).size(size::STATUS).strong();
                ui.label(if colour == egui::Color32::PLACEHOLDER {
                    text
                } else {
                    text.color(colour)
                });
                ui.label(RichText::new(note).color(colour::MUTED));
            });
        });
}

/// A cashier or station table: name, paid orders, received, refunded, net.
fn groups(ui: &mut egui::Ui, rt: &ReportTexts, id: &str, who: &str, lines: &[GroupLine]) {
    if lines.is_empty() {
        ui.label(RichText::new(rt.no_orders).color(colour::MUTED));
        return;
    }
    egui::Grid::new(id)
        .striped(true)
        .num_columns(5)
        .spacing(egui::vec2(20.0, 6.0))
        .show(ui, |ui| {
            for c in [
                who,
                rt.col_paid_orders,
                rt.col_received,
                rt.col_refunded,
                rt.col_net,
            ] {
                ui.label(RichText::new(c).color(colour::MUTED));
            }
            ui.end_row();
            for g in lines {
                ui.label(if g.name.is_empty() {
                    rt.nobody
                } else {
                    &g.name
                });
                ui.label(g.paid_orders.to_string());
                ui.label(g.sums.received.to_string());
                ui.label(g.sums.refunded.to_string());
                ui.label(RichText::new(g.sums.net_label()).strong());
                ui.end_row();
            }
        });
}

/// A chart that only shows: no zoom, drag, scroll or box zoom, so it never moves by itself.
fn still_plot(id: &'static str, width: f32) -> Plot<'static> {
    Plot::new(id)
        .width(width)
        .height(170.0)
        // Wide enough for the labels from the first frame: this screen draws no frames of its own to let
        // the axis settle.
        .y_axis_min_width(44.0)
        .y_grid_spacer(yuan_steps)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .show_grid([false, true])
        .include_y(0.0)
        .set_margin_fraction(egui::vec2(0.02, 0.1))
}

/// About four lines across the amounts, at 1, 2 or 5 × a power of ten: far enough apart for their labels
/// (the default powers of ten alone leave a day of ¥60 with a line every ¥10, too close to label).
fn yuan_steps(input: GridInput) -> Vec<GridMark> {
    let (min, max) = input.bounds;
    let raw = ((max - min) / 4.0).max(0.01);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    every(step, min, max)
}

/// Lines every `step` between `min` and `max`.
fn every(step: f64, min: f64, max: f64) -> Vec<GridMark> {
    let (first, last) = ((min / step).ceil() as i64, (max / step).floor() as i64);
    (first..=last)
        .map(|i| GridMark {
            value: i as f64 * step,
            step_size: step,
        })
        .collect()
}

/// Net takings per clock hour, in the business day's order (from its start hour), every hour present.
fn hour_chart(ui: &mut egui::Ui, report: &DayReport, width: f32) {
    let start = report.day_start_hour;
    let bars: Vec<Bar> = (0..24u8)
        .map(|i| {
            let hour = (start + i) % 24;
            let net = report
                .hourly
                .iter()
                .find(|h| h.hour == hour)
                .map_or(0, |h| h.sums.net_fen());
            Bar::new(f64::from(i), bar_yuan(net))
                .width(0.8)
                .fill(colour::CHARGE)
                .name(format!("{hour:02}:00  {}", signed(net)))
        })
        .collect();
    let chart = BarChart::new("hours", bars).color(colour::CHARGE);
    still_plot("day_report_hours", width)
        .x_axis_formatter(move |mark, _| {
            let i = mark.value.round();
            if (0.0..24.0).contains(&i) && (mark.value - i).abs() < 1e-6 {
                format!("{:02}", (u32::from(start) + i as u32) % 24)
            } else {
                String::new()
            }
        })
        .x_grid_spacer(|i| every(3.0, i.bounds.0, i.bounds.1))
        .include_x(-0.5)
        .include_x(23.5)
        .show(ui, |p| p.bar_chart(chart));
}

/// Net takings of the last 30 days, the report's day last and highlighted.
fn days_chart(ui: &mut egui::Ui, day: NaiveDate, days: &[DailyTotal], width: f32) {
    let bars: Vec<Bar> = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let net = d.sums.net_fen();
            let bar = Bar::new(i as f64, bar_yuan(net)).width(0.8).name(format!(
                "{}  {}",
                d.day.format("%m-%d"),
                signed(net)
            ));
            if d.day == day {
                bar.fill(colour::PAID)
            } else {
                bar.fill(colour::MUTED)
            }
        })
        .collect();
    let labels: Vec<String> = days
        .iter()
        .map(|d| d.day.format("%m-%d").to_string())
        .collect();
    let n = labels.len();
    let last = n.saturating_sub(1) as f64;
    let chart = BarChart::new("days", bars).color(colour::MUTED);
    still_plot("day_report_days", width)
        .x_axis_formatter(move |mark, _| {
            let i = mark.value.round();
            if i >= 0.0 && (i as usize) < n && (mark.value - i).abs() < 1e-6 {
                labels[i as usize].clone()
            } else {
                String::new()
            }
        })
        // Every fifth day, counted back from the report's day (the last bar).
        .x_grid_spacer(move |i| {
            every(5.0, i.bounds.0 - last, i.bounds.1 - last)
                .into_iter()
                .map(|m| GridMark {
                    value: m.value + last,
                    ..m
                })
                .collect()
        })
        .include_x(-0.5)
        .include_x(n as f64 - 0.5)
        .show(ui, |p| p.bar_chart(chart));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fee_shows_the_decimals_it_needs() {
        assert_eq!(fee_short(41_000), "0.41");
        assert_eq!(fee_short(600), "0.006");
        assert_eq!(fee_short(0), "0.00");
        assert_eq!(fee_short(1_234_567), "12.34567");
        assert_eq!(fee_short(-3_000), "-0.03");
        assert_eq!(signed(-300), "-¥3.00");
    }
}
