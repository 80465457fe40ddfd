//! The configuration file: one TOML file (see [`crate::paths::config_path`]), validated as a whole.
//!
//! No `[merchant]` section means sandbox mode. Every invalid value is reported with its line and what is
//! expected, all at once, and a half-valid file never starts live. The API key is kept in an
//! [`ApiKey`], whose `Debug` masks it; nothing here prints it in full.
//!
//! The checks themselves, one function per section, are in `check`.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::wxpay::{ApiKey, SignType};

mod check;
mod counter;
mod shift;

pub use counter::{CustomerDisplay, WindowStart};
pub use shift::ShiftConfig;

use check::Raw;

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
    /// `[window] start`: normal, maximized or full screen.
    pub window_start: WindowStart,
    /// `[customer_display]`: `Some` when enabled.
    pub customer_display: Option<CustomerDisplay>,
    /// `[printer]`: `None` when no printer is configured.
    pub printer: Option<crate::printer::PrinterConfig>,
    /// `[manager] pin_hash`: the manager PIN's Argon2id hash (PHC string), written by
    /// `paydesk config set-manager-pin`; `None`: live refunds are refused, the sandbox's PIN is 0000.
    pub manager_pin_hash: Option<String>,
    /// `[shift]`: the blind handover, the cashiers' sign-in PIN hashes.
    pub shift: ShiftConfig,
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
    /// The merchant API certificate refunds need (`cert`, plus `cert_key` for a PEM pair); `None`: refunds
    /// are refused until it is set.
    pub cert: Option<crate::wxpay::cert::CertSource>,
}

impl MerchantConfig {
    /// A gateway other than WeChat Pay's own (a test gateway, another implementation): "test gateway" mode,
    /// said instead of LIVE.
    pub fn is_test_gateway(&self) -> bool {
        !check::is_wechat_gateway(&self.gateway)
    }
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
        check::from_raw(Raw::default(), "").expect("defaults are valid")
    }

    /// Load and validate the file; a missing file gives [`Config::sandbox_default`].
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes)
                    .map_err(|_| ConfigError::single(None, "file", "the file is not UTF-8 text"))?;
                let config = Config::parse(&text)?;
                if !config.is_sandbox() {
                    check::key_file_private(path)?;
                }
                Ok(config)
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
        check::from_raw(raw, text)
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
                    "mode: {} — appid {}, mch_id {}, key {}, {}\ngateway: {}{}\n",
                    if m.is_test_gateway() {
                        "TEST GATEWAY (not WeChat Pay's own gateway: no real money unless it forwards to WeChat)"
                    } else {
                        "LIVE"
                    },
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
        s.push_str(&counter::summary(self));
        s.push_str(&shift::summary(&self.store.cashiers, &self.shift));
        s.push_str(match (&self.manager_pin_hash, self.is_sandbox()) {
            (Some(_), _) => "manager PIN: set (refunds need it)\n",
            (None, true) => {
                "manager PIN: not set — in sandbox mode it is 0000 (set one with `paydesk config set-manager-pin`)\n"
            }
            (None, false) => {
                "manager PIN: not set — refunds are refused until `paydesk config set-manager-pin`\n"
            }
        });
        s
    }
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

/// The commented template `paydesk config init` writes: the core sections, the
/// window and customer display, then the printer.
pub static TEMPLATE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    [
        CORE_TEMPLATE,
        shift::TEMPLATE,
        counter::TEMPLATE,
        "\n",
        crate::printer::config::TEMPLATE,
    ]
    .concat()
});

/// The core sections of the template: store, payment, merchant, notifications, sandbox.
const CORE_TEMPLATE: &str = r#"# PayDesk configuration.
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
# cert = "/path/to/apiclient_cert.p12"  # merchant API certificate, needed for refunds (p12 password = mch_id)
# cert_key = "/path/to/apiclient_key.pem"  # only with cert = "…/apiclient_cert.pem" (the PEM pair)

# Optional: payment notifications. Polling alone confirms payments; notifications make it faster.
# [notify]
# url = "https://shop.example.com/wxpay/notify"  # public https URL that your proxy/tunnel forwards to:
# listen = "127.0.0.1:8787"                      # PayDesk's notification listener

[sandbox]
listen = "127.0.0.1:7878"  # where the sandbox gateway and its customer page run

