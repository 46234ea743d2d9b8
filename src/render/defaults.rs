//! The built-in templates. Each sees the context described in the README ("Templates").

/// Slack `text`: the notification line and the fallback.
pub const SLACK_TEXT: &str = "{{ org }}: {{ what }} (conversation {{ conversation_id }}, {{ folder }}, {{ read }}, last activity {{ last_activity.relative }})";

/// Slack `blocks`: must render to a JSON array; `tojson` quotes and escapes each value.
pub const SLACK_BLOCKS: &str = r#"[
  {"type": "header", "text": {"type": "plain_text", "text": {{ (org ~ ": " ~ what) | tojson }}}},
  {"type": "section", "fields": [
    {"type": "mrkdwn", "text": {{ ("*Folder*\n" ~ (folder | mrkdwn)) | tojson }}},
    {"type": "mrkdwn", "text": {{ ("*Read state*\n" ~ read) | tojson }}},
    {"type": "mrkdwn", "text": {{ ("*Started*\n" ~ started.relative ~ " · " ~ started.local) | tojson }}},
    {"type": "mrkdwn", "text": {{ ("*Last activity*\n" ~ last_activity.relative ~ " · " ~ last_activity.local) | tojson }}}
  ]},
  {% if link %}{"type": "section", "text": {"type": "mrkdwn", "text": {{ ("<" ~ link ~ "|Open the conversation>") | tojson }}}},{% endif %}
  {"type": "context", "elements": [{"type": "mrkdwn", "text": {{ ("Conversation `" ~ conversation_id ~ "` · event `" ~ event.id ~ "`") | tojson }}}]}
]"#;

/// Email subject.
pub const EMAIL_SUBJECT: &str = "[{{ org }}] {{ what }} ({{ folder }}, {{ read }})";

/// Email plain-text part.
pub const EMAIL_TEXT: &str = "{{ what }} in {{ org }}.

Conversation:  {{ conversation_id }}
Folder:        {{ folder }}
Read state:    {{ read }}
Started:       {{ started.local }} ({{ started.relative }})
Last activity: {{ last_activity.local }} ({{ last_activity.relative }})
{% if link %}Open:          {{ link }}
{% endif %}
Event {{ event.id }}, detected {{ detected.local }}.
";

/// Email HTML part (HTML-escaped automatically).
pub const EMAIL_HTML: &str = r#"<html><body style="font-family: sans-serif">
<h2>{{ what }} in {{ org }}</h2>
<table cellpadding="4">
<tr><th align="left">Conversation</th><td><code>{{ conversation_id }}</code></td></tr>
<tr><th align="left">Folder</th><td>{{ folder }}</td></tr>
<tr><th align="left">Read state</th><td>{{ read }}</td></tr>
<tr><th align="left">Started</th><td>{{ started.local }} ({{ started.relative }})</td></tr>
<tr><th align="left">Last activity</th><td>{{ last_activity.local }} ({{ last_activity.relative }})</td></tr>
</table>
{% if link %}<p><a href="{{ link }}">Open the conversation</a></p>{% endif %}
<p style="color: #888">Event {{ event.id }}, detected {{ detected.local }}.</p>
</body></html>"#;

/// Subject of a summary or digest email.
pub const BATCH_SUBJECT: &str = "[{{ orgs }}] {{ count }} conversation change{{ 's' if count != 1 }}{% if window %} from {{ window.start.local }} to {{ window.end.local }}{% endif %}";

/// Plain text of a summary or digest (Slack's summary `text` too).
pub const BATCH_TEXT: &str = "{{ count }} conversation change{{ 's' if count != 1 }} in {{ orgs }}{% if window %} from {{ window.start.local }} to {{ window.end.local }}{% else %} at once{% endif %}: {{ tally }}.
{% for e in shown %}
- {{ e.what }}: {{ e.conversation_id }} ({{ e.org }}, {{ e.folder }}, {{ e.read }}, last activity {{ e.last_activity.relative }}){% if e.link %} {{ e.link }}{% endif %}{% endfor %}
{% if more %}
…and {{ more }} more.{% endif %}
";

/// HTML of a summary or digest email.
pub const BATCH_HTML: &str = r#"<html><body style="font-family: sans-serif">
<h2>{{ count }} conversation change{{ 's' if count != 1 }} in {{ orgs }}</h2>
<p>{% if window %}From {{ window.start.local }} to {{ window.end.local }}{% else %}Together{% endif %}: {{ tally }}.</p>
<table cellpadding="4">
<tr><th align="left">What</th><th align="left">Conversation</th><th align="left">Org</th><th align="left">Folder</th><th align="left">Read state</th><th align="left">Last activity</th></tr>
{% for e in shown %}<tr><td>{{ e.what }}</td><td>{% if e.link %}<a href="{{ e.link }}"><code>{{ e.conversation_id }}</code></a>{% else %}<code>{{ e.conversation_id }}</code>{% endif %}</td><td>{{ e.org }}</td><td>{{ e.folder }}</td><td>{{ e.read }}</td><td>{{ e.last_activity.relative }}</td></tr>
{% endfor %}</table>
{% if more %}<p>…and {{ more }} more.</p>{% endif %}
</body></html>"#;
