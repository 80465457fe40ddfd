//! The day report screen's words (日结), in Simplified Chinese and English, and the history's day summary
//! net of refunds. Kept apart from the main table in [`super::i18n`] (reached through [`Lang::report`]) so the
//! screens added side by side do not edit the same lines.

use super::i18n::Lang;

/// The fixed texts of the day report screen.
#[derive(Debug)]
pub struct ReportTexts {
    pub nav: &'static str,
    pub title: &'static str,
    pub received: &'static str,
    pub refunds: &'static str,
    pub net: &'static str,
    pub wechat_fee: &'static str,
    pub fee_unknown: &'static str,
    pub reconciliation: &'static str,
    pub by_status: &'static str,
    pub by_cashier: &'static str,
    pub by_station: &'static str,
    pub col_cashier: &'static str,
    pub col_station: &'static str,
    pub col_paid_orders: &'static str,
    pub col_received: &'static str,
    pub col_refunded: &'static str,
    pub col_net: &'static str,
    pub no_orders: &'static str,
    pub by_hour: &'static str,
    pub last_days: &'static str,
    pub export_csv: &'static str,
    pub export_title: &'static str,
    pub print: &'static str,
    pub no_printer: &'static str,
    pub exporting: &'static str,
    pub export_cancelled: &'static str,
    pub export_failed: &'static str,
    pub nobody: &'static str,
}

pub static REPORT_ZH: ReportTexts = ReportTexts {
    nav: "日结",
    title: "日结",
    received: "收款",
    refunds: "退款",
    net: "净额",
    wechat_fee: "微信手续费",
    fee_unknown: "对账后可见",
    reconciliation: "对账",
    by_status: "订单状态",
    by_cashier: "按收银员",
    by_station: "按收银台",
    col_cashier: "收银员",
    col_station: "收银台",
    col_paid_orders: "收款笔数",
    col_received: "收款",
    col_refunded: "退款",
    col_net: "净额",
    no_orders: "这一天没有订单。",
    by_hour: "每小时净收款（元）",
    last_days: "近 30 天净收款（元）",
    export_csv: "导出日结 CSV…",
    export_title: "导出日结",
    print: "打印日结",
    no_printer: "未配置小票打印机",
    exporting: "正在导出…",
    export_cancelled: "未选择文件，未导出。",
    export_failed: "导出失败",
    nobody: "（未填写）",
};

pub static REPORT_EN: ReportTexts = ReportTexts {
    nav: "Day report",
    title: "Day report",
    received: "Received",
    refunds: "Refunds",
    net: "Net",
    wechat_fee: "WeChat fee",
    fee_unknown: "after reconciliation",
    reconciliation: "Reconciliation",
    by_status: "Orders by status",
    by_cashier: "By cashier",
    by_station: "By station",
    col_cashier: "Cashier",
    col_station: "Station",
    col_paid_orders: "Paid orders",
    col_received: "Received",
    col_refunded: "Refunded",
    col_net: "Net",
    no_orders: "No orders on this day.",
    by_hour: "Net takings by hour (¥)",
    last_days: "Net takings, last 30 days (¥)",
    export_csv: "Export report CSV…",
    export_title: "Export the day report",
    print: "Print report",
    no_printer: "no receipt printer configured",
    exporting: "Exporting…",
    export_cancelled: "No file chosen, nothing exported.",
    export_failed: "Export failed",
    nobody: "(none)",
};

impl Lang {
    /// `3 笔`, `3 orders`.
    pub fn orders_count(self, n: u32) -> String {
        match self {
            Lang::Zh => format!("{n} 笔"),
            Lang::En if n == 1 => "1 order".into(),
            Lang::En => format!("{n} orders"),
        }
    }

    /// The history's count line: `共 6 笔订单，其中 4 笔已收款`.
    pub fn day_orders_line(self, orders: usize, received: usize) -> String {
        match self {
            Lang::Zh => format!("共 {orders} 笔订单，其中 {received} 笔已收款"),
            Lang::En => format!("{orders} orders, {received} received money"),
        }
    }

    /// The history's day summary, net of refunds.
    pub fn day_sums_line(self, received: &str, refunded: &str, net: &str) -> String {
        match self {
            Lang::Zh => format!("收款 {received} · 退款 {refunded} · 净额 {net}"),
            Lang::En => format!("Received {received} · refunded {refunded} · net {net}"),
        }
    }

    /// The report was written to `path`.
    pub fn report_exported(self, path: &str) -> String {
        match self {
            Lang::Zh => format!("已导出到 {path}"),
            Lang::En => format!("Exported to {path}"),
        }
    }

    /// The reconciliation's state in words.
    pub fn reconciled(self, r: crate::app::window::Reconciled) -> String {
        use crate::app::window::Reconciled::*;
        match (self, r) {
            (Lang::Zh, NotRun) => "未对账".into(),
            (Lang::En, NotRun) => "not reconciled yet".into(),
            (Lang::Zh, NoBill) => "无账单（当天没有微信交易）".into(),
            (Lang::En, NoBill) => "no bill (no WeChat trade that day)".into(),
            (Lang::Zh, Matched { matched }) => format!("一致（{matched} 笔）"),
            (Lang::En, Matched { matched }) => format!("matched ({matched})"),
            (
                Lang::Zh,
                Differences {
                    differences,
                    unexplained: 0,
                },
            ) => format!("{differences} 处差异，均已说明"),
            (
                Lang::En,
                Differences {
                    differences,
                    unexplained: 0,
                },
            ) => format!("{differences} differences, all explained"),
            (
                Lang::Zh,
                Differences {
                    differences,
                    unexplained,
                },
            ) => format!("{differences} 处差异，{unexplained} 处未说明"),
            (
                Lang::En,
                Differences {
                    differences,
                    unexplained,
                },
            ) => format!("{differences} differences, {unexplained} unexplained"),
        }
    }
}
