//! The ledger against a real SQLite file: recording, applying inputs, the event log, the CSV export,
//! durability across SIGKILL, and refusing damaged files.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::{DateTime, Duration, FixedOffset, Local, NaiveDate, TimeZone, Utc};
use paydesk::ledger::schema::{APPLICATION_ID, MIGRATIONS};
use paydesk::ledger::state::next;
use paydesk::ledger::{
    CloseReason, Decision, Evidence, HEADER, Input, ItemLine, Ledger, LedgerError, NewOrder,
    NewRefund, OrderStatus, PAID_AFTER_CANCEL_ALERT, PaymentFacts, RefundApplied, RefundEvidence,
    RefundInput, RefundProgress, RefundRefusal, RefundSource, RefundState, SCHEMA_VERSION, Source,
};
use paydesk::money::Fen;

fn fen(v: i64) -> Fen {
    Fen::new(v).unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 4, 0, 0).unwrap()
}

fn line(name: &str, unit: i64, qty: u32) -> ItemLine {
    ItemLine::new(name, fen(unit), qty).unwrap()
}

fn order_with(otn: &str, created_at: DateTime<Utc>, items: Vec<ItemLine>) -> NewOrder {
    let total = Fen::checked_sum(items.iter().map(|l| l.line_total)).unwrap();
    NewOrder {
        out_trade_no: otn.to_string(),
        station: "前台1".into(),
        cashier: "小王".into(),
        created_at,
        expires_at: created_at + Duration::minutes(5),
        total,
        items,
        body: "PayDesk 测试".into(),
        notify_url: "http://127.0.0.1:9/notify".into(),
        spbill_create_ip: "127.0.0.1".into(),
        product_id: otn.to_string(),
        device_info: Some("POS-1".into()),
        time_start: created_at,
        time_expire: created_at + Duration::minutes(5),
    }
}

fn order(otn: &str) -> NewOrder {
    order_with(otn, t0(), vec![line("可乐", 350, 2), line("薯片", 550, 1)])
}

fn payment(tid: &str, total: Fen) -> PaymentFacts {
    PaymentFacts {
        transaction_id: tid.to_string(),
        total_fee: total,
        cash_fee: Some(total),
        time_end: Some(t0() + Duration::seconds(30)),
        bank_type: Some("OTHERS".into()),
        openid: Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into()),
    }
}

fn evidence(input: Input, total: Fen, tid: &str) -> Evidence {
    match input {
        Input::Created => Evidence::created(
            "weixin://wxpay/bizpayurl?pr=abc",
            Some("wx_prepay_1".into()),
            "unifiedorder SUCCESS",
        ),
        Input::Paid => Evidence::paid(
            Source::Notify,
            payment(tid, total),
            "notify SUCCESS total_fee matches",
        ),
        _ => Evidence::new(Source::Query, format!("{input:?}")),
    }
}

fn new_ledger() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("ledger.sqlite3")).unwrap();
    (dir, ledger)
}

fn at(s: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(s)
}

#[test]
fn ledger_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Ledger>();
}

#[test]
fn create_order_stores_everything_and_refuses_duplicates() {
    let (_dir, ledger) = new_ledger();
    let o = order("PD001");
    ledger.create_order(&o).unwrap();

    let got = ledger.order("PD001").unwrap().unwrap();
    assert_eq!(got.status, OrderStatus::Creating);
    assert_eq!(got.total, fen(1250));
    assert_eq!(
        (got.station.as_str(), got.cashier.as_str()),
        ("前台1", "小王")
    );
    assert_eq!(
        (got.created_at, got.expires_at),
        (o.created_at, o.expires_at)
    );
    assert_eq!(
        (
            got.body,
            got.notify_url,
            got.spbill_create_ip,
            got.product_id
        ),
        (
            o.body.clone(),
            o.notify_url.clone(),
            o.spbill_create_ip.clone(),
            o.product_id.clone()
        )
    );
    assert_eq!(got.device_info.as_deref(), Some("POS-1"));
    assert_eq!(
        (got.time_start, got.time_expire),
        (o.time_start, o.time_expire)
    );
    assert_eq!(got.code_url, None);
    assert!(!got.flagged);
    assert_eq!(ledger.items("PD001").unwrap(), o.items);
    let events = ledger.events("PD001").unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "recorded");

    assert!(matches!(
        ledger.create_order(&o),
        Err(LedgerError::Duplicate(n)) if n == "PD001"
    ));
    assert_eq!(
        ledger.items("PD001").unwrap().len(),
        2,
        "duplicate wrote nothing"
    );
    assert_eq!(ledger.events("PD001").unwrap().len(), 1);

    let mut bad = order("PD002");
    bad.total = fen(1);
    assert!(matches!(
        ledger.create_order(&bad),
        Err(LedgerError::Invalid(_))
    ));
    let mut bad = order("PD003");
    bad.items[0].line_total = fen(1);
    assert!(matches!(
        ledger.create_order(&bad),
        Err(LedgerError::Invalid(_))
    ));
    assert!(ledger.order("PD002").unwrap().is_none());
    assert!(ledger.order("nope").unwrap().is_none());
}

#[test]
fn happy_path_stores_the_gateway_facts() {
    let (_dir, ledger) = new_ledger();
    let o = order("PD010");
    ledger.create_order(&o).unwrap();

    let a = ledger
        .apply(
            "PD010",
            Input::Created,
            &evidence(Input::Created, o.total, ""),
            at(1),
        )
        .unwrap();
    assert_eq!(
        (a.before, a.after, a.changed),
        (OrderStatus::Creating, OrderStatus::Open, true)
    );
    let got = ledger.order("PD010").unwrap().unwrap();
    assert_eq!(
        got.code_url.as_deref(),
        Some("weixin://wxpay/bizpayurl?pr=abc")
    );
    assert_eq!(got.prepay_id.as_deref(), Some("wx_prepay_1"));
    assert_eq!(got.updated_at, at(1));

    ledger
        .apply(
            "PD010",
            Input::UserPaying,
            &evidence(Input::UserPaying, o.total, ""),
            at(2),
        )
        .unwrap();
    let a = ledger
        .apply(
            "PD010",
            Input::Paid,
            &evidence(Input::Paid, o.total, "4200001"),
            at(3),
        )
        .unwrap();
    assert_eq!(
        (a.after, a.changed, a.alert.clone()),
        (OrderStatus::Paid, true, None)
    );
    let got = ledger.order("PD010").unwrap().unwrap();
    assert_eq!(got.transaction_id.as_deref(), Some("4200001"));
    assert_eq!(got.paid_at, Some(t0() + Duration::seconds(30)));
    assert_eq!(got.cash_fee, Some(fen(1250)));
    assert_eq!(got.bank_type.as_deref(), Some("OTHERS"));
    assert!(got.openid.is_some());
    assert!(!got.flagged);

    // The same payment again (query after notify): idempotent.
    let a = ledger
        .apply(
            "PD010",
            Input::Paid,
            &evidence(Input::Paid, o.total, "4200001"),
            at(4),
        )
        .unwrap();
    assert_eq!(
        (a.after, a.changed, a.ignored),
        (OrderStatus::Paid, false, Some("already paid"))
    );
    assert_eq!(a.alert, None);

    let a = ledger
        .apply(
            "PD010",
            Input::Refunded,
            &Evidence::new(Source::Refund, "refund SUCCESS"),
            at(5),
        )
        .unwrap();
    assert_eq!(a.after, OrderStatus::Refunded);

    let events = ledger.events("PD010").unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "recorded",
            "created",
            "user_paying",
            "paid",
            "paid",
            "refunded"
        ]
    );
    assert_eq!(events[3].outcome, "user_paying -> paid");
    assert_eq!(events[3].source, "notify");
    assert_eq!(events[3].detail, "notify SUCCESS total_fee matches");
    assert_eq!(events[4].outcome, "ignored: already paid");
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(events[5].at, at(5));
}

const INPUTS: [Input; 9] = [
    Input::Created,
    Input::CreateFailed,
    Input::UserPaying,
    Input::Paid,
    Input::PayError,
    Input::CloseRequested(CloseReason::Cancel),
    Input::CloseRequested(CloseReason::Expire),
    Input::Closed,
    Input::Refunded,
];

/// Inputs that bring a new order to `s`.
fn path_to(s: OrderStatus) -> Vec<Input> {
    use OrderStatus as S;
    let cancel = Input::CloseRequested(CloseReason::Cancel);
    match s {
        S::Creating => vec![],
        S::Open => vec![Input::Created],
        S::UserPaying => vec![Input::Created, Input::UserPaying],
        S::Closing => vec![Input::Created, cancel],
        S::Paid => vec![Input::Created, Input::Paid],
        S::PaidAfterCancel => vec![Input::Created, cancel, Input::Paid],
        S::Failed => vec![Input::CreateFailed],
        S::Cancelled => vec![Input::Created, cancel, Input::Closed],
        S::Expired => vec![
            Input::Created,
            Input::CloseRequested(CloseReason::Expire),
            Input::Closed,
        ],
        S::Refunded => vec![Input::Created, Input::Paid, Input::Refunded],
    }
}