# Refunds need the manager's PIN. `paydesk config set-manager-pin` writes its salted hash here (never the
# PIN). Without one, live refunds are refused; in sandbox mode the PIN is 0000.
# [manager]
# pin_hash = "$argon2id$v=19$…"
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
    let text: &str = &TEMPLATE;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// Whose PIN a hash belongs to, in the configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinOwner<'a> {
    /// `[manager] pin_hash`: refunds need it.
    Manager,
    /// `[shift.cashier_pins] "NAME"`: this cashier's sign-in PIN. The name must be in `[store] cashiers`.
    Cashier(&'a str),
}

/// Store the manager PIN's hash (a PHC string) as `[manager] pin_hash`: see [`set_pin_hash`].
pub fn set_manager_pin_hash(path: &Path, phc: &str) -> Result<(), String> {
    set_pin_hash(path, PinOwner::Manager, phc)
}

/// Store a PIN's hash (a PHC string) where `owner`'s belongs in the configuration file at `path`, keeping
/// everything else in it as it was (comments, order, other sections); a missing file starts from the
/// template. The result is checked like any configuration before it replaces the file, atomically and
/// owner-only (mode 0600), so a failure leaves the old file untouched.
pub fn set_pin_hash(path: &Path, owner: PinOwner<'_>, phc: &str) -> Result<(), String> {
    let text = match std::fs::read(path) {
        Ok(bytes) => {
            String::from_utf8(bytes).map_err(|_| "the file is not UTF-8 text".to_string())?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::clone(&TEMPLATE),
        Err(e) => return Err(format!("cannot read it: {e}")),
    };
    let before = Config::parse(&text).map_err(|e| format!("fix the file first ({e})"))?;
    let mut doc = text
        .parse::<toml_edit::DocumentMut>()
        .map_err(|e| e.to_string())?;
    match owner {
        PinOwner::Manager => {
            if !doc.contains_table("manager") {
                let mut table = toml_edit::Table::new();
                table.decor_mut().set_prefix("\n# The manager PIN's salted hash (`paydesk config set-manager-pin`); never the PIN.\n");
                doc.insert("manager", toml_edit::Item::Table(table));
            }
            doc["manager"]["pin_hash"] = toml_edit::value(phc);
        }
        PinOwner::Cashier(name) => {
            if !before.store.cashiers.iter().any(|c| c == name) {
                return Err(format!(
                    "{name:?} is not in [store] cashiers ({}): add them to the list first",
                    before.store.cashiers.join(", ")
                ));
            }
            if !doc.contains_table("shift") {
                // Only there to hold [shift.cashier_pins]: not written as a header of its own.
                let mut table = toml_edit::Table::new();
                table.set_implicit(true);
                doc.insert("shift", toml_edit::Item::Table(table));
            }
            let shift = doc["shift"]
                .as_table_mut()
                .ok_or("[shift] is not a table")?;
            if !shift.contains_key("cashier_pins") {
                let mut table = toml_edit::Table::new();
                table.decor_mut().set_prefix(
                    "\n# Cashiers' sign-in PINs, salted hashes (`paydesk config set-cashier-pin NAME`); never the PIN.\n",
                );
                shift.insert("cashier_pins", toml_edit::Item::Table(table));
            }
            shift["cashier_pins"][name] = toml_edit::value(phc);
        }
    }
    let new = doc.to_string();
    let checked = Config::parse(&new).map_err(|e| e.to_string())?;
    let landed = match owner {
        PinOwner::Manager => checked.manager_pin_hash.as_deref(),
        PinOwner::Cashier(name) => checked.shift.pin_hash(name),
    };
    if landed != Some(phc) {
        return Err("the hash did not land where it belongs".into());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    crate::fsutil::write_atomically(path, |tmp| {
        use std::io::Write;
        // One handle that can write: Windows refuses to flush a file opened read-only ("Access denied").
        let mut file = std::fs::File::create(tmp)?;
        file.write_all(new.as_bytes())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        file.sync_all()
    })
    .map_err(|e| e.to_string())
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
        let c = Config::parse(&TEMPLATE).unwrap();
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

    #[test]
    fn a_gateway_that_is_not_wechats_is_test_gateway_mode() {
        let c = Config::parse(GOOD).unwrap();
        assert!(!c.merchant.as_ref().unwrap().is_test_gateway());
        let c = Config::parse(&format!("{GOOD}gateway = \"http://127.0.0.1:7878\"\n")).unwrap();
        assert!(c.merchant.as_ref().unwrap().is_test_gateway());
        let summary = c.summary();
        assert!(summary.contains("mode: TEST GATEWAY"), "{summary}");
        assert!(!summary.contains("LIVE"), "{summary}");
    }

    #[test]
    fn live_mode_refuses_plain_http_off_this_machine() {
        for (extra, field) in [
            ("gateway = \"http://pay.example.com\"\n", "merchant.gateway"),
            (
                "gateway = \"https://api.mch.weixin.qq.com\"\nbackup_gateway = \"http://10.0.0.2:80\"\n",
                "merchant.backup_gateway",
            ),
            (
                "[notify]\nurl = \"http://shop.example/wxpay/notify\"\nlisten = \"127.0.0.1:8787\"\n",
                "notify.url",
            ),
        ] {
            let e = Config::parse(&format!("{GOOD}{extra}")).unwrap_err();
            assert_eq!(e.problems.len(), 1, "{e}");
            assert_eq!(e.problems[0].field, field);
            assert!(e.problems[0].message.contains("https://"), "{e}");
        }
        for ok in [
            "gateway = \"http://127.0.0.1:7878\"\n",
            "gateway = \"http://[::1]:7878\"\n",
            "gateway = \"http://localhost:7878\"\n",
            "[notify]\nurl = \"http://127.0.0.1:8787/wxpay/notify\"\nlisten = \"127.0.0.1:8787\"\n",
        ] {
            Config::parse(&format!("{GOOD}{ok}")).unwrap();
        }
        // Sandbox mode may announce any notify URL.
        Config::parse("[notify]\nurl = \"http://shop.example/n\"\n").unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_key_readable_by_others_refuses_live_and_names_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("paydesk.toml");
        std::fs::write(&p, GOOD).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Config::load(&p).unwrap_err().to_string();
        assert!(e.contains(&format!("chmod 600 {}", p.display())), "{e}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(!Config::load(&p).unwrap().is_sandbox());
        // No key, nothing to protect: sandbox mode does not care.
        std::fs::write(&p, "[store]\nname = \"a\"\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(Config::load(&p).unwrap().is_sandbox());
    }

    const HASH: &str = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA";

    #[test]
    fn the_manager_pin_hash_is_written_into_the_file_keeping_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("paydesk.toml");
        std::fs::write(
            &p,
            "# my shop\n[store]\nname = \"小张\" # the sign\nstation = \"POS2\"\n",
        )
        .unwrap();
        set_manager_pin_hash(&p, HASH).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.starts_with("# my shop\n[store]\nname = \"小张\" # the sign\n"),
            "{text}"
        );
        let c = Config::load(&p).unwrap();
        assert_eq!(c.manager_pin_hash.as_deref(), Some(HASH));
        assert_eq!(c.store.station, "POS2");
        assert!(c.summary().contains("manager PIN: set"));
        // Set again: replaced, not duplicated.
        let other = HASH.replace("aGFzaGhh", "b3RoZXJo");
        set_manager_pin_hash(&p, &other).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.matches("pin_hash").count(), 1, "{text}");
        assert_eq!(Config::load(&p).unwrap().manager_pin_hash, Some(other));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A missing file starts from the template; an invalid one is left alone.
        let fresh = dir.path().join("new/paydesk.toml");
        set_manager_pin_hash(&fresh, HASH).unwrap();
        assert!(Config::load(&fresh).unwrap().is_sandbox());
        std::fs::write(&p, "[store]\nstation = \"no spaces allowed\"\n").unwrap();
        assert!(set_manager_pin_hash(&p, HASH).is_err());
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "[store]\nstation = \"no spaces allowed\"\n"
        );
    }

    #[test]
    fn a_pin_hash_that_is_not_argon2id_is_refused() {
        let e = Config::parse("[manager]\npin_hash = \"1234\"\n").unwrap_err();
        assert!(e.to_string().contains("manager.pin_hash"), "{e}");
        assert!(Config::sandbox_default().summary().contains("0000"));
    }
}
