//! The Slack Web API as app mode uses it: `chat.postMessage`, `chat.update` and
//! `conversations.history`, JSON over HTTPS with the bot token as a bearer token, and what each
//! answer means (the SPEC's table of answers).

use crate::backoff::retry_after;
use crate::secret::Secret;
use crate::sinks::{error_chain, Attempt};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// What one call came to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    /// `"ok": true`, with the whole answer.
    Ok(Value),
    /// The message to update is gone or can no longer be edited: a new one has to be posted.
    Lost(String),
    /// Anything else, as it counts for the delivery.
    Failed(Attempt),
}

/// Errors that no retry fixes: the token, the channel or the message is wrong (SPEC).
const REFUSED: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "missing_scope",
    "no_permission",
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_blocks",
    "msg_too_long",
    "invalid_arguments",
    "invalid_metadata_format",
    "invalid_metadata_schema",
    "metadata_too_large",
];

/// Errors that an update answers when a new message is needed instead (SPEC).
const LOST: &[&str] = &[
    "message_not_found",
    "cant_update_message",
    "edit_window_closed",
];

/// Errors Slack gives while it is unwell: tried again with backoff.
const TRANSIENT: &[&str] = &[
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

/// A Web API client for one bot token.
pub(crate) struct WebApi {
    client: reqwest::Client,
    base: Url,
    token: Secret,
}

impl WebApi {
    pub(crate) fn new(client: reqwest::Client, base: Url, token: Secret) -> Self {
        WebApi {
            client,
            base,
            token,
        }
    }

    fn endpoint(&self, method: &str) -> Url {
        let mut url = self.base.clone();
        let path = format!("{}/{method}", self.base.path().trim_end_matches('/'));
        url.set_path(&path);
        url
    }

    /// POSTs `body` to `method` (`chat.postMessage`, `chat.update`).
    pub(crate) async fn call(&self, method: &str, body: &Value) -> Reply {
        let request = self
            .client
            .post(self.endpoint(method))
            .bearer_auth(self.token.expose())
            .json(body);
        self.send(method, request, super::super::body::LIMIT).await
    }

    /// GETs `method` with `query` (`conversations.history`), reading up to `limit` bytes.
    pub(crate) async fn get(&self, method: &str, query: &[(&str, String)], limit: usize) -> Reply {
        let mut url = self.endpoint(method);
        url.query_pairs_mut()
            .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        let request = self.client.get(url).bearer_auth(self.token.expose());
        self.send(method, request, limit).await
    }

    async fn send(&self, method: &str, request: reqwest::RequestBuilder, limit: usize) -> Reply {
        match request.send().await {
            Ok(response) => {
                let (status, headers) = (response.status(), response.headers().clone());
                let body = super::super::body::up_to(response, limit).await;
                classify(method, status, &headers, &body)
            }
            // `without_url`: the error names the method, not the URL (which a proxy may carry).
            Err(e) => Reply::Failed(Attempt::Retry {
                error: format!("{method}: {}", error_chain(&e.without_url())),
                after: None,
            }),
        }
    }
}

/// What an answer of the Web API means.
pub(crate) fn classify(method: &str, status: StatusCode, headers: &HeaderMap, body: &str) -> Reply {
    let after = retry_after(headers, chrono::Utc::now());
    let detail = |what: &str| format!("{method}: HTTP {} {what}", status.as_u16());
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Reply::Failed(Attempt::Throttled {
            error: detail("(rate limited)"),
            after: after.unwrap_or(super::PACE),
        });
    }
    if !status.is_success() {
        let snippet: String = body.chars().take(200).collect();
        let error = detail(&snippet);
        return Reply::Failed(match status.as_u16() {
            408 | 500..=599 => Attempt::Retry { error, after },
            _ => Attempt::Reject(error),
        });
    }
    let Ok(answer) = serde_json::from_str::<Value>(body) else {
        return Reply::Failed(Attempt::Retry {
            error: detail("with an answer that is not JSON"),
            after,
        });
    };
    if answer.get("ok").and_then(Value::as_bool) == Some(true) {
        return Reply::Ok(answer);
    }
    let error = answer
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("no error named");
    error_reply(method, error, &answer, after)
}

fn error_reply(method: &str, error: &str, answer: &Value, after: Option<Duration>) -> Reply {
    let mut text = format!("{method}: {error}");
    if let Some(needed) = answer.get("needed").and_then(Value::as_str) {
        text.push_str(&format!(" (the app needs the scope `{needed}`)"));
    }
    if LOST.contains(&error) {
        return Reply::Lost(text);
    }
    if error == "ratelimited" {
        let after = after.unwrap_or(super::PACE);
        return Reply::Failed(Attempt::Throttled { error: text, after });
    }
    if TRANSIENT.contains(&error) {
        return Reply::Failed(Attempt::Retry { error: text, after });
    }
    if !REFUSED.contains(&error) {
        text.push_str(" (an error this version does not know; not retried)");
    }
    Reply::Failed(Attempt::Reject(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn answer(status: u16, body: &str) -> Reply {
        classify(
            "chat.update",
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body,
        )
    }

    #[test]
    fn ok_true_is_success_and_the_table_of_errors_is_followed() {
        assert!(matches!(
            answer(200, r#"{"ok":true,"ts":"1.2"}"#),
            Reply::Ok(_)
        ));
        for lost in LOST {
            let body = format!(r#"{{"ok":false,"error":"{lost}"}}"#);
            assert!(matches!(answer(200, &body), Reply::Lost(_)), "{lost}");
        }
        for refused in REFUSED {
            let body = format!(r#"{{"ok":false,"error":"{refused}"}}"#);
            assert!(
                matches!(answer(200, &body), Reply::Failed(Attempt::Reject(_))),
                "{refused}"
            );
        }
        let internal = answer(200, r#"{"ok":false,"error":"internal_error"}"#);
        assert!(matches!(internal, Reply::Failed(Attempt::Retry { .. })));
        assert!(matches!(
            answer(503, "busy"),
            Reply::Failed(Attempt::Retry { .. })
        ));
        assert!(matches!(
            answer(200, "<html>"),
            Reply::Failed(Attempt::Retry { .. })
        ));
        assert!(matches!(
            answer(404, "nope"),
            Reply::Failed(Attempt::Reject(_))
        ));
    }

    #[test]
    fn rate_limits_wait_what_slack_says_by_status_or_by_error() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        let throttled = |status: u16, body: &str| match classify(
            "chat.postMessage",
            StatusCode::from_u16(status).unwrap(),
            &headers,
            body,
        ) {
            Reply::Failed(Attempt::Throttled { after, .. }) => after,
            other => panic!("not throttled: {other:?}"),
        };
        assert_eq!(throttled(429, ""), Duration::from_secs(7));
        assert_eq!(
            throttled(200, r#"{"ok":false,"error":"ratelimited"}"#),
            Duration::from_secs(7)
        );
    }

    #[test]
    fn a_missing_scope_says_which_scope() {
        let body = r#"{"ok":false,"error":"missing_scope","needed":"channels:history"}"#;
        let Reply::Failed(Attempt::Reject(text)) = answer(200, body) else {
            panic!("not refused")
        };
        assert!(text.contains("channels:history"), "{text}");
    }
}
