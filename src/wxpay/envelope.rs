//! One v2 message for both ends of the protocol: how a field set is signed (and whether it carries
//! `sign_type`), encoded, decoded and verified, and in which order a received one is checked.
//!
//! The merchant side (the client's requests and answers, the notification listener) and the gateway side
//! (the sandbox's answers and notifications, its check of requests) both go through here, so the two ends
//! cannot drift apart. The digest itself comes from a [`Signer`]: PayDesk's own is [`V2Signer`]
//! ([`sign::sign`]); the sandbox accepts another one, so that tests can run the gateway with an independently
//! written signer and a signing bug cannot pass on both ends.
//!
//! Not here: the digest rules ([`sign`]), the XML codec ([`xml`]), the typed messages and the
//! fields of each call ([`super::api`]), transport ([`super::client`]).

use super::error::WxError;
use super::sign::{self, ApiKey, Params, SignError, SignType};
use super::xml::{self, XmlError};

/// Computes v2 signatures.
pub trait Signer: Send + Sync {
    /// The uppercase hex signature of `fields` with `key` (their own `sign`, if any, is ignored).
    fn sign(&self, fields: &Params, sign_type: SignType, key: &ApiKey) -> String;
}

/// PayDesk's signer: [`sign::sign`]. The default everywhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct V2Signer;

impl Signer for V2Signer {
    fn sign(&self, fields: &Params, sign_type: SignType, key: &ApiKey) -> String {
        sign::sign(fields, key, sign_type)
    }
}

/// One party's means to seal and open messages: a signer and the API key it signs with.
#[derive(Clone, Copy)]
pub struct Sealer<'a> {
    signer: &'a dyn Signer,
    key: &'a ApiKey,
}

impl<'a> Sealer<'a> {
    pub fn new(signer: &'a dyn Signer, key: &'a ApiKey) -> Sealer<'a> {
        Sealer { signer, key }
    }

    /// The signature of `fields`.
    pub fn sign(&self, fields: &Params, sign_type: SignType) -> String {
        self.signer.sign(fields, sign_type, self.key)
    }

    /// A request or a notification: signed, and carrying `sign_type` when it is HMAC-SHA256 (or was set
    /// already), because a receiver that sees no `sign_type` checks MD5 (reference §2.2).
    pub fn seal(&self, mut fields: Params, sign_type: SignType) -> Params {
        sign::sign_request_with(&mut fields, sign_type, |p, t| self.sign(p, t));
        fields
    }

    /// A synchronous answer: signed with the request's algorithm, without `sign_type` (reference §2.2).
    pub fn seal_answer(&self, mut fields: Params, sign_type: SignType) -> Params {
        fields.remove("sign");
        fields.remove("sign_type");
        let s = self.sign(&fields, sign_type);
        fields.insert("sign".into(), s);
        fields
    }

    /// The merchant's check of a received answer or notification: see [`sign::verify`].
    pub fn verify(
        &self,
        fields: &Params,
        expected: Option<SignType>,
    ) -> Result<SignType, SignError> {
        sign::verify_with(fields, expected, |p, t| self.sign(p, t))
    }

    /// The gateway's check of a request body: XML safety, characters the gateway takes, then the signature
    /// with the algorithm the request declares (absent: MD5). Returns the fields and that algorithm, with
    /// which the answer is signed.
    pub fn open_request(&self, body: &[u8]) -> Result<(Params, SignType), RequestError> {
        let fields = xml::decode(body).map_err(RequestError::Xml)?;
        if fields
            .values()
            .any(|v| v.chars().any(|c| c as u32 > 0xFFFF))
        {
            return Err(RequestError::NonBmp);
        }
        let sign_type = match fields.get("sign_type").map(String::as_str) {
            None | Some("") => SignType::Md5,
            Some(s) => SignType::parse(s).ok_or_else(|| RequestError::SignType(s.into()))?,
        };
        let got = fields
            .get("sign")
            .ok_or(RequestError::Sign(SignError::Missing))?;
        if !sign::same_signature(&self.sign(&fields, sign_type), got) {
            return Err(RequestError::Sign(SignError::Mismatch));
        }
        Ok((fields, sign_type))
    }
}

