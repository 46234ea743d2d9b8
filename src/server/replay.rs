//! `POST /admin/replay`: delivered events queued again on a running daemon, from a JSON body
//! `{"since": TIME, "until": TIME, "sink": NAME, "org": ID, "type": TYPE}` (all but `since`
//! optional; TIME is RFC 3339 or a duration ago). Answers `{"queued": N, "sinks": {…}}` and wakes
//! the workers of the sinks that got entries; 400 with the reason for a body it cannot use.

use super::{error, internal, Shared};
use crate::replay::{Replayed, Request, Selection};
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};

/// See the module docs (the token is checked before the body is read: see `admin::routes`).
pub(super) async fn replay(
    State(state): State<Shared>,
    body: Result<Json<Request>, JsonRejection>,
) -> Response {
    let request = match body {
        Ok(Json(request)) => request,
        Err(rejection) => return error(StatusCode::BAD_REQUEST, rejection.body_text()),
    };
    let configured: Vec<String> = state
        .config
        .sinks
        .iter()
        .map(|s| s.name().to_string())
        .collect();
    let now = chrono::Utc::now();
    let names: Vec<&str> = configured.iter().map(String::as_str).collect();
    let selection = match Selection::read(&request, &names, now) {
        Ok(selection) => selection,
        Err(reason) => return error(StatusCode::BAD_REQUEST, reason),
    };
    match queue(&state, selection, configured, now).await {
        Ok(replayed) => {
            for sink in replayed.sinks.keys() {
                state.outbox.wake(sink);
            }
            tracing::info!(queued = replayed.queued, "{}", replayed.summary());
            Json(replayed).into_response()
        }
        Err(e) => internal(e),
    }
}

/// The replay itself, off the async threads (which also serve `/healthz`): a long range is a
/// long scan.
async fn queue(
    state: &Shared,
    selection: Selection,
    configured: Vec<String>,
    now: DateTime<Utc>,
) -> anyhow::Result<Replayed> {
    let store = state.store.clone();
    let replayed = tokio::task::spawn_blocking(move || {
        let names: Vec<&str> = configured.iter().map(String::as_str).collect();
        crate::replay::replay(&store, &selection, &names, now)
    });
    Ok(replayed.await??)
}
