//! The sandbox's own little PKI, kept in one directory (`paydesk sandbox --certs DIR`): a CA, a server
//! certificate for `127.0.0.1`/`localhost`, and a merchant API client certificate for one mch_id, in the
//! three files WeChat gives a merchant (`apiclient_cert.pem`, `apiclient_key.pem`, and `apiclient_cert.p12`
//! with password = mch_id).
//!
//! First start issues everything; later starts reuse what is there after checking it: the CA must load
//! (a broken CA is an error — clients were told to trust it); a server or merchant certificate that does not
//! chain to the CA, is for another mch_id, or expires within [`RENEW_BEFORE_DAYS`] is issued again from the
//! CA. Private keys (and the p12) are written 0600 on Unix, the directory 0700.
//!
//! Keys are ECDSA P-256 (ring cannot generate RSA keys; rustls and the merchant certificate loader take both).
//! The p12 is written the legacy way WeChat's are (3DES, SHA-1 MAC) so the loader is exercised on that path.
//!
//! What it is not: the TLS server (`server.rs`), nor a general CA — no revocation, no renewal of the CA.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use rustls::client::danger::ServerCertVerifier;
use rustls::{RootCertStore, client::WebPkiServerVerifier, server::WebPkiClientVerifier};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::wxpay::cert::{CertError, CertInfo, CertSource, MerchantIdentity, provider};

pub const CA_CERT: &str = "ca.pem";
pub const CA_KEY: &str = "ca.key";
pub const SERVER_CERT: &str = "server.pem";
pub const SERVER_KEY: &str = "server.key";
pub const MERCHANT_CERT: &str = "apiclient_cert.pem";
pub const MERCHANT_KEY: &str = "apiclient_key.pem";
pub const MERCHANT_P12: &str = "apiclient_cert.p12";

/// Server and merchant certificates this close to expiry are issued again on start.
pub const RENEW_BEFORE_DAYS: i64 = 30;
const CA_DAYS: i64 = 3650;
const SERVER_DAYS: i64 = 825;
/// WeChat's merchant API certificates are valid for five years.
const MERCHANT_DAYS: i64 = 5 * 365;