/// Every status × every input through the ledger agrees with the state machine, and every input, applied or
/// ignored, is recorded.
#[test]
fn every_status_and_input_is_applied_and_recorded() {
    let (_dir, ledger) = new_ledger();
    let mut n = 0;
    for s in OrderStatus::ALL {
        for input in INPUTS {
            n += 1;
            let otn = format!("PD{n:04}");
            let o = order(&otn);
            ledger.create_order(&o).unwrap();
            let tid = format!("T{otn}");
            for (k, step) in path_to(s).into_iter().enumerate() {
                let a = ledger
                    .apply(&otn, step, &evidence(step, o.total, &tid), at(k as i64))
                    .unwrap();
                assert!(a.changed, "{otn}: path to {s:?} via {step:?}");
            }
            let stored = ledger.order(&otn).unwrap().unwrap();
            assert_eq!(stored.status, s);
            let events_before = ledger.events(&otn).unwrap().len();

            let a = ledger
                .apply(&otn, input, &evidence(input, o.total, &tid), at(100))
                .unwrap();
            let want = next(s, input, stored.close_reason);
            let after = ledger.order(&otn).unwrap().unwrap();
            let events = ledger.events(&otn).unwrap();
            assert_eq!(
                events.len(),
                events_before + 1,
                "{s:?} + {input:?} recorded"
            );
            let last = events.last().unwrap();
            assert_eq!(last.at, at(100));
            match want {
                Decision::To(t) => {
                    assert_eq!(
                        (a.before, a.after, a.changed),
                        (s, t, true),
                        "{s:?} + {input:?}"
                    );
                    assert_eq!(after.status, t);
                    assert_eq!(last.outcome, format!("{s} -> {t}"));
                    assert_eq!(a.alert.is_some(), t == OrderStatus::PaidAfterCancel);
                    assert_eq!(
                        after.flagged,
                        t == OrderStatus::PaidAfterCancel || s == OrderStatus::PaidAfterCancel
                    );
                }
                Decision::Ignore(why) => {
                    assert_eq!(
                        (a.after, a.changed, a.ignored),
                        (s, false, Some(why)),
                        "{s:?} + {input:?}"
                    );
                    assert_eq!(after.status, s);
                    assert_eq!(last.outcome, format!("ignored: {why}"));
                    assert_eq!(
                        after.updated_at,
                        at(100),
                        "updated_at follows every recorded input"
                    );
                }
            }
            if let Input::CloseRequested(r) = input
                && a.changed
            {
                assert_eq!(after.close_reason, Some(r));
            }
        }
    }
}

/// A notification and a query reporting the same payment at once, through two handles on one file (as two
/// processes would): each order changes exactly once, and both reports are recorded.
#[test]
fn racing_reports_of_one_payment_change_the_order_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    let a = Ledger::open(&path).unwrap();
    let b = Ledger::open(&path).unwrap();
    let otns: Vec<String> = (0..40).map(|k| format!("R{k:03}")).collect();
    for otn in &otns {
        a.create_order(&order(otn)).unwrap();
    }
    let total = order("x").total;
    let run = |ledger: &Ledger, source: Source| {
        otns.iter()
            .filter(|otn| {
                let ev = Evidence::paid(source, payment(&format!("T{otn}"), total), "SUCCESS");
                ledger.apply(otn, Input::Paid, &ev, at(1)).unwrap().changed
            })
            .count()
    };
    let changed: Vec<usize> = std::thread::scope(|s| {
        let h1 = s.spawn(|| run(&a, Source::Notify));
        let h2 = s.spawn(|| run(&b, Source::Query));
        vec![h1.join().unwrap(), h2.join().unwrap()]
    });
    assert_eq!(changed.iter().sum::<usize>(), otns.len(), "{changed:?}");
    for otn in &otns {
        assert_eq!(a.order(otn).unwrap().unwrap().status, OrderStatus::Paid);
        let outcomes: Vec<_> = a
            .events(otn)
            .unwrap()
            .into_iter()
            .skip(1)
            .map(|e| e.outcome)
            .collect();
        assert_eq!(outcomes.len(), 2);
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| o.as_str() == "creating -> paid")
                .count(),
            1
        );
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| o.as_str() == "ignored: already paid")
                .count(),
            1
        );
    }
}

#[test]
fn backwards_reports_are_recorded_and_ignored() {
    let (_dir, ledger) = new_ledger();
    let o = order("PD020");
    ledger.create_order(&o).unwrap();
    for step in [Input::Created, Input::Paid] {
        ledger
            .apply("PD020", step, &evidence(step, o.total, "T1"), at(1))
            .unwrap();
    }
    // A stale query result saying USERPAYING, a late PAYERROR, a close: none undo the payment.
    for late in [
        Input::UserPaying,
        Input::PayError,
        Input::Closed,
        Input::CreateFailed,
    ] {
        let a = ledger
            .apply("PD020", late, &evidence(late, o.total, "T1"), at(2))
            .unwrap();
        assert!(!a.changed && a.ignored.is_some(), "{late:?}");
    }
    let got = ledger.order("PD020").unwrap().unwrap();
    assert_eq!(got.status, OrderStatus::Paid);
    assert_eq!(got.transaction_id.as_deref(), Some("T1"));
    let outcomes: Vec<_> = ledger
        .events("PD020")
        .unwrap()
        .into_iter()
        .skip(3)
        .map(|e| e.outcome)
        .collect();
    assert_eq!(outcomes.len(), 4);
    assert!(
        outcomes.iter().all(|o| o.starts_with("ignored: ")),
        "{outcomes:?}"
    );
}

#[test]
fn amount_mismatch_is_refused_and_flagged() {
    let (_dir, ledger) = new_ledger();
    let o = order("PD030");
    ledger.create_order(&o).unwrap();
    ledger
        .apply(
            "PD030",
            Input::Created,
            &evidence(Input::Created, o.total, ""),
            at(1),
        )
        .unwrap();
    let wrong = Evidence::paid(
        Source::Query,
        payment("T-wrong", fen(1249)),
        "query SUCCESS",
    );
    let a = ledger.apply("PD030", Input::Paid, &wrong, at(2)).unwrap();
    assert_eq!(
        (a.after, a.changed, a.ignored),
        (OrderStatus::Open, false, Some("amount mismatch"))
    );
    assert!(a.alert.as_deref().unwrap().contains("12.49"), "{a:?}");
    let got = ledger.order("PD030").unwrap().unwrap();
    assert_eq!(got.status, OrderStatus::Open);
    assert_eq!(
        got.transaction_id, None,
        "a wrong amount is never stored as the payment"
    );
    assert!(got.flagged);
    assert!(got.flag_reason.unwrap().contains("does not match"));
    let last = ledger.events("PD030").unwrap().pop().unwrap();
    assert_eq!(last.kind, "paid");
    assert!(last.outcome.starts_with("refused: "), "{}", last.outcome);
    assert!(last.outcome.contains("T-wrong"));

    // The right payment still goes through; the flag stays for the manager.
    let a = ledger
        .apply(
            "PD030",
            Input::Paid,
            &evidence(Input::Paid, o.total, "T-right"),
            at(3),
        )
        .unwrap();
    assert_eq!(a.after, OrderStatus::Paid);
    assert!(ledger.order("PD030").unwrap().unwrap().flagged);

    // A mismatch on a paid order is refused too.
    let a = ledger.apply("PD030", Input::Paid, &wrong, at(4)).unwrap();
    assert_eq!(a.ignored, Some("amount mismatch"));
    assert_eq!(
        ledger
            .order("PD030")
            .unwrap()
            .unwrap()
            .transaction_id
            .as_deref(),
        Some("T-right")
    );
}

#[test]
fn a_second_transaction_for_a_paid_order_is_flagged() {
    let (_dir, ledger) = new_ledger();
    let o = order("PD040");
    ledger.create_order(&o).unwrap();
    ledger
        .apply(
            "PD040",
            Input::Paid,
            &evidence(Input::Paid, o.total, "T1"),
            at(1),
        )
        .unwrap();
    let a = ledger
        .apply(
            "PD040",
            Input::Paid,
            &evidence(Input::Paid, o.total, "T2"),
            at(2),
        )
        .unwrap();
    assert_eq!(
        (a.changed, a.ignored),
        (false, Some("different transaction_id"))
    );
    assert!(a.alert.as_deref().unwrap().contains("T2"));
    let got = ledger.order("PD040").unwrap().unwrap();
    assert_eq!(
        (got.status, got.transaction_id.as_deref()),
        (OrderStatus::Paid, Some("T1"))
    );
    assert!(got.flagged);
}

#[test]
fn paid_after_cancel_or_expiry_is_kept_and_flagged() {
    let (_dir, ledger) = new_ledger();
    for (otn, reason) in [
        ("PD050", CloseReason::Cancel),
        ("PD051", CloseReason::Expire),
    ] {
        let o = order(otn);
        ledger.create_order(&o).unwrap();
        for step in [Input::Created, Input::CloseRequested(reason), Input::Closed] {
            ledger
                .apply(otn, step, &evidence(step, o.total, ""), at(1))
                .unwrap();
        }
        let closed = ledger.order(otn).unwrap().unwrap();
        assert_eq!(
            closed.status,
            if reason == CloseReason::Cancel {
                OrderStatus::Cancelled
            } else {
                OrderStatus::Expired
            }
        );
        let a = ledger
            .apply(
                otn,
                Input::Paid,
                &evidence(Input::Paid, o.total, "T9"),
                at(2),
            )
            .unwrap();
        assert_eq!(a.after, OrderStatus::PaidAfterCancel);
        assert!(
            a.alert
                .as_deref()
                .unwrap()
                .starts_with(PAID_AFTER_CANCEL_ALERT)
        );
        let got = ledger.order(otn).unwrap().unwrap();
        assert!(got.flagged);
        assert_eq!(got.transaction_id.as_deref(), Some("T9"));
        assert!(got.status.is_paid());
    }
}

#[test]
fn apply_refuses_unknown_orders_and_missing_facts() {
    let (_dir, ledger) = new_ledger();
    assert!(matches!(
        ledger.apply(
            "nope",
            Input::Closed,
            &Evidence::new(Source::Query, "x"),
            at(0)
        ),
        Err(LedgerError::NotFound(_))
    ));
    ledger.create_order(&order("PD060")).unwrap();
    assert!(matches!(
        ledger.apply(
            "PD060",
            Input::Created,
            &Evidence::new(Source::UnifiedOrder, "x"),
            at(0)
        ),
        Err(LedgerError::Invalid(_))
    ));
    assert!(matches!(
        ledger.apply(
            "PD060",
            Input::Paid,
            &Evidence::new(Source::Notify, "x"),
            at(0)
        ),
        Err(LedgerError::Invalid(_))
    ));
    assert_eq!(ledger.events("PD060").unwrap().len(), 1);
}

