//! The `<xml>` bodies of the v2 protocol, in both directions.
//!
//! Decoding is defensive: bodies over [`MAX_BODY`] bytes, bodies that are not UTF-8, any DOCTYPE or entity
//! declaration (XXE), unknown entity references, nesting and duplicate fields are each refused with their own
//! error kind. Every field is kept, known or not, so that signatures can be verified over all of them.
//! Encoding writes numbers bare and other text in CDATA, and refuses characters outside the Basic
//! Multilingual Plane, which the v2 gateway does not accept.

use quick_xml::Reader;
use quick_xml::events::Event;

use super::sign::Params;

/// The largest body PayDesk reads from the gateway or a notifier. Real v2 bodies are a few KiB.
pub const MAX_BODY: usize = 64 * 1024;

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("body is {len} bytes, over the {limit}-byte limit")]
    TooLarge { len: usize, limit: usize },
    #[error("body is empty")]
    Empty,
    #[error("body is not valid UTF-8 (at byte {at})")]
    NotUtf8 { at: usize },
    #[error("body contains a DOCTYPE or entity declaration (refused: XXE)")]
    Doctype,
    #[error("body uses the undeclared entity &{0};")]
    Entity(String),
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("field {field} contains a character outside the Basic Multilingual Plane (e.g. emoji)")]
    NonBmp { field: String },
    #[error("field name {0:?} is not a valid element name")]
    BadName(String),
}

/// Decode a `<xml>…</xml>` body into its fields.
pub fn decode(body: &[u8]) -> Result<Params, XmlError> {
    decode_root(body, "xml")
}

