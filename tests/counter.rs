//! The counter: a paid sale prints its receipt (and opens the drawer) on a network printer through the
//! window, and the customer display's states drawn headless with egui_kittest.

mod support;

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use eframe::egui::{self, Key};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use paydesk::app::window::CartLine;
use paydesk::app::{AppHandle, SandboxPlace, engine_settings, sandbox_merchant};
use paydesk::clock::{ManualClock, SharedClock};
use paydesk::config::Config;
use paydesk::engine::{CustomerAction, Engine, Gateway, OrderStatus, Timing};
use paydesk::money::Fen;
use paydesk::printer::SANDBOX_LINE;
use paydesk::sandbox::{Sandbox, SandboxConfig};
use paydesk::ui::customer::{self, CustomerView, Stage};
use paydesk::ui::qr::QrView;
use paydesk::ui::{Lang, PaydeskApp, Screen, UiCommand};
use support::escpos::{FakePrinter, decode};

/// A printer that answers every status query with "ready".
const READY: [u8; 3] = [0x12, 0x12, 0x12];

fn type_enter(h: &mut Harness<'_, PaydeskApp>, text: &str) {
    if !text.is_empty() {
        h.event(egui::Event::Text(text.to_owned()));
    }
    h.key_press(Key::Enter);
    h.run();
}

