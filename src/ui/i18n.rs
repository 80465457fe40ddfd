//! Every word the cashier window shows, in Simplified Chinese (the default) and English.
//!
//! Screens never hold literal text: they ask [`Lang::t`] for a [`Texts`] table, or call one of the helpers here
//! for text that depends on a value (an order status, a money error). Item names typed by the cashier and
//! messages reported by the engine are shown as they are.

use serde::{Deserialize, Serialize};

use crate::app::window::OrderStatus;
use crate::money::MoneyError;

/// The language of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    #[serde(rename = "zh")]
    Zh,
    #[serde(rename = "en")]
    En,
}

impl Lang {
    /// `"zh"`/`"en"` as in the configuration file; anything else is Chinese.
    pub fn from_code(code: &str) -> Lang {
        if code.trim().eq_ignore_ascii_case("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    pub fn t(self) -> &'static Texts {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    /// The day report screen's texts ([`super::i18n_report`]).
    pub fn report(self) -> &'static super::i18n_report::ReportTexts {
        match self {
            Lang::Zh => &super::i18n_report::REPORT_ZH,
            Lang::En => &super::i18n_report::REPORT_EN,
        }
    }

    /// The other language (what the switch button offers).
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// An order status in words, as the cashier and the customer read it.
    pub fn status(self, status: OrderStatus) -> &'static str {
        use OrderStatus::*;
        match (self, status) {
            (Lang::Zh, Creating) => "正在创建订单…",
            (Lang::Zh, Open) => "等待扫码",
            (Lang::Zh, UserPaying) => "顾客支付中…",
            (Lang::Zh, Closing) => "正在关闭…",
            (Lang::Zh, Paid) => "已支付",
            (Lang::Zh, PaidAfterCancel) => "⚠ 取消后已支付！请联系店长",
            (Lang::Zh, Failed) => "支付失败",
            (Lang::Zh, Cancelled) => "已取消",
            (Lang::Zh, Expired) => "已过期",
            (Lang::Zh, Refunded) => "已退款",
            (Lang::En, Creating) => "Creating order…",
            (Lang::En, Open) => "Waiting for scan",
            (Lang::En, UserPaying) => "Customer paying…",
            (Lang::En, Closing) => "Closing…",
            (Lang::En, Paid) => "Paid",
            (Lang::En, PaidAfterCancel) => "⚠ Paid after cancel! Call the manager",
            (Lang::En, Failed) => "Payment failed",
            (Lang::En, Cancelled) => "Cancelled",
            (Lang::En, Expired) => "Expired",
            (Lang::En, Refunded) => "Refunded",
        }
    }

