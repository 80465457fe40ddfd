//! The payment QR code: the exact `code_url`, square modules, a 4-module quiet zone, black on white.
//!
//! The code is turned into a one-pixel-per-module image and drawn as a nearest-filtered texture whose
//! module size is a whole number of physical pixels, so it stays crisp at any window size.

use eframe::egui::{self, Color32, ColorImage, Rect, TextureHandle, TextureOptions};
use qrcode::{Color, EcLevel, QrCode};

use super::theme::colour;

/// Modules of white around the code, as the QR specification asks.
pub const QUIET_ZONE: usize = 4;

/// A QR code ready to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    /// What is encoded, byte for byte.
    pub payload: String,
    /// Modules per side, without the quiet zone.
    pub width: usize,
    /// Row-major, `true` = dark.
    pub dark: Vec<bool>,
}

impl QrMatrix {
    /// Encode `payload` exactly (medium error correction, as WeChat's own codes use).
    pub fn encode(payload: &str) -> Result<QrMatrix, String> {
        let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
            .map_err(|e| format!("QR: {e}"))?;
        let width = code.width();
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect();
        Ok(QrMatrix {
            payload: payload.to_owned(),
            width,
            dark,
        })
    }

    /// Modules per side including the quiet zone.
    pub fn full_width(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }

    /// One pixel per module, quiet zone included.
    pub fn image(&self) -> ColorImage {
        let n = self.full_width();
        let mut pixels = vec![colour::QR_LIGHT; n * n];
        for y in 0..self.width {
            for x in 0..self.width {
                if self.dark[y * self.width + x] {
                    pixels[(y + QUIET_ZONE) * n + x + QUIET_ZONE] = colour::QR_DARK;
                }
            }
        }
        ColorImage::new([n, n], pixels)
    }
}

/// The side (in points) of the largest crisp square for `full_width` modules within `available` points:
/// every module is a whole number of physical pixels.
pub fn crisp_side(available: f32, full_width: usize, pixels_per_point: f32) -> f32 {
    let px = (available * pixels_per_point).max(0.0).floor();
    let module_px = (px / full_width as f32).floor().max(1.0);
    module_px * full_width as f32 / pixels_per_point
}

/// The QR on screen: the matrix and its texture, made once per `code_url`.
pub struct QrView {
    pub matrix: QrMatrix,
    texture: TextureHandle,
}

impl QrView {
    pub fn new(ctx: &egui::Context, payload: &str) -> Result<QrView, String> {
        let matrix = QrMatrix::encode(payload)?;
        let texture = ctx.load_texture("payment-qr", matrix.image(), TextureOptions::NEAREST);
        Ok(QrView { matrix, texture })
    }

    /// Draw the code as large as fits in `max_side` points, centred in the space allocated.
    pub fn show(&self, ui: &mut egui::Ui, max_side: f32, label: &str) -> egui::Response {
        let ppp = ui.pixels_per_point();
        let side = crisp_side(max_side, self.matrix.full_width(), ppp);
        let (rect, response) = ui.allocate_exact_size(egui::vec2(side, side), egui::Sense::hover());
        // Snap the corner to the pixel grid too, or every module edge would fall between pixels.
        let min = egui::pos2(
            (rect.min.x * ppp).round() / ppp,
            (rect.min.y * ppp).round() / ppp,
        );
        let rect = Rect::from_min_size(min, rect.size());
        let uv = Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));
        ui.painter()
            .image(self.texture.id(), rect, uv, Color32::WHITE);
        let label = label.to_owned();
        response
            .widget_info(|| egui::WidgetInfo::labeled(egui::accesskit::Role::Image, true, &label));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_exactly_with_quiet_zone() {
        let url = "weixin://wxpay/bizpayurl?pr=AbC123x";
        let m = QrMatrix::encode(url).unwrap();
        assert_eq!(m.payload, url);
        assert_eq!(m.dark.len(), m.width * m.width);
        let img = m.image();
        let n = m.full_width();
        assert_eq!(img.size, [n, n]);
        // The quiet zone is white all round.
        for i in 0..n {
            for j in 0..QUIET_ZONE {
                assert_eq!(img.pixels[j * n + i], colour::QR_LIGHT);
                assert_eq!(img.pixels[(n - 1 - j) * n + i], colour::QR_LIGHT);
                assert_eq!(img.pixels[i * n + j], colour::QR_LIGHT);
                assert_eq!(img.pixels[i * n + n - 1 - j], colour::QR_LIGHT);
            }
        }
        // The top-left finder pattern starts right after the quiet zone.
        assert_eq!(img.pixels[QUIET_ZONE * n + QUIET_ZONE], colour::QR_DARK);
    }

    #[test]
    fn crisp_side_is_whole_pixels_per_module() {
        // 29 modules + 8 quiet = 37; 500 pt at 1.5 ppp = 750 px → 20 px per module → 740 px = 493.33 pt.
        let side = crisp_side(500.0, 37, 1.5);
        assert!((side * 1.5 - 740.0).abs() < 1e-3);
        // Never smaller than one pixel per module.
        assert!(crisp_side(10.0, 37, 1.0) >= 37.0);
    }
}
