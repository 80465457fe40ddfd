//! The ESC/POS commands PayDesk sends, byte for byte, and a small builder that strings them into a job.
//!
//! Only the dozen commands a receipt needs, with the byte values checked against vendor manuals (see the
//! module doc of [`crate::printer`] for why this is not the `escpos` crate). Text goes through
//! [`super::text`] (GBK two-byte area). This is not a layout engine (`document.rs` decides what goes
//! where) and does no I/O (`transport.rs`).

use qrcode::{Color, EcLevel, QrCode};

use super::text;

pub const ESC: u8 = 0x1B;
pub const GS: u8 = 0x1D;
pub const FS: u8 = 0x1C;
pub const DLE: u8 = 0x10;
pub const EOT: u8 = 0x04;
pub const LF: u8 = 0x0A;

/// `ESC @`: clear the buffer and every mode.
pub const INIT: [u8; 2] = [ESC, b'@'];
/// `FS &`: two-byte (Chinese) character mode. Chinese-market printers power on in it; Epson CJK models
/// need it.
pub const CHINESE_MODE: [u8; 2] = [FS, b'&'];
/// `GS V 66 0`: feed to the cutter, then partial cut. The one form every printer we know accepts
/// (the Zijiang ZJ-58 takes only partial cuts).
pub const CUT_PARTIAL: [u8; 4] = [GS, b'V', 66, 0];
/// `GS V 65 0`: feed to the cutter, then full cut.
pub const CUT_FULL: [u8; 4] = [GS, b'V', 65, 0];
/// Drawer pulse: on 25 × 2 ms = 50 ms, off 250 × 2 ms = 500 ms. Both times are always sent: without them
/// the printer swallows the next two bytes of the job.
pub const DRAWER_ON_2MS: u8 = 25;
pub const DRAWER_OFF_2MS: u8 = 250;
/// `GS ( k` store data: at most 7089 bytes (`pL + pH·256 = k + 3 ≤ 7092`).
pub const QR_MAX_DATA: usize = 7089;
/// Modules of white around a QR code, as the QR specification asks; printers do not add it.
pub const QR_QUIET_ZONE: usize = 4;

/// Horizontal alignment (`ESC a n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left = 0,
    Center = 1,
    Right = 2,
}

/// Character size. Double sizes halve the columns of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Normal,
    /// Double height, normal width.
    Tall,
    /// Double width and height.
    Double,
}

/// How the paper is cut at the end of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cut {
    #[default]
    Partial,
    Full,
}

/// Which connector pin the cash drawer's solenoid hangs on (`ESC p m`). Almost all drawers use pin 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DrawerPin {
    #[default]
    Pin2,
    Pin5,
}

/// QR error correction (`GS ( k` fn 169).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QrEcc {
    L,
    #[default]
    M,
    Q,
    H,
}

impl QrEcc {
    fn escpos(self) -> u8 {
        match self {
            QrEcc::L => 48,
            QrEcc::M => 49,
            QrEcc::Q => 50,
            QrEcc::H => 51,
        }
    }

    fn level(self) -> EcLevel {
        match self {
            QrEcc::L => EcLevel::L,
            QrEcc::M => EcLevel::M,
            QrEcc::Q => EcLevel::Q,
            QrEcc::H => EcLevel::H,
        }
    }
}

/// How QR codes reach the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QrMode {
    /// Drawn here and sent as a raster image (`GS v 0`): works on every printer, including the many cheap
    /// ones without `GS ( k` (which print its bytes as garbage). The default.
    #[default]
    Raster,
    /// The printer's own QR generator (`GS ( k`, model 2): smaller jobs, needs a printer that has it.
    Native,
}

/// Why a job could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("nothing to put in the QR code")]
    EmptyQr,
    #[error("QR data of {0} bytes is too long for a receipt printer (at most {QR_MAX_DATA})")]
    QrTooLong(usize),
    #[error("QR code of {modules} modules does not fit on {dots}-dot paper")]
    QrTooWide { modules: usize, dots: u16 },
}

