//! Receipt printing end to end: jobs sent to a fake network printer on 127.0.0.1 (and to a file), then
//! decoded back — ESC/POS commands stripped, GB18030 text decoded, the QR payload read out of the
//! `GS ( k` store command — and checked against what was printed.
//!
//! The decoder here is the tests' own and knows only the commands PayDesk is meant to send: anything
//! else fails the test, so a stray or malformed command cannot slip through.

mod support;

use std::net::TcpListener;
use std::time::Duration;

use chrono::DateTime;
use paydesk::money::Fen;
use paydesk::printer::escpos::{CUT_PARTIAL, DLE, EOT};
use paydesk::printer::{
    self, DrawerPin, Paper, PaymentSlip, PrintErrorKind, Printer, PrinterSection, QrMode, Receipt,
    ReceiptLine, SANDBOX_LINE, Style, Target,
};
use support::escpos::{FakePrinter, decode};

const ORDER_NO: &str = "POS120261128140305AB12";
const TRANSACTION_ID: &str = "4200001234202611281234567890";

const READY: [u8; 3] = [0x12, 0x12, 0x12];

fn fen(f: i64) -> Fen {
    Fen::new(f).unwrap()
}

fn sample_receipt(sandbox: bool) -> Receipt {
    Receipt {
        store_name: "张记便利店".into(),
        order_no: ORDER_NO.into(),
        time: DateTime::parse_from_rfc3339("2026-11-28T14:03:05+08:00").unwrap(),
        lines: vec![
            ReceiptLine {
                name: "可口可乐 330ml".into(),
                qty: 2,
                amount: fen(700),
            },
            ReceiptLine {
                name: "特级明前西湖龙井茶叶礼盒装（250克）".into(),
                qty: 1,
                amount: fen(36800),
            },
        ],
        total: fen(37500),
        transaction_id: Some(TRANSACTION_ID.into()),
        cashier: Some("李四".into()),
        station: "POS1".into(),
        sandbox,
    }
}

fn native(paper: Paper) -> Style {
    Style {
        qr: QrMode::Native,
        ..Style::new(paper)
    }
}

#[tokio::test]
async fn a_paid_sale_prints_its_receipt_to_a_network_printer() {
    let fake = FakePrinter::start(Some(READY));
    let job = printer::receipt(&sample_receipt(true), &native(Paper::Mm58)).unwrap();
    let delivered = fake.printer().send(job.clone()).await.unwrap();
    assert_eq!(delivered.status, Some(Default::default()));
    assert!(!delivered.paper_low());

    let bytes = fake.bytes();
    // Status first, then exactly the job, ending with the cut.
    assert_eq!(&bytes[..9], &[DLE, EOT, 1, DLE, EOT, 2, DLE, EOT, 4]);
    assert_eq!(&bytes[9..], &job[..]);
    assert!(bytes.ends_with(&CUT_PARTIAL), "the cut comes last");

    let d = decode(&bytes);
    assert_eq!(d.status_queries, [1, 2, 4]);
    assert_eq!(
        d.qr_payloads,
        [ORDER_NO.as_bytes()],
        "the QR holds the order number"
    );
    assert!(d.rasters.is_empty());
    let lines = d.lines();
    assert_eq!(lines[0], "张记便利店");
    assert_eq!(
        lines.iter().filter(|l| **l == SANDBOX_LINE).count(),
        2,
        "{lines:#?}"
    );
    for want in [
        ORDER_NO,
        "2026-11-28 14:03:05",
        "POS1",
        "李四",
        TRANSACTION_ID,
        "谢谢惠顾",
    ] {
        assert!(d.text.contains(want), "{want} missing from\n{}", d.text);
    }
    // Every line fits 32 columns; numbers are right-aligned in theirs.
    for l in &lines {
        assert!(printer::text::width(l) <= 32, "{l:?} is too wide");
    }
    let coke = lines.iter().find(|l| l.starts_with("可口可乐")).unwrap();
    assert_eq!(printer::text::width(coke), 32);
    assert!(coke.ends_with("    2      7.00"), "{coke:?}");
    let tea = lines.iter().position(|l| l.starts_with("特级")).unwrap();
    assert!(lines[tea].ends_with("    1    368.00"), "{}", lines[tea]);
    assert!(
        lines[tea + 1].starts_with("茶叶礼盒装"),
        "the long name wraps below"
    );
    let total = lines.iter().find(|l| l.starts_with("合计")).unwrap();
    assert!(total.ends_with("￥375.00"), "{total:?}");
}

