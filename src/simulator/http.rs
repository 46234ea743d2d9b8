//! The simulator's HTTP surface (the two documented endpoints) and how each fault is served.

use super::data::{decode_cursor, encode_cursor};
use super::{Fault, Shared};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, FixedOffset};
use serde_json::{json, Value};
use std::collections::HashMap;

pub fn router(shared: Shared) -> Router {
    Router::new()
        .route("/api/v2/organizations/{org}/conversations", get(list))
        .route(
            "/api/v2/organizations/{org}/conversations/{conversation}",
            get(one),
        )
        .with_state(shared)
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

/// A `start_date`/`end_date` window on `start_at`.
type Window = (Option<DateTime<FixedOffset>>, Option<DateTime<FixedOffset>>);

/// A listing request, as understood.
struct ListQuery {
    limit: usize,
    offset: usize,
    cursor: Option<String>,
    window: Option<Window>,
}

/// The query, or the reason for a 400.
fn parse_query(query: &HashMap<String, String>) -> Result<ListQuery, &'static str> {
    let limit = match query.get("limit") {
        None => 25,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or("limit must be 1..=100")?,
    };
    let cursor = query.get("cursor").cloned();
    let offset = match &cursor {
        None => 0,
        Some(c) => decode_cursor(c).ok_or("invalid cursor")?,
    };
    let date = |key: &str| {
        query
            .get(key)
            .map(|t| DateTime::parse_from_rfc3339(t).map_err(|_| "invalid date"))
            .transpose()
    };
    let (start, end) = (date("start_date")?, date("end_date")?);
    let window = (start.is_some() || end.is_some()).then_some((start, end));
    Ok(ListQuery {
        limit,
        offset,
        cursor,
        window,
    })
}

fn authorised(shared: &Shared, headers: &HeaderMap) -> bool {
    let key = shared.lock().api_key.clone();
    headers.get("x-api-key").and_then(|v| v.to_str().ok()) == Some(key.as_str())
}

async fn list(
    State(shared): State<Shared>,
    Path(org): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    shared.lock().count_request();
    let query = match parse_query(&query) {
        Ok(query) => query,
        Err(reason) => return error(StatusCode::BAD_REQUEST, reason),
    };
    let fault = shared
        .lock()
        .take_fault(&org, Some(query.offset / query.limit));
    shared.lock().log_request(&org, fault.as_ref());
    if let Some(Fault::Delay(wait)) = &fault {
        tokio::time::sleep(*wait).await;
    }
    if !authorised(&shared, &headers) {
        return error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let page = {
        let state = shared.lock();
        let Some(org) = state.org(&org) else {
            return error(StatusCode::NOT_FOUND, "organization not found");
        };
        page_of(&org.conversations, &query)
    };
    match fault {
        Some(fault) => faulty(fault, page, &query),
        None => Json(page).into_response(),
    }
}

fn page_of(conversations: &[Value], query: &ListQuery) -> Value {
    let in_window = |c: &&Value| {
        let Some((start, end)) = query.window else {
            return true;
        };
        let Some(at) = c
            .get("start_at")
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        else {
            return false;
        };
        start.is_none_or(|s| at >= s) && end.is_none_or(|e| at <= e)
    };
    let (data, total): (Vec<Value>, usize) = if query.window.is_some() {
        let all: Vec<&Value> = conversations.iter().filter(in_window).collect();
        (
            all.iter()
                .skip(query.offset)
                .take(query.limit)
                .map(|c| (*c).clone())
                .collect(),
            all.len(),
        )
    } else {
        (
            conversations
                .iter()
                .skip(query.offset)
                .take(query.limit)
                .cloned()
                .collect(),
            conversations.len(),
        )
    };
    let end = query.offset + data.len();
    let has_more = end < total;
    json!({"data": data, "pagination": {"limit": query.limit, "cursor": query.cursor,
        "next_cursor": has_more.then(|| encode_cursor(end)), "has_more": has_more}})
}

fn faulty(fault: Fault, mut page: Value, query: &ListQuery) -> Response {
    match fault {
        Fault::Status(code) => error(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "simulated failure",
        ),
        Fault::RateLimited { retry_after } => {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, "rate limited");
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", seconds.to_string().parse().expect("digits"));
            }
            response
        }
        Fault::Delay(_) => Json(page).into_response(),
        Fault::MalformedJson => {
            (StatusCode::OK, "<html><body>Bad gateway</body></html>").into_response()
        }
        Fault::TruncatedBody => {
            let body = page.to_string();
            (
                StatusCode::OK,
                [("content-type", "application/json")],
                body[..body.len() / 2].to_string(),
            )
                .into_response()
        }
        Fault::WrongTypes => {
            Json(json!({"data": {"conversation_id": "x"}, "pagination": {"has_more": "yes"}}))
                .into_response()
        }
        Fault::CursorLoop => {
            let same = query.cursor.clone().unwrap_or_else(|| encode_cursor(0));
            page["pagination"]["next_cursor"] = json!(same);
            page["pagination"]["has_more"] = json!(true);
            Json(page).into_response()
        }
        Fault::HasMoreWithoutCursor => {
            page["pagination"]["next_cursor"] = Value::Null;
            page["pagination"]["has_more"] = json!(true);
            Json(page).into_response()
        }
        Fault::EmptyPage => {
            page["data"] = json!([]);
            Json(page).into_response()
        }
        Fault::ConnectionReset => {
            let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "simulated reset");
            let stream = futures::stream::iter([
                Ok(axum::body::Bytes::from_static(b"{\"data\":[")),
                Err(reset),
            ]);
            (StatusCode::OK, Body::from_stream(stream)).into_response()
        }
        Fault::HugePage { bytes } => huge(page, bytes),
    }
}

/// The page with a `padding` field of `bytes` spaces, sent in 64 KiB chunks as they are read.
fn huge(page: Value, bytes: usize) -> Response {
    let head = page.to_string();
    let head = format!("{},\"padding\":\"", &head[..head.len() - 1]);
    let chunk = axum::body::Bytes::from(vec![b' '; 64 * 1024]);
    let padding = (0..bytes.div_ceil(chunk.len())).map(move |_| chunk.clone());
    let parts = std::iter::once(head.into())
        .chain(padding)
        .chain(std::iter::once("\"}".into()))
        .map(Ok::<_, std::io::Error>);
    let headers = [("content-type", "application/json")];
    (
        StatusCode::OK,
        headers,
        Body::from_stream(futures::stream::iter(parts)),
    )
        .into_response()
}

async fn one(
    State(shared): State<Shared>,
    Path((org, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    shared.lock().count_request();
    let fault = shared.lock().take_fault(&org, None);
    shared.lock().log_request(&org, fault.as_ref());
    if let Some(fault) = fault {
        return faulty(
            fault,
            json!({}),
            &ListQuery {
                limit: 1,
                offset: 0,
                cursor: None,
                window: None,
            },
        );
    }
    if !authorised(&shared, &headers) {
        return error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let state = shared.lock();
    match state.org(&org).map(|o| o.get(&id)) {
        None => error(StatusCode::NOT_FOUND, "organization not found"),
        Some(None) => error(StatusCode::NOT_FOUND, "conversation not found"),
        Some(Some(record)) => Json(record.clone()).into_response(),
    }
}
