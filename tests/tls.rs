//! The merchant certificate and the sandbox's TLS port, end to end on loopback: a PKI issued into a temp dir,
//! the TLS listener serving a tiny router, and reqwest clients with and without the merchant identity
//! (loaded from the p12 and from the PEM pair), plus the certificate checks `paydesk config check` relies on.

use std::net::SocketAddr;
use std::path::Path;

use axum::routing::post;
use axum::{Extension, Router};
use chrono::{DateTime, Duration, TimeZone, Utc};
use paydesk::sandbox::tls::pki::{
    CA_CERT, CA_KEY, MERCHANT_CERT, MERCHANT_KEY, MERCHANT_P12, SERVER_KEY,
};
use paydesk::sandbox::tls::{
    ClientCert, Provenance, SandboxPki, secapi_guard, serve_tls, server_config,
};
use paydesk::wxpay::cert::{CertError, CertSource, MerchantIdentity, describe};

const MCH: &str = "1230000109";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 6, 0, 0).unwrap()
}

fn issue(dir: &Path) -> SandboxPki {
    SandboxPki::ensure(dir, MCH, now()).expect("issue PKI")
}

async fn echo(Extension(client): Extension<ClientCert>) -> String {
    match client {
        ClientCert::Verified { mch_id, .. } => format!("verified {}", mch_id.unwrap_or_default()),
        ClientCert::None => "anonymous".to_owned(),
    }
}

/// Start the TLS listener on 127.0.0.1:0 with `/pay/echo` and `/secapi/echo`.
async fn start(pki: &SandboxPki) -> SocketAddr {
    let router = Router::new()
        .route("/pay/echo", post(echo))
        .route("/secapi/echo", post(echo))
        .layer(axum::middleware::from_fn(secapi_guard));
    let config = server_config(pki).expect("server config");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_tls(listener, config, router));
    addr
}

/// A client that trusts only the sandbox CA in `pki`.
fn client(pki: &SandboxPki, identity: Option<reqwest::Identity>) -> reqwest::Client {
    let ca = std::fs::read(pki.path(CA_CERT)).unwrap();
    let mut b = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap());
    if let Some(id) = identity {
        b = b.identity(id);
    }
    b.build().unwrap()
}

async fn post_to(
    client: &reqwest::Client,
    addr: SocketAddr,
    path: &str,
) -> reqwest::Result<(u16, String)> {
    let resp = client
        .post(format!("https://{addr}{path}"))
        .body("<xml/>")
        .send()
        .await?;
    let status = resp.status().as_u16();
    Ok((status, resp.text().await?))
}

#[tokio::test]
async fn secapi_needs_the_merchant_certificate_and_pay_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let pki = issue(dir.path());
    let addr = start(&pki).await;

    let anonymous = client(&pki, None);
    assert_eq!(
        post_to(&anonymous, addr, "/pay/echo").await.unwrap(),
        (200, "anonymous".to_owned())
    );
    let (status, body) = post_to(&anonymous, addr, "/secapi/echo").await.unwrap();
    assert_eq!(status, 400);
    assert!(
        body.contains("No required SSL certificate was sent"),
        "{body}"
    );

    // The p12 as WeChat issues it: password = mch_id.
    let from_p12 = MerchantIdentity::load(&pki.merchant_p12(), MCH).unwrap();
    let with_p12 = client(&pki, Some(from_p12.reqwest_identity().unwrap()));
    assert_eq!(
        post_to(&with_p12, addr, "/secapi/echo").await.unwrap(),
        (200, format!("verified {MCH}"))
    );
    assert_eq!(
        post_to(&with_p12, addr, "/pay/echo").await.unwrap(),
        (200, format!("verified {MCH}"))
    );

    // The PEM pair, through a preconfigured rustls client config this time.
    let from_pem = MerchantIdentity::load(&pki.merchant_pem(), MCH).unwrap();
    assert_eq!(from_pem.chain()[0], from_p12.chain()[0]);
    let tls = from_pem
        .rustls_client_config(pki.ca_roots().unwrap())
        .unwrap();
    let with_pem = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .unwrap();
    assert_eq!(
        post_to(&with_pem, addr, "/secapi/echo").await.unwrap(),
        (200, format!("verified {MCH}"))
    );
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let pki = issue(dir.path());
    let other = issue(other_dir.path());
    let addr = start(&pki).await;

    let foreign = MerchantIdentity::load(&other.merchant_p12(), MCH).unwrap();
    let c = client(&pki, Some(foreign.reqwest_identity().unwrap()));
    for path in ["/secapi/echo", "/pay/echo"] {
        let res = post_to(&c, addr, path).await;
        assert!(
            res.is_err(),
            "{path} answered {res:?} to a certificate from another CA"
        );
    }
    // Only those connections were refused: the listener goes on serving.
    assert_eq!(
        post_to(&client(&pki, None), addr, "/pay/echo")
            .await
            .unwrap(),
        (200, "anonymous".to_owned())
    );
}

