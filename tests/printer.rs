//! Receipt printing end to end: jobs sent to a fake network printer on 127.0.0.1 (and to a file), then
//! decoded back — ESC/POS commands stripped, GB18030 text decoded, the QR payload read out of the
//! `GS ( k` store command — and checked against what was printed.
//!
//! The decoder here is the tests' own and knows only the commands PayDesk is meant to send: anything
//! else fails the test, so a stray or malformed command cannot slip through.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::DateTime;
use paydesk::money::Fen;
use paydesk::printer::escpos::{CUT_PARTIAL, DLE, EOT, ESC, FS, GS, LF};
use paydesk::printer::{
    self, DrawerPin, Paper, PaymentSlip, PrintErrorKind, Printer, PrinterSection, QrMode, Receipt,
    ReceiptLine, SANDBOX_LINE, Style, Target,
};

const ORDER_NO: &str = "POS120261128140305AB12";
const TRANSACTION_ID: &str = "4200001234202611281234567890";

/// Everything a job says once its commands are taken out.
#[derive(Debug, Default)]
struct Decoded {
    /// The printed text, one `\n` per line feed.
    text: String,
    /// Data of every `GS ( k` store command (fn 80).
    qr_payloads: Vec<Vec<u8>>,
    /// `GS v 0` images: (bytes per row, rows).
    rasters: Vec<(usize, usize)>,
    /// `DLE EOT n` queries, in order.
    status_queries: Vec<u8>,
    /// `ESC p` drawer kicks: (m, t1, t2).
    drawer_kicks: Vec<(u8, u8, u8)>,
}

impl Decoded {
    fn lines(&self) -> Vec<&str> {
        self.text.lines().collect()
    }
}

fn decode(bytes: &[u8]) -> Decoded {
    let mut out = Decoded::default();
    let mut run: Vec<u8> = Vec::new();
    let flush = |run: &mut Vec<u8>, text: &mut String| {
        if !run.is_empty() {
            let (s, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(run);
            assert!(!had_errors, "text that is not GB18030: {run:02X?}");
            text.push_str(&s);
            run.clear();
        }
    };
    let mut i = 0;
    while i < bytes.len() {
        let at = |k: usize| {
            *bytes
                .get(i + k)
                .unwrap_or_else(|| panic!("job cut short at {i}"))
        };
        let len = match at(0) {
            ESC => match at(1) {
                b'@' => 2,
                b'a' | b'E' | b'd' => 3,
                b'p' => {
                    out.drawer_kicks.push((at(2), at(3), at(4)));
                    5
                }
                other => panic!("unexpected ESC {other:#04X} at {i}"),
            },
            GS => match at(1) {
                b'!' => 3,
                b'V' if at(2) >= 65 => 4,
                b'V' => 3,
                b'(' if at(2) == b'k' => {
                    let params = usize::from(at(3)) + 256 * usize::from(at(4));
                    assert_eq!(at(5), 49, "GS ( k for a QR code");
                    if at(6) == 80 {
                        out.qr_payloads.push(bytes[i + 8..i + 5 + params].to_vec());
                    }
                    5 + params
                }
                b'v' if at(2) == b'0' => {
                    let x = usize::from(at(4)) + 256 * usize::from(at(5));
                    let y = usize::from(at(6)) + 256 * usize::from(at(7));
                    out.rasters.push((x, y));
                    8 + x * y
                }
                other => panic!("unexpected GS {other:#04X} at {i}"),
            },
            FS => match at(1) {
                b'&' | b'.' => 2,
                b'!' => 3,
                other => panic!("unexpected FS {other:#04X} at {i}"),
            },
            DLE => {
                assert_eq!(at(1), EOT, "DLE EOT");
                out.status_queries.push(at(2));
                3
            }
            LF => {
                flush(&mut run, &mut out.text);
                out.text.push('\n');
                1
            }
            b if b < 0x20 => panic!("unexpected control byte {b:#04X} at {i}"),
            b => {
                run.push(b);
                1
            }
        };
        if len > 1 || bytes[i] < 0x20 {
            flush(&mut run, &mut out.text);
        }
        assert!(i + len <= bytes.len(), "command at {i} runs past the end");
        i += len;
    }
    flush(&mut run, &mut out.text);
    out
}

/// A network printer on 127.0.0.1 that answers the status queries at the start of a connection with
/// `status` (when given) and hands back every byte it received.
struct FakePrinter {
    addr: SocketAddr,
    received: JoinHandle<Vec<u8>>,
}

impl FakePrinter {
    fn start(status: Option<[u8; 3]>) -> FakePrinter {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let received = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            // A safety net against a hung test, not a timing assumption.
            conn.set_read_timeout(Some(Duration::from_secs(60)))
                .unwrap();
            let mut all = Vec::new();
            let mut answered = 0;
            let mut buf = [0u8; 4096];
            loop {
                let n = conn.read(&mut buf).expect("read from the client");
                if n == 0 {
                    return all;
                }
                all.extend_from_slice(&buf[..n]);
                // Only the queries that open a connection are answered: the same bytes can occur
                // inside an image later on.
                while let Some(status) = status
                    && answered < 3
                    && all.len() >= 3 * (answered + 1)
                    && all[3 * answered..3 * answered + 2] == [DLE, EOT]
                {
                    let n = all[3 * answered + 2];
                    let byte = match n {
                        1 => status[0],
                        2 => status[1],
                        4 => status[2],
                        other => panic!("status query {other}"),
                    };
                    conn.write_all(&[byte]).unwrap();
                    answered += 1;
                }
            }
        });
        FakePrinter { addr, received }
    }

    fn printer(&self) -> Printer {
        Printer::new(Target::tcp(&self.addr.to_string()), Duration::from_secs(10))
    }

    fn bytes(self) -> Vec<u8> {
        self.received.join().expect("fake printer")
    }
}

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
