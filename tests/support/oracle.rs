//! An independent v2 signer: MD5 and HMAC-SHA256 signatures computed here from the reference's rule (§2.1)
//! with the digest crates directly, never with `paydesk::wxpay`'s signing, so that a bug in PayDesk's signer
//! cannot pass on both ends of a test. `tests/sandbox.rs` pins it to the reference's vector V1.
//!
//! [`Oracle`] plugs it into a sandbox (`SandboxConfig::signer`); the free functions sign and check field
//! sets and build raw bodies for requests and notifications a test sends itself.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use paydesk::sandbox_defaults::KEY;
use paydesk::wxpay::{ApiKey, Params, SignType, Signer};
use sha2::Sha256;

/// A v2 field set.
pub type Fields = BTreeMap<String, String>;

/// The signature of `p` with `key`: fields other than `sign` with a value, sorted by name in byte order,
/// `name=value` joined with `&`, then `&key=…`; uppercase hex of MD5 or of HMAC-SHA256 keyed with `key`.
pub fn sign(p: &Fields, key: &str, hmac: bool) -> String {
    let mut pairs: Vec<(&String, &String)> = p
        .iter()
        .filter(|(k, v)| k.as_str() != "sign" && !v.is_empty())
        .collect();
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut s: String = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    s.push_str("&key=");
    s.push_str(key);
    let digest: Vec<u8> = if hmac {
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(s.as_bytes());
        mac.finalize().into_bytes().to_vec()
    } else {
        Md5::digest(s.as_bytes()).to_vec()
    };
    digest.iter().map(|b| format!("{b:02X}")).collect()
}

/// The oracle as a sandbox's signer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Oracle;

impl Signer for Oracle {
    fn sign(&self, fields: &Params, sign_type: SignType, key: &ApiKey) -> String {
        sign(fields, key.expose(), sign_type == SignType::HmacSha256)
    }
}

/// Check a received body's signature (sandbox key); the algorithm follows the sign's length.
pub fn assert_signed(p: &Fields) {
    let sign = p.get("sign").expect("a sign field");
    let hmac = match sign.len() {
        32 => false,
        64 => true,
        n => panic!("sign of length {n}"),
    };
    assert_eq!(
        &self::sign(p, KEY, hmac),
        sign,
        "independent signature check: {p:?}"
    );
}

/// Add `sign` (and, for HMAC, `sign_type`) to a request or notification, as a sender must.
pub fn sign_fields(p: &mut Fields, key: &str, hmac: bool) {
    if hmac {
        p.insert("sign_type".into(), "HMAC-SHA256".into());
    }
    let s = sign(p, key, hmac);
    p.insert("sign".into(), s);
}

/// A body built here, without the crate's encoder: every value in CDATA.
pub fn raw_xml(p: &Fields) -> String {
    let mut s = String::from("<xml>");
    for (k, v) in p {
        s.push_str(&format!("<{k}><![CDATA[{v}]]></{k}>"));
    }
    s.push_str("</xml>");
    s
}

/// A request body signed with the sandbox key.
pub fn signed(mut p: Fields, hmac: bool) -> String {
    sign_fields(&mut p, KEY, hmac);
    raw_xml(&p)
}
