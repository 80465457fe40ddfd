//! The payment QR code: the exact `code_url`, square modules, a 4-module quiet zone, black on white.
//!
//! On screen the code is drawn straight into the window's framebuffer by an OpenGL paint callback: a white
//! square, then the dark modules as a few rectangles, in flat colour without blending, every module a whole
//! number of physical pixels, so it stays crisp at any window size. A textured, blended square looked the
//! same but cost a texture lookup and a blend for each of its pixels in every frame: with Mesa's software
//! renderer about 6 ms a second, half of the payment screen's CPU. [`QrMatrix::image`] is the same code as
//! an image.

use std::sync::Arc;

use eframe::egui::{self, ColorImage, Rect};
use eframe::egui_glow;
use eframe::glow::{self, HasContext as _};
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

/// A rectangle of dark modules, in modules from the top-left corner of the code (quiet zone excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleRect {
    pub x: u16,
    pub y: u16,
    pub w: u16,
    pub h: u16,
}

impl QrMatrix {
    /// The dark modules as a few rectangles that cover each dark module exactly once (greedy: widest run
    /// first, then as many rows down as stay dark). Fewer than half as many fills as dark modules.
    pub fn dark_rects(&self) -> Vec<ModuleRect> {
        let n = self.width;
        let mut taken = vec![false; n * n];
        let free_dark =
            |taken: &[bool], x: usize, y: usize| self.dark[y * n + x] && !taken[y * n + x];
        let mut out = Vec::new();
        for y in 0..n {
            for x in 0..n {
                if !free_dark(&taken, x, y) {
                    continue;
                }
                let mut w = 1;
                while x + w < n && free_dark(&taken, x + w, y) {
                    w += 1;
                }
                let mut h = 1;
                while y + h < n && (x..x + w).all(|xx| free_dark(&taken, xx, y + h)) {
                    h += 1;
                }
                for yy in y..y + h {
                    for xx in x..x + w {
                        taken[yy * n + xx] = true;
                    }
                }
                out.push(ModuleRect {
                    x: x as u16,
                    y: y as u16,
                    w: w as u16,
                    h: h as u16,
                });
            }
        }
        out
    }
}

/// The side (in points) of the largest crisp square for `full_width` modules within `available` points:
/// every module is a whole number of physical pixels.
pub fn crisp_side(available: f32, full_width: usize, pixels_per_point: f32) -> f32 {
    let px = (available * pixels_per_point).max(0.0).floor();
    let module_px = (px / full_width as f32).floor().max(1.0);
    module_px * full_width as f32 / pixels_per_point
}

/// The QR on screen: the matrix and its dark rectangles, made once per `code_url`.
pub struct QrView {
    pub matrix: QrMatrix,
    rects: Arc<[ModuleRect]>,
    /// The white square then the dark rectangles as triangles, in the square's own coordinates (-1..1).
    triangles: Arc<[u8]>,
}

impl QrView {
    /// `_ctx`: the window's egui context (the code needs no texture).
    pub fn new(_ctx: &egui::Context, payload: &str) -> Result<QrView, String> {
        let matrix = QrMatrix::encode(payload)?;
        let rects: Arc<[ModuleRect]> = matrix.dark_rects().into();
        let triangles = triangles(matrix.full_width(), &rects).into();
        Ok(QrView {
            matrix,
            rects,
            triangles,
        })
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
        let rects = Arc::clone(&self.rects);
        let triangles = Arc::clone(&self.triangles);
        let full_width = self.matrix.full_width() as i32;
        let draw = egui_glow::CallbackFn::new(move |info, painter| {
            let gl = painter.gl();
            if !draw_triangles(gl, &triangles) {
                fill_code(gl, &info, full_width, &rects);
            }
        });
        ui.painter().add(egui::PaintCallback {
            rect,
            callback: Arc::new(draw),
        });
        let label = label.to_owned();
        response
            .widget_info(|| egui::WidgetInfo::labeled(egui::accesskit::Role::Image, true, &label));
        response
    }
}

