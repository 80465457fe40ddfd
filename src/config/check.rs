//! Validating the configuration file: each section checked by its own function, every problem collected
//! with the line of its key, so the cashier sees all of them at once. Not here: the validated types and
//! loading the file ([`super`]).

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use super::counter;
use super::shift;
use super::{Config, ConfigError, Language, MerchantConfig, NotifyConfig, Problem, Store};
use crate::wxpay::{ApiKey, SignType};

/// Validate every section, collecting every problem (in file order of sections) before failing.
pub(super) fn from_raw(raw: Raw, text: &str) -> Result<Config, ConfigError> {
    let mut check = Checker {
        text,
        problems: Vec::new(),
    };
    let store = check_store(raw.store.unwrap_or_default(), &mut check);
    let payment = check_payment(raw.payment.unwrap_or_default(), &mut check);
    let merchant = raw.merchant.map(|m| check_merchant(m, &mut check));
    let notify = check_notify(
        raw.notify.unwrap_or_default(),
        merchant.is_some(),
        &mut check,
    );
    let sandbox_listen = check_sandbox(raw.sandbox.unwrap_or_default(), &mut check);
    let mut counter_problems = Vec::new();
    let window_start = counter::check_window(raw.window.unwrap_or_default(), &mut counter_problems);
    let customer_display = counter::check_customer_display(
        raw.customer_display.unwrap_or_default(),
        &mut counter_problems,
    );
    let printer = counter::check_printer(raw.printer, &mut counter_problems);
    let manager_pin_hash = check_manager(raw.manager.unwrap_or_default(), &mut check);
    for (section, key, message) in counter_problems {
        check.bad(section, key, message);
    }
    let mut shift_problems = Vec::new();
    let shift = shift::check_shift(
        raw.shift.unwrap_or_default(),
        &store.cashiers,
        &mut shift_problems,
    );
    for (section, key, message) in shift_problems {
        check.bad(section, &key, message);
    }
    if !check.problems.is_empty() {
        return Err(ConfigError {
            problems: check.problems,
        });
    }
    Ok(Config {
        store,
        payment_window: payment.window,
        language: payment.language,
        merchant,
        notify,
        sandbox_listen,
        day_start_hour: payment.day_start_hour,
        window_start,
        customer_display,
        printer,
        manager_pin_hash,
        shift,
    })
}

/// `[manager]`: the PIN's hash, as `paydesk config set-manager-pin` writes it (verified when a refund is
/// approved; here only its form).
fn check_manager(manager: RawManager, check: &mut Checker) -> Option<String> {
    let hash = manager.pin_hash?;
    if !hash.starts_with("$argon2id$") || hash.len() > 512 {
        check.bad(
            "manager",
            "pin_hash",
            "expected an Argon2id hash (\"$argon2id$…\") written by `paydesk config set-manager-pin`; never \
             the PIN itself"
                .into(),
        );
        return None;
    }
    Some(hash)
}

fn valid_base_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://"))
        && s.len() > 8
        && !s.contains('?')
        && !s.contains(' ')
}

/// The host of an `http(s)://host[:port]/…` URL, without brackets around an IPv6 address.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next();
    }
    Some(authority.split(':').next().unwrap_or(authority))
}

/// An `http://` URL to anywhere but this machine: the key-signed traffic (and, for a gateway, its answers)
/// would cross the network readable and alterable. Loopback is allowed for a local test gateway or proxy.
fn plain_http_off_machine(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = url_host(url).unwrap_or(rest);
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    !loopback
}

fn https_needed(url: &str) -> String {
    format!(
        "live mode needs an https:// URL (http:// only to this machine: 127.0.0.1, ::1, localhost), got {url:?}"
    )
}

/// Whether `url` is WeChat Pay's own gateway (`api.mch.weixin.qq.com` or `api2.mch.weixin.qq.com`, https).
pub(super) fn is_wechat_gateway(url: &str) -> bool {
    url.starts_with("https://")
        && url_host(url).is_some_and(|h| {
            h.eq_ignore_ascii_case("api.mch.weixin.qq.com")
                || h.eq_ignore_ascii_case("api2.mch.weixin.qq.com")
        })
}

