//! `paydesk export`, `paydesk orders`, `paydesk backup`.

use std::path::Path;

use super::CmdResult;

pub fn export(_date: &str, _out: Option<&Path>) -> CmdResult {
    Err("`paydesk export` is not available yet (the ledger lands with issue 4)".into())
}

pub fn orders(_date: Option<&str>) -> CmdResult {
    Err("`paydesk orders` is not available yet (the ledger lands with issue 4)".into())
}

pub fn backup(_file: &Path) -> CmdResult {
    Err("`paydesk backup` is not available yet (the ledger lands with issue 4)".into())
}
