//! The HTTP endpoints: `/healthz`, `/readyz`, `/metrics`, `/status`, and the admin endpoints
//! behind a bearer token ([`admin`]).

mod admin;

use crate::config::Config;
use crate::dispatch::Outbox;
use crate::metrics::{Format, Metrics};
use crate::store::Store;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;
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
    /// Wakes a sink's worker after a retry.
    pub outbox: Arc<Outbox>,
}

type Shared = Arc<ServerState>;

/// The routes.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/admin/poll", post(admin::poll))
        .route("/admin/dead-letters", get(admin::dead_letters))
        .route("/admin/dead-letters/retry", post(admin::retry_all))
        .route("/admin/dead-letters/{id}/retry", post(admin::retry))
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

/// The metrics in the format the `Accept` header asks for: the Prometheus text format unless
/// OpenMetrics is preferred (see [`Format::negotiate`]).
async fn metrics(State(state): State<Shared>, headers: HeaderMap) -> Response {
    match crate::status::sinks(&state.store, &state.config) {
        Ok(sinks) => sinks
            .iter()
            .for_each(|s| state.metrics.queues(&s.name, s.outbox, s.dead_letters)),
        Err(e) => return internal(e),
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    (
        [(header::CONTENT_TYPE, format.content_type())],
        state.metrics.encode(format),
    )
        .into_response()
}

async fn status(State(state): State<Shared>) -> Response {
    match crate::status::collect(&state.store, &state.config) {
        Ok(status) => Json(status).into_response(),
        Err(e) => internal(e),
    }
}
