//! The application object: saved preferences, live state, intents out, results in.
//!
//! Screens never call the engine. They push an [`Intent`]; at the end of the frame [`PaydeskApp`] spawns each
//! one on the tokio runtime, and the result comes back as a message on a channel, followed by
//! `request_repaint`. Engine events arrive the same way. [`eframe::App::logic`] applies messages; drawing
//! only reads state and pushes intents.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use chrono::{DateTime, Local, NaiveDate, Utc};
use eframe::egui;
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;
use tokio::sync::broadcast;

use super::backend::{Backend, HistoryRow, OrderDetail, StationInfo};
use super::i18n::Lang;
use super::qr::QrView;
use super::sale::SaleState;
use super::theme;
use crate::clock::SharedClock;
use crate::engine::{Cart, CustomerAction, EngineEvent, OrderView};
use crate::ledger::state::OrderStatus;

/// How long the paid view stays before the window goes back to a new sale by itself.
pub const PAID_VIEW_SECONDS: i64 = 6;

/// Saved between runs in eframe's storage: only UI preferences, never business data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    /// Bumped when the shape changes, so old saves can be migrated or dropped.
    pub version: u32,
    pub lang: Lang,
}

impl Prefs {
    pub const VERSION: u32 = 1;
    pub const KEY: &'static str = "paydesk-ui-prefs";
}

impl Default for Prefs {
    fn default() -> Self {
        Prefs {
            version: Prefs::VERSION,
            lang: Lang::Zh,
        }
    }
}

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
}

/// A result or an event coming back to the UI thread.
#[derive(Debug)]
pub(crate) enum Msg {
    Charged(Result<OrderView, String>),
    Event(EngineEvent),
    CancelDone(String, Result<(), String>),
    SimulateDone(Result<(), String>),
    History(NaiveDate, Result<Vec<HistoryRow>, String>),
    Detail(String, Result<OrderDetail, String>),
    Exported(Result<(usize, PathBuf), String>),
    ExportCancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Sale,
    Payment,
    Paid,
    History,
    Export,
}

/// The order on screen.
pub struct PaymentState {
    pub order: OrderView,
    pub(crate) qr: Option<QrView>,
    pub(crate) qr_error: Option<String>,
    pub confirm_cancel: bool,
    pub cancel_sent: bool,
    pub error: Option<String>,
    pub paid_shown_at: Option<DateTime<Utc>>,
}

/// The history screen.
#[derive(Default)]
pub struct HistoryState {
    pub day: Option<NaiveDate>,
    pub day_text: String,
    pub day_error: bool,
    pub loading: bool,
    pub rows: Option<Result<Vec<HistoryRow>, String>>,
    pub selected: Option<String>,
    pub detail: Option<Result<OrderDetail, String>>,
}

/// The export screen.
#[derive(Default)]
pub struct ExportState {
    pub day_text: String,
    pub day_error: bool,
    pub busy: bool,
    pub cancelled: bool,
    pub result: Option<Result<(usize, PathBuf), String>>,
}

/// The cashier window.
pub struct PaydeskApp {
    pub(crate) prefs: Prefs,
    pub(crate) info: StationInfo,
    backend: Arc<dyn Backend>,
    rt: Handle,
    pub(crate) clock: SharedClock,
    ctx: egui::Context,
    tx: mpsc::Sender<Msg>,
    rx: mpsc::Receiver<Msg>,
    intents: Vec<Intent>,
    pub(crate) screen: Screen,
    pub(crate) sale: SaleState,
    pub(crate) payment: Option<PaymentState>,
    pub(crate) history: HistoryState,
    pub(crate) export: ExportState,
    /// Orders paid after they were given up: shown until the cashier dismisses them.
    pub(crate) alerts: Vec<OrderView>,
    /// Problems reported by the engine that are not tied to the order on screen.
    pub(crate) errors: Vec<String>,
    first_frame_logged: bool,
    started: std::time::Instant,
}

impl PaydeskApp {
    /// Make the window's state. `storage` holds the saved preferences, if any.
    pub fn new(
        ctx: &egui::Context,
        storage: Option<&dyn eframe::Storage>,
        backend: Arc<dyn Backend>,
        rt: Handle,
        clock: SharedClock,
    ) -> PaydeskApp {
        theme::install(ctx);
        let info = backend.info();
        let prefs = storage
            .and_then(|s| eframe::get_value::<Prefs>(s, Prefs::KEY))
            .filter(|p| p.version == Prefs::VERSION)
            .unwrap_or(Prefs {
                version: Prefs::VERSION,
                lang: Lang::from_code(&info.language),
            });
        let (tx, rx) = mpsc::channel();
        forward_events(&rt, backend.subscribe(), tx.clone(), ctx.clone());
        PaydeskApp {
            prefs,
            info,
            backend,
            rt,
            clock,
            ctx: ctx.clone(),
            tx,
            rx,
            intents: Vec::new(),
            screen: Screen::Sale,
            sale: SaleState::default(),
            payment: None,
            history: HistoryState::default(),
            export: ExportState::default(),
            alerts: Vec::new(),
            errors: Vec::new(),
            first_frame_logged: false,
            started: std::time::Instant::now(),
        }
    }

