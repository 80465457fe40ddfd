//! The payment screen's layout as a pure function of the space it gets: how big the QR is and how wide
//! the column beside it. The QR takes what the order column leaves, so it grows with the window (full
//! screen at 1920×1080: about 90 % of the screen height); small windows keep a readable column.
//! Not here: drawing (`payment`), the QR's whole-pixel modules (`qr::crisp_side`).

use eframe::egui::Vec2;

/// The gap between the QR and the order column, in points.
pub const GAP: f32 = 24.0;
/// Space kept below the QR.
pub const BOTTOM: f32 = 12.0;

/// Where the payment screen puts things.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaymentLayout {
    /// The largest side the QR may take (before snapping to whole pixels per module).
    pub qr_side: f32,
    /// The order column's width.
    pub info_width: f32,
}

/// The layout for `avail`, the central panel's size in points.
pub fn payment_layout(avail: Vec2) -> PaymentLayout {
    let info_width = (avail.x * 0.42).clamp(300.0, 560.0);
    let qr_side = (avail.x - info_width - GAP)
        .min(avail.y - BOTTOM)
        .max(120.0);
    PaymentLayout {
        qr_side,
        info_width,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::qr::crisp_side;
    use eframe::egui::vec2;

    /// What the sandbox banner, the header and the panel margins take from a window, in points (measured
    /// in the screenshots: about 100; more is assumed to be safe).
    const CHROME: Vec2 = Vec2::new(16.0, 130.0);
    /// Modules of a `code_url` QR (version 3) with its quiet zone.
    const MODULES: usize = 29 + 8;

    #[test]
    fn full_screen_1920x1080_gives_a_qr_of_at_least_70_percent_of_the_height() {
        let l = payment_layout(vec2(1920.0, 1080.0) - CHROME);
        let side = crisp_side(l.qr_side, MODULES, 1.0);
        assert!(side >= 0.7 * 1080.0, "QR side {side}");
        // Whole pixels per module, the quiet zone included in the count.
        assert_eq!(side % MODULES as f32, 0.0);
        assert!(l.info_width >= 500.0);
    }

    #[test]
    fn small_windows_keep_both_columns_inside() {
        for (w, h) in [(1024.0, 768.0), (800.0, 600.0)] {
            let avail = vec2(w, h) - CHROME;
            let l = payment_layout(avail);
            let side = crisp_side(l.qr_side, MODULES, 1.0);
            assert!(side + GAP + l.info_width <= avail.x, "{w}x{h}: too wide");
            assert!(side <= avail.y, "{w}x{h}: too tall");
            // Still a comfortable 4 px per module or more for phone cameras.
            assert!(side >= 4.0 * MODULES as f32, "{w}x{h}: QR side {side}");
            assert!(l.info_width >= 300.0);
        }
    }
}
