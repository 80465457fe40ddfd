//! Shifts (交班) in the ledger, through a real SQLite file: sign-in, the summary (orders, received, refunds,
//! net), the handover refused while an order is open, resuming after a restart, and the migration from
//! schema version 4.

use chrono::{DateTime, Duration, TimeZone, Utc};
use paydesk::ledger::schema::{APPLICATION_ID, MIGRATIONS};
use paydesk::ledger::{
    Evidence, Input, ItemLine, Ledger, LedgerError, NewOrder, NewRefund, OrderStatus, PaymentFacts,
    RefundEvidence, RefundInput, RefundSource, SCHEMA_VERSION, ShiftRefusal, Source,
};
use paydesk::money::Fen;

fn fen(v: i64) -> Fen {
    Fen::new(v).unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 1, 0, 0).unwrap()
}

fn at(min: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(min)
}

fn new_order(no: &str, station: &str, cashier: &str, created: DateTime<Utc>, fee: i64) -> NewOrder {
    NewOrder {
        out_trade_no: no.into(),
        station: station.into(),
        cashier: cashier.into(),
        created_at: created,
        expires_at: created + Duration::minutes(10),
        total: fen(fee),
        items: vec![ItemLine::new("茶", fen(fee), 1).unwrap()],
        body: "店-茶".into(),
        notify_url: "http://127.0.0.1:9/notify".into(),
        spbill_create_ip: "127.0.0.1".into(),
        product_id: no.into(),
        device_info: None,
        time_start: created,
        time_expire: created + Duration::minutes(10),
    }
}

/// An order created at `created` and left open (its QR on screen).
fn open_order(
    l: &Ledger,
    no: &str,
    station: &str,
    cashier: &str,
    created: DateTime<Utc>,
    fee: i64,
) {
    l.create_order(&new_order(no, station, cashier, created, fee))
        .unwrap();
    l.apply(
        no,
        Input::Created,
        &Evidence::created(
            "weixin://wxpay/bizpayurl?pr=x",
            None,
            "unifiedorder SUCCESS",
        ),
        created,
    )
    .unwrap();
}

fn pay(l: &Ledger, no: &str, fee: i64, paid: DateTime<Utc>) {
    let facts = PaymentFacts {
        transaction_id: format!("T{no}"),
        total_fee: fen(fee),
        cash_fee: Some(fen(fee)),
        time_end: Some(paid),
        bank_type: None,
        openid: None,
    };
    l.apply(
        no,
        Input::Paid,
        &Evidence::paid(Source::Query, facts, "SUCCESS"),
        paid,
    )
    .unwrap();
}

fn paid_order(l: &Ledger, no: &str, cashier: &str, created: DateTime<Utc>, fee: i64) {
    open_order(l, no, "POS1", cashier, created, fee);
    pay(l, no, fee, created + Duration::seconds(30));
}

fn refund(l: &Ledger, no: &str, orn: &str, fee: i64, when: DateTime<Utc>, succeed: bool) {
    l.create_refund(&NewRefund {
        out_refund_no: orn.into(),
        out_trade_no: no.into(),
        amount: fen(fee),
        reason: "退货".into(),
        approved_by: "manager PIN".into(),
        source: RefundSource::Till,
        created_at: when,
    })
    .unwrap();
    if succeed {
        l.apply_refund(
            orn,
            RefundInput::Succeeded,
            &RefundEvidence {
                success_at: Some(when + Duration::seconds(5)),
                ..RefundEvidence::new(Source::Query, "SUCCESS")
            },
            when + Duration::seconds(5),
        )
        .unwrap();
    }
}