/// Six vertices (x, y as native-endian f32) for the square, then six for each dark rectangle; the paint
/// callback's viewport is the square, so -1..1 spans it and module edges fall on pixel edges.
fn triangles(full_width: usize, rects: &[ModuleRect]) -> Vec<u8> {
    let n = full_width as f32;
    let q = QUIET_ZONE as f32;
    let mut out = Vec::with_capacity((rects.len() + 1) * 6 * 8);
    let mut quad = |x0: f32, y0: f32, x1: f32, y1: f32| {
        // Modules from the top-left corner to clip space (y up).
        let (x0, x1) = (2.0 * x0 / n - 1.0, 2.0 * x1 / n - 1.0);
        let (y0, y1) = (1.0 - 2.0 * y0 / n, 1.0 - 2.0 * y1 / n);
        for (x, y) in [(x0, y0), (x1, y0), (x1, y1), (x0, y0), (x1, y1), (x0, y1)] {
            out.extend_from_slice(&x.to_ne_bytes());
            out.extend_from_slice(&y.to_ne_bytes());
        }
    };
    quad(0.0, 0.0, n, n);
    for r in rects {
        let (x, y) = (q + f32::from(r.x), q + f32::from(r.y));
        quad(x, y, x + f32::from(r.w), y + f32::from(r.h));
    }
    out
}

/// The flat-colour program, its vertex array and buffer: made on first use in the window's OpenGL context
/// (eframe has one for all its windows) and kept for the life of the process. `None` inside: this OpenGL
/// has no GLSL 1.40 / ES 3.0, or the program did not build; the code is then filled with clears.
static FLAT: std::sync::Mutex<Option<Option<Flat>>> = std::sync::Mutex::new(None);

struct Flat {
    program: glow::Program,
    colour: Option<glow::UniformLocation>,
    vertex_array: glow::VertexArray,
    buffer: glow::Buffer,
}

impl Flat {
    fn new(gl: &glow::Context) -> Option<Flat> {
        let version = egui_glow::ShaderVersion::get(gl);
        if !version.is_new_shader_interface() {
            return None;
        }
        let decl = version.version_declaration();
        let vertex = format!(
            "{decl}in vec2 a_pos;\nvoid main() {{ gl_Position = vec4(a_pos, 0.0, 1.0); }}\n"
        );
        let fragment = format!(
            "{decl}#ifdef GL_ES\nprecision mediump float;\n#endif\nuniform vec4 u_colour;\nout vec4 f_colour;\nvoid main() {{ f_colour = u_colour; }}\n"
        );
        // SAFETY: object creation on the context egui is painting with, on its thread; everything made here
        // is checked before use.
        unsafe {
            let program = gl.create_program().ok()?;
            let mut shaders = Vec::new();
            for (kind, source) in [
                (glow::VERTEX_SHADER, vertex),
                (glow::FRAGMENT_SHADER, fragment),
            ] {
                let shader = gl.create_shader(kind).ok()?;
                gl.shader_source(shader, &source);
                gl.compile_shader(shader);
                if !gl.get_shader_compile_status(shader) {
                    tracing::warn!(log = %gl.get_shader_info_log(shader), "QR shader did not compile");
                    return None;
                }
                gl.attach_shader(program, shader);
                shaders.push(shader);
            }
            gl.bind_attrib_location(program, 0, "a_pos");
            gl.link_program(program);
            for shader in shaders {
                gl.detach_shader(program, shader);
                gl.delete_shader(shader);
            }
            if !gl.get_program_link_status(program) {
                tracing::warn!(log = %gl.get_program_info_log(program), "QR program did not link");
                return None;
            }
            let colour = gl.get_uniform_location(program, "u_colour");
            let vertex_array = gl.create_vertex_array().ok()?;
            let buffer = gl.create_buffer().ok()?;
            gl.bind_vertex_array(Some(vertex_array));
            gl.bind_buffer(glow::ARRAY_BUFFER, Some(buffer));
            gl.enable_vertex_attrib_array(0);
            gl.vertex_attrib_pointer_f32(0, 2, glow::FLOAT, false, 8, 0);
            gl.bind_vertex_array(None);
            Some(Flat {
                program,
                colour,
                vertex_array,
                buffer,
            })
        }
    }
}

