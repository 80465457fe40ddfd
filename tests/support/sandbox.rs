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

/// Start a sandbox (oracle-signed) that also serves HTTPS, its PKI issued into `certs`.
pub async fn start_tls(
    config: paydesk::sandbox::SandboxConfig,
    certs: &std::path::Path,
) -> Sandbox {
    start(paydesk::sandbox::SandboxConfig {
        tls: Some(paydesk::sandbox::TlsSettings {
            listen: localhost(),
            certs: certs.to_path_buf(),
        }),
        ..config
    })
    .await
}

/// A merchant client of the sandbox's HTTPS port: trusts its CA and, with `with_cert`, presents the
/// merchant certificate from its `apiclient_cert.p12` (password = mch_id). Quick retries.
pub fn tls_client(sb: &Sandbox, with_cert: bool) -> paydesk::wxpay::WxClient {
    use paydesk::wxpay::cert::MerchantIdentity;
    use paydesk::wxpay::{ClientConfig, RetryPolicy, SignType, WxClient};
    let pki = sb.pki().expect("the sandbox serves HTTPS");
    let mut config = ClientConfig::new(sb.tls_url().unwrap(), None);
    config.retry = RetryPolicy {
        attempts: 2,
        base_delay: std::time::Duration::from_millis(2),
        max_delay: std::time::Duration::from_millis(10),
    };
    config.extra_roots = vec![pki.ca_der().unwrap()];
    if with_cert {
        config.identity = Some(MerchantIdentity::load(&pki.merchant_p12(), pki.mch_id()).unwrap());
    }
    WxClient::new(super::builders::merchant(SignType::HmacSha256), config).unwrap()
}