#[test]
fn the_event_log_is_append_only() {
    let (dir, ledger) = new_ledger();
    ledger.create_order(&order("PD070")).unwrap();
    ledger
        .log_event("PD070", "request", "unifiedorder sent (attempt 1)", at(1))
        .unwrap();
    let e = ledger.events("PD070").unwrap();
    assert_eq!(
        (
            e[1].kind.as_str(),
            e[1].source.as_str(),
            e[1].detail.as_str()
        ),
        ("request", "log", "unifiedorder sent (attempt 1)")
    );
    assert!(matches!(
        ledger.log_event("nope", "request", "x", at(1)),
        Err(LedgerError::NotFound(_))
    ));
    let raw = rusqlite::Connection::open(dir.path().join("ledger.sqlite3")).unwrap();
    assert!(
        raw.execute("UPDATE order_events SET detail = 'x'", [])
            .is_err()
    );
    assert!(raw.execute("DELETE FROM order_events", []).is_err());
    assert!(raw.execute("DELETE FROM orders", []).is_err());
    assert_eq!(ledger.events("PD070").unwrap().len(), 2);
}

#[test]
fn unfinished_and_time_range_queries() {
    let (_dir, ledger) = new_ledger();
    for (k, otn) in ["A", "B", "C", "D"].iter().enumerate() {
        // Created out of order on purpose.
        let created = at([30, 10, 20, 40][k]);
        let o = order_with(otn, created, vec![line("x", 100, 1)]);
        ledger.create_order(&o).unwrap();
    }
    ledger
        .apply(
            "C",
            Input::Paid,
            &evidence(Input::Paid, fen(100), "T"),
            at(50),
        )
        .unwrap();
    ledger
        .apply(
            "D",
            Input::CloseRequested(CloseReason::Cancel),
            &Evidence::new(Source::Cashier, "cancel"),
            at(50),
        )
        .unwrap();
    let open: Vec<_> = ledger
        .unfinished()
        .unwrap()
        .into_iter()
        .map(|o| o.out_trade_no)
        .collect();
    assert_eq!(open, ["B", "A", "D"]);
    let between: Vec<_> = ledger
        .orders_between(at(10), at(40))
        .unwrap()
        .into_iter()
        .map(|o| o.out_trade_no)
        .collect();
    assert_eq!(
        between,
        ["B", "C", "A"],
        "from inclusive, to exclusive, oldest first"
    );
}

#[test]
fn the_same_wrong_amount_is_flagged_once() {
    let (_dir, ledger) = new_ledger();
    let o = order("PD031");
    ledger.create_order(&o).unwrap();
    let wrong = Evidence::paid(Source::Query, payment("T-wrong", fen(1)), "query SUCCESS");
    let first = ledger.apply("PD031", Input::Paid, &wrong, at(1)).unwrap();
    assert!(first.alert.is_some());
    // Every poll reports it again: recorded, but neither flagged nor alerted again.
    for k in 2..5 {
        let again = ledger.apply("PD031", Input::Paid, &wrong, at(k)).unwrap();
        assert_eq!(again.ignored, Some("amount mismatch"));
        assert_eq!(again.alert, None, "alerted again at poll {k}");
    }
    let reason = ledger.order("PD031").unwrap().unwrap().flag_reason.unwrap();
    assert_eq!(
        reason.matches("does not match").count(),
        1,
        "flag text repeated: {reason}"
    );
}

#[test]
fn given_up_orders_are_listed_for_rechecks_and_a_failed_payment_closes_first() {
    let (_dir, ledger) = new_ledger();
    let cashier = |why| Evidence::new(Source::Cashier, why);
    for (otn, created) in [
        ("G1", at(0)),
        ("G2", at(3600)),
        ("G3", at(7200)),
        ("G4", at(7200)),
    ] {
        let o = order_with(otn, created, vec![line("x", 100, 1)]);
        ledger.create_order(&o).unwrap();
    }
    for otn in ["G1", "G2", "G3"] {
        ledger
            .apply(
                otn,
                Input::Created,
                &evidence(Input::Created, fen(100), ""),
                at(7200),
            )
            .unwrap();
    }
    // G1 expired, G2 cancelled, G3 failed (closed first), G4 never created (no code_url).
    for (otn, reason) in [
        ("G1", CloseReason::Expire),
        ("G2", CloseReason::Cancel),
        ("G3", CloseReason::PayError),
    ] {
        let a = ledger
            .apply(
                otn,
                Input::CloseRequested(reason),
                &cashier("close"),
                at(7300),
            )
            .unwrap();
        assert_eq!(a.after, OrderStatus::Closing);
        ledger
            .apply(
                otn,
                Input::Closed,
                &Evidence::new(Source::Query, "CLOSED"),
                at(7301),
            )
            .unwrap();
    }
    ledger
        .apply("G4", Input::CreateFailed, &cashier("refused"), at(7300))
        .unwrap();
    let statuses: Vec<_> = ["G1", "G2", "G3", "G4"]
        .iter()
        .map(|n| ledger.order(n).unwrap().unwrap().status)
        .collect();
    assert_eq!(
        statuses,
        [
            OrderStatus::Expired,
            OrderStatus::Cancelled,
            OrderStatus::Failed,
            OrderStatus::Failed
        ]
    );
    let names = |since| -> Vec<String> {
        ledger
            .given_up_since(since)
            .unwrap()
            .into_iter()
            .map(|o| o.out_trade_no)
            .collect()
    };
    assert_eq!(names(at(0)), ["G1", "G2", "G3"]);
    // time_expire is created_at + 5 min: only orders expiring at or after `since`.
    assert_eq!(names(at(3600 + 300)), ["G2", "G3"]);
    assert!(names(at(7200 + 301)).is_empty());

    assert_eq!(ledger.order("G2").unwrap().unwrap().rechecks, 0);
    ledger
        .note_recheck("G2", "trade_state=CLOSED", at(7400))
        .unwrap();
    ledger
        .note_recheck("G2", "trade_state=CLOSED", at(7500))
        .unwrap();
    assert_eq!(ledger.order("G2").unwrap().unwrap().rechecks, 2);
    assert_eq!(ledger.events("G2").unwrap().pop().unwrap().kind, "recheck");
    assert!(ledger.note_recheck("nope", "", at(7500)).is_err());

    // A late payment on a given-up order moves it forward, flagged.
    let a = ledger
        .apply(
            "G3",
            Input::Paid,
            &evidence(Input::Paid, fen(100), "T-late"),
            at(7600),
        )
        .unwrap();
    assert_eq!(a.after, OrderStatus::PaidAfterCancel);
}

// ---------------------------------------------------------------------------------------------- export

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

