//! `paydesk export`, `paydesk orders` and `paydesk backup`, driving the real binary against a ledger in a
//! temporary data directory, with the time zone pinned to Beijing through `TZ`.
//!
//! Windows programs ignore `TZ` (they take the zone from the system settings), so the tests that pin a zone
//! are skipped there: they would test the machine's zone instead.

use std::path::Path;
use std::process::{Command, Output};

use chrono::{Duration, FixedOffset, TimeZone, Utc};
use paydesk::ledger::{Evidence, Input, ItemLine, Ledger, NewOrder, PaymentFacts, Source};
use paydesk::money::Fen;

fn paydesk(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_paydesk"))
        .args(args)
        .env("PAYDESK_DATA_DIR", data_dir)
        // Never the developer's own configuration: a file that does not exist means the defaults.
        .env("PAYDESK_CONFIG", data_dir.join("no-config.toml"))
        .env("TZ", "Asia/Shanghai")
        .output()
        .unwrap()
}

fn seed(data_dir: &Path) {
    let ledger = Ledger::open(&data_dir.join("ledger.sqlite3")).unwrap();
    let bj = FixedOffset::east_opt(8 * 3600).unwrap();
    for (otn, h, paid) in [("C1", 1, true), ("C2", 12, true), ("C3", 13, false)] {
        let created = bj
            .with_ymd_and_hms(2026, 11, 27, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let items = vec![
            ItemLine::new("可乐", Fen::new(350).unwrap(), 2).unwrap(),
            ItemLine::new("薯片, 大", Fen::new(550).unwrap(), 1).unwrap(),
        ];
        let o = NewOrder {
            out_trade_no: otn.into(),
            station: "前台1".into(),
            cashier: "小王".into(),
            created_at: created,
            expires_at: created + Duration::minutes(5),
            total: Fen::new(1250).unwrap(),
            items,
            body: "PayDesk".into(),
            notify_url: "http://127.0.0.1:9/notify".into(),
            spbill_create_ip: "127.0.0.1".into(),
            product_id: otn.into(),
            device_info: None,
            time_start: created,
            time_expire: created + Duration::minutes(5),
        };
        ledger.create_order(&o).unwrap();
        if paid {
            let p = PaymentFacts {
                transaction_id: format!("T{otn}"),
                total_fee: o.total,
                cash_fee: None,
                time_end: None,
                bank_type: None,
                openid: None,
            };
            ledger
                .apply(
                    otn,
                    Input::Paid,
                    &Evidence::paid(Source::Notify, p, "notify"),
                    created,
                )
                .unwrap();
        }
    }
}

#[test]
#[cfg_attr(windows, ignore = "pins the time zone with TZ, which Windows ignores")]
fn export_orders_and_backup_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());

    let out = paydesk(dir.path(), &["export", "--date", "2026-11-27"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(out.stdout[3..].to_vec()).unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(text.ends_with("\r\n"), "CRLF line ends");
    assert!(lines[0].starts_with("时间 time,"));
    assert_eq!(
        lines[1],
        "2026-11-27 01:00:00,C1,TC1,\"可乐 ×2; 薯片, 大 ×1\",12.50,已支付 paid,小王,前台1,,12.50,0.00,\
         12.50"
    );

    // Open past midnight: 01:00 belongs to the 26th.
    let out = paydesk(
        dir.path(),
        &["export", "--date", "2026-11-26", "--day-start-hour", "4"],
    );
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);

    let file = dir.path().join("day.csv");
    let out = paydesk(
        dir.path(),
        &[
            "export",
            "--date",
            "2026-11-27",
            "--out",
            file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("wrote 3 rows to"), "{stderr}");
    assert!(std::fs::read(&file).unwrap().starts_with(b"\xEF\xBB\xBF"));

    let out = paydesk(dir.path(), &["orders", "--date", "2026-11-27"]);
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("C3"), "{table}");
    assert!(table.contains("¥12.50"), "{table}");
    assert!(table.contains("创建中 creating"), "{table}");
    assert!(
        table.contains("3 orders on 2026-11-27; received ¥25.00"),
        "{table}"
    );

    let copy = dir.path().join("copy.sqlite3");
    let out = paydesk(dir.path(), &["backup", copy.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored = Ledger::open(&copy).unwrap();
    assert!(restored.order("C2").unwrap().is_some());

    let out = paydesk(dir.path(), &["export", "--date", "27/11/2026"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a date like"));
}

#[test]
fn without_a_ledger_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let out = paydesk(dir.path(), &["orders"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("No orders"));
    let out = paydesk(dir.path(), &["export", "--date", "2026-11-27"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no ledger at"));
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_damaged_ledger_is_reported_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    std::fs::write(
        &path,
        b"definitely not a database, but long enough to have a header. ".repeat(4),
    )
    .unwrap();
    let before = std::fs::read(&path).unwrap();
    let out = paydesk(dir.path(), &["orders"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not a PayDesk ledger"), "{stderr}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

/// Business days across daylight-saving changes (New York, 2026): the day starts at the first instant whose
/// local time is the start hour or later.
#[test]
#[cfg_attr(windows, ignore = "pins the time zone with TZ, which Windows ignores")]
fn business_days_across_daylight_saving_changes() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("ledger.sqlite3")).unwrap();
    let utc =
        |d: u32, m: u32, h: u32, min: u32| Utc.with_ymd_and_hms(2026, m, d, h, min, 0).unwrap();
    let orders = [
        // 8 March: 02:00 EST does not exist; clocks jump to 03:00 EDT at 07:00 UTC.
        ("M-0159", utc(8, 3, 6, 59)), // 01:59 EST, 8 March
        ("M-0300", utc(8, 3, 7, 0)),  // 03:00 EDT, 8 March
        // 1 November: 01:00–02:00 happens twice; the day starting at 01:00 starts at the first one.
        ("N-0059", utc(1, 11, 4, 59)),  // 00:59 EDT
        ("N-0130", utc(1, 11, 5, 30)),  // 01:30 EDT (the first 01:30)
        ("N-0130b", utc(1, 11, 6, 30)), // 01:30 EST (the second)
    ];
    for (otn, t) in orders {
        let o = NewOrder {
            out_trade_no: otn.into(),
            station: "s".into(),
            cashier: "c".into(),
            created_at: t,
            expires_at: t,
            total: Fen::new(100).unwrap(),
            items: vec![ItemLine::new("x", Fen::new(100).unwrap(), 1).unwrap()],
            body: "b".into(),
            notify_url: "n".into(),
            spbill_create_ip: "127.0.0.1".into(),
            product_id: otn.into(),
            device_info: None,
            time_start: t,
            time_expire: t,
        };
        ledger.create_order(&o).unwrap();
    }
    drop(ledger);
    let day = |date: &str, hour: &str| -> Vec<String> {
        let out = Command::new(env!("CARGO_BIN_EXE_paydesk"))
            .args(["export", "--date", date, "--day-start-hour", hour])
            .env("PAYDESK_DATA_DIR", dir.path())
            .env("PAYDESK_CONFIG", dir.path().join("no-config.toml"))
            .env("TZ", "America/New_York")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout[3..].to_vec()).unwrap();
        text.lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap().to_string())
            .collect()
    };
    assert_eq!(day("2026-03-07", "2"), ["M-0159"]);
    assert_eq!(day("2026-03-08", "2"), ["M-0300"]);
    assert_eq!(day("2026-10-31", "1"), ["N-0059"]);
    assert_eq!(day("2026-11-01", "1"), ["N-0130", "N-0130b"]);
}

/// `paydesk orders` lists a day's refunds under its orders and the day's received, refunded and net;
/// `paydesk export` gives each refund its own negative row.
#[test]
#[cfg_attr(windows, ignore = "pins the time zone with TZ, which Windows ignores")]
fn orders_and_export_show_the_days_refunds() {
    use paydesk::ledger::{NewRefund, RefundEvidence, RefundInput, RefundSource};
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    let ledger = Ledger::open(&dir.path().join("ledger.sqlite3")).unwrap();
    let bj = FixedOffset::east_opt(8 * 3600).unwrap();
    let t = |d: u32, h: u32| {
        bj.with_ymd_and_hms(2026, 11, d, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    };
    let refund = |orn: &str, amount: i64, created: chrono::DateTime<Utc>| NewRefund {
        out_refund_no: orn.into(),
        out_trade_no: "C1".into(),
        amount: Fen::new(amount).unwrap(),
        reason: "少找零".into(),
        approved_by: "店长".into(),
        source: RefundSource::Till,
        created_at: created,
    };
    ledger
        .create_refund(&refund("RC1", 500, t(27, 14)))
        .unwrap();
    for input in [RefundInput::Accepted, RefundInput::Succeeded] {
        ledger
            .apply_refund(
                "RC1",
                input,
                &RefundEvidence::new(Source::Refund, "refund"),
                t(27, 15),
            )
            .unwrap();
    }
    // Created the same day, still in flight: listed, not counted.
    ledger
        .create_refund(&refund("RC2", 100, t(27, 16)))
        .unwrap();
    drop(ledger);

    let out = paydesk(dir.path(), &["orders", "--date", "2026-11-27"]);
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("Refunds:"), "{table}");
    assert!(table.contains("RC1"), "{table}");
    assert!(table.contains("-¥5.00"), "{table}");
    assert!(table.contains("已退款 refunded"), "{table}");
    assert!(table.contains("approved by 店长"), "{table}");
    assert!(table.contains("退款申请中 refund requested"), "{table}");
    assert!(
        table.contains("部分退款 partially refunded ¥5.00, ¥6.50 left to refund"),
        "{table}"
    );
    assert!(
        table.contains(
            "3 orders on 2026-11-27; received ¥25.00; refunded ¥5.00 (2 refunds); net ¥20.00"
        ),
        "{table}"
    );

    let out = paydesk(dir.path(), &["export", "--date", "2026-11-27"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout[3..].to_vec()).unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert_eq!(
        lines[4],
        "2026-11-27 15:00:00,C1,TC1,,-5.00,已退款 refunded,小王,前台1,\"退款 refund of C1: 少找零; RC1, approved by 店长\",0.00,5.00,-5.00"
    );
}

/// A CSV of `bytes` (after its byte-order mark) as rows of fields.
fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with BOM");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&bytes[3..])
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// `12.50`, `-5.00` in fen, exactly.
fn fen_of(yuan: &str) -> i64 {
    let (neg, abs) = match yuan.strip_prefix('-') {
        Some(a) => (true, a),
        None => (false, yuan),
    };
    let (y, f) = abs.split_once('.').unwrap();
    assert_eq!(f.len(), 2, "{yuan}");
    let v = y.parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap();
    if neg { -v } else { v }
}

/// `paydesk report`: the day's page in the terminal and, with `--out`, the report CSV, whose received,
/// refunded and net are the sums of `paydesk export`'s columns for the same day (paid, unpaid and refunded
/// orders, a refund that succeeded and one still in flight).
#[test]
#[cfg_attr(windows, ignore = "pins the time zone with TZ, which Windows ignores")]
fn the_day_reports_totals_are_the_exports_sums() {
    use paydesk::ledger::{NewRefund, RefundEvidence, RefundInput, RefundSource};
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    let ledger = Ledger::open(&dir.path().join("ledger.sqlite3")).unwrap();
    let bj = FixedOffset::east_opt(8 * 3600).unwrap();
    let t = |h: u32| {
        bj.with_ymd_and_hms(2026, 11, 27, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    };
    let refund = |orn: &str, otn: &str, amount: i64, h: u32| NewRefund {
        out_refund_no: orn.into(),
        out_trade_no: otn.into(),
        amount: Fen::new(amount).unwrap(),
        reason: "退货".into(),
        approved_by: "店长".into(),
        source: RefundSource::Till,
        created_at: t(h),
    };
    // C1 partly refunded, C2 refunded in full (so "refunded"), one more refund of C1 still in flight.
    for (orn, otn, amount, h) in [("RC1", "C1", 500, 14), ("RC2", "C2", 1250, 15)] {
        ledger.create_refund(&refund(orn, otn, amount, h)).unwrap();
        for input in [RefundInput::Accepted, RefundInput::Succeeded] {
            ledger
                .apply_refund(
                    orn,
                    input,
                    &RefundEvidence::new(Source::Refund, "refund"),
                    t(h),
                )
                .unwrap();
        }
    }
    ledger.create_refund(&refund("RC3", "C1", 100, 16)).unwrap();
    drop(ledger);

    let file = dir.path().join("report.csv");
    let out = paydesk(
        dir.path(),
        &[
            "report",
            "--date",
            "2026-11-27",
            "--out",
            file.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("wrote the day report of 2026-11-27 to"),
        "{stderr}"
    );
    let page = String::from_utf8(out.stdout).unwrap();
    for s in [
        "日结 Day report",
        "2026-11-27 (00:00 起 from)",
        "收款 Received (2)",
        "退款 Refunds (2)",
        "￥25.00",
        "￥17.50",
        "￥7.50",
        "未对账 not reconciled",
        "小王 ×2",
        "前台1 ×2",
    ] {
        assert!(page.contains(s), "{s} in\n{page}");
    }

    let report = csv_rows(&std::fs::read(&file).unwrap());
    let summary = |item: &str| {
        let row = report.iter().find(|r| r[0] == item).unwrap();
        fen_of(&row[2])
    };
    let (received, refunded, net) = (
        summary("收款 received"),
        summary("退款 refunded"),
        summary("净额 net"),
    );
    assert_eq!((received, refunded, net), (2500, 1750, 750));

    // The export's columns, summed over every row of the day.
    let out = paydesk(dir.path(), &["export", "--date", "2026-11-27"]);
    assert!(out.status.success());
    let export = csv_rows(&out.stdout);
    let col = |name: &str| {
        let i = export[0]
            .iter()
            .position(|h| h.ends_with(name))
            .unwrap_or_else(|| panic!("no {name} column in {:?}", export[0]));
        export[1..].iter().map(|r| fen_of(&r[i])).sum::<i64>()
    };
    assert_eq!(col("received_yuan"), received);
    assert_eq!(col("refunded_yuan"), refunded);
    assert_eq!(col("net_yuan"), net);
}

#[test]
fn the_day_report_refuses_a_bad_date_and_an_unwritable_file() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    let out = paydesk(dir.path(), &["report", "--date", "2026-02-30"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not a date like"), "{stderr}");
    assert!(out.stdout.is_empty());

    let file = dir.path().join("missing").join("report.csv");
    let out = paydesk(
        dir.path(),
        &[
            "report",
            "--date",
            "2026-11-27",
            "--out",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot write"), "{stderr}");
    assert!(stderr.contains("report.csv"), "{stderr}");
    // Nothing half-written, and nothing printed as if it had worked.
    assert!(!file.exists());
    assert!(out.stdout.is_empty());

    // Without --date: the business day it is now (nothing sold yet in this ledger).
    let out = paydesk(dir.path(), &["report"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("日结 Day report"));
}