    /// For `eframe::run_native`.
    pub fn from_creation_context(
        cc: &eframe::CreationContext<'_>,
        backend: Arc<dyn Backend>,
        rt: Handle,
        clock: SharedClock,
    ) -> PaydeskApp {
        PaydeskApp::new(&cc.egui_ctx, cc.storage, backend, rt, clock)
    }

    // ---- read access, for tests and for the screens ----

    pub fn lang(&self) -> Lang {
        self.prefs.lang
    }
    pub fn set_lang(&mut self, lang: Lang) {
        self.prefs.lang = lang;
    }
    pub fn screen(&self) -> Screen {
        self.screen
    }
    pub fn cart(&self) -> &[crate::engine::CartLine] {
        &self.sale.lines
    }
    /// A Charge has been sent and its answer has not arrived.
    pub fn sale_is_charging(&self) -> bool {
        self.sale.charging
    }
    pub fn current_order(&self) -> Option<&OrderView> {
        self.payment.as_ref().map(|p| &p.order)
    }
    /// The exact text encoded in the QR code on screen.
    pub fn shown_qr_payload(&self) -> Option<&str> {
        self.payment
            .as_ref()?
            .qr
            .as_ref()
            .map(|q| q.matrix.payload.as_str())
    }
    pub fn history_state(&self) -> &HistoryState {
        &self.history
    }
    pub fn export_state(&self) -> &ExportState {
        &self.export
    }
    pub fn alerts(&self) -> &[OrderView] {
        &self.alerts
    }
    pub fn engine_errors(&self) -> &[String] {
        &self.errors
    }

    /// Ask for something to run off the UI thread (the screens use this; tests may too).
    pub fn request(&mut self, intent: Intent) {
        self.intents.push(intent);
    }

    /// Export a day to a given file, bypassing the save dialog.
    pub fn export_to(&mut self, day: NaiveDate, path: PathBuf) {
        self.export.busy = true;
        self.export.result = None;
        self.export.cancelled = false;
        self.request(Intent::ExportTo(day, path));
    }

    /// The business day that is running now.
    pub fn today(&self) -> NaiveDate {
        business_day(self.clock.now(), self.info.day_start_hour)
    }

    pub(crate) fn go(&mut self, screen: Screen) {
        if screen == self.screen {
            return;
        }
        self.screen = screen;
        match screen {
            Screen::History => {
                let day = self.history.day.unwrap_or_else(|| self.today());
                self.load_history(day);
            }
            Screen::Export => {
                if self.export.day_text.is_empty() {
                    self.export.day_text = self.today().to_string();
                }
            }
            Screen::Sale => self.sale.focus_name(),
            Screen::Payment | Screen::Paid => {}
        }
    }

    pub(crate) fn load_history(&mut self, day: NaiveDate) {
        self.history.day = Some(day);
        self.history.day_text = day.to_string();
        self.history.day_error = false;
        self.history.loading = true;
        self.history.selected = None;
        self.history.detail = None;
        self.request(Intent::LoadHistory(day));
    }

    /// Is an order still in the customer's hands? Then the cashier stays on it.
    pub(crate) fn order_in_progress(&self) -> bool {
        self.sale.charging
            || self
                .payment
                .as_ref()
                .is_some_and(|p| !p.order.status.is_final())
    }

    /// Back to an empty sale.
    pub(crate) fn new_sale(&mut self) {
        self.payment = None;
        self.sale.clear();
        self.screen = Screen::Sale;
        self.sale.focus_name();
    }

    // ---- messages in ----

    fn apply_messages(&mut self) {
        while let Ok(msg) = self.rx.try_recv() {
            self.apply(msg);
        }
    }