#[test]
fn a_live_receipt_on_80mm_with_a_raster_qr_and_no_sandbox_line() {
    let fake = FakePrinter::start(Some(READY));
    let job = printer::receipt(&sample_receipt(false), &Style::new(Paper::Mm80)).unwrap();
    fake.printer().send_blocking(&job).unwrap();
    let d = decode(&fake.bytes());
    assert!(!d.text.contains(SANDBOX_LINE));
    assert!(d.qr_payloads.is_empty());
    assert_eq!(d.rasters.len(), 1);
    let (row_bytes, _) = d.rasters[0];
    assert!(row_bytes * 8 <= 576, "the image fits 80 mm paper");
    assert!(d.lines().iter().all(|l| printer::text::width(l) <= 48));
    // 80 mm has a 30-column name column: more of the long name on its first line.
    assert!(
        d.lines()
            .iter()
            .any(|l| l.starts_with("特级明前西湖龙井茶叶礼盒装") && l.ends_with("368.00"))
    );
}

#[test]
fn the_settings_drive_a_payment_slip_with_the_code_url() {
    let fake = FakePrinter::start(Some(READY));
    let section: PrinterSection = toml::from_str(&format!(
        "kind = \"tcp\"\naddress = \"{}\"\nwidth = 58\nqr = \"native\"\ndrawer_kick = true\n",
        fake.addr
    ))
    .unwrap();
    let config = section.validate().unwrap();
    assert_eq!(config.drawer_kick, Some(DrawerPin::Pin2));
    let code_url = "weixin://wxpay/bizpayurl?pr=AbCdEfG";
    let slip = PaymentSlip {
        store_name: "张记便利店".into(),
        order_no: ORDER_NO.into(),
        amount: fen(1250),
        code_url: code_url.into(),
        expires_at: DateTime::parse_from_rfc3339("2026-11-28T14:13:05+08:00").unwrap(),
        sandbox: false,
    };
    let job = printer::payment_slip(&slip, &config.style).unwrap();
    config.printer().send_blocking(&job).unwrap();
    let bytes = fake.bytes();
    let d = decode(&bytes);
    assert_eq!(d.qr_payloads, [code_url.as_bytes()]);
    assert!(
        d.text.contains("￥12.50") && d.text.contains("2026-11-28 14:13:05"),
        "{}",
        d.text
    );
    assert!(bytes.ends_with(&CUT_PARTIAL));
}

#[test]
fn the_drawer_kick_is_a_job_of_its_own() {
    let fake = FakePrinter::start(None);
    let printer = fake.printer().with_status_check(false);
    printer
        .send_blocking(&printer::drawer_kick_job(DrawerPin::Pin2))
        .unwrap();
    let d = decode(&fake.bytes());
    assert_eq!(d.drawer_kicks, [(0, 25, 250)]);
    assert!(d.text.is_empty() && d.status_queries.is_empty());
}

#[test]
fn an_empty_roll_is_reported_and_nothing_is_sent() {
    // Offline because the paper ran out.
    let fake = FakePrinter::start(Some([0x1A, 0x32, 0x72]));
    let job = printer::receipt(&sample_receipt(true), &native(Paper::Mm58)).unwrap();
    let err = fake.printer().send_blocking(&job).unwrap_err();
    assert_eq!(err.kind(), PrintErrorKind::OutOfPaper, "{err}");
    assert!(err.to_string().contains("load a new roll"), "{err}");
    assert_eq!(fake.bytes(), [DLE, EOT, 1, DLE, EOT, 2, DLE, EOT, 4]);
}

#[test]
fn a_nearly_empty_roll_still_prints_and_says_so() {
    let fake = FakePrinter::start(Some([0x12, 0x12, 0x1E]));
    let job = printer::receipt(&sample_receipt(true), &native(Paper::Mm58)).unwrap();
    let delivered = fake.printer().send_blocking(&job).unwrap();
    assert!(delivered.paper_low());
    assert!(fake.bytes().ends_with(&CUT_PARTIAL));
}