/// A file holding the API key must be readable by its owner only: refuse it otherwise (Unix), naming the fix.
pub(super) fn key_file_private(path: &std::path::Path) -> Result<(), ConfigError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            return Err(ConfigError::single(
                None,
                "file",
                &format!(
                    "{} holds the merchant's API key but other users can read it (mode {:o}); \
                     run `chmod 600 {}`, then start again",
                    path.display(),
                    meta.permissions().mode() & 0o777,
                    path.display()
                ),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
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

/// Collects the problems of one file, each with the line of its key.
struct Checker<'a> {
    text: &'a str,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn bad(&mut self, section: &str, key: &str, message: String) {
        self.problems.push(Problem {
            line: find_line(self.text, section, key),
            field: if section.is_empty() {
                key.to_string()
            } else {
                format!("{section}.{key}")
            },
            message,
        });
    }
}

/// `[store]`: the shop's name, this till, the cashiers.
fn check_store(store: RawStore, check: &mut Checker) -> Store {
    let name = store.name.unwrap_or_else(|| "PayDesk".into());
    if name.trim().is_empty() || name.chars().count() > 32 {
        check.bad(
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
        check.bad(
            "store",
            "station",
            format!("expected 1-8 letters or digits (it goes into order numbers), got {station:?}"),
        );
    }
    let cashiers = store.cashiers.unwrap_or_default();
    if cashiers
        .iter()
        .any(|c| c.trim().is_empty() || c.chars().count() > 32)
    {
        check.bad(
            "store",
            "cashiers",
            "expected a list of names of 1-32 characters".into(),
        );
    }
    // A cashier signs in by name: two with the same name could not be told apart.
    if let Some(twice) = cashiers
        .iter()
        .enumerate()
        .find_map(|(i, c)| cashiers[..i].contains(c).then_some(c))
    {
        check.bad(
            "store",
            "cashiers",
            format!("{twice:?} is in the list twice: each cashier needs a name of their own"),
        );
    }
    Store {
        name,
        station,
        cashiers,
    }
}

/// What `[payment]` decides.
struct Payment {
    window: Duration,
    language: Language,
    day_start_hour: u8,
}

/// `[payment]`: the payment window, the language, the business day's start.
fn check_payment(payment: RawPayment, check: &mut Checker) -> Payment {
    let window = payment.window_minutes.unwrap_or(10);
    if !(6..=120).contains(&window) {
        check.bad(
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
            check.bad(
                "payment",
                "language",
                format!("expected \"zh\" or \"en\", got {other:?}"),
            );
            Language::Zh
        }
    };
    let day_start_hour = payment.day_start_hour.unwrap_or(0);
    if day_start_hour > 23 {
        check.bad(
            "payment",
            "day_start_hour",
            format!("expected an hour 0-23, got {day_start_hour}"),
        );
    }
    Payment {
        window: Duration::from_secs(u64::from(window) * 60),
        language,
        day_start_hour,
    }
}

/// `[merchant]`: the live merchant account (its presence means live mode).
fn check_merchant(m: RawMerchant, check: &mut Checker) -> MerchantConfig {
    let appid = m.appid.unwrap_or_default();
    if !appid.starts_with("wx")
        || appid.len() != 18
        || !appid.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        check.bad(
            "merchant",
            "appid",
            "expected the 18-character appid bound to the merchant account, starting with \"wx\""
                .into(),
        );
    }
    let mch_id = m.mch_id.unwrap_or_default();
    if mch_id.is_empty() || mch_id.len() > 32 || !mch_id.bytes().all(|b| b.is_ascii_digit()) {
        check.bad(
            "merchant",
            "mch_id",
            "expected the merchant number (digits)".into(),
        );
    }
    let key = m.key.unwrap_or_default();
    if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        let got = key.chars().count();
        check.bad(
            "merchant",
            "key",
            format!(
                "expected the 32-character API v2 key (商户平台 → 账户中心 → API安全), got {got} characters; \
                 not the APIv3 key, not the AppSecret"
            ),
        );
    }
    let s = m.sign_type.as_deref().unwrap_or("HMAC-SHA256");
    let sign_type = SignType::parse(s).unwrap_or_else(|| {
        check.bad(
            "merchant",
            "sign_type",
            format!("expected \"MD5\" or \"HMAC-SHA256\", got {s:?}"),
        );
        SignType::HmacSha256
    });
    let gateway = m
        .gateway
        .unwrap_or_else(|| crate::wxpay::client::LIVE_PRIMARY.into());
    if !valid_base_url(&gateway) {
        check.bad(
            "merchant",
            "gateway",
            format!("expected an http(s) base URL, got {gateway:?}"),
        );
    } else if plain_http_off_machine(&gateway) {
        check.bad("merchant", "gateway", https_needed(&gateway));
    }
    let backup_gateway = match m.backup_gateway {
        Some(b) if b.is_empty() => None,
        Some(b) => {
            if !valid_base_url(&b) {
                check.bad(
                    "merchant",
                    "backup_gateway",
                    format!("expected an http(s) base URL, got {b:?}"),
                );
            } else if plain_http_off_machine(&b) {
                check.bad("merchant", "backup_gateway", https_needed(&b));
            }
            Some(b)
        }
        None if gateway == crate::wxpay::client::LIVE_PRIMARY => {
            Some(crate::wxpay::client::LIVE_BACKUP.into())
        }
        None => None,
    };
    let client_ip = m.client_ip.unwrap_or_else(|| "127.0.0.1".into());
    if client_ip.parse::<std::net::Ipv4Addr>().is_err() {
        check.bad(
            "merchant",
            "client_ip",
            format!("expected an IPv4 address, got {client_ip:?}"),
        );
    }
    let cert = check_cert(m.cert, m.cert_key, check);
    MerchantConfig {
        cert,
        appid,
        mch_id,
        key: ApiKey::new(key),
        sign_type,
        gateway,
        backup_gateway,
        client_ip,
    }
}

