//! The test controls (one of them hands out the webhook secret) answer only requests from this
//! machine: a loopback peer that names a loopback host, not relayed by a proxy. Over real
//! sockets with hand-written requests, so the `Host` header is exactly as sent. (A peer on
//! another machine is refused by the same check: `local`'s unit tests; tests here send
//! traffic to loopback addresses only.)

use std::net::{IpAddr, SocketAddr};

use quickscale_stripe_fake::{Config, FakeStripe, Running};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends `request` (a whole HTTP/1.1 request) from `source` to `to`; returns the status and
/// the body.
async fn raw(source: IpAddr, to: SocketAddr, request: &str) -> (u16, String) {
    let socket = match source {
        IpAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        IpAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .unwrap();
    socket.bind(SocketAddr::new(source, 0)).unwrap();
    let mut stream = socket.connect(to).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
    (status, answer)
}

fn get(path: &str, headers: &[&str]) -> String {
    let mut request = format!("GET {path} HTTP/1.1\r\n");
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("Connection: close\r\n\r\n");
    request
}

async fn fake() -> Running {
    FakeStripe::start(Config::for_tests()).await.unwrap()
}

#[tokio::test]
async fn the_webhook_secret_is_given_to_this_machine_only() {
    let fake = fake().await;
    let port = fake.addr.port();
    let to = SocketAddr::from(([127, 0, 0, 1], port));
    let local = IpAddr::from([127, 0, 0, 1]);

    for host in [
        format!("Host: 127.0.0.1:{port}"),
        format!("Host: localhost:{port}"),
        "Host: localhost".to_owned(),
        format!("Host: tools.localhost:{port}"),
        format!("Host: [::1]:{port}"),
    ] {
        let (status, body) = raw(local, to, &get("/_test/webhook", &[&host])).await;
        assert_eq!(status, 200, "{host}: {body}");
        assert!(body.contains(&fake.webhook_secret), "{host}: {body}");
    }

    // A page that rebinds its own name to 127.0.0.1 reaches the fake with its name as Host.
    for headers in [
        vec!["Host: evil.example".to_owned()],
        vec![format!("Host: evil.example:{port}")],
        vec![format!("Host: 127.0.0.1.evil.example:{port}")],
        vec![format!("Host: localhost.evil.example:{port}")],
        vec!["Host: ".to_owned()],
        vec![],
        vec![
            format!("Host: localhost:{port}"),
            "Host: evil.example".to_owned(),
        ],
        vec![
            format!("Host: localhost:{port}"),
            "X-Forwarded-For: 203.0.113.9".to_owned(),
        ],
        vec![
            format!("Host: localhost:{port}"),
            "Forwarded: for=203.0.113.9".to_owned(),
        ],
    ] {
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let (status, body) = raw(local, to, &get("/_test/webhook", &headers)).await;
        assert!(
            status == 404 || status == 400,
            "{headers:?} answered {status}: {body}"
        );
        assert!(!body.contains(&fake.webhook_secret), "{headers:?}: {body}");
    }
    // Every control, not only the one with the secret.
    let (status, _) = raw(
        local,
        to,
        &format!(
            "POST /_test/reset HTTP/1.1\r\nHost: evil.example:{port}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(status, 404);
    // An absolute request target naming another host.
    let (status, body) = raw(
        local,
        to,
        &get(
            &format!("http://evil.example:{port}/_test/webhook"),
            &[&format!("Host: localhost:{port}")],
        ),
    )
    .await;
    assert!(status == 404 || status == 400, "{status}: {body}");
}
