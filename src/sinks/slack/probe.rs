//! `test-sink` for a Slack app: post one sample message, then edit it to read as handled, the
//! two calls every live message makes, with the store left alone (the daemon may hold it).

use super::api::{Reply, WebApi};
use super::live::{live_message, metadata};
use super::{client, renderer};
use crate::config::SlackSinkConfig;
use crate::event::Event;
use crate::sinks::Attempt;
use serde_json::Value;
use std::time::Duration;

/// Posts `event` as a new message and then updates that message; each step's answer, in order
/// (the update is left out when the post failed).
pub async fn probe_app(
    config: &SlackSinkConfig,
    timeout: Duration,
    event: &Event,
) -> anyhow::Result<Vec<(&'static str, Attempt)>> {
    let token = config
        .bot_token
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no bot token"))?;
    let channel = config.channel.clone().unwrap_or_default();
    let api = WebApi::new(client(timeout)?, config.api_url.clone(), token);
    let renderer = renderer(config).map_err(anyhow::Error::msg)?;
    let mut body = live_message(&renderer, event, false, 0).map_err(anyhow::Error::msg)?;
    body["channel"] = Value::String(channel);
    body["metadata"] = metadata(event);
    let posted = match api.call("chat.postMessage", &body).await {
        Reply::Ok(answer) => answer,
        other => return Ok(vec![("post", failed(other))]),
    };
    let (channel, ts) = (posted["channel"].clone(), posted["ts"].clone());
    let post = Attempt::Delivered(format!("chat.postMessage ok: ts {ts} in {channel}"));
    let mut update = live_message(&renderer, event, true, 0).map_err(anyhow::Error::msg)?;
    update["channel"] = channel;
    update["ts"] = ts;
    let updated = match api.call("chat.update", &update).await {
        Reply::Ok(_) => {
            Attempt::Delivered("chat.update ok: the message now reads as handled".into())
        }
        other => failed(other),
    };
    Ok(vec![("post", post), ("update", updated)])
}

fn failed(reply: Reply) -> Attempt {
    match reply {
        Reply::Ok(_) => Attempt::Delivered("ok".into()),
        Reply::Lost(error) => Attempt::Reject(error),
        Reply::Failed(attempt) => attempt,
    }
}
