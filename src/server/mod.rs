//! The HTTP endpoints: `/healthz`, `/readyz`, `/metrics`, `/status`, and the admin endpoints
//! behind a bearer token ([`admin`]).

mod admin;
mod holding;
mod replay;

pub(crate) use holding::hold;

use crate::config::Config;
use crate::dispatch::Outbox;
use crate::metrics::{Format, Metrics};
use crate::store::Store;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
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

/// Which endpoints one listener answers (anything else is 404 there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoints {
    /// All of them: one listener (no `server.admin_listen`).
    All,
    /// Health, readiness, metrics and status: `server.listen` beside an admin listener.
    Public,
    /// `/admin/*` only: `server.admin_listen`.
    Admin,
}

/// Every route.
pub fn router(state: Shared) -> Router {
    routes(state, Endpoints::All)
}

/// The routes of `endpoints`.
pub fn routes(state: Shared, endpoints: Endpoints) -> Router {
    let public = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status));
    let routes = match endpoints {
        Endpoints::All => public.merge(admin::routes(state.clone())),
        Endpoints::Public => public,
        Endpoints::Admin => admin::routes(state.clone()),
    };
    routes.with_state(state)
}

/// Serves every endpoint until `shutdown` fires.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Shared,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    serve_endpoints(listener, state, Endpoints::All, shutdown).await
}

/// Serves `endpoints` until `shutdown` fires.
pub async fn serve_endpoints(
    listener: tokio::net::TcpListener,
    state: Shared,
    endpoints: Endpoints,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, routes(state, endpoints))
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
        Ok(sinks) => sinks.iter().for_each(|s| {
            state.metrics.queues(&s.name, s.outbox, s.dead_letters);
            let open = s.window.as_ref().is_none_or(|w| w.open);
            state.metrics.window(&s.name, open, s.outbox);
            state.metrics.disabled(&s.name, s.disabled.is_some());
        }),
        Err(e) => return internal(e),
    }
    encoded(&state.metrics, &headers)
}

/// `metrics` as they stand, in the format `headers` ask for.
fn encoded(metrics: &Metrics, headers: &HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    let content_type = [(header::CONTENT_TYPE, format.content_type())];
    (content_type, metrics.encode(format)).into_response()
}

async fn status(State(state): State<Shared>) -> Response {
    match crate::status::collect(&state.store, &state.config) {
        Ok(status) => Json(status).into_response(),
        Err(e) => internal(e),
    }
}