/// Why a gateway refuses a request before any business processing (`return_code=FAIL`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("unreadable body: {0}")]
    Xml(XmlError),
    #[error("a field contains a character outside the Basic Multilingual Plane")]
    NonBmp,
    #[error("unknown sign_type {0:?}")]
    SignType(String),
    #[error("{0}")]
    Sign(SignError),
}

impl RequestError {
    /// The `return_msg` the live gateway answers with (reference §3.3).
    pub fn return_msg(&self) -> &'static str {
        match self {
            RequestError::Xml(XmlError::Empty) => "POST_DATA_EMPTY",
            RequestError::Xml(XmlError::NotUtf8 { .. }) | RequestError::NonBmp => "NOT_UTF8",
            RequestError::Xml(_) => "XML格式错误",
            RequestError::SignType(_) => "sign_type参数错误",
            RequestError::Sign(_) => "签名错误",
        }
    }
}

/// Who we are to the gateway, and how we sign (with [`V2Signer`]).
#[derive(Debug, Clone)]
pub struct Merchant {
    pub appid: String,
    pub mch_id: String,
    pub key: ApiKey,
    pub sign_type: SignType,
}

impl Merchant {
    pub fn sealer(&self) -> Sealer<'_> {
        Sealer::new(&V2Signer, &self.key)
    }

    /// Sign a request body.
    pub fn sign(&self, params: Params) -> Params {
        self.sealer().seal(params, self.sign_type)
    }

    /// A request's signed XML body.
    pub fn request_body(&self, params: Params) -> Result<String, XmlError> {
        xml::encode(&self.sign(params))
    }
}

/// Decode and check a synchronous answer body: see [`check_response`].
pub fn open_response(body: &[u8], merchant: &Merchant) -> Result<Params, WxError> {
    check_response(xml::decode(body)?, merchant)
}

/// Check a synchronous response in the protocol's order: return_code, then the signature (over all fields,
/// with the algorithm of the request), then appid and mch_id, then result_code. Returns the verified fields.
pub fn check_response(p: Params, merchant: &Merchant) -> Result<Params, WxError> {
    match p.get("return_code").map(String::as_str) {
        Some("SUCCESS") => {}
        Some(_) => return Err(protocol_failure(&p)),
        None => return Err(WxError::MissingField("return_code")),
    }
    merchant.sealer().verify(&p, Some(merchant.sign_type))?;
    check_identity(&p, merchant)?;
    match p.get("result_code").map(String::as_str) {
        Some("SUCCESS") => Ok(p),
        Some(_) => Err(business_failure(&p)),
        None => Err(WxError::MissingField("result_code")),
    }
}

/// Decode and check a notification body: XML safety, return_code, the signature over all fields (algorithm
/// by its length, as notifications may omit `sign_type`), appid, mch_id, result_code. Returns the verified
/// fields and the algorithm that verified.
pub fn open_notification(body: &[u8], merchant: &Merchant) -> Result<(Params, SignType), WxError> {
    let p = xml::decode(body)?;
    if p.get("return_code").map(String::as_str) != Some("SUCCESS") {
        return Err(protocol_failure(&p));
    }
    let sign_type = merchant.sealer().verify(&p, None)?;
    check_identity(&p, merchant)?;
    if p.get("result_code").map(String::as_str) != Some("SUCCESS") {
        return Err(business_failure(&p));
    }
    Ok((p, sign_type))
}

fn protocol_failure(p: &Params) -> WxError {
    WxError::Protocol {
        msg: p.get("return_msg").cloned().unwrap_or_default(),
    }
}

fn business_failure(p: &Params) -> WxError {
    WxError::Business {
        code: p
            .get("err_code")
            .cloned()
            .unwrap_or_else(|| "UNKNOWN".into()),
        des: p.get("err_code_des").cloned().unwrap_or_default(),
    }
}

fn check_identity(p: &Params, merchant: &Merchant) -> Result<(), WxError> {
    for (field, want) in [("appid", &merchant.appid), ("mch_id", &merchant.mch_id)] {
        let got = p.get(field).ok_or(WxError::MissingField(field))?;
        if got != want {
            return Err(WxError::Mismatch {
                field,
                expected: want.clone(),
                got: got.clone(),
            });
        }
    }
    Ok(())
}

/// The exact reply that stops WeChat's notification retries.
pub const SUCCESS_REPLY: &str = "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>";

