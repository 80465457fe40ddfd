//! The `[printer]` section of the configuration file: the raw TOML shape ([`PrinterSection`]) and the
//! validated settings ([`PrinterConfig`]).
//!
//! Validation reports every bad key at once, as `(key, message)` pairs, so the configuration loader can
//! add the line numbers and merge them with its own problems. This module does not read files.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::document::{Paper, Style};
use super::escpos::{DrawerPin, QrMode};
use super::transport::{Printer, Target, with_default_port};

/// The device file of the first USB printer under Linux.
pub const DEFAULT_DEVICE: &str = "/dev/usb/lp0";

/// `[printer]` as written in the file. Every key is optional; [`PrinterSection::validate`] fills in
/// defaults and checks the values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterSection {
    /// `"tcp"`, `"device"` or `"file"`.
    pub kind: Option<String>,
    /// `host:port` of a network printer (kind = "tcp"); the port defaults to 9100.
    pub address: Option<String>,
    /// The device (`/dev/usb/lp0`, the default for kind = "device") or file (kind = "file").
    pub path: Option<String>,
    /// Paper width in mm: 58 or 80 (default).
    pub width: Option<u16>,
    /// Characters per line when the printer's self-test page differs from the usual 32 / 48.
    pub columns: Option<u16>,
    /// `"raster"` (default: works on every printer) or `"native"` (the printer's own QR command).
    pub qr: Option<String>,
    /// Print the receipt as soon as a sale is paid (default false: a button prints it).
    pub auto_print: Option<bool>,
    /// Open the cash drawer when a sale is paid (default false).
    pub drawer_kick: Option<bool>,
    /// The drawer's pin: 2 (default, almost every drawer) or 5.
    pub drawer_pin: Option<u8>,
    /// Seconds to wait for the printer to connect or take data: 1-60, default 5.
    pub timeout_seconds: Option<u64>,
    /// Ask a network printer for paper and cover status before each job (default true). A printer that
    /// never answers still prints, a second later; turn this off for such a printer.
    pub check_status: Option<bool>,
}

/// Validated printer settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterConfig {
    pub target: Target,
    pub style: Style,
    pub auto_print: bool,
    /// `Some(pin)`: open the drawer on that pin when a sale is paid.
    pub drawer_kick: Option<DrawerPin>,
    pub timeout: Duration,
    pub check_status: bool,
}

impl PrinterConfig {
    /// The printer these settings describe.
    pub fn printer(&self) -> Printer {
        Printer::new(self.target.clone(), self.timeout).with_status_check(self.check_status)
    }
}

/// One bad value in `[printer]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingProblem {
    /// The key inside `[printer]`, e.g. `"address"`.
    pub key: &'static str,
    pub message: String,
}

impl PrinterSection {
    /// Check every value; all problems at once.
    pub fn validate(self) -> Result<PrinterConfig, Vec<SettingProblem>> {
        let mut problems = Vec::new();
        let mut bad =
            |key: &'static str, message: String| problems.push(SettingProblem { key, message });

        let path = self.path.filter(|p| !p.trim().is_empty());
        let target = match self.kind.as_deref().unwrap_or("tcp") {
            "tcp" => match self.address.as_deref().map(str::trim) {
                Some(a) if valid_host_port(a) => Some(Target::tcp(a)),
                Some(a) => {
                    bad(
                        "address",
                        format!(
                            "expected a network printer address like \"192.168.1.50:9100\", got {a:?}"
                        ),
                    );
                    None
                }
                None => {
                    bad(
                        "address",
                        "kind = \"tcp\" needs the printer's address, like \"192.168.1.50:9100\" (its self-test page shows the IP)"
                            .into(),
                    );
                    None
                }
            },
            "device" => Some(Target::Device {
                path: PathBuf::from(path.unwrap_or_else(|| DEFAULT_DEVICE.into())),
            }),
            "file" => match path {
                Some(p) => Some(Target::File {
                    path: PathBuf::from(p),
                }),
                None => {
                    bad(
                        "path",
                        "kind = \"file\" needs a path to write jobs to".into(),
                    );
                    None
                }
            },
            other => {
                bad(
                    "kind",
                    format!(
                        "expected \"tcp\" (network printer), \"device\" (USB, /dev/usb/lp0) or \"file\", got {other:?}"
                    ),
                );
                None
            }
        };

        let width = self.width.unwrap_or(80);
        let paper = Paper::from_mm(width).unwrap_or_else(|| {
            bad(
                "width",
                format!("expected paper width 58 or 80 (mm), got {width}"),
            );
            Paper::default()
        });
        let columns = match self.columns {
            None => paper.columns(),
            Some(c) if (24..=64).contains(&c) => usize::from(c),
            Some(c) => {
                bad(
                    "columns",
                    format!(
                        "expected 24 to 64 characters per line (58 mm: 32, 80 mm: 48), got {c}"
                    ),
                );
                paper.columns()
            }
        };
        let qr = match self.qr.as_deref().unwrap_or("raster") {
            "raster" => QrMode::Raster,
            "native" => QrMode::Native,
            other => {
                bad(
                    "qr",
                    format!(
                        "expected \"raster\" (any printer) or \"native\" (printers with GS ( k), got {other:?}"
                    ),
                );
                QrMode::Raster
            }
        };
        let pin = match self.drawer_pin.unwrap_or(2) {
            2 => DrawerPin::Pin2,
            5 => DrawerPin::Pin5,
            other => {
                bad("drawer_pin", format!("expected 2 or 5, got {other}"));
                DrawerPin::Pin2
            }
        };
        let timeout = self.timeout_seconds.unwrap_or(5);
        if !(1..=60).contains(&timeout) {
            bad(
                "timeout_seconds",
                format!("expected 1 to 60 seconds, got {timeout}"),
            );
        }

        match target {
            Some(target) if problems.is_empty() => Ok(PrinterConfig {
                target,
                style: Style {
                    columns,
                    qr,
                    ..Style::new(paper)
                },
                auto_print: self.auto_print.unwrap_or(false),
                drawer_kick: self.drawer_kick.unwrap_or(false).then_some(pin),
                timeout: Duration::from_secs(timeout),
                check_status: self.check_status.unwrap_or(true),
            }),
            _ => Err(problems),
        }
    }
}

