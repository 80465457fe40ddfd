//! The cashier window driven headless with egui_kittest: real app state, keyboard input, no GPU.
//!
//! Sale-screen tests run over a tiny in-test backend (no engine needed); the payment, cancel and export
//! tests run against the real engine with its in-process sandbox and a temporary data directory.

use std::sync::{Arc, Mutex};

use chrono::{NaiveDate, TimeZone, Utc};
use eframe::egui::{self, Key};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use paydesk::clock::{ManualClock, SharedClock};
use paydesk::engine::{Cart, CustomerAction, EngineEvent, OrderView};
use paydesk::money::Fen;
use paydesk::ui::backend::{BoxFuture, HistoryRow, OrderDetail, StationInfo};
use paydesk::ui::{Backend, Lang, PaydeskApp, Screen};
use tokio::sync::broadcast;

/// A backend that records charges and answers nothing else: enough for the sale screen.
struct NoEngine {
    events: broadcast::Sender<EngineEvent>,
    charged: Mutex<Vec<Cart>>,
}

impl NoEngine {
    fn new() -> Arc<NoEngine> {
        Arc::new(NoEngine {
            events: broadcast::channel(16).0,
            charged: Mutex::new(Vec::new()),
        })
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
            sandbox: true,
        }
    }
    fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }
    fn charge(&self, cart: Cart) -> BoxFuture<'_, Result<OrderView, String>> {
        self.charged.lock().unwrap().push(cart);
        Box::pin(async { Err("no engine in this test".to_owned()) })
    }
    fn cancel(&self, _: String) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Err("no engine".to_owned()) })
    }
    fn simulate(&self, _: String, _: CustomerAction) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Err("no engine".to_owned()) })
    }
    fn orders_for_day(&self, _: NaiveDate) -> BoxFuture<'_, Result<Vec<HistoryRow>, String>> {
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
    for _ in 0..100 {
        h.step();
        if h.state().engine_errors().is_empty()
            && !backend.charged.lock().unwrap().is_empty()
            && h.query_by_label_contains("no engine").is_some()
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
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
    h.get_by_label("Item name");
    h.get_by_label("沙箱模式 — 不是真实收款 / Sandbox — no real money");
    h.get_by_label("中文").click();
    h.run();
    h.get_by_label("收款 (F12)");
    assert_eq!(h.state().screen(), Screen::Sale);
}