#[test]
fn a_shift_counts_its_cashiers_payments_and_refunds_from_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(&dir.path().join("ledger.sqlite3")).unwrap();
    // Before the shift: paid, so not counted as received; refunded during the shift, so that refund counts.
    paid_order(&l, "A0", "小王", at(-60), 1000);
    let shift = l.sign_in("POS1", "小王", at(0)).unwrap();
    assert!(shift.is_open());
    assert_eq!(shift.cashier, "小王");
    paid_order(&l, "A1", "小王", at(1), 1250);
    paid_order(&l, "A2", "小王", at(2), 800);
    // Not this cashier, not this station, not paid: not counted.
    paid_order(&l, "B1", "小李", at(3), 5000);
    open_order(&l, "C1", "POS2", "小王", at(3), 7000);
    pay(&l, "C1", 7000, at(4));
    open_order(&l, "D1", "POS1", "小王", at(5), 900);
    l.apply(
        "D1",
        Input::Closed,
        &Evidence::new(Source::Query, "CLOSED"),
        at(6),
    )
    .unwrap();
    // Refunds: one succeeded (of an order from before the shift), one still under way, one of 小李's order.
    refund(&l, "A0", "R0", 300, at(7), true);
    refund(&l, "A1", "R1", 250, at(8), false);
    refund(&l, "B1", "R2", 1000, at(9), true);

    let s = l.shift_summary(shift.id, at(10)).unwrap();
    assert_eq!((s.orders, s.refunds), (2, 1));
    assert_eq!((s.sums.received, s.sums.refunded), (fen(2050), fen(300)));
    assert_eq!(s.sums.net_fen(), 1750);
    // The refund under way counts once it succeeds.
    l.apply_refund(
        "R1",
        RefundInput::Succeeded,
        &RefundEvidence {
            success_at: Some(at(11)),
            ..RefundEvidence::new(Source::Query, "SUCCESS")
        },
        at(11),
    )
    .unwrap();
    let s = l.shift_summary(shift.id, at(12)).unwrap();
    assert_eq!((s.orders, s.refunds), (2, 2));
    assert_eq!(s.sums.net_label(), "¥15.00");
    // Up to `now`, the instant itself included: nothing yet at the sign-in, A1 at its payment.
    let s = l
        .shift_summary(shift.id, at(1) + Duration::seconds(30))
        .unwrap();
    assert_eq!((s.orders, s.sums.received), (1, fen(1250)));
    let s = l.shift_summary(shift.id, at(0)).unwrap();
    assert_eq!((s.orders, s.refunds, s.sums.net_fen()), (0, 0, 0));

    let done = l.hand_over(shift.id, at(13)).unwrap();
    assert_eq!(done.handed_over_at, Some(at(13)));
    let recorded = done.summary.unwrap();
    assert_eq!((recorded.orders, recorded.refunds), (2, 2));
    assert_eq!(recorded.sums.net_fen(), 1500);
    assert_eq!(l.open_shift("POS1").unwrap(), None);
    // The recorded summary stays as counted, even when a late refund lands afterwards.
    refund(&l, "A2", "R3", 800, at(14), true);
    assert_eq!(l.shift_summary(shift.id, at(20)).unwrap(), recorded);
    assert_eq!(l.shift(shift.id).unwrap().unwrap().summary, Some(recorded));
    // The next shift starts after the handover and counts the late refund.
    let next = l.sign_in("POS1", "小李", at(15)).unwrap();
    assert_ne!(next.id, shift.id);
    assert_eq!(l.shifts_between(at(-1), at(60)).unwrap().len(), 2);
}

#[test]
fn the_handover_is_refused_while_an_order_of_the_station_is_open_then_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(&dir.path().join("ledger.sqlite3")).unwrap();
    let shift = l.sign_in("POS1", "小王", at(0)).unwrap();
    // Another cashier's open order at this station counts too: the till is not free.
    open_order(&l, "O1", "POS1", "小李", at(1), 500);
    open_order(&l, "O2", "POS2", "小王", at(1), 500);
    let e = l.hand_over(shift.id, at(2)).unwrap_err();
    match &e {
        LedgerError::Shift(ShiftRefusal::OrderUnfinished {
            out_trade_no,
            status,
        }) => {
            assert_eq!(out_trade_no, "O1");
            assert_eq!(*status, OrderStatus::Open);
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("O1"), "{e}");
    assert!(l.open_shift("POS1").unwrap().is_some(), "nothing recorded");
    // Paid: final, so the handover goes through (the other station's open order does not matter).
    pay(&l, "O1", 500, at(3));
    let done = l.hand_over(shift.id, at(4)).unwrap();
    assert!(!done.is_open());
    // Handed over once only.
    assert!(matches!(
        l.hand_over(shift.id, at(5)),
        Err(LedgerError::Shift(ShiftRefusal::NotOpen(_)))
    ));
}

#[test]
fn a_reopened_ledger_resumes_the_open_shift_and_one_cashier_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    let shift = {
        let l = Ledger::open(&path).unwrap();
        l.sign_in("POS1", "小王", at(0)).unwrap()
    };
    let l = Ledger::open(&path).unwrap();
    assert_eq!(l.open_shift("POS1").unwrap(), Some(shift.clone()));
    assert_eq!(l.open_shift("POS2").unwrap(), None);
    // The same cashier gets the same shift back; another is refused until the handover.
    assert_eq!(l.sign_in("POS1", "小王", at(30)).unwrap(), shift);
    let e = l.sign_in("POS1", "小李", at(30)).unwrap_err();
    assert!(
        matches!(&e, LedgerError::Shift(ShiftRefusal::OtherCashierSignedIn { cashier, .. }) if cashier == "小王"),
        "{e:?}"
    );
    // Another station is independent.
    l.sign_in("POS2", "小李", at(30)).unwrap();
    l.hand_over(shift.id, at(40)).unwrap();
    // Signed in at the handover's very instant: a millisecond later, so no payment counts in both.
    let next = l.sign_in("POS1", "小李", at(40)).unwrap();
    assert_eq!(next.signed_in_at, at(40) + Duration::milliseconds(1));
}

