//! Test gateways: a sandbox that signs and verifies with the [`Oracle`], on a free loopback port, so that
//! PayDesk's client and listener (PayDesk's signer) always talk to a gateway that signs independently.

use std::sync::Arc;

use paydesk::sandbox::{Sandbox, SandboxConfig};

use super::localhost;
use super::oracle::Oracle;

/// The default sandbox configuration with the oracle as its signer: start from this
/// (`SandboxConfig { …, ..oracle_config() }`) wherever a test builds a sandbox configuration.
pub fn oracle_config() -> SandboxConfig {
    with_oracle(SandboxConfig::default())
}

/// `config` with the oracle as its signer.
pub fn with_oracle(config: SandboxConfig) -> SandboxConfig {
    SandboxConfig {
        signer: Arc::new(Oracle),
        ..config
    }
}

/// Start a sandbox on a free loopback port. Whatever `config.signer` says, it signs and verifies with
/// the oracle: every test gateway does.
pub async fn start(config: SandboxConfig) -> Sandbox {
    Sandbox::start(with_oracle(config), localhost())
        .await
        .expect("sandbox starts")
}
