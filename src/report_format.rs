//! The day report (日结) written out: the report CSV (for Excel) and the plain-text page (the terminal's
//! `paydesk report`, and the receipt printer's day-report slip). Pure functions from the ledger's
//! [`DayReport`] and [`DailyTotal`]s to bytes or lines; [`write_csv_file`] is the only one that touches a
//! file, through [`crate::fsutil::write_atomically`].
//!
//! Why here, beside `cli` and `app` rather than in the ledger: it is presentation — bilingual words, column
//! widths — over the ledger's types, used by both the command line and the window's backend (which prints
//! and exports for the window). It reads the ledger's report types, [`crate::money`], the printer's column
//! widths ([`crate::printer::text`], the same rule a terminal uses for hanzi) and the bill's fee format.
//! Not here: computing the report (the ledger), drawing the screen (`ui::day_report`), ESC/POS bytes (the
//! printer).
//!
//! The CSV is UTF-8 with a byte-order mark and CRLF line ends like the day's export, in sections separated
//! by an empty line, each a title row, a header row and its rows: summary, by status, by cashier, by
//! station, by hour, the reconciliation, the last 30 days. Amounts are exact yuan with two decimals
//! (negative nets with a `-`), the WeChat fee with the bill's five.

use std::io::{self, Write};
use std::path::Path;

use crate::ledger::ReconciliationRecord;
use crate::ledger::report::{DailyTotal, DayReport};
use crate::money::Fen;
use crate::printer::text;
use crate::wxpay::bill::Fee;

/// UTF-8 byte-order mark (Excel on a Chinese Windows needs it to read the hanzi).
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `12.50`, `-3.00`: signed fen as yuan with two decimals.
pub fn signed_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// `￥12.50`, `-￥3.00`: with the full-width yuan sign, which both a terminal and a receipt printer show.
pub fn money(fen: i64) -> String {
    let y = signed_yuan(fen);
    match y.strip_prefix('-') {
        Some(abs) => format!("-￥{abs}"),
        None => format!("￥{y}"),
    }
}

fn fen(f: Fen) -> i64 {
    f.get()
}

/// The WeChat fee of a reconciliation as the bill writes it: `0.21600` yuan.
pub fn fee_yuan(r: &ReconciliationRecord) -> String {
    Fee::from_units(r.fee_e5).yuan_string()
}

/// Where the day's reconciliation with WeChat's bill stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconciled {
    /// No reconciliation ran for the day.
    NotRun,
    /// The gateway had no bill: no WeChat trade that day.
    NoBill,
    /// Every payment and refund agrees.
    Matched { matched: u32 },
    /// Differences were found; `unexplained` of them are not explained.
    Differences { differences: u32, unexplained: u32 },
}

impl Reconciled {
    pub fn of(r: Option<&ReconciliationRecord>) -> Reconciled {
        match r {
            None => Reconciled::NotRun,
            Some(r) if !r.had_bill && r.differences == 0 => Reconciled::NoBill,
            Some(r) if r.differences == 0 => Reconciled::Matched { matched: r.matched },
            Some(r) => Reconciled::Differences {
                differences: r.differences,
                unexplained: r.unexplained,
            },
        }
    }

    /// In words, Chinese then English.
    pub fn words(self) -> String {
        match self {
            Reconciled::NotRun => "未对账 not reconciled".into(),
            Reconciled::NoBill => "无账单 no bill (no WeChat trade)".into(),
            Reconciled::Matched { matched } => format!("一致 matched ({matched})"),
            Reconciled::Differences {
                differences,
                unexplained: 0,
            } => format!("{differences} 处差异 differences, 均已说明 all explained"),
            Reconciled::Differences {
                differences,
                unexplained,
            } => format!("{differences} 处差异 differences, {unexplained} 未说明 unexplained"),
        }
    }
}