/// Decode a flat document whose root element is `<root_name>` (refund notifications decrypt to `<root>`).
pub fn decode_root(body: &[u8], root_name: &str) -> Result<Params, XmlError> {
    if body.len() > MAX_BODY {
        return Err(XmlError::TooLarge {
            len: body.len(),
            limit: MAX_BODY,
        });
    }
    let text = std::str::from_utf8(body).map_err(|e| XmlError::NotUtf8 {
        at: e.valid_up_to(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(XmlError::Empty);
    }
    // quick-xml reports a DOCTYPE as an event, but an entity declaration inside an internal subset is
    // refused here too, before any parsing, so no configuration of the parser can ever expand one.
    if text.contains("<!DOCTYPE") || text.contains("<!ENTITY") {
        return Err(XmlError::Doctype);
    }

    let malformed = |e: &dyn std::fmt::Display| XmlError::Malformed(e.to_string());
    let mut reader = Reader::from_str(text);
    let mut params = Params::new();
    let mut depth = 0usize;
    let mut seen_root = false;
    let mut field: Option<String> = None;
    let mut value = String::new();
    loop {
        match reader.read_event().map_err(|e| malformed(&e))? {
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Start(start) => {
                let name = element_name(&start)?;
                match depth {
                    0 if name == root_name && !seen_root => seen_root = true,
                    0 => {
                        return Err(XmlError::Malformed(format!(
                            "root element is <{name}>, not <{root_name}>"
                        )));
                    }
                    1 => {
                        field = Some(name);
                        value.clear();
                    }
                    _ => return Err(XmlError::Malformed(format!("nested element <{name}>"))),
                }
                depth += 1;
            }
            Event::Empty(start) => {
                let name = element_name(&start)?;
                match depth {
                    // `<xml/>`: a root with no fields.
                    0 if name == root_name && !seen_root => seen_root = true,
                    1 => insert_unique(&mut params, name, String::new())?,
                    _ => return Err(XmlError::Malformed(format!("unexpected element <{name}/>"))),
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 1
                    && let Some(name) = field.take()
                {
                    insert_unique(&mut params, name, std::mem::take(&mut value))?;
                }
            }
            Event::Text(t) => {
                let raw = t.decode().map_err(|e| malformed(&e))?;
                if depth == 2 {
                    value.push_str(&raw);
                } else if !raw.trim().is_empty() {
                    return Err(XmlError::Malformed("text outside a field".into()));
                }
            }
            Event::CData(c) => {
                if depth != 2 {
                    return Err(XmlError::Malformed("CDATA outside a field".into()));
                }
                value.push_str(&c.decode().map_err(|e| malformed(&e))?);
            }
            Event::GeneralRef(r) => {
                if depth != 2 {
                    return Err(XmlError::Malformed(
                        "entity reference outside a field".into(),
                    ));
                }
                if let Some(ch) = r.resolve_char_ref().map_err(|e| malformed(&e))? {
                    value.push(ch);
                } else {
                    let name = r.decode().map_err(|e| malformed(&e))?;
                    let ch = match name.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => return Err(XmlError::Entity(other.to_string())),
                    };
                    value.push(ch);
                }
            }
            Event::Eof => break,
        }
    }
    if !seen_root {
        return Err(XmlError::Malformed(format!(
            "no <{root_name}> root element"
        )));
    }
    if depth != 0 {
        return Err(XmlError::Malformed("unclosed element".into()));
    }
    Ok(params)
}

fn element_name(start: &quick_xml::events::BytesStart<'_>) -> Result<String, XmlError> {
    std::str::from_utf8(start.name().as_ref())
        .map(str::to_string)
        .map_err(|e| XmlError::Malformed(e.to_string()))
}

fn insert_unique(params: &mut Params, name: String, value: String) -> Result<(), XmlError> {
    if params.contains_key(&name) {
        return Err(XmlError::Malformed(format!("field <{name}> appears twice")));
    }
    params.insert(name, value);
    Ok(())
}

/// Encode fields as a compact `<xml>` body. Empty values are left out (they are not signed either);
/// digits are written bare, other text in CDATA (or escaped, if it contains `]]>`).
pub fn encode(params: &Params) -> Result<String, XmlError> {
    let mut out = String::with_capacity(64 + params.len() * 48);
    out.push_str("<xml>");
    for (name, value) in params {
        if value.is_empty() {
            continue;
        }
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            || name.as_bytes()[0].is_ascii_digit()
        {
            return Err(XmlError::BadName(name.clone()));
        }
        if value.chars().any(|c| c as u32 > 0xFFFF) {
            return Err(XmlError::NonBmp {
                field: name.clone(),
            });
        }
        out.push('<');
        out.push_str(name);
        out.push('>');
        if value.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(value);
        } else if value.contains("]]>") {
            out.push_str(&quick_xml::escape::escape(value.as_str()));
        } else {
            out.push_str("<![CDATA[");
            out.push_str(value);
            out.push_str("]]>");
        }
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }
    out.push_str("</xml>");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wxpay::sign::tests::params as p;

    #[test]
    fn round_trip_keeps_every_value() {
        let params = p(&[
            ("body", "小张南山店-超市"),
            ("total_fee", "1288"),
            ("weird", "a]]>b & <c>"),
            ("spaces", " padded "),
            ("unknown_future_field", "x"),
        ]);
        let xml = encode(&params).unwrap();
        assert!(xml.contains("<total_fee>1288</total_fee>"));
        assert!(xml.contains("<body><![CDATA[小张南山店-超市]]></body>"));
        assert_eq!(decode(xml.as_bytes()).unwrap(), params);
    }

    #[test]
    fn reads_cdata_entities_and_bare_numbers() {
        let xml = "<?xml version=\"1.0\"?>\n<xml>\n  <a><![CDATA[x&y]]></a>\n  <b>1 &lt; 2 &amp;&#x4E2D;&#25991;</b>\n  <c>42</c>\n  <d><![CDATA[]]></d>\n  <e/>\n</xml>";
        let got = decode(xml.as_bytes()).unwrap();
        assert_eq!(got["a"], "x&y");
        assert_eq!(got["b"], "1 < 2 &中文");
        assert_eq!(got["c"], "42");
        assert_eq!(got["d"], "");
        assert_eq!(got["e"], "");
    }

    #[test]
    fn refuses_each_kind_of_bad_body() {
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><a>&x;</a></xml>"#;
        assert_eq!(decode(xxe.as_bytes()), Err(XmlError::Doctype));
        assert_eq!(
            decode(b"<xml><a>&x;</a></xml>"),
            Err(XmlError::Entity("x".into()))
        );
        let big = vec![b' '; MAX_BODY + 1];
        assert!(matches!(decode(&big), Err(XmlError::TooLarge { .. })));
        assert_eq!(
            decode(b"<xml><a>\xff</a></xml>"),
            Err(XmlError::NotUtf8 { at: 8 })
        );
        assert_eq!(decode(b"   "), Err(XmlError::Empty));
        for bad in [
            "<root><a>1</a></root>",
            "<xml><a><b>1</b></a></xml>",
            "<xml><a>1</a><a>2</a></xml>",
            "<xml><a>1</b></xml>",
            "<xml><a>1</a>",
            "not xml at all",
        ] {
            assert!(
                matches!(decode(bad.as_bytes()), Err(XmlError::Malformed(_))),
                "{bad}: {:?}",
                decode(bad.as_bytes())
            );
        }
    }

    #[test]
    fn encode_refuses_non_bmp_and_bad_names() {
        assert_eq!(
            encode(&p(&[("body", "咖啡☕️🎉")])),
            Err(XmlError::NonBmp {
                field: "body".into()
            })
        );
        assert!(matches!(
            encode(&p(&[("a b", "x")])),
            Err(XmlError::BadName(_))
        ));
        assert_eq!(encode(&p(&[("empty", "")])).unwrap(), "<xml></xml>");
    }
}
