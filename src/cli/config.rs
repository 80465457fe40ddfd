//! `paydesk config init|check|set-manager-pin`. `check` also opens the merchant API certificate, if one is
//! configured, and says whose it is and when it expires. `set-manager-pin` stores the PIN's salted hash.

use std::process::ExitCode;

use super::{CmdResult, ConfigAction};
use crate::config::{Config, write_template};
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
        ConfigAction::SetManagerPin => set_manager_pin(&path),
    }
}

/// Ask for the PIN (twice, unless it comes from the environment), hash it and store the hash.
fn set_manager_pin(path: &std::path::Path) -> CmdResult {
    use crate::app::manager_pin;
    let from_env = std::env::var_os(super::refund::PIN_ENV).is_some_and(|v| !v.is_empty());
    let pin = super::refund::read_pin("new manager PIN (4-12 digits): ")?;
    if !manager_pin::valid_pin(&pin) {
        return Err(manager_pin::PinError::Invalid.into());
    }
    if !from_env && super::refund::read_pin("the same PIN again: ")? != pin {
        return Err("the two PINs differ; nothing was changed".into());
    }
    let hash = manager_pin::hash_pin(&pin)?;
    crate::config::set_manager_pin_hash(path, &hash)
        .map_err(|e| format!("{}: {e}; nothing was changed", path.display()))?;
    println!(
        "manager PIN set: its salted Argon2id hash is in [manager] pin_hash of {} (the PIN itself is not \
         stored). Refunds now need it.",
        path.display()
    );
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
