//! A fake of the Slack Web API on loopback: `chat.postMessage`, `chat.update` and
//! `conversations.history`, with messages kept per channel the way Slack keeps them (a `ts` per
//! message, thread replies under their parent's `ts`, metadata returned when asked for). Every
//! call is recorded with the instant it arrived; answers can be scripted per method, including
//! every error of the SPEC's table and a post that is made but never answered.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The token the fake accepts.
pub const BOT_TOKEN: &str = "xoxb-1234-5678-FakeBotTokenForTests";

/// One call the fake got.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub body: Value,
    pub at: Instant,
}

/// A message as the fake keeps it.
#[derive(Debug, Clone)]
pub struct Message {
    pub channel: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    pub text: String,
    pub blocks: Value,
    pub metadata: Value,
    pub edits: u32,
}

impl Message {
    /// The text of the message's first block element (app mode's state line).
    pub fn status(&self) -> String {
        self.blocks[0]["elements"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// A scripted answer to the next call of one method.
#[derive(Debug, Clone)]
pub enum Answer {
    /// `{"ok": false, "error": …}` with HTTP 200.
    Error(&'static str),
    /// HTTP 429 with `Retry-After` seconds.
    RateLimited(u64),
    /// An HTTP status with an empty body.
    Status(u16),
    /// The call takes effect (a post makes its message) and is never answered.
    Hang,
}

#[derive(Default)]
struct FakeState {
    calls: Vec<Call>,
    messages: Vec<Message>,
    script: HashMap<String, VecDeque<Answer>>,
    next: u64,
}

/// The fake; cheap to clone.
#[derive(Clone)]
pub struct SlackApi {
    /// The `api_url` to configure.
    pub url: String,
    state: Arc<Mutex<FakeState>>,
}

impl SlackApi {
    pub async fn start() -> SlackApi {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let app = axum::Router::new()
            .route("/api/{method}", axum::routing::any(call))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        SlackApi { url, state }
    }

    /// The next answers of `method`, in order; after them, the real behaviour.
    pub fn script(&self, method: &str, answers: impl IntoIterator<Item = Answer>) {
        let mut state = self.state.lock().unwrap();
        state
            .script
            .entry(method.to_string())
            .or_default()
            .extend(answers);
    }

    pub fn calls(&self, method: &str) -> Vec<Call> {
        let state = self.state.lock().unwrap();
        state
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// Messages that are not thread replies, oldest first.
    pub fn top_level(&self) -> Vec<Message> {
        let state = self.state.lock().unwrap();
        state
            .messages
            .iter()
            .filter(|m| m.thread_ts.is_none())
            .cloned()
            .collect()
    }

    /// The replies in the thread of the message `ts`.
    pub fn replies(&self, ts: &str) -> Vec<Message> {
        let state = self.state.lock().unwrap();
        let replies = state
            .messages
            .iter()
            .filter(|m| m.thread_ts.as_deref() == Some(ts));
        replies.cloned().collect()
    }

    /// The top-level message whose metadata names `conversation`.
    pub fn message_of(&self, conversation: &str) -> Option<Message> {
        self.top_level()
            .into_iter()
            .rev()
            .find(|m| m.metadata["event_payload"]["conversation_id"] == conversation)
    }
}

async fn call(
    State(state): State<Arc<Mutex<FakeState>>>,
    Path(method): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let scripted = {
        let mut state = state.lock().unwrap();
        let call = Call {
            method: method.clone(),
            body: body.clone(),
            at: Instant::now(),
        };
        state.calls.push(call);
        state.script.get_mut(&method).and_then(VecDeque::pop_front)
    };
    let authorised = headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {BOT_TOKEN}"));
    if !authorised {
        return Json(json!({"ok": false, "error": "invalid_auth"})).into_response();
    }
    match scripted {
        Some(Answer::Error(error)) => Json(json!({"ok": false, "error": error})).into_response(),
        Some(Answer::RateLimited(seconds)) => {
            let mut response = StatusCode::TOO_MANY_REQUESTS.into_response();
            response.headers_mut().insert("retry-after", seconds.into());
            response
        }
        Some(Answer::Status(status)) => StatusCode::from_u16(status).unwrap().into_response(),
        Some(Answer::Hang) => {
            let _ = act(&state, &method, &body, &query);
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        None => Json(act(&state, &method, &body, &query)).into_response(),
    }
}

/// What Slack does for the call, and its answer.
fn act(
    state: &Mutex<FakeState>,
    method: &str,
    body: &Value,
    query: &HashMap<String, String>,
) -> Value {
    let mut state = state.lock().unwrap();
    match method {
        "chat.postMessage" => post(&mut state, body),
        "chat.update" => update(&mut state, body),
        "conversations.history" => history(&state, query),
        _ => json!({"ok": false, "error": "unknown_method"}),
    }
}

fn post(state: &mut FakeState, body: &Value) -> Value {
    let Some(channel) = body["channel"].as_str() else {
        return json!({"ok": false, "error": "channel_not_found"});
    };
    state.next += 1;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let ts = format!("{}.{:06}", now.as_secs(), state.next);
    state.messages.push(Message {
        channel: channel.to_string(),
        ts: ts.clone(),
        thread_ts: body["thread_ts"].as_str().map(str::to_string),
        text: body["text"].as_str().unwrap_or_default().to_string(),
        blocks: body["blocks"].clone(),
        metadata: body["metadata"].clone(),
        edits: 0,
    });
    json!({"ok": true, "channel": channel, "ts": ts, "message": {"text": body["text"]}})
}

fn update(state: &mut FakeState, body: &Value) -> Value {
    let (channel, ts) = (&body["channel"], &body["ts"]);
    let Some(message) = state
        .messages
        .iter_mut()
        .find(|m| m.channel == *channel && m.ts == *ts)
    else {
        return json!({"ok": false, "error": "message_not_found"});
    };
    message.text = body["text"].as_str().unwrap_or_default().to_string();
    message.blocks = body["blocks"].clone();
    if !body["metadata"].is_null() {
        message.metadata = body["metadata"].clone();
    }
    message.edits += 1;
    json!({"ok": true, "channel": channel, "ts": ts})
}

/// Newest first, top-level only, after `oldest`; metadata only with `include_all_metadata`.
fn history(state: &FakeState, query: &HashMap<String, String>) -> Value {
    let channel = query.get("channel").cloned().unwrap_or_default();
    let oldest: f64 = query
        .get("oldest")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0.0);
    let with_metadata = query
        .get("include_all_metadata")
        .is_some_and(|v| v == "true");
    let messages: Vec<Value> = state
        .messages
        .iter()
        .rev()
        .filter(|m| m.channel == channel && m.thread_ts.is_none())
        .filter(|m| m.ts.parse::<f64>().unwrap_or(0.0) > oldest)
        .map(|m| {
            let mut shown = json!({"type": "message", "ts": m.ts, "text": m.text});
            if with_metadata && !m.metadata.is_null() {
                shown["metadata"] = m.metadata.clone();
            }
            shown
        })
        .collect();
    json!({"ok": true, "messages": messages, "has_more": false})
}
