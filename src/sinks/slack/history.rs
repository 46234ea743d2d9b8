//! Finding a message again after a post whose answer was not recorded (a crash, a timeout):
//! the channel's history since the attempt, searched for this notifier's metadata naming the
//! conversation.

use super::api::{Reply, WebApi};
use super::live::is_message_of;
use crate::sinks::Attempt;
use crate::store::{PostAttempt, Posted};
use serde_json::Value;

/// How far before a recorded attempt the history is searched (clocks differ).
const LOOKBACK: chrono::Duration = chrono::Duration::seconds(60);
/// Pages of history looked through for a lost message (100 messages each).
const PAGES: usize = 10;
/// The most of one history page that is read.
const PAGE_BYTES: usize = 4 * 1024 * 1024;

/// The message an interrupted post `attempt` made in `channel` for the conversation, if Slack
/// has it; `None` too when there was no attempt, or when the history cannot be read for good
/// (no `channels:history` scope: logged, and the caller posts).
pub(crate) async fn find_posted(
    api: &WebApi,
    channel: &str,
    attempt: Option<&PostAttempt>,
    org: &str,
    conversation: &str,
) -> Result<Option<Posted>, Attempt> {
    let Some(attempt) = attempt else {
        return Ok(None);
    };
    let oldest = attempt.at - LOOKBACK;
    let oldest = format!(
        "{}.{:06}",
        oldest.timestamp(),
        oldest.timestamp_subsec_micros()
    );
    let mut cursor = String::new();
    for _ in 0..PAGES {
        let page = match api
            .get(
                "conversations.history",
                &query(channel, &oldest, &cursor),
                PAGE_BYTES,
            )
            .await
        {
            Reply::Ok(page) => page,
            Reply::Failed(Attempt::Reject(error)) | Reply::Lost(error) => {
                tracing::warn!(%error, "cannot look for the message an interrupted post may have left; posting (it may show twice)");
                return Ok(None);
            }
            Reply::Failed(attempt) => return Err(attempt),
        };
        let messages = page["messages"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        if let Some(found) = messages
            .iter()
            .find(|m| is_message_of(m, org, conversation))
        {
            tracing::info!("found the message of an interrupted post; updating it");
            let ts = found["ts"].as_str().unwrap_or_default().to_string();
            return Ok(Some(Posted {
                channel: channel.to_string(),
                ts,
            })
            .filter(|p| !p.ts.is_empty()));
        }
        cursor = next_cursor(&page);
        if cursor.is_empty() {
            break;
        }
    }
    Ok(None)
}

fn query(channel: &str, oldest: &str, cursor: &str) -> Vec<(&'static str, String)> {
    let mut query = vec![
        ("channel", channel.to_string()),
        ("oldest", oldest.to_string()),
        ("limit", "100".to_string()),
        ("include_all_metadata", "true".to_string()),
    ];
    if !cursor.is_empty() {
        query.push(("cursor", cursor.to_string()));
    }
    query
}

/// The cursor of the next page, empty when there is none.
fn next_cursor(page: &Value) -> String {
    if page["has_more"] != true {
        return String::new();
    }
    let cursor = page["response_metadata"]["next_cursor"].as_str();
    cursor.unwrap_or_default().to_string()
}
