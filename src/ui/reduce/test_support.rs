//! What the reducer's tests share: a fixed time and station, and running commands or messages through a
//! [`Reducer`] to see the state and the intents. Tests only; no test lives here.

use chrono::{DateTime, TimeZone, Utc};
use eframe::egui;

use super::Reducer;
use crate::app::window::{CartLine, CashierChoice, CounterInfo, SignInInfo, StationInfo};
use crate::app::window::{OrderStatus, OrderView, ShiftSummary, ShiftView};
use crate::money::Fen;
use crate::ui::command::UiCommand;
use crate::ui::effects::{Intent, Msg};
use crate::ui::state::{Fields, Prefs, UiState};

pub(super) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

/// An open order "A" of ¥1.00 with its code, made at [`t0`] and payable for ten minutes.
pub(super) fn open_order() -> OrderView {
    OrderView {
        out_trade_no: "A".into(),
        total: Fen::new(100).unwrap(),
        status: OrderStatus::Open,
        code_url: Some("weixin://x".into()),
        created_at: t0(),
        expires_at: t0() + chrono::Duration::minutes(10),
        transaction_id: None,
        paid_at: None,
        notice: None,
    }
}

pub(super) fn info() -> StationInfo {
    StationInfo {
        store_name: "s".into(),
        station: "1".into(),
        cashier: "小王".into(),
        language: "zh".into(),
        day_start_hour: 0,
        mode: crate::app::window::Mode::Sandbox,
    }
}

/// Apply `cmds` to `ui`/`fields` and return the intents.
pub(super) fn run(ui: &mut UiState, fields: &mut Fields, cmds: Vec<UiCommand>) -> Vec<Intent> {
    let ctx = egui::Context::default();
    let mut prefs = Prefs::default();
    let info = info();
    let mut r = Reducer {
        prefs: &mut prefs,
        ui,
        fields,
        info: &info,
        counter: &crate::app::window::CounterInfo::default(),
        now: t0(),
        ctx: &ctx,
        intents: Vec::new(),
    };
    for c in cmds {
        r.command(c);
    }
    r.intents
}

/// Apply one message from the runtime to `ui`/`fields` and return the intents.
pub(super) fn receive(ui: &mut UiState, fields: &mut Fields, msg: Msg) -> Vec<Intent> {
    let ctx = egui::Context::default();
    let mut prefs = Prefs::default();
    let info = info();
    let mut r = Reducer {
        prefs: &mut prefs,
        ui,
        fields,
        info: &info,
        counter: &CounterInfo::default(),
        now: t0(),
        ctx: &ctx,
        intents: Vec::new(),
    };
    r.message(msg);
    r.intents
}

pub(super) fn line(name: &str, fen: i64, qty: u32) -> CartLine {
    CartLine {
        name: name.into(),
        unit_price: Fen::new(fen).unwrap(),
        qty,
    }
}

/// A window where `name` is signed in (one cashier, no PIN).
pub(super) fn signed_in(name: &str) -> UiState {
    let mut ui = UiState::default();
    ui.shift.info = SignInInfo {
        cashiers: vec![CashierChoice {
            name: name.into(),
            pin: false,
        }],
        blind: false,
    };
    run(&mut ui, &mut Fields::default(), vec![UiCommand::StartShift]);
    ui
}

pub(super) fn two_cashiers() -> SignInInfo {
    SignInInfo {
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
    }
}

/// Apply `msgs` to `ui`/`fields` and return the intents.
pub(super) fn receive_all(ui: &mut UiState, fields: &mut Fields, msgs: Vec<Msg>) -> Vec<Intent> {
    let ctx = egui::Context::default();
    let mut prefs = Prefs::default();
    let info = info();
    let mut r = Reducer {
        prefs: &mut prefs,
        ui,
        fields,
        info: &info,
        counter: &CounterInfo::default(),
        now: t0(),
        ctx: &ctx,
        intents: Vec::new(),
    };
    for m in msgs {
        r.message(m);
    }
    r.intents
}

pub(super) fn shift_of(name: &str) -> ShiftView {
    ShiftView {
        cashier: name.into(),
        signed_in_at: t0(),
    }
}

pub(super) fn summary(orders: u32, received: i64, refunded: i64) -> ShiftSummary {
    ShiftSummary {
        orders,
        refunds: u32::from(refunded > 0),
        sums: crate::app::window::DaySums {
            received: Fen::new(received).unwrap(),
            refunded: Fen::new(refunded).unwrap(),
        },
    }
}