#[test]
fn pki_is_issued_once_then_reused_and_follows_the_mch_id() {
    let dir = tempfile::tempdir().unwrap();
    let first = issue(dir.path());
    assert_eq!(
        (first.ca, first.server, first.merchant),
        (Provenance::Issued, Provenance::Issued, Provenance::Issued)
    );
    let before = std::fs::read(dir.path().join(MERCHANT_P12)).unwrap();

    let again = issue(dir.path());
    assert_eq!(
        (again.ca, again.server, again.merchant),
        (Provenance::Reused, Provenance::Reused, Provenance::Reused)
    );
    assert_eq!(
        std::fs::read(dir.path().join(MERCHANT_P12)).unwrap(),
        before
    );

    let other = SandboxPki::ensure(dir.path(), "1900000109", now()).unwrap();
    assert_eq!(
        (other.ca, other.server, other.merchant),
        (Provenance::Reused, Provenance::Reused, Provenance::Reissued)
    );
    let info = MerchantIdentity::load(&other.merchant_p12(), "1900000109").unwrap();
    assert_eq!(info.info().mch_id.as_deref(), Some("1900000109"));

    // Close to expiry, the server and merchant certificates are issued again from the same CA.
    let later = SandboxPki::ensure(dir.path(), "1900000109", now() + Duration::days(820)).unwrap();
    assert_eq!(
        (later.ca, later.server, later.merchant),
        (Provenance::Reused, Provenance::Reissued, Provenance::Reused)
    );
    assert!(later.summary().contains("apiclient_cert.p12"));
}

