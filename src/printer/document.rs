//! What PayDesk prints: a receipt, a payment slip and a refund slip, each a pure function from plain data
//! to the bytes of one ESC/POS job, laid out for 58 mm or 80 mm paper.
//!
//! The data structs are this module's own (the caller maps orders onto them), so printing depends on
//! nothing but [`crate::money`]. Times arrive already in the shop's local time. Nothing here does I/O.

use chrono::{DateTime, FixedOffset, Local, Utc};

use super::escpos::{Align, Cut, DrawerPin, EncodeError, EscPos, QrMode, Size};
use super::text;
use crate::money::Fen;

/// Printed on everything that comes out of sandbox mode, so nobody mistakes it for a real sale.
pub const SANDBOX_LINE: &str = "沙箱 — 非真实交易";

/// Paper width of a thermal printer at 203 dpi.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paper {
    /// 58 mm: 384 printable dots, 32 columns of Font A (16 hanzi).
    Mm58,
    /// 80 mm: 576 printable dots, 48 columns of Font A (24 hanzi).
    #[default]
    Mm80,
}

impl Paper {
    pub fn from_mm(mm: u16) -> Option<Paper> {
        match mm {
            58 => Some(Paper::Mm58),
            80 => Some(Paper::Mm80),
            _ => None,
        }
    }

    pub fn mm(self) -> u16 {
        match self {
            Paper::Mm58 => 58,
            Paper::Mm80 => 80,
        }
    }

    /// Printable dots across.
    pub fn dots(self) -> u16 {
        match self {
            Paper::Mm58 => 384,
            Paper::Mm80 => 576,
        }
    }

    /// Font A columns (12-dot characters) across.
    pub fn columns(self) -> usize {
        usize::from(self.dots()) / 12
    }
}

/// How a printer lays out and finishes a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub paper: Paper,
    /// Font A columns per line: the paper's default, or what the printer's self-test page says
    /// (an 80 mm Epson in 512-dot mode has 42).
    pub columns: usize,
    pub qr: QrMode,
    pub cut: Cut,
}

impl Style {
    pub fn new(paper: Paper) -> Style {
        Style {
            paper,
            columns: paper.columns(),
            qr: QrMode::default(),
            cut: Cut::default(),
        }
    }

    /// Dots per QR module: big enough for a phone at arm's length, small enough to fit the paper.
    fn qr_module(&self, prominent: bool) -> u8 {
        match (self.paper, prominent) {
            (Paper::Mm58, false) => 4,
            (Paper::Mm80, false) => 5,
            (Paper::Mm58, true) => 6,
            (Paper::Mm80, true) => 8,
        }
    }

    fn qty_columns(&self) -> usize {
        if self.columns < 40 { 5 } else { 6 }
    }

    fn amount_columns(&self) -> usize {
        if self.columns < 40 { 10 } else { 12 }
    }
}

/// One sold line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptLine {
    pub name: String,
    pub qty: u32,
    /// The line's amount (quantity × unit price).
    pub amount: Fen,
}

/// A paid sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub store_name: String,
    /// `out_trade_no`; also printed as a QR code for looking the order up at a refund.
    pub order_no: String,
    /// When it was paid, in the shop's local time.
    pub time: DateTime<FixedOffset>,
    pub lines: Vec<ReceiptLine>,
    pub total: Fen,
    /// WeChat's `transaction_id`, once known.
    pub transaction_id: Option<String>,
    pub cashier: Option<String>,
    pub station: String,
    pub sandbox: bool,
}

/// The payment QR on paper, for a customer who cannot scan the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSlip {
    pub store_name: String,
    pub order_no: String,
    pub amount: Fen,
    /// The `code_url` to encode, exactly as the gateway returned it.
    pub code_url: String,
    /// When the code stops being payable, in the shop's local time.
    pub expires_at: DateTime<FixedOffset>,
    pub sandbox: bool,
}

/// A refund, for the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundSlip {
    pub store_name: String,
    pub order_no: String,
    /// `out_refund_no`.
    pub refund_no: String,
    pub amount: Fen,
    /// When the refund was made, in the shop's local time.
    pub time: DateTime<FixedOffset>,
    pub cashier: Option<String>,
    pub station: String,
    pub sandbox: bool,
}

/// `￥12.50`: the full-width yuan sign, because GBK has no `¥` (which `Fen`'s `Display` uses).
pub fn yuan(amount: Fen) -> String {
    format!("￥{}", amount.yuan_string())
}

/// An instant in this machine's time zone, for the `time` fields above.
pub fn local(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&Local).fixed_offset()
}