    /// A short status for the history table: the status's own words.
    pub fn status_short(self, status: OrderStatus) -> &'static str {
        match self {
            Lang::Zh => status.word_zh(),
            Lang::En => status.word_en(),
        }
    }

    /// Why a typed price was refused.
    pub fn money_error(self, e: &MoneyError) -> String {
        match (self, e) {
            (Lang::Zh, MoneyError::Empty) => "请输入单价".into(),
            (Lang::Zh, MoneyError::Negative) => "单价不能为负".into(),
            (Lang::Zh, MoneyError::TooManyDecimals) => "最多两位小数（分）".into(),
            (Lang::Zh, MoneyError::TooLarge { max }) => format!("金额过大（最多 {max}）"),
            (Lang::Zh, MoneyError::Invalid(s)) => format!("不是有效金额：{s}"),
            (Lang::En, MoneyError::Empty) => "enter a unit price".into(),
            (Lang::En, MoneyError::Negative) => "the price cannot be negative".into(),
            (Lang::En, MoneyError::TooManyDecimals) => "at most two decimals (fen)".into(),
            (Lang::En, MoneyError::TooLarge { max }) => format!("too large (at most {max})"),
            (Lang::En, MoneyError::Invalid(s)) => format!("not an amount: {s}"),
        }
    }

    /// `导出了 3 行到 /path`.
    pub fn exported(self, rows: usize, path: &str) -> String {
        match self {
            Lang::Zh => format!("已导出 {rows} 行到 {path}"),
            Lang::En => format!("Exported {rows} rows to {path}"),
        }
    }

    /// `订单 X 在取消后已付款 ¥12.50`.
    pub fn paid_after_cancel_alert(self, out_trade_no: &str, amount: &str) -> String {
        match self {
            Lang::Zh => format!(
                "⚠ 订单 {out_trade_no} 在取消后已支付 {amount}。钱已收到：请交付商品，或由店长退款。"
            ),
            Lang::En => format!(
                "⚠ Order {out_trade_no} was paid {amount} after it was cancelled. The money was taken: hand over the goods, or have the manager refund it."
            ),
        }
    }

    /// A day reconciled with WeChat's bill left differences unexplained.
    pub fn reconcile_alert(self, day: &str, unexplained: u32) -> String {
        match self {
            Lang::Zh => format!(
                "⚠ {day} 与微信支付账单对账：{unexplained} 处差异未能解释，请店长核对（对账结果已保存）。"
            ),
            Lang::En => format!(
                "⚠ Reconciling {day} with WeChat Pay's bill left {unexplained} difference(s) unexplained: the manager must check them (the result is saved)."
            ),
        }
    }

    /// `原因：退货` / `Reason: goods returned`.
    pub fn labelled(self, label: &str, value: &str) -> String {
        match self {
            Lang::Zh => format!("{label}：{value}"),
            Lang::En => format!("{label}: {value}"),
        }
    }

    /// More than is left to refund.
    pub fn refund_too_much(self, left: &str) -> String {
        match self {
            Lang::Zh => format!("超过可退金额：最多可退 {left}"),
            Lang::En => format!("more than is left: at most {left} can be refunded"),
        }
    }

    /// `已退 ¥5.00 · 处理中 ¥0.00 · 可退 ¥19.80`.
    pub fn refund_totals(self, refunded: &str, pending: &str, left: &str) -> String {
        match self {
            Lang::Zh => format!("已退 {refunded} · 处理中 {pending} · 可退 {left}"),
            Lang::En => format!("refunded {refunded} · under way {pending} · left {left}"),
        }
    }

    pub fn refund_approved_by(self, who: &str) -> String {
        match self {
            Lang::Zh => format!("批准：{who}"),
            Lang::En => format!("approved by {who}"),
        }
    }

    pub fn refund_left_hint(self, left: &str) -> String {
        match self {
            Lang::Zh => format!("最多 {left}"),
            Lang::En => format!("at most {left}"),
        }
    }

    /// The confirmation's question.
    pub fn refund_confirm(self, amount: &str, out_trade_no: &str) -> String {
        match self {
            Lang::Zh => format!("确认把 {amount} 退给顾客？（订单 {out_trade_no}）"),
            Lang::En => format!("Refund {amount} to the customer? (order {out_trade_no})"),
        }
    }

    pub fn refund_status_line(self, out_refund_no: &str, status: &str) -> String {
        match self {
            Lang::Zh => format!("退款 {out_refund_no}：{status}"),
            Lang::En => format!("Refund {out_refund_no}: {status}"),
        }
    }

    /// `3 笔已付款，合计 ¥30.00`.
    pub fn paid_summary(self, orders: usize, paid: usize, total: &str) -> String {
        match self {
            Lang::Zh => format!("共 {orders} 笔订单，其中 {paid} 笔已支付，合计 {total}"),
            Lang::En => format!("{orders} orders, {paid} paid, total paid {total}"),
        }
    }

    /// `5 秒后自动返回`.
    pub fn auto_return(self, secs: i64) -> String {
        match self {
            Lang::Zh => format!("按 Enter 或空格开始新的一单（{secs} 秒后自动返回）"),
            Lang::En => {
                format!("Press Enter or Space for a new sale (back automatically in {secs} s)")
            }
        }
    }
}