fn bj(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    beijing()
        .with_ymd_and_hms(2026, 11, d, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

fn export_in<Tz: TimeZone>(ledger: &Ledger, tz: &Tz, d: NaiveDate, h: u8) -> (usize, Vec<u8>) {
    let mut out = Vec::new();
    let n = ledger.export_day_in(tz, d, h, &mut out).unwrap();
    (n, out)
}

fn parse_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM first");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&bytes[3..])
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn export_has_bom_header_quoting_exact_amounts_and_every_status() {
    let (_dir, ledger) = new_ledger();
    let tricky = "饮料, \"大\"\n杯";
    let orders = [
        ("E1", vec![line(tricky, 1, 1)], vec![]), // 0.01, creating
        (
            "E2",
            vec![line("可乐", 350, 2), line("薯片", 550, 1)],
            vec![Input::Created, Input::Paid],
        ),
        (
            "E3",
            vec![line("=1+2", 99_999_999, 1)],
            vec![Input::Created, Input::Paid],
        ), // 999999.99
        (
            "E4",
            vec![line("a", 100, 1)],
            vec![Input::Created, Input::PayError],
        ),
        ("E5", vec![line("b", 100, 1)], vec![Input::CreateFailed]),
        (
            "E6",
            vec![line("c", 100, 1)],
            vec![
                Input::Created,
                Input::CloseRequested(CloseReason::Cancel),
                Input::Closed,
            ],
        ),
        (
            "E7",
            vec![line("d", 100, 1)],
            vec![
                Input::Created,
                Input::CloseRequested(CloseReason::Expire),
                Input::Closed,
            ],
        ),
        (
            "E8",
            vec![line("e", 100, 1)],
            vec![
                Input::Created,
                Input::CloseRequested(CloseReason::Cancel),
                Input::Paid,
            ],
        ),
        (
            "E9",
            vec![line("f", 100, 1)],
            vec![Input::Created, Input::Paid, Input::Refunded],
        ),
        ("EA", vec![line("g", 100, 1)], vec![Input::Created]),
        (
            "EB",
            vec![line("h", 100, 1)],
            vec![Input::Created, Input::UserPaying],
        ),
        (
            "EC",
            vec![line("i", 100, 1)],
            vec![Input::Created, Input::CloseRequested(CloseReason::Cancel)],
        ),
    ];
    for (k, (otn, items, steps)) in orders.iter().enumerate() {
        let o = order_with(otn, bj(27, 9, k as u32), items.clone());
        ledger.create_order(&o).unwrap();
        for step in steps {
            ledger
                .apply(
                    otn,
                    *step,
                    &evidence(*step, o.total, &format!("42000{k}")),
                    at(1),
                )
                .unwrap();
        }
    }
    let (n, bytes) = export_in(&ledger, &beijing(), day(27), 0);
    assert_eq!(n, orders.len());
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.contains("\"饮料, \"\"大\"\"\n杯 ×1\""),
        "quoted field: {text}"
    );
    assert!(text.contains("\r\n"), "CRLF rows");
    let rows = parse_csv(&bytes);
    assert_eq!(rows[0], HEADER);
    assert_eq!(rows.len(), orders.len() + 1);
    let by = |otn: &str| rows.iter().find(|r| r[1] == otn).unwrap().clone();

    let e1 = by("E1");
    assert_eq!(e1[0], "2026-11-27 09:00:00");
    assert_eq!(
        e1[3],
        format!("{tricky} ×1"),
        "round-trips through a CSV reader"
    );
    assert_eq!(e1[4], "0.01");
    assert_eq!(e1[2], "", "no transaction id before payment");
    let e2 = by("E2");
    assert_eq!(
        e2,
        [
            "2026-11-27 09:01:00",
            "E2",
            "420001",
            "可乐 ×2; 薯片 ×1",
            "12.50",
            "已支付 paid",
            "小王",
            "前台1",
            "",
            "12.50",
            "0.00",
            "12.50"
        ]
    );
    let e3 = by("E3");
    assert_eq!(
        (e3[3].as_str(), e3[4].as_str()),
        ("'=1+2 ×1", "999999.99"),
        "formula defused"
    );
    let status = |otn: &str| by(otn)[5].clone();
    assert_eq!(status("E1"), "创建中 creating");
    assert_eq!(status("E4"), "支付失败 failed");
    assert_eq!(status("E5"), "支付失败 failed");
    assert_eq!(status("E6"), "已取消 cancelled");
    assert_eq!(status("E7"), "已过期 expired");
    assert_eq!(status("E8"), "取消后已支付 paid after cancel");
    assert!(
        by("E8")[8].contains("paid after cancel"),
        "note says why it is flagged"
    );
    assert_eq!(status("E9"), "已退款 refunded");
    assert_eq!(status("EA"), "待支付 open");
    assert_eq!(status("EB"), "支付中 paying");
    assert_eq!(status("EC"), "关闭中 closing");
    // Received: only orders that received money; an order's row never carries a refund.
    let money = |otn: &str| by(otn)[9..].to_vec();
    for otn in ["E1", "E4", "E5", "E6", "E7", "EA", "EB", "EC"] {
        assert_eq!(money(otn), ["0.00", "0.00", "0.00"], "{otn}");
    }
    for otn in ["E8", "E9"] {
        assert_eq!(money(otn), ["1.00", "0.00", "1.00"], "{otn}");
    }
    assert_eq!(money("E3"), ["999999.99", "0.00", "999999.99"]);
    // Oldest first.
    let otns: Vec<_> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(otns, orders.iter().map(|o| o.0).collect::<Vec<_>>());
}

#[test]
fn export_days_follow_local_time_and_the_day_start_hour() {
    let (_dir, ledger) = new_ledger();
    let at_local = [
        ("D26-2359", bj(26, 23, 59)),
        ("D27-0000", bj(27, 0, 0)),
        ("D27-0200", bj(27, 2, 0)),
        ("D27-0400", bj(27, 4, 0)),
        ("D27-2359", bj(27, 23, 59)),
        ("D28-0000", bj(28, 0, 0)),
        ("D28-0359", bj(28, 3, 59)),
        ("D28-0400", bj(28, 4, 0)),
    ];
    for (otn, t) in at_local {
        ledger
            .create_order(&order_with(otn, t, vec![line("x", 100, 1)]))
            .unwrap();
    }
    let otns = |tz: &FixedOffset, d: u32, h: u8| -> Vec<String> {
        let (_, bytes) = export_in(&ledger, tz, day(d), h);
        parse_csv(&bytes)[1..]
            .iter()
            .map(|r| r[1].clone())
            .collect()
    };
    assert_eq!(
        otns(&beijing(), 27, 0),
        ["D27-0000", "D27-0200", "D27-0400", "D27-2359"]
    );
    // Open past midnight: the business day runs 04:00 to 04:00; 02:00 belongs to the previous day.
    assert_eq!(
        otns(&beijing(), 27, 4),
        ["D27-0400", "D27-2359", "D28-0000", "D28-0359"]
    );
    assert_eq!(
        otns(&beijing(), 26, 4),
        ["D26-2359", "D27-0000", "D27-0200"]
    );
    // The same ledger seen from UTC: the calendar day shifts by eight hours.
    let utc = FixedOffset::east_opt(0).unwrap();
    assert_eq!(
        otns(&utc, 27, 0),
        ["D27-2359", "D28-0000", "D28-0359", "D28-0400"]
    );
    let (_, bytes) = export_in(&ledger, &utc, day(27), 0);
    assert_eq!(
        parse_csv(&bytes)[1][0],
        "2026-11-27 15:59:00",
        "times shown in the export's zone"
    );

    let ids: Vec<_> = ledger
        .orders_for_day_in(&beijing(), day(27), 4)
        .unwrap()
        .into_iter()
        .map(|o| o.out_trade_no)
        .collect();
    assert_eq!(ids, ["D27-0400", "D27-2359", "D28-0000", "D28-0359"]);
    // An empty day still has its BOM and header.
    let (n, bytes) = export_in(&ledger, &beijing(), day(1), 0);
    assert_eq!((n, parse_csv(&bytes).len()), (0, 1));
}

#[test]
fn export_to_file_replaces_atomically_and_reports_bad_paths() {
    let (dir, ledger) = new_ledger();
    let noon = Local
        .with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    ledger
        .create_order(&order_with("F1", noon, vec![line("x", 100, 1)]))
        .unwrap();
    let path = dir.path().join("2026-11-27.csv");
    std::fs::write(&path, "old").unwrap();
    assert_eq!(ledger.export_day_to_file(day(27), 0, &path).unwrap(), 1);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(parse_csv(&bytes).len(), 2);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    for bad in [
        dir.path().join("no/such/dir/x.csv"),
        dir.path().to_path_buf(),
    ] {
        let err = ledger.export_day_to_file(day(27), 0, &bad).unwrap_err();
        assert!(matches!(err, LedgerError::WriteFile { .. }), "{err}");
        assert!(err.to_string().contains("cannot write"), "{err}");
    }
}

// ------------------------------------------------------------------------------------------- the file

fn ledger_with_orders(dir: &Path, n: usize) -> PathBuf {
    let path = dir.join("ledger.sqlite3");
    let ledger = Ledger::open(&path).unwrap();
    for k in 0..n {
        let otn = format!("L{k:05}");
        let o = order(&otn);
        ledger.create_order(&o).unwrap();
        ledger
            .apply(
                &otn,
                Input::Paid,
                &evidence(Input::Paid, o.total, &format!("T{k}")),
                at(1),
            )
            .unwrap();
    }
    path
}

#[test]
fn reopening_keeps_everything_and_the_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_with_orders(dir.path(), 3);
    let ledger = Ledger::open(&path).unwrap();
    assert_eq!(
        ledger.order("L00002").unwrap().unwrap().status,
        OrderStatus::Paid
    );
    ledger.check_integrity().unwrap();
    drop(ledger);
    let mut wal = path.clone().into_os_string();
    wal.push("-wal");
    assert!(
        !Path::new(&wal).exists(),
        "closing checkpoints the WAL into the file"
    );
    let raw = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = raw
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

/// Assert that opening `path` fails as `matches` says, with a message naming the file, and that the file's
/// bytes are unchanged.
fn assert_refused(path: &Path, matches: fn(&LedgerError) -> bool) {
    let before = std::fs::read(path).unwrap();
    let err = Ledger::open(path).unwrap_err();
    assert!(matches(&err), "unexpected error: {err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "names the file: {msg}"
    );
    assert!(msg.contains("left untouched"), "{msg}");
    assert_eq!(std::fs::read(path).unwrap(), before, "file bytes unchanged");
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let random = dir.path().join("random.sqlite3");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..8192)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&random, &bytes).unwrap();
    assert_refused(&random, |e| matches!(e, LedgerError::NotADatabase { .. }));

    // A real ledger cut inside its header.
    let good = ledger_with_orders(&dir.path().join("good"), 1);
    let cut = dir.path().join("cut.sqlite3");
    std::fs::write(&cut, &std::fs::read(&good).unwrap()[..50]).unwrap();
    assert_refused(&cut, |e| matches!(e, LedgerError::NotADatabase { .. }));

    // A text file.
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "shopping list: 可乐, 薯片\n".repeat(20)).unwrap();
    assert_refused(&text, |e| matches!(e, LedgerError::NotADatabase { .. }));

    // Another application's database.
    let other = dir.path().join("other.sqlite3");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    assert_refused(&other, |e| matches!(e, LedgerError::NotADatabase { .. }));
}

#[test]
fn a_damaged_ledger_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_with_orders(dir.path(), 300);
    // Checkpoint everything into the main file, then damage its pages after the first.
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        raw.execute_batch("PRAGMA journal_mode = DELETE").unwrap();
    }
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    assert!(bytes.len() > 8 * page, "ledger has pages to damage");
    for b in &mut bytes[page + 8..3 * page] {
        *b = 0x5A;
    }
    std::fs::write(&path, &bytes).unwrap();
    assert_refused(&path, |e| matches!(e, LedgerError::Corrupt { .. }));

    // Cut in half.
    let half = dir.path().join("half.sqlite3");
    let good = ledger_with_orders(&dir.path().join("good"), 300);
    {
        let raw = rusqlite::Connection::open(&good).unwrap();
        raw.execute_batch("PRAGMA journal_mode = DELETE").unwrap();
    }
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&half, &bytes[..bytes.len() / 2]).unwrap();
    assert_refused(&half, |e| {
        matches!(
            e,
            LedgerError::Corrupt { .. } | LedgerError::NotADatabase { .. }
        )
    });
}

/// Damage pages near the end of a ledger left in WAL mode (as PayDesk leaves it), past the pages that the
/// cheap checks at open read.
fn damaged_wal_ledger(dir: &Path) -> PathBuf {
    let path = ledger_with_orders(dir, 300);
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    assert!(bytes.len() > 8 * page, "ledger has pages to damage");
    let end = bytes.len();
    for b in &mut bytes[end - 3 * page + 8..end - page] {
        *b = 0x5A;
    }
    std::fs::write(&path, &bytes).unwrap();
    path
}

#[test]
fn a_deferred_check_refuses_writes_until_it_passes() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_with_orders(dir.path(), 3);
    let ledger = Ledger::open_deferring_check(&path).unwrap();
    assert!(ledger.check_pending());
    // Reads work meanwhile; writes are refused with the "checking" message.
    assert!(ledger.order("L00001").unwrap().is_some());
    let err = ledger.create_order(&order("L09999")).unwrap_err();
    assert!(matches!(err, LedgerError::Checking { .. }), "{err:?}");
    assert!(err.to_string().contains("checking the ledger"), "{err}");
    assert!(err.to_string().contains("正在检查账本"), "{err}");
    ledger.run_deferred_check().unwrap();
    assert!(!ledger.check_pending());
    ledger.create_order(&order("L09999")).unwrap();
}