/// What [`SandboxPki::ensure`] did with each part, for the start-up message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provenance {
    Issued,
    Reused,
    /// Was there but unusable (another mch_id, expiring, not from this CA…), so issued again.
    Reissued,
}

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{dir} holds {present} but not {absent}: the sandbox CA is incomplete; remove {dir} to issue a new PKI"
    )]
    IncompleteCa {
        dir: PathBuf,
        present: &'static str,
        absent: &'static str,
    },
    #[error("the sandbox CA in {dir} cannot be used ({detail}); remove {dir} to issue a new PKI")]
    BadCa { dir: PathBuf, detail: String },
    #[error("issuing a certificate failed: {0}")]
    Issue(#[from] rcgen::Error),
    #[error("writing {MERCHANT_P12} failed: {0}")]
    Pkcs12(String),
    #[error(transparent)]
    Cert(#[from] CertError),
    #[error("TLS configuration failed: {0}")]
    Tls(String),
}

/// A checked PKI directory. Paths are the files named by the constants above.
#[derive(Debug, Clone)]
pub struct SandboxPki {
    dir: PathBuf,
    mch_id: String,
    pub ca: Provenance,
    pub server: Provenance,
    pub merchant: Provenance,
}

impl SandboxPki {
    /// Issue the PKI into `dir`, or check and reuse what is there (see the module doc). `now` decides
    /// validity, so tests can pin it.
    pub fn ensure(dir: &Path, mch_id: &str, now: DateTime<Utc>) -> Result<Self, PkiError> {
        create_private_dir(dir)?;
        let (ca_key, ca_der, ca) = load_or_issue_ca(dir, now)?;
        let issuer =
            Issuer::from_ca_cert_der(&ca_der, &ca_key).map_err(|e| bad_ca(dir, &e.to_string()))?;
        let roots = Arc::new(roots_of(&ca_der)?);

        let server = match check_server(dir, &roots, now) {
            Presence::Absent => {
                issue_server(dir, &issuer, now)?;
                Provenance::Issued
            }
            Presence::Good => Provenance::Reused,
            Presence::Bad => {
                issue_server(dir, &issuer, now)?;
                Provenance::Reissued
            }
        };
        let merchant = match check_merchant(dir, mch_id, &roots, now) {
            Presence::Absent => {
                issue_merchant(dir, mch_id, &issuer, &ca_der, now)?;
                Provenance::Issued
            }
            Presence::Good => Provenance::Reused,
            Presence::Bad => {
                issue_merchant(dir, mch_id, &issuer, &ca_der, now)?;
                Provenance::Reissued
            }
        };
        Ok(SandboxPki {
            dir: dir.to_path_buf(),
            mch_id: mch_id.to_owned(),
            ca,
            server,
            merchant,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn mch_id(&self) -> &str {
        &self.mch_id
    }

    /// A file of this PKI, e.g. `pki.path(CA_CERT)`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The merchant certificate as a PKCS#12 source (password = mch_id), as a merchant configures it.
    pub fn merchant_p12(&self) -> CertSource {
        CertSource::Pkcs12(self.path(MERCHANT_P12))
    }

    /// The merchant certificate as a PEM pair.
    pub fn merchant_pem(&self) -> CertSource {
        CertSource::PemPair {
            cert: self.path(MERCHANT_CERT),
            key: self.path(MERCHANT_KEY),
        }
    }

    /// The CA as rustls trust roots (for clients of the sandbox, and for client-certificate checks).
    pub fn ca_roots(&self) -> Result<RootCertStore, PkiError> {
        let pem = read(&self.path(CA_CERT))?;
        let der =
            CertificateDer::from_pem_slice(&pem).map_err(|e| bad_ca(&self.dir, &e.to_string()))?;
        roots_of(&der)
    }

    /// The server certificate chain and key.
    pub fn server_identity(&self) -> Result<MerchantIdentity, PkiError> {
        Ok(MerchantIdentity::load(
            &CertSource::PemPair {
                cert: self.path(SERVER_CERT),
                key: self.path(SERVER_KEY),
            },
            "",
        )?)
    }

    /// One line per file for `paydesk sandbox` to print.
    pub fn summary(&self) -> String {
        let word = |p: Provenance| match p {
            Provenance::Issued => "issued",
            Provenance::Reused => "reused",
            Provenance::Reissued => "issued again",
        };
        format!(
            "sandbox CA ({}): {}\nserver certificate for 127.0.0.1/localhost ({}): {}\nmerchant certificate for mch_id {} ({}): {}, {} + {} (p12 password = mch_id)",
            word(self.ca),
            self.path(CA_CERT).display(),
            word(self.server),
            self.path(SERVER_CERT).display(),
            self.mch_id,
            word(self.merchant),
            self.path(MERCHANT_P12).display(),
            self.path(MERCHANT_CERT).display(),
            self.path(MERCHANT_KEY).display(),
        )
    }
}

enum Presence {
    Absent,
    Good,
    Bad,
}

fn load_or_issue_ca(
    dir: &Path,
    now: DateTime<Utc>,
) -> Result<(KeyPair, CertificateDer<'static>, Provenance), PkiError> {
    let (cert_path, key_path) = (dir.join(CA_CERT), dir.join(CA_KEY));
    match (cert_path.exists(), key_path.exists()) {
        (false, false) => {
            let key = KeyPair::generate()?;
            let mut params = CertificateParams::default();
            params.distinguished_name = name(&[
                (DnType::CommonName, "PayDesk sandbox CA"),
                (DnType::OrganizationName, "PayDesk sandbox"),
            ]);
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            params.key_usages = vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
                KeyUsagePurpose::DigitalSignature,
            ];
            validity(&mut params, now, CA_DAYS);
            let cert = params.self_signed(&key)?;
            write_file(&key_path, key.serialize_pem().as_bytes(), true)?;
            write_file(&cert_path, cert.pem().as_bytes(), false)?;
            Ok((key, cert.der().clone(), Provenance::Issued))
        }
        (true, true) => {
            let identity = MerchantIdentity::load(
                &CertSource::PemPair {
                    cert: cert_path,
                    key: key_path.clone(),
                },
                "",
            )
            .map_err(|e| bad_ca(dir, &e.to_string()))?;
            let info = identity.info();
            if info.expires_in_days(now) < RENEW_BEFORE_DAYS {
                return Err(bad_ca(
                    dir,
                    &format!("it expires on {}", info.not_after.format("%Y-%m-%d")),
                ));
            }
            let key_pem = String::from_utf8_lossy(&read(&key_path)?).into_owned();
            let key = KeyPair::from_pem(&key_pem).map_err(|e| bad_ca(dir, &e.to_string()))?;
            Ok((key, identity.chain()[0].clone(), Provenance::Reused))
        }
        (true, false) => Err(PkiError::IncompleteCa {
            dir: dir.to_path_buf(),
            present: CA_CERT,
            absent: CA_KEY,
        }),
        (false, true) => Err(PkiError::IncompleteCa {
            dir: dir.to_path_buf(),
            present: CA_KEY,
            absent: CA_CERT,
        }),
    }
}

fn check_server(dir: &Path, roots: &Arc<RootCertStore>, now: DateTime<Utc>) -> Presence {
    let (cert, key) = (dir.join(SERVER_CERT), dir.join(SERVER_KEY));
    if !cert.exists() && !key.exists() {
        return Presence::Absent;
    }
    let Ok(identity) = MerchantIdentity::load(&CertSource::PemPair { cert, key }, "") else {
        return Presence::Bad;
    };
    let Ok(verifier) =
        WebPkiServerVerifier::builder_with_provider(roots.clone(), Arc::new(provider())).build()
    else {
        return Presence::Bad;
    };
    let at = unix_time(now);
    let chains = ["127.0.0.1", "localhost"].iter().all(|host| {
        ServerName::try_from(*host).is_ok_and(|name| {
            verifier
                .verify_server_cert(&identity.chain()[0], &[], &name, &[], at)
                .is_ok()
        })
    });
    if chains && identity.info().expires_in_days(now) >= RENEW_BEFORE_DAYS {
        Presence::Good
    } else {
        Presence::Bad
    }
}

fn check_merchant(
    dir: &Path,
    mch_id: &str,
    roots: &Arc<RootCertStore>,
    now: DateTime<Utc>,
) -> Presence {
    let files = [MERCHANT_CERT, MERCHANT_KEY, MERCHANT_P12].map(|f| dir.join(f));
    if files.iter().all(|f| !f.exists()) {
        return Presence::Absent;
    }
    let good = |identity: &MerchantIdentity| {
        let chains =
            WebPkiClientVerifier::builder_with_provider(roots.clone(), Arc::new(provider()))
                .build()
                .is_ok_and(|v| {
                    v.verify_client_cert(&identity.chain()[0], &[], unix_time(now))
                        .is_ok()
                });
        let info: &CertInfo = identity.info();
        chains
            && info.mch_id.as_deref() == Some(mch_id)
            && info.expires_in_days(now) >= RENEW_BEFORE_DAYS
    };
    let pem = MerchantIdentity::load(
        &CertSource::PemPair {
            cert: files[0].clone(),
            key: files[1].clone(),
        },
        mch_id,
    );
    // The p12 must open with this mch_id and hold the same certificate as the PEM pair.
    let p12 = MerchantIdentity::load(&CertSource::Pkcs12(files[2].clone()), mch_id);
    match (pem, p12) {
        (Ok(pem), Ok(p12)) if good(&pem) && pem.chain()[0] == p12.chain()[0] => Presence::Good,
        _ => Presence::Bad,
    }
}

fn issue_server(
    dir: &Path,
    issuer: &Issuer<'_, &KeyPair>,
    now: DateTime<Utc>,
) -> Result<(), PkiError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
    params.distinguished_name = name(&[
        (DnType::CommonName, "PayDesk sandbox gateway"),
        (DnType::OrganizationName, "PayDesk sandbox"),
    ]);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, now, SERVER_DAYS);
    let cert = params.signed_by(&key, issuer)?;
    write_file(&dir.join(SERVER_KEY), key.serialize_pem().as_bytes(), true)?;
    write_file(&dir.join(SERVER_CERT), cert.pem().as_bytes(), false)
}

fn issue_merchant(
    dir: &Path,
    mch_id: &str,
    issuer: &Issuer<'_, &KeyPair>,
    ca_der: &CertificateDer<'static>,
    now: DateTime<Utc>,
) -> Result<(), PkiError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    // Like WeChat's merchant API certificates: the merchant id is the common name.
    params.distinguished_name = name(&[
        (DnType::CommonName, mch_id),
        (DnType::OrganizationName, "PayDesk sandbox merchant"),
        (DnType::CountryName, "CN"),
    ]);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, now, MERCHANT_DAYS);
    let cert = params.signed_by(&key, issuer)?;
    let p12 = pkcs12(mch_id, &key, cert.der(), ca_der)?;
    write_file(
        &dir.join(MERCHANT_KEY),
        key.serialize_pem().as_bytes(),
        true,
    )?;
    write_file(&dir.join(MERCHANT_CERT), cert.pem().as_bytes(), false)?;
    write_file(&dir.join(MERCHANT_P12), &p12, true)
}

