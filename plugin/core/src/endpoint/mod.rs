//! Servers as the HTTP backends (`llm::http`, `diffusion::http`) see them: the URL they request,
//! the same URL as it may be shown (no credentials, no query), the credentials it carried,
//! whether secrets may travel to it ([`Endpoint`]); its circuit breaker ([`Breaker`],
//! `breaker.rs`); and (features `http`, `http-image`) the one client both backends send through
//! (`client.rs`: timeouts, size caps, retries, credentials; `Limits` holds its bounds).
//!
//! Secrets never leave the process: whatever goes into provenance, PNG text, logs, error
//! messages or cache keys is [`redact_url`]'s form, and credentials or API keys are sent only over
//! `https` or to a loopback host, unless the user opts in with [`PLAIN_HTTP_SECRETS_ENV`]`=1` (or
//! the backend config's `allow_plain_http_secrets`).
//!
//! The URL rules are plain string handling, so they are the same for every backend.

use std::net::IpAddr;

pub use breaker::{Breaker, Open};
#[cfg(any(feature = "http", feature = "http-image"))]
pub use client::Limits;

mod breaker;
#[cfg(any(feature = "http", feature = "http-image"))]
pub(crate) mod client;
#[cfg(all(test, any(feature = "http", feature = "http-image")))]
pub(crate) mod test_server;

/// Set this environment variable to `1` to let credentials (URL userinfo, API keys) travel over
/// plain `http` to a host that is not loopback (a trusted LAN). Without it such a request is
/// refused with an error that names this variable.
pub const PLAIN_HTTP_SECRETS_ENV: &str = "SPROUT_ALLOW_PLAIN_HTTP_SECRETS";

/// Whether [`PLAIN_HTTP_SECRETS_ENV`] is set to `1` (or `true`).
pub fn plain_http_secrets_allowed_by_env() -> bool {
    std::env::var(PLAIN_HTTP_SECRETS_ENV).is_ok_and(|v| matches!(v.trim(), "1" | "true"))
}

/// `url` with what may be shown only: scheme, host, port and path. Userinfo
/// (`user:password@`), the query (`?key=...`) and the fragment are dropped.
///
/// ```
/// use sprout_core::endpoint::redact_url;
/// assert_eq!(redact_url("http://artist:hunter2@127.0.0.1:7860/sdapi?key=k#x"), "http://127.0.0.1:7860/sdapi");
/// ```
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = split_scheme(url);
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    let rest = &rest[..end];
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}{host}{path}")
}

/// `("scheme://", rest)`, or `("", url)` without a scheme.
fn split_scheme(url: &str) -> (&str, &str) {
    match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    }
}

/// Whether `host` (as in a URL: a name, an IPv4 address or a bracketed IPv6 address, no port)
/// is this machine: `localhost`, `*.localhost`, `127.0.0.0/8`, `::1` (or IPv4-mapped loopback).
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&host);
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => a.is_loopback(),
        Ok(IpAddr::V6(a)) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|a| a.is_loopback()),
        Err(_) => false,
    }
}

/// User name and password taken out of a URL's userinfo (percent-decoded). `Debug` shows
/// neither.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub user: String,
    /// The password, if the URL had one.
    pub password: Option<String>,
}

impl core::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}

/// A server's base URL split into the URL to request, the URL to show and the credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    url: String,
    shown: String,
    scheme: String,
    host: String,
    credentials: Option<Credentials>,
}

impl core::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("Endpoint").field(&self.shown).finish()
    }
}

impl Endpoint {
    /// Splits `url` (a trailing `/` is dropped).
    pub fn parse(url: &str) -> Self {
        let url = url.trim().trim_end_matches('/');
        let (scheme, rest) = split_scheme(url);
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let credentials = userinfo.map(|u| {
            let (user, password) = match u.split_once(':') {
                Some((user, password)) => (user, Some(percent_decode(password))),
                None => (u, None),
            };
            Credentials {
                user: percent_decode(user),
                password,
            }
        });
        Self {
            url: format!("{scheme}{host_port}{tail}"),
            shown: redact_url(url),
            scheme: scheme.trim_end_matches("://").to_ascii_lowercase(),
            host: host_of(host_port).to_owned(),
            credentials,
        }
    }

