//! The ledger at a year's scale: 1,000,000 orders (3,000 a day), their item lines and history.
//!
//! `cargo bench --bench ledger_scale` reports:
//! - opening the file (with its `quick_check`), and as the engine opens it: the cheap checks alone
//!   (`Ledger::open_deferring_check`, what the window waits for), then the background `quick_check`
//!   (`Ledger::run_deferred_check`). `LEDGER_BENCH_ONLY=open` stops after these;
//! - durable insert of one order with its lines (`create_order`), and one `apply(Paid)`: p50/p99;
//! - export of one business day (~3,000 orders);
//! - full export of every row, against `sqlite3 -csv` running an equivalent query on the same file.
//!
//! The generated ledger is cached under the target directory (`ledger-bench/`), so reruns skip generation;
//! each run adds its 1,000 measured orders to it, dated today (outside the generated year).
//! Not a test: nothing here asserts a time.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Days, FixedOffset, NaiveDate, TimeZone, Utc};
use paydesk::ledger::{
    Evidence, Input, ItemLine, Ledger, NewOrder, PaymentFacts, SCHEMA_VERSION, Source,
};
use paydesk::money::Fen;

/// `LEDGER_BENCH_ORDERS` overrides the size (for a quick smoke run).
fn orders() -> u64 {
    std::env::var("LEDGER_BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}
const PER_DAY: u64 = 3_000;
const CATALOG: [(&str, i64); 12] = [
    ("可乐", 350),
    ("雪碧", 350),
    ("矿泉水", 200),
    ("薯片", 550),
    ("巧克力", 1290),
    ("方便面", 450),
    ("面包", 680),
    ("牛奶", 590),
    ("口香糖", 990),
    ("咖啡, 热", 1500),
    ("三明治", 1280),
    ("\"特价\" 饭团", 799),
];

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 11, 1).unwrap()
}

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

fn target_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(d);
    }
    // target/release/deps/ledger_scale-…
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