/// `apiclient_cert.p12` as WeChat writes it: key + certificate (+ the CA), password = mch_id, 3DES and a
/// SHA-1 MAC.
fn pkcs12(
    mch_id: &str,
    key: &KeyPair,
    cert: &CertificateDer<'_>,
    ca: &CertificateDer<'_>,
) -> Result<Vec<u8>, PkiError> {
    use p12_keystore::{
        Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKey,
        PrivateKeyChain,
    };
    use sha2::Digest as _;
    let err = |e: p12_keystore::error::Error| PkiError::Pkcs12(e.to_string());
    let local_key_id = sha2::Sha256::digest(cert.as_ref())[..20].to_vec();
    let chain = PrivateKeyChain::new(
        local_key_id,
        PrivateKey::from_der(key.serialized_der()).map_err(err)?,
        [
            Certificate::from_der(cert.as_ref()).map_err(err)?,
            Certificate::from_der(ca.as_ref()).map_err(err)?,
        ],
    );
    let mut store = KeyStore::new();
    store.add_entry("apiclient_cert", KeyStoreEntry::PrivateKeyChain(chain));
    store
        .writer(mch_id)
        .encryption_algorithm(EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc)
        .mac_algorithm(MacAlgorithm::HmacSha1)
        .encryption_iterations(2048)
        .mac_iterations(2048)
        .write()
        .map_err(err)
}