/// What went wrong writing the report CSV.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: std::path::PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The report CSV into `out` (see the module documentation for its sections).
pub fn write_csv<W: Write>(report: &DayReport, days: &[DailyTotal], out: W) -> io::Result<()> {
    let mut out = out;
    out.write_all(BOM)?;
    records(
        &mut out,
        [vec![
            "日结 day report".to_owned(),
            report.day.format("%Y-%m-%d").to_string(),
            format!("营业日开始 day starts {:02}:00", report.day_start_hour),
        ]],
    )?;
    out.write_all(b"\r\n")?;

    let s = &report.sums;
    let mut summary = vec![
        vec![
            "收款 received".into(),
            report.paid_orders.to_string(),
            signed_yuan(fen(s.received)),
        ],
        vec![
            "退款 refunded".into(),
            report.refunds.to_string(),
            signed_yuan(fen(s.refunded)),
        ],
        vec!["净额 net".into(), String::new(), signed_yuan(s.net_fen())],
    ];
    if let Some(r) = &report.reconciliation {
        summary.push(vec![
            "微信手续费 WeChat fee".into(),
            String::new(),
            fee_yuan(r),
        ]);
    }
    section(
        &mut out,
        "汇总 summary",
        &["项目 item", "笔数 count", "金额(元) amount_yuan"],
        summary,
    )?;

    section(
        &mut out,
        "按状态 by status",
        &["状态 status", "笔数 orders", "金额(元) amount_yuan"],
        report
            .by_status
            .iter()
            .map(|l| {
                vec![
                    l.status.label(),
                    l.orders.to_string(),
                    signed_yuan(fen(l.amount)),
                ]
            })
            .collect(),
    )?;

    let group_header = |who: &'static str| {
        [
            who,
            "收款笔数 paid_orders",
            "收款(元) received_yuan",
            "退款(元) refunded_yuan",
            "净额(元) net_yuan",
        ]
    };
    let sums_cells = |paid_orders: u32, sums: &crate::ledger::DaySums| {
        [
            paid_orders.to_string(),
            signed_yuan(fen(sums.received)),
            signed_yuan(fen(sums.refunded)),
            signed_yuan(sums.net_fen()),
        ]
    };
    let group_rows = |lines: &[crate::ledger::report::GroupLine]| {
        lines
            .iter()
            .map(|g| {
                std::iter::once(csv_text(&g.name))
                    .chain(sums_cells(g.paid_orders, &g.sums))
                    .collect()
            })
            .collect::<Vec<Vec<String>>>()
    };
    section(
        &mut out,
        "按收银员 by cashier",
        &group_header("收银员 cashier"),
        group_rows(&report.by_cashier),
    )?;
    section(
        &mut out,
        "按收银台 by station",
        &group_header("收银台 station"),
        group_rows(&report.by_station),
    )?;
    section(
        &mut out,
        "按小时 by hour",
        &group_header("小时 hour"),
        report
            .hourly
            .iter()
            .map(|h| {
                std::iter::once(hour_span(h.hour))
                    .chain(sums_cells(h.paid_orders, &h.sums))
                    .collect()
            })
            .collect(),
    )?;

    let state = Reconciled::of(report.reconciliation.as_ref());
    let mut recon = vec![vec!["状态 state".into(), state.words()]];
    if let Some(r) = &report.reconciliation {
        recon.push(vec![
            "对账时间 ran_at (UTC)".into(),
            r.ran_at.format("%Y-%m-%d %H:%M:%S").to_string(),
        ]);
        recon.push(vec!["一致 matched".into(), r.matched.to_string()]);
        recon.push(vec!["差异 differences".into(), r.differences.to_string()]);
        recon.push(vec!["未说明 unexplained".into(), r.unexplained.to_string()]);
        recon.push(vec!["微信手续费(元) WeChat fee_yuan".into(), fee_yuan(r)]);
    }
    section(
        &mut out,
        "对账 reconciliation with WeChat's bill",
        &["项目 item", "值 value"],
        recon,
    )?;

    let mut last = group_header("日期 day").map(str::to_owned).to_vec();
    last.truncate(5);
    records(
        &mut out,
        [vec!["近30天 last 30 days".to_owned()], last]
            .into_iter()
            .chain(days.iter().map(|d| {
                std::iter::once(d.day.format("%Y-%m-%d").to_string())
                    .chain(sums_cells(d.paid_orders, &d.sums))
                    .collect()
            })),
    )?;
    out.flush()
}

/// A section: its title row, its header row, its rows, then an empty line (which the csv crate does not
/// write, so it goes in between the writers of two sections).
fn section<W: Write>(
    out: &mut W,
    title: &str,
    header: &[&str],
    rows: Vec<Vec<String>>,
) -> io::Result<()> {
    records(
        out,
        [vec![title.to_owned()], cells(header)]
            .into_iter()
            .chain(rows),
    )?;
    out.write_all(b"\r\n")
}

fn cells(header: &[&str]) -> Vec<String> {
    header.iter().map(|s| (*s).to_owned()).collect()
}

/// Rows as CSV (quoted where needed, CRLF), rows of any length.
fn records<W: Write>(out: &mut W, rows: impl IntoIterator<Item = Vec<String>>) -> io::Result<()> {
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .flexible(true)
        .from_writer(out);
    for r in rows {
        csv.write_record(&r)?;
    }
    csv.flush()
}

