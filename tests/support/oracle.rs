//! An independent v2 signer: MD5 and HMAC-SHA256 signatures computed here from the reference's rule (§2.1)
//! with the digest crates directly, never with `paydesk::wxpay`'s signing, so that a bug in PayDesk's signer
//! cannot pass on both ends of a test. `tests/sandbox.rs` pins it to the reference's vector V1.
//!
//! [`Oracle`] plugs it into a sandbox (`SandboxConfig::signer`); the free functions sign and check field
//! sets and build raw bodies for requests and notifications a test sends itself.
//!
//! [`decrypt_req_info`] is the same idea for refund notifications: AES-256-ECB with the `aes` crate directly,
//! written from the reference (§7.3), never with `paydesk::wxpay::refund`.

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

/// Decrypt a refund notification's `req_info` (reference §7.3): base64, then AES-256-ECB with the 32 ASCII
/// bytes of the lowercase hex MD5 of `key`, then PKCS#7 padding off. Returns the plaintext (`<root>…`).
pub fn decrypt_req_info(req_info: &str, key: &str) -> Result<String, String> {
    use aes::Aes256;
    use aes::cipher::{BlockDecrypt, KeyInit, generic_array::GenericArray};
    use base64::Engine as _;
    let mut data = base64::engine::general_purpose::STANDARD
        .decode(req_info)
        .map_err(|e| e.to_string())?;
    if data.is_empty() || data.len() % 16 != 0 {
        return Err(format!("{} bytes is not whole AES blocks", data.len()));
    }
    let aes_key: String = Md5::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let cipher = Aes256::new_from_slice(aes_key.as_bytes()).map_err(|e| e.to_string())?;
    for block in data.chunks_exact_mut(16) {
        cipher.decrypt_block(GenericArray::from_mut_slice(block));
    }
    let pad = *data.last().unwrap() as usize;
    if !(1..=16).contains(&pad) || data[data.len() - pad..].iter().any(|&b| b as usize != pad) {
        return Err("bad PKCS#7 padding".into());
    }
    data.truncate(data.len() - pad);
    String::from_utf8(data).map_err(|e| e.to_string())
}

/// The text of `<name>` in a flat XML document (CDATA or plain), read without the crate's decoder.
pub fn xml_field(doc: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = doc.find(&open)? + open.len();
    let end = doc[start..].find(&format!("</{name}>"))? + start;
    let v = &doc[start..end];
    Some(
        v.strip_prefix("<![CDATA[")
            .and_then(|v| v.strip_suffix("]]>"))
            .unwrap_or(v)
            .to_string(),
    )
}
