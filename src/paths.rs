//! Where PayDesk keeps its files: the data directory (ledger, logs) and the configuration file.
//!
//! `PAYDESK_DATA_DIR` and `PAYDESK_CONFIG` override the platform defaults (on Linux
//! `~/.local/share/paydesk` and `~/.config/paydesk/paydesk.toml`).

use std::path::PathBuf;

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "paydesk")
}

/// The data directory: the ledger database and the logs live here.
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PAYDESK_DATA_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    project_dirs()
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".paydesk"))
}

/// The configuration file.
pub fn config_path() -> PathBuf {
    if let Some(file) = std::env::var_os("PAYDESK_CONFIG").filter(|d| !d.is_empty()) {
        return PathBuf::from(file);
    }
    project_dirs()
        .map(|d| d.config_dir().join("paydesk.toml"))
        .unwrap_or_else(|| PathBuf::from("paydesk.toml"))
}

/// The ledger database file inside the data directory.
pub fn ledger_path() -> PathBuf {
    ledger_in(&data_dir())
}

/// The ledger file in data directory `data_dir`.
pub fn ledger_in(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("ledger.sqlite3")
}