/// `GS ( k` fn 165: QR model 2 (the one every phone reads).
pub fn qr_model2() -> [u8; 9] {
    [GS, b'(', b'k', 4, 0, 49, 65, 50, 0]
}

/// `GS ( k` fn 167: module size in dots, 1..=16.
pub fn qr_module_size(dots: u8) -> [u8; 8] {
    [GS, b'(', b'k', 3, 0, 49, 67, dots.clamp(1, 16)]
}

/// `GS ( k` fn 169: error correction level.
pub fn qr_error_correction(ecc: QrEcc) -> [u8; 8] {
    [GS, b'(', b'k', 3, 0, 49, 69, ecc.escpos()]
}

/// `GS ( k` fn 180: store `data` in the symbol buffer.
pub fn qr_store(data: &[u8]) -> Result<Vec<u8>, EncodeError> {
    if data.is_empty() {
        return Err(EncodeError::EmptyQr);
    }
    if data.len() > QR_MAX_DATA {
        return Err(EncodeError::QrTooLong(data.len()));
    }
    let [pl, ph] = u16::try_from(data.len() + 3)
        .expect("checked above")
        .to_le_bytes();
    let mut out = vec![GS, b'(', b'k', pl, ph, 49, 80, 48];
    out.extend_from_slice(data);
    Ok(out)
}

/// `GS ( k` fn 181: print the stored symbol. The printer must be at the start of a line.
pub const QR_PRINT: [u8; 8] = [GS, b'(', b'k', 3, 0, 49, 81, 48];

/// `ESC p m t1 t2`: pulse the cash drawer.
pub fn drawer_kick(pin: DrawerPin) -> [u8; 5] {
    let m = match pin {
        DrawerPin::Pin2 => 0,
        DrawerPin::Pin5 => 1,
    };
    [ESC, b'p', m, DRAWER_ON_2MS, DRAWER_OFF_2MS]
}

/// A QR code drawn as a `GS v 0` raster image: `quiet zone + modules` at `module_dots` dots per module,
/// pushed right by `left_dots` of white so it can be centred without relying on `ESC a`.
pub fn qr_raster(
    data: &[u8],
    module_dots: u8,
    ecc: QrEcc,
    paper_dots: u16,
) -> Result<Vec<u8>, EncodeError> {
    if data.is_empty() {
        return Err(EncodeError::EmptyQr);
    }
    let code = QrCode::with_error_correction_level(data, ecc.level())
        .map_err(|_| EncodeError::QrTooLong(data.len()))?;
    let modules = code.width();
    let side_modules = modules + 2 * QR_QUIET_ZONE;
    // Shrink the modules rather than overflow the paper; below 2 dots a module no phone reads it.
    let fit = usize::from(paper_dots) / side_modules;
    let scale = usize::from(module_dots.max(1)).min(fit);
    if scale < 2 {
        return Err(EncodeError::QrTooWide {
            modules,
            dots: paper_dots,
        });
    }
    let side = side_modules * scale;
    let left = (usize::from(paper_dots) - side) / 2;
    let row_bytes = (left + side).div_ceil(8);
    let colors = code.to_colors();
    let mut bitmap = vec![0u8; row_bytes * side];
    for y in 0..side {
        let my = (y / scale)
            .checked_sub(QR_QUIET_ZONE)
            .filter(|&m| m < modules);
        let Some(my) = my else { continue };
        for x in 0..side {
            let mx = (x / scale)
                .checked_sub(QR_QUIET_ZONE)
                .filter(|&m| m < modules);
            if let Some(mx) = mx
                && colors[my * modules + mx] == Color::Dark
            {
                let dot = left + x;
                bitmap[y * row_bytes + dot / 8] |= 0x80 >> (dot % 8);
            }
        }
    }
    let [xl, xh] = u16::try_from(row_bytes).expect("paper width").to_le_bytes();
    let [yl, yh] = u16::try_from(side).expect("paper width").to_le_bytes();
    let mut out = vec![GS, b'v', b'0', 0, xl, xh, yl, yh];
    out.extend_from_slice(&bitmap);
    Ok(out)
}

