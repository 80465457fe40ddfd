//! The counter's sections of the configuration file: `[window]` (how the cashier window starts),
//! `[customer_display]` (the second, customer-facing window) and `[printer]` (checked by
//! [`crate::printer::PrinterSection::validate`]). Each check returns its problems as `(section, key,
//! message)`, for `check` to add the line numbers. Not here: drawing windows or printing.

use serde::Deserialize;

use crate::printer::{PrinterConfig, PrinterSection};

/// How the cashier window opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WindowStart {
    /// The saved size (1280×800 the first time).
    #[default]
    Normal,
    Maximized,
    /// Full screen on the monitor it opens on (F11 leaves and re-enters it).
    Fullscreen,
}

/// The customer-facing window (客显/副屏).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerDisplay {
    /// Which monitor, in the system's order (0 = the first). An index the system does not have leaves
    /// the window where the system puts it.
    pub monitor: usize,
}

/// A problem: `(section, key, message)`.
pub(super) type Bad = (&'static str, &'static str, String);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWindow {
    start: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCustomerDisplay {
    enabled: Option<bool>,
    monitor: Option<u32>,
}

/// `[window]`: `start = "normal" | "maximized" | "fullscreen"`.
pub(super) fn check_window(w: RawWindow, bad: &mut Vec<Bad>) -> WindowStart {
    match w.start.as_deref() {
        None | Some("normal") => WindowStart::Normal,
        Some("maximized") => WindowStart::Maximized,
        Some("fullscreen") => WindowStart::Fullscreen,
        Some(other) => {
            bad.push((
                "window",
                "start",
                format!("expected \"normal\", \"maximized\" or \"fullscreen\", got {other:?}"),
            ));
            WindowStart::Normal
        }
    }
}

/// `[customer_display]`: off unless `enabled = true`; `monitor` 0-15, default 1 (the second screen).
pub(super) fn check_customer_display(
    c: RawCustomerDisplay,
    bad: &mut Vec<Bad>,
) -> Option<CustomerDisplay> {
    let monitor = c.monitor.unwrap_or(1);
    if monitor > 15 {
        bad.push((
            "customer_display",
            "monitor",
            format!("expected a monitor number 0-15 (0 = the first screen), got {monitor}"),
        ));
    }
    c.enabled.unwrap_or(false).then_some(CustomerDisplay {
        monitor: monitor.min(15) as usize,
    })
}

/// `[printer]`: absent means no printer.
pub(super) fn check_printer(
    p: Option<PrinterSection>,
    bad: &mut Vec<Bad>,
) -> Option<PrinterConfig> {
    match p?.validate() {
        Ok(c) => Some(c),
        Err(problems) => {
            bad.extend(problems.into_iter().map(|p| ("printer", p.key, p.message)));
            None
        }
    }
}

/// The counter's lines of [`super::Config::summary`]: the window, the customer display, the printer.
pub(super) fn summary(c: &super::Config) -> String {
    let mut s = String::new();
    match c.window_start {
        WindowStart::Normal => {}
        WindowStart::Maximized => s.push_str("window: starts maximized\n"),
        WindowStart::Fullscreen => s.push_str("window: starts full screen (F11 leaves it)\n"),
    }
    if let Some(d) = c.customer_display {
        s.push_str(&format!("customer display: on monitor {}\n", d.monitor));
    }
    match &c.printer {
        None => s.push_str("printer: none\n"),
        Some(p) => s.push_str(&format!(
            "printer: {} ({} mm){}{}\n",
            p.target,
            p.style.paper.mm(),
            if p.auto_print {
                ", prints each paid sale"
            } else {
                ", prints on request"
            },
            if p.drawer_kick.is_some() {
                ", opens the drawer"
            } else {
                ""
            }
        )),
    }
    s
}

/// The commented sections for the configuration template.
pub(super) const TEMPLATE: &str = r#"
# The cashier window: "normal", "maximized" or "fullscreen" (F11 switches full screen at any time).
[window]
start = "normal"

# Optional: a second, customer-facing screen (客显) showing the sale, the QR code and "paid".
# [customer_display]
# enabled = true
# monitor = 1                   # which screen: 0 = the first, 1 = the second (the system's order)
"#;

#[cfg(test)]
mod tests {
    use crate::config::{Config, WindowStart};

    #[test]
    fn counter_sections_parse_with_defaults_and_lines() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.window_start, WindowStart::Normal);
        assert_eq!(c.customer_display, None);
        assert!(c.printer.is_none());
        let c = Config::parse(
            "[window]\nstart = \"fullscreen\"\n[customer_display]\nenabled = true\n[printer]\nkind = \"file\"\npath = \"/tmp/x.bin\"\nauto_print = true\n",
        )
        .unwrap();
        assert_eq!(c.window_start, WindowStart::Fullscreen);
        assert_eq!(c.customer_display.unwrap().monitor, 1);
        assert!(
            c.summary()
                .contains("printer: /tmp/x.bin (80 mm), prints each paid sale\n")
        );
        assert!(c.summary().contains("customer display: on monitor 1\n"));
        assert!(c.printer.unwrap().auto_print);
        let e = Config::parse(
            "[window]\nstart = \"big\"\n[customer_display]\nmonitor = 99\n[printer]\nkind = \"tcp\"\naddress = \"a b\"\n",
        )
        .unwrap_err();
        let fields: Vec<(Option<usize>, &str)> = e
            .problems
            .iter()
            .map(|p| (p.line, p.field.as_str()))
            .collect();
        assert_eq!(
            fields,
            vec![
                (Some(2), "window.start"),
                (Some(4), "customer_display.monitor"),
                (Some(7), "printer.address"),
            ]
        );
    }
}
