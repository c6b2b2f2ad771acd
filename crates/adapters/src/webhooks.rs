//! Posting webhooks to addresses users gave us, without letting one of them reach inside our
//! network. Only `http` and `https` URLs; the host is resolved here and every address it resolves
//! to must be public (not loopback, private, link-local, unspecified, shared, multicast or
//! broadcast), unless private addresses are allowed (development and tests). The request then
//! goes to the checked addresses only (the client is pinned to them), so a name that resolves
//! somewhere else a moment later (DNS rebinding) cannot smuggle a private address in. Redirects
//! are not followed, and a proxy from the environment is not used.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use reqwest::Url;
use tracing::Instrument as _;

/// Why a webhook could not be posted (no answer came back).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// Not an absolute `http://` or `https://` URL with a host.
    #[error("the address must be an http:// or https:// URL: {0}")]
    BadUrl(String),
    /// The host is, or resolves to, an address webhooks may not reach.
    #[error("the address {0} is not public (loopback, private, link-local or unspecified)")]
    Refused(IpAddr),
    /// The host did not resolve.
    #[error("the host {0} could not be resolved")]
    Unresolved(String),
    /// No answer: refused connection, TLS failure, timeout.
    #[error("no answer: {0}")]
    Failed(String),
}

/// An answer from the receiver (any status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// Its HTTP status.
    pub status: u16,
    /// How long the request took.
    pub elapsed: Duration,
}

/// True when `ip` is an address on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                // 0.0.0.0/8 ("this network") and 100.64.0.0/10 (carrier-grade NAT).
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local())
            }
        },
    }
}

/// Posts webhooks (see the module).
#[derive(Debug, Clone)]
pub struct WebhookSender {
    allow_private: bool,
    timeout: Duration,
}

impl WebhookSender {
    /// A sender whose requests give up after `timeout`; `allow_private` lets them reach any
    /// address (development and tests only).
    pub fn new(allow_private: bool, timeout: Duration) -> Self {
        WebhookSender {
            allow_private,
            timeout,
        }
    }

    /// Whether private addresses are allowed.
    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// Checks `url` as a webhook address: its form, and where its host resolves now. Returns the
    /// parsed URL and the addresses a request may go to.
    pub async fn check(&self, url: &str) -> Result<(Url, Vec<SocketAddr>), SendError> {
        let parsed = Url::parse(url.trim()).map_err(|e| SendError::BadUrl(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(SendError::BadUrl(format!(
                "the scheme {} is not http or https",
                parsed.scheme()
            )));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(SendError::BadUrl(
                "a user name or password in the address is not allowed".into(),
            ));
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| SendError::BadUrl("the address has no host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = parsed
            .port_or_known_default()
            .ok_or_else(|| SendError::BadUrl("the address has no port".into()))?;
        let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|_| SendError::Unresolved(host.clone()))?
                .collect(),
        };
        if addresses.is_empty() {
            return Err(SendError::Unresolved(host));
        }
        if !self.allow_private
            && let Some(bad) = addresses.iter().find(|a| !is_public(a.ip()))
        {
            return Err(SendError::Refused(bad.ip()));
        }
        Ok((parsed, addresses))
    }

    /// Posts `body` (JSON) with `headers` to `url`, checking the address first (see the
    /// module). An answer of any status is `Ok`; no answer is the error.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Answer, SendError> {
        let (url, addresses) = self.check(url).await?;
        let mut client = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent("QuickScale-Webhooks/1");
        if let Some(host) = url.host_str().filter(|h| h.parse::<IpAddr>().is_err()) {
            // Connect to the addresses checked above, not to a second lookup's answer.
            client = client.resolve_to_addrs(host, &addresses);
        }
        let client = client
            .build()
            .map_err(|e| SendError::Failed(e.to_string()))?;
        // A span per delivery attempt (an OpenTelemetry client span when traces are on): the
        // host and port only, never the path or query, which may carry the user's secret.
        let span = tracing::info_span!(
            "webhook",
            otel.name = "POST webhook",
            otel.kind = "client",
            http.request.method = "POST",
            server.address = url.host_str().unwrap_or_default(),
            server.port = url.port_or_known_default().unwrap_or_default(),
            http.response.status_code = tracing::field::Empty,
        );
        let mut request = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        for (name, value) in crate::trace_context::headers_for(&span) {
            request = request.header(name, value);
        }
        let started = Instant::now();
        let response = request
            .body(body)
            .send()
            .instrument(span.clone())
            .await
            .map_err(|e| SendError::Failed(without_url(&e)))?;
        span.record("http.response.status_code", response.status().as_u16());
        Ok(Answer {
            status: response.status().as_u16(),
            elapsed: started.elapsed(),
        })
    }
}

/// The error's description without the URL (the user's URL may carry a token in its query).
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(error);
    let mut detail = None;
    while let Some(inner) = source {
        detail = Some(inner.to_string());
        source = inner.source();
    }
    match detail {
        Some(detail) => format!("{kind} ({detail})"),
        None => kind.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "100.128.0.1", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn private_and_odd_addresses_are_refused_before_any_request() {
        let sender = WebhookSender::new(false, Duration::from_secs(1));
        for (url, refused) in [
            ("http://127.0.0.1:9/hook", true),
            ("http://[::1]/hook", true),
            ("http://169.254.169.254/latest/meta-data", true),
            ("http://localhost:8080/hook", true),
        ] {
            let error = sender.post(url, &[], b"{}".to_vec()).await.unwrap_err();
            assert_eq!(
                matches!(error, SendError::Refused(_)),
                refused,
                "{url}: {error}"
            );
        }
        for url in [
            "ftp://example.com/x",
            "file:///etc/passwd",
            "not a url",
            "https://u:p@example.com/",
        ] {
            assert!(
                matches!(sender.check(url).await, Err(SendError::BadUrl(_))),
                "{url}"
            );
        }
        let allowed = WebhookSender::new(true, Duration::from_secs(1));
        assert!(allowed.check("http://127.0.0.1:9/hook").await.is_ok());
    }
}
