//! The sandbox's HTTPS port: a rustls server that *offers* client authentication (so `/pay/*` works without a
//! certificate, as live), verifies any client certificate presented against the sandbox CA (a certificate
//! from another CA fails the handshake), and hands each request a [`ClientCert`] extension saying whether a
//! verified certificate came with the connection. [`secapi_guard`] then refuses `/secapi/*` without one.
//!
//! `axum::serve` does not do TLS, so the accept loop is tokio-rustls + hyper's HTTP/1 connection driver,
//! serving the same `axum::Router` as the plain port.
//!
//! What it is not: the gateway's endpoints (the router is the caller's), or the plain-HTTP listener.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use super::pki::{PkiError, SandboxPki};
use crate::wxpay::cert::{CertInfo, provider};

/// A client that opens a connection and never finishes the handshake does not keep a task forever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Request extension: the client certificate of the connection this request came on, if one was presented
/// and verified against the sandbox CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCert {
    None,
    Verified {
        /// The merchant id in the certificate's subject (CN), as WeChat's merchant certificates carry it.
        mch_id: Option<String>,
        subject: String,
        serial: String,
    },
}

impl ClientCert {
    pub fn is_verified(&self) -> bool {
        matches!(self, ClientCert::Verified { .. })
    }

    /// What rustls verified on this connection. The verifier only lets through certificates chaining to
    /// the CA, so any end-entity certificate present here is a verified one.
    fn of(conn: &rustls::ServerConnection) -> Self {
        match conn.peer_certificates().and_then(|c| c.first()) {
            None => ClientCert::None,
            Some(der) => match CertInfo::from_der(der) {
                Ok(info) => ClientCert::Verified {
                    mch_id: info.mch_id,
                    subject: info.subject,
                    serial: info.serial,
                },
                // rustls accepted it, so it parses; be safe and claim nothing if it does not.
                Err(_) => ClientCert::None,
            },
        }
    }
}

/// The rustls server configuration for the sandbox's TLS port: its server certificate, client
/// authentication offered (not required), client certificates checked against the sandbox CA, HTTP/1.1.
pub fn server_config(pki: &SandboxPki) -> Result<Arc<ServerConfig>, PkiError> {
    let provider = Arc::new(provider());
    let roots = Arc::new(pki.ca_roots()?);
    let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| PkiError::Tls(e.to_string()))?;
    let server = pki.server_identity()?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| PkiError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(server.chain().to_vec(), server.key().clone_key())
        .map_err(|e| PkiError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serve `router` over TLS on `listener`; never returns, so run it on a task and abort that task to stop.
/// Each request carries a [`ClientCert`] extension. Failed handshakes (no TLS, a certificate from another
/// CA) end that connection only.
pub async fn serve_tls(listener: TcpListener, config: Arc<ServerConfig>, router: Router) {
    let acceptor = TlsAcceptor::from(config);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: log and back off rather than spin.
                tracing::warn!("sandbox TLS accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!("sandbox TLS handshake with {peer} failed: {e}");
                    return;
                }
                Err(_) => {
                    tracing::debug!("sandbox TLS handshake with {peer} timed out");
                    return;
                }
            };
            let client = ClientCert::of(tls.get_ref().1);
            let service = router.map_request(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(client.clone());
                req
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), TowerToHyperService::new(service));
            if let Err(e) = conn.await {
                tracing::debug!("sandbox TLS connection with {peer}: {e}");
            }
        });
    }
}

/// axum middleware: `/secapi/*` needs a verified client certificate. Without one the answer is what the live
/// gateway's front end says (HTTP 400 "No required SSL certificate was sent", an nginx page, not XML), so
/// the client's handling of that case is exercised too. Requests on the plain port carry no [`ClientCert`]
/// and are refused the same way.
pub async fn secapi_guard(req: Request, next: Next) -> Response {
    let verified = req
        .extensions()
        .get::<ClientCert>()
        .is_some_and(ClientCert::is_verified);
    if req.uri().path().starts_with("/secapi/") && !verified {
        return (
            StatusCode::BAD_REQUEST,
            [("content-type", "text/html")],
            NO_CERT_PAGE,
        )
            .into_response();
    }
    next.run(req).await
}

pub const NO_CERT_PAGE: &str = "<html>\r\n<head><title>400 No required SSL certificate was sent</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>No required SSL certificate was sent</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