/// Draw `triangles` (see [`triangles`]): the square white, the rest black, opaque. False when the flat
/// program is not available here.
fn draw_triangles(gl: &glow::Context, triangles: &[u8]) -> bool {
    let mut flat = FLAT.lock().unwrap_or_else(|e| e.into_inner());
    let Some(flat) = flat.get_or_insert_with(|| Flat::new(gl)) else {
        return false;
    };
    let count = (triangles.len() / 8) as i32;
    let [lr, lg, lb, la] = colour::QR_LIGHT.to_normalized_gamma_f32();
    let [dr, dg, db, da] = colour::QR_DARK.to_normalized_gamma_f32();
    // SAFETY: the objects were made on this context; egui binds its own program, vertex array and blending
    // again after a callback.
    unsafe {
        gl.disable(glow::BLEND);
        gl.use_program(Some(flat.program));
        gl.bind_vertex_array(Some(flat.vertex_array));
        gl.bind_buffer(glow::ARRAY_BUFFER, Some(flat.buffer));
        gl.buffer_data_u8_slice(glow::ARRAY_BUFFER, triangles, glow::STREAM_DRAW);
        gl.uniform_4_f32(flat.colour.as_ref(), lr, lg, lb, la);
        gl.draw_arrays(glow::TRIANGLES, 0, 6);
        gl.uniform_4_f32(flat.colour.as_ref(), dr, dg, db, da);
        gl.draw_arrays(glow::TRIANGLES, 6, count - 6);
        gl.bind_vertex_array(None);
    }
    true
}

/// The fallback for an old OpenGL: the square white, then each dark rectangle black, as scissored clears
/// (slower in Mesa's software renderer, fine on any GPU), each clipped to the callback's clip rectangle.
fn fill_code(
    gl: &glow::Context,
    info: &egui::PaintCallbackInfo,
    full_width: i32,
    rects: &[ModuleRect],
) {
    let square = info.viewport_in_pixels();
    let clip = info.clip_rect_in_pixels();
    let module = (square.width_px / full_width).max(1);
    let screen_height = info.screen_size_px[1] as i32;
    // In pixels from the window's top-left corner, like egui; GL counts rows from the bottom.
    let fill = |x0: i32, y0: i32, x1: i32, y1: i32| {
        let (x0, x1) = (x0.max(clip.left_px), x1.min(clip.left_px + clip.width_px));
        let (y0, y1) = (y0.max(clip.top_px), y1.min(clip.top_px + clip.height_px));
        if x0 < x1 && y0 < y1 {
            // SAFETY: plain state calls on the context egui is painting with, on its thread.
            unsafe {
                gl.scissor(x0, screen_height - y1, x1 - x0, y1 - y0);
                gl.clear(glow::COLOR_BUFFER_BIT);
            }
        }
    };
    let [r, g, b, a] = colour::QR_LIGHT.to_normalized_gamma_f32();
    // SAFETY: as above.
    unsafe {
        gl.enable(glow::SCISSOR_TEST);
        gl.clear_color(r, g, b, a);
    }
    let (left, top) = (square.left_px, square.top_px);
    let side = module * full_width;
    fill(left, top, left + side, top + side);
    let [r, g, b, a] = colour::QR_DARK.to_normalized_gamma_f32();
    // SAFETY: as above.
    unsafe { gl.clear_color(r, g, b, a) };
    let origin = QUIET_ZONE as i32 * module;
    for m in rects {
        let x0 = left + origin + i32::from(m.x) * module;
        let y0 = top + origin + i32::from(m.y) * module;
        fill(
            x0,
            y0,
            x0 + i32::from(m.w) * module,
            y0 + i32::from(m.h) * module,
        );
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
    fn dark_rects_cover_each_dark_module_once() {
        let m = QrMatrix::encode("weixin://wxpay/bizpayurl?pr=AbC123x").unwrap();
        let rects = m.dark_rects();
        let mut count = vec![0u8; m.width * m.width];
        for r in &rects {
            for y in r.y..r.y + r.h {
                for x in r.x..r.x + r.w {
                    count[usize::from(y) * m.width + usize::from(x)] += 1;
                }
            }
        }
        for (i, dark) in m.dark.iter().enumerate() {
            assert_eq!(count[i], u8::from(*dark), "module {i}");
        }
        // Far fewer fills than dark modules.
        let dark = m.dark.iter().filter(|d| **d).count();
        assert!(
            rects.len() * 2 < dark,
            "{} rects for {dark} modules",
            rects.len()
        );
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
