//! Page parsing: the documented shape, skipped records, and the quick look against the full parse.

use super::*;
use proptest::prelude::*;
use serde_json::Value;

#[test]
fn the_documented_example_parses_with_unknown_fields_kept() {
    let body = br#"{"data":[{"conversation_id":"c1","start_at":"2026-04-29T14:00:00Z",
        "last_activity_at":null,"is_read":false,"contact_id":"k","priority":"high"}],
        "pagination":{"limit":25,"cursor":null,"next_cursor":"n2","has_more":true}}"#;
    let page = parse_page(body).unwrap();
    assert_eq!(page.len(), 1);
    let record = page.records().next().unwrap();
    assert_eq!(record.id, "c1");
    let conversation = record.conversation();
    assert_eq!(conversation.get("priority"), Some(&Value::from("high")));
    assert_eq!(conversation.folder(), None);
    assert_eq!(page.next_cursor.as_deref(), Some("n2"));
    assert!(page.has_more);
}

#[test]
fn records_without_an_id_or_with_wrong_types_are_skipped_not_fatal() {
    let body = br#"{"data":[{"start_at":"x"},{"conversation_id":"c2","is_read":"yes"},
        {"conversation_id":"c3"},7],"pagination":{"has_more":false}}"#;
    let page = parse_page(body).unwrap();
    assert_eq!(page.len(), 1);
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
    let ids: Vec<&str> = page.records().map(|r| r.id).collect();
    assert_eq!(ids, [edge.as_str(), "c3"], "1024 bytes is still an id");
    assert_eq!(page.skipped, [RecordError::IdTooLong { bytes: 2048 }]);
}

#[test]
fn a_record_with_a_repeated_key_is_read_as_the_full_parse_reads_it_the_last_one_wins() {
    let body =
        br#"{"data":[{"conversation_id":"a","is_read":1,"conversation_id":"b","is_read":true}],
        "pagination":{"has_more":false}}"#;
    let page = parse_page(body).unwrap();
    assert_eq!(page.records().map(|r| r.id).collect::<Vec<_>>(), ["b"]);
    assert!(page.skipped.is_empty());
}

#[test]
fn a_body_that_is_not_utf8_is_refused_with_context() {
    let error = parse_page(b"{\"data\":[\"\xff\"]}").unwrap_err();
    assert!(error.contains("bytes"), "{error}");
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
        prop_assert_eq!(page.len() + page.skipped.len(), records.len());
    }

    #[test]
    fn the_quick_look_at_a_record_agrees_with_the_full_parse(record in arb_json()) {
        let text = record.to_string();
        let body = format!(r#"{{"data":[{text}],"pagination":{{"has_more":false}}}}"#);
        let page = parse_page(body.as_bytes()).unwrap();
        match Conversation::from_json(&text) {
            Ok(conversation) => {
                let listed = page.records().next().expect("usable, as the full parse says");
                prop_assert_eq!(listed.id, conversation.id());
                prop_assert_eq!(listed.text, text.as_str());
                prop_assert_eq!(listed.conversation(), conversation);
            }
            Err(error) => prop_assert_eq!(&page.skipped, &[error]),
        }
    }

    #[test]
    fn ids_with_escapes_and_unicode_are_read_as_the_full_parse_reads_them(id in "[a-z\\\\\"é\\n]{1,12}") {
        let record = serde_json::json!({"conversation_id": id, "is_read": true, "x": [1, {"y": null}]});
        let body = serde_json::json!({"data": [record], "pagination": {"has_more": false}});
        let page = parse_page(body.to_string().as_bytes()).unwrap();
        prop_assert_eq!(page.records().next().unwrap().id, id.as_str());
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
            Just("conversation_id".to_string()),
            "[a-z]{1,6}"
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(keys, inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
