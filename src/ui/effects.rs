//! Work off the UI thread: each [`Intent`] runs as a task on the tokio runtime through the [`Backend`], and its
//! answer comes back as a `Msg` on a channel, followed by `request_repaint`. Engine events come back the same
//! way.
//!
//! This module holds no window state and decides nothing: the reducer chooses the intents and applies the
//! messages.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;

use chrono::NaiveDate;
use eframe::egui;
use tokio::runtime::Handle;
use tokio::sync::broadcast;

use super::i18n::Lang;
use crate::app::window::{Backend, OrderDetail, OrderSummary, PrintJob, Printed};
use crate::app::window::{Cart, CustomerAction, EngineEvent, OrderView};
use crate::app::window::{DailyTotal, DayReport, DaySums};
use crate::app::window::{OrderRefunds, RefundRequest, RefundView};
use crate::app::window::{ShiftError, ShiftSummary, ShiftView};

/// Something the cashier asked for that runs off the UI thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    Charge(Cart),
    Cancel(String),
    Simulate(String, CustomerAction),
    LoadHistory(NaiveDate),
    LoadDetail(String),
    /// Ask for a file with the save dialog, then export.
    ExportWithDialog(NaiveDate),
    /// Export to a known file (no dialog).
    ExportTo(NaiveDate, PathBuf),
    /// Send a job to the printer.
    Print(PrintJob),
    /// An order's refunds and what is left.
    LoadRefunds(String),
    /// A refund, with the PIN as typed (checked by the backend).
    Refund(RefundRequest),
    /// A day's report and the 30 days up to it.
    LoadDayReport(NaiveDate),
    /// Ask for a file with the save dialog, then write the day's report CSV.
    ExportDayReportWithDialog(NaiveDate),
    /// Write the day's report CSV to a known file (no dialog).
    ExportDayReportTo(NaiveDate, PathBuf),
    /// A day's received, refunded and net (the history's summary).
    LoadDaySums(NaiveDate),
    /// The station's open shift; with none, sign this cashier in (automatic sign-in).
    ResumeShift(Option<String>),
    /// Sign a cashier in with the PIN as typed (checked by the backend).
    SignIn(String, TypedPin),
    /// The open shift's summary, for the handover screen.
    LoadShiftSummary,
    /// Record the handover.
    HandOver,
}

/// A PIN as typed: its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct TypedPin(pub String);

impl std::fmt::Debug for TypedPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("****")
    }
}

/// A result or an event coming back to the UI thread.
#[derive(Debug)]
pub(crate) enum Msg {
    Charged(Result<OrderView, String>),
    Event(EngineEvent),
    CancelDone(String, Result<(), String>),
    SimulateDone(Result<(), String>),
    History(NaiveDate, Result<Vec<OrderSummary>, String>),
    Detail(String, Result<OrderDetail, String>),
    Exported(Result<(usize, PathBuf), String>),
    ExportCancelled,
    Printed(Result<Printed, String>),
    Refunds(String, Result<OrderRefunds, String>),
    Refunded(String, Result<RefundView, String>),
    DayReport(NaiveDate, Result<(DayReport, Vec<DailyTotal>), String>),
    DayReportExported(Result<PathBuf, String>),
    DayReportExportCancelled,
    DaySums(NaiveDate, Result<DaySums, String>),
    Resumed(Result<Option<ShiftView>, String>),
    SignedIn(Result<ShiftView, ShiftError>),
    ShiftSummary(Result<(ShiftView, ShiftSummary), String>),
    HandedOver(Result<ShiftSummary, ShiftError>),
}

/// The runtime, the backend and the channel back to the window.
pub(crate) struct Effects {
    backend: Arc<dyn Backend>,
    rt: Handle,
    ctx: egui::Context,
    tx: mpsc::Sender<Msg>,
    rx: mpsc::Receiver<Msg>,
}

impl Effects {
    /// Start forwarding the engine's events to the window.
    pub(crate) fn start(backend: Arc<dyn Backend>, rt: Handle, ctx: egui::Context) -> Effects {
        let (tx, rx) = mpsc::channel();
        forward_events(&rt, backend.subscribe(), tx.clone(), ctx.clone());
        Effects {
            backend,
            rt,
            ctx,
            tx,
            rx,
        }
    }

    /// The messages that arrived since the last call, oldest first.
    pub(crate) fn received(&self) -> Vec<Msg> {
        self.rx.try_iter().collect()
    }