/// The fixed texts of the window.
#[derive(Debug)]
pub struct Texts {
    pub app_title: &'static str,
    pub sandbox_banner: &'static str,
    pub test_gateway_banner: &'static str,
    pub refunds_title: &'static str,
    pub refund_button: &'static str,
    pub refund_unavailable: &'static str,
    pub refund_title: &'static str,
    pub refund_amount: &'static str,
    pub refund_reason: &'static str,
    pub refund_reason_hint: &'static str,
    pub refund_pin: &'static str,
    pub refund_sandbox_pin: &'static str,
    pub refund_pin_not_set: &'static str,
    pub refund_next: &'static str,
    pub refund_close: &'static str,
    pub refund_confirm_button: &'static str,
    pub refund_back: &'static str,
    pub refund_sending: &'static str,
    pub refund_done: &'static str,
    pub refund_amount_zero: &'static str,
    pub refund_pin_missing: &'static str,
    pub refund_under_way: &'static str,
    pub switch_language: &'static str,
    pub nav_sale: &'static str,
    pub nav_history: &'static str,
    pub nav_export: &'static str,
    pub cashier: &'static str,
    pub station: &'static str,
    pub dismiss: &'static str,
    pub export_this_day: &'static str,

    // Sale
    pub item_name: &'static str,
    pub item_name_hint: &'static str,
    pub unit_price: &'static str,
    pub unit_price_hint: &'static str,
    pub quantity: &'static str,
    pub add_line: &'static str,
    pub name_required: &'static str,
    pub qty_invalid: &'static str,
    pub line_too_large: &'static str,
    pub total_too_large: &'static str,
    pub total_is_zero: &'static str,
    pub empty_cart: &'static str,
    pub col_item: &'static str,
    pub col_unit_price: &'static str,
    pub col_qty: &'static str,
    pub col_line_total: &'static str,
    pub edit_line: &'static str,
    pub remove_line: &'static str,
    pub total: &'static str,
    pub charge: &'static str,
    pub charging: &'static str,
    pub clear_cart: &'static str,
    pub keyboard_help: &'static str,
    pub charge_failed: &'static str,

    // Payment
    pub scan_to_pay: &'static str,
    pub qr_label: &'static str,
    pub amount: &'static str,
    pub order_no: &'static str,
    pub time_left: &'static str,
    pub cancel_order: &'static str,
    pub cancel_confirm_title: &'static str,
    pub cancel_confirm_body: &'static str,
    pub cancel_confirm_yes: &'static str,
    pub cancel_confirm_no: &'static str,
    pub cancel_failed: &'static str,
    pub simulate_title: &'static str,
    pub simulate_pay: &'static str,
    pub simulate_fail: &'static str,
    pub simulate_failed: &'static str,
    pub new_sale: &'static str,
    pub charge_again: &'static str,
    pub waiting_code_url: &'static str,
    pub closing_note: &'static str,

    // Paid
    pub paid_title: &'static str,
    pub transaction_id: &'static str,

    // History
    pub history_title: &'static str,
    pub day: &'static str,
    pub day_hint: &'static str,
    pub bad_day: &'static str,
    pub previous_day: &'static str,
    pub next_day: &'static str,
    pub today: &'static str,
    pub refresh: &'static str,
    pub loading: &'static str,
    pub no_orders: &'static str,
    pub col_time: &'static str,
    pub col_amount: &'static str,
    pub col_status: &'static str,
    pub col_order_no: &'static str,
    pub select_order: &'static str,
    pub lines_title: &'static str,
    pub events_title: &'static str,
    pub load_failed: &'static str,

    // Export
    pub export_title: &'static str,
    pub export_explain: &'static str,
    pub export_button: &'static str,
    pub exporting: &'static str,
    pub export_cancelled: &'static str,
    pub export_failed: &'static str,
    pub csv_filter: &'static str,
}

