//! What a prober sends from the outside: return targets that would leave the site, and page
//! numbers and offsets past any real list. Each is answered with a safe redirect or a clear
//! refusal, never a 500.

mod support;

use axum::http::StatusCode;
use support::{TestApp, unescape_html};

const PASSWORD: &str = "a long enough password";

/// `next` values as the handler receives them (already decoded once from the query string or
/// form), each of which a browser could resolve to another site, or which a proxy could
/// decode into such a target.
const HOSTILE_NEXT: &[&str] = &[
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\x0b/evil.example",
    "/\x0c/evil.example",
    "/\0/evil.example",
    " //evil.example",
    "\t//evil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "%2F%2Fevil.example",
    "/%09/evil.example",
    "/%0A/evil.example",
    "/%0b/evil.example",
    "/%5Cevil.example",
    "/%5C%5Cevil.example",
    "/%252F%252Fevil.example",
    "/.//evil.example",
    "/%2e%2e//evil.example",
    "/\u{3000}/evil.example",
];

/// Targets on this site, which are kept.
const LOCAL_NEXT: &[&str] = &[
    "/services/text_sentiment_analysis",
    "/usage?service=demo_free_service&page=2",
    "/admin/users?q=ada%40example.com",
];

fn login_query(next: &str) -> String {
    format!(
        "/login?{}",
        serde_urlencoded::to_string([("next", next)]).unwrap()
    )
}

fn expected(next: &str) -> &str {
    if LOCAL_NEXT.contains(&next) {
        next
    } else {
        "/dashboard"
    }
}

#[tokio::test]
async fn the_sign_in_form_carries_only_paths_on_this_site() {
    let app = TestApp::new().await;
    let mut visitor = app.browser();
    for next in HOSTILE_NEXT.iter().chain(LOCAL_NEXT) {
        let page = visitor.get(&login_query(next)).await;
        assert_eq!(page.status, StatusCode::OK, "{next:?}");
        let carried = page.input_value("next").map(|v| unescape_html(&v));
        assert_eq!(carried.as_deref(), Some(expected(next)), "{next:?}");
    }
}

#[tokio::test]
async fn a_correct_password_never_redirects_off_the_site_nor_fails() {
    let app = TestApp::new().await;
    app.browser().register("ada@example.com", PASSWORD).await;
    for (n, next) in HOSTILE_NEXT.iter().chain(LOCAL_NEXT).enumerate() {
        // Each attempt from its own address, so the sign-in rate limit stays out of the way.
        let mut browser = app.browser_at([10, 0, 0, u8::try_from(n + 1).unwrap()]);
        browser.get("/login").await;
        let answer = browser
            .post(
                "/login",
                &[
                    ("email", "ada@example.com"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{next:?}: {answer:?}");
        assert_eq!(answer.location(), expected(next), "{next:?}");

        // Signed in, the sign-in page sends the browser on at once, to the same places.
        let again = browser.get(&login_query(next)).await;
        assert_eq!(again.status, StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(again.location(), expected(next), "{next:?}");
    }
}

#[tokio::test]
async fn a_visitor_sent_to_sign_in_comes_back_to_the_page_they_asked_for() {
    let app = TestApp::new().await;
    let mut visitor = app.browser();
    let refused = visitor.get("/usage?status=failed").await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert_eq!(refused.location(), "/login?next=/usage%3Fstatus%3Dfailed");
    let form = visitor.get(refused.location()).await;
    assert_eq!(
        form.input_value("next")
            .map(|v| unescape_html(&v))
            .as_deref(),
        Some("/usage?status=failed")
    );
}
