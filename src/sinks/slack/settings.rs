//! The checks of a `type = "slack"` sink: an incoming webhook (`url`) or a Slack app
//! (`bot_token` + `channel`), never both, each with what it needs.

use crate::config::checks::{check_flood_limit, check_http_url, check_secret_url};
use crate::config::{ConfigError, SlackSinkConfig};

/// Every mistake in one Slack sink section, each under its key.
pub(crate) fn check_settings(slack: &SlackSinkConfig, key: &str, errors: &mut Vec<ConfigError>) {
    check_flood_limit(slack.max_messages_per_poll, key, errors);
    match (&slack.url, &slack.bot_token) {
        (Some(_), Some(_)) => errors.push(ConfigError::new(
            format!("{key}.bot_token"),
            "set either `url` (an incoming webhook) or `bot_token` (a Slack app), not both",
        )),
        (None, None) => errors.push(ConfigError::new(
            format!("{key}.url"),
            "required: set `url` (an incoming webhook) or `bot_token` and `channel` (a Slack app)",
        )),
        (Some(_), None) => {
            check_secret_url(slack.url.as_ref(), key, errors);
            if slack.channel.is_some() {
                errors.push(ConfigError::new(
                    format!("{key}.channel"),
                    "only with `bot_token`: an incoming webhook posts to the channel it was made for",
                ));
            }
        }
        (None, Some(token)) => check_app(slack, token.expose(), key, errors),
    }
}

fn check_app(slack: &SlackSinkConfig, token: &str, key: &str, errors: &mut Vec<ConfigError>) {
    // The token is the secret: say what is wrong with it, never what it is.
    if let Err(reason) = token_shape(token) {
        errors.push(ConfigError::new(format!("{key}.bot_token"), reason));
    }
    match slack.channel.as_deref() {
        None => errors.push(ConfigError::new(
            format!("{key}.channel"),
            "required with `bot_token`: the channel id, e.g. `C0123ABCD`",
        )),
        Some(channel) => {
            if let Err(reason) = channel_shape(channel) {
                errors.push(ConfigError::new(format!("{key}.channel"), reason));
            }
        }
    }
    check_http_url(&slack.api_url, &format!("{key}.api_url"), errors);
    if slack.keep_messages < std::time::Duration::from_secs(60) {
        errors.push(ConfigError::new(
            format!("{key}.keep_messages"),
            "must be at least 1m",
        ));
    }
}

/// A Slack token as the Web API takes it: `xoxb-` (a bot) or `xoxp-` (a user), printable.
fn token_shape(token: &str) -> Result<(), String> {
    if !(token.starts_with("xoxb-") || token.starts_with("xoxp-")) {
        return Err(
            "must be a Slack bot token (`xoxb-…`, from the app's OAuth & Permissions page)".into(),
        );
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must not contain spaces or control characters".into());
    }
    Ok(())
}

/// A channel id: `C…` (public), `G…` (private) or `D…` (direct), letters and digits.
fn channel_shape(channel: &str) -> Result<(), String> {
    let valid = channel.len() >= 9
        && channel.len() <= 20
        && matches!(channel.as_bytes()[0], b'C' | b'G' | b'D')
        && channel
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if valid {
        return Ok(());
    }
    let mut reason = String::from(
        "must be a channel id such as `C0123ABCD` (in Slack: the channel's details, at the bottom)",
    );
    if channel.starts_with('#') {
        reason.push_str(", not a name");
    }
    Err(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_ids_are_told_from_names() {
        assert!(channel_shape("C0123ABCD").is_ok());
        assert!(channel_shape("G01234567XY").is_ok());
        assert!(channel_shape("#support")
            .unwrap_err()
            .ends_with("not a name"));
        assert!(channel_shape("c0123abcd").is_err());
        assert!(channel_shape("C01").is_err());
    }

    #[test]
    fn a_token_that_is_not_a_slack_token_is_refused_without_showing_it() {
        assert!(token_shape("xoxb-1-2-abc").is_ok());
        let error = token_shape("hunter2-secret").unwrap_err();
        assert!(!error.contains("hunter2"));
        assert!(token_shape("xoxb-1 2").is_err());
    }
}
