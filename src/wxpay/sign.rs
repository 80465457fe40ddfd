//! Signing and verification of v2 parameter sets (MD5 and HMAC-SHA256).
//!
//! The rule (reference §2.1): drop `sign` and empty values, sort by name in byte order, join as
//! `name=value` with `&`, append `&key=<API key>`, digest the UTF-8 bytes, uppercase hex.
//! Verification signs over *every* received field, known or not, and compares in constant time.
//!
//! Not here: which message carries `sign_type`, how a gateway checks a request, and the order in which a
//! received message is checked; those are the envelope's ([`super::envelope`]), which can also supply
//! another digest through the `_with` variants.

use std::collections::BTreeMap;
use std::fmt;

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// A v2 parameter set: field name → text value. `BTreeMap<String, _>` iterates in byte order, which is
/// exactly the ASCII order the signature needs.
pub type Params = BTreeMap<String, String>;

/// The signature algorithm.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum SignType {
    #[default]
    #[serde(rename = "MD5")]
    Md5,
    #[serde(rename = "HMAC-SHA256")]
    HmacSha256,
}

impl SignType {
    /// The wire value of `sign_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignType::Md5 => "MD5",
            SignType::HmacSha256 => "HMAC-SHA256",
        }
    }

    /// Parse a wire value of `sign_type`.
    pub fn parse(s: &str) -> Option<SignType> {
        match s {
            "MD5" => Some(SignType::Md5),
            "HMAC-SHA256" => Some(SignType::HmacSha256),
            _ => None,
        }
    }

    /// The algorithm a signature of this length was made with: 32 hex digits MD5, 64 HMAC-SHA256.
    pub fn from_sign_len(len: usize) -> Option<SignType> {
        match len {
            32 => Some(SignType::Md5),
            64 => Some(SignType::HmacSha256),
            _ => None,
        }
    }
}

impl fmt::Display for SignType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The merchant's 32-character API v2 key. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The key itself, for signing only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `1920…6a2d`: enough to tell keys apart, not enough to use one.
    pub fn masked(&self) -> String {
        let n = self.0.chars().count();
        if n <= 8 {
            return "*".repeat(n);
        }
        let head: String = self.0.chars().take(4).collect();
        let tail: String = self.0.chars().skip(n - 4).collect();
        format!("{head}…{tail}")
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({})", self.masked())
    }
}

/// `stringSignTemp`: the exact text that is digested.
pub fn string_to_sign(params: &Params, key: &ApiKey) -> String {
    let mut s = String::with_capacity(512);
    for (name, value) in params {
        if name == "sign" || value.is_empty() {
            continue;
        }
        s.push_str(name);
        s.push('=');
        s.push_str(value);
        s.push('&');
    }
    s.push_str("key=");
    s.push_str(key.expose());
    s
}

/// The signature of `params` (its own `sign` field, if any, is ignored).
pub fn sign(params: &Params, key: &ApiKey, sign_type: SignType) -> String {
    let text = string_to_sign(params, key);
    let digest: Vec<u8> = match sign_type {
        SignType::Md5 => Md5::digest(text.as_bytes()).to_vec(),
        SignType::HmacSha256 => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes())
                .expect("HMAC accepts keys of any length");
            mac.update(text.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    };
    upper_hex(&digest)
}

/// Add `sign` (and, for HMAC, `sign_type`, which must then be sent and signed) to a request.
pub fn sign_request(params: &mut Params, key: &ApiKey, sign_type: SignType) {
    sign_request_with(params, sign_type, |p, t| sign(p, key, t));
}

/// [`sign_request`] with the signature computed by `sign_with` (see `envelope::Signer`).
pub fn sign_request_with(
    params: &mut Params,
    sign_type: SignType,
    sign_with: impl Fn(&Params, SignType) -> String,
) {
    params.remove("sign");
    if sign_type == SignType::HmacSha256 || params.contains_key("sign_type") {
        params.insert("sign_type".into(), sign_type.as_str().into());
    }
    let s = sign_with(params, sign_type);
    params.insert("sign".into(), s);
}

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("the message has no sign field")]
    Missing,
    #[error("sign has {0} characters: neither MD5 (32) nor HMAC-SHA256 (64)")]
    BadLength(usize),
    #[error("signed with {got}, but {expected} is configured")]
    WrongAlgorithm { expected: SignType, got: SignType },
    #[error("sign_type says {declared} but the signature is {by_length}")]
    Inconsistent {
        declared: String,
        by_length: SignType,
    },
    #[error("signature does not match (wrong API key, or the message was altered)")]
    Mismatch,
}

