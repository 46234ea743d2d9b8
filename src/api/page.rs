//! Parsing one listing page, once and borrowing: the body is kept, each record is its span of
//! the body, and of a record only what every poll needs is read (its id, and the types of the
//! tracked fields, which a record must get right to be usable). A record becomes a
//! [`Conversation`] (a map of every field) only when it differs from what is stored, which in a
//! steady poll is a handful of records out of thousands. Pure, so it is fuzzed with arbitrary
//! bytes.

use crate::event::{Conversation, RecordError, MAX_ID_BYTES};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::ops::Range;

/// One page of a listing, as far as it could be understood.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The body as received: the records are spans of it.
    body: String,
    /// The usable records, in upstream order.
    records: Vec<Span>,
    /// Records that were skipped, and why.
    pub skipped: Vec<RecordError>,
    /// Where the next page starts.
    pub next_cursor: Option<String>,
    /// Whether upstream says there is a next page.
    pub has_more: bool,
}

/// Where a usable record and its id are in the body.
#[derive(Debug, Clone, PartialEq)]
struct Span {
    text: Range<usize>,
    id: Id,
}

/// A record's id: a span of the body when it was sent without escapes (nearly always), else
/// decoded.
#[derive(Debug, Clone, PartialEq)]
enum Id {
    At(Range<usize>),
    Decoded(Box<str>),
}

/// A usable record of a page, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The `conversation_id`.
    pub id: &'a str,
    /// The record's JSON text as received.
    pub text: &'a str,
}

impl Record<'_> {
    /// The record as a conversation (for a record that differs from the stored one), its
    /// fields parsed when first asked for: the page's quick look made sure they can be.
    pub fn conversation(&self) -> Conversation {
        Conversation::from_checked(self.id, self.text)
    }
}

impl crate::store::Listed for Record<'_> {
    fn id(&self) -> &str {
        self.id
    }
    fn text(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(self.text.as_bytes())
    }
}

impl Page {
    /// The usable records, in upstream order.
    pub fn records(&self) -> impl ExactSizeIterator<Item = Record<'_>> + '_ {
        self.records.iter().map(|span| Record {
            id: match &span.id {
                Id::At(at) => &self.body[at.clone()],
                Id::Decoded(id) => id,
            },
            text: &self.body[span.text.clone()],
        })
    }

    /// How many records are usable.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

#[derive(Deserialize)]
struct WirePage<'a> {
    /// Each record's text, borrowed from the body: kept as received (see `Conversation`).
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
    pagination: WirePagination,
}

#[derive(Deserialize)]
struct WirePagination {
    #[serde(default)]
    next_cursor: Option<String>,
    has_more: bool,
}

/// What is read of every record: the id and the tracked fields, each still as its JSON text.
/// Every other field is skipped over, not built.
#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(borrow, default)]
    conversation_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    last_activity_at: Option<&'a RawValue>,
    #[serde(borrow, default)]
    is_read: Option<&'a RawValue>,
    #[serde(borrow, default)]
    folder: Option<&'a RawValue>,
}

/// Parses a page body. A body that is not the documented shape is an error (the whole page is
/// refused, so it changes no state); a record that is not usable is skipped and reported.
pub fn parse_page(body: &[u8]) -> Result<Page, String> {
    parse_page_owned(body.to_vec())
}

/// [`parse_page`] of a body read for it, which the page keeps (no copy).
pub(crate) fn parse_page_owned(body: Vec<u8>) -> Result<Page, String> {
    let bytes = body.len();
    let context = |e: &dyn std::fmt::Display| format!("{e} (in a body of {bytes} bytes)");
    // Checked as UTF-8 once here, so the parse below need not check each string again.
    let body = String::from_utf8(body).map_err(|e| context(&e.utf8_error()))?;
    let wire: WirePage = serde_json::from_str(&body).map_err(|e| context(&e))?;
    let mut records = Vec::with_capacity(wire.data.len());
    let mut skipped = Vec::new();
    for record in wire.data {
        match span_of(&body, record.get()) {
            Ok(span) => records.push(span),
            Err(error) => skipped.push(error),
        }
    }
    let next_cursor = wire.pagination.next_cursor.filter(|c| !c.is_empty());
    let has_more = wire.pagination.has_more;
    Ok(Page {
        body,
        records,
        skipped,
        next_cursor,
        has_more,
    })
}

/// Where `text` (a slice of `body`) is, with its id, when it is a usable record.
fn span_of(body: &str, text: &str) -> Result<Span, RecordError> {
    let at = |part: &str| offset(body, part)..offset(body, part) + part.len();
    // A derived struct would take an array as well: only an object gets the quick look.
    let quick = text
        .starts_with('{')
        .then(|| serde_json::from_str::<Fields>(text));
    let Some(Ok(fields)) = quick else {
        // Not an object, or one this quick look cannot take (a repeated key, say): the full
        // parse decides, exactly as it always has.
        let conversation = Conversation::from_json(text)?;
        let id = Id::Decoded(conversation.id().into());
        return Ok(Span { text: at(text), id });
    };
    let id = id_of(fields.conversation_id)?;
    let checks = [
        ("last_activity_at", fields.last_activity_at, b'"'),
        ("is_read", fields.is_read, b'b'),
        ("folder", fields.folder, b'"'),
    ];
    for (field, value, kind) in checks {
        let Some(value) = value else { continue };
        let ok = match kind {
            b'b' => matches!(value.get(), "true" | "false"),
            _ => value.get().starts_with('"'),
        };
        if !ok {
            let id = match &id {
                IdText::Plain(id) => id.to_string(),
                IdText::Decoded(id) => id.clone(),
            };
            return Err(RecordError::WrongType { id, field });
        }
    }
    let id = match id {
        IdText::Plain(id) => Id::At(at(id)),
        IdText::Decoded(id) => Id::Decoded(id.into()),
    };
    Ok(Span { text: at(text), id })
}

/// An id as read: its text in the body, or decoded when it was sent with escapes.
enum IdText<'a> {
    Plain(&'a str),
    Decoded(String),
}

/// The id, under the same rules as [`Conversation::from_value`].
fn id_of(raw: Option<&RawValue>) -> Result<IdText<'_>, RecordError> {
    let text = raw.map_or("", RawValue::get);
    let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
        return Err(RecordError::MissingId);
    };
    let id = if inner.contains('\\') {
        let decoded: String = serde_json::from_str(text).map_err(|_| RecordError::MissingId)?;
        IdText::Decoded(decoded)
    } else {
        IdText::Plain(inner)
    };
    let bytes = match &id {
        IdText::Plain(id) => id.len(),
        IdText::Decoded(id) => id.len(),
    };
    match bytes {
        0 => Err(RecordError::MissingId),
        bytes if bytes > MAX_ID_BYTES => Err(RecordError::IdTooLong { bytes }),
        _ => Ok(id),
    }
}

/// Where `part`, a slice of `whole`, starts in it.
fn offset(whole: &str, part: &str) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

#[cfg(test)]
#[path = "page_tests.rs"]
mod tests;
