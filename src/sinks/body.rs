//! Reading a sink's answer: only its first [`LIMIT`] bytes, which is all that classifying it and
//! quoting a snippet need. A receiver that answers with a huge or endless body must neither keep
//! an attempt busy reading it nor make the notifier hold it in memory.

/// The most of an answer's body that is read.
pub(crate) const LIMIT: usize = 64 * 1024;

/// The start of `response`'s body, at most [`LIMIT`] bytes, as text (invalid UTF-8 replaced).
/// What is left unread is dropped with the response, which closes the connection. A body that
/// fails half way gives what arrived before the failure.
pub(crate) async fn snippet(response: reqwest::Response) -> String {
    up_to(response, LIMIT).await
}

/// The start of `response`'s body, at most `limit` bytes (for answers that carry data, such as
/// a page of Slack's channel history), as [`snippet`] reads it.
pub(crate) async fn up_to(mut response: reqwest::Response, limit: usize) -> String {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = limit - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(body: Vec<u8>) -> reqwest::Response {
        reqwest::Response::from(axum::http::Response::new(body))
    }

    #[tokio::test]
    async fn a_body_longer_than_the_limit_is_cut_at_the_limit() {
        let text = snippet(response(vec![b'x'; 8 * LIMIT])).await;
        assert_eq!(text.len(), LIMIT);
    }

    #[tokio::test]
    async fn a_short_body_is_read_whole_and_invalid_utf8_does_not_fail_it() {
        assert_eq!(
            snippet(response(b"no_service".to_vec())).await,
            "no_service"
        );
        assert_eq!(
            snippet(response(vec![b'o', b'k', 0xff])).await,
            "ok\u{fffd}"
        );
    }
}