pub static ZH: Texts = Texts {
    app_title: "PayDesk 收银台",
    sandbox_banner: "沙箱模式 — 不是真实收款 / Sandbox — no real money",
    test_gateway_banner: "测试网关 — 非微信支付正式环境 / Test gateway — not WeChat Pay's live service",
    refunds_title: "退款",
    refund_button: "退款 Refund",
    refund_unavailable: "不能在此退款",
    refund_title: "退款给顾客",
    refund_amount: "退款金额（元）",
    refund_reason: "原因",
    refund_reason_hint: "例如：退货",
    refund_pin: "店长密码",
    refund_sandbox_pin: "沙箱模式：店长密码为 0000（未设置密码时）",
    refund_pin_not_set: "尚未设置店长密码：请店长运行 paydesk config set-manager-pin",
    refund_next: "下一步",
    refund_close: "关闭",
    refund_confirm_button: "确认退款",
    refund_back: "返回修改",
    refund_sending: "正在提交退款…",
    refund_done: "退款成功：钱已退回顾客",
    refund_amount_zero: "退款金额必须大于 0",
    refund_pin_missing: "请输入店长密码",
    refund_under_way: "退款处理中：完成后才能再退",
    switch_language: "English",
    nav_sale: "收银",
    nav_history: "历史订单",
    nav_export: "导出",
    cashier: "收银员",
    station: "收银台",
    dismiss: "知道了",
    export_this_day: "导出这一天…",

    item_name: "商品名称",
    item_name_hint: "商品名称或扫码",
    unit_price: "单价（元）",
    unit_price_hint: "例如 12.50",
    quantity: "数量",
    add_line: "添加",
    name_required: "请输入商品名称",
    qty_invalid: "数量须为 1 到 9999 的整数",
    line_too_large: "这一行金额过大",
    total_too_large: "合计金额过大",
    total_is_zero: "合计为零，不能收款",
    empty_cart: "还没有商品。输入名称、单价、数量，每项按 Enter。",
    col_item: "商品",
    col_unit_price: "单价",
    col_qty: "数量",
    col_line_total: "小计",
    edit_line: "修改",
    remove_line: "删除",
    total: "合计",
    charge: "收款 (F12)",
    charging: "正在创建订单…",
    clear_cart: "清空",
    keyboard_help: "Enter：下一栏／添加；名称为空时 Enter 或 F12：收款",
    charge_failed: "收款失败",

    scan_to_pay: "请用微信扫一扫付款",
    qr_label: "付款二维码",
    amount: "金额",
    order_no: "订单号",
    time_left: "剩余时间",
    cancel_order: "取消订单",
    cancel_confirm_title: "取消这笔订单？",
    cancel_confirm_body: "顾客将无法再付款。如果顾客已经付款，系统会提示。",
    cancel_confirm_yes: "是，取消订单",
    cancel_confirm_no: "不，继续等待",
    cancel_failed: "取消失败",
    simulate_title: "模拟顾客支付（仅沙箱）",
    simulate_pay: "模拟：支付成功",
    simulate_fail: "模拟：支付失败",
    simulate_failed: "模拟失败",
    new_sale: "新的一单",
    charge_again: "重新收款",
    waiting_code_url: "正在获取二维码…",
    closing_note: "二维码已撤下。微信要求订单创建 5 分钟后才能关闭；PayDesk 会一直跟踪，直到微信确认已关闭。",

    paid_title: "收款成功",
    transaction_id: "微信支付单号",

    history_title: "历史订单",
    day: "日期",
    day_hint: "YYYY-MM-DD",
    bad_day: "日期格式应为 YYYY-MM-DD",
    previous_day: "◀ 前一天",
    next_day: "后一天 ▶",
    today: "今天",
    refresh: "刷新",
    loading: "加载中…",
    no_orders: "这一天没有订单。",
    col_time: "时间",
    col_amount: "金额",
    col_status: "状态",
    col_order_no: "订单号",
    select_order: "选择一笔订单查看商品和记录。",
    lines_title: "商品",
    events_title: "记录",
    load_failed: "读取失败",

    export_title: "导出 CSV",
    export_explain: "导出一天的交易（UTF-8，可用 Excel 打开）。",
    export_button: "选择文件并导出…",
    exporting: "正在导出…",
    export_cancelled: "没有选择文件，未导出。如果没有出现保存对话框：请安装 zenity 或 xdg-desktop-portal，或在终端用 paydesk export --date 日期 --out 文件。",
    export_failed: "导出失败",
    csv_filter: "CSV 文件",
};

