//! What the daemon's sockets answer while it compacts its store (see `run/reopen.rs`), when
//! the store is closed: alive (`/healthz`), not ready (`/readyz`, with the reason), the
//! metrics as they stand (so a scrape does not see the process down), and 503 with
//! `Retry-After` for everything else.

use super::{encoded, error, Endpoints};
use crate::metrics::Metrics;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// Why the daemon is not ready meanwhile.
const COMPACTING: &str = "compacting the store";
/// When to ask again: a compaction takes seconds (tens of seconds for a million conversations).
const RETRY_AFTER_SECONDS: &str = "5";

/// Answers on `listener` as above until `stop` fires; on an admin listener, 503 to everything.
pub(crate) async fn hold(
    listener: tokio::net::TcpListener,
    endpoints: Endpoints,
    metrics: Metrics,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let routes = match endpoints {
        Endpoints::Admin => Router::new(),
        Endpoints::All | Endpoints::Public => Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(not_ready))
            .route(
                "/metrics",
                get(move |headers: HeaderMap| async move { encoded(&metrics, &headers) }),
            ),
    };
    axum::serve(listener, routes.fallback(compacting))
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
}

async fn not_ready() -> Response {
    let body = json!({ "ready": false, "reasons": [COMPACTING] });
    (StatusCode::SERVICE_UNAVAILABLE, retry_after(), Json(body)).into_response()
}

async fn compacting() -> Response {
    (
        retry_after(),
        error(StatusCode::SERVICE_UNAVAILABLE, COMPACTING),
    )
        .into_response()
}

fn retry_after() -> [(header::HeaderName, &'static str); 1] {
    [(header::RETRY_AFTER, RETRY_AFTER_SECONDS)]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The holding answers on a loopback port: (status, `Retry-After`, body) of `path`.
    async fn answers(endpoints: Endpoints, paths: &[&str]) -> Vec<(u16, String, String)> {
        crate::install_crypto_provider();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        let held = tokio::spawn(hold(listener, endpoints, Metrics::new(), stop.clone()));
        let mut found = Vec::new();
        for path in paths {
            let answer = reqwest::get(format!("{base}{path}")).await.unwrap();
            let retry = answer.headers().get(header::RETRY_AFTER);
            let retry = retry.map(|v| v.to_str().unwrap().to_string());
            let status = answer.status().as_u16();
            found.push((
                status,
                retry.unwrap_or_default(),
                answer.text().await.unwrap(),
            ));
        }
        stop.cancel();
        held.await.unwrap().unwrap();
        found
    }

    #[tokio::test]
    async fn while_compacting_the_daemon_is_alive_not_ready_and_still_scraped() {
        let paths = ["/healthz", "/readyz", "/metrics", "/status", "/admin/poll"];
        let found = answers(Endpoints::All, &paths).await;
        assert_eq!((found[0].0, found[0].2.as_str()), (200, "ok"));
        assert_eq!((found[1].0, found[1].1.as_str()), (503, "5"));
        let ready: serde_json::Value = serde_json::from_str(&found[1].2).unwrap();
        assert_eq!(ready, json!({ "ready": false, "reasons": [COMPACTING] }));
        assert_eq!(found[2].0, 200);
        assert!(found[2].2.contains("# EOF") || found[2].2.contains("# TYPE"));
        for other in &found[3..] {
            assert_eq!((other.0, other.1.as_str()), (503, "5"), "{other:?}");
            assert!(other.2.contains(COMPACTING), "{other:?}");
        }
    }

    #[tokio::test]
    async fn an_admin_port_answers_only_that_it_is_compacting() {
        let found = answers(Endpoints::Admin, &["/healthz", "/admin/poll"]).await;
        assert!(found.iter().all(|(status, ..)| *status == 503), "{found:?}");
    }
}
