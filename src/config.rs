//! The configuration file: one TOML file (see [`crate::paths::config_path`]), validated as a whole.
//!
//! No `[merchant]` section means sandbox mode. Every invalid value is reported with its line and what is
//! expected, all at once, and a half-valid file never starts live. The API key is kept in an
//! [`ApiKey`], whose `Debug` masks it; nothing here prints it in full.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::wxpay::{ApiKey, SignType};

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub store: Store,
    /// How long a QR code can be paid: 5 minutes to 2 hours.
    pub payment_window: Duration,
    pub language: Language,
    /// `None`: sandbox mode.
    pub merchant: Option<MerchantConfig>,
    pub notify: NotifyConfig,
    /// Where the embedded sandbox listens in sandbox mode.
    pub sandbox_listen: SocketAddr,
    /// Hour (0-23) at which a business day starts, for history and export.
    pub day_start_hour: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    pub name: String,
    /// Identifies this till: goes into order numbers and `device_info`. `[0-9A-Za-z]`, 1-8 characters.
    pub station: String,
    pub cashiers: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct MerchantConfig {
    pub appid: String,
    pub mch_id: String,
    pub key: ApiKey,
    pub sign_type: SignType,
    pub gateway: String,
    pub backup_gateway: Option<String>,
    /// `spbill_create_ip`: the IPv4 address of this machine as WeChat should see it.
    pub client_ip: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// The public https URL WeChat posts notifications to (through the shop's proxy or tunnel).
    pub url: Option<String>,
    /// Where PayDesk's notification listener listens.
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    Zh,
    En,
}

impl Config {
    pub fn is_sandbox(&self) -> bool {
        self.merchant.is_none()
    }

    /// The settings of a machine with no configuration file: sandbox mode.
    pub fn sandbox_default() -> Config {
        Config::from_raw(Raw::default(), "").expect("defaults are valid")
    }