pub static EN: Texts = Texts {
    app_title: "PayDesk cashier",
    sandbox_banner: "沙箱模式 — 不是真实收款 / Sandbox — no real money",
    test_gateway_banner: "测试网关 — 非微信支付正式环境 / Test gateway — not WeChat Pay's live service",
    refunds_title: "Refunds",
    refund_button: "退款 Refund",
    refund_unavailable: "Refunds cannot be made here",
    refund_title: "Refund to the customer",
    refund_amount: "Amount (yuan)",
    refund_reason: "Reason",
    refund_reason_hint: "e.g. goods returned",
    refund_pin: "Manager PIN",
    refund_sandbox_pin: "Sandbox: the manager PIN is 0000 (while none is set)",
    refund_pin_not_set: "No manager PIN is set yet: the manager runs paydesk config set-manager-pin",
    refund_next: "Next",
    refund_close: "Close",
    refund_confirm_button: "Confirm refund",
    refund_back: "Back",
    refund_sending: "Sending the refund…",
    refund_done: "Refunded: the money is back with the customer",
    refund_amount_zero: "the amount must be more than 0",
    refund_pin_missing: "enter the manager PIN",
    refund_under_way: "A refund is under way: the next one once it is final",
    switch_language: "中文",
    nav_sale: "Sale",
    nav_history: "History",
    nav_export: "Export",
    cashier: "Cashier",
    station: "Station",
    dismiss: "Dismiss",
    export_this_day: "Export this day…",

    item_name: "Item name",
    item_name_hint: "Item name or scan",
    unit_price: "Unit price (¥)",
    unit_price_hint: "e.g. 12.50",
    quantity: "Qty",
    add_line: "Add",
    name_required: "enter an item name",
    qty_invalid: "quantity must be a whole number from 1 to 9999",
    line_too_large: "this line is too large",
    total_too_large: "the total is too large",
    total_is_zero: "the total is zero: nothing to charge",
    empty_cart: "No items yet. Type name, unit price, quantity, Enter after each.",
    col_item: "Item",
    col_unit_price: "Unit price",
    col_qty: "Qty",
    col_line_total: "Line total",
    edit_line: "Edit",
    remove_line: "Remove",
    total: "Total",
    charge: "Charge (F12)",
    charging: "Creating order…",
    clear_cart: "Clear",
    keyboard_help: "Enter: next field / add; Enter on an empty name or F12: charge",
    charge_failed: "Charge failed",

    scan_to_pay: "Scan with WeChat to pay",
    qr_label: "Payment QR code",
    amount: "Amount",
    order_no: "Order",
    time_left: "Time left",
    cancel_order: "Cancel order",
    cancel_confirm_title: "Cancel this order?",
    cancel_confirm_body: "The customer will no longer be able to pay. If they already paid, you will be told.",
    cancel_confirm_yes: "Yes, cancel the order",
    cancel_confirm_no: "No, keep waiting",
    cancel_failed: "Cancel failed",
    simulate_title: "Simulate customer payment (sandbox only)",
    simulate_pay: "Simulate: pay",
    simulate_fail: "Simulate: fail",
    simulate_failed: "Simulation failed",
    new_sale: "New sale",
    charge_again: "Charge again",
    waiting_code_url: "Getting the QR code…",
    closing_note: "The QR code is withdrawn. WeChat only closes an order 5 minutes after it was created; PayDesk keeps watching until WeChat confirms it is closed.",

    paid_title: "Paid",
    transaction_id: "WeChat transaction",

    history_title: "Order history",
    day: "Day",
    day_hint: "YYYY-MM-DD",
    bad_day: "the day must be YYYY-MM-DD",
    previous_day: "◀ Previous day",
    next_day: "Next day ▶",
    today: "Today",
    refresh: "Refresh",
    loading: "Loading…",
    no_orders: "No orders on this day.",
    col_time: "Time",
    col_amount: "Amount",
    col_status: "Status",
    col_order_no: "Order",
    select_order: "Select an order to see its items and history.",
    lines_title: "Items",
    events_title: "History",
    load_failed: "Could not load",

    export_title: "Export CSV",
    export_explain: "Export one day's transactions (UTF-8, opens in Excel).",
    export_button: "Choose file and export…",
    exporting: "Exporting…",
    export_cancelled: "No file chosen, nothing exported. If no save dialog appeared, install zenity or xdg-desktop-portal, or use paydesk export --date DAY --out FILE in a terminal.",
    export_failed: "Export failed",
    csv_filter: "CSV file",
};

