//! The HyperRep client: one page per call, with retries, backoff, a shared request-rate ceiling
//! and typed errors. The API key goes in `X-API-KEY` and nowhere else: not in errors, not in logs.

mod page;

pub use page::{parse_page, Page};

use crate::backoff::{retry_after, Backoff};
use crate::config::ApiConfig;
use crate::metrics::Metrics;
use crate::secret::Secret;
use anyhow::Context;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::StatusCode;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use url::Url;

/// Why a page could not be had. The poller ends the listing on any of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 401: the key is wrong or revoked.
    #[error("unauthorized (HTTP 401): the API key was rejected")]
    Unauthorized,
    /// 403: the key may not read this org.
    #[error("forbidden (HTTP 403): the API key may not read this organization")]
    Forbidden,
    /// 404: no such org.
    #[error("not found (HTTP 404): no such organization")]
    NotFound,
    /// 200 with a body that is not a page.
    #[error("malformed page: {0}")]
    Malformed(String),
    /// Any other status, after the retries it deserved.
    #[error("HTTP {status} after {attempts} attempt(s)")]
    Status { status: u16, attempts: u32 },
    /// Connect error, timeout, reset, after the retries.
    #[error("{message} after {attempts} attempt(s)")]
    Transport { message: String, attempts: u32 },
    /// Shutdown began while waiting.
    #[error("stopped by shutdown")]
    Cancelled,
}

/// One try's result.
enum Try {
    Done(Vec<u8>),
    Fatal(ApiError),
    Again {
        error: ApiError,
        wait: Option<Duration>,
    },
}

/// The client; cheap to clone, and clones share the rate ceiling.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: Url,
    key: Secret,
    page_size: u32,
    max_retries: u32,
    backoff: Backoff,
    limiter: Arc<DefaultDirectRateLimiter>,
    metrics: Metrics,
}

impl ApiClient {
    /// Builds the client from `[api]` (validated, so the key is present).
    pub fn new(config: &ApiConfig, metrics: Metrics) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // A redirect would carry X-API-KEY to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("hyperrep-notifier/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTP client for the HyperRep API")?;
        let per_second = NonZeroU32::new(config.requests_per_second)
            .context("api.requests_per_second is zero")?;
        Ok(ApiClient {
            http,
            base: config.base_url.clone(),
            key: config.api_key.clone().context("api.api_key is missing")?,
            page_size: config.page_size,
            max_retries: config.max_retries,
            backoff: Backoff {
                initial: config.initial_backoff,
                max: config.max_backoff,
            },
            limiter: Arc::new(RateLimiter::direct(Quota::per_second(per_second))),
            metrics,
        })
    }

    /// The page of `org_id`'s conversations that starts at `cursor` (the first page when `None`).
    pub async fn list_page(
        &self,
        org_id: &str,
        cursor: Option<&str>,
        cancel: &CancellationToken,
    ) -> Result<Page, ApiError> {
        let url = self.page_url(org_id, cursor);
        let body = self.get(url, cancel).await?;
        parse_page(&body).map_err(ApiError::Malformed)
    }

    fn page_url(&self, org_id: &str, cursor: Option<&str>) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("validated http(s) base URL")
            .pop_if_empty()
            .extend(["api", "v2", "organizations", org_id, "conversations"]);
        url.query_pairs_mut()
            .append_pair("limit", &self.page_size.to_string());
        if let Some(cursor) = cursor {
            url.query_pairs_mut().append_pair("cursor", cursor);
        }
        url
    }

    /// GET with the retry schedule: connect errors, timeouts, 408, 429 and 5xx are retried up to
    /// `max_retries` times; `Retry-After` wins over the backoff.
    async fn get(&self, url: Url, cancel: &CancellationToken) -> Result<Vec<u8>, ApiError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            cancellable(cancel, self.limiter.until_ready()).await?;
            let (error, wait) = match cancellable(cancel, self.try_once(&url, attempt)).await? {
                Try::Done(body) => return Ok(body),
                Try::Fatal(error) => return Err(error),
                Try::Again { error, wait } => (error, wait),
            };
            if attempt > self.max_retries {
                return Err(error);
            }
            let wait = wait.unwrap_or_else(|| self.backoff.delay(attempt, &mut rand::rng()));
            tracing::warn!(%error, attempt, wait_ms = wait.as_millis() as u64, "HyperRep request failed; retrying");
            cancellable(cancel, tokio::time::sleep(wait)).await?;
        }
    }

    async fn try_once(&self, url: &Url, attempt: u32) -> Try {
        let started = Instant::now();
        let sent = self
            .http
            .get(url.clone())
            .header("X-API-KEY", self.key.expose())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                self.metrics.api_request(None, started.elapsed());
                return transport(e, attempt);
            }
        };
        let status = response.status();
        self.metrics
            .api_request(Some(status.as_u16()), started.elapsed());
        tracing::debug!(
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "HyperRep answered"
        );
        if status == StatusCode::OK {
            return match response.bytes().await {
                Ok(body) => Try::Done(body.to_vec()),
                Err(e) => transport(e, attempt),
            };
        }
        let wait = retry_after(response.headers(), chrono::Utc::now());
        classify(status, attempt, wait)
    }
}

fn classify(status: StatusCode, attempts: u32, wait: Option<Duration>) -> Try {
    match status.as_u16() {
        401 => Try::Fatal(ApiError::Unauthorized),
        403 => Try::Fatal(ApiError::Forbidden),
        404 => Try::Fatal(ApiError::NotFound),
        408 | 429 | 500..=599 => Try::Again {
            error: ApiError::Status {
                status: status.as_u16(),
                attempts,
            },
            wait,
        },
        other => Try::Fatal(ApiError::Status {
            status: other,
            attempts,
        }),
    }
}

fn transport(error: reqwest::Error, attempts: u32) -> Try {
    // without_url: the URL is not secret here, but the habit keeps sink URLs out of errors too.
    let kind = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect error"
    } else {
        "transport error"
    };
    let message = format!(
        "{kind}: {}",
        crate::sinks::error_chain(&error.without_url())
    );
    Try::Again {
        error: ApiError::Transport { message, attempts },
        wait: None,
    }
}

async fn cancellable<T>(
    cancel: &CancellationToken,
    work: impl std::future::Future<Output = T>,
) -> Result<T, ApiError> {
    tokio::select! {
        _ = cancel.cancelled() => Err(ApiError::Cancelled),
        value = work => Ok(value),
    }
}