fn wait_until(h: &mut Harness<'_, PaydeskApp>, what: &str, cond: impl Fn(&PaydeskApp) -> bool) {
    for _ in 0..2000 {
        h.step();
        if cond(h.state()) {
            h.run();
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the window never showed: {what}");
}

#[test]
fn a_paid_sale_prints_its_receipt_and_opens_the_drawer_on_a_network_printer() {
    let fake = FakePrinter::start(Some(READY));
    let config = Config::parse(&format!(
        "[store]\nname = \"张记便利店\"\nstation = \"POS7\"\ncashiers = [\"李四\", \"王五\"]\n\
         [printer]\nkind = \"tcp\"\naddress = \"{}\"\nwidth = 58\nqr = \"native\"\nauto_print = true\ndrawer_kick = true\n",
        fake.addr
    ))
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(Utc.timestamp_opt(Utc::now().timestamp(), 0).unwrap());
    let shared: SharedClock = Arc::new(clock.clone());
    let (engine, sandbox) = rt.block_on(async {
        let sb = Sandbox::start(
            SandboxConfig {
                clock: shared.clone(),
                notify_time_scale: 0.001,
                ..support::sandbox::oracle_config()
            },
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        let gateway = Gateway {
            primary: sb.base_url(),
            backup: None,
            merchant: sandbox_merchant(),
            sandbox: true,
        };
        let mut s = engine_settings(&config, dir.path(), gateway);
        s.timing = Timing::fast();
        s.clock = shared.clone();
        (Engine::start(s).await.unwrap(), sb)
    });
    let backend = Arc::new(AppHandle::new(
        engine,
        config,
        Some(SandboxPlace::Running(sandbox.base_url())),
    ));
    let handle = rt.handle().clone();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_max_steps(20)
        .build_eframe(move |cc| PaydeskApp::from_creation_context(cc, backend, handle, shared));
    h.run();
    // 王五 signs in: the receipt names the order's own cashier, not the first of the list.
    for _ in 0..2000 {
        if h.query_by_label("王五").is_some() {
            break;
        }
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    h.get_by_label("王五").click();
    wait_until(&mut h, "王五 signed in", |a| {
        a.signed_in_cashier() == Some("王五")
    });
    type_enter(&mut h, "红烧牛肉面");
    type_enter(&mut h, "18.80");
    h.key_press(Key::Backspace);
    type_enter(&mut h, "2");
    type_enter(&mut h, "冰红茶");
    type_enter(&mut h, "3.50");
    type_enter(&mut h, "");
    h.key_press(Key::F12);
    wait_until(&mut h, "the payment screen", |a| {
        a.screen() == Screen::Payment && a.shown_qr_payload().is_some()
    });
    // The payment slip button is there while the order can be paid.
    h.get_by_label("打印付款码");
    let no = h.state().current_order().unwrap().out_trade_no.clone();
    h.state_mut()
        .send(UiCommand::Simulate(no.clone(), CustomerAction::Pay));
    wait_until(&mut h, "the paid view", |a| a.screen() == Screen::Paid);
    let txn = h
        .state()
        .current_order()
        .unwrap()
        .transaction_id
        .clone()
        .expect("a transaction id");

    // The job was started when the sale was paid; the fake printer hands it back when the connection ends.
    let bytes = fake.bytes();
    let d = decode(&bytes);
    assert_eq!(d.status_queries, [1, 2, 4]);
    assert_eq!(d.drawer_kicks.len(), 1, "the drawer opens once");
    assert_eq!(
        d.qr_payloads,
        [no.as_bytes()],
        "the QR holds the order number"
    );
    let lines = d.lines();
    assert_eq!(lines[0], "张记便利店");
    assert!(lines.contains(&SANDBOX_LINE), "{lines:#?}");
    for want in [
        no.as_str(),
        txn.as_str(),
        "POS7",
        "王五",
        "红烧牛肉面",
        "冰红茶",
    ] {
        assert!(d.text.contains(want), "{want} missing from\n{}", d.text);
    }
    assert!(!d.text.contains("李四"), "{}", d.text);
    let noodles = lines.iter().find(|l| l.starts_with("红烧牛肉面")).unwrap();
    assert!(noodles.ends_with("    2     37.60"), "{noodles:?}");
    let total = lines.iter().find(|l| l.starts_with("合计")).unwrap();
    assert!(total.ends_with("￥41.10"), "{total:?}");

    // The paid view says it printed and offers a reprint.
    wait_until(&mut h, "the printer's answer", |_| true);
    h.get_by_label("✓ 已打印");
    h.get_by_label("打印小票");
    drop(h);
    rt.block_on(sandbox.shutdown());
}

fn fen(f: i64) -> Fen {
    Fen::new(f).unwrap()
}

/// Draw the customer display for `stage` and hand the harness back for queries.
fn customer_harness(stage: Stage) -> Harness<'static, (bool, Option<QrView>)> {
    let now = Utc.with_ymd_and_hms(2026, 11, 28, 6, 0, 0).unwrap();
    let view = CustomerView {
        store_name: "张记便利店".into(),
        lang: Lang::Zh,
        stage,
    };
    let mut h = Harness::builder()
        .with_size(egui::vec2(1024.0, 768.0))
        .with_max_steps(20)
        .build_ui_state(
            move |ui, (themed, qr): &mut (bool, Option<QrView>)| {
                if !*themed {
                    paydesk::ui::theme::install(ui.ctx());
                    *themed = true;
                }
                if qr.is_none()
                    && let Stage::Payment {
                        code_url: Some(u), ..
                    } = &view.stage
                {
                    *qr = QrView::new(ui.ctx(), u).ok();
                }
                customer::draw(ui, &view, qr.as_ref(), now);
            },
            (false, None),
        );
    h.run();
    h
}

#[test]
fn the_customer_display_follows_a_sale_and_has_no_controls() {
    let h = customer_harness(Stage::Idle);
    h.get_by_label("张记便利店");
    h.get_by_label("欢迎光临");

    let h = customer_harness(Stage::Sale {
        lines: vec![
            CartLine {
                name: "红烧牛肉面".into(),
                unit_price: fen(1880),
                qty: 2,
            },
            CartLine {
                name: "冰红茶".into(),
                unit_price: fen(350),
                qty: 1,
            },
        ],
        total: Some(fen(4110)),
    });
    h.get_by_label("红烧牛肉面");
    h.get_by_label("¥18.80 × 2");
    h.get_by_label("¥37.60");
    h.get_by_label("合计");
    h.get_by_label("¥41.10");

    let expires = Utc.with_ymd_and_hms(2026, 11, 28, 6, 9, 58).unwrap();
    let h = customer_harness(Stage::Payment {
        total: fen(4110),
        code_url: Some("weixin://wxpay/bizpayurl?pr=AbC123x".into()),
        expires_at: expires,
        status: OrderStatus::Open,
    });
    h.get_by_label("付款二维码");
    h.get_by_label("请使用微信扫一扫");
    h.get_by_label("¥41.10");
    h.get_by_label("09:58");
    h.get_by_label("等待扫码");

    // An expired order shows no code any more.
    let h = customer_harness(Stage::Payment {
        total: fen(4110),
        code_url: Some("weixin://wxpay/bizpayurl?pr=AbC123x".into()),
        expires_at: expires,
        status: OrderStatus::Expired,
    });
    assert!(h.query_by_label("付款二维码").is_none());
    h.get_by_label("二维码已过期");

    let h = customer_harness(Stage::Paid { total: fen(4110) });
    h.get_by_label("✓ 支付成功");
    h.get_by_label("谢谢惠顾");
    // Never a cashier control: no button in any state.
    assert!(h.query_by_role(egui::accesskit::Role::Button).is_none());
}

#[test]
fn the_customer_display_ticks_only_while_a_code_can_be_paid() {
    let now = Utc.with_ymd_and_hms(2026, 11, 28, 6, 0, 0).unwrap();
    let view = |stage| CustomerView {
        store_name: String::new(),
        lang: Lang::Zh,
        stage,
    };
    assert_eq!(customer::next_tick(&view(Stage::Idle), now), None);
    assert_eq!(
        customer::next_tick(&view(Stage::Paid { total: fen(1) }), now),
        None
    );
    let paying = |status| Stage::Payment {
        total: fen(1),
        code_url: None,
        expires_at: now + chrono::Duration::milliseconds(61_250),
        status,
    };
    assert_eq!(
        customer::next_tick(&view(paying(OrderStatus::Open)), now),
        Some(std::time::Duration::from_millis(250))
    );
    assert_eq!(
        customer::next_tick(&view(paying(OrderStatus::Cancelled)), now),
        None
    );
}

/// "打印日结 Print report" through the running PayDesk: a paid sale, then the day report as one job on a
/// 58 mm network printer, laid out within its 32 columns, with the day's money and the cashier.
#[test]
fn the_day_report_prints_on_the_receipt_printer() {
    use paydesk::app::window::PrintJob;
    use paydesk::engine::Cart;
    let fake = FakePrinter::start(Some(READY));
    let config = Config::parse(&format!(
        "[store]\nname = \"张记便利店\"\nstation = \"POS7\"\ncashiers = [\"李四\"]\n\
         [printer]\nkind = \"tcp\"\naddress = \"{}\"\nwidth = 58\nqr = \"native\"\n",
        fake.addr
    ))
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (app, sandbox) = rt.block_on(async {
        let sb = Sandbox::start(
            support::sandbox::oracle_config(),
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        let gateway = Gateway {
            primary: sb.base_url(),
            backup: None,
            merchant: sandbox_merchant(),
            sandbox: true,
        };
        let mut s = engine_settings(&config, dir.path(), gateway);
        s.timing = Timing::fast();
        let engine = Engine::start(s).await.unwrap();
        let app = AppHandle::new(engine, config, Some(SandboxPlace::Running(sb.base_url())));
        (app, sb)
    });
    let day = rt.block_on(async {
        let order = app
            .engine()
            .charge(Cart {
                lines: vec![CartLine {
                    name: "月饼".into(),
                    unit_price: Fen::new(1250).unwrap(),
                    qty: 2,
                }],
                cashier: "李四".into(),
            })
            .await
            .unwrap();
        app.simulate_customer(&order.out_trade_no, CustomerAction::Pay)
            .await
            .unwrap();
        let mut events = app.engine().subscribe();
        while app
            .engine()
            .order(&order.out_trade_no)
            .await
            .unwrap()
            .status
            != OrderStatus::Paid
        {
            let _ = events.recv().await;
        }
        let paid = app.engine().order(&order.out_trade_no).await.unwrap();
        paydesk::calendar::business_day(paid.paid_at.unwrap(), 0)
    });
    let printed = rt
        .block_on(app.print_job(PrintJob::DayReport { day }))
        .unwrap();
    assert!(!printed.paper_low);

    let d = decode(&fake.bytes());
    let lines = d.lines();
    assert_eq!(lines[0], "张记便利店");
    assert!(lines.contains(&SANDBOX_LINE), "{lines:#?}");
    for l in &lines {
        assert!(paydesk::printer::text::width(l) <= 32, "{l:?} is too wide");
    }
    for want in [
        "日结 Day report",
        &day.to_string(),
        "收款 Received (1)",
        "￥25.00",
        "李四 ×1",
        "POS7 ×1",
        "未对账 not reconciled",
    ] {
        assert!(d.text.contains(want), "{want} missing from\n{}", d.text);
    }
    rt.block_on(app.shutdown());
    rt.block_on(sandbox.shutdown());
}
