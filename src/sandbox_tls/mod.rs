//! The sandbox gateway's TLS side (`paydesk sandbox --tls-listen ADDR --certs DIR`): its own PKI ([`pki`]:
//! a CA, a server certificate for 127.0.0.1/localhost, a merchant client certificate in WeChat's three
//! files) and an HTTPS listener that verifies client certificates against that CA ([`server`]), so
//! `/secapi/*` (refunds) really needs the merchant certificate, as it does live.
//!
//! What it is not: the gateway itself (endpoints, orders, notifications live in `sandbox`), nor the
//! client side of the certificate (`wxpay::cert`).

pub mod pki;
pub mod server;

pub use pki::{PkiError, Provenance, SandboxPki};
pub use server::{ClientCert, secapi_guard, serve_tls, server_config};
