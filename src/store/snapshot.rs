//! How a conversation is kept in the `snapshots` tree (format 4): compact, without saying
//! anything twice.
//!
//! - key: the org's number (u32 BE, from the `org_ids` tree) + the conversation id. Org ids are
//!   60–100 characters; repeating one in every key of its org cost as much as the id itself.
//! - value: the revision (LEB128), then the JSON text as received, tokenized: the id (in the key
//!   already) and the field names and common pairs every record repeats each stand for one token
//!   byte (see `tokens.rs`). A text that holds a token byte (never valid JSON) or starts with a
//!   zero byte is kept as received after a zero byte instead (a tokenized text never starts
//!   with one). Either way the text is given back byte for byte, so fingerprints (a hash of
//!   the text) and the byte comparison with a received record are unchanged.
//!
//! Format 3 kept the text whole but for its id (see `migrate_snapshots.rs`, which reads it).

use super::tokens::{self, ID};
use super::{corrupt, Result};
use std::borrow::Cow;

/// The key of conversation `id` of the org numbered `org`.
pub(super) fn key(org: u32, id: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + id.len());
    key.extend_from_slice(&org.to_be_bytes());
    key.extend_from_slice(id);
    key
}

/// The conversation id of a key.
pub(super) fn id_of(key: &[u8]) -> &[u8] {
    key.get(4..).unwrap_or_default()
}

pub(super) fn push_number(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

pub(super) fn take_number(bytes: &mut &[u8]) -> Result<u64> {
    let mut n = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes
            .split_first()
            .ok_or_else(|| corrupt("snapshot", "cut short"))?;
        *bytes = rest;
        n |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(n);
        }
    }
    Err(corrupt("snapshot", "a number too long"))
}

/// Marks a text kept as received (see the module docs).
const AS_RECEIVED: u8 = 0;

/// The value for `text` (the record's JSON) of conversation `id` at `revision`.
pub(super) fn encode(revision: u64, id: &[u8], text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 2 + 4);
    push_number(&mut out, revision);
    if text.first() == Some(&AS_RECEIVED) || !tokens::can_take(text) {
        out.push(AS_RECEIVED);
        out.extend_from_slice(text);
        return out;
    }
    // The id as a JSON string, quotes included, so that it is the id and not part of a value.
    match quoted_at(text, id) {
        Some(at) => {
            tokens::push_tokenized(&mut out, &text[..at]);
            out.push(ID);
            tokens::push_tokenized(&mut out, &text[at + id.len()..]);
        }
        None => tokens::push_tokenized(&mut out, text),
    }
    out
}

/// Where `id` is in `text` between quotes, when it is (not when it was sent with escapes).
/// It looks only after each quote, where a string starts: a record's id is its first value, so
/// this is a few byte compares (a substring search would first build a searcher for the id).
pub(super) fn quoted_at(text: &[u8], id: &[u8]) -> Option<usize> {
    if id.is_empty() {
        return None;
    }
    memchr::memchr_iter(b'"', text)
        .map(|quote| quote + 1)
        .find(|&at| text[at..].starts_with(id) && text.get(at + id.len()) == Some(&b'"'))
}

/// A value's text: as received, or tokenized.
enum Body<'a> {
    AsReceived(&'a [u8]),
    Tokenized(&'a [u8]),
}

fn parts(value: &[u8]) -> Result<(u64, Body<'_>)> {
    let mut bytes = value;
    let revision = take_number(&mut bytes)?;
    let body = match bytes.split_first() {
        Some((&AS_RECEIVED, text)) => Body::AsReceived(text),
        _ => Body::Tokenized(bytes),
    };
    Ok((revision, body))
}

/// The revision and the JSON text of a value.
pub(super) fn decode<'a>(value: &'a [u8], id: &[u8]) -> Result<(u64, Cow<'a, [u8]>)> {
    let (revision, body) = parts(value)?;
    let body = match body {
        Body::AsReceived(text) => return Ok((revision, Cow::Borrowed(text))),
        Body::Tokenized(body) => body,
    };
    let length = tokens::pieces(body, id).map(<[u8]>::len).sum();
    let mut text = Vec::with_capacity(length);
    tokens::pieces(body, id).for_each(|piece| text.extend_from_slice(piece));
    Ok((revision, Cow::Owned(text)))
}

