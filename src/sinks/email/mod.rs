//! The email sink: one message (plain text and HTML) per event, per flood summary, or per digest
//! window, through SMTP with lettre (rustls). 4xx replies and connection errors are retried,
//! 5xx replies are final. The accepted `smtp_url` forms are in [`url`].

use super::Attempt;
use crate::config::EmailSinkConfig;
use crate::event::Event;
use crate::render::{defaults, sample_event, Renderer};
use chrono::{DateTime, Utc};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

mod headers;
mod tls;
mod url;

pub(crate) use url::{SmtpUrl, TlsMode};

/// Events listed in a flood summary (a digest lists all of them, up to this many).
const SUMMARY_LISTED: usize = 10;
const DIGEST_LISTED: usize = 500;

/// A configured mail route.
pub struct EmailSink {
    name: String,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
    cc: Vec<Mailbox>,
    renderer: Renderer,
    batching: super::Batching,
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

fn renderer(config: &EmailSinkConfig) -> Result<Renderer, String> {
    let t = &config.templates;
    Renderer::new(
        config.style(),
        &[
            ("subject", t.subject.as_deref(), defaults::EMAIL_SUBJECT),
            ("text", t.text.as_deref(), defaults::EMAIL_TEXT),
            ("email.html", t.html.as_deref(), defaults::EMAIL_HTML),
        ],
    )
}

/// What only this sink can tell of its section: that its `smtp_url` is one it sends through.
pub(crate) fn check_settings(
    config: &EmailSinkConfig,
    key: &str,
    errors: &mut Vec<crate::config::ConfigError>,
) {
    if let Err(reason) = SmtpUrl::parse(&config.smtp_url) {
        errors.push(crate::config::ConfigError::new(
            format!("{key}.smtp_url"),
            reason,
        ));
    }
}

/// Compiles and renders the sink's templates against a sample event.
pub fn check(config: &EmailSinkConfig) -> Result<(), String> {
    let renderer = renderer(config)?;
    render_one(&renderer, &sample_event())?;
    render_batch(&renderer, &[sample_event()], None).map(|_| ())
}

/// The email for one event.
pub fn render_one(renderer: &Renderer, event: &Event) -> Result<Rendered, String> {
    if let Some(notice) = &event.notice {
        // Not a conversation: the conversation templates have nothing to show of it.
        let line = notice.line();
        let html = line
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        return Ok(Rendered {
            subject: one_line(&line),
            html: format!("<p>{html}</p>"),
            text: line,
        });
    }
    let view = renderer.view(event)?;
    Ok(Rendered {
        subject: one_line(&renderer.render_with("subject", &view)?),
        text: renderer.render_with("text", &view)?,
        html: renderer.render_with("email.html", &view)?,
    })
}

/// The email for many events: a flood summary, or a digest when `window` is given.
pub fn render_batch(
    renderer: &Renderer,
    events: &[Event],
    window: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<Rendered, String> {
    let listed = if window.is_some() {
        DIGEST_LISTED
    } else {
        SUMMARY_LISTED
    };
    let view = renderer.batch_view(events, listed, window)?;
    Ok(Rendered {
        subject: one_line(&renderer.render_with("batch_subject", &view)?),
        text: renderer.render_with("batch_text", &view)?,
        html: renderer.render_with("batch.html", &view)?,
    })
}

/// Subjects are one line (a header cannot hold a newline).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What an SMTP failure means: 5xx replies and refused certificates are final, everything else
/// is worth another try.
pub fn classify(error: &lettre::transport::smtp::Error) -> Attempt {
    if let Some(refused) = tls::certificate_refused(error) {
        return Attempt::Reject(refused);
    }
    let text = crate::sinks::error_chain(error);
    if error.is_permanent() {
        Attempt::Reject(text)
    } else {
        Attempt::Retry {
            error: text,
            after: None,
        }
    }
}

/// The SMTP transport of `config`'s `smtp_url`, credentials and `ca_file`.
fn transport(
    config: &EmailSinkConfig,
    timeout: Duration,
) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let url = SmtpUrl::parse(&config.smtp_url).map_err(anyhow::Error::msg)?;
    if (config.username.is_some() || url.credentials.is_some()) && !url.tls.encrypted() {
        tracing::warn!(sink = %config.name, "SMTP credentials will travel without TLS: use smtps:// or ?tls=required");
    }
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&url.host)
        .port(url.port)
        .timeout(Some(timeout))
        .tls(tls::connection(&url, config.ca_file.as_deref())?);
    if let Some(name) = &url.hello_name {
        builder = builder.hello_name(ClientId::Domain(name.clone()));
    }
    let credentials = match (&config.username, &config.password) {
        (Some(user), Some(password)) => Some((user.clone(), password.expose().to_string())),
        _ => url.credentials.clone(),
    };
    if let Some((user, password)) = credentials {
        builder = builder.credentials(Credentials::new(user, password));
    }
    Ok(builder.build())
}

impl EmailSink {
    /// Builds the sink; `timeout` bounds each SMTP conversation step.
    pub fn new(config: &EmailSinkConfig, timeout: Duration) -> anyhow::Result<Self> {
        Ok(EmailSink {
            name: config.name.clone(),
            transport: transport(config, timeout)?,
            from: config.from.clone(),
            to: config.to.clone(),
            cc: config.cc.clone(),
            renderer: renderer(config).map_err(anyhow::Error::msg)?,
            batching: match config.digest {
                Some(window) => super::Batching::Digest { window },
                None => super::Batching::Flood {
                    max: config.max_messages_per_poll,
                },
            },
        })
    }

    /// The sink's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Per-event, flood-limited, or digest.
    pub fn batching(&self) -> super::Batching {
        self.batching
    }

    /// One email for one event.
    pub async fn deliver(&self, event: &Event) -> Attempt {
        match render_one(&self.renderer, event) {
            Ok(mail) => self.send(mail).await,
            Err(error) => Attempt::Reject(error),
        }
    }

    /// One email for many events (summary, or digest of `window`).
    pub async fn deliver_batch(
        &self,
        events: &[Event],
        window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> Attempt {
        match render_batch(&self.renderer, events, window) {
            Ok(mail) => self.send(mail).await,
            Err(error) => Attempt::Reject(error),
        }
    }

    async fn send(&self, mail: Rendered) -> Attempt {
        let mut message = Message::builder()
            .from(self.from.clone())
            .subject(mail.subject)
            .message_id(Some(headers::message_id(&self.from)))
            .header(headers::AutoGenerated);
        for to in &self.to {
            message = message.to(to.clone());
        }
        for cc in &self.cc {
            message = message.cc(cc.clone());
        }
        let message =
            match message.multipart(MultiPart::alternative_plain_html(mail.text, mail.html)) {
                Ok(message) => message,
                Err(e) => return Attempt::Reject(format!("cannot build the message: {e}")),
            };
        match self.transport.send(message).await {
            Ok(response) => {
                let words: Vec<&str> = response.message().collect();
                Attempt::Delivered(format!("SMTP {} {}", response.code(), words.join(" ")))
            }
            Err(error) => classify(&error),
        }
    }
}
