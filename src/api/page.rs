//! Parsing one listing page. Pure, so it is fuzzed with arbitrary bytes.

use crate::event::{Conversation, RecordError};
use serde::Deserialize;
use serde_json::value::RawValue;
#[cfg(test)]
use serde_json::Value;

/// One page of a listing, as far as it could be understood.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The usable records, in upstream order.
    pub conversations: Vec<Conversation>,
    /// Records that were skipped, and why.
    pub skipped: Vec<RecordError>,
    /// Where the next page starts.
    pub next_cursor: Option<String>,
    /// Whether upstream says there is a next page.
    pub has_more: bool,
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

/// Parses a page body. A body that is not the documented shape is an error (the whole page is
/// refused, so it changes no state); a record that is not usable is skipped and reported.
pub fn parse_page(body: &[u8]) -> Result<Page, String> {
    let wire: WirePage = serde_json::from_slice(body)
        .map_err(|e| format!("{e} (in a body of {} bytes)", body.len()))?;
    let mut conversations = Vec::with_capacity(wire.data.len());
    let mut skipped = Vec::new();
    for record in wire.data {
        match Conversation::from_json(record.get()) {
            Ok(conversation) => conversations.push(conversation),
            Err(error) => skipped.push(error),
        }
    }
    let next_cursor = wire.pagination.next_cursor.filter(|c| !c.is_empty());
    Ok(Page {
        conversations,
        skipped,
        next_cursor,
        has_more: wire.pagination.has_more,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_documented_example_parses_with_unknown_fields_kept() {
        let body = br#"{"data":[{"conversation_id":"c1","start_at":"2026-04-29T14:00:00Z",
            "last_activity_at":null,"is_read":false,"contact_id":"k","priority":"high"}],
            "pagination":{"limit":25,"cursor":null,"next_cursor":"n2","has_more":true}}"#;
        let page = parse_page(body).unwrap();
        assert_eq!(page.conversations.len(), 1);
        assert_eq!(
            page.conversations[0].get("priority"),
            Some(&Value::from("high"))
        );
        assert_eq!(page.conversations[0].folder(), None);
        assert_eq!(page.next_cursor.as_deref(), Some("n2"));
        assert!(page.has_more);
    }

    #[test]
    fn records_without_an_id_or_with_wrong_types_are_skipped_not_fatal() {
        let body = br#"{"data":[{"start_at":"x"},{"conversation_id":"c2","is_read":"yes"},
            {"conversation_id":"c3"},7],"pagination":{"has_more":false}}"#;
        let page = parse_page(body).unwrap();
        assert_eq!(page.conversations.len(), 1);
        assert_eq!(page.skipped.len(), 3);
        assert!(page.skipped.contains(&RecordError::WrongType {
            id: "c2".into(),
            field: "is_read"
        }));
    }

    #[test]
    fn a_record_with_an_id_over_1_kib_is_skipped_and_the_rest_of_the_page_is_used() {
        let long = "x".repeat(2048);
        let edge = "y".repeat(crate::event::MAX_ID_BYTES);
        let body = serde_json::json!({"data": [{"conversation_id": long},
            {"conversation_id": edge}, {"conversation_id": "c3"}],
            "pagination": {"has_more": false}});
        let page = parse_page(body.to_string().as_bytes()).unwrap();
        let ids: Vec<&str> = page.conversations.iter().map(|c| c.id()).collect();
        assert_eq!(ids, [edge.as_str(), "c3"], "1024 bytes is still an id");
        assert_eq!(page.skipped, [RecordError::IdTooLong { bytes: 2048 }]);
    }

    #[test]
    fn a_body_of_the_wrong_shape_is_refused_with_context() {
        for body in [
            &b"<html>"[..],
            br#"{"data":{},"pagination":{"has_more":false}}"#,
            br#"{"data":[]"#,
        ] {
            let error = parse_page(body).unwrap_err();
            assert!(error.contains("bytes"), "{error}");
        }
    }

    proptest! {
        #[test]
        fn any_bytes_parse_or_fail_without_panicking(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_page(&body);
        }

        #[test]
        fn any_json_values_as_records_never_panic(records in proptest::collection::vec(arb_json(), 0..20)) {
            let body = serde_json::json!({"data": records, "pagination": {"has_more": false}});
            let page = parse_page(body.to_string().as_bytes()).unwrap();
            prop_assert_eq!(page.conversations.len() + page.skipped.len(), records.len());
        }
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z_]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            let keys = prop_oneof![
                Just("conversation_id".to_string()),
                Just("is_read".to_string()),
                Just("folder".to_string()),
                Just("last_activity_at".to_string()),
                "[a-z]{1,6}"
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map(keys, inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
