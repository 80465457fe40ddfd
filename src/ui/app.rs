//! The application object: eframe's [`eframe::App`] over the window's state.
//!
//! One frame: [`eframe::App::logic`] applies the commands the screens pushed in the last frame, then the
//! messages that came back from the runtime, then the paid view's timeout, all through `reduce`, and
//! starts the intents the reducer decided on ([`super::effects`]). [`eframe::App::ui`] only draws and collects
//! commands (`screens`), then asks for the next frame as `repaint` says. Nothing here decides
//! what a command does.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;
use eframe::egui;
use tokio::runtime::Handle;

use super::command::UiCommand;
use super::effects::Effects;
use super::i18n::Lang;
use super::reduce::Reducer;
use super::screens::{self, ScreenCtx};
use super::state::{ExportState, Fields, HistoryState, Prefs, Screen, ShiftState, UiState};
use crate::app::window::{Backend, CounterInfo, RefundInfo, StationInfo, WindowStart};
use crate::app::window::{CartLine, OrderView};
use crate::clock::SharedClock;

/// The widest glyph atlas egui may make (see `raw_input_hook`): every OpenGL takes 2048.
const FONT_ATLAS_WIDTH: usize = 2048;

/// The cashier window.
pub struct PaydeskApp {
    prefs: Prefs,
    info: StationInfo,
    counter: CounterInfo,
    refund_info: RefundInfo,
    clock: SharedClock,
    ctx: egui::Context,
    effects: Effects,
    state: UiState,
    fields: Fields,
    /// Pushed by the screens while they draw, applied at the start of the next frame.
    commands: Vec<UiCommand>,
    /// The customer-facing window, when configured.
    customer: Option<super::customer::CustomerDisplay>,
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
        super::theme::install(ctx);
        let info = backend.info();
        let counter = backend.counter();
        let refund_info = backend.refund_info();
        let backend_sign_in = backend.sign_in_info();
        let prefs = Prefs::load(storage, Lang::from_code(&info.language));
        let customer = counter.customer_display.map(|monitor| {
            let first = super::customer::CustomerView::of(
                &UiState::default(),
                &info.store_name,
                prefs.lang,
            );
            super::customer::CustomerDisplay::new(monitor, clock.clone(), first)
        });
        PaydeskApp {
            prefs,
            info,
            counter,
            refund_info,
            clock,
            ctx: ctx.clone(),
            effects: Effects::start(backend, rt, ctx.clone()),
            state: UiState {
                fullscreen: counter.window_start == WindowStart::Fullscreen,
                shift: ShiftState {
                    info: backend_sign_in,
                    ..ShiftState::default()
                },
                ..UiState::default()
            },
            fields: Fields::default(),
            // The first frame signs in (or resumes the open shift, or asks) before it draws.
            commands: vec![UiCommand::StartShift],
            customer,
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

    // ---- read access, for tests ----

    pub fn lang(&self) -> Lang {
        self.prefs.lang
    }
    pub fn screen(&self) -> Screen {
        self.state.screen
    }
    pub fn cart(&self) -> &[CartLine] {
        &self.state.sale.lines
    }
    /// A Charge has been sent and its answer has not arrived.
    pub fn sale_is_charging(&self) -> bool {
        self.state.sale.charging
    }
    pub fn current_order(&self) -> Option<&OrderView> {
        self.state.payment.as_ref().map(|p| &p.order)
    }
    /// The exact text encoded in the QR code on screen.
    pub fn shown_qr_payload(&self) -> Option<&str> {
        self.state
            .payment
            .as_ref()?
            .qr
            .as_ref()
            .map(|q| q.matrix.payload.as_str())
    }
    pub fn history_state(&self) -> &HistoryState {
        &self.state.history
    }
    /// The day report screen's state (日结).
    pub fn day_report_state(&self) -> &super::state::DayReportState {
        &self.state.day_report
    }
    pub fn export_state(&self) -> &ExportState {
        &self.state.export
    }
    /// The text in the export screen's day field.
    pub fn export_day_text(&self) -> &str {
        &self.fields.export_day.text
    }
    pub fn alerts(&self) -> &[OrderView] {
        &self.state.alerts
    }
    pub fn engine_errors(&self) -> &[String] {
        &self.state.errors
    }
    /// Who is signed in (`None`: the sign-in screen).
    pub fn signed_in_cashier(&self) -> Option<&str> {
        self.state.shift.cashier.as_deref()
    }
    /// The sign-in screen's PIN field, for tests that type into it.
    pub fn sign_in_pin_mut(&mut self) -> &mut String {
        &mut self.fields.sign_in_pin
    }
    /// The refund form's text fields (amount, reason, PIN), for tests that type into them.
    pub fn refund_fields_mut(&mut self) -> &mut super::refund::RefundFields {
        &mut self.fields.refund
    }

    /// The business day that is running now.
    pub fn today(&self) -> NaiveDate {
        crate::calendar::business_day(self.clock.now(), self.info.day_start_hour)
    }

    // ---- commands ----

    /// Queue a command as a screen would; it is applied at the start of the next frame.
    pub fn send(&mut self, cmd: UiCommand) {
        self.commands.push(cmd);
        self.ctx.request_repaint();
    }

    /// Export a day to a given file, bypassing the save dialog.
    pub fn export_to(&mut self, day: NaiveDate, path: PathBuf) {
        self.send(UiCommand::ExportTo(day, path));
    }

    /// Apply the queued commands, then the runtime's messages, then the paid view's timeout; start the
    /// intents that follow. Commands go first: they were pushed before those messages were read.
    fn apply_pending(&mut self) {
        let lang_before = self.prefs.lang;
        let mut r = Reducer {
            prefs: &mut self.prefs,
            ui: &mut self.state,
            fields: &mut self.fields,
            info: &self.info,
            counter: &self.counter,
            now: self.clock.now(),
            ctx: &self.ctx,
            intents: Vec::new(),
        };
        for cmd in std::mem::take(&mut self.commands) {
            r.command(cmd);
        }
        for msg in self.effects.received() {
            r.message(msg);
        }
        r.tick();
        let intents = r.intents;
        for intent in intents {
            self.effects.run(intent, self.prefs.lang);
        }
        if self.prefs.lang != lang_before {
            self.set_title();
        }
    }

    /// "PayDesk 收银台 — store" in the window's language.
    fn set_title(&self) {
        let title = super::window_title(self.prefs.lang, &self.info.store_name);
        self.ctx
            .send_viewport_cmd(egui::ViewportCommand::Title(title));
    }
}

impl eframe::App for PaydeskApp {
    /// The window's background is cleared to the panel colour, so the central panel needs no fill of its own.
    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        visuals.panel_fill.to_normalized_gamma_f32()
    }

