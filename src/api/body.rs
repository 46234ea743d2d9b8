//! Reading a response body up to a byte limit (`api.max_page_bytes`): chunk by chunk, stopping as
//! soon as the body goes over, so what upstream sends cannot make the process grow without bound.

/// Why a body could not be had.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Longer than the limit (announced by `Content-Length`, or seen while reading).
    TooLarge,
    /// The connection failed while reading.
    Transport(reqwest::Error),
}

/// The whole body, when it is at most `limit` bytes.
pub(crate) async fn read_bounded(
    response: &mut reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|length| length > limit)
    {
        return Err(BodyError::TooLarge);
    }
    // What is announced is only a hint for the first allocation; the limit bounds it too.
    let hint = response.content_length().unwrap_or(0).min(limit);
    let mut body = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, Bytes};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    /// Serves `body()` for every request on loopback; returns the URL.
    async fn serve(body: impl Fn() -> Body + Clone + Send + Sync + 'static) -> String {
        let app = axum::Router::new().fallback(move || {
            let body = body.clone();
            async move { body() }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    async fn get(url: &str) -> reqwest::Response {
        crate::install_crypto_provider();
        reqwest::get(url).await.unwrap()
    }

    #[tokio::test]
    async fn an_endless_body_is_read_only_up_to_the_limit() {
        let sent = Arc::new(AtomicU64::new(0));
        let counter = sent.clone();
        let url = serve(move || {
            let counter = counter.clone();
            let chunks = futures::stream::repeat_with(move || {
                counter.fetch_add(16 * 1024, Ordering::Relaxed);
                Ok::<_, std::io::Error>(Bytes::from(vec![b' '; 16 * 1024]))
            });
            Body::from_stream(chunks)
        })
        .await;
        let mut response = get(&url).await;
        assert!(response.content_length().is_none(), "streamed, no length");
        let result = read_bounded(&mut response, 64 * 1024).await;
        assert!(matches!(result, Err(BodyError::TooLarge)), "{result:?}");
        drop(response);
        let sent = sent.load(Ordering::Relaxed);
        assert!(
            sent < 64 * 1024 * 1024,
            "the read stopped: {sent} bytes made"
        );
    }

    #[tokio::test]
    async fn a_body_announced_too_long_is_refused_before_reading_and_one_within_is_read() {
        let url = serve(|| Body::from(vec![b'x'; 100_000])).await;
        let mut response = get(&url).await;
        assert_eq!(response.content_length(), Some(100_000));
        let result = read_bounded(&mut response, 99_999).await;
        assert!(matches!(result, Err(BodyError::TooLarge)), "{result:?}");
        let mut response = get(&url).await;
        let body = read_bounded(&mut response, 100_000).await.unwrap();
        assert_eq!(body.len(), 100_000, "exactly the limit is allowed");
    }
}
