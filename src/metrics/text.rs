//! The two text expositions of `/metrics` and the choice between them. prometheus-client only
//! writes OpenMetrics; classic scrapers (and `promtool check metrics`) read the Prometheus text
//! format 0.0.4, so that one is derived here from the OpenMetrics text, line by line.

/// An exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4: the default.
    Text,
    /// OpenMetrics 1.0.0, for scrapers that ask for it.
    OpenMetrics,
}

impl Format {
    /// The format an `Accept` header asks for: OpenMetrics when it names
    /// `application/openmetrics-text` with a quality at least that of any text type it accepts,
    /// the text format otherwise (no header, `text/plain`, `*/*`, anything else).
    pub fn negotiate(accept: Option<&str>) -> Format {
        let (mut open, mut text) = (0.0_f32, 0.0_f32);
        for (media, q) in accept.into_iter().flat_map(media_ranges) {
            match media.as_str() {
                "application/openmetrics-text" => open = open.max(q),
                "text/plain" | "text/*" | "*/*" => text = text.max(q),
                _ => {}
            }
        }
        if open > 0.0 && open >= text {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }

    /// The `Content-Type` of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// The media ranges of an `Accept` header with their quality (`q`, default 1).
fn media_ranges(accept: &str) -> impl Iterator<Item = (String, f32)> + '_ {
    accept.split(',').map(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        (media, q)
    })
}

/// The Prometheus text format 0.0.4 of an OpenMetrics text written by prometheus-client.
///
/// What differs: a counter family is named without `_total` in OpenMetrics' HELP and TYPE but
/// with it in the text format (where the family name is the sample name); `info` and `unknown`
/// have no text-format type (a gauge named `…_info`, and `untyped`); `# UNIT` and `# EOF` do
/// not exist there. Samples are the same. prometheus-client writes no timestamps or exemplars
/// for the metrics used here, whose units would differ.
pub fn to_text_format(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    // HELP comes before TYPE, but its name depends on the type: held until TYPE arrives.
    let mut help: Option<&str> = None;
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help = Some(rest.split_once(' ').map_or("", |(_, text)| text));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "unknown"));
            let (name, kind) = text_family(name, kind);
            out.push_str(&format!("# HELP {name} {}\n", help.take().unwrap_or("")));
            out.push_str(&format!("# TYPE {name} {kind}\n"));
        } else if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The text-format family name and type of an OpenMetrics family.
fn text_family(name: &str, kind: &str) -> (String, &'static str) {
    match kind {
        "counter" => (format!("{name}_total"), "counter"),
        "info" => (format!("{name}_info"), "gauge"),
        "gauge" => (name.to_string(), "gauge"),
        "histogram" => (name.to_string(), "histogram"),
        "summary" => (name.to_string(), "summary"),
        _ => (name.to_string(), "untyped"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMETHEUS: &str = "application/openmetrics-text;version=1.0.0,\
        application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    #[test]
    fn no_accept_header_gets_the_text_format() {
        assert_eq!(Format::negotiate(None), Format::Text);
    }

    #[test]
    fn text_plain_and_anything_get_the_text_format() {
        for accept in [
            "text/plain",
            "text/plain; version=0.0.4",
            "*/*",
            "application/json",
        ] {
            assert_eq!(Format::negotiate(Some(accept)), Format::Text, "{accept}");
        }
    }

    #[test]
    fn prometheus_asking_for_openmetrics_first_gets_openmetrics() {
        assert_eq!(Format::negotiate(Some(PROMETHEUS)), Format::OpenMetrics);
        let plain = "Application/OpenMetrics-Text; version=1.0.0";
        assert_eq!(Format::negotiate(Some(plain)), Format::OpenMetrics);
    }

    #[test]
    fn openmetrics_ranked_below_text_or_refused_gets_the_text_format() {
        let lower = "application/openmetrics-text;q=0.3, text/plain;q=0.9";
        assert_eq!(Format::negotiate(Some(lower)), Format::Text);
        let refused = "application/openmetrics-text;q=0";
        assert_eq!(Format::negotiate(Some(refused)), Format::Text);
    }

    #[test]
    fn counters_are_named_with_total_in_help_and_type_of_the_text_format() {
        let open =
            "# HELP x_polls Polls.\n# TYPE x_polls counter\nx_polls_total{org=\"a\"} 3\n# EOF\n";
        let expected = "# HELP x_polls_total Polls.\n# TYPE x_polls_total counter\nx_polls_total{org=\"a\"} 3\n";
        assert_eq!(to_text_format(open), expected);
    }

    #[test]
    fn units_eof_info_and_unknown_become_what_the_text_format_has() {
        let open = "# HELP d Took.\n# TYPE d_seconds histogram\n# UNIT d_seconds seconds\n\
                    d_seconds_count 1\n# HELP b Build.\n# TYPE b info\nb_info{version=\"1\"} 1\n\
                    # HELP u Odd.\n# TYPE u unknown\nu 2\n# EOF\n";
        let text = to_text_format(open);
        assert!(
            !text.contains("# UNIT") && !text.contains("# EOF"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE d_seconds histogram\nd_seconds_count 1\n"),
            "{text}"
        );
        assert!(
            text.contains("# HELP b_info Build.\n# TYPE b_info gauge\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE u untyped\nu 2\n"), "{text}");
    }
}
