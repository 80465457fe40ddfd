//! Validating the configuration file: each section checked by its own function, every problem collected
//! with the line of its key, so the cashier sees all of them at once. Not here: the validated types and
//! loading the file ([`super`]).

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

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
    })
}

fn valid_base_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://"))
        && s.len() > 8
        && !s.contains('?')
        && !s.contains(' ')
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
    MerchantConfig {
        appid,
        mch_id,
        key: ApiKey::new(key),
        sign_type,
        gateway,
        backup_gateway,
        client_ip,
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