    /// Load and validate the file; a missing file gives [`Config::sandbox_default`].
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes)
                    .map_err(|_| ConfigError::single(None, "file", "the file is not UTF-8 text"))?;
                Config::parse(&text)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::sandbox_default()),
            Err(e) => Err(ConfigError::single(
                None,
                "file",
                &format!("cannot read {}: {e}", path.display()),
            )),
        }
    }

    /// Load from [`crate::paths::config_path`].
    pub fn load_default() -> Result<Config, ConfigError> {
        Config::load(&crate::paths::config_path())
    }

    /// Parse and validate TOML text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_at(text, s.start));
            ConfigError::single(line, "syntax", e.message())
        })?;
        Config::from_raw(raw, text)
    }

    fn from_raw(raw: Raw, text: &str) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let mut bad = |section: &str, key: &str, msg: String| {
            problems.push(Problem {
                line: find_line(text, section, key),
                field: if section.is_empty() {
                    key.to_string()
                } else {
                    format!("{section}.{key}")
                },
                message: msg,
            });
        };

        let store = raw.store.unwrap_or_default();
        let name = store.name.unwrap_or_else(|| "PayDesk".into());
        if name.trim().is_empty() || name.chars().count() > 32 {
            bad(
                "store",
                "name",
                "expected a shop name of 1-32 characters".into(),
            );
        }
        let station = store.station.unwrap_or_else(|| "POS1".into());
        if station.is_empty()
            || station.len() > 8
            || !station.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            bad(
                "store",
                "station",
                format!(
                    "expected 1-8 letters or digits (it goes into order numbers), got {station:?}"
                ),
            );
        }
        let cashiers = store.cashiers.unwrap_or_default();
        if cashiers
            .iter()
            .any(|c| c.trim().is_empty() || c.chars().count() > 32)
        {
            bad(
                "store",
                "cashiers",
                "expected a list of names of 1-32 characters".into(),
            );
        }

        let payment = raw.payment.unwrap_or_default();
        let window = payment.window_minutes.unwrap_or(10);
        if !(6..=120).contains(&window) {
            bad(
                "payment",
                "window_minutes",
                format!(
                    "expected 6 to 120 minutes (WeChat needs at least 5, plus a margin for clock skew), got {window}"
                ),
            );
        }
        let language = match payment.language.as_deref().unwrap_or("zh") {
            "zh" | "zh-CN" => Language::Zh,
            "en" => Language::En,
            other => {
                bad(
                    "payment",
                    "language",
                    format!("expected \"zh\" or \"en\", got {other:?}"),
                );
                Language::Zh
            }
        };
        let day_start_hour = payment.day_start_hour.unwrap_or(0);
        if day_start_hour > 23 {
            bad(
                "payment",
                "day_start_hour",
                format!("expected an hour 0-23, got {day_start_hour}"),
            );
        }

        let merchant = raw.merchant.map(|m| {
            let appid = m.appid.unwrap_or_default();
            if !appid.starts_with("wx") || appid.len() != 18 || !appid.bytes().all(|b| b.is_ascii_alphanumeric()) {
                bad("merchant", "appid", "expected the 18-character appid bound to the merchant account, starting with \"wx\"".into());
            }
            let mch_id = m.mch_id.unwrap_or_default();
            if mch_id.is_empty() || mch_id.len() > 32 || !mch_id.bytes().all(|b| b.is_ascii_digit()) {
                bad("merchant", "mch_id", "expected the merchant number (digits)".into());
            }
            let key = m.key.unwrap_or_default();
            if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
                bad("merchant", "key", format!(
                    "expected the 32-character API v2 key (商户平台 → 账户中心 → API安全), got {} characters; not the APIv3 key, not the AppSecret",
                    key.chars().count()
                ));
            }
            let s = m.sign_type.as_deref().unwrap_or("HMAC-SHA256");
            let sign_type = SignType::parse(s).unwrap_or_else(|| {
                bad("merchant", "sign_type", format!("expected \"MD5\" or \"HMAC-SHA256\", got {s:?}"));
                SignType::HmacSha256
            });
            let gateway = m.gateway.unwrap_or_else(|| crate::wxpay::client::LIVE_PRIMARY.into());
            if !valid_base_url(&gateway) {
                bad("merchant", "gateway", format!("expected an http(s) base URL, got {gateway:?}"));
            }
            let backup_gateway = match m.backup_gateway {
                Some(b) if b.is_empty() => None,
                Some(b) => {
                    if !valid_base_url(&b) {
                        bad("merchant", "backup_gateway", format!("expected an http(s) base URL, got {b:?}"));
                    }
                    Some(b)
                }
                None if gateway == crate::wxpay::client::LIVE_PRIMARY => Some(crate::wxpay::client::LIVE_BACKUP.into()),
                None => None,
            };
            let client_ip = m.client_ip.unwrap_or_else(|| "127.0.0.1".into());
            if client_ip.parse::<std::net::Ipv4Addr>().is_err() {
                bad("merchant", "client_ip", format!("expected an IPv4 address, got {client_ip:?}"));
            }
            MerchantConfig {
                appid,
                mch_id,
                key: ApiKey::new(key),
                sign_type,
                gateway,
                backup_gateway,
                client_ip,
            }
        });

        let notify = raw.notify.unwrap_or_default();
        if let Some(url) = &notify.url
            && (!(url.starts_with("https://") || url.starts_with("http://"))
                || url.contains('?')
                || url.len() > 256)
        {
            bad(
                "notify",
                "url",
                "expected an absolute https URL without a query string, at most 256 characters"
                    .into(),
            );
        }
        let listen = match notify.listen.as_deref() {
            None => None,
            Some(s) => match s.parse::<SocketAddr>() {
                Ok(a) => Some(a),
                Err(_) => {
                    bad(
                        "notify",
                        "listen",
                        format!("expected an address like 127.0.0.1:8787, got {s:?}"),
                    );
                    None
                }
            },
        };
        if merchant.is_some() && notify.url.is_some() && listen.is_none() {
            bad(
                "notify",
                "listen",
                "notify.url is set, so PayDesk must listen somewhere for it: set notify.listen"
                    .into(),
            );
        }

        let sandbox = raw.sandbox.unwrap_or_default();
        let sandbox_listen = match sandbox
            .listen
            .as_deref()
            .unwrap_or(crate::sandbox_defaults::LISTEN)
            .parse::<SocketAddr>()
        {
            Ok(a) => a,
            Err(_) => {
                bad(
                    "sandbox",
                    "listen",
                    "expected an address like 127.0.0.1:7878".into(),
                );
                crate::sandbox_defaults::LISTEN
                    .parse()
                    .expect("valid default")
            }
        };

        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Config {
            store: Store {
                name,
                station,
                cashiers,
            },
            payment_window: Duration::from_secs(u64::from(window) * 60),
            language,
            merchant,
            notify: NotifyConfig {
                url: notify.url,
                listen,
            },
            sandbox_listen,
            day_start_hour,
        })
    }

    /// A few lines saying what PayDesk will do with these settings. Never shows the key in full.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "store: {} (station {})\n",
            self.store.name, self.store.station
        );
        match &self.merchant {
            None => s.push_str("mode: SANDBOX — no merchant configured, no real money moves\n"),
            Some(m) => {
                s.push_str(&format!(
                    "mode: LIVE — appid {}, mch_id {}, key {}, {}\ngateway: {}{}\n",
                    m.appid,
                    m.mch_id,
                    m.key.masked(),
                    m.sign_type,
                    m.gateway,
                    m.backup_gateway
                        .as_deref()
                        .map(|b| format!(" (backup {b})"))
                        .unwrap_or_default()
                ));
                match (&self.notify.url, self.notify.listen) {
                    (Some(u), Some(l)) => s.push_str(&format!("notifications: {u} → listening on {l}; orders are also polled\n")),
                    _ => s.push_str("notifications: none configured; payments are confirmed by polling the order query (enough on its own)\n"),
                }
            }
        }
        s.push_str(&format!(
            "payment window: {} minutes\n",
            self.payment_window.as_secs() / 60
        ));
        s
    }
}

