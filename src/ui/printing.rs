//! Receipts, payment slips and the cash drawer as the window shows them: the printing state, the print
//! buttons and the printer's last answer.
//!
//! Buttons push [`UiCommand::Print`]; the reducer starts the job as an intent (a task through the
//! `Backend`), so the UI thread never waits on a printer, and a printer that is off or out of paper is
//! reported here while the sale goes on. Not here: building or sending jobs (`crate::app`).

use eframe::egui::{self, RichText};

use super::command::UiCommand;
use super::i18n::Lang;
use super::theme::colour;
use crate::app::window::{PrintJob, Printed};

/// The printer as the window last heard from it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PrintState {
    /// Jobs sent and not answered yet.
    pub busy: usize,
    /// The last answer: what was printed, or what to check.
    pub last: Option<Result<Printed, String>>,
}

fn tr(lang: Lang, zh: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// "打印小票 Print receipt" for a paid order.
pub(crate) fn receipt_button(
    ui: &mut egui::Ui,
    lang: Lang,
    out_trade_no: &str,
    out: &mut Vec<UiCommand>,
) {
    if ui.button(tr(lang, "打印小票", "Print receipt")).clicked() {
        out.push(UiCommand::Print(PrintJob::Paid {
            out_trade_no: out_trade_no.to_owned(),
            receipt: true,
            drawer: false,
        }));
    }
}

/// "打印付款码 Print payment slip" for an open order.
pub(crate) fn slip_button(
    ui: &mut egui::Ui,
    lang: Lang,
    out_trade_no: &str,
    out: &mut Vec<UiCommand>,
) {
    if ui
        .button(tr(lang, "打印付款码", "Print payment slip"))
        .clicked()
    {
        out.push(UiCommand::Print(PrintJob::PaymentSlip {
            out_trade_no: out_trade_no.to_owned(),
        }));
    }
}

/// The printer's last answer, in one line (nothing before the first job).
pub(crate) fn status_line(ui: &mut egui::Ui, lang: Lang, p: &PrintState) {
    if p.busy > 0 {
        ui.label(RichText::new(tr(lang, "正在打印…", "Printing…")).color(colour::MUTED));
        return;
    }
    match &p.last {
        None => {}
        Some(Ok(done)) if done.paper_low => {
            ui.label(
                RichText::new(tr(
                    lang,
                    "已打印。打印纸快用完了，请准备新纸卷。",
                    "Printed. The paper roll is nearly empty.",
                ))
                .color(colour::NOTICE_FG)
                .background_color(colour::NOTICE_BG),
            );
        }
        Some(Ok(_)) => {
            ui.label(RichText::new(tr(lang, "✓ 已打印", "✓ Printed")).color(colour::PAID));
        }
        Some(Err(e)) => {
            ui.add(
                egui::Label::new(
                    RichText::new(format!("{}: {e}", tr(lang, "打印失败", "Printing failed")))
                        .color(colour::ERROR),
                )
                .wrap(),
            );
        }
    }
}