#[test]
fn a_printer_that_does_not_answer_status_still_prints() {
    let fake = FakePrinter::start(None);
    let job = printer::receipt(&sample_receipt(true), &native(Paper::Mm58)).unwrap();
    let delivered = fake.printer().send_blocking(&job).unwrap();
    assert_eq!(delivered.status, None);
    let bytes = fake.bytes();
    assert_eq!(&bytes[9..], &job[..]);
}

#[test]
fn a_closed_port_is_reported_at_once_as_unreachable() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    // A long timeout: a refused connection must not wait for it.
    let printer = Printer::new(
        Target::tcp(&format!("127.0.0.1:{port}")),
        Duration::from_secs(60),
    );
    let err = printer.send_blocking(b"job").unwrap_err();
    assert_eq!(err.kind(), PrintErrorKind::Unreachable, "{err}");
    let msg = err.to_string();
    assert!(msg.contains("connection refused"), "{msg}");
    assert!(msg.contains("switched on"), "{msg}");
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
}

#[test]
fn jobs_written_to_a_file_decode_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("receipt.bin");
    let section: PrinterSection = toml::from_str(&format!(
        "kind = \"file\"\npath = {:?}\nqr = \"native\"\n",
        path
    ))
    .unwrap();
    let config = section.validate().unwrap();
    let job = printer::receipt(&sample_receipt(true), &config.style).unwrap();
    config.printer().send_blocking(&job).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes, job, "no status query on a file");
    let d = decode(&bytes);
    assert_eq!(d.qr_payloads, [ORDER_NO.as_bytes()]);
    assert!(d.text.contains(SANDBOX_LINE));
}

/// The day report (日结) on 58 mm paper: the page `paydesk report` shows, laid out for 32 columns, printed
/// under the store's name, every line within the paper and every figure readable back in GB18030.
#[test]
fn the_day_report_prints_within_the_paper() {
    use paydesk::ledger::report::{DayReport, GroupLine, HourLine, StatusLine};
    use paydesk::ledger::{DaySums, OrderStatus};
    let sums = |r: i64, b: i64| DaySums {
        received: fen(r),
        refunded: fen(b),
    };
    let report = DayReport {
        day: chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
        day_start_hour: 0,
        by_status: vec![StatusLine {
            status: OrderStatus::PaidAfterCancel,
            orders: 1,
            amount: fen(4150),
        }],
        sums: sums(4150, 800),
        paid_orders: 1,
        refunds: 1,
        by_cashier: vec![GroupLine {
            name: "李四".into(),
            paid_orders: 1,
            sums: sums(4150, 800),
        }],
        by_station: vec![],
        hourly: vec![HourLine {
            hour: 14,
            paid_orders: 1,
            sums: sums(4150, 800),
        }],
        reconciliation: None,
    };
    for paper in [Paper::Mm58, Paper::Mm80] {
        let style = Style::new(paper);
        let body = paydesk::report_format::text_page(
            &report,
            &[],
            &paydesk::report_format::PageHeader::default(),
            style.columns,
        );
        let job = printer::text_page("张记便利店", &body, &style, true);
        assert!(job.ends_with(&CUT_PARTIAL));
        let d = decode(&job);
        let lines = d.lines();
        assert_eq!(lines[0], "张记便利店");
        assert_eq!(lines.iter().filter(|l| **l == SANDBOX_LINE).count(), 2);
        for l in &lines {
            assert!(
                printer::text::width(l) <= style.columns,
                "{l:?} is too wide for {paper:?}"
            );
        }
        // Each status on one line, its orders and amount beside it.
        let status = lines.iter().find(|l| l.contains("取消后已支付")).unwrap();
        assert!(
            status.contains("×1") && status.ends_with("￥41.50"),
            "{status:?}"
        );
        for want in [
            "日结 Day report",
            "2026-11-28",
            "取消后已支付",
            "￥41.50",
            "￥8.00",
            "￥33.50",
            "李四 ×1",
            "14:00 ×1",
            "未对账 not reconciled",
        ] {
            assert!(d.text.contains(want), "{want} missing from\n{}", d.text);
        }
    }
}
