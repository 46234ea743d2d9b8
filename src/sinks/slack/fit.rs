//! Keeping a message inside Slack's documented limits: values cut with `…`, lists shortened.

use serde_json::Value;

/// Slack's documented limits (characters, items).
pub mod limits {
    /// Blocks per message.
    pub const BLOCKS: usize = 50;
    /// The top-level `text` (Slack truncates beyond 40,000; 4,000 keeps notifications readable).
    pub const TEXT: usize = 4000;
    /// A header block's text.
    pub const HEADER: usize = 150;
    /// A section block's text.
    pub const SECTION: usize = 3000;
    /// Fields per section, and each field's text.
    pub const FIELDS: usize = 10;
    /// A section field's text.
    pub const FIELD: usize = 2000;
    /// Elements per context block.
    pub const CONTEXT_ELEMENTS: usize = 10;
    /// A context element's text.
    pub const CONTEXT: usize = 2000;
}

/// Cuts every value that is too long, and drops blocks and items past Slack's counts. Only
/// values that exist are touched (a block must not gain keys it did not have).
pub fn fit(mut payload: Value) -> Value {
    cut(payload.get_mut("text"), limits::TEXT);
    if let Some(blocks) = payload.get_mut("blocks").and_then(Value::as_array_mut) {
        blocks.truncate(limits::BLOCKS);
        for block in blocks {
            match block.get("type").and_then(Value::as_str) {
                Some("header") => cut(block.pointer_mut("/text/text"), limits::HEADER),
                Some("section") => {
                    cut(block.pointer_mut("/text/text"), limits::SECTION);
                    cut_items(block.get_mut("fields"), limits::FIELDS, limits::FIELD);
                }
                Some("context") => cut_items(
                    block.get_mut("elements"),
                    limits::CONTEXT_ELEMENTS,
                    limits::CONTEXT,
                ),
                _ => {}
            }
        }
    }
    payload
}

/// Keeps at most `count` items of a list and cuts each item's `text`.
fn cut_items(items: Option<&mut Value>, count: usize, limit: usize) {
    if let Some(items) = items.and_then(Value::as_array_mut) {
        items.truncate(count);
        items
            .iter_mut()
            .for_each(|item| cut(item.get_mut("text"), limit));
    }
}

/// Shortens a string value to `limit` characters, ending with `…`.
fn cut(value: Option<&mut Value>, limit: usize) {
    if let Some(Value::String(text)) = value {
        if text.chars().count() > limit {
            let kept: String = text.chars().take(limit - 1).collect();
            *text = format!("{kept}…");
        }
    }
}
