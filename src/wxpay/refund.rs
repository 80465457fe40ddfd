//! Refund notifications: the `req_info` field is AES-256-ECB encrypted with the lowercase hex MD5 of the API
//! key (reference §7.3). Refunds themselves are not issued by PayDesk yet; this is the decryption they need.

use aes::Aes256;
use aes::cipher::{BlockDecrypt, KeyInit, generic_array::GenericArray};
use base64::Engine as _;
use md5::{Digest, Md5};

use super::error::WxError;
use super::sign::{ApiKey, Params};

/// Decrypt a refund notification's `req_info` into the fields of its `<root>` document.
pub fn decrypt_req_info(req_info: &str, key: &ApiKey) -> Result<Params, WxError> {
    let bad = |m: &str| WxError::InvalidRequest(format!("req_info: {m}"));
    let mut data = base64::engine::general_purpose::STANDARD
        .decode(req_info.trim())
        .map_err(|_| bad("not base64"))?;
    if data.is_empty() || data.len() % 16 != 0 {
        return Err(bad("length is not a multiple of the AES block size"));
    }
    let aes_key = hex_lower(&Md5::digest(key.expose().as_bytes()));
    let cipher = Aes256::new(GenericArray::from_slice(aes_key.as_bytes()));
    for block in data.chunks_mut(16) {
        cipher.decrypt_block(GenericArray::from_mut_slice(block));
    }
    let pad = usize::from(*data.last().expect("non-empty"));
    if pad == 0
        || pad > 16
        || data[data.len() - pad..]
            .iter()
            .any(|&b| usize::from(b) != pad)
    {
        return Err(bad("bad padding (wrong API key?)"));
    }
    data.truncate(data.len() - pad);
    Ok(super::xml::decode_root(&data, "root")?)
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