fn valid_base_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://"))
        && s.len() > 8
        && !s.contains('?')
        && !s.contains(' ')
}

/// One invalid value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    pub field: String,
    pub message: String,
}

/// Every problem of a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl ConfigError {
    fn single(line: Option<usize>, field: &str, message: &str) -> ConfigError {
        ConfigError {
            problems: vec![Problem {
                line,
                field: field.into(),
                message: message.trim().into(),
            }],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid configuration ({} problem{}):",
            self.problems.len(),
            if self.problems.len() == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            match p.line {
                Some(l) => write!(f, "\n  line {l}: {}: {}", p.field, p.message)?,
                None => write!(f, "\n  {}: {}", p.field, p.message)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line of `key = …` inside `[section]` (1-based), or of the section header when the key is absent.
fn find_line(text: &str, section: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    let mut header = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            current = name.trim().to_string();
            if current == section {
                header = Some(i + 1);
            }
            continue;
        }
        if current == section
            && let Some((k, _)) = t.split_once('=')
            && k.trim() == key
        {
            return Some(i + 1);
        }
    }
    header
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    store: Option<RawStore>,
    payment: Option<RawPayment>,
    merchant: Option<RawMerchant>,
    notify: Option<RawNotify>,
    sandbox: Option<RawSandbox>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    name: Option<String>,
    station: Option<String>,
    cashiers: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPayment {
    window_minutes: Option<u32>,
    language: Option<String>,
    day_start_hour: Option<u8>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMerchant {
    appid: Option<String>,
    mch_id: Option<String>,
    key: Option<String>,
    sign_type: Option<String>,
    gateway: Option<String>,
    backup_gateway: Option<String>,
    client_ip: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotify {
    url: Option<String>,
    listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSandbox {
    listen: Option<String>,
}

/// The commented template `paydesk config init` writes.
pub const TEMPLATE: &str = r#"# PayDesk configuration.
# Without a [merchant] section PayDesk runs in SANDBOX mode: a built-in test gateway, no real money.

[store]
name = "我的小店"          # shown on the window and in order descriptions (body = 店名-商品)
station = "POS1"          # this till: 1-8 letters/digits, part of every order number
cashiers = ["收银员1"]      # names to choose from

[payment]
window_minutes = 10       # how long a QR code can be paid: 6-120
language = "zh"           # "zh" or "en"
day_start_hour = 0        # business day starts at this hour (e.g. 4 for shops open past midnight)

# To take real payments, uncomment and fill in [merchant] (see README, "Going live").
# [merchant]
# appid = "wx0000000000000000"      # the appid bound to your merchant account
# mch_id = "1230000000"             # 商户号
# key = "<32-character API v2 key>" # 商户平台 → 账户中心 → API安全 → API密钥 (not the APIv3 key)
# sign_type = "HMAC-SHA256"         # or "MD5"
# gateway = "https://api.mch.weixin.qq.com"
# backup_gateway = "https://api2.mch.weixin.qq.com"
# client_ip = "127.0.0.1"           # spbill_create_ip: this machine's IPv4 address

# Optional: payment notifications. Polling alone confirms payments; notifications make it faster.
# [notify]
# url = "https://shop.example.com/wxpay/notify"  # public https URL that your proxy/tunnel forwards to:
# listen = "127.0.0.1:8787"                      # PayDesk's notification listener

[sandbox]
listen = "127.0.0.1:7878"  # where the sandbox gateway and its customer page run
"#;

/// Write the template to `path` with mode 0600 (owner only). Refuses to overwrite unless `force`.
pub fn write_template(path: &Path, force: bool) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    let mut f = opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    // Windows users open it in Notepad and friends: give them Windows line ends (TOML reads both).
    #[cfg(windows)]
    let text = TEMPLATE.replace('\n', "\r\n");
    #[cfg(not(windows))]
    let text = TEMPLATE;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[store]
name = "小张南山店"
station = "POS1"

[merchant]
appid = "wxd930ea5d5a258f4f"
mch_id = "10000100"
key = "192006250b4c09247ec02edce69f6a2d"
sign_type = "MD5"
"#;

    #[test]
    fn template_is_valid_sandbox() {
        let c = Config::parse(TEMPLATE).unwrap();
        assert!(c.is_sandbox());
        assert_eq!(c.payment_window, Duration::from_secs(600));
        assert!(Config::sandbox_default().is_sandbox());
    }

    #[test]
    fn live_config_with_defaults() {
        let c = Config::parse(GOOD).unwrap();
        let m = c.merchant.as_ref().unwrap();
        assert_eq!(m.sign_type, SignType::Md5);
        assert_eq!(m.gateway, "https://api.mch.weixin.qq.com");
        assert_eq!(
            m.backup_gateway.as_deref(),
            Some("https://api2.mch.weixin.qq.com")
        );
        let summary = c.summary();
        assert!(summary.contains("LIVE"));
        assert!(
            !summary.contains("192006250b4c09247ec02edce69f6a2d"),
            "key shown: {summary}"
        );
        assert!(!format!("{c:?}").contains("192006250b4c09247ec02edce69f6a2d"));
    }

    #[test]
    fn every_bad_value_is_reported_with_its_line() {
        let text = "[store]\nstation = \"POS 1!\"\n[payment]\nwindow_minutes = 3\nlanguage = \"fr\"\n[merchant]\nappid = \"abc\"\nmch_id = \"10000100\"\nkey = \"short\"\nsign_type = \"SHA1\"\n";
        let e = Config::parse(text).unwrap_err();
        let fields: Vec<(Option<usize>, &str)> = e
            .problems
            .iter()
            .map(|p| (p.line, p.field.as_str()))
            .collect();
        assert_eq!(
            fields,
            vec![
                (Some(2), "store.station"),
                (Some(4), "payment.window_minutes"),
                (Some(5), "payment.language"),
                (Some(7), "merchant.appid"),
                (Some(9), "merchant.key"),
                (Some(10), "merchant.sign_type"),
            ]
        );
        let shown = e.to_string();
        assert!(
            shown.contains("line 9: merchant.key: expected the 32-character API v2 key"),
            "{shown}"
        );
    }

    #[test]
    fn syntax_and_unknown_fields_have_lines() {
        let e = Config::parse("[store]\nname = \"a\"\nstaton = \"x\"\n").unwrap_err();
        assert_eq!(e.problems[0].line, Some(3));
        assert!(e.problems[0].message.contains("staton"), "{e}");
        let e = Config::parse("[store]\nname = \n").unwrap_err();
        assert_eq!(e.problems[0].line, Some(2));
    }

    #[test]
    fn template_file_is_private_and_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/paydesk.toml");
        write_template(&p, false).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(write_template(&p, false).is_err());
        write_template(&p, true).unwrap();
        assert!(Config::load(&p).unwrap().is_sandbox());
        let written = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            written.contains("\r\n"),
            cfg!(windows),
            "CRLF on Windows only"
        );
        assert!(
            Config::load(&dir.path().join("missing.toml"))
                .unwrap()
                .is_sandbox()
        );
    }
}
