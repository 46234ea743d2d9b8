//! Each sink's own checks of its section: what only the sink knows (that a signing secret
//! decodes, that an `smtp_url` is one it can send through, that a Slack section is a webhook or an
//! app with what that needs, that its templates render). The configuration is loaded with them
//! by [`crate::load_config`], and reports them beside its own, every mistake at once.

use super::{email, slack, webhook};
use crate::config::{Config, ConfigError, SinkConfig};

/// Every mistake in the sinks' sections, each under its key (`sinks[N]…`).
pub fn check(config: &Config) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    for (i, sink) in config.sinks.iter().enumerate() {
        let key = format!("sinks[{i}]");
        let before = errors.len();
        match sink {
            SinkConfig::Webhook(c) => webhook::check_settings(c, &key, &mut errors),
            SinkConfig::Slack(c) => slack::check_settings(c, &key, &mut errors),
            SinkConfig::Email(c) => email::check_settings(c, &key, &mut errors),
            SinkConfig::Console(_) => {}
        }
        // Templates are rendered only for a section that is otherwise sound.
        if errors.len() == before {
            templates(sink, &key, &mut errors);
        }
    }
    errors
}

/// Renders the sink's templates against a sample event.
fn templates(sink: &SinkConfig, key: &str, errors: &mut Vec<ConfigError>) {
    let result = match sink {
        SinkConfig::Slack(c) => slack::check(c),
        SinkConfig::Email(c) => email::check(c),
        SinkConfig::Webhook(_) | SinkConfig::Console(_) => Ok(()),
    };
    if let Err(reason) = result {
        let reason = format!("sink `{}`: {reason}", sink.name());
        errors.push(ConfigError::new(format!("{key}.templates"), reason));
    }
}
