//! The cashier window driven headless with egui_kittest: real app state, keyboard input, no GPU.
//!
//! Sale-screen tests run over a tiny in-test backend (no engine needed); the payment, cancel and export
//! tests run against the real engine with its in-process sandbox and a temporary data directory.

mod support;

use std::sync::{Arc, Mutex};

use chrono::{NaiveDate, TimeZone, Utc};
use eframe::egui::{self, Key};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use paydesk::app::window::{BoxFuture, Mode, OrderDetail, OrderSummary, StationInfo};
use paydesk::app::window::{CashierChoice, ShiftError, ShiftView, SignInInfo};
use paydesk::app::window::{
    DailyTotal, DayReport, DaySums, GroupLine, HourLine, ReconciliationRecord, StatusLine,
};
use paydesk::clock::{Clock, ManualClock, SharedClock};
use paydesk::engine::{Cart, CustomerAction, EngineEvent, OrderView};
use paydesk::money::Fen;
use paydesk::ui::{Backend, Lang, PaydeskApp, Screen};
use tokio::sync::broadcast;

/// A backend that records charges and answers nothing else: enough for the sale screen.
struct NoEngine {
    events: broadcast::Sender<EngineEvent>,
    charged: Mutex<Vec<Cart>>,
    /// What Charge answers; an error when `None`.
    answer: Mutex<Option<OrderView>>,
    /// The cashiers to sign in from; `None`: the one of `info()`, without a PIN.
    cashiers: Mutex<Option<SignInInfo>>,
    /// Each `resume_shift` asked for, and each sign-in (name, PIN).
    resumed: Mutex<Vec<Option<String>>>,
    signed_in: Mutex<Vec<(String, String)>>,
}

impl NoEngine {
    fn new() -> Arc<NoEngine> {
        Arc::new(NoEngine {
            events: broadcast::channel(16).0,
            charged: Mutex::new(Vec::new()),
            answer: Mutex::new(None),
            cashiers: Mutex::new(None),
            resumed: Mutex::new(Vec::new()),
            signed_in: Mutex::new(Vec::new()),
        })
    }

    /// 小王 without a PIN and 小李 with one (2468).
    fn two_cashiers() -> Arc<NoEngine> {
        let b = NoEngine::new();
        *b.cashiers.lock().unwrap() = Some(SignInInfo {
            cashiers: vec![
                CashierChoice {
                    name: "小王".into(),
                    pin: false,
                },
                CashierChoice {
                    name: "小李".into(),
                    pin: true,
                },
            ],
            blind: false,
        });
        b
    }
}

impl Backend for NoEngine {
    fn info(&self) -> StationInfo {
        StationInfo {
            store_name: "测试小店".into(),
            station: "1".into(),
            cashier: "小王".into(),
            language: "zh".into(),
            day_start_hour: 0,
            mode: Mode::Sandbox,
        }
    }
    fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }
    fn charge(&self, cart: Cart) -> BoxFuture<'_, Result<OrderView, String>> {
        self.charged.lock().unwrap().push(cart);
        let answer = self.answer.lock().unwrap().clone();
        Box::pin(async move { answer.ok_or_else(|| "no engine in this test".to_owned()) })
    }
    fn cancel(&self, _: String) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Err("no engine".to_owned()) })
    }
    fn simulate(&self, _: String, _: CustomerAction) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Err("no engine".to_owned()) })
    }
    fn orders_for_day(&self, _: NaiveDate) -> BoxFuture<'_, Result<Vec<OrderSummary>, String>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn order_detail(&self, _: String) -> BoxFuture<'_, Result<OrderDetail, String>> {
        Box::pin(async { Ok(OrderDetail::default()) })
    }
    fn export_day(
        &self,
        _: NaiveDate,
        _: std::path::PathBuf,
    ) -> BoxFuture<'_, Result<usize, String>> {
        Box::pin(async { Err("no engine".to_owned()) })
    }
    fn sign_in_info(&self) -> SignInInfo {
        self.cashiers.lock().unwrap().clone().unwrap_or(SignInInfo {
            cashiers: vec![CashierChoice {
                name: self.info().cashier,
                pin: false,
            }],
            blind: false,
        })
    }
    fn resume_shift(
        &self,
        automatic: Option<String>,
    ) -> BoxFuture<'_, Result<Option<ShiftView>, String>> {
        self.resumed.lock().unwrap().push(automatic);
        Box::pin(async { Ok(None) })
    }
    fn sign_in(
        &self,
        cashier: String,
        pin: String,
    ) -> BoxFuture<'_, Result<ShiftView, ShiftError>> {
        self.signed_in
            .lock()
            .unwrap()
            .push((cashier.clone(), pin.clone()));
        let right = cashier != "小李" || pin == "2468";
        Box::pin(async move {
            if right {
                Ok(ShiftView {
                    cashier,
                    signed_in_at: Utc.with_ymd_and_hms(2026, 5, 20, 4, 0, 0).unwrap(),
                })
            } else {
                Err(ShiftError::WrongPin { left: 4 })
            }
        })
    }
    /// A hand-made report for 2026-05-20 (the test clock's day); every other day is empty.
    fn day_report(
        &self,
        day: NaiveDate,
    ) -> BoxFuture<'_, Result<(DayReport, Vec<DailyTotal>), String>> {
        Box::pin(async move { Ok(sample_report(day)) })
    }
}

