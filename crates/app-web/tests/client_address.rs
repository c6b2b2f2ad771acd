//! Behind a proxy, the client is the address the nearest trusted proxy saw: what a client
//! writes into `X-Forwarded-For` itself does not give it a fresh rate-limit budget.

mod support;

use axum::http::StatusCode;
use support::TestApp;

/// Asks for six password resets (the email budget is five at once), each from a browser whose
/// proxy chain sends `forwarded(i)`; returns the statuses.
async fn six_resets(app: &TestApp, forwarded: impl Fn(usize) -> String) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for i in 0..6 {
        let mut visitor = app.browser();
        visitor.forwarded_for = Some(forwarded(i));
        visitor.get("/password/forgot").await;
        let email = format!("someone{i}@example.com");
        statuses.push(
            visitor
                .post("/password/forgot", &[("email", email.as_str())])
                .await
                .status,
        );
    }
    statuses
}

fn limited(statuses: &[StatusCode]) -> usize {
    statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count()
}

#[tokio::test]
async fn rotating_the_leftmost_forwarded_address_gives_no_new_budget() {
    // One proxy (the peer, 127.0.0.1 here) that appends the address it saw.
    let app = TestApp::with(&[("TRUST_PROXY", "true")]).await;
    let rotated = six_resets(&app, |i| format!("203.0.113.{i}, 198.51.100.7")).await;
    assert_eq!(limited(&rotated), 1, "{rotated:?}");
    // Another client behind the same proxy has its own budget.
    let other = six_resets(&app, |i| format!("203.0.113.{i}, 198.51.100.8")).await;
    assert_eq!(limited(&other), 1, "{other:?}");
    // Malformed values the client makes up do not help either.
    let app = TestApp::with(&[("TRUST_PROXY", "true")]).await;
    let garbage = six_resets(&app, |i| format!("client-{i}, 198.51.100.7")).await;
    assert_eq!(limited(&garbage), 1, "{garbage:?}");
}

#[tokio::test]
async fn a_chain_of_trusted_proxies_is_seen_through() {
    // A load balancer (10.0.0.0/8) in front of a local proxy (the peer, 127.0.0.1).
    let app = TestApp::with(&[
        ("TRUST_PROXY", "true"),
        ("TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8"),
    ])
    .await;
    let rotated = six_resets(&app, |i| {
        format!("198.51.100.{i}, 10.9.9.{i}, 203.0.113.5, 10.0.0.{}", i + 1)
    })
    .await;
    assert_eq!(limited(&rotated), 1, "{rotated:?}");
    let other = six_resets(&app, |i| format!("203.0.113.6, 10.0.0.{}", i + 1)).await;
    assert_eq!(limited(&other), 1, "{other:?}");
}

#[tokio::test]
async fn an_unlisted_peer_is_the_client_whatever_it_forwards() {
    // The listed proxy is elsewhere: the requests come straight from 127.0.0.1.
    let app = TestApp::with(&[("TRUST_PROXY", "true"), ("TRUSTED_PROXIES", "10.0.0.0/8")]).await;
    let forged = six_resets(&app, |i| format!("203.0.113.{i}")).await;
    assert_eq!(limited(&forged), 1, "{forged:?}");
}