fn local_time(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The receipt of a paid sale.
pub fn receipt(r: &Receipt, style: &Style) -> Result<Vec<u8>, EncodeError> {
    let cols = style.columns;
    let mut p = EscPos::new();
    p.init();
    heading(&mut p, &r.store_name, cols);
    if r.sandbox {
        sandbox_banner(&mut p);
    }
    p.align(Align::Left);
    lines(&mut p, text::spread("单号", &r.order_no, cols));
    lines(&mut p, text::spread("时间", &local_time(&r.time), cols));
    lines(&mut p, text::spread("收银台", &r.station, cols));
    if let Some(cashier) = &r.cashier {
        lines(&mut p, text::spread("收银员", cashier, cols));
    }
    rule(&mut p, cols);
    p.line(&item_header(style));
    for line in &r.lines {
        lines(&mut p, item_lines(line, style));
    }
    rule(&mut p, cols);
    // Double width halves the columns.
    p.bold(true).size(Size::Double);
    lines(&mut p, text::spread("合计", &yuan(r.total), cols / 2));
    p.size(Size::Normal).bold(false);
    lines(&mut p, text::spread("支付方式", "微信支付", cols));
    if let Some(id) = &r.transaction_id {
        lines(&mut p, text::spread("微信支付单号", id, cols));
    }
    rule(&mut p, cols);
    p.align(Align::Center);
    p.qr(
        style.qr,
        r.order_no.as_bytes(),
        style.qr_module(false),
        style.paper.dots(),
    )?;
    p.align(Align::Center).line("扫码查询订单 / 退款");
    if r.sandbox {
        sandbox_banner(&mut p);
    }
    p.align(Align::Center).line("谢谢惠顾");
    p.cut(style.cut);
    Ok(p.into_bytes())
}

/// The payment QR with amount and expiry.
pub fn payment_slip(s: &PaymentSlip, style: &Style) -> Result<Vec<u8>, EncodeError> {
    let cols = style.columns;
    let mut p = EscPos::new();
    p.init();
    heading(&mut p, &s.store_name, cols);
    if s.sandbox {
        sandbox_banner(&mut p);
    }
    p.align(Align::Center).line("微信扫码支付");
    p.bold(true).size(Size::Double).line(&yuan(s.amount));
    p.size(Size::Normal).bold(false);
    p.qr(
        style.qr,
        s.code_url.as_bytes(),
        style.qr_module(true),
        style.paper.dots(),
    )?;
    p.align(Align::Center).line("请用微信扫一扫");
    p.align(Align::Left);
    lines(
        &mut p,
        text::spread("有效期至", &local_time(&s.expires_at), cols),
    );
    lines(&mut p, text::spread("单号", &s.order_no, cols));
    p.cut(style.cut);
    Ok(p.into_bytes())
}

/// The customer's copy of a refund.
pub fn refund_slip(s: &RefundSlip, style: &Style) -> Vec<u8> {
    let cols = style.columns;
    let mut p = EscPos::new();
    p.init();
    heading(&mut p, &s.store_name, cols);
    if s.sandbox {
        sandbox_banner(&mut p);
    }
    p.align(Align::Center)
        .bold(true)
        .line("退款凭证")
        .bold(false);
    p.align(Align::Left);
    lines(&mut p, text::spread("单号", &s.order_no, cols));
    lines(&mut p, text::spread("退款单号", &s.refund_no, cols));
    lines(&mut p, text::spread("时间", &local_time(&s.time), cols));
    lines(&mut p, text::spread("收银台", &s.station, cols));
    if let Some(cashier) = &s.cashier {
        lines(&mut p, text::spread("收银员", cashier, cols));
    }
    rule(&mut p, cols);
    p.bold(true).size(Size::Double);
    lines(&mut p, text::spread("退款", &yuan(s.amount), cols / 2));
    p.size(Size::Normal).bold(false);
    p.align(Align::Center).line("退款将原路退回微信");
    if s.sandbox {
        sandbox_banner(&mut p);
    }
    p.cut(style.cut);
    p.into_bytes()
}

/// A page of text laid out by the caller for this paper (the day report: lines of at most
/// `style.columns` columns, see `crate::report_format::text_page`), under the store's name; a longer line
/// is wrapped, never cut off.
pub fn text_page(store_name: &str, body: &[String], style: &Style, sandbox: bool) -> Vec<u8> {
    let cols = style.columns;
    let mut p = EscPos::new();
    p.init();
    heading(&mut p, store_name, cols);
    if sandbox {
        sandbox_banner(&mut p);
    }
    p.align(Align::Left);
    for l in body {
        lines(&mut p, text::wrap(l, cols));
    }
    if sandbox {
        sandbox_banner(&mut p);
    }
    p.cut(style.cut);
    p.into_bytes()
}

/// Open the cash drawer, as a job of its own (nothing printed, no cut).
pub fn drawer_kick_job(pin: DrawerPin) -> Vec<u8> {
    let mut p = EscPos::new();
    p.init().drawer_kick(pin);
    p.into_bytes()
}

/// A page to set a printer up with: a column ruler at the configured width (it must fit on one line
/// exactly), a line of hanzi, and the settings in use.
pub fn test_page(style: &Style, store_name: &str) -> Vec<u8> {
    let cols = style.columns;
    let mut p = EscPos::new();
    p.init();
    heading(&mut p, store_name, cols);
    p.align(Align::Left);
    let ruler: String = (1..=cols)
        .map(|i| char::from(b'0' + (i % 10) as u8))
        .collect();
    p.line(&ruler);
    p.line(&"汉".repeat(cols / 2));
    p.line(&format!(
        "{} mm, {} columns, QR {}",
        style.paper.mm(),
        cols,
        match style.qr {
            QrMode::Raster => "raster",
            QrMode::Native => "native",
        }
    ));
    p.line("打印测试 PayDesk");
    p.cut(style.cut);
    p.into_bytes()
}

fn heading(p: &mut EscPos, store_name: &str, cols: usize) {
    p.align(Align::Center).bold(true).size(Size::Double);
    lines(p, text::wrap(store_name, cols / 2));
    p.size(Size::Normal).bold(false);
}

fn sandbox_banner(p: &mut EscPos) {
    p.align(Align::Center)
        .bold(true)
        .line(SANDBOX_LINE)
        .bold(false);
}

fn rule(p: &mut EscPos, cols: usize) {
    p.line(&"-".repeat(cols));
}

fn lines(p: &mut EscPos, lines: Vec<String>) {
    for l in lines {
        p.line(&l);
    }
}

fn item_header(style: &Style) -> String {
    let (q, a) = (style.qty_columns(), style.amount_columns());
    format!(
        "{}{}{}",
        text::pad_right("商品", style.columns - q - a),
        text::pad_left("数量", q),
        text::pad_left("金额", a)
    )
}

/// One sold line: the name on the left, quantity and amount right-aligned in their columns on the first
/// line; a long name wraps onto lines of its own below.
pub fn item_lines(line: &ReceiptLine, style: &Style) -> Vec<String> {
    let right = format!(
        "{}{}",
        text::pad_left(&line.qty.to_string(), style.qty_columns()),
        text::pad_left(&line.amount.yuan_string(), style.amount_columns())
    );
    let name_cols = style.columns.saturating_sub(text::width(&right)).max(2);
    let mut name = text::wrap(&line.name, name_cols).into_iter();
    let first = name.next().unwrap_or_default();
    let mut out = vec![format!("{}{right}", text::pad_right(&first, name_cols))];
    out.extend(name);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printer::escpos::CUT_PARTIAL;
    use crate::printer::text::{encode, width};

    fn fen(f: i64) -> Fen {
        Fen::new(f).unwrap()
    }

    fn item(name: &str, qty: u32, amount: i64) -> ReceiptLine {
        ReceiptLine {
            name: name.into(),
            qty,
            amount: fen(amount),
        }
    }

    #[test]
    fn local_keeps_the_instant() {
        let t = DateTime::parse_from_rfc3339("2026-11-28T06:03:05Z")
            .unwrap()
            .to_utc();
        assert_eq!(local(t), t);
    }

    #[test]
    fn paper_widths() {
        assert_eq!((Paper::Mm58.columns(), Paper::Mm58.dots()), (32, 384));
        assert_eq!((Paper::Mm80.columns(), Paper::Mm80.dots()), (48, 576));
        assert_eq!(Paper::from_mm(58), Some(Paper::Mm58));
        assert_eq!(Paper::from_mm(76), None);
    }

    #[test]
    fn item_lines_align_numbers_right_and_fit_the_paper() {
        for paper in [Paper::Mm58, Paper::Mm80] {
            let style = Style::new(paper);
            let cols = style.columns;
            let header = item_header(&style);
            assert_eq!(width(&header), cols);
            for l in [
                item("可乐", 2, 700),
                item("Coffee", 1, 1250),
                item("茶", 999, 2_000_000),
            ] {
                let out = item_lines(&l, &style);
                assert_eq!(out.len(), 1, "{out:?}");
                assert_eq!(width(&out[0]), cols, "{out:?}");
                assert!(out[0].ends_with(&l.amount.yuan_string()));
                // Quantity and amount sit right-aligned in the header's columns.
                let (q, a) = (style.qty_columns(), style.amount_columns());
                let right = &out[0][out[0].len() - q - a..];
                assert_eq!(
                    right,
                    format!("{:>q$}{:>a$}", l.qty, l.amount.yuan_string())
                );
            }
        }
    }

    #[test]
    fn long_chinese_names_wrap_under_the_first_line() {
        let style = Style::new(Paper::Mm58);
        let l = item("特级明前西湖龙井茶叶礼盒装（250克）", 1, 36800);
        let out = item_lines(&l, &style);
        assert!(out.len() > 1, "{out:?}");
        assert_eq!(width(&out[0]), 32);
        assert!(out[0].trim_end().ends_with("368.00"));
        assert!(out.iter().all(|l| width(l) <= 32));
        // Nothing of the name is lost.
        let joined: String = out
            .iter()
            .map(|l| l.split("  ").next().unwrap().trim())
            .collect();
        assert_eq!(joined, "特级明前西湖龙井茶叶礼盒装（250克）");
    }

    fn sample_receipt(sandbox: bool) -> Receipt {
        Receipt {
            store_name: "我的小店".into(),
            order_no: "POS120261128140305AB12".into(),
            time: DateTime::parse_from_rfc3339("2026-11-28T14:03:05+08:00").unwrap(),
            lines: vec![item("可乐", 2, 700), item("薯片", 1, 550)],
            total: fen(1250),
            transaction_id: Some("4200001234202611281234567890".into()),
            cashier: Some("张三".into()),
            station: "POS1".into(),
            sandbox,
        }
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn receipt_has_the_sale_and_ends_with_the_cut() {
        for paper in [Paper::Mm58, Paper::Mm80] {
            let bytes = receipt(&sample_receipt(true), &Style::new(paper)).unwrap();
            assert!(bytes.ends_with(&CUT_PARTIAL));
            for s in [
                "我的小店",
                "2026-11-28 14:03:05",
                "￥12.50",
                "张三",
                SANDBOX_LINE,
                "4200001234202611281234567890",
            ] {
                assert!(contains(&bytes, &encode(s)), "{s} on {paper:?}");
            }
            let live = receipt(&sample_receipt(false), &Style::new(paper)).unwrap();
            assert!(!contains(&live, &encode(SANDBOX_LINE)));
        }
    }

    #[test]
    fn slips_end_with_the_cut() {
        let style = Style::new(Paper::Mm58);
        let slip = PaymentSlip {
            store_name: "我的小店".into(),
            order_no: "POS1".into(),
            amount: fen(1250),
            code_url: "weixin://wxpay/bizpayurl?pr=AbCdEfG".into(),
            expires_at: DateTime::parse_from_rfc3339("2026-11-28T14:13:05+08:00").unwrap(),
            sandbox: false,
        };
        let bytes = payment_slip(&slip, &style).unwrap();
        assert!(bytes.ends_with(&CUT_PARTIAL));
        assert!(contains(&bytes, &encode("2026-11-28 14:13:05")));
        let refund = RefundSlip {
            store_name: "我的小店".into(),
            order_no: "POS1".into(),
            refund_no: "R1".into(),
            amount: fen(700),
            time: DateTime::parse_from_rfc3339("2026-11-28T15:00:00+08:00").unwrap(),
            cashier: None,
            station: "POS1".into(),
            sandbox: true,
        };
        let bytes = refund_slip(&refund, &style);
        assert!(bytes.ends_with(&CUT_PARTIAL));
        assert!(contains(&bytes, &encode("￥7.00")));
        assert_eq!(
            drawer_kick_job(DrawerPin::Pin2),
            [0x1B, 0x40, 0x1C, 0x26, 0x1B, 0x70, 0, 25, 250]
        );
    }

    #[test]
    fn a_text_page_keeps_its_lines_and_wraps_only_what_is_too_long() {
        let style = Style::new(Paper::Mm58);
        let body = vec![
            "日结 Day report".to_owned(),
            "收款 Received (3)".to_owned() + &" ".repeat(5) + "￥36.50",
            "x".repeat(40),
        ];
        let bytes = text_page("我的小店", &body, &style, true);
        assert!(bytes.ends_with(&CUT_PARTIAL));
        // Each line whole, then its line feed (encode() would print a newline as a space).
        let line = |s: &str| [encode(s), b"\n".to_vec()].concat();
        assert!(contains(&bytes, &line("日结 Day report")));
        assert!(contains(&bytes, &line(&body[1])));
        assert!(contains(&bytes, format!("{}\n", "x".repeat(32)).as_bytes()));
        assert!(contains(&bytes, &encode(SANDBOX_LINE)));
    }

    #[test]
    fn test_page_ruler_fills_the_line() {
        let style = Style {
            columns: 42,
            ..Style::new(Paper::Mm80)
        };
        let page = test_page(&style, "店");
        assert!(contains(
            &page,
            b"123456789012345678901234567890123456789012\n"
        ));
    }
}
