//! `paydesk sandbox` and `paydesk sandbox pay`.

use super::{CmdResult, SandboxArgs};

pub fn run(_args: SandboxArgs) -> CmdResult {
    Err("`paydesk sandbox` is not available yet (the sandbox lands with issue 3)".into())
}