/// The words of signing in and handing over (交班), apart from [`Texts`] so each screen's words stay together.
#[derive(Debug)]
pub struct ShiftTexts {
    pub nav_handover: &'static str,
    pub sign_in_title: &'static str,
    pub choose_name: &'static str,
    pub no_cashiers: &'static str,
    pub pin_marker: &'static str,
    pub pin_label: &'static str,
    pub sign_in_button: &'static str,
    pub back: &'static str,
    pub resuming: &'static str,
    pub signing_in: &'static str,
    pub handover_title: &'static str,
    pub loading: &'static str,
    pub orders: &'static str,
    pub received: &'static str,
    pub refunds: &'static str,
    pub net: &'static str,
    pub what_counts: &'static str,
    pub blind_note: &'static str,
    pub confirm_handover: &'static str,
    pub handing_over: &'static str,
    pub back_to_sale: &'static str,
    pub refused_in_progress: &'static str,
}

pub static SHIFT_ZH: ShiftTexts = ShiftTexts {
    nav_handover: "交班",
    sign_in_title: "收银员签到",
    choose_name: "请选择您的名字开始收银",
    no_cashiers: "未配置收银员名单",
    pin_marker: "需密码",
    pin_label: "密码",
    sign_in_button: "签到",
    back: "返回",
    resuming: "正在查找本收银台未交班的班次…",
    signing_in: "正在签到…",
    handover_title: "交班",
    loading: "正在统计本班…",
    orders: "收款笔数",
    received: "收款",
    refunds: "退款",
    net: "净收入",
    what_counts: "本班：从签到到现在，本收银台、本收银员的订单（按付款时间）和成功的退款（按退款成功时间）。",
    blind_note: "盲交班：应收金额已隐藏，请清点后交给店长核对。",
    confirm_handover: "确认交班",
    handing_over: "正在记录交班…",
    back_to_sale: "返回收银",
    refused_in_progress: "不能交班：当前订单还在进行中。请等顾客付款完成或取消订单后再交班。",
};

pub static SHIFT_EN: ShiftTexts = ShiftTexts {
    nav_handover: "Hand over",
    sign_in_title: "Cashier sign-in",
    choose_name: "Choose your name to start",
    no_cashiers: "No cashiers are configured",
    pin_marker: "PIN",
    pin_label: "PIN",
    sign_in_button: "Sign in",
    back: "Back",
    resuming: "Looking for this station's open shift…",
    signing_in: "Signing in…",
    handover_title: "Hand over",
    loading: "Counting this shift…",
    orders: "Paid orders",
    received: "Received",
    refunds: "Refunds",
    net: "Net",
    what_counts: "This shift: from sign-in until now, this station's orders taken by this cashier (at their payment) and refunds that succeeded (at their success).",
    blind_note: "Blind handover: the expected totals are hidden. Count, then give it to the manager to check.",
    confirm_handover: "Confirm handover",
    handing_over: "Recording the handover…",
    back_to_sale: "Back to sale",
    refused_in_progress: "Cannot hand over: the current order is still in progress. Wait until the customer has paid, or cancel it, then hand over.",
};