fn name(parts: &[(DnType, &str)]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (ty, value) in parts {
        dn.push(ty.clone(), *value);
    }
    dn
}

/// Valid from a day before `now` (clock skew between processes) for `days`, with a random serial.
fn validity(params: &mut CertificateParams, now: DateTime<Utc>, days: i64) {
    let at = |t: DateTime<Utc>| {
        time::OffsetDateTime::from_unix_timestamp(t.timestamp())
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    };
    params.not_before = at(now - Duration::days(1));
    params.not_after = at(now + Duration::days(days));
    let mut serial: [u8; 16] = rand::random();
    serial[0] &= 0x7f; // positive INTEGER
    serial[0] |= 0x01; // no leading zero byte
    params.serial_number = Some(SerialNumber::from_slice(&serial));
}

fn roots_of(ca: &CertificateDer<'_>) -> Result<RootCertStore, PkiError> {
    let mut roots = RootCertStore::empty();
    roots
        .add(ca.clone().into_owned())
        .map_err(|e| PkiError::Tls(e.to_string()))?;
    Ok(roots)
}

fn unix_time(now: DateTime<Utc>) -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(now.timestamp()).unwrap_or(0),
    ))
}

fn bad_ca(dir: &Path, detail: &str) -> PkiError {
    PkiError::BadCa {
        dir: dir.to_path_buf(),
        detail: detail.to_owned(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, PkiError> {
    std::fs::read(path).map_err(|source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn create_private_dir(dir: &Path) -> Result<(), PkiError> {
    let io = |source| PkiError::Io {
        path: dir.to_path_buf(),
        source,
    };
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io)
}

/// Write through a temporary file and rename, so a crash never leaves half a key; `private` files are
/// created 0600 on Unix.
fn write_file(path: &Path, bytes: &[u8], private: bool) -> Result<(), PkiError> {
    use std::io::Write as _;
    let io = |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    // A leftover from a crash may have other permissions; `mode` only applies to a new file.
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io)
}