    /// Start `intent` on the runtime. `lang` is for the save dialog's words.
    pub(crate) fn run(&self, intent: Intent, lang: Lang) {
        let backend = Arc::clone(&self.backend);
        let tx = self.tx.clone();
        let ctx = self.ctx.clone();
        let reply = move |msg: Msg| {
            // The window may be gone; then nobody needs the answer.
            let _ = tx.send(msg);
            ctx.request_repaint();
        };
        match intent {
            Intent::Charge(cart) => {
                self.rt.spawn(async move {
                    reply(Msg::Charged(backend.charge(cart).await));
                });
            }
            Intent::Cancel(no) => {
                self.rt.spawn(async move {
                    let r = backend.cancel(no.clone()).await;
                    reply(Msg::CancelDone(no, r));
                });
            }
            Intent::Simulate(no, action) => {
                self.rt.spawn(async move {
                    reply(Msg::SimulateDone(backend.simulate(no, action).await));
                });
            }
            Intent::LoadHistory(day) => {
                self.rt.spawn(async move {
                    reply(Msg::History(day, backend.orders_for_day(day).await));
                });
            }
            Intent::LoadDetail(no) => {
                self.rt.spawn(async move {
                    let d = backend.order_detail(no.clone()).await;
                    reply(Msg::Detail(no, d));
                });
            }
            Intent::ExportTo(day, path) => {
                self.rt.spawn(async move {
                    let r = backend.export_day(day, path.clone()).await;
                    reply(Msg::Exported(r.map(|n| (n, path))));
                });
            }
            Intent::Print(job) => {
                self.rt.spawn(async move {
                    reply(Msg::Printed(backend.print(job).await));
                });
            }
            Intent::LoadRefunds(no) => {
                self.rt.spawn(async move {
                    let r = backend.refunds_of(no.clone()).await;
                    reply(Msg::Refunds(no, r));
                });
            }
            Intent::Refund(req) => {
                self.rt.spawn(async move {
                    let no = req.out_trade_no.clone();
                    reply(Msg::Refunded(no, backend.refund(req).await));
                });
            }
            Intent::LoadDayReport(day) => {
                self.rt.spawn(async move {
                    reply(Msg::DayReport(day, backend.day_report(day).await));
                });
            }
            Intent::ExportDayReportTo(day, path) => {
                self.rt.spawn(async move {
                    let r = backend.export_day_report(day, path.clone()).await;
                    reply(Msg::DayReportExported(r.map(|()| path)));
                });
            }
            Intent::LoadDaySums(day) => {
                self.rt.spawn(async move {
                    reply(Msg::DaySums(day, backend.day_sums(day).await));
                });
            }
            Intent::ExportDayReportWithDialog(day) => {
                let title = lang.report().export_title.to_owned();
                let filter = lang.t().csv_filter.to_owned();
                self.rt.spawn(async move {
                    let picked = rfd::AsyncFileDialog::new()
                        .set_title(title)
                        .set_file_name(format!("paydesk-report-{}.csv", day.format("%Y-%m-%d")))
                        .add_filter(filter, &["csv"])
                        .save_file()
                        .await;
                    let Some(file) = picked else {
                        reply(Msg::DayReportExportCancelled);
                        return;
                    };
                    let path = file.path().to_path_buf();
                    let r = backend.export_day_report(day, path.clone()).await;
                    reply(Msg::DayReportExported(r.map(|()| path)));
                });
            }
            Intent::ResumeShift(automatic) => {
                self.rt.spawn(async move {
                    reply(Msg::Resumed(backend.resume_shift(automatic).await));
                });
            }
            Intent::SignIn(cashier, pin) => {
                self.rt.spawn(async move {
                    reply(Msg::SignedIn(backend.sign_in(cashier, pin.0).await));
                });
            }
            Intent::LoadShiftSummary => {
                self.rt.spawn(async move {
                    reply(Msg::ShiftSummary(backend.shift_summary().await));
                });
            }
            Intent::HandOver => {
                self.rt.spawn(async move {
                    reply(Msg::HandedOver(backend.hand_over().await));
                });
            }
            Intent::ExportWithDialog(day) => {
                let t = lang.t();
                let title = t.export_title.to_owned();
                let filter = t.csv_filter.to_owned();
                self.rt.spawn(async move {
                    let picked = rfd::AsyncFileDialog::new()
                        .set_title(title)
                        .set_file_name(format!("paydesk-{}.csv", day.format("%Y-%m-%d")))
                        .add_filter(filter, &["csv"])
                        .save_file()
                        .await;
                    let Some(file) = picked else {
                        reply(Msg::ExportCancelled);
                        return;
                    };
                    let path = file.path().to_path_buf();
                    let r = backend.export_day(day, path.clone()).await;
                    reply(Msg::Exported(r.map(|n| (n, path))));
                });
            }
        }
    }
}

fn forward_events(
    rt: &Handle,
    mut events: broadcast::Receiver<EngineEvent>,
    tx: mpsc::Sender<Msg>,
    ctx: egui::Context,
) {
    rt.spawn(async move {
        loop {
            match events.recv().await {
                Ok(ev) => {
                    if tx.send(Msg::Event(ev)).is_err() {
                        break;
                    }
                    ctx.request_repaint();
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("the window missed {n} engine events");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}
