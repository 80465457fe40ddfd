//! Sandbox mode at start-up: use a `paydesk sandbox` already running at the configured address, or start
//! the embedded one; and play the customer against whichever it is.
//!
//! Only the composition root knows the sandbox exists: the engine just talks to a gateway at a URL.
//!
//! The embedded sandbox also serves HTTPS with its own PKI (certificates in `<data>/sandbox-certs/`), and
//! the engine talks to that port, presenting the sandbox's merchant certificate and trusting the sandbox CA
//! ([`SandboxPlace::gateway_tls`]), so refunds go through the same client-certificate code as live. A
//! `paydesk sandbox` found running elsewhere announces its HTTPS port and certificate directory on its
//! customer page (when started with `--tls-listen`); PayDesk then talks to that port the same way. One
//! without HTTPS is used over plain HTTP: payments work, refunds are refused (no certificate).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::AppError;
use crate::config::Config;
use crate::engine::{CustomerAction, GatewayTls, Timing};
use crate::sandbox::{Sandbox, SandboxConfig, TlsSettings};
use crate::wxpay::cert::MerchantIdentity;
use crate::wxpay::{ApiKey, Merchant, SignType};

/// The merchant identity of the sandbox.
pub fn sandbox_merchant() -> Merchant {
    Merchant {
        appid: crate::sandbox_defaults::APPID.into(),
        mch_id: crate::sandbox_defaults::MCH_ID.into(),
        key: ApiKey::new(crate::sandbox_defaults::KEY),
        sign_type: SignType::HmacSha256,
    }
}

/// Where the sandbox runs.
pub enum SandboxPlace {
    /// Inside this process; it stops with it.
    Embedded(Sandbox),
    /// Somewhere else (a `paydesk sandbox` in another terminal, a test's sandbox): its base URL.
    Running(String),
    /// A `paydesk sandbox` running elsewhere that also serves HTTPS: its base URL, its HTTPS base URL and
    /// the directory of its certificates (its CA, the merchant certificate).
    RunningTls {
        url: String,
        tls_url: String,
        certs: PathBuf,
    },
}

impl SandboxPlace {
    /// The sandbox's base URL.
    pub fn url(&self) -> String {
        match self {
            SandboxPlace::Embedded(s) => s.base_url(),
            SandboxPlace::Running(url) | SandboxPlace::RunningTls { url, .. } => url.clone(),
        }
    }

    /// Where the engine sends its calls: the HTTPS port of the embedded sandbox, else the base URL.
    pub fn gateway_url(&self) -> String {
        match self {
            SandboxPlace::Embedded(s) => s.tls_url().unwrap_or_else(|| s.base_url()),
            SandboxPlace::Running(url) => url.clone(),
            SandboxPlace::RunningTls { tls_url, .. } => tls_url.clone(),
        }
    }

    /// The merchant certificate and the CA to trust for the sandbox's HTTPS port (embedded only). A PKI
    /// that cannot be read leaves refunds refused, with the reason in the log.
    pub fn gateway_tls(&self) -> GatewayTls {
        let loaded = match self {
            SandboxPlace::Embedded(s) => {
                let Some(pki) = s.pki() else {
                    return GatewayTls::default();
                };
                MerchantIdentity::load(&pki.merchant_p12(), pki.mch_id())
                    .map_err(|e| e.to_string())
                    .and_then(|id| pki.ca_der().map(|ca| (id, ca)).map_err(|e| e.to_string()))
            }
            // Read only: the running sandbox owns its PKI (a client never issues into it).
            SandboxPlace::RunningTls { certs, .. } => running_identity(certs),
            SandboxPlace::Running(_) => return GatewayTls::default(),
        };
        match loaded {
            Ok((identity, ca)) => GatewayTls {
                identity: Some(identity),
                extra_roots: vec![ca],
            },
            Err(e) => {
                tracing::error!(error = %e, "sandbox certificates unusable; refunds are refused");
                GatewayTls::default()
            }
        }
    }