    fn apply(&mut self, msg: Msg) {
        match msg {
            Msg::Charged(Ok(view)) => {
                self.sale.charging = false;
                self.sale.charge_error = None;
                // An event for this order may have overtaken the answer: keep the newer of the two.
                let order = match self.sale.early_events.remove(&view.out_trade_no) {
                    Some(ev) => merge(view, ev),
                    None => view,
                };
                self.sale.early_events.clear();
                self.show_order(order);
            }
            Msg::Charged(Err(e)) => {
                self.sale.charging = false;
                self.sale.early_events.clear();
                self.sale.charge_error = Some(e);
            }
            Msg::Event(EngineEvent::Order(view)) => self.on_order_event(view),
            Msg::Event(EngineEvent::Error { message }) => {
                self.errors.push(message);
                if self.errors.len() > 3 {
                    self.errors.remove(0);
                }
            }
            Msg::CancelDone(no, result) => {
                if let Some(p) = self.payment.as_mut().filter(|p| p.order.out_trade_no == no) {
                    match result {
                        Ok(()) => p.error = None,
                        Err(e) => {
                            p.cancel_sent = false;
                            p.error = Some(format!("{}: {e}", self.prefs.lang.t().cancel_failed));
                        }
                    }
                }
            }
            Msg::SimulateDone(result) => {
                if let (Err(e), Some(p)) = (result, self.payment.as_mut()) {
                    p.error = Some(format!("{}: {e}", self.prefs.lang.t().simulate_failed));
                }
            }
            Msg::History(day, rows) => {
                if self.history.day == Some(day) {
                    self.history.loading = false;
                    self.history.rows = Some(rows);
                }
            }
            Msg::Detail(no, detail) => {
                if self.history.selected.as_deref() == Some(no.as_str()) {
                    self.history.detail = Some(detail);
                }
            }
            Msg::Exported(result) => {
                self.export.busy = false;
                self.export.result = Some(result);
            }
            Msg::ExportCancelled => {
                self.export.busy = false;
                self.export.cancelled = true;
            }
        }
    }

    fn on_order_event(&mut self, view: OrderView) {
        if view.status == OrderStatus::PaidAfterCancel
            && !self
                .alerts
                .iter()
                .any(|a| a.out_trade_no == view.out_trade_no)
        {
            self.alerts.push(view.clone());
        }
        // Keep the history list current when it shows the order.
        if let Some(Ok(rows)) = self.history.rows.as_mut()
            && let Some(row) = rows
                .iter_mut()
                .find(|r| r.out_trade_no == view.out_trade_no)
        {
            row.status = view.status;
            row.transaction_id.clone_from(&view.transaction_id);
        }
        match self.payment.as_mut() {
            Some(p) if p.order.out_trade_no == view.out_trade_no => {
                let order = merge(p.order.clone(), view);
                self.show_order(order);
            }
            _ if self.sale.charging => {
                // The answer to Charge has not arrived yet: keep the event for it.
                let merged = match self.sale.early_events.remove(&view.out_trade_no) {
                    Some(old) => merge(old, view),
                    None => view,
                };
                self.sale
                    .early_events
                    .insert(merged.out_trade_no.clone(), merged);
            }
            _ => {}
        }
    }

    /// Put `order` on screen (a new order, or a newer view of the one shown).
    fn show_order(&mut self, order: OrderView) {
        let same = self
            .payment
            .as_ref()
            .is_some_and(|p| p.order.out_trade_no == order.out_trade_no);
        if !same {
            self.payment = Some(PaymentState {
                order: order.clone(),
                qr: None,
                qr_error: None,
                confirm_cancel: false,
                cancel_sent: false,
                error: None,
                paid_shown_at: None,
            });
        }
        // A late change to an order the cashier already left (say, paid after cancel while they look at the
        // history) updates it and raises the alert, but does not pull them off the screen they are on.
        let follow = !same || matches!(self.screen, Screen::Payment | Screen::Paid);
        let now = self.clock.now();
        let Some(p) = self.payment.as_mut() else {
            return;
        };
        p.order = order;
        let wanted = p.order.code_url.as_deref();
        if wanted.is_some() && p.qr.as_ref().map(|q| q.matrix.payload.as_str()) != wanted {
            match QrView::new(&self.ctx, wanted.unwrap_or_default()) {
                Ok(q) => {
                    p.qr = Some(q);
                    p.qr_error = None;
                }
                Err(e) => p.qr_error = Some(e),
            }
        }
        match p.order.status {
            OrderStatus::Paid => {
                if p.paid_shown_at.is_none() {
                    p.paid_shown_at = Some(now);
                }
                p.confirm_cancel = false;
                if follow {
                    self.screen = Screen::Paid;
                }
            }
            _ => {
                if p.order.status.is_final() {
                    p.confirm_cancel = false;
                }
                if follow {
                    self.screen = Screen::Payment;
                }
            }
        }
    }

    // ---- intents out ----