/// An unsigned `return_code=FAIL` message: the gateway's refusal of a request, or the merchant's request to
/// send a notification again later.
pub fn fail_reply(reason: &str) -> String {
    let mut p = Params::new();
    p.insert("return_code".into(), "FAIL".into());
    // Keep the reply encodable whatever the reason says.
    let reason: String = reason.chars().filter(|c| (*c as u32) <= 0xFFFF).collect();
    p.insert(
        "return_msg".into(),
        if reason.is_empty() {
            "FAIL".into()
        } else {
            reason
        },
    );
    xml::encode(&p).expect("reply fields are valid")
}

/// Whether a merchant's reply to a notification acknowledges it (`return_code=SUCCESS`).
pub fn is_success_reply(body: &[u8]) -> bool {
    xml::decode(body)
        .ok()
        .is_some_and(|p| p.get("return_code").map(String::as_str) == Some("SUCCESS"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wxpay::sign::tests::params as p;

    const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

    /// A signer that is not PayDesk's: every signature is the same, so only its use can make it verify.
    struct Constant;
    impl Signer for Constant {
        fn sign(&self, _: &Params, t: SignType, _: &ApiKey) -> String {
            match t {
                SignType::Md5 => "A".repeat(32),
                SignType::HmacSha256 => "B".repeat(64),
            }
        }
    }

    #[test]
    fn requests_carry_sign_type_only_for_hmac_and_answers_never() {
        let key = ApiKey::new(KEY);
        let s = Sealer::new(&V2Signer, &key);
        let md5 = s.seal(p(&[("a", "1")]), SignType::Md5);
        assert!(!md5.contains_key("sign_type"));
        let hmac = s.seal(p(&[("a", "1")]), SignType::HmacSha256);
        assert_eq!(hmac["sign_type"], "HMAC-SHA256");
        assert_eq!(s.verify(&hmac, None), Ok(SignType::HmacSha256));
        let answer = s.seal_answer(p(&[("a", "1")]), SignType::HmacSha256);
        assert!(!answer.contains_key("sign_type"));
        assert_eq!(
            s.verify(&answer, Some(SignType::HmacSha256)),
            Ok(SignType::HmacSha256)
        );
    }

    #[test]
    fn the_gateway_checks_the_declared_algorithm_with_its_own_signer() {
        let key = ApiKey::new(KEY);
        let ours = Sealer::new(&V2Signer, &key);
        let other = Sealer::new(&Constant, &key);
        let body = |f: &Params| xml::encode(f).unwrap();
        let req = ours.seal(p(&[("a", "1")]), SignType::HmacSha256);
        assert_eq!(
            ours.open_request(body(&req).as_bytes()).map(|(_, t)| t),
            Ok(SignType::HmacSha256)
        );
        // The injected signer is the one that decides.
        assert_eq!(
            other.open_request(body(&req).as_bytes()),
            Err(RequestError::Sign(SignError::Mismatch))
        );
        let forged = other.seal(p(&[("a", "1")]), SignType::Md5);
        assert!(other.open_request(body(&forged).as_bytes()).is_ok());
        let mut unknown = req.clone();
        unknown.insert("sign_type".into(), "SHA1".into());
        let e = ours.open_request(body(&unknown).as_bytes()).unwrap_err();
        assert_eq!(e.return_msg(), "sign_type参数错误");
        let mut unsigned = req.clone();
        unsigned.remove("sign");
        let e = ours.open_request(body(&unsigned).as_bytes()).unwrap_err();
        assert_eq!(e.return_msg(), "签名错误");
        assert_eq!(
            ours.open_request(b" ").unwrap_err().return_msg(),
            "POST_DATA_EMPTY"
        );
        assert_eq!(
            ours.open_request("<xml><a>☕️🎉</a></xml>".as_bytes())
                .unwrap_err()
                .return_msg(),
            "NOT_UTF8"
        );
    }

    #[test]
    fn replies() {
        assert!(is_success_reply(SUCCESS_REPLY.as_bytes()));
        assert!(!is_success_reply(fail_reply("x").as_bytes()));
        assert!(!is_success_reply(b"success"));
        assert_eq!(
            fail_reply("金额不符"),
            "<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[金额不符]]></return_msg></xml>"
        );
        assert!(fail_reply("🎉").contains("<![CDATA[FAIL]]></return_msg>"));
    }
}
