//! The admin endpoints, behind a bearer token: `POST /admin/poll`, `GET /admin/dead-letters`
//! (in pages: `?limit=&after=`, `?sink=`), `POST /admin/dead-letters/retry` (all, or `?sink=`),
//! `POST /admin/dead-letters/{id}/retry`, `POST /admin/replay` (in [`super::replay`]),
//! `POST /admin/sinks/{name}/enable`.

use super::{error, internal, ServerState, Shared};
use crate::secret::Secret;
use crate::store::DeadFilter;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

/// The admin routes, on `server.listen` or on their own `server.admin_listen`, every one behind
/// the token check ([`guard`]), which runs before a handler reads its query or body, so that a
/// caller without the token learns nothing about them.
pub(super) fn routes(state: Shared) -> Router<Shared> {
    Router::new()
        .route("/admin/poll", post(poll))
        .route("/admin/dead-letters", get(dead_letters))
        .route("/admin/dead-letters/retry", post(retry_all))
        .route("/admin/dead-letters/{id}/retry", post(retry))
        .route("/admin/replay", post(super::replay::replay))
        .route("/admin/sinks/{name}/enable", post(enable))
        .route_layer(middleware::from_fn_with_state(state, guard))
}

/// Lets a request through to its handler only with the admin token.
async fn guard(State(state): State<Shared>, request: Request, next: Next) -> Response {
    match refusal(&state, request.headers()) {
        Some(refused) => refused,
        None => next.run(request).await,
    }
}

/// A page of dead letters when `limit` is not given, and the most one page holds.
const PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

/// The admin token check: the refusal, if any. Off without a configured token, 401 for a
/// missing or wrong one; compared in constant time.
fn refusal(state: &ServerState, headers: &HeaderMap) -> Option<Response> {
    let Some(token) = state.config.server.admin_token.as_ref() else {
        return Some(error(
            StatusCode::FORBIDDEN,
            "admin endpoints are off: set server.admin_token_file (or admin_token)",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given.is_some_and(|given| matches(token, given)) {
        return None;
    }
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        "a valid `Authorization: Bearer <admin token>` header is required",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        "Bearer".parse().expect("a valid header"),
    );
    Some(response)
}

fn matches(token: &Secret, given: &str) -> bool {
    bool::from(token.expose().as_bytes().ct_eq(given.as_bytes()))
}

pub(super) async fn poll(State(state): State<Shared>) -> Response {
    state.poll_now.notify_one();
    (StatusCode::ACCEPTED, Json(json!({ "poll": "started" }))).into_response()
}

/// The query, or a 400 saying what is wrong with it.
fn read<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, String> {
    query
        .map(|Query(query)| query)
        .map_err(|rejection| rejection.body_text())
}

/// `?limit=&after=&sink=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PageQuery {
    limit: Option<usize>,
    after: Option<u64>,
    sink: Option<String>,
}

/// One page of dead letters, oldest first, as a JSON array; when the page is full, a
/// `Link: <…?after=ID&limit=N>; rel="next"` header says where the next one starts.
pub(super) async fn dead_letters(
    State(state): State<Shared>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let page = match read(query) {
        Ok(page) => page,
        Err(wrong) => return error(StatusCode::BAD_REQUEST, wrong),
    };
    let limit = page.limit.unwrap_or(PAGE).clamp(1, MAX_PAGE);
    let filter = DeadFilter {
        sink: page.sink.clone(),
        ..DeadFilter::default()
    };
    let letters = match state.store.dead_letters_page(page.after, limit, &filter) {
        Ok(letters) => letters,
        Err(e) => return internal(e),
    };
    let next = letters
        .last()
        .filter(|_| letters.len() == limit)
        .map(|l| l.id);
    let mut response = Json(letters).into_response();
    if let Some(after) = next {
        let sink = page
            .sink
            .map(|s| format!("&sink={}", urlencode(&s)))
            .unwrap_or_default();
        let link = format!("</admin/dead-letters?after={after}&limit={limit}{sink}>; rel=\"next\"");
        if let Ok(value) = link.parse() {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    response
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `?sink=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SinkQuery {
    sink: Option<String>,
}

/// Re-queues every dead letter (or every one of `?sink=`), and wakes the workers.
pub(super) async fn retry_all(
    State(state): State<Shared>,
    query: Result<Query<SinkQuery>, QueryRejection>,
) -> Response {
    let query = match read(query) {
        Ok(query) => query,
        Err(wrong) => return error(StatusCode::BAD_REQUEST, wrong),
    };
    let filter = DeadFilter {
        sink: query.sink.clone(),
        ..DeadFilter::default()
    };
    match state.store.retry_dead_letters(&filter) {
        Ok(retried) => {
            state.outbox.wake_all();
            Json(json!({ "retried": retried, "sink": query.sink })).into_response()
        }
        Err(e) => internal(e),
    }
}

/// Re-queues one dead letter (a point lookup) and wakes its sink's worker.
pub(super) async fn retry(State(state): State<Shared>, Path(id): Path<u64>) -> Response {
    match state.store.retry_dead_letter(id) {
        Ok(Some(sink)) => {
            state.outbox.wake(&sink);
            Json(json!({ "retried": id, "sink": sink })).into_response()
        }
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no dead letter {id}")),
        Err(e) => internal(e),
    }
}

/// Enables a disabled sink and wakes its worker: its entries go out now, in detection order.
/// 404 for a sink that is not configured; `was_disabled: false` when there was nothing to do.
pub(super) async fn enable(State(state): State<Shared>, Path(name): Path<String>) -> Response {
    if !state.config.sinks.iter().any(|s| s.name() == name) {
        return error(
            StatusCode::NOT_FOUND,
            format!("no sink named `{name}` is configured"),
        );
    }
    match crate::dispatch::enable(&state.store, &name, chrono::Utc::now()) {
        Ok(enabled) => {
            state.outbox.wake(&name);
            let queued = enabled.unwrap_or_else(|| state.store.outbox_depth(&name));
            let was_disabled = enabled.is_some();
            let body = json!({ "sink": name, "enabled": true, "was_disabled": was_disabled, "queued": queued });
            Json(body).into_response()
        }
        Err(e) => internal(e),
    }
}