/// `cert` / `cert_key` of `[merchant]`: which shape the certificate has. Only the names are checked here;
/// `paydesk config check` opens the files (`wxpay::cert::describe`).
fn check_cert(
    cert: Option<String>,
    key: Option<String>,
    check: &mut Checker,
) -> Option<crate::wxpay::cert::CertSource> {
    use crate::wxpay::cert::CertSource;
    use std::path::Path;
    match (
        cert.filter(|c| !c.is_empty()),
        key.filter(|k| !k.is_empty()),
    ) {
        (None, None) => None,
        (None, Some(_)) => {
            check.bad(
                "merchant",
                "cert_key",
                "cert_key is the private key of a PEM certificate: also set cert = \"…/apiclient_cert.pem\"".into(),
            );
            None
        }
        (Some(c), k) => match CertSource::from_config(Path::new(&c), k.as_deref().map(Path::new)) {
            Ok(source) => Some(source),
            Err(e) => {
                check.bad("merchant", "cert", e.to_string());
                None
            }
        },
    }
}

/// `[notify]`: where notifications are announced and received. In live mode a public URL needs a listener.
fn check_notify(notify: RawNotify, live: bool, check: &mut Checker) -> NotifyConfig {
    if let Some(url) = &notify.url
        && (!(url.starts_with("https://") || url.starts_with("http://"))
            || url.contains('?')
            || url.len() > 256)
    {
        check.bad(
            "notify",
            "url",
            "expected an absolute https URL without a query string, at most 256 characters".into(),
        );
    }
    if live
        && let Some(url) = &notify.url
        && plain_http_off_machine(url)
    {
        check.bad("notify", "url", https_needed(url));
    }
    let listen = match notify.listen.as_deref() {
        None => None,
        Some(s) => match s.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                check.bad(
                    "notify",
                    "listen",
                    format!("expected an address like 127.0.0.1:8787, got {s:?}"),
                );
                None
            }
        },
    };
    if live && notify.url.is_some() && listen.is_none() {
        check.bad(
            "notify",
            "listen",
            "notify.url is set, so PayDesk must listen somewhere for it: set notify.listen".into(),
        );
    }
    NotifyConfig {
        url: notify.url,
        listen,
    }
}

/// `[sandbox]`: where the sandbox gateway listens in sandbox mode.
fn check_sandbox(sandbox: RawSandbox, check: &mut Checker) -> SocketAddr {
    match sandbox
        .listen
        .as_deref()
        .unwrap_or(crate::sandbox_defaults::LISTEN)
        .parse::<SocketAddr>()
    {
        Ok(a) => a,
        Err(_) => {
            check.bad(
                "sandbox",
                "listen",
                "expected an address like 127.0.0.1:7878".into(),
            );
            crate::sandbox_defaults::LISTEN
                .parse()
                .expect("valid default")
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    store: Option<RawStore>,
    payment: Option<RawPayment>,
    merchant: Option<RawMerchant>,
    notify: Option<RawNotify>,
    sandbox: Option<RawSandbox>,
    window: Option<counter::RawWindow>,
    customer_display: Option<counter::RawCustomerDisplay>,
    printer: Option<crate::printer::PrinterSection>,
    manager: Option<RawManager>,
    shift: Option<shift::RawShift>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManager {
    pin_hash: Option<String>,
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
    cert: Option<String>,
    cert_key: Option<String>,
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
