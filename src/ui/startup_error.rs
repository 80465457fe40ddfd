//! The window shown when PayDesk cannot start (a broken configuration, a damaged ledger, a busy port): a person
//! who opened PayDesk from the desktop menu has no terminal to read stderr in.

use eframe::egui;

use super::theme;

/// What went wrong, in both languages, and where to look.
struct StartupError {
    message: String,
}

impl eframe::App for StartupError {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        egui::CentralPanel::default().show(ui, |ui| {
            ui.add_space(theme::space::SECTION);
            ui.label(
                egui::RichText::new("PayDesk 无法启动 / PayDesk cannot start")
                    .size(theme::size::HEADING)
                    .color(theme::colour::ERROR),
            );
            ui.add_space(theme::space::GAP);
            egui::ScrollArea::vertical().max_height(ui.available_height() - 80.0).show(ui, |ui| {
                ui.label(egui::RichText::new(&self.message).size(theme::size::BODY).monospace());
            });
            ui.add_space(theme::space::GAP);
            ui.label(
                "没有收款，也没有丢失任何订单。请修正上面的问题后重新打开。\n\
                 Nothing was charged and no order was lost. Fix the problem above, then open PayDesk again \
                 (`paydesk config check` checks the configuration).",
            );
            ui.add_space(theme::space::GAP);
            if ui.button(egui::RichText::new("退出 / Quit").size(theme::size::BUTTON)).clicked() {
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            }
        });
    }
}

/// Show `message` in a small window until it is closed. Errors opening the window are ignored: the message
/// was already written to stderr and the log.
pub fn show(message: &str) {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("PayDesk")
            .with_app_id("paydesk")
            .with_inner_size([760.0, 420.0]),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    let message = message.to_string();
    let _ = eframe::run_native(
        "paydesk-startup-error",
        options,
        Box::new(move |cc| {
            cc.egui_ctx.set_fonts(theme::font_definitions());
            cc.egui_ctx.set_visuals(egui::Visuals::light());
            Ok(Box::new(StartupError { message }))
        }),
    );
}