fn valid_host_port(address: &str) -> bool {
    if address.is_empty() || address.contains(char::is_whitespace) || address.contains('/') {
        return false;
    }
    let full = with_default_port(address);
    match full.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    }
}

/// A commented `[printer]` section for the configuration template.
pub const TEMPLATE: &str = r#"# Optional: a receipt printer (ESC/POS thermal, 58 or 80 mm).
# [printer]
# kind = "tcp"                  # "tcp" (network, port 9100), "device" (USB: /dev/usb/lp0) or "file"
# address = "192.168.1.50:9100" # kind = "tcp": the IP on the printer's self-test page
# path = "/dev/usb/lp0"         # kind = "device" or "file" (the user must be in group lp for the device)
# width = 80                    # paper width in mm: 58 or 80
# qr = "raster"                 # "raster" works everywhere; "native" if the printer has its own QR command
# auto_print = true             # print the receipt as soon as a sale is paid
# drawer_kick = false           # open the cash drawer when a sale is paid
# timeout_seconds = 5
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<PrinterConfig, Vec<SettingProblem>> {
        #[derive(Deserialize)]
        struct File {
            printer: PrinterSection,
        }
        toml::from_str::<File>(text)
            .expect("toml")
            .printer
            .validate()
    }

    #[test]
    fn a_network_printer_with_defaults() {
        let c = parse("[printer]\naddress = \"192.168.1.50\"\n").unwrap();
        assert_eq!(
            c.target,
            Target::Tcp {
                address: "192.168.1.50:9100".into()
            }
        );
        assert_eq!(c.style, Style::new(Paper::Mm80));
        assert_eq!(c.style.qr, QrMode::Raster);
        assert!(!c.auto_print && c.check_status);
        assert_eq!(c.drawer_kick, None);
        assert_eq!(c.timeout, Duration::from_secs(5));
    }

    #[test]
    fn every_key() {
        let c = parse(
            r#"[printer]
kind = "device"
width = 58
columns = 30
qr = "native"
auto_print = true
drawer_kick = true
drawer_pin = 5
timeout_seconds = 10
check_status = false
"#,
        )
        .unwrap();
        assert_eq!(
            c.target,
            Target::Device {
                path: DEFAULT_DEVICE.into()
            }
        );
        assert_eq!(
            (c.style.paper, c.style.columns, c.style.qr),
            (Paper::Mm58, 30, QrMode::Native)
        );
        assert!(c.auto_print && !c.check_status);
        assert_eq!(c.drawer_kick, Some(DrawerPin::Pin5));
        assert_eq!(c.printer().target(), &c.target);
    }

    #[test]
    fn the_template_parses_once_uncommented() {
        let text: String = TEMPLATE
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| l.starts_with('[') || l.contains(" = "))
            .collect::<Vec<_>>()
            .join("\n");
        let c = parse(&text).unwrap();
        assert!(matches!(c.target, Target::Tcp { .. }));
    }

    #[test]
    fn reports_every_bad_value_by_key() {
        let problems = parse(
            r#"[printer]
kind = "tcp"
address = "192.168.1.50:99999"
width = 76
columns = 100
qr = "svg"
drawer_pin = 3
timeout_seconds = 0
"#,
        )
        .unwrap_err();
        let keys: Vec<_> = problems.iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "address",
                "width",
                "columns",
                "qr",
                "drawer_pin",
                "timeout_seconds"
            ]
        );
        assert!(problems[0].message.contains("192.168.1.50:9100"));

        let keys = |t: &str| {
            parse(t)
                .unwrap_err()
                .into_iter()
                .map(|p| p.key)
                .collect::<Vec<_>>()
        };
        assert_eq!(keys("[printer]\n"), ["address"]);
        assert_eq!(keys("[printer]\nkind = \"file\"\n"), ["path"]);
        assert_eq!(keys("[printer]\nkind = \"usb\"\n"), ["kind"]);
        assert!(toml::from_str::<PrinterSection>("adress = \"x\"").is_err());
    }
}
