//! The merchant's API client certificate ("商户API证书"), which `/secapi/pay/refund` requires (reference §7.1):
//! loading it, checking it belongs to this merchant and is in date, describing it for `paydesk config check`,
//! and turning it into a TLS client identity for reqwest/rustls.
//!
//! Two shapes are accepted, as WeChat hands them out:
//! * `apiclient_cert.p12` — PKCS#12, **password = mch_id**. Files from the merchant platform are written by
//!   old OpenSSL (RC2-40 for the certificate bag, 3DES for the key bag, SHA-1 MAC); `p12-keystore` reads those
//!   (its `pbes1` feature) as well as modern PBES2/AES files;
//! * `apiclient_cert.pem` + `apiclient_key.pem` — the certificate (chain) and its private key (PKCS#8, PKCS#1
//!   or SEC1 PEM).
//!
//! Which merchant a certificate belongs to: WeChat's merchant API certificates name the merchant id in the
//! subject — as the common name (`CN=1900009191`) on current CA-issued certificates; some older WeChat-issued
//! ones carry it in an organisational unit. We look at CN first, then OU, for an all-digit value
//! ([`CertInfo::mch_id`]). This is x509 practice, not something the protocol reference states (its §15 leaves
//! it open), so a certificate that names no merchant id at all is reported, not refused.
//!
//! What it is not: the HTTP client (`client.rs` decides when to present the identity), nor any signing of
//! request bodies (v2 signs with the API key, `sign.rs`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Certificates expiring within this many days are flagged by [`CertInfo::expiring_soon`]: enough notice to
/// download a new one from the merchant platform before refunds stop working.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// Where the merchant certificate is, as named in `[merchant]` (`cert = "…"`, plus `cert_key` for PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertSource {
    /// `apiclient_cert.p12`; the password is the mch_id.
    Pkcs12(PathBuf),
    /// `apiclient_cert.pem` + `apiclient_key.pem`.
    PemPair { cert: PathBuf, key: PathBuf },
}

impl CertSource {
    /// Choose the shape from the configuration: a key file means a PEM pair; otherwise the file must be a
    /// PKCS#12 archive (`.p12`/`.pfx`). A `.pem` certificate without a key is an error naming `cert_key`.
    pub fn from_config(cert: &Path, key: Option<&Path>) -> Result<Self, CertError> {
        match key {
            Some(key) => Ok(CertSource::PemPair {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
            }),
            None => {
                let ext = cert
                    .extension()
                    .and_then(|e| e.to_str())
                    .map(str::to_ascii_lowercase);
                match ext.as_deref() {
                    Some("pem" | "crt" | "cer") => Err(CertError::KeyNotConfigured {
                        cert: cert.to_path_buf(),
                    }),
                    _ => Ok(CertSource::Pkcs12(cert.to_path_buf())),
                }
            }
        }
    }

    /// The certificate file (the p12, or the PEM certificate).
    pub fn cert_path(&self) -> &Path {
        match self {
            CertSource::Pkcs12(p) => p,
            CertSource::PemPair { cert, .. } => cert,
        }
    }
}

/// Why a merchant certificate cannot be used. Each message names the file or the fact to fix.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("merchant certificate file {path} cannot be read: {source}")]
    Missing {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{cert} is a PEM certificate: also set `cert_key` to its private key (apiclient_key.pem), or use apiclient_cert.p12"
    )]
    KeyNotConfigured { cert: PathBuf },
    #[error(
        "{path}: wrong password for the PKCS#12 file (WeChat's apiclient_cert.p12 opens with the mch_id; is mch_id right, or is this another merchant's file?)"
    )]
    WrongPassword { path: PathBuf },
    #[error("{path} is not a usable PKCS#12 file: {detail}")]
    BadPkcs12 { path: PathBuf, detail: String },
    #[error("{path} holds no certificate with a private key")]
    NoKeyInPkcs12 { path: PathBuf },
    #[error("{path} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)")]
    NoCertificate { path: PathBuf },
    #[error("{path} holds no PEM private key (expected -----BEGIN PRIVATE KEY-----)")]
    NoPrivateKey { path: PathBuf },
    #[error("{path}: the certificate cannot be parsed: {detail}")]
    BadCertificate { path: PathBuf, detail: String },
    #[error("{path}: the private key is not usable for TLS: {detail}")]
    BadKey { path: PathBuf, detail: String },
    #[error(
        "the private key {key} does not belong to the certificate {cert} (their public keys differ); use the apiclient_key.pem downloaded with this certificate"
    )]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error(
        "the certificate belongs to merchant {found}, not to mch_id {expected}: download this merchant's certificate from the merchant platform"
    )]
    WrongMerchant { expected: String, found: String },
    #[error(
        "the merchant certificate expired on {not_after} (UTC): download a new one from the merchant platform (Account Centre → API security)"
    )]
    Expired { not_after: DateTime<Utc> },
    #[error(
        "the merchant certificate is not valid before {not_before} (UTC): check this computer's clock"
    )]
    NotYetValid { not_before: DateTime<Utc> },
    #[error("TLS client configuration failed: {0}")]
    Tls(String),
}