/// The report CSV as a file at `path`, replaced atomically: on any failure `path` is left as it was.
pub fn write_csv_file(
    report: &DayReport,
    days: &[DailyTotal],
    path: &Path,
) -> Result<(), ReportError> {
    crate::fsutil::write_atomically(path, |tmp| {
        let file = std::fs::File::create(tmp)?;
        let mut out = io::BufWriter::new(file);
        write_csv(report, days, &mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    })
    .map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Defuse what Excel would run as a formula (a name is typed by people).
fn csv_text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

/// `09:00-10:00`.
pub fn hour_span(hour: u8) -> String {
    format!("{:02}:00-{:02}:00", hour, (hour + 1) % 24)
}

/// What the top of the printed page says besides the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageHeader {
    pub store_name: String,
    /// When the page was made, local time, `YYYY-MM-DD HH:MM`.
    pub printed_at: String,
}

/// The report as plain-text lines of at most `columns` columns (hanzi count two, as on the printer and in
/// a terminal): 32 or 48 for the receipt printer, 48 or more for a terminal. Bilingual labels.
pub fn text_page(
    report: &DayReport,
    days: &[DailyTotal],
    header: &PageHeader,
    columns: usize,
) -> Vec<String> {
    let cols = columns.max(24);
    let mut out: Vec<String> = Vec::new();
    let rule = "-".repeat(cols);
    let centre = |s: &str| {
        let w = text::width(s);
        if w >= cols {
            s.to_owned()
        } else {
            format!("{}{s}", " ".repeat((cols - w) / 2))
        }
    };
    let spread = |out: &mut Vec<String>, l: &str, r: &str| out.extend(text::spread(l, r, cols));

    if !header.store_name.is_empty() {
        out.extend(
            text::wrap(&header.store_name, cols)
                .iter()
                .map(|l| centre(l)),
        );
    }
    out.push(centre("日结 Day report"));
    out.push(centre(&format!(
        "{} ({:02}:00 起 from)",
        report.day.format("%Y-%m-%d"),
        report.day_start_hour
    )));
    out.push(rule.clone());

    let s = &report.sums;
    spread(
        &mut out,
        &format!("收款 Received ({})", report.paid_orders),
        &money(fen(s.received)),
    );
    spread(
        &mut out,
        &format!("退款 Refunds ({})", report.refunds),
        &money(fen(s.refunded)),
    );
    spread(&mut out, "净额 Net", &money(s.net_fen()));
    if let Some(r) = &report.reconciliation {
        spread(
            &mut out,
            "微信手续费 WeChat fee",
            &format!("￥{}", fee_yuan(r)),
        );
    }
    out.push("对账 Reconciliation".into());
    out.extend(
        text::wrap(
            &Reconciled::of(report.reconciliation.as_ref()).words(),
            cols - 2,
        )
        .into_iter()
        .map(|l| format!("  {l}")),
    );
    out.push(rule.clone());

    out.push("按状态 By status".into());
    if report.by_status.is_empty() {
        out.push("  无订单 no orders".into());
    }
    for l in &report.by_status {
        let amount = money(fen(l.amount));
        let both = format!("  {} ×{}", l.status.label(), l.orders);
        // On narrow paper a long status keeps its Chinese word only, so the line stays one line.
        let left = if text::width(&both) + 1 + text::width(&amount) <= cols {
            both
        } else {
            format!("  {} ×{}", l.status.word_zh(), l.orders)
        };
        spread(&mut out, &left, &amount);
    }

    for (title, lines) in [
        ("按收银员 By cashier", &report.by_cashier),
        ("按收银台 By station", &report.by_station),
    ] {
        if lines.is_empty() {
            continue;
        }
        out.push(rule.clone());
        out.push(title.into());
        for g in lines {
            let name = if g.name.is_empty() { "—" } else { &g.name };
            spread(
                &mut out,
                &format!("  {name} ×{}", g.paid_orders),
                &money(g.sums.net_fen()),
            );
            spread(
                &mut out,
                "    收 in / 退 back",
                &format!(
                    "{} / {}",
                    signed_yuan(fen(g.sums.received)),
                    signed_yuan(fen(g.sums.refunded))
                ),
            );
        }
    }

    if !report.hourly.is_empty() {
        out.push(rule.clone());
        out.push("按小时 By hour (净额 net)".into());
        let max = report
            .hourly
            .iter()
            .map(|h| h.sums.net_fen().max(0))
            .max()
            .unwrap_or(0);
        // "09:00 ×3 " then a bar, then the net right-aligned.
        for h in &report.hourly {
            let left = format!("{:02}:00 ×{:<3}", h.hour, h.paid_orders);
            let right = money(h.sums.net_fen());
            let room = cols.saturating_sub(text::width(&left) + text::width(&right) + 2);
            let bar = if max > 0 && room > 0 {
                let n = (h.sums.net_fen().max(0) as i128 * room as i128 / max as i128) as usize;
                "#".repeat(n)
            } else {
                String::new()
            };
            spread(&mut out, &format!("{left}{bar}"), &right);
        }
    }

    if !days.is_empty() {
        out.push(rule.clone());
        let net: i64 = days.iter().map(|d| d.sums.net_fen()).sum();
        let orders: u32 = days.iter().map(|d| d.paid_orders).sum();
        spread(
            &mut out,
            &format!("近{}天 Last {} days ×{orders}", days.len(), days.len()),
            &money(net),
        );
    }
    out.push(rule);
    if !header.printed_at.is_empty() {
        out.push(format!("打印 Printed {}", header.printed_at));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::report::{GroupLine, HourLine, StatusLine};
    use crate::ledger::{DaySums, OrderStatus};
    use chrono::{NaiveDate, TimeZone, Utc};

    fn f(x: i64) -> Fen {
        Fen::new(x).unwrap()
    }

    fn sums(r: i64, b: i64) -> DaySums {
        DaySums {
            received: f(r),
            refunded: f(b),
        }
    }

    pub(crate) fn sample(recon: bool) -> DayReport {
        DayReport {
            day: NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
            day_start_hour: 4,
            by_status: vec![
                StatusLine {
                    status: OrderStatus::Paid,
                    orders: 3,
                    amount: f(3650),
                },
                StatusLine {
                    status: OrderStatus::Expired,
                    orders: 1,
                    amount: f(990),
                },
                StatusLine {
                    status: OrderStatus::Refunded,
                    orders: 1,
                    amount: f(500),
                },
            ],
            sums: sums(4150, 800),
            paid_orders: 4,
            refunds: 2,
            by_cashier: vec![
                GroupLine {
                    name: "=张三".into(),
                    paid_orders: 3,
                    sums: sums(3150, 800),
                },
                GroupLine {
                    name: "李四".into(),
                    paid_orders: 1,
                    sums: sums(1000, 0),
                },
            ],
            by_station: vec![GroupLine {
                name: "POS1".into(),
                paid_orders: 4,
                sums: sums(4150, 800),
            }],
            hourly: vec![
                HourLine {
                    hour: 9,
                    paid_orders: 3,
                    sums: sums(3650, 0),
                },
                HourLine {
                    hour: 23,
                    paid_orders: 1,
                    sums: sums(500, 800),
                },
            ],
            reconciliation: recon.then(|| ReconciliationRecord {
                day: NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
                ran_at: Utc.with_ymd_and_hms(2026, 11, 29, 3, 0, 0).unwrap(),
                had_bill: true,
                matched: 6,
                differences: 1,
                unexplained: 0,
                fee_e5: 24_900,
                report: String::new(),
            }),
        }
    }

    fn days() -> Vec<DailyTotal> {
        let last = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        (0..30)
            .rev()
            .map(|i| DailyTotal {
                day: last - chrono::Duration::days(i),
                paid_orders: 1,
                sums: sums(100 * (30 - i), 0),
            })
            .collect()
    }

    #[test]
    fn money_is_exact_and_signed() {
        assert_eq!(signed_yuan(0), "0.00");
        assert_eq!(signed_yuan(5), "0.05");
        assert_eq!(signed_yuan(-305), "-3.05");
        assert_eq!(signed_yuan(123_456_789), "1234567.89");
        assert_eq!(money(-300), "-￥3.00");
        assert_eq!(money(1250), "￥12.50");
    }

    #[test]
    fn reconciliation_in_words() {
        assert_eq!(Reconciled::of(None).words(), "未对账 not reconciled");
        let mut r = sample(true).reconciliation.unwrap();
        assert!(Reconciled::of(Some(&r)).words().contains("1 处差异"));
        r.unexplained = 1;
        assert!(Reconciled::of(Some(&r)).words().contains("1 未说明"));
        r.differences = 0;
        r.unexplained = 0;
        assert_eq!(Reconciled::of(Some(&r)).words(), "一致 matched (6)");
        r.had_bill = false;
        assert_eq!(Reconciled::of(Some(&r)), Reconciled::NoBill);
        assert_eq!(fee_yuan(&r), "0.24900");
    }

    fn csv_text_of(report: &DayReport) -> String {
        let mut buf = Vec::new();
        write_csv(report, &days(), &mut buf).unwrap();
        assert!(buf.starts_with(BOM));
        String::from_utf8(buf[3..].to_vec()).unwrap()
    }

    #[test]
    fn the_csv_has_every_section_in_exact_yuan_with_crlf() {
        let text = csv_text_of(&sample(true));
        // Every line ends with CRLF; sections are apart by an empty line.
        assert!(!text.replace("\r\n", "").contains('\n'), "{text}");
        assert!(text.contains("\r\n\r\n按状态 by status\r\n"), "{text}");
        for line in [
            "日结 day report,2026-11-28,营业日开始 day starts 04:00",
            "收款 received,4,41.50",
            "退款 refunded,2,8.00",
            "净额 net,,33.50",
            "微信手续费 WeChat fee,,0.24900",
            "已支付 paid,3,36.50",
            "已过期 expired,1,9.90",
            // A name Excel would read as a formula is defused.
            "'=张三,3,31.50,8.00,23.50",
            "POS1,4,41.50,8.00,33.50",
            "09:00-10:00,3,36.50,0.00,36.50",
            "23:00-00:00,1,5.00,8.00,-3.00",
            "状态 state,\"1 处差异 differences, 均已说明 all explained\"",
            "2026-10-30,1,1.00,0.00,1.00",
            "2026-11-28,1,30.00,0.00,30.00",
        ] {
            assert!(text.contains(&format!("{line}\r\n")), "{line} in\n{text}");
        }
        let order: Vec<usize> = [
            "汇总 summary",
            "按状态",
            "按收银员",
            "按收银台",
            "按小时",
            "对账",
            "近30天",
        ]
        .iter()
        .map(|s| text.find(s).unwrap())
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        // Read back with a CSV reader: the summary rows parse.
        let mut rd = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
        assert!(rows.iter().any(|r| &r[0] == "净额 net" && &r[2] == "33.50"));
    }

    #[test]
    fn without_a_reconciliation_the_csv_says_so_and_has_no_fee() {
        let text = csv_text_of(&sample(false));
        assert!(
            text.contains("状态 state,未对账 not reconciled\r\n"),
            "{text}"
        );
        assert!(!text.contains("微信手续费"), "{text}");
    }

    #[test]
    fn the_file_is_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("day.csv");
        write_csv_file(&sample(true), &days(), &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(BOM));
        let missing = dir.path().join("no-such-dir").join("day.csv");
        let e = write_csv_file(&sample(true), &days(), &missing).unwrap_err();
        assert!(e.to_string().contains("no-such-dir"), "{e}");
        assert!(!missing.exists());
    }

    #[test]
    fn the_page_fits_the_paper_and_carries_the_numbers() {
        let header = PageHeader {
            store_name: "我的小店".into(),
            printed_at: "2026-11-29 00:30".into(),
        };
        for cols in [32, 48, 64] {
            let page = text_page(&sample(true), &days(), &header, cols);
            for l in &page {
                assert!(text::width(l) <= cols, "{cols}: {l:?} is too wide");
            }
            let all = page.join("\n");
            for s in [
                "我的小店",
                "日结 Day report",
                "2026-11-28 (04:00 起 from)",
                "￥41.50",
                "￥8.00",
                "￥33.50",
                "￥0.24900",
                "均已说明",
                "=张三 ×3",
                "李四 ×1",
                "POS1 ×4",
                "-￥3.00",
                "近30天 Last 30 days ×30",
                "￥465.00",
                "打印 Printed 2026-11-29 00:30",
            ] {
                assert!(all.contains(s), "{s} at {cols} columns:\n{all}");
            }
        }
        // The busiest hour has the longest bar.
        let page = text_page(&sample(true), &days(), &header, 48);
        let nine = page.iter().find(|l| l.starts_with("09:00")).unwrap();
        let eleven = page.iter().find(|l| l.starts_with("23:00")).unwrap();
        assert!(nine.matches('#').count() > 10, "{nine}");
        assert_eq!(eleven.matches('#').count(), 0, "{eleven}");
    }

    #[test]
    fn an_empty_day_still_makes_a_page() {
        let empty = DayReport {
            by_status: vec![],
            by_cashier: vec![],
            by_station: vec![],
            hourly: vec![],
            sums: sums(0, 0),
            paid_orders: 0,
            refunds: 0,
            reconciliation: None,
            ..sample(false)
        };
        let page = text_page(&empty, &[], &PageHeader::default(), 32).join("\n");
        assert!(page.contains("无订单 no orders"), "{page}");
        assert!(page.contains("未对账"), "{page}");
    }
}
