//! Design tokens of the cashier window: status colours, font sizes, spacing, and the embedded CJK font.
//!
//! Screens name these tokens instead of writing colours or sizes inline, so the look changes in one place.

use std::sync::Arc;

use eframe::egui::{self, Color32, FontData, FontDefinitions, FontFamily};

use crate::app::window::OrderStatus;

/// Noto Sans CJK SC, subset to GB2312 (see `assets/fonts/`): egui's own fonts have no Chinese glyphs.
pub const CJK_FONT: &[u8] = include_bytes!("../../assets/fonts/NotoSansSC-PayDesk.otf");
const CJK_FONT_NAME: &str = "NotoSansSC-PayDesk";

/// Font sizes (points). Money is large: the customer reads it from across the counter.
pub mod size {
    pub const BODY: f32 = 18.0;
    pub const BUTTON: f32 = 18.0;
    pub const HEADING: f32 = 26.0;
    pub const FIELD: f32 = 22.0;
    pub const TOTAL: f32 = 64.0;
    /// The sale total's size: the payment screen draws the amount with the glyphs the sale screen made.
    pub const PAY_AMOUNT: f32 = TOTAL;
    pub const COUNTDOWN: f32 = 48.0;
    pub const STATUS: f32 = 32.0;
    pub const PAID_TITLE: f32 = 64.0;
    pub const BANNER: f32 = 20.0;
    /// Height of the big buttons (Charge, Cancel, New sale).
    pub const BIG_BUTTON_HEIGHT: f32 = 52.0;
}

/// Colours.
pub mod colour {
    use eframe::egui::Color32;

    pub const ERROR: Color32 = Color32::from_rgb(0xD0, 0x21, 0x21);
    pub const SANDBOX_BG: Color32 = Color32::from_rgb(0xF5, 0xA6, 0x23);
    pub const SANDBOX_FG: Color32 = Color32::BLACK;
    pub const ALERT_BG: Color32 = Color32::from_rgb(0xB7, 0x1C, 0x1C);
    pub const ALERT_FG: Color32 = Color32::WHITE;
    pub const NOTICE_BG: Color32 = Color32::from_rgb(0xFF, 0xF3, 0xCD);
    pub const NOTICE_FG: Color32 = Color32::from_rgb(0x66, 0x4D, 0x03);
    pub const CHARGE: Color32 = Color32::from_rgb(0x07, 0xC1, 0x60);
    pub const CHARGE_TEXT: Color32 = Color32::WHITE;
    pub const PAID: Color32 = Color32::from_rgb(0x06, 0x9E, 0x4F);
    pub const MUTED: Color32 = Color32::from_rgb(0x66, 0x66, 0x66);
    pub const QR_DARK: Color32 = Color32::BLACK;
    pub const QR_LIGHT: Color32 = Color32::WHITE;
}

pub mod space {
    pub const GAP: f32 = 12.0;
    pub const SECTION: f32 = 24.0;
}

/// The colour of an order status, wherever it is shown.
pub fn status_colour(status: OrderStatus) -> Color32 {
    match status {
        OrderStatus::Creating | OrderStatus::Closing => Color32::from_rgb(0x55, 0x55, 0x55),
        OrderStatus::Open => Color32::from_rgb(0x15, 0x65, 0xC0),
        OrderStatus::UserPaying => Color32::from_rgb(0xE6, 0x7E, 0x00),
        OrderStatus::Paid => colour::PAID,
        OrderStatus::PaidAfterCancel => colour::ALERT_BG,
        OrderStatus::Failed => colour::ERROR,
        OrderStatus::Cancelled | OrderStatus::Expired => Color32::from_rgb(0x75, 0x75, 0x75),
        OrderStatus::Refunded => Color32::from_rgb(0x6A, 0x1B, 0x9A),
    }
}

/// Font definitions: egui's defaults with the CJK font as first fallback of both families.
pub fn font_definitions() -> FontDefinitions {
    let mut fonts = FontDefinitions::default();
    fonts.font_data.insert(
        CJK_FONT_NAME.to_owned(),
        Arc::new(FontData::from_static(CJK_FONT)),
    );
    for family in [FontFamily::Proportional, FontFamily::Monospace] {
        let list = fonts.families.entry(family).or_default();
        let at = usize::from(!list.is_empty());
        list.insert(at, CJK_FONT_NAME.to_owned());
    }
    fonts
}

/// Rasterize the big digits once, in the first frame: the sale total's and the payment amount's (one size,
/// so the payment screen reuses the sale screen's glyphs) and the countdown's. Side by side in the glyph
/// atlas's first rows, they never open a row of their own later: a new row of big glyphs is what doubles the
/// atlas (1 MB more in egui's copy and 1 MB in the GL texture at 2048 wide).
pub fn warm_big_glyphs(ctx: &egui::Context) {
    ctx.fonts_mut(|fonts| {
        let ink = Color32::BLACK;
        let big = egui::FontId::proportional(size::TOTAL);
        let countdown = egui::FontId::monospace(size::COUNTDOWN);
        drop(fonts.layout_no_wrap("¥0123456789.-".into(), big, ink));
        drop(fonts.layout_no_wrap("0123456789:".into(), countdown, ink));
    });
}

/// Install fonts and the light, large style. Call once, at start-up.
pub fn install(ctx: &egui::Context) {
    ctx.set_fonts(font_definitions());
    ctx.set_theme(egui::Theme::Light);
    ctx.all_styles_mut(|style| {
        use egui::{FontId, TextStyle};
        style.text_styles = [
            (TextStyle::Small, FontId::proportional(14.0)),
            (TextStyle::Body, FontId::proportional(size::BODY)),
            (TextStyle::Button, FontId::proportional(size::BUTTON)),
            (TextStyle::Heading, FontId::proportional(size::HEADING)),
            (TextStyle::Monospace, FontId::monospace(size::BODY)),
        ]
        .into();
        style.spacing.item_spacing = egui::vec2(10.0, 8.0);
        style.spacing.button_padding = egui::vec2(12.0, 6.0);
        style.spacing.interact_size.y = 32.0;
        // Nothing in the window needs to animate; no animation means no extra repaints.
        style.animation_time = 0.0;
        // A blinking cursor would repaint the idle sale screen twice a second.
        style.visuals.text_cursor.blink = false;
    });
}