/// Verify the `sign` of a received parameter set over all its fields.
///
/// The algorithm is chosen by the length of `sign` (32 → MD5, 64 → HMAC-SHA256), as the official PHP SDK
/// does, because notifications may omit `sign_type`. With `expected = Some(t)` a signature made with
/// another algorithm is refused. Returns the algorithm that verified.
pub fn verify(
    params: &Params,
    key: &ApiKey,
    expected: Option<SignType>,
) -> Result<SignType, SignError> {
    verify_with(params, expected, |p, t| sign(p, key, t))
}

/// [`verify`] with the expected signature computed by `sign_with` (see `envelope::Signer`).
pub fn verify_with(
    params: &Params,
    expected: Option<SignType>,
    sign_with: impl Fn(&Params, SignType) -> String,
) -> Result<SignType, SignError> {
    let got = params.get("sign").ok_or(SignError::Missing)?;
    let by_length = SignType::from_sign_len(got.len()).ok_or(SignError::BadLength(got.len()))?;
    if let Some(declared) = params.get("sign_type").filter(|s| !s.is_empty())
        && SignType::parse(declared) != Some(by_length)
    {
        return Err(SignError::Inconsistent {
            declared: declared.clone(),
            by_length,
        });
    }
    if let Some(expected) = expected
        && expected != by_length
    {
        return Err(SignError::WrongAlgorithm {
            expected,
            got: by_length,
        });
    }
    if same_signature(&sign_with(params, by_length), got) {
        Ok(by_length)
    } else {
        Err(SignError::Mismatch)
    }
}

/// Whether a received signature is the computed one, in constant time. Hex digits from the wire may be
/// lowercase; the digest we compute is uppercase.
pub fn same_signature(want: &str, got: &str) -> bool {
    bool::from(want.as_bytes().ct_eq(got.to_ascii_uppercase().as_bytes()))
}

/// A random `nonce_str`: 32 characters from `[0-9A-Za-z]`, drawn from a CSPRNG.
pub fn nonce() -> String {
    use rand::Rng;
    use rand::distr::Alphanumeric;
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

fn upper_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 0xf)] as char);
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A parameter set from pairs (shared by the protocol modules' tests).
    pub(crate) fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
    use params as p;

    const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

    #[test]
    fn official_example_v1() {
        let params = p(&[
            ("appid", "wxd930ea5d5a258f4f"),
            ("mch_id", "10000100"),
            ("device_info", "1000"),
            ("body", "test"),
            ("nonce_str", "ibuaiVcKdpRxkhJA"),
        ]);
        let key = ApiKey::new(KEY);
        assert_eq!(
            string_to_sign(&params, &key),
            "appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA&key=192006250b4c09247ec02edce69f6a2d"
        );
        assert_eq!(
            sign(&params, &key, SignType::Md5),
            "9A0A8659F005D6984697E2CA0A9CF3B7"
        );
        assert_eq!(
            sign(&params, &key, SignType::HmacSha256),
            "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
        );
    }

    #[test]
    fn verify_picks_algorithm_by_length_and_refuses_tampering() {
        let key = ApiKey::new(KEY);
        let mut params = p(&[("a", "1"), ("b", "中文"), ("empty", "")]);
        sign_request(&mut params, &key, SignType::HmacSha256);
        assert_eq!(params["sign_type"], "HMAC-SHA256");
        assert_eq!(verify(&params, &key, None), Ok(SignType::HmacSha256));
        assert_eq!(
            verify(&params, &key, Some(SignType::Md5)),
            Err(SignError::WrongAlgorithm {
                expected: SignType::Md5,
                got: SignType::HmacSha256
            })
        );
        // An unknown field added after signing breaks the signature: all fields count.
        let mut extra = params.clone();
        extra.insert("zzz".into(), "x".into());
        assert_eq!(verify(&extra, &key, None), Err(SignError::Mismatch));
        // Lowercase hex is the same signature.
        let mut lower = params.clone();
        let s = lower["sign"].to_ascii_lowercase();
        lower.insert("sign".into(), s);
        assert!(verify(&lower, &key, None).is_ok());
        assert_eq!(
            verify(
                &params,
                &ApiKey::new("wrongwrongwrongwrongwrongwrong12"),
                None
            ),
            Err(SignError::Mismatch)
        );
        let mut no_sign = params.clone();
        no_sign.remove("sign");
        assert_eq!(verify(&no_sign, &key, None), Err(SignError::Missing));
    }

    #[test]
    fn md5_request_without_sign_type_stays_without_it() {
        let key = ApiKey::new(KEY);
        let mut params = p(&[("a", "1")]);
        sign_request(&mut params, &key, SignType::Md5);
        assert!(!params.contains_key("sign_type"));
        assert_eq!(params["sign"].len(), 32);
    }

    #[test]
    fn nonce_is_32_alphanumerics_and_random() {
        let a = nonce();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(a, nonce());
    }

    #[test]
    fn key_is_never_shown() {
        let key = ApiKey::new(KEY);
        assert!(!format!("{key:?}").contains(KEY));
        assert_eq!(key.masked(), "1920…6a2d");
    }
}
