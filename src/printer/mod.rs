//! Receipt printing: ESC/POS thermal printers (58 and 80 mm) as sold on the Chinese market.
//!
//! What it is: a leaf module that turns plain data ([`Receipt`], [`PaymentSlip`], [`RefundSlip`], a page of
//! text such as the day report) into the bytes of one ESC/POS job ([`receipt`], [`payment_slip`],
//! [`refund_slip`], [`text_page`], [`drawer_kick_job`]), and a
//! [`Printer`] that sends a job over TCP (port 9100), to a USB device file (`/dev/usb/lp0`) or to a plain
//! file, with timeouts and errors that say what to check. [`PrinterSection`] is the `[printer]` section of
//! the configuration file and [`PrinterSection::validate`] turns it into a [`PrinterConfig`].
//!
//! What it is not: it knows no orders, ledger, engine or UI (callers map their data onto the structs here),
//! keeps no queue and retries nothing, and never runs on the UI thread by itself — [`Printer::send`] runs
//! the blocking I/O on tokio's blocking pool, [`Printer::send_blocking`] is for a thread of the caller's.
//!
//! Why a small encoder of its own instead of a crate: the maintained `escpos` crate (0.20) sends a
//! 3-byte drawer kick (`ESC p m` without the pulse times, so the printer swallows the next two bytes of
//! the job) and a full cut some Chinese printers refuse, has no `FS &` Chinese mode, defaults its QR to
//! model 1, and draws raster images only through the `image` crate; `escpos-rs` is CP437-only and `recibo`
//! (last release 2023) has network and console drivers only. A receipt needs about a dozen commands, so they are written out here with their bytes
//! ([`escpos`]), tested byte for byte, and text goes through `encoding_rs`.
//!
//! Printer facts this follows (vendor manuals): text is GBK — the two-byte area of GB18030, which is the
//! resident font of Chinese-market printers (the 4-byte area is not); one column per ASCII character, two
//! per hanzi. QR codes are drawn here and sent as a raster image by default, because many cheap printers
//! lack `GS ( k` and print its bytes as garbage; `qr = "native"` uses the printer's own model-2 QR. Jobs
//! end with `GS V 66 0` (feed to the cutter, partial cut), the one cut every printer accepts.

pub mod config;
pub mod document;
pub mod escpos;
pub mod text;
pub mod transport;

pub use config::{PrinterConfig, PrinterSection, SettingProblem};
pub use document::{
    Paper, PaymentSlip, Receipt, ReceiptLine, RefundSlip, SANDBOX_LINE, Style, drawer_kick_job,
    local, payment_slip, receipt, refund_slip, test_page, text_page,
};
pub use escpos::{Cut, DrawerPin, EncodeError, PrinterStatus, QrMode};
pub use transport::{Delivered, PrintError, PrintErrorKind, Printer, Target};
