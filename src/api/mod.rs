//! The HyperRep client: one page per call, with retries, backoff, a shared request-rate ceiling,
//! a shared `Retry-After` gate, bounded page bodies and typed errors. The API key goes in
//! `X-API-KEY` and nowhere else: not in errors, not in logs.

mod body;
mod gate;
mod page;

pub use page::{parse_page, Page, Record};

use crate::backoff::{retry_after, Backoff};
use crate::config::ApiConfig;
use crate::metrics::Metrics;
use crate::secret::Secret;
use anyhow::Context;
use body::{read_bounded, BodyError};
use gate::Gate;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::StatusCode;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;
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
    /// 200 with a body over `api.max_page_bytes`. Not retried: it will not get smaller.
    #[error("page refused: larger than api.max_page_bytes ({limit} bytes)")]
    PageTooLarge { limit: u64 },
    /// Shutdown began while waiting.
    #[error("stopped by shutdown")]
    Cancelled,
}

/// One try's result.
enum Try {
    Done(Vec<u8>),
    Fatal(ApiError),
    /// Worth another try; `gated`: upstream named the wait (`Retry-After`), so the gate holds it.
    Again {
        error: ApiError,
        gated: bool,
    },
}

/// The client; cheap to clone, and clones share the rate ceiling and the `Retry-After` gate.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: Url,
    key: Secret,
    page_size: u32,
    max_retries: u32,
    backoff: Backoff,
    limiter: Arc<DefaultDirectRateLimiter>,
    gate: Gate,
    max_page_bytes: u64,
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
            gate: Gate::new(config.max_retry_after),
            max_page_bytes: config.max_page_bytes,
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
        page::parse_page_owned(body).map_err(|e| {
            self.metrics.page_refused("malformed");
            ApiError::Malformed(e)
        })
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
    /// `max_retries` times; `Retry-After` wins over the backoff (the gate holds it).
    async fn get(&self, url: Url, cancel: &CancellationToken) -> Result<Vec<u8>, ApiError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            cancellable(cancel, self.ready()).await?;
            let (error, gated) = match cancellable(cancel, self.try_once(&url, attempt)).await? {
                Try::Done(body) => return Ok(body),
                Try::Fatal(error) => return Err(error),
                Try::Again { error, gated } => (error, gated),
            };
            if attempt > self.max_retries {
                return Err(error);
            }
            if gated {
                tracing::warn!(%error, attempt, "HyperRep request failed; retrying after its Retry-After");
                continue;
            }
            let wait = self.backoff.delay(attempt, &mut rand::rng());
            tracing::warn!(%error, attempt, wait_ms = wait.as_millis() as u64, "HyperRep request failed; retrying");
            cancellable(cancel, tokio::time::sleep(wait)).await?;
        }
    }

    /// Waits until a request may go out: the `Retry-After` gate is open and the rate ceiling
    /// allows one. The gate is checked again after the ceiling, which another org's answer may
    /// have closed it during.
    async fn ready(&self) {
        loop {
            self.gate.wait().await;
            self.limiter.until_ready().await;
            if self.gate.is_open() {
                return;
            }
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
            return self.read_page(response, attempt).await;
        }
        // Any status: a Retry-After holds every request with this key, retried or not.
        let wait = retry_after(response.headers(), chrono::Utc::now());
        if let Some(wait) = wait {
            self.gate.hold(wait);
        }
        classify(status, attempt, wait.is_some())
    }

    async fn read_page(&self, mut response: reqwest::Response, attempt: u32) -> Try {
        match read_bounded(&mut response, self.max_page_bytes).await {
            Ok(body) => Try::Done(body),
            Err(BodyError::Transport(e)) => transport(e, attempt),
            Err(BodyError::TooLarge) => {
                self.metrics.page_refused("too_large");
                Try::Fatal(ApiError::PageTooLarge {
                    limit: self.max_page_bytes,
                })
            }
        }
    }
}

fn classify(status: StatusCode, attempts: u32, gated: bool) -> Try {
    match status.as_u16() {
        401 => Try::Fatal(ApiError::Unauthorized),
        403 => Try::Fatal(ApiError::Forbidden),
        404 => Try::Fatal(ApiError::NotFound),
        408 | 429 | 500..=599 => Try::Again {
            error: ApiError::Status {
                status: status.as_u16(),
                attempts,
            },
            gated,
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
        gated: false,
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