#[test]
fn a_damaged_ledger_fails_the_deferred_check_and_stays_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = damaged_wal_ledger(dir.path());
    let before = std::fs::read(&path).unwrap();
    {
        // The cheap checks pass: the damage is in pages they do not read.
        let ledger = Ledger::open_deferring_check(&path).unwrap();
        let err = ledger.run_deferred_check().unwrap_err();
        assert!(matches!(err, LedgerError::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().contains("left untouched"), "{err}");
        assert!(ledger.check_pending());
        let err = ledger.create_order(&order("L09999")).unwrap_err();
        assert!(matches!(err, LedgerError::Corrupt { .. }), "{err:?}");
    }
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "file bytes unchanged"
    );
    // The ordinary open still refuses it at once.
    assert_refused(&path, |e| matches!(e, LedgerError::Corrupt { .. }));
}

#[test]
fn a_file_that_needs_more_than_opening_is_checked_before_it_is_touched() {
    // Not in WAL mode: switching it would write, so the deferring open checks first and refuses.
    let dir = tempfile::tempdir().unwrap();
    let path = damaged_wal_ledger(dir.path());
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        // Only the header changes here; the damaged pages stay damaged.
        raw.execute_batch("PRAGMA journal_mode = DELETE").unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = Ledger::open_deferring_check(&path).unwrap_err();
    assert!(matches!(err, LedgerError::Corrupt { .. }), "{err:?}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "file bytes unchanged"
    );
}

#[test]
fn a_newer_schema_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_with_orders(dir.path(), 1);
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute_batch("PRAGMA user_version = 99; PRAGMA journal_mode = DELETE;")
            .unwrap();
    }
    assert_refused(&path, |e| {
        matches!(e, LedgerError::TooNew { found: 99, .. })
    });
}

#[test]
fn an_unusable_path_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // The path is a directory.
    let err = Ledger::open(dir.path()).unwrap_err();
    assert!(matches!(err, LedgerError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("cannot open the ledger"), "{err}");
    // The parent is a file.
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let err = Ledger::open(&file.join("ledger.sqlite3")).unwrap_err();
    assert!(matches!(err, LedgerError::Open { .. }), "{err:?}");
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

#[test]
fn an_empty_file_becomes_a_new_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    std::fs::write(&path, b"").unwrap();
    let ledger = Ledger::open(&path).unwrap();
    ledger.create_order(&order("N1")).unwrap();
}

#[test]
fn backup_is_a_complete_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_with_orders(dir.path(), 5);
    let ledger = Ledger::open(&path).unwrap();
    let copy = dir.path().join("backup/ledger-copy.sqlite3");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    ledger.backup_to(&copy).unwrap();
    // Writes go on; the copy is a snapshot.
    ledger.create_order(&order("AFTER")).unwrap();
    let restored = Ledger::open(&copy).unwrap();
    restored.check_integrity().unwrap();
    assert_eq!(
        restored.order("L00004").unwrap().unwrap().status,
        OrderStatus::Paid
    );
    assert_eq!(restored.events("L00004").unwrap().len(), 2);
    assert!(restored.order("AFTER").unwrap().is_none());

    let err = ledger.backup_to(&path).unwrap_err();
    assert!(err.to_string().contains("the ledger itself"), "{err}");
    let err = ledger
        .backup_to(&dir.path().join("missing/dir/x"))
        .unwrap_err();
    assert!(err.to_string().contains("cannot write"), "{err}");
}

// ----------------------------------------------------------------------------------------- durability

const CHILD_ENV: &str = "PAYDESK_TEST_LEDGER_WRITER";

