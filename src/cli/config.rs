//! `paydesk config init|check|set-manager-pin|set-cashier-pin`. `check` also opens the merchant API
//! certificate, if one is configured, and says whose it is and when it expires. `set-manager-pin` and
//! `set-cashier-pin NAME` store a PIN's salted hash.

use std::process::ExitCode;

use super::{CmdResult, ConfigAction};
use crate::config::{Config, PinOwner, write_template};
use crate::paths::config_path;

pub fn run(action: ConfigAction) -> CmdResult {
    let path = config_path();
    match action {
        ConfigAction::Init { force } => {
            write_template(&path, force).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    format!(
                        "{} already exists; use --force to overwrite it",
                        path.display()
                    )
                } else {
                    format!("cannot write {}: {e}", path.display())
                }
            })?;
            // What keeps the key private: the file mode on Unix, the user profile's ACL on Windows.
            let private = if cfg!(windows) {
                "on Windows its folder's permissions protect it; %APPDATA% is private to your user"
            } else {
                "mode 0600"
            };
            println!(
                "wrote {} ({private}). Edit it, then run `paydesk config check`.",
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        ConfigAction::Check => {
            if !path.exists() {
                println!(
                    "{} does not exist: PayDesk runs in sandbox mode with defaults.",
                    path.display()
                );
                print!("{}", Config::sandbox_default().summary());
                return Ok(ExitCode::SUCCESS);
            }
            let config = Config::load(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            println!("{}: valid", path.display());
            print!("{}", config.summary());
            Ok(check_certificate(&config))
        }
        ConfigAction::SetManagerPin => set_pin(&path, PinOwner::Manager),
        ConfigAction::SetCashierPin { name } => set_pin(&path, PinOwner::Cashier(&name)),
    }
}

/// The environment variable a scripted `set-…-pin` reads `owner`'s PIN from.
pub const CASHIER_PIN_ENV: &str = "PAYDESK_CASHIER_PIN";

/// Ask for `owner`'s PIN (twice, unless it comes from the environment), hash it and store the hash.
fn set_pin(path: &std::path::Path, owner: PinOwner<'_>) -> CmdResult {
    use crate::app::manager_pin;
    let (env, what) = match owner {
        PinOwner::Manager => (super::refund::PIN_ENV, "the manager PIN".to_owned()),
        PinOwner::Cashier(name) => (CASHIER_PIN_ENV, format!("{name}'s sign-in PIN")),
    };
    if let PinOwner::Cashier(name) = owner
        && path.exists()
    {
        // Refused before the PIN is asked for: the name must be in the list.
        let config = Config::load(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if !config.store.cashiers.iter().any(|c| c == name) {
            return Err(format!(
                "{name:?} is not in [store] cashiers of {} ({}); nothing was changed",
                path.display(),
                config.store.cashiers.join(", ")
            )
            .into());
        }
    }
    let from_env = std::env::var_os(env).is_some_and(|v| !v.is_empty());
    let read = |prompt: &str| super::refund::read_pin_from(env, &what, prompt);
    let pin = read(&format!("new {what} (4-12 digits): "))?;
    if !manager_pin::valid_pin(&pin) {
        return Err(format!("{what} must be 4 to 12 digits").into());
    }
    if !from_env && read("the same PIN again: ")? != pin {
        return Err("the two PINs differ; nothing was changed".into());
    }
    let hash = manager_pin::hash_pin(&pin)?;
    crate::config::set_pin_hash(path, owner, &hash)
        .map_err(|e| format!("{}: {e}; nothing was changed", path.display()))?;
    match owner {
        PinOwner::Manager => println!(
            "manager PIN set: its salted Argon2id hash is in [manager] pin_hash of {} (the PIN itself is \
             not stored). Refunds now need it.",
            path.display()
        ),
        PinOwner::Cashier(name) => println!(
            "{name}'s PIN set: its salted Argon2id hash is in [shift.cashier_pins] of {} (the PIN itself is \
             not stored). {name} now signs in with it.",
            path.display()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// The merchant certificate part of `config check`: exit code 1 when it is configured but unusable.
fn check_certificate(config: &Config) -> ExitCode {
    let Some(merchant) = &config.merchant else {
        return ExitCode::SUCCESS;
    };
    let Some(source) = &merchant.cert else {
        println!(
            "merchant certificate: not configured — refunds are refused until `cert` is set in [merchant]"
        );
        return ExitCode::SUCCESS;
    };
    match crate::wxpay::cert::describe(source, &merchant.mch_id, chrono::Utc::now()) {
        Ok(report) => {
            println!(
                "merchant certificate: {} — OK for mch_id {}",
                source.cert_path().display(),
                merchant.mch_id
            );
            for line in report.to_string().lines() {
                println!("  {line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("merchant certificate: PROBLEM: {e}");
            ExitCode::from(1)
        }
    }
}
