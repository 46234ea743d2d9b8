//! The dictionary of snapshot texts (format 4, see `snapshot.rs`): the byte strings every
//! record of upstream's conversations repeats (its field names, common whole pairs) each stand
//! for one token byte. About 80 of a record's 200 bytes (its id cut out) are field names.
//!
//! Token bytes are raw control characters (0x01–0x08, 0x0B, 0x0C, 0x0E–0x1F): valid JSON text
//! holds none of them, neither in a string (they must be escaped there) nor as whitespace (tab,
//! LF and CR are not among them). A text that holds one anyway is stored as received, not
//! tokenized (see `snapshot.rs`), so a tokenized text's token bytes are all tokens and
//! expanding them gives back the exact bytes, wherever the strings were found (in a value, in
//! a name: it does not matter).
//!
//! **The table is part of the on-disk format: it can only be appended to.** Changing, moving or
//! removing an entry makes stored values decode to other text. An appended entry takes the next
//! free token byte; its build needs a new format version (no migration: older values hold no
//! such byte), because an older build would read the new byte as itself. That is also why a
//! token byte without an entry stands for itself here: only a later build writes one, and this
//! build refuses a later build's store.

/// Stands for the conversation's id, which the key holds (put in by `snapshot.rs`).
pub(super) const ID: u8 = 0x01;

/// Every token byte, in the order they are given: [`ID`], then one per [`TABLE`] entry.
const TOKEN_BYTES: [u8; 28] = [
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0B, 0x0C, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0x13,
    0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F,
];

/// What the token bytes after [`ID`] stand for, in order (append only: see the module docs).
/// First the pieces of a record as upstream sends it (`{"conversation_id":"…","start_at":"…",
/// "last_activity_at":"…","folder":"inbox","is_read":false,"contact_id":"gAAAAAB…"}`, ids being
/// Fernet tokens that start `gAAAAAB`), then the names and pairs alone, for other orders and
/// spacing. Encoding takes the longest entry that starts at the leftmost place.
const TABLE: [&[u8]; 24] = [
    br#"{"conversation_id":""#,
    br#"","start_at":""#,
    br#"","last_activity_at":""#,
    br#"","folder":"inbox""#,
    br#"","folder":"archived""#,
    br#"","folder":"done""#,
    br#"","folder":"spam""#,
    br#","is_read":false"#,
    br#","is_read":true"#,
    br#","contact_id":"gAAAAAB"#,
    br#","contact_id":""#,
    br#""}"#,
    br#""conversation_id":"#,
    br#""start_at":"#,
    br#""last_activity_at":"#,
    br#""folder":"#,
    br#""is_read":"#,
    br#""contact_id":"#,
    br#""folder":"inbox""#,
    br#""is_read":false"#,
    br#""is_read":true"#,
    br#""gAAAAAB"#,
    br#"","folder":null"#,
    br#"","folder":""#,
];

/// Per byte below 0x20: 0 when it is no token byte, else 1 + its place in [`TOKEN_BYTES`].
const PLACES: [u8; 32] = {
    let mut places = [0u8; 32];
    let mut i = 0;
    while i < TOKEN_BYTES.len() {
        places[TOKEN_BYTES[i] as usize] = i as u8 + 1;
        i += 1;
    }
    places
};

/// The [`TABLE`] entries' places, longest first (the first that matches is the longest).
const LONGEST_FIRST: [usize; TABLE.len()] = {
    let mut order = [0usize; TABLE.len()];
    let mut i = 0;
    while i < order.len() {
        order[i] = i;
        i += 1;
    }
    // Insertion sort: `const` code has no `sort`.
    let mut i = 1;
    while i < order.len() {
        let mut j = i;
        while j > 0 && TABLE[order[j - 1]].len() < TABLE[order[j]].len() {
            let swap = order[j];
            order[j] = order[j - 1];
            order[j - 1] = swap;
            j -= 1;
        }
        i += 1;
    }
    order
};

/// Whether `byte` is a token byte (with an entry or not).
fn is_token(byte: u8) -> bool {
    PLACES.get(usize::from(byte)).is_some_and(|&p| p != 0)
}

/// Whether `text` can be tokenized: it holds no token byte.
pub(super) fn can_take(text: &[u8]) -> bool {
    // JSON text seldom holds a byte below 0x20 at all. That is asked first, of whole chunks
    // (a loop without an early exit, which the compiler turns into vector instructions).
    let has_low = |chunk: &[u8]| chunk.iter().fold(false, |low, &b| low | (b < 0x20));
    !text.chunks(64).any(has_low) || !text.iter().any(|&b| is_token(b))
}

/// Appends `text` (holding no token byte) with the table's strings replaced by their tokens.
pub(super) fn push_tokenized(out: &mut Vec<u8>, text: &[u8]) {
    let mut rest = text;
    // Every entry starts with one of these three bytes: the runs between them are copied whole.
    while let Some(at) = memchr::memchr3(b'{', b'"', b',', rest) {
        out.extend_from_slice(&rest[..at]);
        rest = &rest[at..];
        let taken = match longest_at(rest) {
            Some(entry) => {
                out.push(TOKEN_BYTES[entry + 1]);
                TABLE[entry].len()
            }
            None => {
                out.extend_from_slice(&rest[..1]);
                1
            }
        };
        rest = &rest[taken..];
    }
    out.extend_from_slice(rest);
}

/// The longest entry `text` starts with.
fn longest_at(text: &[u8]) -> Option<usize> {
    // Every entry is at least two bytes long: comparing those two first passes most entries
    // without a call to compare the rest.
    let start = text.get(..2)?;
    LONGEST_FIRST.iter().copied().find(|&entry| {
        let whole = TABLE[entry];
        whole[..2] == *start && text.starts_with(whole)
    })
}