    /// The URL to send requests to: no userinfo (the credentials go in a header), query kept.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL as it may be shown, logged or stored ([`redact_url`]).
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The host (no port; IPv6 in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The credentials the URL carried, to be sent as HTTP basic auth.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// Whether secrets may go to this endpoint without an opt-in: `https`, or a loopback host.
    pub fn is_private(&self) -> bool {
        self.scheme == "https" || is_loopback_host(&self.host)
    }

    /// `Ok` when `what` (a secret: "the password in the URL", "the API key in $X") may be sent
    /// here: [`is_private`](Self::is_private) or `allow_plain_http` set. Otherwise a message that
    /// says why not and how to allow it.
    pub fn check_secret(&self, what: &str, allow_plain_http: bool) -> Result<(), String> {
        if self.is_private() || allow_plain_http {
            return Ok(());
        }
        Err(format!(
            "refusing to send {what} to {} over plain {}: use https, a loopback address, or set {PLAIN_HTTP_SECRETS_ENV}=1 if this network is trusted",
            self.shown,
            if self.scheme.is_empty() {
                "text"
            } else {
                &self.scheme
            }
        ))
    }
}

/// The host of `host[:port]` (`[v6]:port` keeps its brackets).
fn host_of(host_port: &str) -> &str {
    if host_port.starts_with('[') {
        return host_port.find(']').map_or(host_port, |i| &host_port[..=i]);
    }
    host_port.rsplit_once(':').map_or(host_port, |(h, _)| h)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_scheme_host_port_and_path_only() {
        for (url, shown) in [
            (
                "http://artist:hunter2@127.0.0.1:7860",
                "http://127.0.0.1:7860",
            ),
            (
                "https://user@example.com/v1?api_key=sk-1#frag",
                "https://example.com/v1",
            ),
            ("http://a:b@c@[::1]:80/x", "http://[::1]:80/x"),
            ("u:p@host:1/v1", "host:1/v1"),
            ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn endpoints_split_credentials_out_of_the_request_url() {
        let e = Endpoint::parse("http://art%40ist:hun%3Ater2@127.0.0.1:7860/");
        assert_eq!(e.url(), "http://127.0.0.1:7860");
        assert_eq!(e.shown(), "http://127.0.0.1:7860");
        assert_eq!(e.host(), "127.0.0.1");
        let c = e.credentials().unwrap();
        assert_eq!(
            (c.user.as_str(), c.password.as_deref()),
            ("art@ist", Some("hun:ter2"))
        );
        assert!(!format!("{e:?}{c:?}").contains("hun"));
        assert!(Endpoint::parse("http://h:1/v1").credentials().is_none());
    }

    #[test]
    fn secrets_go_over_https_or_to_loopback_unless_allowed() {
        for private in [
            "https://api.example.com/v1",
            "http://127.0.0.1:1",
            "http://127.8.9.1",
            "http://localhost:8080",
            "http://LOCALHOST.",
            "http://gpu.localhost",
            "http://[::1]:8000/v1",
            "http://[::ffff:127.0.0.1]:8",
        ] {
            assert!(Endpoint::parse(private).is_private(), "{private}");
        }
        for public in [
            "http://192.168.1.5:8080/v1",
            "http://example.com",
            "http://localhost.example.com",
            "http://[::2]:1",
            "http://127.0.0.1.nip.io",
        ] {
            let e = Endpoint::parse(public);
            assert!(!e.is_private(), "{public}");
            let why = e.check_secret("the API key", false).unwrap_err();
            assert!(why.contains(PLAIN_HTTP_SECRETS_ENV), "{why}");
            assert!(e.check_secret("the API key", true).is_ok());
        }
    }
}
