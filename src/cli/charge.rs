//! `paydesk charge`.

use super::CmdResult;

pub fn run(_amount: &str, _item: Option<&str>, _wait: bool) -> CmdResult {
    Err("`paydesk charge` is not available yet (the payment engine lands with issue 5)".into())
}