/// Not a test on its own: the writer process for [`committed_orders_survive_sigkill`]. It records orders as
/// fast as it can and reports each one on stdout once `apply` returned.
#[test]
#[ignore = "run by committed_orders_survive_sigkill as a child process"]
fn durability_child_writer() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let ledger = Ledger::open(Path::new(&path)).unwrap();
    let mut out = std::io::stdout().lock();
    // What the claim rests on: without WAL and synchronous=FULL a commit could be lost and this test would
    // still pass on a machine that does not lose power.
    let (mode, sync) = ledger.durability().unwrap();
    {
        use std::io::Write;
        writeln!(out, "pragmas journal_mode={mode} synchronous={sync}").unwrap();
    }
    for k in 0.. {
        let otn = format!("K{k:06}");
        let o = order(&otn);
        ledger.create_order(&o).unwrap();
        ledger
            .apply(
                &otn,
                Input::Created,
                &evidence(Input::Created, o.total, ""),
                at(1),
            )
            .unwrap();
        ledger
            .apply(
                &otn,
                Input::Paid,
                &evidence(Input::Paid, o.total, &format!("T{otn}")),
                at(2),
            )
            .unwrap();
        use std::io::Write;
        writeln!(out, "committed {otn}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn committed_orders_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "durability_child_writer",
            "--nocapture",
            "--ignored",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut reported = Vec::new();
    let mut pragmas = None;
    for l in BufReader::new(stdout).lines() {
        let l = l.unwrap();
        if let Some(p) = l.strip_prefix("pragmas ") {
            pragmas = Some(p.to_string());
        }
        if let Some(otn) = l.strip_prefix("committed ") {
            reported.push(otn.to_string());
            if reported.len() == 60 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL, most likely in the middle of a transaction
    child.wait().unwrap();
    assert_eq!(reported.len(), 60, "the writer reported its orders");
    assert_eq!(
        pragmas.as_deref(),
        Some("journal_mode=wal synchronous=2"),
        "the writer ran with WAL and synchronous=FULL"
    );

    let ledger = Ledger::open(&path).unwrap();
    ledger.check_integrity().unwrap();
    for otn in &reported {
        let o = ledger
            .order(otn)
            .unwrap()
            .unwrap_or_else(|| panic!("{otn} lost"));
        assert_eq!(o.status, OrderStatus::Paid, "{otn}");
        assert_eq!(
            o.transaction_id.as_deref(),
            Some(format!("T{otn}").as_str())
        );
        assert_eq!(ledger.items(otn).unwrap().len(), 2, "{otn}");
        assert_eq!(ledger.events(otn).unwrap().len(), 3, "{otn}");
    }
    drop(ledger);
    let raw = rusqlite::Connection::open(&path).unwrap();
    let check: String = raw
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    // Whatever the writer was doing when killed is all or nothing: every order has its lines.
    let orphans: i64 = raw
        .query_row(
            "SELECT count(*) FROM orders o WHERE NOT EXISTS \
             (SELECT 1 FROM order_items i WHERE i.order_id = o.id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
}

// -------------------------------------------------------------------------------------------- refunds

/// A paid order `otn` of ¥12.50 created at `created`.
fn paid_order(ledger: &Ledger, otn: &str, created: DateTime<Utc>) -> NewOrder {
    let o = order_with(
        otn,
        created,
        vec![line("可乐", 350, 2), line("薯片", 550, 1)],
    );
    ledger.create_order(&o).unwrap();
    let mut p = payment(&format!("T{otn}"), o.total);
    p.time_end = Some(created + Duration::seconds(30));
    ledger
        .apply(
            otn,
            Input::Paid,
            &Evidence::paid(Source::Notify, p, "notify SUCCESS"),
            created + Duration::seconds(30),
        )
        .unwrap();
    o
}

fn refund(otn: &str, orn: &str, amount: i64, created_at: DateTime<Utc>) -> NewRefund {
    NewRefund {
        out_refund_no: orn.to_string(),
        out_trade_no: otn.to_string(),
        amount: fen(amount),
        reason: "退货 returned".into(),
        approved_by: "店长 Li".into(),
        source: RefundSource::Till,
        created_at,
    }
}

fn refund_ev(source: Source, detail: &str) -> RefundEvidence {
    RefundEvidence::new(source, detail)
}

/// Accept and succeed a refund, the money back at `success_at`.
fn succeed(ledger: &Ledger, orn: &str, success_at: DateTime<Utc>) -> RefundApplied {
    ledger
        .apply_refund(
            orn,
            RefundInput::Accepted,
            &RefundEvidence {
                refund_id: Some(format!("W{orn}")),
                ..refund_ev(Source::Refund, "refund SUCCESS")
            },
            success_at - Duration::seconds(5),
        )
        .unwrap();
    ledger
        .apply_refund(
            orn,
            RefundInput::Succeeded,
            &RefundEvidence {
                success_at: Some(success_at),
                recv_account: Some("支付用户零钱".into()),
                ..refund_ev(Source::Notify, "refund notify SUCCESS")
            },
            success_at + Duration::seconds(1),
        )
        .unwrap()
}

fn refused(r: Result<paydesk::ledger::Refund, LedgerError>) -> RefundRefusal {
    match r {
        Err(LedgerError::RefundRefused(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_partial_refund_then_the_rest_refunds_the_order() {
    let (_dir, ledger) = new_ledger();
    paid_order(&ledger, "A1", t0());
    assert_eq!(ledger.refundable("A1").unwrap(), fen(1250));

    let r1 = ledger
        .create_refund(&refund("A1", "R1", 500, at(60)))
        .unwrap();
    assert_eq!(r1.status, RefundState::Requesting);
    assert_eq!(r1.out_trade_no, "A1");
    assert_eq!(
        ledger.refundable("A1").unwrap(),
        fen(750),
        "pending holds money"
    );
    let o = ledger.order("A1").unwrap().unwrap();
    assert_eq!((o.refunded, o.refund_pending), (fen(0), fen(500)));
    assert_eq!(o.refund_progress(), RefundProgress::Refunding);

    let a = succeed(&ledger, "R1", at(120));
    assert_eq!(
        (a.before, a.after),
        (RefundState::Processing, RefundState::Success)
    );
    assert_eq!(
        a.order_after,
        OrderStatus::Paid,
        "partially refunded stays paid"
    );
    assert_eq!(a.refundable, fen(750));
    let o = ledger.order("A1").unwrap().unwrap();
    assert_eq!(o.status, OrderStatus::Paid);
    assert_eq!((o.refunded, o.refund_pending), (fen(500), fen(0)));
    assert_eq!(o.refund_progress(), RefundProgress::Partial);
    let r1 = ledger.refund("R1").unwrap().unwrap();
    assert_eq!(r1.refund_id.as_deref(), Some("WR1"));
    assert_eq!(r1.success_at, Some(at(120)));
    assert_eq!(r1.recv_account.as_deref(), Some("支付用户零钱"));

    // The rest: the order becomes Refunded through the order state machine.
    ledger
        .create_refund(&refund("A1", "R2", 750, at(200)))
        .unwrap();
    let a = succeed(&ledger, "R2", at(260));
    assert_eq!(
        (a.order_before, a.order_after),
        (OrderStatus::Paid, OrderStatus::Refunded)
    );
    assert_eq!(a.refundable, fen(0));
    let o = ledger.order("A1").unwrap().unwrap();
    assert_eq!(o.status, OrderStatus::Refunded);
    assert_eq!(o.refunded, fen(1250));
    assert_eq!(o.refund_progress(), RefundProgress::Full);
    assert_eq!(ledger.refundable("A1").unwrap(), fen(0));
    let list = ledger.refunds_of("A1").unwrap();
    assert_eq!(
        list.iter()
            .map(|r| r.out_refund_no.as_str())
            .collect::<Vec<_>>(),
        ["R1", "R2"]
    );

    // Every step is on the order's log, naming who approved it.
    let events = ledger.events("A1").unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "recorded",
            "paid",
            "refund_requested",
            "refund_accepted",
            "refund_succeeded",
            "refund_requested",
            "refund_accepted",
            "refund_succeeded",
            "refunded"
        ]
    );
    for e in events.iter().filter(|e| e.kind.starts_with("refund_")) {
        assert!(e.detail.contains("approved by 店长 Li"), "{e:?}");
    }
    let last = events.last().unwrap();
    assert_eq!(last.outcome, "paid -> refunded");

    // Nothing is left to refund.
    let why = refused(ledger.create_refund(&refund("A1", "R3", 1, at(300))));
    assert!(
        matches!(why, RefundRefusal::NotRefundable { .. }),
        "{why:?}"
    );
    assert!(why.to_string().contains("¥0.00 can be refunded"), "{why}");
}

#[test]
fn an_over_refund_is_refused_with_what_can_be_refunded() {
    let (_dir, ledger) = new_ledger();
    paid_order(&ledger, "A1", t0());
    ledger
        .create_refund(&refund("A1", "R1", 1000, at(60)))
        .unwrap();

    let err = ledger
        .create_refund(&refund("A1", "R2", 500, at(120)))
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("¥2.50 can be refunded"), "{msg}");
    assert!(msg.contains("¥5.00"), "{msg}");
    assert_eq!(ledger.refunds_of("A1").unwrap().len(), 1, "nothing written");
    assert_eq!(ledger.events("A1").unwrap().len(), 3);

    // The exact rest is fine; zero, an unpaid or unknown order, no approver, a bad number are not.
    assert!(matches!(
        refused(ledger.create_refund(&refund("A1", "R0", 0, at(120)))),
        RefundRefusal::ZeroAmount
    ));
    ledger.create_order(&order("U1")).unwrap();
    let why = refused(ledger.create_refund(&refund("U1", "RU", 100, at(120))));
    assert!(
        matches!(
            why,
            RefundRefusal::NotRefundable {
                status: OrderStatus::Creating,
                ..
            }
        ),
        "{why:?}"
    );
    assert!(matches!(
        refused(ledger.create_refund(&refund("NOPE", "RN", 100, at(120)))),
        RefundRefusal::OrderNotFound(_)
    ));
    let mut nobody = refund("A1", "RX", 100, at(120));
    nobody.approved_by = " ".into();
    assert!(matches!(
        refused(ledger.create_refund(&nobody)),
        RefundRefusal::NoApprover
    ));
    assert!(matches!(
        refused(ledger.create_refund(&refund("A1", "退款 1", 100, at(120)))),
        RefundRefusal::BadOutRefundNo(_)
    ));
    ledger
        .create_refund(&refund("A1", "R2", 250, at(120)))
        .unwrap();
    assert_eq!(ledger.refundable("A1").unwrap(), fen(0));

    // A refund that closes gives its amount back; the order's status does not move.
    let a = ledger
        .apply_refund(
            "R1",
            RefundInput::Closed,
            &refund_ev(Source::Query, "refundquery REFUNDCLOSE"),
            at(200),
        )
        .unwrap();
    assert_eq!(a.after, RefundState::Closed);
    assert_eq!(a.refundable, fen(1000));
    assert_eq!(a.order_after, OrderStatus::Paid);
    assert_eq!(ledger.refundable("A1").unwrap(), fen(1000));
    let o = ledger.order("A1").unwrap().unwrap();
    assert_eq!((o.refunded, o.refund_pending), (fen(0), fen(250)));
}

#[test]
fn the_51st_refund_of_an_order_is_refused() {
    let (_dir, ledger) = new_ledger();
    let o = order_with("B1", t0(), vec![line("水", 100, 100)]);
    ledger.create_order(&o).unwrap();
    ledger
        .apply(
            "B1",
            Input::Paid,
            &evidence(Input::Paid, o.total, "TB1"),
            at(1),
        )
        .unwrap();
    for k in 0..50 {
        let r = ledger
            .create_refund(&refund("B1", &format!("B1R{k}"), 1, at(60 + k)))
            .unwrap();
        if k % 2 == 0 {
            // Closed refunds count too: WeChat counts every refund of the order.
            ledger
                .apply_refund(
                    &r.out_refund_no,
                    RefundInput::Closed,
                    &refund_ev(Source::Query, "x"),
                    at(100),
                )
                .unwrap();
        }
    }
    let why = refused(ledger.create_refund(&refund("B1", "B1R50", 1, at(200))));
    assert!(matches!(why, RefundRefusal::TooMany { .. }), "{why:?}");
    assert!(why.to_string().contains("50 refunds"), "{why}");
    assert_eq!(ledger.refunds_of("B1").unwrap().len(), 50);
    assert_eq!(ledger.refundable("B1").unwrap(), fen(10_000 - 25));
}

#[test]
fn a_retry_with_the_same_values_is_idempotent() {
    let (_dir, ledger) = new_ledger();
    paid_order(&ledger, "A1", t0());
    let first = ledger
        .create_refund(&refund("A1", "R1", 1250, at(60)))
        .unwrap();
    // The retry comes later (after a restart, say): same values, another clock reading.
    let again = ledger
        .create_refund(&refund("A1", "R1", 1250, at(90)))
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(again.created_at, at(60));
    assert_eq!(ledger.refunds_of("A1").unwrap().len(), 1);
    let requested = ledger
        .events("A1")
        .unwrap()
        .iter()
        .filter(|e| e.kind == "refund_requested")
        .count();
    assert_eq!(requested, 1);
    // The same number with other values is refused, even where the amount alone would be fine.
    succeed(&ledger, "R1", at(100));
    let again = ledger
        .create_refund(&refund("A1", "R1", 1250, at(200)))
        .unwrap();
    assert_eq!(
        again.status,
        RefundState::Success,
        "a retry sees the stored state"
    );
    let why = refused(ledger.create_refund(&refund("A1", "R1", 100, at(200))));
    assert!(matches!(why, RefundRefusal::Conflict { .. }), "{why:?}");
    paid_order(&ledger, "A2", t0());
    let why = refused(ledger.create_refund(&refund("A2", "R1", 1250, at(200))));
    assert!(matches!(why, RefundRefusal::Conflict { .. }), "{why:?}");
}

#[test]
fn refund_reports_are_recorded_ignored_or_flagged_never_backwards() {
    let (_dir, ledger) = new_ledger();
    paid_order(&ledger, "A1", t0());
    ledger
        .create_refund(&refund("A1", "R1", 500, at(60)))
        .unwrap();
    ledger
        .create_refund(&refund("A1", "R2", 300, at(61)))
        .unwrap();
    ledger
        .create_refund(&refund("A1", "R3", 200, at(62)))
        .unwrap();
    let unfinished: Vec<_> = ledger
        .unfinished_refunds()
        .unwrap()
        .into_iter()
        .map(|r| r.out_refund_no)
        .collect();
    assert_eq!(unfinished, ["R1", "R2", "R3"]);

    // R1 closes; a late SUCCESS is recorded and flagged, not applied.
    let q = refund_ev(Source::Query, "refundquery");
    ledger
        .apply_refund("R1", RefundInput::Accepted, &q, at(70))
        .unwrap();
    let a = ledger
        .apply_refund("R1", RefundInput::Processing, &q, at(71))
        .unwrap();
    assert_eq!(a.ignored, Some("already accepted"));
    ledger
        .apply_refund("R1", RefundInput::Closed, &q, at(80))
        .unwrap();
    let a = ledger
        .apply_refund("R1", RefundInput::Succeeded, &q, at(90))
        .unwrap();
    assert!(!a.changed);
    assert_eq!(a.after, RefundState::Closed);
    let alert = a.alert.expect("flagged");
    assert!(alert.contains("late SUCCESS after REFUNDCLOSE"), "{alert}");
    let r1 = ledger.refund("R1").unwrap().unwrap();
    assert!(r1.flagged && r1.success_at.is_none());
    let o = ledger.order("A1").unwrap().unwrap();
    assert!(o.flagged);
    assert!(o.flag_reason.unwrap().contains("R1"));
    assert_eq!(o.status, OrderStatus::Paid);

    // R2 is refused for good; R3 reports the wrong amount.
    let a = ledger
        .apply_refund("R2", RefundInput::Refused, &q, at(91))
        .unwrap();
    assert_eq!(a.after, RefundState::Failed);
    let wrong = RefundEvidence {
        refund_fee: Some(fen(250)),
        ..refund_ev(Source::Notify, "refund notify SUCCESS")
    };
    let a = ledger
        .apply_refund("R3", RefundInput::Succeeded, &wrong, at(92))
        .unwrap();
    assert_eq!((a.changed, a.ignored), (false, Some("amount mismatch")));
    assert!(a.alert.unwrap().contains("¥2.50"));
    assert_eq!(
        ledger.refund("R3").unwrap().unwrap().status,
        RefundState::Requesting
    );
    assert_eq!(
        ledger.unfinished_refunds().unwrap().len(),
        1,
        "only R3 is still in flight"
    );
    assert_eq!(ledger.refundable("A1").unwrap(), fen(1050));

    let outcomes: Vec<_> = ledger
        .events("A1")
        .unwrap()
        .into_iter()
        .filter(|e| e.kind.starts_with("refund_"))
        .map(|e| e.outcome)
        .collect();
    assert!(
        outcomes.contains(&"requesting -> processing".to_string()),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&"ignored: already accepted".to_string()),
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().any(|o| o.starts_with("flagged: ")),
        "{outcomes:?}"
    );

    assert!(matches!(
        ledger.apply_refund("NOPE", RefundInput::Succeeded, &q, at(99)),
        Err(LedgerError::RefundNotFound(_))
    ));
}

#[test]
fn a_refund_lands_on_its_own_day_in_the_csv() {
    let (_dir, ledger) = new_ledger();
    let tz = beijing();
    paid_order(&ledger, "D1", bj(27, 10, 0));
    ledger
        .create_refund(&refund("D1", "DR1", 500, bj(27, 23, 50)))
        .unwrap();
    // Created late on the 27th, the money back after midnight: it belongs to the 28th.
    succeed(&ledger, "DR1", bj(28, 0, 10));

    let (n, bytes) = export_in(&ledger, &tz, day(27), 0);
    let rows = parse_csv(&bytes);
    assert_eq!(n, 1);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][4], "12.50");
    assert_eq!(rows[1][5], "已支付 paid");
    assert_eq!(rows[1][8], "部分退款 partially refunded 5.00");

    let (n, bytes) = export_in(&ledger, &tz, day(28), 0);
    let rows = parse_csv(&bytes);
    assert_eq!(n, 1);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let r = &rows[1];
    assert_eq!(r[0], "2026-11-28 00:10:00");
    assert_eq!(r[1], "D1");
    assert_eq!(r[2], "TD1");
    assert_eq!(r[3], "");
    assert_eq!(r[4], "-5.00");
    assert_eq!(r[5], "已退款 refunded");
    assert_eq!((r[6].as_str(), r[7].as_str()), ("小王", "前台1"));
    assert_eq!(
        r[8],
        "退款 refund of D1: 退货 returned; DR1, approved by 店长 Li"
    );

    // A refund still in flight sits on the day it was created; a closed one keeps its row and status.
    ledger
        .create_refund(&refund("D1", "DR2", 100, bj(28, 9, 0)))
        .unwrap();
    ledger
        .create_refund(&refund("D1", "DR3", 100, bj(28, 9, 5)))
        .unwrap();
    ledger
        .apply_refund(
            "DR3",
            RefundInput::Closed,
            &refund_ev(Source::Query, "REFUNDCLOSE"),
            bj(28, 9, 30),
        )
        .unwrap();
    let (n, bytes) = export_in(&ledger, &tz, day(28), 0);
    let rows = parse_csv(&bytes);
    assert_eq!(n, 3);
    let statuses: Vec<_> = rows[1..]
        .iter()
        .map(|r| (r[4].as_str(), r[5].as_str()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("-5.00", "已退款 refunded"),
            ("-1.00", "退款申请中 refund requested"),
            ("-1.00", "退款关闭 refund closed")
        ]
    );
}

#[test]
fn a_days_sums_count_received_refunded_and_net() {
    let (_dir, ledger) = new_ledger();
    let tz = beijing();
    paid_order(&ledger, "S1", bj(27, 9, 0));
    paid_order(&ledger, "S2", bj(27, 10, 0));
    let cancelled = order_with("S3", bj(27, 11, 0), vec![line("水", 300, 1)]);
    ledger.create_order(&cancelled).unwrap();
    // S1 refunded in full the same day (still received that day), S2 in part the next day, and a refund
    // that closed counts nowhere.
    ledger
        .create_refund(&refund("S1", "SR1", 1250, bj(27, 12, 0)))
        .unwrap();
    succeed(&ledger, "SR1", bj(27, 12, 5));
    ledger
        .create_refund(&refund("S2", "SR2", 300, bj(27, 13, 0)))
        .unwrap();
    ledger
        .apply_refund(
            "SR2",
            RefundInput::Closed,
            &refund_ev(Source::Query, "REFUNDCLOSE"),
            bj(27, 13, 5),
        )
        .unwrap();
    ledger
        .create_refund(&refund("S2", "SR3", 500, bj(28, 9, 0)))
        .unwrap();
    succeed(&ledger, "SR3", bj(28, 9, 1));
    assert_eq!(
        ledger.order("S1").unwrap().unwrap().status,
        OrderStatus::Refunded
    );

    let s = ledger.day_sums_in(&tz, day(27), 0).unwrap();
    assert_eq!((s.received, s.refunded), (fen(2500), fen(1250)));
    assert_eq!(s.net_fen(), 1250);
    let s = ledger.day_sums_in(&tz, day(28), 0).unwrap();
    assert_eq!((s.received, s.refunded), (fen(0), fen(500)));
    assert_eq!(s.net_label(), "-¥5.00");
    assert_eq!(ledger.refunds_for_day_in(&tz, day(27), 0).unwrap().len(), 2);
    assert_eq!(ledger.refunds_for_day_in(&tz, day(28), 0).unwrap().len(), 1);
}

/// Pay `otn` (created with [`order_with`]) with the payment's time `at`.
fn pay_at(ledger: &Ledger, otn: &str, at: DateTime<Utc>) {
    let total = ledger.order(otn).unwrap().unwrap().total;
    let mut p = payment(&format!("T{otn}"), total);
    p.time_end = Some(at);
    ledger
        .apply(
            otn,
            Input::Paid,
            &Evidence::paid(Source::Notify, p, "notify SUCCESS"),
            at,
        )
        .unwrap();
}

/// `12.50` / `-3.00` in fen.
fn yuan_fen(s: &str) -> i64 {
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (y, f) = s.split_once('.').unwrap();
    assert_eq!(f.len(), 2, "{s}");
    let v = y.parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap();
    if neg { -v } else { v }
}

fn order_ids(orders: Vec<paydesk::ledger::Order>) -> Vec<String> {
    orders.into_iter().map(|o| o.out_trade_no).collect()
}

/// The CSV, History, the day's sums and the day report read a day by one rule: an order that received money
/// on the day of its payment, any other on the day it was created in.
#[test]
fn a_paid_order_belongs_to_the_day_of_its_payment_everywhere() {
    let (_dir, ledger) = new_ledger();
    let tz = beijing();
    // Rung up at 23:58 on the 27th, paid at 00:01 on the 28th.
    let late = order_with("L1", bj(27, 23, 58), vec![line("咖啡", 1500, 1)]);
    ledger.create_order(&late).unwrap();
    pay_at(&ledger, "L1", bj(28, 0, 1));
    // Rung up at the same minute and never paid: the 27th's.
    let unpaid = order_with("L2", bj(27, 23, 58), vec![line("水", 200, 1)]);
    ledger.create_order(&unpaid).unwrap();
    paid_order(&ledger, "L3", bj(27, 10, 0));
    // L3 (the 27th's) refunded in part on the 28th.
    ledger
        .create_refund(&refund("L3", "LR1", 500, bj(28, 9, 0)))
        .unwrap();
    succeed(&ledger, "LR1", bj(28, 9, 1));

    let history = |d| order_ids(ledger.orders_for_day_in(&tz, day(d), 0).unwrap());
    assert_eq!(history(27), ["L3", "L2"]);
    assert_eq!(history(28), ["L1"]);
    let csv = |d| -> Vec<Vec<String>> {
        let (_, bytes) = export_in(&ledger, &tz, day(d), 0);
        parse_csv(&bytes)[1..].to_vec()
    };
    let rows27 = csv(27);
    let otns: Vec<_> = rows27.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(otns, ["L3", "L2"]);
    let rows28 = csv(28);
    assert_eq!(rows28.len(), 2, "{rows28:?}");
    assert_eq!(
        rows28[0],
        [
            "2026-11-27 23:58:00",
            "L1",
            "TL1",
            "咖啡 ×1",
            "15.00",
            "已支付 paid",
            "小王",
            "前台1",
            "",
            "15.00",
            "0.00",
            "15.00"
        ],
        "the time is still when it was rung up"
    );
    assert_eq!(
        rows28[1][4..6],
        ["-5.00".to_string(), "已退款 refunded".to_string()]
    );
    assert_eq!(rows28[1][9..], ["0.00", "5.00", "-5.00"]);

    let r = ledger.day_report_in(&tz, day(27), 0).unwrap();
    assert_eq!((r.sums.received, r.sums.refunded), (fen(1250), fen(0)));
    assert_eq!((r.paid_orders, r.refunds), (1, 0));
    let statuses: Vec<_> = r.by_status.iter().map(|l| (l.status, l.orders)).collect();
    assert_eq!(
        statuses,
        [(OrderStatus::Creating, 1), (OrderStatus::Paid, 1)]
    );
    let r = ledger.day_report_in(&tz, day(28), 0).unwrap();
    assert_eq!((r.sums.received, r.sums.refunded), (fen(1500), fen(500)));
    assert_eq!((r.paid_orders, r.refunds), (1, 1));
    assert_eq!(r.hourly.iter().map(|h| h.hour).collect::<Vec<_>>(), [0, 9]);
    assert_eq!(r.reconciliation, None);
    let s = ledger.day_sums_in(&tz, day(28), 0).unwrap();
    assert_eq!(s, r.sums);

    // 30 days ending on the 28th: every day, oldest first, the report's numbers on each.
    let totals = ledger.daily_totals_in(&tz, day(28), 30, 0).unwrap();
    assert_eq!(totals.len(), 30);
    assert_eq!(totals[0].day, day(28) - Duration::days(29));
    assert_eq!(totals[29].day, day(28));
    for t in &totals {
        let r = ledger.day_report_in(&tz, t.day, 0).unwrap();
        assert_eq!(
            (t.paid_orders, t.sums),
            (r.paid_orders, r.sums),
            "{}",
            t.day
        );
    }
    assert_eq!(totals[28].sums.received, fen(1250));
    assert!(
        ledger
            .daily_totals_in(&tz, day(28), 0, 0)
            .unwrap()
            .is_empty()
    );
}

/// Over a day's CSV, the received, refunded and net columns add up to the day report's sums, for every day
/// and day-start hour, with every kind of order and refund.
#[test]
fn a_days_csv_adds_up_to_its_day_report() {
    let (_dir, ledger) = new_ledger();
    let tz = beijing();
    // Yesterday's order, refunded in full today.
    paid_order(&ledger, "Y1", bj(26, 20, 0));
    ledger
        .create_refund(&refund("Y1", "YR1", 1250, bj(27, 9, 0)))
        .unwrap();
    succeed(&ledger, "YR1", bj(27, 9, 1));
    paid_order(&ledger, "P1", bj(27, 2, 30));
    paid_order(&ledger, "P2", bj(27, 11, 0));
    // P2 refunded in part, a refund in flight and one closed.
    ledger
        .create_refund(&refund("P2", "PR1", 300, bj(27, 12, 0)))
        .unwrap();
    succeed(&ledger, "PR1", bj(27, 12, 1));
    ledger
        .create_refund(&refund("P2", "PR2", 100, bj(27, 13, 0)))
        .unwrap();
    ledger
        .create_refund(&refund("P2", "PR3", 100, bj(27, 13, 5)))
        .unwrap();
    ledger
        .apply_refund(
            "PR3",
            RefundInput::Closed,
            &refund_ev(Source::Query, "REFUNDCLOSE"),
            bj(27, 13, 10),
        )
        .unwrap();
    // Cancelled, then paid after all (after midnight).
    let pac = order_with("PC", bj(27, 23, 50), vec![line("面包", 680, 1)]);
    ledger.create_order(&pac).unwrap();
    for input in [Input::Created, Input::CloseRequested(CloseReason::Cancel)] {
        ledger
            .apply("PC", input, &evidence(input, pac.total, ""), bj(27, 23, 51))
            .unwrap();
    }
    pay_at(&ledger, "PC", bj(28, 0, 5));
    assert_eq!(
        ledger.order("PC").unwrap().unwrap().status,
        OrderStatus::PaidAfterCancel
    );
    // Unpaid, expired.
    ledger
        .create_order(&order_with("U1", bj(27, 15, 0), vec![line("x", 990, 1)]))
        .unwrap();

    ledger
        .record_reconciliation(&paydesk::ledger::ReconciliationRecord {
            day: day(27),
            ran_at: bj(28, 10, 0),
            had_bill: true,
            matched: 3,
            differences: 1,
            unexplained: 1,
            fee_e5: 1_234,
            report: "first".into(),
        })
        .unwrap();
    let latest = paydesk::ledger::ReconciliationRecord {
        day: day(27),
        ran_at: bj(28, 11, 0),
        had_bill: true,
        matched: 4,
        differences: 1,
        unexplained: 0,
        fee_e5: 1_234,
        report: "second".into(),
    };
    ledger.record_reconciliation(&latest).unwrap();

    let mut nonzero = 0;
    for d in [26, 27, 28] {
        for h in [0, 4] {
            let (_, bytes) = export_in(&ledger, &tz, day(d), h);
            let rows = parse_csv(&bytes);
            assert_eq!(rows[0], HEADER);
            let col = |k: usize| rows[1..].iter().map(|r| yuan_fen(&r[k])).sum::<i64>();
            let r = ledger.day_report_in(&tz, day(d), h).unwrap();
            let what = format!("day {d}, start {h}: {rows:?}");
            assert_eq!(col(9), r.sums.received.get(), "{what}");
            assert_eq!(col(10), r.sums.refunded.get(), "{what}");
            assert_eq!(col(11), r.sums.net_fen(), "{what}");
            for row in &rows[1..] {
                assert_eq!(
                    yuan_fen(&row[9]) - yuan_fen(&row[10]),
                    yuan_fen(&row[11]),
                    "{row:?}"
                );
            }
            let orders: u32 = r.by_status.iter().map(|l| l.orders).sum();
            let refund_rows = ledger.refunds_for_day_in(&tz, day(d), h).unwrap().len();
            assert_eq!(rows.len() - 1, orders as usize + refund_rows, "{what}");
            assert_eq!(ledger.day_sums_in(&tz, day(d), h).unwrap(), r.sums);
            nonzero += usize::from(r.sums.received.get() != 0);
        }
    }
    assert!(nonzero >= 4);

    let r = ledger.day_report_in(&tz, day(27), 0).unwrap();
    // P1, P2 (PC is paid on the 28th); YR1 and PR1 back.
    assert_eq!((r.sums.received, r.sums.refunded), (fen(2500), fen(1550)));
    assert_eq!(r.sums.net_label(), "¥9.50");
    assert_eq!(r.reconciliation, Some(latest), "the latest run of the day");
    // From 04:00: P1 (02:30) is the 26th's, PC (paid 00:05 on the 28th) the 27th's.
    let r = ledger.day_report_in(&tz, day(27), 4).unwrap();
    assert_eq!(r.sums.received, fen(1250 + 680));
    let r = ledger.day_report_in(&tz, day(28), 0).unwrap();
    assert_eq!((r.sums.received, r.paid_orders), (fen(680), 1));
    assert_eq!(r.by_status[0].status, OrderStatus::PaidAfterCancel);
    assert_eq!(r.reconciliation, None);
}

#[test]
fn an_old_ledger_migrates_and_can_refund() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    {
        // A ledger as the first release wrote it: schema version 1, one paid order.
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute_batch(MIGRATIONS[0]).unwrap();
        raw.execute_batch(&format!(
            "PRAGMA user_version = 1; PRAGMA application_id = {APPLICATION_ID};"
        ))
        .unwrap();
        raw.execute(
            "INSERT INTO orders (out_trade_no, station, cashier, created_at, expires_at, total_fen, status, \
             body, notify_url, spbill_create_ip, product_id, time_start, time_expire, transaction_id, \
             paid_at, updated_at) VALUES ('OLD1', 's', 'c', 0, 300000, 800, 'paid', 'b', 'n', '127.0.0.1', \
             'p', 0, 300000, 'TOLD1', 1000, 1000)",
            [],
        )
        .unwrap();
    }
    let ledger = Ledger::open(&path).unwrap();
    let o = ledger.order("OLD1").unwrap().unwrap();
    assert_eq!(
        (o.status, o.refunded, o.refundable()),
        (OrderStatus::Paid, fen(0), fen(800))
    );
    ledger
        .create_refund(&refund("OLD1", "OR1", 800, at(0)))
        .unwrap();
    succeed(&ledger, "OR1", at(10));
    assert_eq!(
        ledger.order("OLD1").unwrap().unwrap().status,
        OrderStatus::Refunded
    );
    ledger.check_integrity().unwrap();
    drop(ledger);
    let raw = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = raw
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    // Refunds are never deleted.
    assert!(raw.execute("DELETE FROM refunds", []).is_err());
}

const REFUND_CHILD_ENV: &str = "PAYDESK_TEST_LEDGER_REFUNDER";

/// Not a test on its own: the writer process for [`refunds_survive_sigkill_consistently`]. It pays and
/// refunds orders in two parts as fast as it can, reporting each order once fully refunded.
#[test]
#[ignore = "run by refunds_survive_sigkill_consistently as a child process"]
fn durability_child_refunder() {
    let Some(path) = std::env::var_os(REFUND_CHILD_ENV) else {
        return;
    };
    let ledger = Ledger::open(Path::new(&path)).unwrap();
    let mut out = std::io::stdout().lock();
    for k in 0.. {
        let otn = format!("F{k:06}");
        paid_order(&ledger, &otn, at(k));
        for (part, amount) in [(1, 500), (2, 750)] {
            let orn = format!("{otn}R{part}");
            ledger
                .create_refund(&refund(&otn, &orn, amount, at(k + 1)))
                .unwrap();
            succeed(&ledger, &orn, at(k + 2));
        }
        use std::io::Write;
        writeln!(out, "refunded {otn}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn refunds_survive_sigkill_consistently() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "durability_child_refunder",
            "--nocapture",
            "--ignored",
        ])
        .env(REFUND_CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut reported = Vec::new();
    for l in BufReader::new(stdout).lines() {
        if let Some(otn) = l.unwrap().strip_prefix("refunded ") {
            reported.push(otn.to_string());
            if reported.len() == 30 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL, most likely in the middle of a refund
    child.wait().unwrap();
    assert_eq!(reported.len(), 30, "the writer reported its refunds");

    let ledger = Ledger::open(&path).unwrap();
    ledger.check_integrity().unwrap();
    for otn in &reported {
        let o = ledger
            .order(otn)
            .unwrap()
            .unwrap_or_else(|| panic!("{otn} lost"));
        assert_eq!(
            (o.status, o.refunded),
            (OrderStatus::Refunded, fen(1250)),
            "{otn}"
        );
        assert_eq!(ledger.refunds_of(otn).unwrap().len(), 2, "{otn}");
    }
    // Whatever was cut short is all or nothing: every order's status agrees with its refunds, no order has
    // more refunds holding money than it received, and every refund step has its event.
    let raw = rusqlite::Connection::open(&path).unwrap();
    let mut stmt = raw.prepare("SELECT out_trade_no FROM orders").unwrap();
    let all: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(all.len() >= reported.len());
    for otn in &all {
        let o = ledger.order(otn).unwrap().unwrap();
        assert!(
            o.refunded.get() + o.refund_pending.get() <= o.total.get(),
            "{otn}"
        );
        assert_eq!(
            o.status == OrderStatus::Refunded,
            o.refunded == o.total,
            "{otn}"
        );
        let refunds = ledger.refunds_of(otn).unwrap();
        let events = ledger.events(otn).unwrap();
        let requested = events
            .iter()
            .filter(|e| e.kind == "refund_requested")
            .count();
        let succeeded = events
            .iter()
            .filter(|e| e.kind == "refund_succeeded")
            .count();
        assert_eq!(requested, refunds.len(), "{otn}");
        assert_eq!(
            succeeded,
            refunds
                .iter()
                .filter(|r| r.status == RefundState::Success)
                .count(),
            "{otn}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_new_ledger_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    let ledger = Ledger::open(&path).unwrap();
    ledger.create_order(&order("P1")).unwrap();
    for f in [path.clone(), dir.path().join("ledger.sqlite3-wal")] {
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.display());
    }
}
