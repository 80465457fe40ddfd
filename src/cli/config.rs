//! `paydesk config init|check`.

use super::{CmdResult, ConfigAction};

pub fn run(_action: ConfigAction) -> CmdResult {
    Err("`paydesk config` is not available yet (configuration lands with issue 7)".into())
}