impl Lang {
    pub fn shift(self) -> &'static ShiftTexts {
        match self {
            Lang::Zh => &SHIFT_ZH,
            Lang::En => &SHIFT_EN,
        }
    }

    /// `小王 的密码`.
    pub fn pin_of(self, name: &str) -> String {
        match self {
            Lang::Zh => format!("{name} 的密码"),
            Lang::En => format!("{name}'s PIN"),
        }
    }

    /// A wrong sign-in PIN, and how many more lock the name.
    pub fn wrong_pin(self, left: u32) -> String {
        match self {
            Lang::Zh => format!("密码错误（再错 {left} 次将锁定 5 分钟）"),
            Lang::En => {
                format!("Wrong PIN ({left} more wrong PIN(s) lock this name for 5 minutes)")
            }
        }
    }

    /// Too many wrong PINs; `until` as local `HH:MM:SS`.
    pub fn pin_locked(self, until: &str) -> String {
        match self {
            Lang::Zh => format!("密码错误次数过多：{until} 之前不能签到"),
            Lang::En => format!("Too many wrong PINs: signing in is locked until {until}"),
        }
    }

    pub fn other_signed_in(self, cashier: &str) -> String {
        match self {
            Lang::Zh => format!("{cashier} 还没有交班：请先交班再签到"),
            Lang::En => format!("{cashier} has not handed over yet: hand over first, then sign in"),
        }
    }

    /// The ledger refused the handover: this order is not finished.
    pub fn handover_order_open(self, out_trade_no: &str) -> String {
        match self {
            Lang::Zh => {
                format!("不能交班：订单 {out_trade_no} 还没有结束。请等它付款完成或取消后再交班。")
            }
            Lang::En => format!(
                "Cannot hand over: order {out_trade_no} is not finished yet. Wait until it is paid or cancelled, then hand over."
            ),
        }
    }

    /// `小王 · 签到 09:05`.
    pub fn shift_line(self, cashier: &str, since: &str) -> String {
        match (self, cashier.is_empty()) {
            (Lang::Zh, false) => format!("收银员 {cashier} · {since} 签到"),
            (Lang::Zh, true) => format!("{since} 签到"),
            (Lang::En, false) => format!("Cashier {cashier} · signed in at {since}"),
            (Lang::En, true) => format!("Signed in at {since}"),
        }
    }

    /// `交班已记录：5 笔，净收入 ¥120.00` (without the amount when blind).
    pub fn handed_over(self, orders: u32, net: Option<&str>) -> String {
        match (self, net) {
            (Lang::Zh, Some(net)) => format!("交班已记录：收款 {orders} 笔，净收入 {net}"),
            (Lang::Zh, None) => format!("交班已记录：收款 {orders} 笔"),
            (Lang::En, Some(net)) => format!("Handover recorded: {orders} paid orders, net {net}"),
            (Lang::En, None) => format!("Handover recorded: {orders} paid orders"),
        }
    }

    /// `3 笔` / `3`: a count beside an amount.
    pub fn count(self, n: u32) -> String {
        match self {
            Lang::Zh => format!("{n} 笔"),
            Lang::En => n.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_words_in_both_languages() {
        for lang in [Lang::Zh, Lang::En] {
            for st in OrderStatus::ALL {
                assert!(!lang.status(st).is_empty());
                assert!(!lang.status_short(st).is_empty());
            }
        }
        assert_ne!(
            Lang::Zh.status(OrderStatus::Paid),
            Lang::En.status(OrderStatus::Paid)
        );
    }

    #[test]
    fn language_codes() {
        assert_eq!(Lang::from_code("en"), Lang::En);
        assert_eq!(Lang::from_code("zh"), Lang::Zh);
        assert_eq!(Lang::from_code(""), Lang::Zh);
        assert_eq!(Lang::Zh.other(), Lang::En);
    }
}
