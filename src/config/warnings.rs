//! What is valid but probably not what the operator meant: reported by `check` and logged at
//! start, never an error (the configuration works, just not as hoped).

use super::{Config, ConfigError, SinkConfig};
use url::Url;

/// The hosts of Slack incoming webhooks (commercial and GovSlack).
const SLACK_HOOK_HOSTS: &[&str] = &["hooks.slack.com", "hooks.slack-gov.com"];

/// Every warning about a loaded configuration; each names its key and never quotes a value.
pub fn warnings(config: &Config) -> Vec<ConfigError> {
    let mut warnings = Vec::new();
    for (i, sink) in config.sinks.iter().enumerate() {
        let SinkConfig::Webhook(hook) = sink else {
            continue;
        };
        let host = hook
            .url
            .as_ref()
            .and_then(|url| Url::parse(url.expose()).ok())
            .and_then(|url| url.host_str().map(str::to_ascii_lowercase));
        if host.is_some_and(|h| SLACK_HOOK_HOSTS.contains(&h.as_str())) {
            // Slack answers the event JSON with 400 `invalid_payload`: every event would end
            // in dead letters.
            let reason = "a Slack incoming-webhook URL in a `webhook` sink: Slack expects its own \
                          message format, not the event JSON; use `type = \"slack\"`";
            warnings.push(ConfigError::new(format!("sinks[{i}].url"), reason));
        }
    }
    warnings
}
