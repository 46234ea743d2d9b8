//! The webhook sink: POST the event JSON, signed per Standard Webhooks (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<sig> [v1,<sig>...]`, one signature per secret:
//! the `sign` module owns the signing).

use super::{error_chain, Attempt};
use crate::backoff::retry_after;
use crate::config::WebhookSinkConfig;
use crate::event::Event;
use crate::secret::{hide_url_tokens, redact_to_origin};
use anyhow::Context;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::StatusCode;
use std::time::Duration;
use url::Url;

mod sign;
pub use sign::{sign, signing_key};

/// A configured webhook endpoint.
pub struct WebhookSink {
    name: String,
    client: reqwest::Client,
    url: Url,
    /// One HMAC key per configured secret, in signing order; empty: deliveries are unsigned.
    keys: Vec<Vec<u8>>,
    headers: HeaderMap,
}

/// What an HTTP answer means for the delivery (the SPEC's table).
pub fn classify(status: StatusCode, headers: &HeaderMap, body: &str) -> Attempt {
    let detail = format!("HTTP {}{}", status.as_u16(), snippet(body));
    match status.as_u16() {
        200..=299 => Attempt::Delivered(format!("HTTP {}", status.as_u16())),
        408 | 429 | 500..=599 => Attempt::Retry {
            error: detail,
            after: retry_after(headers, chrono::Utc::now()),
        },
        300..=399 => Attempt::Reject(format!("{detail} (redirects are not followed)")),
        410 => Attempt::Gone(detail),
        _ => Attempt::Reject(detail),
    }
}

fn snippet(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        return String::new();
    }
    let cut: String = body.chars().take(200).collect();
    format!(": {cut}")
}

/// The HTTP client: bounded, no redirects, trusting the system store and the sink's `ca_file`.
fn client(config: &WebhookSinkConfig, timeout: Duration) -> anyhow::Result<reqwest::Client> {
    let mut client = reqwest::Client::builder();
    if let Some(file) = &config.ca_file {
        for der in crate::tls::read_ca_file(file).map_err(anyhow::Error::msg)? {
            client = client.add_root_certificate(reqwest::Certificate::from_der(&der)?);
        }
    }
    client
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("hyperrep-notifier/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the webhook HTTP client")
}

/// What only this sink can tell of its section: that every signing secret decodes. Named by
/// where each came from (`secrets[1]`, `secrets_files[0]`); the value never is.
pub(crate) fn check_settings(
    config: &WebhookSinkConfig,
    key: &str,
    errors: &mut Vec<crate::config::ConfigError>,
) {
    for (field, secret) in config.signing_secrets() {
        if let Err(reason) = signing_key(secret.expose()) {
            errors.push(crate::config::ConfigError::new(
                format!("{key}.{field}"),
                reason,
            ));
        }
    }
}

impl WebhookSink {
    /// Builds the sink; `timeout` bounds each attempt.
    pub fn new(config: &WebhookSinkConfig, timeout: Duration) -> anyhow::Result<Self> {
        let client = client(config, timeout)?;
        let keys = (config.signing_secrets().into_iter())
            .map(|(_, secret)| signing_key(secret.expose()).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let mut value =
                HeaderValue::from_str(value.expose()).context("invalid header value")?;
            value.set_sensitive(true);
            headers.insert(HeaderName::from_bytes(name.as_bytes())?, value);
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let url = config.url.as_ref().context("the webhook URL is missing")?;
        // The URL may hold a token in its path: never quote it, not even in this error.
        let url = Url::parse(url.expose())
            .map_err(|_| anyhow::anyhow!("the webhook URL is not a URL"))?;
        Ok(WebhookSink {
            name: config.name.clone(),
            client,
            url,
            keys,
            headers,
        })
    }

    /// The sink's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The endpoint for logs: scheme, host and port (the path and query may be tokens).
    pub fn shown_url(&self) -> String {
        redact_to_origin(&self.url)
    }

    /// One POST of the event.
    pub async fn deliver(&self, event: &Event) -> Attempt {
        let body = match serde_json::to_vec(event) {
            Ok(body) => body,
            Err(e) => return Attempt::Reject(format!("cannot serialise the event: {e}")),
        };
        let mut request = self
            .client
            .post(self.url.clone())
            .headers(self.headers.clone());
        request = request.header("webhook-id", &event.id);
        if !self.keys.is_empty() {
            // One id and one timestamp for all the signatures: each verifier checks its own.
            let timestamp = chrono::Utc::now().timestamp();
            let signature = sign::signature_header(&self.keys, &event.id, timestamp, &body);
            request = request
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature);
        }
        match request.body(body).send().await {
            Ok(response) => {
                let (status, headers) = (response.status(), response.headers().clone());
                let text = super::body::snippet(response).await;
                classify(status, &headers, &hide_url_tokens(&text, &self.url))
            }
            Err(e) => self.failed(e),
        }
    }
}

impl WebhookSink {
    /// What a request that got no answer means: a refused certificate will not change by
    /// trying again (a dead letter, saying so); anything else is retried.
    fn failed(&self, error: reqwest::Error) -> Attempt {
        let typed = crate::tls::certificate_problem(&error, "url");
        // `without_url`: reqwest's errors quote the whole URL, tokens and all.
        let chain = error_chain(&error.without_url());
        match typed.or_else(|| crate::tls::certificate_problem_in_text(&chain, "url")) {
            Some(problem) => Attempt::Reject(format!(
                "{}: the endpoint's TLS certificate was not trusted: it {problem}. This will not \
                 fix itself: trust its CA with `ca_file` (or the system store), then \
                 `dead-letters retry` it",
                self.shown_url()
            )),
            None => Attempt::Retry {
                error: format!("{}: {chain}", self.shown_url()),
                after: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified_as_the_spec_table_says() {
        let headers = HeaderMap::new();
        let class = |code: u16| classify(StatusCode::from_u16(code).unwrap(), &headers, "");
        for code in [200, 201, 204, 299] {
            assert!(matches!(class(code), Attempt::Delivered(_)), "{code}");
        }
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(matches!(class(code), Attempt::Retry { .. }), "{code}");
        }
        for code in [301, 302, 307, 400, 401, 403, 404, 422] {
            assert!(matches!(class(code), Attempt::Reject(_)), "{code}");
        }
        assert!(
            matches!(class(410), Attempt::Gone(_)),
            "410 disables the sink"
        );
    }

    #[test]
    fn a_429_carries_its_retry_after() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("3"));
        let attempt = classify(StatusCode::TOO_MANY_REQUESTS, &headers, "slow down");
        assert_eq!(
            attempt,
            Attempt::Retry {
                error: "HTTP 429: slow down".into(),
                after: Some(Duration::from_secs(3))
            }
        );
    }
}
