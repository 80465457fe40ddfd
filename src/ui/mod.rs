//! The cashier window (eframe/egui): ring up a sale, show the payment QR with a live countdown, history and refunds,
//! export.
//!
//! This layer draws and takes input, nothing else. It never touches the network or SQLite. Screens draw from
//! read-only state and push [`UiCommand`]s; one reducer (`reduce`) applies them and is the only writer of the
//! window's state ([`state`]); requests to the engine run as intents on the tokio runtime ([`effects`]), and
//! answers and engine events come back over a channel. [`app`] ties one frame together. Texts live in
//! [`i18n`], colours and sizes in [`theme`].
//! It is not where order states are decided (the ledger's state machine) or where money is parsed
//! ([`crate::money`]).

pub mod app;
pub mod command;
pub mod customer;
pub mod day_report;
pub mod effects;
pub mod history;
pub mod i18n;
pub mod i18n_report;
pub mod layout;
pub mod payment;
pub mod printing;
pub mod qr;
mod reduce;
pub mod refund;
mod repaint;
pub mod sale;
mod screens;
mod shift;
mod startup_error;
pub mod state;
pub mod theme;

pub use crate::app::window::Backend;
pub use app::PaydeskApp;
pub use command::UiCommand;
pub use effects::Intent;
pub use i18n::Lang;
pub use state::{Prefs, Screen};

use std::sync::Arc;

use crate::clock::SystemClock;

/// "PayDesk 收银台 — store".
pub(crate) fn window_title(lang: Lang, store_name: &str) -> String {
    let app = lang.t().app_title;
    if store_name.is_empty() {
        app.to_owned()
    } else {
        format!("{app} — {store_name}")
    }
}

/// Open the window over `backend` and run until it is closed. `rt` runs every background task.
pub fn run_window(backend: Arc<dyn Backend>, rt: &tokio::runtime::Runtime) -> Result<(), String> {
    let info = backend.info();
    let title = window_title(Lang::from_code(&info.language), &info.store_name);
    let mut viewport = eframe::egui::ViewportBuilder::default();
    let start = backend.counter().window_start;
    match start {
        crate::app::window::WindowStart::Normal => {}
        crate::app::window::WindowStart::Maximized => viewport = viewport.with_maximized(true),
        crate::app::window::WindowStart::Fullscreen => viewport = viewport.with_fullscreen(true),
    }
    let options = eframe::NativeOptions {
        viewport: viewport
            .with_title(title)
            .with_app_id("paydesk")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([800.0, 560.0])
            .with_icon(eframe::egui::IconData {
                rgba: include_bytes!("../../assets/icon-64.rgba").to_vec(),
                width: 64,
                height: 64,
            }),
        renderer: eframe::Renderer::Glow,
        // Dithering adds work to every pixel of every frame; flat colours do not need it.
        dithering: false,
        // The saved size and position, unless the configuration asks for maximized or full screen: a
        // restored window would override that.
        persist_window: start == crate::app::window::WindowStart::Normal,
        ..Default::default()
    };
    let handle = rt.handle().clone();
    eframe::run_native(
        "paydesk",
        options,
        Box::new(move |cc| {
            Ok(Box::new(PaydeskApp::from_creation_context(
                cc,
                backend,
                handle,
                Arc::new(SystemClock),
            )))
        }),
    )
    .map_err(|e| format!("the window could not be opened: {e}"))
}

/// When `paydesk` started opening the window ([`run`]), for the "first frame" log line.
pub(crate) static LAUNCHED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// `paydesk` and `paydesk gui`: start from the configuration file and open the window until it is closed.
/// Failures are logged (stderr and the log file) before they are returned.
pub fn run() -> Result<(), String> {
    LAUNCHED.get_or_init(std::time::Instant::now);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("paydesk-rt")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let app = match rt.block_on(crate::app::start()) {
        Ok(app) => app,
        Err(e) => {
            let message = format!("cannot start the payment engine: {e}");
            tracing::error!("{message}");
            // Opened from the desktop menu there is no terminal: say it in a window too.
            startup_error::show(&message);
            return Err(message);
        }
    };
    let result = run_window(Arc::new(app.clone()), &rt);
    if let Err(e) = &result {
        tracing::error!("{e}");
    }
    // Stop the watchers and the embedded sandbox; unfinished orders are reconciled at the next start.
    rt.block_on(app.shutdown());
    result
}