    fn dispatch(&mut self) {
        for intent in std::mem::take(&mut self.intents) {
            self.spawn(intent);
        }
    }

    fn spawn(&mut self, intent: Intent) {
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
                self.sale.charging = true;
                self.sale.charge_error = None;
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
            Intent::ExportWithDialog(day) => {
                let t = self.prefs.lang.t();
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

    /// Ask for the next repaint only when something on screen changes by itself: the countdown and the
    /// paid view's automatic return. Everything else repaints on input or on a message.
    fn schedule_repaint(&self, ctx: &egui::Context) {
        let ticking = match (self.screen, self.payment.as_ref()) {
            (Screen::Payment, Some(p)) => super::payment::payable(p.order.status),
            (Screen::Paid, Some(_)) => true,
            _ => false,
        };
        if ticking {
            // Wake at the next whole second of the countdown, not later than one second from now.
            let ms = self
                .payment
                .as_ref()
                .map(|p| (p.order.expires_at - self.clock.now()).num_milliseconds())
                .unwrap_or(1000);
            let until_tick = if ms > 0 { ms % 1000 } else { 1000 };
            let wait = if until_tick == 0 { 1000 } else { until_tick };
            ctx.request_repaint_after(Duration::from_millis(wait.clamp(50, 1000) as u64));
        }
    }
}

/// The business day that `at` belongs to, when days start at `day_start_hour` local time.
pub fn business_day(at: DateTime<Utc>, day_start_hour: u8) -> NaiveDate {
    let local = at.with_timezone(&Local);
    (local - chrono::Duration::hours(i64::from(day_start_hour))).date_naive()
}

/// `mm:ss` left until `expires_at` (never negative; minutes can pass 59).
pub fn countdown_text(now: DateTime<Utc>, expires_at: DateTime<Utc>) -> String {
    let left = (expires_at - now).num_seconds().max(0);
    format!("{:02}:{:02}", left / 60, left % 60)
}

fn rank(s: OrderStatus) -> u8 {
    match s {
        OrderStatus::Creating => 0,
        OrderStatus::Open => 1,
        OrderStatus::UserPaying => 2,
        OrderStatus::Closing => 3,
        _ => 4,
    }
}

/// Two views of one order: keep the one further along, and never lose the code_url.
fn merge(old: OrderView, new: OrderView) -> OrderView {
    let mut out = if rank(new.status) >= rank(old.status) {
        new
    } else {
        old.clone()
    };
    if out.code_url.is_none() {
        out.code_url = old.code_url;
    }
    out
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

impl eframe::App for PaydeskApp {
    /// The window's background is cleared to the panel colour, so the central panel needs no fill of its own.
    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        visuals.panel_fill.to_normalized_gamma_f32()
    }

    fn logic(&mut self, _ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.apply_messages();
        // The paid view goes back to a new sale by itself.
        if self.screen == Screen::Paid
            && let Some(at) = self.payment.as_ref().and_then(|p| p.paid_shown_at)
            && (self.clock.now() - at).num_seconds() >= PAID_VIEW_SECONDS
        {
            self.new_sale();
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        super::screens::draw(self, ui);
        self.dispatch();
        self.schedule_repaint(ui.ctx());
        if !self.first_frame_logged {
            self.first_frame_logged = true;
            // The title was made before the saved language was known.
            ui.ctx()
                .send_viewport_cmd(egui::ViewportCommand::Title(super::window_title(
                    self.prefs.lang,
                    &self.info.store_name,
                )));
            let since_launch = super::LAUNCHED.get().map(|t| t.elapsed().as_millis());
            tracing::info!(
                since_launch_ms = ?since_launch,
                since_app_ms = self.started.elapsed().as_millis(),
                "first frame laid out"
            );
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, Prefs::KEY, &self.prefs);
    }

    fn persist_egui_memory(&self) -> bool {
        false
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

    #[test]
    fn merge_keeps_the_later_status_and_the_code_url() {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let open = OrderView {
            out_trade_no: "A".into(),
            total: crate::money::Fen::new(100).unwrap(),
            status: OrderStatus::Open,
            code_url: Some("weixin://x".into()),
            created_at: t,
            expires_at: t,
            transaction_id: None,
            paid_at: None,
            notice: None,
        };
        let paid = OrderView {
            status: OrderStatus::Paid,
            code_url: None,
            ..open.clone()
        };
        let m = merge(open.clone(), paid.clone());
        assert_eq!(m.status, OrderStatus::Paid);
        assert_eq!(m.code_url.as_deref(), Some("weixin://x"));
        assert_eq!(merge(paid, open).status, OrderStatus::Paid);
    }
}