/// What `paydesk config check` says about a certificate. Built from the end-entity certificate only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// RFC 4514-style subject, e.g. `CN=1900009191, O=…`.
    pub subject: String,
    pub issuer: String,
    /// Serial number, upper-case hex without separators (as the merchant platform shows it).
    pub serial: String,
    /// The merchant id named in the subject (CN, else OU; all digits), if any.
    pub mch_id: Option<String>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

impl CertInfo {
    /// Parse one DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, String> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
        let subject = cert.subject();
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let mch_id = subject
            .iter_common_name()
            .chain(subject.iter_organizational_unit())
            .filter_map(|a| a.as_str().ok())
            .map(str::trim)
            .find(|s| digits(s))
            .map(str::to_owned);
        let time = |t: x509_parser::time::ASN1Time| {
            DateTime::<Utc>::from_timestamp(t.timestamp(), 0).ok_or("validity out of range")
        };
        let serial = cert
            .tbs_certificate
            .raw_serial()
            .iter()
            .skip_while(|b| **b == 0)
            .map(|b| format!("{b:02X}"))
            .collect::<String>();
        Ok(CertInfo {
            subject: subject.to_string(),
            issuer: cert.issuer().to_string(),
            serial: if serial.is_empty() {
                "00".into()
            } else {
                serial
            },
            mch_id,
            not_before: time(cert.validity().not_before)?,
            not_after: time(cert.validity().not_after)?,
        })
    }

    /// Whole days until `not_after` (negative once expired).
    pub fn expires_in_days(&self, now: DateTime<Utc>) -> i64 {
        (self.not_after - now).num_days()
    }

    pub fn expiring_soon(&self, now: DateTime<Utc>) -> bool {
        self.expires_in_days(now) < EXPIRY_WARNING_DAYS
    }

    /// Refuse a certificate that is for another merchant or out of date. A certificate naming no merchant id
    /// passes (see the module doc: where WeChat puts it is convention, not specification).
    pub fn check(&self, mch_id: &str, now: DateTime<Utc>) -> Result<(), CertError> {
        if let Some(found) = &self.mch_id
            && found != mch_id
        {
            return Err(CertError::WrongMerchant {
                expected: mch_id.to_owned(),
                found: found.clone(),
            });
        }
        if now > self.not_after {
            return Err(CertError::Expired {
                not_after: self.not_after,
            });
        }
        if now < self.not_before {
            return Err(CertError::NotYetValid {
                not_before: self.not_before,
            });
        }
        Ok(())
    }
}

/// A loaded merchant certificate: the chain (end entity first) and the private key that matches it.
#[derive(Debug)]
pub struct MerchantIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    info: CertInfo,
}

impl Clone for MerchantIdentity {
    fn clone(&self) -> Self {
        MerchantIdentity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
            info: self.info.clone(),
        }
    }
}

impl MerchantIdentity {
    /// Read the files named by `source` (the p12 opens with `mch_id`) and check the key matches the
    /// certificate. Does not check merchant or dates: see [`describe`] / [`CertInfo::check`].
    pub fn load(source: &CertSource, mch_id: &str) -> Result<Self, CertError> {
        match source {
            CertSource::Pkcs12(path) => Self::from_pkcs12(&read(path)?, mch_id, path),
            CertSource::PemPair { cert, key } => {
                Self::from_pem(&read(cert)?, &read(key)?, cert, key)
            }
        }
    }

