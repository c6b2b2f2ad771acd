//! Requests from this machine: the test controls (and the QuickScale app's development pages)
//! answer a tool or browser on the developer's own machine and nothing else.
//!
//! A loopback peer alone is not enough: a web page on another site can make the developer's
//! browser resolve its own host name to 127.0.0.1 (DNS rebinding) and then read the answers,
//! which arrive from a loopback peer but carry that site's name in `Host`. So the `Host` must
//! be a loopback name or address too, and no proxy may have relayed the request.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, Uri, header};

/// Headers a proxy adds when it relays a request: their presence means the peer is a proxy,
/// whatever its address.
const FORWARDING_HEADERS: &[&str] = &[
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-real-ip",
    "via",
];

/// Whether `request` comes straight from this machine and names it: a loopback peer (from the
/// connection, see [`axum::extract::ConnectInfo`]), a loopback `Host` (and URI authority, if
/// any), and no forwarding headers. A server that does not record peers fails the check.
pub fn from_this_machine<B>(request: &axum::http::Request<B>) -> bool {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    from_this_machine_parts(request.headers(), request.uri(), peer)
}

/// [`from_this_machine`] on the parts of a request.
pub fn from_this_machine_parts(headers: &HeaderMap, uri: &Uri, peer: Option<IpAddr>) -> bool {
    let peer_is_local = peer.is_some_and(|ip| ip.to_canonical().is_loopback());
    let relayed = FORWARDING_HEADERS.iter().any(|h| headers.contains_key(*h));
    let mut hosts = headers.get_all(header::HOST).iter();
    let host_is_local = match (hosts.next(), hosts.next()) {
        (Some(host), None) => host.to_str().is_ok_and(is_loopback_host),
        // HTTP/1.1 requires exactly one Host; HTTP/2 may carry the authority alone.
        (None, _) => uri.authority().is_some(),
        (Some(_), Some(_)) => false,
    };
    let authority_is_local = uri
        .authority()
        .is_none_or(|authority| is_loopback_host(authority.as_str()));
    peer_is_local && !relayed && host_is_local && authority_is_local
}

/// Whether a `Host` value (a name or address, with or without a port) names this machine:
/// `localhost`, a name under `.localhost` (browsers resolve those to loopback without asking
/// DNS), an address in 127.0.0.0/8, or `[::1]`.
pub fn is_loopback_host(host: &str) -> bool {
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let Some((address, after)) = rest.split_once(']') else {
            return false;
        };
        let Ok(address) = address.parse::<Ipv6Addr>() else {
            return false;
        };
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(port) => Some(port),
                None => return false,
            },
        };
        return port.is_none_or(valid_port) && IpAddr::V6(address).to_canonical().is_loopback();
    } else {
        match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        }
    };
    if !port.is_none_or(valid_port) {
        return false;
    }
    if let Ok(address) = name.parse::<IpAddr>() {
        return address.is_loopback();
    }
    let name = name.to_ascii_lowercase();
    let labels: Vec<&str> = name.split('.').collect();
    labels.last() == Some(&"localhost")
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn valid_port(port: &str) -> bool {
    !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok()
}

/// Refuses, with 404, requests that do not come from this machine (see [`from_this_machine`]).
pub(crate) async fn only_from_this_machine(
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if from_this_machine(&request) {
        return next.run(request).await;
    }
    (
        axum::http::StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({
            "error": "the test controls answer only requests from this machine \
                      (a loopback address, addressed as localhost or 127.0.0.1, not through a proxy)"
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_host_names_and_addresses() {
        for host in [
            "localhost",
            "LOCALHOST:8000",
            "app.localhost",
            "a-b.app.localhost:4242",
            "127.0.0.1",
            "127.0.0.1:8000",
            "127.9.8.7:1",
            "[::1]",
            "[::1]:8000",
            "[::ffff:127.0.0.1]:80",
        ] {
            assert!(is_loopback_host(host), "{host} is this machine");
        }
    }

    #[test]
    fn other_hosts_are_not_this_machine() {
        for host in [
            "",
            ":8000",
            "evil.example",
            "evil.example:8000",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "localhost.",
            "evillocalhost",
            ".localhost",
            "a..localhost",
            "a_b.localhost",
            "localhost:",
            "localhost:80x",
            "localhost:65536",
            "localhost:8000:1",
            "127.0.0.1:-1",
            "127.1",
            "0.0.0.0",
            "10.0.0.1",
            "192.0.2.2:8000",
            "::1",
            "[::1",
            "[::1]8000",
            "[::1]:",
            "[::]",
            "[fe80::1]",
            "local host",
            "localhost\t",
        ] {
            assert!(!is_loopback_host(host), "{host:?} is not this machine");
        }
    }

    fn request(headers: &[(&str, &str)]) -> axum::http::Request<()> {
        let mut builder = axum::http::Request::builder().uri("/_test/webhook");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn needs_a_loopback_peer_a_loopback_host_and_no_proxy() {
        let local = Some(IpAddr::from([127, 0, 0, 1]));
        let check = |r: axum::http::Request<()>, peer: Option<IpAddr>| {
            from_this_machine_parts(r.headers(), r.uri(), peer)
        };
        assert!(check(request(&[("host", "localhost:4242")]), local));
        assert!(check(
            request(&[("host", "[::1]:4242")]),
            Some(IpAddr::from(Ipv6Addr::LOCALHOST))
        ));
        assert!(!check(request(&[("host", "localhost:4242")]), None));
        assert!(!check(
            request(&[("host", "localhost")]),
            Some(IpAddr::from([192, 0, 2, 2]))
        ));
        assert!(!check(request(&[("host", "evil.example")]), local));
        assert!(!check(request(&[]), local));
        assert!(!check(
            request(&[("host", "localhost"), ("host", "localhost")]),
            local
        ));
        for proxy in FORWARDING_HEADERS {
            assert!(!check(
                request(&[("host", "localhost"), (proxy, "127.0.0.1")]),
                local
            ));
        }
        let absolute = axum::http::Request::builder()
            .uri("http://evil.example/_test/webhook")
            .header("host", "localhost")
            .body(())
            .unwrap();
        assert!(!check(absolute, local));
    }
}
