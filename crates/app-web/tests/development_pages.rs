//! The development pages (the outbox shows sign-in and reset links) answer only the developer's
//! own machine: a loopback peer naming a loopback host, with no proxy between. Over real
//! sockets with hand-written requests, so the `Host` header is exactly as sent (to loopback
//! addresses only; a peer elsewhere is set on the app's middleware stack).

mod support;

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use support::TestApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

const PASSWORD: &str = "a long enough password";

/// Sends `request` (a whole HTTP/1.1 request) from `source` to `to`; returns the status and
/// the whole answer.
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

/// Serves the app on a loopback port, as `quickscale up` does; returns the port.
async fn serve(app: &TestApp) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(quickscale_app_web::serve_router(
        listener,
        app.unlayered_router(),
        std::future::pending(),
    ));
    port
}

#[tokio::test]
async fn the_outbox_answers_only_this_machine_by_a_loopback_name() {
    let app = TestApp::new().await;
    app.browser().register("ada@example.com", PASSWORD).await;
    app.mail(1).await;
    let port = serve(&app).await;
    let local = IpAddr::from([127, 0, 0, 1]);
    let to = SocketAddr::from(([127, 0, 0, 1], port));

    for host in [
        format!("Host: 127.0.0.1:{port}"),
        "Host: 127.0.0.1".to_owned(),
        format!("Host: 127.1.2.3:{port}"),
        format!("Host: localhost:{port}"),
        format!("Host: LOCALHOST:{port}"),
        format!("Host: my-app.localhost:{port}"),
        format!("Host: [::1]:{port}"),
    ] {
        let (status, answer) = raw(local, to, &get("/dev/outbox", &[&host])).await;
        assert_eq!(status, 200, "{host}: {answer}");
        assert!(answer.contains("/verify?token="), "{host}");
    }

    // What a page that rebinds its own name to 127.0.0.1 sends, and other hosts.
    for headers in [
        vec!["Host: evil.example".to_owned()],
        vec![format!("Host: evil.example:{port}")],
        vec![format!("Host: 127.0.0.1.evil.example:{port}")],
        vec![format!("Host: localhost.evil.example:{port}")],
        vec![format!("Host: evil.example:{port}.localhost")],
        vec![format!("Host: 192.0.2.2:{port}")],
        vec!["Host: ".to_owned()],
        vec![],
        vec![
            format!("Host: localhost:{port}"),
            format!("Host: evil.example:{port}"),
        ],
        vec![
            format!("Host: localhost:{port}"),
            "X-Forwarded-For: 127.0.0.1".to_owned(),
        ],
        vec![
            format!("Host: localhost:{port}"),
            "Forwarded: for=127.0.0.1".to_owned(),
        ],
        vec![
            format!("Host: localhost:{port}"),
            "X-Real-IP: 127.0.0.1".to_owned(),
        ],
    ] {
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let (status, answer) = raw(local, to, &get("/dev/outbox", &headers)).await;
        assert!(
            status == 404 || status == 400,
            "{headers:?} answered {status}"
        );
        assert!(!answer.contains("/verify?token="), "{headers:?}");
    }
    // An absolute request target naming another host.
    let (status, answer) = raw(
        local,
        to,
        &get(
            &format!("http://evil.example:{port}/dev/outbox"),
            &[&format!("Host: localhost:{port}")],
        ),
    )
    .await;
    assert!(status == 404 || status == 400, "{status}");
    assert!(!answer.contains("/verify?token="));

    // Another machine naming localhost. (Tests send traffic to loopback addresses only, so the
    // peer is set the way the server records it, on the app's own middleware stack.)
    for (peer, expected) in [
        ([192, 0, 2, 10], StatusCode::NOT_FOUND),
        ([127, 0, 0, 1], StatusCode::OK),
    ] {
        let router = app.unlayered_router().layer(axum::middleware::map_request(
            move |mut request: axum::extract::Request| async move {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(SocketAddr::from((peer, 50_000))));
                request
            },
        ));
        let request = Request::get("/dev/outbox")
            .header(header::HOST, format!("localhost:{port}"))
            .body(Body::empty())
            .unwrap();
        let status = router.oneshot(request).await.unwrap().status();
        assert_eq!(status, expected, "from {peer:?}");
    }
}

#[tokio::test]
async fn the_outbox_does_not_exist_behind_a_proxy_or_on_a_public_address() {
    for settings in [
        vec![("TRUST_PROXY", "true")],
        vec![("BASE_URL", "http://localhost.evil.example:8000")],
        vec![("BASE_URL", "https://localhost:8000")],
    ] {
        let app = TestApp::with(&settings).await;
        let port = serve(&app).await;
        let (status, _) = raw(
            IpAddr::from([127, 0, 0, 1]),
            SocketAddr::from(([127, 0, 0, 1], port)),
            &get("/dev/outbox", &[&format!("Host: localhost:{port}")]),
        )
        .await;
        assert_eq!(status, 404, "{settings:?}");
    }
}