/// A small deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Generate the ledger with one transaction and prepared statements, straight into the schema that
/// `Ledger::open` created.
fn generate(path: &Path) {
    let started = Instant::now();
    let tmp = path.with_extension("generating");
    let _ = fs::remove_file(&tmp);
    for ext in ["generating-wal", "generating-shm"] {
        let _ = fs::remove_file(path.with_extension(ext));
    }
    drop(Ledger::open(&tmp).unwrap());
    let mut conn = rusqlite::Connection::open(&tmp).unwrap();
    conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA cache_size = -200000;")
        .unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut ins_order = tx
            .prepare(
                "INSERT INTO orders (id, out_trade_no, station, cashier, created_at, expires_at, total_fen, \
                 status, close_reason, body, notify_url, spbill_create_ip, product_id, device_info, time_start, \
                 time_expire, code_url, prepay_id, transaction_id, paid_at, cash_fee_fen, bank_type, openid, \
                 flagged, flag_reason, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?5, ?6, ?15, ?16, ?17, \
                 ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
            )
            .unwrap();
        let mut ins_item = tx
            .prepare(
                "INSERT INTO order_items (order_id, line_no, name, unit_price_fen, qty, line_total_fen) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .unwrap();
        let mut ins_event = tx
            .prepare(
                "INSERT INTO order_events (order_id, at, kind, source, detail, outcome) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .unwrap();
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let tz = beijing();
        for i in 0..orders() {
            let id = i as i64 + 1;
            let day = first_day() + Days::new(i / PER_DAY);
            // Open 08:00 to 02:00: spread the day's orders over those 18 hours.
            let k = i % PER_DAY;
            let secs = 8 * 3600 + k * (18 * 3600) / PER_DAY + rng.below(18);
            let created: DateTime<Utc> = tz
                .from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
                .unwrap()
                .with_timezone(&Utc)
                + Duration::from_secs(secs);
            let c = created.timestamp_millis();
            let otn = format!("PD{}{:06}", day.format("%Y%m%d"), k);
            let lines = 1 + rng.below(4) as usize;
            let picked: Vec<(&str, i64, i64)> = (0..lines)
                .map(|_| {
                    let (name, price) = CATALOG[rng.below(CATALOG.len() as u64) as usize];
                    (name, price, 1 + rng.below(3) as i64)
                })
                .collect();
            let total: i64 = picked.iter().map(|(_, p, q)| p * q).sum();
            let roll = rng.below(100);
            let (status, close_reason, paid, flag) = match roll {
                0..90 => ("paid", None, true, None),
                90..94 => ("expired", Some("expire"), false, None),
                94..97 => ("cancelled", Some("cancel"), false, None),
                97..99 => ("failed", None, false, None),
                _ => (
                    "paid_after_cancel",
                    Some("cancel"),
                    true,
                    Some("paid after cancel — refund or hand over the goods"),
                ),
            };
            let done = c + 20_000 + rng.below(40_000) as i64;
            let tid = paid.then(|| format!("42000{:023}", i));
            ins_order
                .execute(rusqlite::params![
                    id,
                    otn,
                    format!("前台{}", 1 + i % 2),
                    ["小王", "小李", "老张"][(i % 3) as usize],
                    c,
                    c + 300_000,
                    total,
                    status,
                    close_reason,
                    "PayDesk 便利店",
                    "http://192.168.1.20:8787/wxpay/notify",
                    "192.168.1.20",
                    otn,
                    "POS-1",
                    format!(
                        "weixin://wxpay/bizpayurl?pr={:07x}",
                        rng.next() & 0xFFF_FFFF
                    ),
                    format!("wx{:030x}", rng.next() as u128 * 31),
                    tid,
                    paid.then_some(done),
                    paid.then_some(total),
                    paid.then_some("OTHERS"),
                    paid.then(|| format!("oUpF8u{:022x}", rng.next())),
                    flag.is_some(),
                    flag,
                    done,
                ])
                .unwrap();
            for (n, (name, price, qty)) in picked.iter().enumerate() {
                ins_item
                    .execute(rusqlite::params![
                        id,
                        n as i64 + 1,
                        name,
                        price,
                        qty,
                        price * qty
                    ])
                    .unwrap();
            }
            let events: [(&str, &str, String, String); 3] = [
                (
                    "recorded",
                    "cashier",
                    format!("total ¥{}.{:02}, {lines} line(s)", total / 100, total % 100),
                    "creating".into(),
                ),
                (
                    "created",
                    "unifiedorder",
                    "unifiedorder SUCCESS".into(),
                    "creating -> open".into(),
                ),
                (
                    if paid { "paid" } else { "closed" },
                    if paid { "notify" } else { "query" },
                    format!("trade_state {}", status.to_uppercase()),
                    format!("open -> {status}"),
                ),
            ];
            for (n, (kind, source, detail, outcome)) in events.iter().enumerate() {
                ins_event
                    .execute(rusqlite::params![
                        id,
                        c + n as i64 * 1000,
                        kind,
                        source,
                        detail,
                        outcome
                    ])
                    .unwrap();
            }
        }
    }
    tx.commit().unwrap();
    conn.execute_batch("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    drop(conn);
    fs::rename(&tmp, path).unwrap();
    println!(
        "generated {} orders in {:.1} s ({:.0} MB)",
        orders(),
        started.elapsed().as_secs_f64(),
        fs::metadata(path).unwrap().len() as f64 / 1e6
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn report_percentiles(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{what}: p50 {}, p99 {}, max {} ({} samples)",
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99)),
        ms(*samples.last().unwrap()),
        samples.len()
    );
}

/// The same rows as the full export, from the sqlite3 shell.
const SQLITE3_QUERY: &str = "SELECT strftime('%Y-%m-%d %H:%M:%S', o.created_at / 1000, 'unixepoch', 'localtime') AS \"时间 time\", \
    o.out_trade_no, o.transaction_id, \
    (SELECT group_concat(name || ' ×' || qty, '; ') FROM \
       (SELECT name, qty FROM order_items WHERE order_id = o.id ORDER BY line_no)) AS items, \
    printf('%d.%02d', o.total_fen / 100, o.total_fen % 100) AS amount, \
    CASE o.status WHEN 'creating' THEN '创建中 creating' WHEN 'open' THEN '待支付 open' \
      WHEN 'user_paying' THEN '支付中 paying' WHEN 'closing' THEN '关闭中 closing' WHEN 'paid' THEN '已支付 paid' \
      WHEN 'paid_after_cancel' THEN '取消后已支付 paid after cancel' WHEN 'failed' THEN '支付失败 failed' \
      WHEN 'cancelled' THEN '已取消 cancelled' WHEN 'expired' THEN '已过期 expired' \
      WHEN 'refunded' THEN '已退款 refunded' END AS status, \
    o.cashier, o.station, o.flag_reason, \
    CASE WHEN o.status IN ('paid', 'paid_after_cancel', 'refunded') \
      THEN printf('%d.%02d', o.total_fen / 100, o.total_fen % 100) ELSE '0.00' END AS received, \
    '0.00' AS refunded, \
    CASE WHEN o.status IN ('paid', 'paid_after_cancel', 'refunded') \
      THEN printf('%d.%02d', o.total_fen / 100, o.total_fen % 100) ELSE '0.00' END AS net \
    FROM orders o ORDER BY o.created_at, o.id";

fn main() {
    let dir = target_dir().join("ledger-bench");
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("ledger-{}-v{SCHEMA_VERSION}.sqlite3", orders()));
    if path.exists() {
        println!("using the cached ledger {}", path.display());
    } else {
        println!("generating {} (once; cached afterwards)…", path.display());
        generate(&path);
    }

    let t = Instant::now();
    let ledger = Ledger::open(&path).unwrap();
    println!(
        "open (quick_check, {:.0} MB): {}",
        fs::metadata(&path).unwrap().len() as f64 / 1e6,
        ms(t.elapsed())
    );
    drop(ledger);

    let t = Instant::now();
    let deferred = Ledger::open_deferring_check(&path).unwrap();
    println!(
        "open, cheap checks only (check pending: {}): {}",
        deferred.check_pending(),
        ms(t.elapsed())
    );
    let t = Instant::now();
    deferred.run_deferred_check().unwrap();
    println!("background quick_check: {}", ms(t.elapsed()));
    let ledger = deferred;
    if std::env::var("LEDGER_BENCH_ONLY").as_deref() == Ok("open") {
        return;
    }

    // Durable inserts: one order with three lines per transaction, then its payment.
    let run = Utc::now().timestamp_millis();
    let mut inserts = Vec::new();
    let mut pays = Vec::new();
    for k in 0..1000 {
        let now = Utc::now();
        let otn = format!("B{run}{k:04}");
        let items = vec![
            ItemLine::new("可乐", Fen::new(350).unwrap(), 2).unwrap(),
            ItemLine::new("薯片", Fen::new(550).unwrap(), 1).unwrap(),
            ItemLine::new("咖啡, 热", Fen::new(1500).unwrap(), 1).unwrap(),
        ];
        let total = Fen::checked_sum(items.iter().map(|l| l.line_total)).unwrap();
        let o = NewOrder {
            out_trade_no: otn.clone(),
            station: "前台1".into(),
            cashier: "小王".into(),
            created_at: now,
            expires_at: now + chrono::Duration::minutes(5),
            total,
            items,
            body: "PayDesk 便利店".into(),
            notify_url: "http://192.168.1.20:8787/wxpay/notify".into(),
            spbill_create_ip: "192.168.1.20".into(),
            product_id: otn.clone(),
            device_info: Some("POS-1".into()),
            time_start: now,
            time_expire: now + chrono::Duration::minutes(5),
        };
        let t = Instant::now();
        ledger.create_order(&o).unwrap();
        inserts.push(t.elapsed());
        let p = PaymentFacts {
            transaction_id: format!("T{otn}"),
            total_fee: total,
            cash_fee: Some(total),
            time_end: Some(now),
            bank_type: Some("OTHERS".into()),
            openid: None,
        };
        let t = Instant::now();
        ledger
            .apply(
                &otn,
                Input::Paid,
                &Evidence::paid(Source::Notify, p, "notify SUCCESS"),
                now,
            )
            .unwrap();
        pays.push(t.elapsed());
    }
    report_percentiles("insert one order + 3 lines (durable)", inserts);
    report_percentiles("apply Paid (durable)", pays);

    // One business day (local time), in the middle of the year.
    let day = first_day() + Days::new((orders() / PER_DAY / 2).max(1));
    let mut buf = Vec::with_capacity(1 << 20);
    let mut samples = Vec::new();
    let mut rows = 0;
    for _ in 0..30 {
        buf.clear();
        let t = Instant::now();
        rows = ledger.export_day(day, 0, &mut buf).unwrap();
        samples.push(t.elapsed());
    }
    samples.sort();
    println!(
        "export one day ({day}, {rows} orders, {} KB): best {}, median {}",
        buf.len() / 1024,
        ms(samples[0]),
        ms(percentile(&samples, 0.5))
    );

    // Full export vs sqlite3, both to /dev/null, best of two each, alternating.
    let sqlite3 = Path::new("/usr/bin/sqlite3");
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut all_rows = 0;
    for _ in 0..2 {
        let out =
            std::io::BufWriter::with_capacity(1 << 16, fs::File::create("/dev/null").unwrap());
        let t = Instant::now();
        all_rows = ledger
            .export_between(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC, out)
            .unwrap();
        ours.push(t.elapsed());
        if sqlite3.exists() {
            let t = Instant::now();
            let status = Command::new(sqlite3)
                .args(["-readonly", "-csv", "-header"])
                .arg(&path)
                .arg(SQLITE3_QUERY)
                .stdout(fs::File::create("/dev/null").unwrap())
                .stderr(Stdio::inherit())
                .status()
                .unwrap();
            theirs.push(t.elapsed());
            assert!(status.success(), "sqlite3 failed");
        }
    }
    let best_ours = *ours.iter().min().unwrap();
    println!("full export ({all_rows} orders): {}", ms(best_ours));
    if let Some(best_theirs) = theirs.iter().min() {
        // Sanity: the shell's query yields the same number of rows.
        let out = Command::new(sqlite3)
            .args(["-readonly"])
            .arg(&path)
            .arg("SELECT count(*) FROM orders")
            .output()
            .unwrap();
        let n = String::from_utf8_lossy(&out.stdout).trim().to_string();
        println!(
            "sqlite3 -csv, equivalent query ({n} rows): {}  → ratio {:.2} (target ≤ 1.5)",
            ms(*best_theirs),
            best_ours.as_secs_f64() / best_theirs.as_secs_f64()
        );
    } else {
        println!("sqlite3 not found at /usr/bin/sqlite3: comparison skipped");
    }
    std::io::stdout().flush().unwrap();
}
