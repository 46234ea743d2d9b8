//! The accepted forms of `smtp_url`, parsed once at load so that a typo is a configuration
//! error (exit 2) and never a silent fall-back to plain text.
//!
//! The forms are lettre's (`from_url`): `smtp://host[:port]` (plain, port 25),
//! `smtp://host[:port]?tls=required` or `?tls=opportunistic` (STARTTLS, port 587),
//! `smtps://host[:port]` (TLS from the first byte, port 465). Credentials may be given as
//! `user:password@` and a path names the EHLO host, as lettre does. Nothing else is accepted:
//! lettre itself ignores unknown parameters (`?tsl=required` would send in plain text).

use url::Url;

/// How the connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsMode {
    /// `smtp://`: no TLS at all.
    Plain,
    /// `?tls=opportunistic`: STARTTLS when the server offers it, plain text otherwise.
    Opportunistic,
    /// `?tls=required`: STARTTLS, or no delivery.
    Required,
    /// `smtps://`: TLS from the first byte.
    Wrapper,
}

/// A parsed `smtp_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SmtpUrl {
    /// The relay's host name or address (also the name its certificate must carry).
    pub(crate) host: String,
    /// The port, or the default of the mode.
    pub(crate) port: u16,
    /// How the connection is encrypted.
    pub(crate) tls: TlsMode,
    /// `user:password@` of the URL, percent-decoded.
    pub(crate) credentials: Option<(String, String)>,
    /// The EHLO name from the path, when there is one.
    pub(crate) hello_name: Option<String>,
}

impl TlsMode {
    /// Whether the connection is encrypted before anything is authenticated.
    pub(crate) fn encrypted(self) -> bool {
        matches!(self, TlsMode::Required | TlsMode::Wrapper)
    }
}

/// What every refusal says the accepted forms are.
const FORMS: &str = "the accepted forms are smtp://host[:port], \
    smtp://host[:port]?tls=required, smtp://host[:port]?tls=opportunistic and smtps://host[:port]";

impl SmtpUrl {
    /// Parses `url`; the reason names what is wrong (never a credential).
    pub(crate) fn parse(url: &Url) -> Result<SmtpUrl, String> {
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("has no host: {FORMS}"))?;
        if url.fragment().is_some() {
            return Err(format!("must not have a `#` fragment: {FORMS}"));
        }
        let tls = tls_mode(url)?;
        let port = url.port().unwrap_or(match tls {
            TlsMode::Plain => 25,
            TlsMode::Opportunistic | TlsMode::Required => 587,
            TlsMode::Wrapper => 465,
        });
        let hello_name = Some(url.path().trim_matches('/'))
            .filter(|p| !p.is_empty())
            .map(str::to_string);
        Ok(SmtpUrl {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            tls,
            credentials: credentials(url)?,
            hello_name,
        })
    }
}

fn tls_mode(url: &Url) -> Result<TlsMode, String> {
    let mut tls = None;
    for (name, value) in url.query_pairs() {
        if name != "tls" {
            let hint = if name.eq_ignore_ascii_case("tls") || name.eq_ignore_ascii_case("tsl") {
                " (the parameter is `tls`, in lower case)"
            } else {
                ""
            };
            return Err(format!("unknown parameter `{name}`{hint}: {FORMS}"));
        }
        if tls.is_some() {
            return Err(format!("`tls` is given twice: {FORMS}"));
        }
        tls = Some(match value.as_ref() {
            "required" => TlsMode::Required,
            "opportunistic" => TlsMode::Opportunistic,
            other => {
                return Err(format!(
                    "`tls={other}` is not a TLS mode (use `tls=required` or `tls=opportunistic`)"
                ))
            }
        });
    }
    match (url.scheme(), tls) {
        ("smtp", None) => Ok(TlsMode::Plain),
        ("smtp", Some(mode)) => Ok(mode),
        ("smtps", None) => Ok(TlsMode::Wrapper),
        ("smtps", Some(_)) => Err(format!(
            "smtps:// is TLS from the first byte: `?tls=` belongs to smtp:// only; {FORMS}"
        )),
        (scheme, _) => Err(format!("unknown scheme `{scheme}`: {FORMS}")),
    }
}

fn credentials(url: &Url) -> Result<Option<(String, String)>, String> {
    let Some(password) = url.password() else {
        return Ok(None);
    };
    // Never quote them: they are the secret.
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| "its user or password is not UTF-8 once decoded".to_string())
    };
    Ok(Some((decode(url.username())?, decode(password)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SmtpUrl, String> {
        SmtpUrl::parse(&Url::parse(text).unwrap())
    }

    #[test]
    fn the_documented_forms_parse_with_lettres_default_ports() {
        let mode = |text: &str| parse(text).map(|u| (u.tls, u.port)).unwrap();
        assert_eq!(mode("smtp://mail.example.com"), (TlsMode::Plain, 25));
        let required = mode("smtp://mail.example.com?tls=required");
        assert_eq!(required, (TlsMode::Required, 587));
        let opportunistic = mode("smtp://mail.example.com:2525?tls=opportunistic");
        assert_eq!(opportunistic, (TlsMode::Opportunistic, 2525));
        assert_eq!(mode("smtps://mail.example.com"), (TlsMode::Wrapper, 465));
    }

    #[test]
    fn typos_in_the_tls_part_are_refused_never_taken_for_plain_text() {
        for typo in [
            "smtp://m.example.com?tsl=required",
            "smtp://m.example.com?TLS=required",
            "smtp://m.example.com?tls=requierd",
            "smtp://m.example.com?tls=Required",
            "smtp://m.example.com?tls=required&tls=opportunistic",
            "smtps://m.example.com?tls=opportunistic",
            "smtpss://m.example.com",
        ] {
            assert!(parse(typo).is_err(), "{typo} was accepted");
        }
    }

    #[test]
    fn credentials_are_decoded_and_never_quoted_in_a_refusal() {
        let url = parse("smtp://us%40er:p%2Fss@m.example.com/client.example").unwrap();
        let credentials = Some(("us@er".to_string(), "p/ss".to_string()));
        assert_eq!(url.credentials, credentials);
        assert_eq!(url.hello_name.as_deref(), Some("client.example"));
        let refused = parse("smtp://user:hunter2@m.example.com?tsl=1").unwrap_err();
        assert!(!refused.contains("hunter2"), "{refused}");
    }
}