    fn logic(&mut self, _ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.apply_pending();
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let now = self.clock.now();
        let cx = ScreenCtx {
            lang: self.prefs.lang,
            t: self.prefs.lang.t(),
            info: &self.info,
            counter: &self.counter,
            refund_info: &self.refund_info,
            now,
            today: crate::calendar::business_day(now, self.info.day_start_hour),
            state: &self.state,
        };
        if ui.input(|i| i.key_pressed(egui::Key::F11)) {
            self.commands.push(UiCommand::ToggleFullscreen);
        }
        if !self.first_frame_logged {
            super::theme::warm_big_glyphs(ui.ctx());
        }
        screens::draw(ui, &cx, &mut self.fields, &mut self.commands);
        if let Some(c) = self.customer.as_mut() {
            let view = super::customer::CustomerView::of(
                &self.state,
                &self.info.store_name,
                self.prefs.lang,
            );
            c.show(ui.ctx(), view);
        }
        if !self.commands.is_empty() {
            // What was asked for shows in the next frame, which applies it.
            ui.ctx().request_repaint();
        }
        if let Some(wait) = super::repaint::next_tick(&self.state, now) {
            ui.ctx().request_repaint_after(wait);
        }
        if !self.first_frame_logged {
            self.first_frame_logged = true;
            // The title was made before the saved language was known.
            self.set_title();
            let since_launch = super::LAUNCHED.get().map(|t| t.elapsed().as_millis());
            tracing::info!(
                since_launch_ms = ?since_launch,
                since_app_ms = self.started.elapsed().as_millis(),
                "first frame laid out"
            );
        }
    }

    /// egui makes its glyph atlas as wide as the largest texture the OpenGL driver takes (16384 with Mesa's
    /// software renderer): 16384×64 pixels, 4 MB, mostly empty and held twice (egui's copy and the GL
    /// texture). 2048 wide, it holds the same glyphs in a quarter of that and grows taller when needed.
    fn raw_input_hook(&mut self, _ctx: &egui::Context, raw: &mut egui::RawInput) {
        raw.max_texture_side = raw.max_texture_side.map(|side| side.min(FONT_ATLAS_WIDTH));
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, Prefs::KEY, &self.prefs);
    }

    fn persist_egui_memory(&self) -> bool {
        false
    }
}