    /// Decode a PKCS#12 archive. `path` only names the source in errors.
    pub fn from_pkcs12(data: &[u8], password: &str, path: &Path) -> Result<Self, CertError> {
        use p12_keystore::error::Error as P12Error;
        let store = p12_keystore::KeyStore::from_pkcs12(
            data,
            password,
            p12_keystore::Pkcs12ImportPolicy::Strict,
        )
        .map_err(|e| match e {
            // A MAC that does not verify, or (files without a MAC) padding that does not decrypt, is what a
            // wrong password looks like.
            P12Error::MacError(_) | P12Error::UnpadError => CertError::WrongPassword {
                path: path.to_path_buf(),
            },
            other => CertError::BadPkcs12 {
                path: path.to_path_buf(),
                detail: other.to_string(),
            },
        })?;
        let (_, chain) = store
            .private_key_chain()
            .filter(|(_, c)| !c.certs().is_empty())
            .ok_or_else(|| CertError::NoKeyInPkcs12 {
                path: path.to_path_buf(),
            })?;
        let certs = chain
            .certs()
            .iter()
            .map(|c| CertificateDer::from(c.as_der().to_vec()))
            .collect();
        // p12-keystore hands the key out as PKCS#8 PrivateKeyInfo.
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec()));
        Self::assemble(certs, key, path, path)
    }

    /// Decode a PEM certificate (chain) and its private key. The paths only name the sources in errors.
    pub fn from_pem(
        cert_pem: &[u8],
        key_pem: &[u8],
        cert_path: &Path,
        key_path: &Path,
    ) -> Result<Self, CertError> {
        let certs = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CertError::BadCertificate {
                path: cert_path.to_path_buf(),
                detail: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(CertError::NoCertificate {
                path: cert_path.to_path_buf(),
            });
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
            rustls_pki_types::pem::Error::NoItemsFound => CertError::NoPrivateKey {
                path: key_path.to_path_buf(),
            },
            other => CertError::BadKey {
                path: key_path.to_path_buf(),
                detail: other.to_string(),
            },
        })?;
        Self::assemble(certs, key, cert_path, key_path)
    }

    fn assemble(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        cert_path: &Path,
        key_path: &Path,
    ) -> Result<Self, CertError> {
        let info = CertInfo::from_der(&chain[0]).map_err(|detail| CertError::BadCertificate {
            path: cert_path.to_path_buf(),
            detail,
        })?;
        // rustls compares the key's SubjectPublicKeyInfo with the certificate's.
        CertifiedKey::from_der(chain.clone(), key.clone_key(), &provider()).map_err(
            |e| match e {
                rustls::Error::InconsistentKeys(_) => CertError::KeyMismatch {
                    cert: cert_path.to_path_buf(),
                    key: key_path.to_path_buf(),
                },
                other => CertError::BadKey {
                    path: key_path.to_path_buf(),
                    detail: other.to_string(),
                },
            },
        )?;
        Ok(MerchantIdentity { chain, key, info })
    }

    pub fn info(&self) -> &CertInfo {
        &self.info
    }

    /// The certificate chain, end entity first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    pub fn key(&self) -> &PrivateKeyDer<'static> {
        &self.key
    }

    /// Certificate chain then key, PEM: what `reqwest::Identity::from_pem` reads.
    pub fn to_pem(&self) -> String {
        let mut out = String::new();
        for c in &self.chain {
            out.push_str(&pem_block("CERTIFICATE", c));
        }
        let (label, der): (&str, &[u8]) = match &self.key {
            PrivateKeyDer::Pkcs1(k) => ("RSA PRIVATE KEY", k.secret_pkcs1_der()),
            PrivateKeyDer::Sec1(k) => ("EC PRIVATE KEY", k.secret_sec1_der()),
            PrivateKeyDer::Pkcs8(k) => ("PRIVATE KEY", k.secret_pkcs8_der()),
            _ => ("PRIVATE KEY", &[]),
        };
        out.push_str(&pem_block(label, der));
        out
    }

    /// The identity for `reqwest::ClientBuilder::identity` (rustls backend).
    pub fn reqwest_identity(&self) -> Result<reqwest::Identity, CertError> {
        reqwest::Identity::from_pem(self.to_pem().as_bytes())
            .map_err(|e| CertError::Tls(e.to_string()))
    }

    /// A rustls client configuration that trusts `roots` and presents this certificate when the server asks
    /// (for `reqwest::ClientBuilder::use_preconfigured_tls`, or a hand-made connector). Uses ring, as the
    /// rest of the tree does.
    pub fn rustls_client_config(
        &self,
        roots: rustls::RootCertStore,
    ) -> Result<rustls::ClientConfig, CertError> {
        rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| CertError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_client_auth_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|e| CertError::Tls(e.to_string()))
    }
}