    /// Play the customer: pay or fail the order.
    pub async fn customer(
        &self,
        out_trade_no: &str,
        action: CustomerAction,
    ) -> Result<(), AppError> {
        let act = match action {
            CustomerAction::Pay => crate::sandbox::CustomerAction::Pay,
            CustomerAction::Fail => crate::sandbox::CustomerAction::Fail,
        };
        match self {
            SandboxPlace::Embedded(s) => s.customer(out_trade_no, act).await,
            SandboxPlace::Running(url) | SandboxPlace::RunningTls { url, .. } => {
                crate::sandbox::remote_customer(url, out_trade_no, act)
                    .await
                    .map(|_| ())
            }
        }
        .map_err(|e| AppError::Sandbox(e.to_string()))
    }
}

/// The merchant certificate and CA of a running sandbox's certificate directory.
fn running_identity(
    certs: &Path,
) -> Result<(MerchantIdentity, rustls_pki_types::CertificateDer<'static>), String> {
    use crate::sandbox::tls::pki;
    use rustls_pki_types::pem::PemObject;
    let source = crate::wxpay::cert::CertSource::Pkcs12(certs.join(pki::MERCHANT_P12));
    let identity = MerchantIdentity::load(&source, crate::sandbox_defaults::MCH_ID)
        .map_err(|e| e.to_string())?;
    let ca = rustls_pki_types::CertificateDer::from_pem_file(certs.join(pki::CA_CERT))
        .map_err(|e| format!("{}: {e}", certs.join(pki::CA_CERT).display()))?;
    Ok((identity, ca))
}

/// Whether a sandbox answers at `url` (a `paydesk sandbox` started in another terminal), and where its
/// HTTPS port and certificates are when it announces them.
async fn sandbox_answers(url: &str) -> Option<Option<(String, PathBuf)>> {
    use crate::sandbox::{TLS_CERTS_HEADER, TLS_URL_HEADER};
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .ok()?;
    let r = client.get(format!("{url}/")).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    Some(
        header(TLS_URL_HEADER)
            .filter(|u| u.starts_with("https://"))
            .zip(header(TLS_CERTS_HEADER).map(PathBuf::from)),
    )
}

/// Start the embedded sandbox at the configured address; if a `paydesk sandbox` already serves there, use it;
/// if something else holds the port, take any free port. Its state is kept in `data_dir`; it allows closes
/// after `timing.close_min_age`, like the engine expects.
pub async fn find_or_start(
    config: &Config,
    data_dir: &Path,
    timing: Timing,
) -> Result<SandboxPlace, AppError> {
    let sandbox_config = SandboxConfig {
        clock: std::sync::Arc::new(crate::clock::SystemClock),
        close_min_age: timing.close_min_age,
        persist: Some(data_dir.join("sandbox-state.json")),
        tls: Some(TlsSettings {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            certs: data_dir.join("sandbox-certs"),
        }),
        ..SandboxConfig::default()
    };
    let addr = config.sandbox_listen;
    match Sandbox::start(sandbox_config.clone(), addr).await {
        Ok(s) => Ok(SandboxPlace::Embedded(s)),
        Err(e) => {
            let url = format!("http://{addr}");
            match sandbox_answers(&url).await {
                Some(Some((tls_url, certs))) => {
                    tracing::info!(%url, %tls_url, "using the sandbox already running there (HTTPS for refunds)");
                    return Ok(SandboxPlace::RunningTls {
                        url,
                        tls_url,
                        certs,
                    });
                }
                Some(None) => {
                    tracing::info!(%url, "using the sandbox already running there (no HTTPS: refunds are refused)");
                    return Ok(SandboxPlace::Running(url));
                }
                None => {}
            }
            tracing::warn!(%addr, error = %e, "sandbox address busy; using a free port");
            Sandbox::start(sandbox_config, "127.0.0.1:0".parse().expect("valid"))
                .await
                .map(SandboxPlace::Embedded)
                .map_err(|e| {
                    AppError::Engine(crate::engine::EngineError::Startup(format!(
                        "cannot start the sandbox on loopback: {e}"
                    )))
                })
        }
    }
}