#[test]
fn shifts_are_never_deleted_and_a_handed_over_shift_never_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    {
        let l = Ledger::open(&path).unwrap();
        let s = l.sign_in("POS1", "小王", at(0)).unwrap();
        l.hand_over(s.id, at(1)).unwrap();
    }
    let raw = rusqlite::Connection::open(&path).unwrap();
    assert!(raw.execute("DELETE FROM shifts", []).is_err());
    assert!(
        raw.execute("UPDATE shifts SET received_fen = 99, net_fen = 99", [])
            .is_err()
    );
    assert!(
        raw.execute("UPDATE shifts SET handed_over_at = NULL", [])
            .is_err()
    );
}

#[test]
fn a_version_4_ledger_migrates_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..4] {
            raw.execute_batch(sql).unwrap();
        }
        raw.execute_batch(&format!(
            "PRAGMA user_version = 4; PRAGMA application_id = {APPLICATION_ID};"
        ))
        .unwrap();
        raw.execute(
            "INSERT INTO orders (out_trade_no, station, cashier, created_at, expires_at, total_fen, status, \
             body, notify_url, spbill_create_ip, product_id, time_start, time_expire, transaction_id, \
             paid_at, updated_at) VALUES ('OLD1', 'POS1', '小王', ?1, ?2, 800, 'paid', 'b', 'n', \
             '127.0.0.1', 'p', ?1, ?2, 'TOLD1', ?1, ?1)",
            [at(1).timestamp_millis(), at(11).timestamp_millis()],
        )
        .unwrap();
        raw.execute(
            "INSERT INTO reconciliations (day, ran_at, bill, matched, differences, unexplained, fee_e5, \
             report) VALUES ('2026-11-27', 0, 'bill', 1, 0, 0, 500, 'ok')",
            [],
        )
        .unwrap();
    }
    let l = Ledger::open(&path).unwrap();
    let o = l.order("OLD1").unwrap().unwrap();
    assert_eq!(
        (o.status, o.total, o.cashier.as_str()),
        (OrderStatus::Paid, fen(800), "小王")
    );
    assert_eq!(l.open_shift("POS1").unwrap(), None);
    // The old order counts for a shift that was open when it was paid.
    let s = l.sign_in("POS1", "小王", at(0)).unwrap();
    assert_eq!(
        l.shift_summary(s.id, at(2)).unwrap().sums.received,
        fen(800)
    );
    l.check_integrity().unwrap();
    drop(l);
    let raw = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = raw
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    assert_eq!(v, 5);
    let n: i64 = raw
        .query_row("SELECT count(*) FROM reconciliations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

/// `paydesk config set-cashier-pin NAME` as a user runs it: only a listed cashier, only a hash stored, and
/// `config check` says who has a PIN.
#[test]
fn cli_set_cashier_pin_stores_only_a_hash_for_a_listed_cashier() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("paydesk.toml");
    std::fs::write(
        &config,
        "# the shop\n[store]\ncashiers = [\"小王\", \"小李\"]\n[shift]\nblind = true\n",
    )
    .unwrap();
    let run = |args: &[&str], pin: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_paydesk"))
            .env("PAYDESK_CONFIG", &config)
            .env("PAYDESK_DATA_DIR", dir.path().join("data"))
            .env("PAYDESK_CASHIER_PIN", pin)
            .env_remove("PAYDESK_MANAGER_PIN")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, stdout, stderr) = run(&["config", "set-cashier-pin", "小李"], "13579");
    assert!(ok, "{stdout}\n{stderr}");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.starts_with(
            "# the shop\n[store]\ncashiers = [\"小王\", \"小李\"]\n[shift]\nblind = true\n"
        ),
        "{text}"
    );
    assert!(text.contains("\"小李\" = \"$argon2id$"), "{text}");
    assert!(!text.contains("13579"), "{text}");
    // Not in the list, or not digits: refused, the file unchanged.
    let (ok, _, stderr) = run(&["config", "set-cashier-pin", "小张"], "13579");
    assert!(!ok);
    assert!(stderr.contains("not in [store] cashiers"), "{stderr}");
    let (ok, _, stderr) = run(&["config", "set-cashier-pin", "小王"], "12a");
    assert!(!ok);
    assert!(stderr.contains("4 to 12 digits"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
    let (ok, stdout, _) = run(&["config", "check"], "");
    assert!(ok);
    assert!(
        stdout.contains("sign-in: choose from 小王, 小李 (PIN)"),
        "{stdout}"
    );
    assert!(stdout.contains("handover: blind"), "{stdout}");
}