/// The text a tokenized `body` stands for, in pieces (runs of its own bytes, expanded tokens),
/// with `id` for [`ID`]: compared or copied without building the text first.
pub(super) fn pieces<'a>(body: &'a [u8], id: &'a [u8]) -> Pieces<'a> {
    Pieces { rest: body, id }
}

/// See [`pieces`].
pub(super) struct Pieces<'a> {
    rest: &'a [u8],
    id: &'a [u8],
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (&first, tail) = self.rest.split_first()?;
        let expanded = match PLACES.get(usize::from(first)).copied().unwrap_or(0) {
            0 => None,
            1 => Some(self.id),
            place => TABLE.get(usize::from(place) - 2).copied(),
        };
        if let Some(expanded) = expanded {
            self.rest = tail;
            return Some(expanded);
        }
        // A run of the text's own bytes (an unassigned token byte stands for itself).
        let run = 1 + tail.iter().position(|&b| is_token(b)).unwrap_or(tail.len());
        let (piece, rest) = self.rest.split_at(run);
        self.rest = rest;
        Some(piece)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn expand(body: &[u8], id: &[u8]) -> Vec<u8> {
        pieces(body, id).flatten().copied().collect()
    }

    #[test]
    fn the_table_fits_its_token_bytes_and_its_entries_are_distinct_and_hold_no_token() {
        assert!(TABLE.len() < TOKEN_BYTES.len(), "one byte is the id's");
        for (i, entry) in TABLE.iter().enumerate() {
            assert!(!entry.is_empty() && can_take(entry), "{i}");
            assert!(!TABLE[..i].contains(entry), "{i} twice");
        }
        assert!(
            TABLE.iter().all(|entry| entry.len() >= 2),
            "longest_at compares two first"
        );
        assert!(TABLE
            .iter()
            .all(|entry| matches!(entry[0], b'{' | b'"' | b',')));
        let sorted: Vec<usize> = LONGEST_FIRST.iter().map(|&i| TABLE[i].len()).collect();
        assert!(sorted.windows(2).all(|w| w[0] >= w[1]), "{sorted:?}");
    }

    #[test]
    fn the_table_bytes_are_what_json_text_never_holds_raw() {
        for byte in TOKEN_BYTES {
            assert!(byte < 0x20 && ![b'\t', b'\n', b'\r', 0].contains(&byte));
        }
    }

    #[test]
    fn an_upstream_record_keeps_little_more_than_its_values() {
        let text = br#"{"conversation_id":""#.to_vec();
        let rest = br#"","start_at":"2026-04-29T14:00:00Z","last_activity_at":"2026-04-29T16:00:00Z","folder":"inbox","is_read":false,"contact_id":"gAAAAABexampleContactId"}"#;
        let (mut body, id) = (Vec::new(), b"gAAAAABexampleConversationId");
        push_tokenized(&mut body, &text);
        body.push(ID);
        push_tokenized(&mut body, rest);
        assert_eq!(body.len(), 1 + 1 + 1 + 20 + 1 + 20 + 1 + 1 + 1 + 16 + 1);
        assert_eq!(expand(&body, id), [&text[..], id, rest].concat());
    }

    /// Text that is mostly the table's strings, pieces of them and JSON's own bytes.
    fn texty() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            proptest::sample::select(TABLE.to_vec()).prop_map(|e| e.to_vec()),
            proptest::sample::select(TABLE.to_vec()).prop_map(|e| e[1..].to_vec()),
            "[a-z\"{}:,\\\\ ]{1,4}".prop_map(String::into_bytes),
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|p| p.concat())
    }

    /// The encoding byte by byte, as format 4 first wrote it: the longest entry at each place.
    fn plainly_tokenized(text: &[u8]) -> Vec<u8> {
        let (mut out, mut rest) = (Vec::new(), text);
        while !rest.is_empty() {
            let entry = LONGEST_FIRST.iter().find(|&&e| rest.starts_with(TABLE[e]));
            let taken = entry.map_or(1, |&e| TABLE[e].len());
            out.extend(entry.map_or(&rest[..1], |&e| &TOKEN_BYTES[e + 1..e + 2]));
            rest = &rest[taken..];
        }
        out
    }

    proptest! {
        #[test]
        fn the_fast_encoding_writes_the_same_bytes_as_the_plain_one(text in texty()) {
            let mut body = Vec::new();
            push_tokenized(&mut body, &text);
            prop_assert_eq!(body, plainly_tokenized(&text));
        }

        #[test]
        fn a_text_with_a_token_byte_anywhere_is_refused(
            text in proptest::collection::vec(0x20u8..0x7f, 0..150),
            at in any::<proptest::sample::Index>(),
            token in proptest::sample::select(TOKEN_BYTES.to_vec()),
        ) {
            prop_assert!(can_take(&text));
            let mut with_token = text.clone();
            with_token.insert(at.index(text.len() + 1), token);
            prop_assert!(!can_take(&with_token));
        }

        #[test]
        fn any_text_without_token_bytes_comes_back_byte_for_byte(text in texty()) {
            let mut body = Vec::new();
            push_tokenized(&mut body, &text);
            prop_assert!(body.len() <= text.len());
            prop_assert_eq!(expand(&body, b"id"), text);
        }

        #[test]
        fn any_bytes_expand_without_panicking(body in proptest::collection::vec(any::<u8>(), 0..40)) {
            let expanded = expand(&body, b"id");
            prop_assert!(expanded.len() >= body.len());
        }
    }
}
