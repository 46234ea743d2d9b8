//! How a conversation is kept in the `conversations` tree (format 3): compact, without saying
//! anything twice.
//!
//! - key: the org's number (u32 BE, from the `org_ids` tree) + the conversation id. Org ids are
//!   60–100 characters; repeating one in every key of its org cost as much as the id itself.
//! - value: the revision (LEB128), then where the id was cut out of the text (LEB128, plus one;
//!   0: not cut), then the JSON text as received without that copy of the id. The id is in the
//!   key already; the text is put back together byte for byte, so fingerprints and the byte
//!   comparison with a received record are unchanged.

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

fn push_number(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn take_number(bytes: &mut &[u8]) -> Result<u64> {
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

/// The value for `text` (the record's JSON) of conversation `id` at `revision`.
pub(super) fn encode(revision: u64, id: &[u8], text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 4);
    push_number(&mut out, revision);
    // The id as a JSON string, quotes included, so that it is the id and not part of a value.
    let cut = quoted_at(text, id);
    push_number(&mut out, cut.map_or(0, |at| at as u64 + 1));
    match cut {
        Some(at) => {
            out.extend_from_slice(&text[..at]);
            out.extend_from_slice(&text[at + id.len()..]);
        }
        None => out.extend_from_slice(text),
    }
    out
}

/// Where `id` is in `text` between quotes, when it is (not when it was sent with escapes).
fn quoted_at(text: &[u8], id: &[u8]) -> Option<usize> {
    if id.is_empty() {
        return None;
    }
    let mut from = 0;
    while let Some(found) = find(&text[from..], id) {
        let at = from + found;
        let before = at.checked_sub(1).and_then(|i| text.get(i));
        if before == Some(&b'"') && text.get(at + id.len()) == Some(&b'"') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A value taken apart: the revision, where the id goes back, and the rest of the text.
struct Parts<'a> {
    revision: u64,
    cut: Option<usize>,
    rest: &'a [u8],
}

fn parts(value: &[u8]) -> Result<Parts<'_>> {
    let mut bytes = value;
    let revision = take_number(&mut bytes)?;
    let cut = take_number(&mut bytes)?;
    let cut = cut.checked_sub(1).map(|at| at as usize);
    if cut.is_some_and(|at| at > bytes.len()) {
        return Err(corrupt("snapshot", "the id's place is past the end"));
    }
    Ok(Parts {
        revision,
        cut,
        rest: bytes,
    })
}

/// The revision and the JSON text of a value.
pub(super) fn decode<'a>(value: &'a [u8], id: &[u8]) -> Result<(u64, Cow<'a, [u8]>)> {
    let Parts {
        revision,
        cut,
        rest,
    } = parts(value)?;
    let Some(at) = cut else {
        return Ok((revision, Cow::Borrowed(rest)));
    };
    let mut text = Vec::with_capacity(rest.len() + id.len());
    text.extend_from_slice(&rest[..at]);
    text.extend_from_slice(id);
    text.extend_from_slice(&rest[at..]);
    Ok((revision, Cow::Owned(text)))
}

/// Whether the value's text is exactly `text`, without putting it back together.
pub(super) fn same_text(value: &[u8], id: &[u8], text: &[u8]) -> bool {
    let Ok(Parts { cut, rest, .. }) = parts(value) else {
        return false;
    };
    match cut {
        None => rest == text,
        Some(at) => {
            text.len() == rest.len() + id.len()
                && text[..at] == rest[..at]
                && &text[at..at + id.len()] == id
                && text[at + id.len()..] == rest[at..]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_snapshot_is_kept_without_its_id_and_put_back_together_byte_for_byte() {
        let text = br#"{"conversation_id":"gAAAAB-abc","is_read":false,"x":"gAAAAB-abc"}"#;
        let value = encode(300, b"gAAAAB-abc", text);
        assert_eq!(
            value.len(),
            2 + 1 + text.len() - 10,
            "revision, place, text less id"
        );
        let (revision, back) = decode(&value, b"gAAAAB-abc").unwrap();
        assert_eq!((revision, &*back), (300, &text[..]));
        assert!(same_text(&value, b"gAAAAB-abc", text));
        assert!(!same_text(&value, b"gAAAAB-abc", &text[1..]));
    }

    proptest! {
        #[test]
        fn any_text_and_id_come_back_as_they_went_in(
            revision: u64, id in "[a-z\"\\\\]{0,6}", text in "[a-z\"{}:,\\\\]{0,40}"
        ) {
            let value = encode(revision, id.as_bytes(), text.as_bytes());
            let (back_revision, back) = decode(&value, id.as_bytes()).unwrap();
            prop_assert_eq!(back_revision, revision);
            prop_assert_eq!(&*back, text.as_bytes());
            prop_assert!(same_text(&value, id.as_bytes(), text.as_bytes()));
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