fn sums(received: i64, refunded: i64) -> DaySums {
    DaySums {
        received: Fen::new(received).unwrap(),
        refunded: Fen::new(refunded).unwrap(),
    }
}

/// 2026-05-20: 4 paid orders (¥41.50), 2 refunds (¥8.00), net ¥33.50, reconciled with one explained
/// difference; other days: nothing.
fn sample_report(day: NaiveDate) -> (DayReport, Vec<DailyTotal>) {
    use paydesk::ledger::OrderStatus::*;
    let days = (0..30)
        .rev()
        .map(|i| DailyTotal {
            day: day - chrono::Duration::days(i),
            paid_orders: 1,
            sums: sums(100 * (30 - i), 0),
        })
        .collect();
    if day != NaiveDate::from_ymd_opt(2026, 5, 20).unwrap() {
        let empty = DayReport {
            day,
            day_start_hour: 0,
            by_status: vec![],
            sums: sums(0, 0),
            paid_orders: 0,
            refunds: 0,
            by_cashier: vec![],
            by_station: vec![],
            hourly: vec![],
            reconciliation: None,
        };
        return (empty, days);
    }
    let report = DayReport {
        day,
        day_start_hour: 0,
        by_status: vec![
            StatusLine {
                status: Paid,
                orders: 3,
                amount: Fen::new(3650).unwrap(),
            },
            StatusLine {
                status: Expired,
                orders: 1,
                amount: Fen::new(990).unwrap(),
            },
        ],
        sums: sums(4150, 800),
        paid_orders: 4,
        refunds: 2,
        by_cashier: vec![
            GroupLine {
                name: "张三".into(),
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
        hourly: vec![HourLine {
            hour: 9,
            paid_orders: 4,
            sums: sums(4150, 800),
        }],
        reconciliation: Some(ReconciliationRecord {
            day,
            ran_at: Utc.with_ymd_and_hms(2026, 5, 21, 3, 0, 0).unwrap(),
            had_bill: true,
            matched: 6,
            differences: 1,
            unexplained: 0,
            fee_e5: 24_900,
            report: String::new(),
        }),
    };
    (report, days)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn clock() -> ManualClock {
    ManualClock::new(Utc.with_ymd_and_hms(2026, 5, 20, 4, 30, 0).unwrap())
}

fn harness<'a>(
    backend: Arc<dyn Backend>,
    rt: &tokio::runtime::Runtime,
    clock: SharedClock,
) -> Harness<'a, PaydeskApp> {
    let handle = rt.handle().clone();
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_max_steps(20)
        .build_eframe(move |cc| PaydeskApp::from_creation_context(cc, backend, handle, clock))
}

/// Type into the focused field and press Enter.
fn type_enter(h: &mut Harness<'_, PaydeskApp>, text: &str) {
    if !text.is_empty() {
        h.event(egui::Event::Text(text.to_owned()));
    }
    h.key_press(Key::Enter);
    h.run();
}

#[test]
fn keyboard_lines_make_an_exact_total() {
    let rt = runtime();
    let backend = NoEngine::new();
    let mut h = harness(backend.clone(), &rt, Arc::new(clock()));
    h.run();
    // The name field has the cursor from the start.
    assert!(h.get_by_label("商品名称").is_focused());

    type_enter(&mut h, "可口可乐");
    assert!(h.get_by_label("单价（元）").is_focused());
    type_enter(&mut h, "3.50");
    assert!(h.get_by_label("数量").is_focused());
    // Quantity defaults to 1: replace it with 2.
    h.key_press(Key::Backspace);
    type_enter(&mut h, "2");
    // A barcode scanner: name then Enter, then the price, and Enter on the default quantity.
    type_enter(&mut h, "面包");
    type_enter(&mut h, "12.05");
    type_enter(&mut h, "");

    let app = h.state();
    assert_eq!(app.cart().len(), 2);
    assert_eq!(app.cart()[0].name, "可口可乐");
    assert_eq!(app.cart()[0].qty, 2);
    assert_eq!(app.cart()[1].unit_price, Fen::new(1205).unwrap());
    // 2 × 3.50 + 12.05, exact.
    h.get_by_label("合计 ¥19.05");
    h.get_by_label("面包");
    assert!(h.get_by_label("商品名称").is_focused());

    // Enter on the empty name field charges.
    type_enter(&mut h, "");
    wait_until(&mut h, "the charge's answer", |a| {
        a.screen() == Screen::Sale && !a.sale_is_charging()
    });
    let charged = backend.charged.lock().unwrap().clone();
    assert_eq!(charged.len(), 1);
    assert_eq!(charged[0].total(), Fen::new(1905));
    assert_eq!(charged[0].cashier, "小王");
    // The failure is shown on the sale screen and the cart is kept.
    h.get_by_label_contains("no engine");
    assert_eq!(h.state().cart().len(), 2);
}

#[test]
fn a_bad_price_is_shown_beside_the_field_and_nothing_is_added() {
    let rt = runtime();
    let mut h = harness(NoEngine::new(), &rt, Arc::new(clock()));
    h.run();
    type_enter(&mut h, "苹果");
    type_enter(&mut h, "3.505");
    // Refused: the cursor stays in the price field with the reason beside it.
    h.get_by_label("最多两位小数（分）");
    assert!(h.get_by_label("单价（元）").is_focused());
    assert!(h.state().cart().is_empty());
    // Pressing Enter again on the quantity path does not slip it through either.
    type_enter(&mut h, "");
    assert!(h.state().cart().is_empty());
    h.get_by_label("最多两位小数（分）");

    // Fix it: the error goes away and the line goes in.
    for _ in 0.."3.505".len() {
        h.key_press(Key::Backspace);
    }
    type_enter(&mut h, "-2");
    h.get_by_label("单价不能为负");
    for _ in 0..2 {
        h.key_press(Key::Backspace);
    }
    type_enter(&mut h, "2");
    type_enter(&mut h, "");
    assert_eq!(h.state().cart().len(), 1);
    assert!(h.query_by_label("单价不能为负").is_none());
    h.get_by_label("合计 ¥2.00");
}

#[test]
fn lines_can_be_edited_and_removed() {
    let rt = runtime();
    let mut h = harness(NoEngine::new(), &rt, Arc::new(clock()));
    h.run();
    for (n, p) in [("茶叶蛋", "1.5"), ("豆浆", "3")] {
        type_enter(&mut h, n);
        type_enter(&mut h, p);
        type_enter(&mut h, "");
    }
    h.get_by_label("合计 ¥4.50");
    h.get_all_by_label("删除").next().unwrap().click();
    h.run();
    assert_eq!(h.state().cart().len(), 1);
    h.get_by_label("合计 ¥3.00");
    h.get_by_label("修改").click();
    h.run();
    assert!(h.state().cart().is_empty());
    // The line is back in the fields; change the quantity and Enter through.
    type_enter(&mut h, "");
    type_enter(&mut h, "");
    h.key_press(Key::Backspace);
    type_enter(&mut h, "3");
    assert_eq!(h.state().cart().len(), 1);
    assert_eq!(h.state().cart()[0].qty, 3);
    h.get_by_label("合计 ¥9.00");
}

#[test]
fn the_day_report_shows_the_days_money_and_moves_from_day_to_day() {
    let rt = runtime();
    let mut h = harness(NoEngine::new(), &rt, Arc::new(clock()));
    h.run();
    let today = h.state().today();
    assert_eq!(today, NaiveDate::from_ymd_opt(2026, 5, 20).unwrap());
    h.get_by_label("日结").click();
    wait_until(&mut h, "the day report", |a| {
        a.screen() == Screen::DayReport
            && a.day_report_state().day == Some(today)
            && matches!(a.day_report_state().data, Some(Ok(_)))
    });
    // The totals, the WeChat fee and the reconciliation in words.
    for label in ["¥41.50", "¥8.00", "¥33.50", "¥0.249", "4 笔", "2 笔"] {
        assert!(
            h.query_all_by_label(label).next().is_some(),
            "{label} is not on screen"
        );
    }
    h.get_by_label("对账: 1 处差异，均已说明");
    // By status, by cashier and station.
    h.get_by_label("已支付 3 笔 (¥36.50)");
    h.get_by_label("张三");
    h.get_by_label("李四");
    h.get_by_label("POS1");
    h.get_by_label("每小时净收款（元）");
    h.get_by_label("近 30 天净收款（元）");
    // Export and print are there (print needs a printer).
    h.get_by_label("导出日结 CSV…");
    {
        use egui_kittest::kittest::NodeT;
        assert!(h.get_by_label("打印日结").accesskit_node().is_disabled());
    }

    // The day before: nothing that day.
    h.get_by_label("◀ 前一天").click();
    let before = today.pred_opt().unwrap();
    wait_until(&mut h, "the day before", |a| {
        a.day_report_state().day == Some(before)
            && matches!(&a.day_report_state().data, Some(Ok((r, _))) if r.day == before)
    });
    assert!(h.query_by_label("¥41.50").is_none());
    h.get_by_label("对账: 未对账");
    assert!(h.query_all_by_label("这一天没有订单。").next().is_some());
    // And back.
    h.get_by_label("后一天 ▶").click();
    wait_until(
        &mut h,
        "back to the day",
        |a| matches!(&a.day_report_state().data, Some(Ok((r, _))) if r.day == today),
    );
    assert!(h.query_all_by_label("¥41.50").next().is_some());
    // The screen asks for no frames of its own.
    h.run();
}

#[test]
fn english_switch_and_sandbox_banner() {
    let rt = runtime();
    let mut h = harness(NoEngine::new(), &rt, Arc::new(clock()));
    h.run();
    h.get_by_label("沙箱模式 — 不是真实收款 / Sandbox — no real money");
    h.get_by_label("收款 (F12)");
    h.get_by_label("English").click();
    h.run();
    assert_eq!(h.state().lang(), Lang::En);
    h.get_by_label("Charge (F12)");
    // The click took the keyboard away from the fields; the name field has it back.
    assert!(h.get_by_label("Item name").is_focused());
    type_enter(&mut h, "Green tea");
    assert!(h.get_by_label("Unit price (¥)").is_focused());
    h.get_by_label("沙箱模式 — 不是真实收款 / Sandbox — no real money");
    h.get_by_label("中文").click();
    h.run();
    h.get_by_label("收款 (F12)");
    assert_eq!(h.state().screen(), Screen::Sale);
}

#[test]
fn every_status_is_shown_in_words_and_paid_after_cancel_is_an_alert() {
    let rt = runtime();
    let backend = NoEngine::new();
    let t0 = Utc.with_ymd_and_hms(2026, 5, 20, 4, 30, 0).unwrap();
    let open = OrderView {
        out_trade_no: "POS1-TEST-0001".into(),
        total: Fen::new(1234).unwrap(),
        status: paydesk::ledger::OrderStatus::Open,
        code_url: Some("weixin://wxpay/bizpayurl?pr=TeSt123".into()),
        created_at: t0,
        expires_at: t0 + chrono::Duration::minutes(10),
        transaction_id: None,
        paid_at: None,
        notice: None,
    };
    *backend.answer.lock().unwrap() = Some(open.clone());
    let mut h = harness(backend.clone(), &rt, Arc::new(clock()));
    h.run();
    type_enter(&mut h, "月饼");
    type_enter(&mut h, "12.34");
    type_enter(&mut h, "");
    h.key_press(Key::F12);
    wait_until(&mut h, "the payment screen", |a| {
        a.screen() == Screen::Payment
    });
    h.get_by_label("10:00");
    use paydesk::ledger::OrderStatus::*;
    for (status, words) in [
        (UserPaying, "顾客支付中…"),
        (Closing, "正在关闭…"),
        (Expired, "已过期"),
    ] {
        // Events for another order never change this screen.
        let _ = backend.events.send(EngineEvent::Order(OrderView {
            out_trade_no: "SOMEONE-ELSE".into(),
            status: Failed,
            ..open.clone()
        }));
        let _ = backend.events.send(EngineEvent::Order(OrderView {
            status,
            ..open.clone()
        }));
        wait_until(&mut h, words, |a| {
            a.current_order().unwrap().status == status
        });
        h.get_by_label(words);
        // The code and the countdown only while the customer can still pay.
        let payable = status == UserPaying;
        assert_eq!(h.query_by_label("付款二维码").is_some(), payable, "{words}");
        assert_eq!(h.query_by_label("10:00").is_some(), payable, "{words}");
    }
    // The money arrives after all: an alert on the payment screen and above every screen.
    let _ = backend.events.send(EngineEvent::Order(OrderView {
        status: PaidAfterCancel,
        transaction_id: Some("4200000000202605201234".into()),
        ..open.clone()
    }));
    // The cashier has moved on to the history when it arrives: they stay there, and the alert is on top.
    h.get_by_label("历史订单").click();
    h.run();
    assert_eq!(h.state().screen(), Screen::History);
    wait_until(&mut h, "paid after cancel", |a| !a.alerts().is_empty());
    assert_eq!(h.state().screen(), Screen::History);
    let alert = "⚠ 订单 POS1-TEST-0001 在取消后已支付 ¥12.34。钱已收到：请交付商品，或由店长退款。";
    assert_eq!(h.get_all_by_label(alert).count(), 1);
    // Back on the order: its status says so too.
    h.get_by_label("收银").click();
    h.run();
    assert_eq!(h.state().screen(), Screen::Payment);
    h.get_by_label("⚠ 取消后已支付！请联系店长");
    assert_eq!(h.get_all_by_label(alert).count(), 2);
    h.get_by_label("新的一单").click();
    h.run();
    // Still shown on the sale screen until dismissed.
    h.get_by_label(alert);
    h.get_by_label("知道了").click();
    h.run();
    assert!(h.query_by_label(alert).is_none());
    // Engine problems are shown too.
    let _ = backend.events.send(EngineEvent::Error {
        message: "通知监听无法启动".into(),
    });
    wait_until(&mut h, "the engine error", |a| {
        !a.engine_errors().is_empty()
    });
    h.get_by_label("通知监听无法启动");
    // And in English.
    h.get_by_label("English").click();
    h.run();
    assert_eq!(Lang::En.status(Expired), "Expired");
}

/// eframe's storage, in memory.
#[derive(Default)]
struct MemStorage(std::collections::HashMap<String, String>);

impl eframe::Storage for MemStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

#[test]
fn the_language_choice_is_remembered_and_nothing_else_is_saved() {
    let rt = runtime();
    let backend = NoEngine::new();
    let mut h = harness(backend.clone(), &rt, Arc::new(clock()));
    h.run();
    type_enter(&mut h, "可乐");
    type_enter(&mut h, "3");
    type_enter(&mut h, "");
    h.get_by_label("English").click();
    h.run();
    let mut storage = MemStorage::default();
    eframe::App::save(h.state_mut(), &mut storage);
    // Only the preferences: no items, no orders.
    assert_eq!(storage.0.len(), 1);
    let saved = storage.0.values().next().unwrap();
    assert!(saved.contains("en") && !saved.contains("可乐"), "{saved}");

    let ctx = egui::Context::default();
    let again = PaydeskApp::new(
        &ctx,
        Some(&storage),
        backend,
        rt.handle().clone(),
        Arc::new(clock()),
    );
    assert_eq!(again.lang(), Lang::En);
    assert!(again.cart().is_empty());
}

// ---- Against the real engine and its sandbox ----

use paydesk::app::{AppHandle, SandboxPlace, engine_settings, sandbox_merchant};
use paydesk::config::Config;
use paydesk::engine::{Engine, Gateway, Timing};
use paydesk::ledger::OrderStatus;
use paydesk::sandbox::{Sandbox, SandboxConfig};
use paydesk::ui::payment::countdown_text;

/// The engine on a loopback sandbox, a ledger in a temp dir, and the same manual clock as the window.
struct Live {
    rt: tokio::runtime::Runtime,
    engine: Engine,
    clock: ManualClock,
    dir: tempfile::TempDir,
    _sandbox: Sandbox,
}

impl Live {
    fn start() -> Live {
        let rt = runtime();
        let dir = tempfile::tempdir().unwrap();
        // Whole seconds, so the countdown starts at exactly 10:00.
        let clock = ManualClock::new(Utc.timestamp_opt(Utc::now().timestamp(), 0).unwrap());
        let shared: SharedClock = Arc::new(clock.clone());
        let (engine, sandbox) = rt.block_on(async {
            let sb = Sandbox::start(
                SandboxConfig {
                    clock: shared.clone(),
                    close_min_age: std::time::Duration::ZERO,
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
            let mut s = engine_settings(&Config::sandbox_default(), dir.path(), gateway);
            s.timing = Timing::fast();
            s.clock = shared;
            (Engine::start(s).await.unwrap(), sb)
        });
        Live {
            rt,
            engine,
            clock,
            dir,
            _sandbox: sandbox,
        }
    }

    fn harness<'a>(&self) -> Harness<'a, PaydeskApp> {
        harness(
            Arc::new(AppHandle::new(
                self.engine.clone(),
                Config::sandbox_default(),
                Some(SandboxPlace::Running(self._sandbox.base_url())),
            )),
            &self.rt,
            Arc::new(self.clock.clone()),
        )
    }
}

/// Step the window until `cond` holds (bounded: about 20 s at most, normally a few frames).
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

/// Step the window until a widget labelled `label` is shown (bounded like [`wait_until`]).
fn wait_for_label(h: &mut Harness<'_, PaydeskApp>, label: &str) {
    for _ in 0..2000 {
        h.step();
        if h.query_by_label(label).is_some() {
            h.run();
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the window never showed: {label}\n{:#?}", h.root());
}

/// Ring up two lines and charge with F12; wait for the payment screen.
fn ring_up_and_charge(h: &mut Harness<'_, PaydeskApp>) {
    h.run();
    type_enter(h, "红烧牛肉面");
    type_enter(h, "18.80");
    type_enter(h, "");
    type_enter(h, "矿泉水");
    type_enter(h, "2");
    h.key_press(Key::Backspace);
    type_enter(h, "3");
    h.get_by_label("合计 ¥24.80");
    h.key_press(Key::F12);
    wait_until(h, "the payment screen with a code", |a| {
        a.screen() == Screen::Payment && a.shown_qr_payload().is_some()
    });
}

#[test]
fn charge_shows_the_qr_and_a_live_countdown_then_simulated_payment_shows_paid() {
    let live = Live::start();
    let mut h = live.harness();
    ring_up_and_charge(&mut h);

    let order = h.state().current_order().unwrap().clone();
    assert_eq!(order.total, Fen::new(2480).unwrap());
    // The QR encodes the order's code_url exactly.
    assert_eq!(h.state().shown_qr_payload(), order.code_url.as_deref());
    h.get_by_label("付款二维码");
    h.get_by_label(&order.out_trade_no);
    h.get_by_label("¥24.80");
    h.get_by_label("等待扫码");
    // The countdown runs on the injected clock: 10:00, then 75 s later 08:45.
    let now = live.clock.now();
    assert_eq!(countdown_text(now, order.expires_at), "10:00");
    h.get_by_label("10:00");
    live.clock.advance(chrono::Duration::seconds(75));
    h.step();
    h.get_by_label("08:45");
    assert!(h.query_by_label("10:00").is_none());
    // Sandbox only: simulate the customer.
    h.get_by_label("模拟：支付成功").click();
    wait_until(&mut h, "the paid view", |a| a.screen() == Screen::Paid);
    let paid = h.state().current_order().unwrap().clone();
    assert_eq!(paid.status, OrderStatus::Paid);
    let txn = paid
        .transaction_id
        .clone()
        .expect("a WeChat transaction id");
    h.get_by_label("✓ 收款成功");
    h.get_by_label(&txn);
    h.get_by_label("¥24.80");
    // Enter starts a new sale with an empty cart.
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(h.state().screen(), Screen::Sale);
    assert!(h.state().cart().is_empty());
    assert!(h.get_by_label("商品名称").is_focused());
}

#[test]
fn the_paid_view_goes_back_by_itself() {
    let live = Live::start();
    let mut h = live.harness();
    ring_up_and_charge(&mut h);
    h.get_by_label("模拟：支付成功").click();
    wait_until(&mut h, "the paid view", |a| a.screen() == Screen::Paid);
    live.clock.advance(chrono::Duration::seconds(3));
    h.step();
    assert_eq!(h.state().screen(), Screen::Paid);
    live.clock.advance(chrono::Duration::seconds(10));
    h.step();
    h.run();
    assert_eq!(h.state().screen(), Screen::Sale);
}

#[test]
fn simulated_failure_is_shown_in_words() {
    let live = Live::start();
    let mut h = live.harness();
    ring_up_and_charge(&mut h);
    h.get_by_label("模拟：支付失败").click();
    wait_until(&mut h, "a failed order", |a| {
        a.current_order()
            .is_some_and(|o| o.status == OrderStatus::Failed)
    });
    h.get_by_label("支付失败");
    // No QR for a final order; the cart is still there to charge again.
    assert!(h.query_by_label("付款二维码").is_none());
    assert_eq!(h.state().cart().len(), 2);
    h.get_by_label("新的一单");
    h.get_by_label("重新收款");
}

#[test]
fn cancel_asks_first_then_closes_the_order() {
    let live = Live::start();
    let mut h = live.harness();
    ring_up_and_charge(&mut h);
    h.get_by_label("取消订单").click();
    h.run();
    h.get_by_label("取消这笔订单？");
    // "No" keeps the order open.
    h.get_by_label("不，继续等待").click();
    h.run();
    assert!(h.query_by_label("取消这笔订单？").is_none());
    assert_eq!(h.state().current_order().unwrap().status, OrderStatus::Open);
    // Esc asks again; "yes" cancels.
    h.key_press(Key::Escape);
    h.run();
    h.get_by_label("是，取消订单").click();
    wait_until(&mut h, "a cancelled order", |a| {
        a.current_order()
            .is_some_and(|o| o.status == OrderStatus::Cancelled)
    });
    h.get_by_label("已取消");
    h.get_by_label("新的一单").click();
    h.run();
    assert_eq!(h.state().screen(), Screen::Sale);
    assert!(h.state().cart().is_empty());
}

#[test]
fn history_shows_the_day_and_export_writes_the_rows() {
    let live = Live::start();
    let mut h = live.harness();
    ring_up_and_charge(&mut h);
    let no = h.state().current_order().unwrap().out_trade_no.clone();
    h.get_by_label("模拟：支付成功").click();
    wait_until(&mut h, "the paid view", |a| a.screen() == Screen::Paid);
    h.key_press(Key::Space);
    h.run();

    // History: today's orders, the paid total, and one order's lines and events.
    h.get_by_label("历史订单").click();
    wait_until(
        &mut h,
        "today's orders",
        |a| matches!(&a.history_state().rows, Some(Ok(rows)) if rows.len() == 1),
    );
    // The day's money net of refunds, from the ledger.
    wait_until(&mut h, "the day's sums", |a| {
        matches!(&a.history_state().sums, Some(Ok(_)))
    });
    h.get_by_label("共 1 笔订单，其中 1 笔已收款");
    h.get_by_label("收款 ¥24.80 · 退款 ¥0.00 · 净额 ¥24.80");
    h.get_by_label(&no);
    h.get_by_label("已支付");
    let time = h
        .state()
        .history_state()
        .rows
        .as_ref()
        .unwrap()
        .as_ref()
        .unwrap()[0]
        .created_at
        .with_timezone(&chrono::Local)
        .format("%H:%M:%S")
        .to_string();
    h.get_by_label(&time).click();
    wait_until(&mut h, "the order's detail", |a| {
        matches!(&a.history_state().detail, Some(Ok(_)))
    });
    h.get_by_label("红烧牛肉面");
    h.get_by_label("× 3");
    h.get_by_label("¥6.00");
    // The event history: the ledger's record of the payment.
    assert!(h.query_all_by_label_contains("paid").count() > 0);

    // Export to a given file (the dialog is bypassed).
    // From the history straight to exporting that day.
    h.get_by_label("导出这一天…").click();
    h.run();
    assert_eq!(h.state().screen(), Screen::Export);
    assert_eq!(h.state().export_day_text(), h.state().today().to_string());
    let path = live.dir.path().join("out").join("export.csv");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let today = h.state().today();
    h.state_mut().export_to(today, path.clone());
    h.step();
    wait_until(&mut h, "the export result", |a| {
        a.export_state().result.is_some()
    });
    let (rows, written) = h.state().export_state().result.clone().unwrap().unwrap();
    assert_eq!(rows, 1);
    assert_eq!(written, path);
    h.get_by_label(&format!("已导出 1 行到 {}", path.display()));
    let csv = std::fs::read_to_string(&path).unwrap();
    assert!(csv.contains(&no), "{csv}");
    assert!(csv.contains("24.80"), "{csv}");
    assert_eq!(csv.lines().filter(|l| l.contains(&no)).count(), 1);

    // A file that cannot be written is a clear message, not a crash.
    let bad = live.dir.path().join("no-such-dir").join("x.csv");
    h.state_mut().export_to(today, bad);
    h.step();
    wait_until(&mut h, "the export failure", |a| {
        matches!(a.export_state().result, Some(Err(_)))
    });
    h.get_by_label_contains("导出失败");

    // The day report over the real ledger: the same money, the 30 days, and its CSV.
    h.get_by_label("日结").click();
    wait_until(
        &mut h,
        "the day report",
        |a| matches!(&a.day_report_state().data, Some(Ok((r, _))) if r.day == today),
    );
    let Some(Ok((report, days))) = &h.state().day_report_state().data else {
        unreachable!()
    };
    assert_eq!(report.sums.received, Fen::new(2480).unwrap());
    assert_eq!(report.paid_orders, 1);
    assert_eq!(days.len(), 30);
    assert_eq!(days.last().unwrap().day, today);
    assert!(h.query_all_by_label("¥24.80").next().is_some());
    h.get_by_label("对账: 未对账");
    let report_path = live.dir.path().join("out").join("report.csv");
    h.state_mut()
        .send(paydesk::ui::UiCommand::ExportDayReportTo(
            today,
            report_path.clone(),
        ));
    wait_until(&mut h, "the report export", |a| {
        a.day_report_state().exported.is_some()
    });
    assert_eq!(
        h.state().day_report_state().exported,
        Some(Ok(report_path.clone()))
    );
    let csv = std::fs::read_to_string(&report_path).unwrap();
    assert!(csv.contains("收款 received,1,24.80\r\n"), "{csv}");
    h.get_by_label(&format!("已导出到 {}", report_path.display()));
}

/// A whole refund from the window: the paid order in History, "退款 Refund", the amount (what is left by
/// default), a refusal above what is left, a wrong PIN refused in the form, then the sandbox PIN 0000, the
/// confirmation, and the refund's live status until it succeeded. Against the real engine and its embedded
/// sandbox (refunds over its HTTPS port with the merchant certificate).
#[test]
fn a_paid_order_is_refunded_from_the_history_with_the_manager_pin() {
    use paydesk::ui::state::RefundStep;
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut config = paydesk::config::Config::sandbox_default();
    config.sandbox_listen = "127.0.0.1:0".parse().unwrap();
    let app = rt
        .block_on(paydesk::app::start_with(config, dir.path()))
        .unwrap();
    let mut h = harness(
        Arc::new(app.clone()),
        &rt,
        Arc::new(paydesk::clock::SystemClock),
    );
    ring_up_and_charge(&mut h);
    let no = h.state().current_order().unwrap().out_trade_no.clone();
    h.get_by_label("模拟：支付成功").click();
    wait_until(&mut h, "the paid view", |a| a.screen() == Screen::Paid);
    h.key_press(Key::Space);
    h.run();

    h.get_by_label("历史订单").click();
    wait_until(
        &mut h,
        "today's orders",
        |a| matches!(&a.history_state().rows, Some(Ok(rows)) if rows.len() == 1),
    );
    let time = h
        .state()
        .history_state()
        .rows
        .as_ref()
        .unwrap()
        .as_ref()
        .unwrap()[0]
        .created_at
        .with_timezone(&chrono::Local)
        .format("%H:%M:%S")
        .to_string();
    h.get_by_label(&time).click();
    wait_until(
        &mut h,
        "the order's refunds",
        |a| matches!(&a.history_state().refunds, Some(Ok(r)) if r.out_trade_no == no),
    );
    h.get_by_label("已退 ¥0.00 · 处理中 ¥0.00 · 可退 ¥24.80");

    // The form opens with what is left.
    h.get_by_label("退款 Refund").click();
    h.run();
    assert_eq!(h.state_mut().refund_fields_mut().amount, "24.80");
    h.get_by_label("沙箱模式：店长密码为 0000（未设置密码时）");

    // More than is left: said in the form, nothing sent.
    h.state_mut().refund_fields_mut().amount = "30".into();
    h.state_mut().refund_fields_mut().pin = "0000".into();
    h.get_by_label("下一步").click();
    h.run();
    h.get_by_label("超过可退金额：最多可退 ¥24.80");

    // A wrong PIN: refused by the backend, shown in the form, the PIN field emptied.
    h.state_mut().refund_fields_mut().amount = "4.80".into();
    h.state_mut().refund_fields_mut().reason = "退一碗面".into();
    h.state_mut().refund_fields_mut().pin = "1234".into();
    h.get_by_label("下一步").click();
    h.run();
    h.get_by_label(&format!("确认把 ¥4.80 退给顾客？（订单 {no}）"));
    h.get_by_label("确认退款").click();
    wait_until(&mut h, "the wrong PIN refused", |a| {
        a.history_state()
            .refund
            .as_ref()
            .is_some_and(|f| f.step == RefundStep::Entering && f.error.is_some())
    });
    assert!(h.query_all_by_label_contains("wrong manager PIN").count() > 0);
    assert_eq!(h.state_mut().refund_fields_mut().pin, "");

    // The sandbox PIN: sent, then its live status until the money is back.
    h.state_mut().refund_fields_mut().pin = "0000".into();
    h.get_by_label("下一步").click();
    h.run();
    h.get_by_label("确认退款").click();
    wait_until(&mut h, "the refund's success", |a| {
        matches!(&a.history_state().refunds, Some(Ok(r))
            if r.refunds.iter().any(|x| x.status == paydesk::app::window::RefundState::Success))
    });
    h.get_by_label("退款成功：钱已退回顾客");
    h.get_by_label("已退 ¥4.80 · 处理中 ¥0.00 · 可退 ¥20.00");
    // The refund's line names who approved it and why; the order's events (read again) have it too.
    h.get_by_label_contains("批准：manager PIN (sandbox 0000)");
    assert!(h.query_all_by_label_contains("退一碗面").count() >= 2);
    h.get_by_label(&format!("{no}R1"));
    drop(h);
    rt.block_on(app.shutdown());
}

// ---- Sign-in and handover (交班) ----

#[test]
fn one_cashier_without_a_pin_is_signed_in_without_a_question() {
    let rt = runtime();
    let backend = NoEngine::new();
    let mut h = harness(backend.clone(), &rt, Arc::new(clock()));
    h.run();
    // Straight to the sale, the name field ready; the header names the cashier.
    assert_eq!(h.state().screen(), Screen::Sale);
    assert_eq!(h.state().signed_in_cashier(), Some("小王"));
    assert!(h.get_by_label("商品名称").is_focused());
    h.get_by_label_contains("收银员 小王");
    assert!(h.query_by_label("签到").is_none());
    assert_eq!(
        backend.resumed.lock().unwrap().clone(),
        vec![Some("小王".to_owned())]
    );
    assert!(backend.signed_in.lock().unwrap().is_empty());
}

#[test]
fn two_cashiers_choose_their_name_and_a_pin_is_asked_for() {
    let rt = runtime();
    let backend = NoEngine::two_cashiers();
    let mut h = harness(backend.clone(), &rt, Arc::new(clock()));
    h.run();
    assert_eq!(h.state().screen(), Screen::SignIn);
    // The names, once the station's open shift was looked for (there is none).
    wait_for_label(&mut h, "请选择您的名字开始收银");
    assert_eq!(backend.resumed.lock().unwrap().clone(), vec![None]);
    // No navigation while nobody is signed in.
    assert!(h.query_by_label("历史订单").is_none());
    assert!(h.query_by_label("交班").is_none());
    h.get_by_label("小李  (需密码)").click();
    h.run();
    // A wrong PIN: said, still signed out.
    h.get_by_label("小李 的密码").click();
    h.run();
    h.event(egui::Event::Text("1111".into()));
    h.key_press(Key::Enter);
    wait_for_label(&mut h, "密码错误（再错 4 次将锁定 5 分钟）");
    assert_eq!(h.state().signed_in_cashier(), None);
    assert_eq!(h.state().screen(), Screen::SignIn);
    // The right one, with the button.
    h.get_by_label("小李 的密码").click();
    h.run();
    h.event(egui::Event::Text("2468".into()));
    h.run();
    h.get_by_label("签到").click();
    wait_until(&mut h, "signed in", |a| {
        a.signed_in_cashier() == Some("小李")
    });
    assert_eq!(h.state().screen(), Screen::Sale);
    h.get_by_label_contains("收银员 小李");
    assert_eq!(
        backend.signed_in.lock().unwrap().clone(),
        vec![
            ("小李".to_owned(), "1111".to_owned()),
            ("小李".to_owned(), "2468".to_owned())
        ]
    );
    // The order carries the signed-in cashier, not the first of the list.
    type_enter(&mut h, "茶");
    type_enter(&mut h, "2");
    type_enter(&mut h, "");
    h.key_press(Key::F12);
    wait_until(&mut h, "the charge's answer", |a| !a.sale_is_charging());
    assert_eq!(backend.charged.lock().unwrap()[0].cashier, "小李");
}

#[test]
fn the_handover_is_refused_while_the_payment_screen_is_up_then_recorded() {
    let live = Live::start();
    let mut h = live.harness();
    ring_up_and_charge(&mut h);
    // The customer may be paying: refused, and the cashier stays on the order.
    h.get_by_label("交班").click();
    h.run();
    let refused = "不能交班：当前订单还在进行中。请等顾客付款完成或取消订单后再交班。";
    h.get_by_label(refused);
    assert_eq!(h.state().screen(), Screen::Payment);
    // Paid: the handover shows the shift's numbers, then records them and signs in again (one cashier).
    h.get_by_label("模拟：支付成功").click();
    wait_until(&mut h, "the paid view", |a| a.screen() == Screen::Paid);
    h.get_by_label("交班").click();
    wait_until(&mut h, "the handover screen", |a| {
        a.screen() == Screen::Handover
    });
    assert!(h.query_by_label(refused).is_none());
    // The numbers, once counted.
    wait_for_label(&mut h, "1 笔");
    assert_eq!(h.get_all_by_label("¥24.80").count(), 2, "received and net");
    h.get_by_label("确认交班").click();
    wait_until(&mut h, "back to a sale after the handover", |a| {
        a.screen() == Screen::Sale
    });
    h.get_by_label("交班已记录：收款 1 笔，净收入 ¥24.80");
    let ledger =
        paydesk::ledger::Ledger::open(&paydesk::paths::ledger_in(live.dir.path())).unwrap();
    let shifts = ledger
        .shifts_between(
            chrono::DateTime::<Utc>::MIN_UTC,
            chrono::DateTime::<Utc>::MAX_UTC,
        )
        .unwrap();
    let handed = shifts
        .iter()
        .find(|s| !s.is_open())
        .expect("a handed-over shift");
    let s = handed.summary.unwrap();
    assert_eq!((s.orders, s.sums.received), (1, Fen::new(2480).unwrap()));
}