/// Whether the value's text is exactly `text`, piece by piece without putting it back
/// together (no allocation; it stops at the first piece that differs).
pub(super) fn same_text(value: &[u8], id: &[u8], text: &[u8]) -> bool {
    let body = match parts(value) {
        Ok((_, Body::AsReceived(stored))) => return stored == text,
        Ok((_, Body::Tokenized(body))) => body,
        Err(_) => return false,
    };
    let mut rest = text;
    for piece in tokens::pieces(body, id) {
        match rest.strip_prefix(piece) {
            Some(after) => rest = after,
            None => return false,
        }
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ABC: &[u8] = b"gAAAAAB-abc";

    #[test]
    fn a_snapshot_is_kept_without_its_id_and_names_and_put_back_together_byte_for_byte() {
        let text = br#"{"conversation_id":"gAAAAAB-abc","is_read":false,"x":"gAAAAAB-abc"}"#;
        let value = encode(300, ABC, text);
        // `{"conversation_id":"`, the id, `"`, `,"is_read":false`, `,"x":`, `"gAAAAAB`, `-abc`, `"}`
        assert_eq!(value.len(), 2 + 1 + 1 + 1 + 1 + 5 + 1 + 4 + 1);
        let (revision, back) = decode(&value, ABC).unwrap();
        assert_eq!((revision, &*back), (300, &text[..]));
        assert!(same_text(&value, ABC, text));
        assert!(!same_text(&value, ABC, &text[1..]));
        assert!(!same_text(&value, ABC, &text[..text.len() - 1]));
        assert!(!same_text(&value, ABC, &[&text[..], b" "].concat()));
    }

    #[test]
    fn a_text_with_a_token_byte_or_a_leading_zero_is_kept_as_received() {
        for text in [&b"{\"a\":\"\x01\"}"[..], b"\x1f", b"\0{}", b"\0\x02"] {
            let value = encode(1, b"a", text);
            assert_eq!(value, [&[1, AS_RECEIVED][..], text].concat());
            assert_eq!(&*decode(&value, b"a").unwrap().1, text);
            assert!(same_text(&value, b"a", text));
        }
    }

    #[test]
    fn the_id_is_found_only_as_a_whole_string() {
        let text = br#"{"a":"xgAAAAAB-abc","b":"gAAAAAB-abcd","c":gAAAAAB-abc,"d":"gAAAAAB-abc"}"#;
        let at = quoted_at(text, ABC).unwrap();
        assert_eq!(&text[at - 5..at + ABC.len() + 1], br#""d":"gAAAAAB-abc""#);
        assert_eq!(quoted_at(br#"{"a":"gAAAAAB-ab"}"#, ABC), None);
        assert_eq!(quoted_at(br#"""#, ABC), None);
        assert_eq!(quoted_at(br#""""#, b""), None);
    }

    #[test]
    fn an_empty_text_comes_back_empty() {
        let value = encode(7, b"id", b"");
        assert_eq!(decode(&value, b"id").unwrap(), (7, Cow::Borrowed(&b""[..])));
        assert!(same_text(&value, b"id", b""));
        assert!(!same_text(&value, b"id", b"{}"));
    }

    /// A JSON object: the table's names, other names, string values that hold the table's
    /// strings and escaped quotes, numbers, booleans, null; with or without spaces.
    fn object() -> impl Strategy<Value = String> {
        let name = prop_oneof![
            proptest::sample::select(vec![
                "conversation_id",
                "start_at",
                "last_activity_at",
                "folder",
                "is_read",
                "contact_id",
            ])
            .prop_map(String::from),
            "[a-z_]{1,8}",
        ];
        let value = prop_oneof![
            Just(serde_json::Value::Bool(false)),
            Just(serde_json::Value::Bool(true)),
            Just(serde_json::Value::Null),
            any::<i64>().prop_map(serde_json::Value::from),
            proptest::sample::select(vec![
                "inbox",
                "archived",
                "gAAAAABx",
                "\\\"is_read\\\":false",
                "\",\"folder\":\"",
                "a\\\"b",
                "{\"conversation_id\":\"",
                "\u{1}",
                "é\u{1f}",
            ])
            .prop_map(serde_json::Value::from),
            "[a-zA-Z0-9\"\\\\:,{} -]{0,12}".prop_map(serde_json::Value::from),
        ];
        (
            proptest::collection::vec((name, value), 0..8),
            any::<bool>(),
        )
            .prop_map(|(pairs, pretty)| {
                let map: serde_json::Map<String, serde_json::Value> = pairs.into_iter().collect();
                let object = serde_json::Value::Object(map);
                match pretty {
                    true => serde_json::to_string_pretty(&object).unwrap(),
                    false => object.to_string(),
                }
            })
    }

    proptest! {
        #[test]
        fn any_json_object_comes_back_byte_for_byte(revision: u64, text in object(), id in "[a-zA-Z0-9-]{0,9}") {
            let text = text.replacen("\"conversation_id\":null", &format!("\"conversation_id\":\"{id}\""), 1);
            let value = encode(revision, id.as_bytes(), text.as_bytes());
            let (back_revision, back) = decode(&value, id.as_bytes()).unwrap();
            prop_assert_eq!(back_revision, revision);
            prop_assert_eq!(&*back, text.as_bytes());
            prop_assert!(same_text(&value, id.as_bytes(), text.as_bytes()));
            prop_assert!(!same_text(&value, id.as_bytes(), &text.as_bytes()[1..]));
        }

        #[test]
        fn any_text_and_id_come_back_as_they_went_in(
            revision: u64, id in "[a-z\"\\\\]{0,6}", text in proptest::collection::vec(any::<u8>(), 0..40)
        ) {
            let value = encode(revision, id.as_bytes(), &text);
            let (back_revision, back) = decode(&value, id.as_bytes()).unwrap();
            prop_assert_eq!(back_revision, revision);
            prop_assert_eq!(&*back, &text[..]);
            prop_assert!(same_text(&value, id.as_bytes(), &text));
        }

        #[test]
        fn any_bytes_as_a_value_decode_or_fail_without_panicking(
            value in proptest::collection::vec(any::<u8>(), 0..40), id in "[a-z]{0,4}"
        ) {
            let _ = decode(&value, id.as_bytes());
            let _ = same_text(&value, id.as_bytes(), b"{}");
        }
    }
}
