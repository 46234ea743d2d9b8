//! The HTTP endpoints: `/healthz`, `/readyz`, `/metrics`, `/status`, and the admin endpoints
//! behind a bearer token (`POST /admin/poll`, `GET /admin/dead-letters`,
//! `POST /admin/dead-letters/{id}/retry`).

use crate::config::Config;
use crate::metrics::Metrics;
use crate::secret::Secret;
use crate::store::Store;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// What the endpoints read and poke.
pub struct ServerState {
    /// The store.
    pub store: Store,
    /// The metrics.
    pub metrics: Metrics,
    /// The configuration.
    pub config: Arc<Config>,
    /// Wakes the poll loop (`POST /admin/poll`).
    pub poll_now: Arc<Notify>,
    /// Wakes a sink's worker after a retry, by sink name.
    pub wakes: HashMap<String, Arc<Notify>>,
}

type Shared = Arc<ServerState>;

/// The routes.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/admin/poll", post(admin_poll))
        .route("/admin/dead-letters", get(admin_dead_letters))
        .route("/admin/dead-letters/{id}/retry", post(admin_retry))
        .with_state(state)
}

/// Serves until `shutdown` fires.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Shared,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn internal(e: impl std::fmt::Display) -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

async fn readyz(State(state): State<Shared>) -> Response {
    match crate::status::readiness(&state.store, &state.config, chrono::Utc::now()) {
        Ok(()) => Json(json!({ "ready": true })).into_response(),
        Err(reasons) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "ready": false, "reasons": reasons })),
        )
            .into_response(),
    }
}

async fn metrics(State(state): State<Shared>) -> Response {
    match crate::status::sinks(&state.store, &state.config) {
        Ok(sinks) => sinks
            .iter()
            .for_each(|s| state.metrics.queues(&s.name, s.outbox, s.dead_letters)),
        Err(e) => return internal(e),
    }
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    (
        [(header::CONTENT_TYPE, content_type)],
        state.metrics.encode(),
    )
        .into_response()
}

async fn status(State(state): State<Shared>) -> Response {
    match crate::status::collect(&state.store, &state.config) {
        Ok(status) => Json(status).into_response(),
        Err(e) => internal(e),
    }
}

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

async fn admin_poll(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(refused) = refusal(&state, &headers) {
        return refused;
    }
    state.poll_now.notify_one();
    (StatusCode::ACCEPTED, Json(json!({ "poll": "started" }))).into_response()
}

async fn admin_dead_letters(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(refused) = refusal(&state, &headers) {
        return refused;
    }
    match state.store.dead_letters() {
        Ok(letters) => Json(letters).into_response(),
        Err(e) => internal(e),
    }
}

async fn admin_retry(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Response {
    if let Some(refused) = refusal(&state, &headers) {
        return refused;
    }
    match state.store.retry_dead_letter(id) {
        Ok(Some(sink)) => {
            if let Some(wake) = state.wakes.get(&sink) {
                wake.notify_one();
            }
            Json(json!({ "retried": id, "sink": sink })).into_response()
        }
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no dead letter {id}")),
        Err(e) => internal(e),
    }
}
