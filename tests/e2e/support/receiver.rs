//! A webhook endpoint on loopback that records what it gets and answers as scripted.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the webhook body is JSON")
    }
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
}

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16),
    Slow(Duration, u16),
    Redirect(String),
    RetryAfter(u64),
    Body(u16, &'static str),
}

#[derive(Default)]
struct ReceiverState {
    received: Vec<Received>,
    /// Requests that arrived, answered or not yet (a slow answer is still being waited for).
    arrived: usize,
    script: VecDeque<Reply>,
    default: Option<Reply>,
}

/// A webhook endpoint on loopback.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, state }
    }

    /// The next answers, in order; after them, the default (200 unless set).
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().script.extend(replies);
    }

    pub fn answer_always(&self, reply: Reply) {
        self.state.lock().unwrap().default = Some(reply);
    }

    /// Requests that arrived so far, including those whose answer is still being delayed.
    pub fn arrived(&self) -> usize {
        self.state.lock().unwrap().arrived
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// The event id of every request, in arrival order.
    pub fn event_ids(&self) -> Vec<String> {
        let events = self.events();
        events
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    }

    /// Event bodies of every request, in arrival order.
    pub fn events(&self) -> Vec<Value> {
        self.received().iter().map(Received::json).collect()
    }

    /// Waits (bounded) until at least `count` requests arrived.
    pub async fn wait_for(&self, count: usize, limit: Duration) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        while self.received().len() < count && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.received()
    }
}

async fn receive(
    State(state): State<Arc<Mutex<ReceiverState>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let reply = {
        let mut state = state.lock().unwrap();
        state.arrived += 1;
        state
            .script
            .pop_front()
            .or_else(|| state.default.clone())
            .unwrap_or(Reply::Status(200))
    };
    let received = Received {
        headers,
        body: body.to_vec(),
        at: Instant::now(),
    };
    if let Reply::Slow(wait, _) = &reply {
        // A slow receiver takes the request only once it has answered: a sender that dies (or
        // gives up) before the answer has not delivered. Dropped with the connection otherwise.
        tokio::time::sleep(*wait).await;
    }
    state.lock().unwrap().received.push(received);
    match reply {
        Reply::Status(code) | Reply::Slow(_, code) => {
            (StatusCode::from_u16(code).unwrap(), "answer").into_response()
        }
        Reply::Redirect(to) => (StatusCode::TEMPORARY_REDIRECT, [("location", to)]).into_response(),
        Reply::RetryAfter(seconds) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", seconds.to_string())],
        )
            .into_response(),
        Reply::Body(code, body) => (StatusCode::from_u16(code).unwrap(), body).into_response(),
    }
}