#[cfg(unix)]
#[test]
fn private_keys_are_0600() {
    use paydesk::sandbox::tls::pki::SERVER_CERT;
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let pki_dir = dir.path().join("certs");
    issue(&pki_dir);
    let mode = |name: &str| {
        std::fs::metadata(pki_dir.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    for key in [CA_KEY, SERVER_KEY, MERCHANT_KEY, MERCHANT_P12] {
        assert_eq!(mode(key), 0o600, "{key}");
    }
    assert_eq!(mode(CA_CERT), 0o644);
    assert_eq!(mode(SERVER_CERT), 0o644);
    assert_eq!(mode(MERCHANT_CERT), 0o644);
    assert_eq!(
        std::fs::metadata(&pki_dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
}

#[test]
fn an_incomplete_ca_is_an_error_not_a_silent_new_ca() {
    let dir = tempfile::tempdir().unwrap();
    issue(dir.path());
    std::fs::remove_file(dir.path().join(CA_KEY)).unwrap();
    let err = SandboxPki::ensure(dir.path(), MCH, now())
        .unwrap_err()
        .to_string();
    assert!(err.contains("ca.key") && err.contains("remove"), "{err}");
}

#[test]
fn describe_reports_the_merchant_and_the_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let pki = issue(dir.path());
    for source in [pki.merchant_p12(), pki.merchant_pem()] {
        let report = describe(&source, MCH, now()).unwrap();
        assert_eq!(report.info.mch_id.as_deref(), Some(MCH));
        assert_eq!(report.expires_in_days(), 5 * 365);
        assert!(!report.expiring_soon());
        let text = report.to_string();
        assert!(text.contains(&format!("CN={MCH}")), "{text}");
        assert!(text.contains("in 1825 days"), "{text}");
        assert!(text.contains(&report.info.serial), "{text}");
    }
    let soon = describe(
        &pki.merchant_pem(),
        MCH,
        now() + Duration::days(5 * 365 - 10),
    )
    .unwrap();
    assert!(soon.expiring_soon());
    assert!(soon.to_string().contains("renew"));
}

#[test]
fn certificate_problems_have_their_own_errors() {
    let dir = tempfile::tempdir().unwrap();
    let pki = issue(dir.path());

    let wrong_password = describe(&pki.merchant_p12(), "1900000109", now()).unwrap_err();
    assert!(
        matches!(wrong_password, CertError::WrongPassword { .. }),
        "{wrong_password:?}"
    );
    assert!(wrong_password.to_string().contains("mch_id"));

    let mismatched = CertSource::PemPair {
        cert: pki.path(MERCHANT_CERT),
        key: pki.path(SERVER_KEY),
    };
    let err = describe(&mismatched, MCH, now()).unwrap_err();
    assert!(matches!(err, CertError::KeyMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("does not belong"), "{err}");

    let err = describe(&pki.merchant_pem(), "1900000109", now()).unwrap_err();
    assert!(
        matches!(&err, CertError::WrongMerchant { expected, found } if expected == "1900000109" && found == MCH),
        "{err:?}"
    );

    let err = describe(&pki.merchant_pem(), MCH, now() + Duration::days(6 * 365)).unwrap_err();
    assert!(matches!(err, CertError::Expired { .. }), "{err:?}");

    let err = describe(&CertSource::Pkcs12(dir.path().join("nope.p12")), MCH, now()).unwrap_err();
    assert!(matches!(err, CertError::Missing { .. }), "{err:?}");
    assert!(err.to_string().contains("nope.p12"));

    let no_key = CertSource::PemPair {
        cert: pki.path(MERCHANT_CERT),
        key: pki.path(MERCHANT_CERT),
    };
    let err = describe(&no_key, MCH, now()).unwrap_err();
    assert!(matches!(err, CertError::NoPrivateKey { .. }), "{err:?}");

    let err = CertSource::from_config(&pki.path(MERCHANT_CERT), None).unwrap_err();
    assert!(err.to_string().contains("cert_key"), "{err}");
}

/// A p12 made by OpenSSL the way WeChat's are (`-legacy`: RC2-40 certificate bag, 3DES key bag, SHA-1 MAC,
/// RSA 2048 key, mch_id in CN and OU), self-signed and valid for 100 years. Test data only.
#[test]
fn a_legacy_wechat_style_p12_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/legacy_apiclient_cert.p12");
    let source = CertSource::from_config(&path, None).unwrap();
    // The fixture was made on 2026-11-28 at 14:10 UTC; check it at a later moment.
    let at = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    let report = describe(&source, "1900009191", at).unwrap();
    assert_eq!(report.info.mch_id.as_deref(), Some("1900009191"));
    let identity = MerchantIdentity::load(&source, "1900009191").unwrap();
    identity.reqwest_identity().unwrap();
    let err = MerchantIdentity::load(&source, "1900009192").unwrap_err();
    assert!(matches!(err, CertError::WrongPassword { .. }), "{err:?}");
}

/// `paydesk config check` with `[merchant] cert = …`: opens the certificate and says whose it is and when it
/// expires; another merchant's p12 (wrong password) and a PEM without `cert_key` are reported.
#[test]
fn config_check_describes_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = SandboxPki::ensure(&dir.path().join("certs"), MCH, Utc::now()).unwrap();
    let check = |mch_id: &str, cert_lines: &str| {
        let config = dir.path().join("paydesk.toml");
        std::fs::write(
            &config,
            format!(
                "[merchant]\nappid = \"wxd930ea5d5a258f4f\"\nmch_id = \"{mch_id}\"\nkey = \"192006250b4c09247ec02edce69f6a2d\"\n{cert_lines}"
            ),
        )
        .unwrap();
        // It holds a key: PayDesk refuses a file other users can read.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_paydesk"))
            .args(["config", "check"])
            .env("PAYDESK_CONFIG", &config)
            .env("PAYDESK_DATA_DIR", dir.path())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    };
    let p12 = format!(
        "cert = {:?}\n",
        pki.path(MERCHANT_P12).display().to_string()
    );
    let (code, text) = check(MCH, &p12);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(&format!("OK for mch_id {MCH}")), "{text}");
    // Issued just now for five years; a few seconds have passed since.
    assert!(text.contains("(in 1824 days)"), "{text}");

    let pem = format!(
        "cert = {:?}\ncert_key = {:?}\n",
        pki.path(MERCHANT_CERT).display().to_string(),
        pki.path(MERCHANT_KEY).display().to_string()
    );
    let (code, text) = check("1900000109", &pem);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("PROBLEM") && text.contains("1900000109"),
        "{text}"
    );

    let (code, text) = check("1900000109", &p12);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("wrong password"), "{text}");

    let pem_only = format!(
        "cert = {:?}\n",
        pki.path(MERCHANT_CERT).display().to_string()
    );
    let (code, text) = check(MCH, &pem_only);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("cert_key"), "{text}");

    let (code, text) = check(MCH, "");
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("refunds are refused"), "{text}");
}