/// Builds one print job. Every method appends; [`EscPos::into_bytes`] hands over the job.
#[derive(Debug, Clone, Default)]
pub struct EscPos {
    buf: Vec<u8>,
}

impl EscPos {
    pub fn new() -> EscPos {
        EscPos::default()
    }

    /// `ESC @` then `FS &`: a clean state in two-byte mode. Start every job with it.
    pub fn init(&mut self) -> &mut Self {
        self.raw(&INIT).raw(&CHINESE_MODE)
    }

    pub fn align(&mut self, align: Align) -> &mut Self {
        self.raw(&[ESC, b'a', align as u8])
    }

    /// `GS !` for ASCII and `FS !` for hanzi: clones scale hanzi only with `FS !`, Epson with either (the
    /// last one wins), so both always say the same.
    pub fn size(&mut self, size: Size) -> &mut Self {
        let (gs, fs) = match size {
            Size::Normal => (0x00, 0x00),
            Size::Tall => (0x01, 0x08),
            Size::Double => (0x11, 0x0C),
        };
        self.raw(&[GS, b'!', gs]).raw(&[FS, b'!', fs])
    }

    pub fn bold(&mut self, on: bool) -> &mut Self {
        self.raw(&[ESC, b'E', u8::from(on)])
    }

    /// Text without a line feed, made printable and encoded as GBK.
    pub fn text(&mut self, s: &str) -> &mut Self {
        self.buf.extend_from_slice(&text::encode(s));
        self
    }

    /// Text and a line feed.
    pub fn line(&mut self, s: &str) -> &mut Self {
        self.text(s).raw(&[LF])
    }

    /// `ESC d n`: print the buffer and feed `n` lines.
    pub fn feed(&mut self, lines: u8) -> &mut Self {
        self.raw(&[ESC, b'd', lines])
    }

    /// A QR code on a line of its own, by the printer's generator (model 2). Leaves alignment as it was.
    pub fn qr_native(
        &mut self,
        data: &[u8],
        module_dots: u8,
        ecc: QrEcc,
    ) -> Result<&mut Self, EncodeError> {
        let store = qr_store(data)?;
        Ok(self
            .raw(&qr_model2())
            .raw(&qr_module_size(module_dots))
            .raw(&qr_error_correction(ecc))
            .raw(&store)
            .raw(&QR_PRINT)
            .raw(&[LF]))
    }

    /// A QR code on a line of its own, drawn here and sent as a centred raster image.
    pub fn qr_image(
        &mut self,
        data: &[u8],
        module_dots: u8,
        ecc: QrEcc,
        paper_dots: u16,
    ) -> Result<&mut Self, EncodeError> {
        let image = qr_raster(data, module_dots, ecc, paper_dots)?;
        // The image carries its own left margin, so it is sent left-aligned.
        Ok(self.align(Align::Left).raw(&image))
    }

    /// A QR code the way `mode` says.
    pub fn qr(
        &mut self,
        mode: QrMode,
        data: &[u8],
        module_dots: u8,
        paper_dots: u16,
    ) -> Result<&mut Self, EncodeError> {
        match mode {
            QrMode::Native => self.qr_native(data, module_dots, QrEcc::M),
            QrMode::Raster => self.qr_image(data, module_dots, QrEcc::M, paper_dots),
        }
    }

    /// Feed to the cutter and cut. End every job with it.
    pub fn cut(&mut self, cut: Cut) -> &mut Self {
        self.raw(match cut {
            Cut::Partial => &CUT_PARTIAL,
            Cut::Full => &CUT_FULL,
        })
    }