/// Load and check a merchant certificate for `paydesk config check`: the facts to print, or the one problem
/// to fix (missing file, wrong password, key that does not match, another merchant's certificate, expired).
/// Reads the files; prints nothing.
pub fn describe(
    source: &CertSource,
    mch_id: &str,
    now: DateTime<Utc>,
) -> Result<CertReport, CertError> {
    let identity = MerchantIdentity::load(source, mch_id)?;
    identity.info.check(mch_id, now)?;
    Ok(CertReport {
        info: identity.info,
        now,
    })
}

/// A certificate that passed [`describe`], with the time it was checked at (for "expires in N days").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertReport {
    pub info: CertInfo,
    pub now: DateTime<Utc>,
}

impl CertReport {
    pub fn expires_in_days(&self) -> i64 {
        self.info.expires_in_days(self.now)
    }

    pub fn expiring_soon(&self) -> bool {
        self.info.expiring_soon(self.now)
    }
}

impl fmt::Display for CertReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.info;
        writeln!(f, "subject:    {}", i.subject)?;
        writeln!(f, "issuer:     {}", i.issuer)?;
        writeln!(f, "serial:     {}", i.serial)?;
        match &i.mch_id {
            Some(m) => writeln!(f, "mch_id:     {m}")?,
            None => writeln!(f, "mch_id:     (not named in the subject)")?,
        }
        writeln!(
            f,
            "valid from: {}",
            i.not_before.format("%Y-%m-%d %H:%M UTC")
        )?;
        let days = self.expires_in_days();
        write!(
            f,
            "expires:    {} (in {days} day{}){}",
            i.not_after.format("%Y-%m-%d %H:%M UTC"),
            if days == 1 { "" } else { "s" },
            if self.expiring_soon() {
                " — renew it soon"
            } else {
                ""
            }
        )
    }
}

/// The crypto provider used for every TLS object PayDesk builds (ring; aws-lc is not in the tree).
pub fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

fn read(path: &Path) -> Result<Vec<u8>, CertError> {
    std::fs::read(path).map_err(|source| CertError::Missing {
        path: path.to_path_buf(),
        source,
    })
}

fn pem_block(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_picks_the_shape() {
        let p12 = CertSource::from_config(Path::new("/m/apiclient_cert.p12"), None).unwrap();
        assert_eq!(p12, CertSource::Pkcs12("/m/apiclient_cert.p12".into()));
        let pair = CertSource::from_config(
            Path::new("/m/apiclient_cert.pem"),
            Some(Path::new("/m/apiclient_key.pem")),
        )
        .unwrap();
        assert_eq!(pair.cert_path(), Path::new("/m/apiclient_cert.pem"));
        let err = CertSource::from_config(Path::new("/m/apiclient_cert.PEM"), None).unwrap_err();
        assert!(matches!(err, CertError::KeyNotConfigured { .. }));
    }

    #[test]
    fn to_pem_round_trips_and_names_the_merchant() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationalUnitName, "1900009191");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Some shop");
        let cert = params.self_signed(&key).unwrap();
        let p = Path::new("x.pem");
        let id =
            MerchantIdentity::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes(), p, p)
                .unwrap();
        // Not all digits in CN, so the OU names the merchant.
        assert_eq!(id.info().mch_id.as_deref(), Some("1900009191"));
        let pem = id.to_pem();
        let again = MerchantIdentity::from_pem(pem.as_bytes(), pem.as_bytes(), p, p).unwrap();
        assert_eq!(again.chain(), id.chain());
        assert_eq!(again.info(), id.info());
        id.reqwest_identity().unwrap();
    }
}