    pub fn drawer_kick(&mut self, pin: DrawerPin) -> &mut Self {
        self.raw(&drawer_kick(pin))
    }

    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// `DLE EOT n` queries (real time: answered even while the printer is offline or its buffer is full).
pub const STATUS_PRINTER: [u8; 3] = [DLE, EOT, 1];
pub const STATUS_OFFLINE_CAUSE: [u8; 3] = [DLE, EOT, 2];
pub const STATUS_PAPER: [u8; 3] = [DLE, EOT, 4];

/// What a printer said about itself in answer to the three `DLE EOT` queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrinterStatus {
    pub offline: bool,
    pub cover_open: bool,
    /// Stopped because the paper ran out.
    pub paper_out: bool,
    /// The roll is nearly used up: it still prints, replace it soon.
    pub paper_low: bool,
    /// Cutter jam, overheating or another error that needs the printer switched off and on.
    pub error: bool,
}

impl PrinterStatus {
    /// Parse the answers to [`STATUS_PRINTER`], [`STATUS_OFFLINE_CAUSE`] and [`STATUS_PAPER`], in that order.
    /// `None` when a byte is not a status byte (every one has the fixed pattern `0xx1xx10`).
    pub fn parse(printer: u8, offline_cause: u8, paper: u8) -> Option<PrinterStatus> {
        let valid = |b: u8| b & 0x93 == 0x12;
        if !(valid(printer) && valid(offline_cause) && valid(paper)) {
            return None;
        }
        Some(PrinterStatus {
            offline: printer & 0x08 != 0,
            cover_open: offline_cause & 0x04 != 0,
            paper_out: offline_cause & 0x20 != 0 || paper & 0x60 != 0,
            paper_low: paper & 0x0C != 0,
            error: offline_cause & 0x40 != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_and_drawer_bytes_are_exact() {
        assert_eq!(CUT_PARTIAL, [0x1D, 0x56, 0x42, 0x00]);
        assert_eq!(CUT_FULL, [0x1D, 0x56, 0x41, 0x00]);
        // Five bytes: a kick without t1 t2 makes the printer eat the next two bytes of the job.
        assert_eq!(drawer_kick(DrawerPin::Pin2), [0x1B, 0x70, 0x00, 0x19, 0xFA]);
        assert_eq!(drawer_kick(DrawerPin::Pin5), [0x1B, 0x70, 0x01, 0x19, 0xFA]);
        let mut job = EscPos::new();
        job.init().line("x").cut(Cut::Partial);
        assert!(job.bytes().starts_with(&[0x1B, 0x40, 0x1C, 0x26]));
        assert!(job.bytes().ends_with(&[b'x', LF, 0x1D, 0x56, 0x42, 0x00]));
    }

    #[test]
    fn qr_commands_have_the_right_lengths() {
        assert_eq!(
            qr_model2(),
            [0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00]
        );
        assert_eq!(
            qr_module_size(6),
            [0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, 6]
        );
        assert_eq!(qr_module_size(40)[7], 16);
        assert_eq!(qr_error_correction(QrEcc::M)[7], 0x31);
        assert_eq!(QR_PRINT, [0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30]);

        let data = b"P1202611281403050001";
        let store = qr_store(data).unwrap();
        assert_eq!(&store[..8], &[0x1D, 0x28, 0x6B, 23, 0, 0x31, 0x50, 0x30]);
        assert_eq!(&store[8..], data);
        // pL pH is little-endian k + 3.
        let big = vec![b'A'; 300];
        let store = qr_store(&big).unwrap();
        assert_eq!(u16::from_le_bytes([store[3], store[4]]), 303);
        assert_eq!(store.len(), 8 + 300);
        assert_eq!(qr_store(b""), Err(EncodeError::EmptyQr));
        assert_eq!(
            qr_store(&vec![b'1'; 7090]),
            Err(EncodeError::QrTooLong(7090))
        );
        assert_eq!(qr_store(&vec![b'1'; 7089]).unwrap().len(), 8 + 7089);

        let mut job = EscPos::new();
        job.qr_native(data, 6, QrEcc::M).unwrap();
        assert_eq!(job.bytes().len(), 9 + 8 + 8 + (8 + data.len()) + 8 + 1);
    }

    /// Read the raster back module by module and compare it with the QR library's own matrix.
    #[test]
    fn raster_qr_is_the_code_with_quiet_zone_centred() {
        let data = b"weixin://wxpay/bizpayurl?pr=AbCdEfG";
        let image = qr_raster(data, 6, QrEcc::M, 384).unwrap();
        assert_eq!(&image[..4], &[GS, b'v', b'0', 0]);
        let row_bytes = usize::from(u16::from_le_bytes([image[4], image[5]]));
        let rows = usize::from(u16::from_le_bytes([image[6], image[7]]));
        let bits = &image[8..];
        assert_eq!(bits.len(), row_bytes * rows);

        let code = QrCode::with_error_correction_level(data, EcLevel::M).unwrap();
        let n = code.width();
        let colors = code.to_colors();
        let side = (n + 2 * QR_QUIET_ZONE) * 6;
        assert_eq!(rows, side);
        let left = (384 - side) / 2;
        assert!(left + side <= row_bytes * 8 && row_bytes * 8 <= 384);
        let dot = |x: usize, y: usize| bits[y * row_bytes + x / 8] & (0x80 >> (x % 8)) != 0;
        for my in 0..n + 2 * QR_QUIET_ZONE {
            for mx in 0..n + 2 * QR_QUIET_ZONE {
                let expected = (QR_QUIET_ZONE..QR_QUIET_ZONE + n).contains(&mx)
                    && (QR_QUIET_ZONE..QR_QUIET_ZONE + n).contains(&my)
                    && colors[(my - QR_QUIET_ZONE) * n + mx - QR_QUIET_ZONE] == Color::Dark;
                // Sample the module's centre.
                assert_eq!(
                    dot(left + mx * 6 + 3, my * 6 + 3),
                    expected,
                    "module {mx},{my}"
                );
            }
        }
        // Nothing left of the code.
        assert!((0..rows).all(|y| (0..left).all(|x| !dot(x, y))));
    }

    #[test]
    fn raster_qr_shrinks_modules_to_fit_the_paper() {
        let data = vec![b'9'; 200];
        let image = qr_raster(&data, 16, QrEcc::M, 384).unwrap();
        let rows = usize::from(u16::from_le_bytes([image[6], image[7]]));
        assert!(rows <= 384);
        // A code of 100+ modules on 200 dots would need modules under 2 dots.
        assert!(matches!(
            qr_raster(&vec![b'x'; 1000], 6, QrEcc::L, 200),
            Err(EncodeError::QrTooWide { .. })
        ));
        assert_eq!(
            qr_raster(&vec![b'x'; 3000], 6, QrEcc::H, 576),
            Err(EncodeError::QrTooLong(3000))
        );
    }

    #[test]
    fn size_sets_ascii_and_hanzi_scaling_together() {
        let mut job = EscPos::new();
        job.size(Size::Double).size(Size::Normal);
        assert_eq!(
            job.bytes(),
            [GS, b'!', 0x11, FS, b'!', 0x0C, GS, b'!', 0, FS, b'!', 0]
        );
    }

    #[test]
    fn status_bytes_are_parsed_by_their_bits() {
        assert_eq!(
            PrinterStatus::parse(0x12, 0x12, 0x12),
            Some(PrinterStatus::default())
        );
        let out = PrinterStatus::parse(0x1A, 0x32, 0x72).unwrap();
        assert!(out.offline && out.paper_out && !out.cover_open && !out.error);
        let low = PrinterStatus::parse(0x12, 0x12, 0x1E).unwrap();
        assert!(low.paper_low && !low.paper_out);
        assert!(PrinterStatus::parse(0x16, 0x16, 0x12).unwrap().cover_open);
        assert_eq!(PrinterStatus::parse(0x00, 0x12, 0x12), None);
        assert_eq!(PrinterStatus::parse(b'A', 0x12, 0x12), None);
    }
}
