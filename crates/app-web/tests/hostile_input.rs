//! What a prober sends from the outside: return targets that would leave the site, and page
//! numbers and offsets past any real list. Each is answered with a safe redirect or a clear
//! refusal, never a 500.

mod support;

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use quickscale_adapters::testing::gateway::ScriptedGateway;
use quickscale_app_web::App;
use serde_json::Value;
use support::{Browser, TestApp, unescape_html};
use tower::ServiceExt;

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

/// Numbers past any list, or not numbers: the probe's values and their neighbours.
const OUT_OF_RANGE: &[&str] = &[
    "1000000000000000000",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "-1",
    "-9223372036854775808",
    "0",
    "100001",
    "1.5",
    "1e3",
    "%201",
    "abc",
];

/// An app with every paged page: billing (on the scriptable gateway) and the API on.
async fn app_with_every_list() -> TestApp {
    let app = App::new("Test App").with_gateway(
        Arc::new(ScriptedGateway::default()),
        "whsec_test_in_process",
    );
    TestApp::with_app(app, &[("ENABLE_STRIPE", "true"), ("ENABLE_API", "true")]).await
}

async fn admin(app: &TestApp) -> Browser {
    let mut admin = app.browser();
    let signed_in = admin.login("admin@example.com", "admin-password-1").await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    admin
}

#[tokio::test]
async fn every_paged_page_refuses_page_numbers_out_of_range_with_a_400() {
    let app = app_with_every_list().await;
    let mut admin = admin(&app).await;
    let paged = [
        "/usage?status=",
        "/admin/users?q=",
        "/admin/audit?action=",
        "/admin/emails?status=",
        "/admin/payments?email=",
        "/admin/webhooks?kind=",
        // A user's own payments take no filter; an unknown parameter is ignored.
        "/billing/payments?from=",
    ];
    for path in paged {
        for page in OUT_OF_RANGE {
            let answer = admin.get(&format!("{path}&page={page}")).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path} page={page}");
            assert!(
                answer.contains("The page number must be a whole number from 1 to 100000."),
                "{path} page={page}: {}",
                answer.body
            );
            assert!(answer.contains("<html"), "an HTML error page: {path}");
        }
        for page in ["", "1", "100000"] {
            let answer = admin.get(&format!("{path}&page={page}")).await;
            assert_eq!(answer.status, StatusCode::OK, "{path} page={page}");
        }
        let last = admin.get(&format!("{path}&page=100000")).await;
        assert_eq!(
            last.text_of("pager-page")
                .as_deref()
                .map(|t| t.starts_with("Page 100000")),
            Some(true),
            "{path}: a page past the end is an empty page that says where it is"
        );
        assert!(
            !last.contains("page=100001"),
            "{path}: no link past the last page"
        );
    }
    // Lists that count their items lead back from past the end to their last page.
    for path in [
        "/admin/users?q=",
        "/admin/payments?email=",
        "/billing/payments?from=",
    ] {
        let past = admin.get(&format!("{path}&page=7")).await;
        assert!(
            past.contains("page=1\">Previous</a>"),
            "{path}: {}",
            past.body
        );
    }
    // The ledger's cursor on a user's page is refused too, not a failure.
    let admin_id = app.user("admin@example.com").await.id;
    for before in ["9223372036854775808", "abc"] {
        let answer = admin
            .get(&format!("/admin/users/{admin_id}?before={before}"))
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "before={before}");
    }
}

/// Registers `email` and makes an API key on the settings page.
async fn api_key(app: &TestApp, email: &str) -> String {
    let mut browser = app.browser();
    browser.register(email, PASSWORD).await;
    let page = browser.get("/settings/api-keys").await;
    let token = page.input_value("form_token").unwrap();
    let made = browser
        .post(
            "/settings/api-keys",
            &[
                ("name", "Prober"),
                ("current_password", PASSWORD),
                ("form_token", &token),
            ],
        )
        .await;
    made.input_value("new_key").expect("a new key")
}

/// A GET to the API with this key: the status and the JSON body.
async fn api_get(app: &TestApp, path: &str, key: &str) -> (StatusCode, String, Value) {
    let request = Request::builder()
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (
        status,
        content_type,
        serde_json::from_slice(&bytes).unwrap(),
    )
}

#[tokio::test]
async fn the_api_refuses_offsets_and_limits_out_of_range_with_a_422() {
    let app = app_with_every_list().await;
    let key = api_key(&app, "ada@example.com").await;
    let offsets: Vec<&str> = OUT_OF_RANGE
        .iter()
        .copied()
        .filter(|v| !["0", "100001"].contains(v))
        .chain(["10000001"])
        .collect();
    let limits: Vec<&str> = OUT_OF_RANGE.iter().copied().chain(["101"]).collect();
    for (parameter, values) in [("offset", offsets), ("limit", limits)] {
        for value in values {
            let path = format!("/api/v1/runs?{parameter}={value}");
            let (status, content_type, problem) = api_get(&app, &path, &key).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{path}: {problem}"
            );
            assert_eq!(content_type, "application/problem+json", "{path}");
            assert_eq!(problem["code"], "invalid_input", "{path}");
            assert!(
                problem["detail"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("`{parameter}`")),
                "{path}: {problem}"
            );
        }
    }
    let (status, _, page) = api_get(&app, "/api/v1/runs?offset=10000000&limit=100", &key).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["data"], Value::Array(Vec::new()));
    assert_eq!(
        (page["offset"].as_u64(), page["limit"].as_u64()),
        (Some(10_000_000), Some(100))
    );
}

#[tokio::test]
async fn pages_link_to_each_other_and_keep_the_filter() {
    let app = app_with_every_list().await;
    for n in 0..60 {
        let message = quickscale_domain_kernel::EmailMessage {
            to: format!("reader{n}@example.com"),
            reply_to: None,
            subject: format!("Paging test {n}"),
            text: "text".into(),
            html: None,
        };
        app.state
            .stores()
            .outbox
            .enqueue(&message, app.state.clock().now())
            .await
            .unwrap();
    }
    let mut admin = admin(&app).await;
    let first = admin.get("/admin/emails?status=").await;
    assert_eq!(first.body.matches("Paging test").count(), 50);
    let next = first.body[first.body.find("pagination-next").unwrap()..]
        .split('"')
        .nth(2)
        .map(unescape_html)
        .unwrap();
    assert_eq!(next, "/admin/emails?status=&page=2");
    let second = admin.get(&next).await;
    assert_eq!(second.body.matches("Paging test").count(), 10);
    assert!(!second.contains("pagination-next"), "the last page");
    assert!(
        second.contains("/admin/emails?status=&amp;page=1"),
        "back to the first"
    );
}

#[tokio::test]
async fn text_with_nul_characters_runs_and_is_kept_on_every_backend() {
    let data = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", data.path().join("app.db").display());
    let mut backends = Vec::new();
    // PostgreSQL first: it is the store that cannot keep a NUL.
    if let Some(url) = quickscale_adapters::testing::postgres::test_database_url().await {
        backends.push(("postgres", url));
    }
    backends.extend([("sqlite", sqlite), ("memory", "memory".to_owned())]);
    for (backend, url) in backends {
        let app = TestApp::with(&[("ENABLE_API", "true"), ("DATABASE_URL", url.as_str())]).await;
        let key = api_key(&app, "ada@example.com").await;
        for slug in [
            "text_keyword_extractor",
            "demo_free_service",
            "text_sentiment_analysis",
        ] {
            let request = Request::builder()
                .method("POST")
                .uri(format!("/api/v1/services/{slug}/runs"))
                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                .header(header::CONTENT_TYPE, "application/json")
                // What Schemathesis sent when it found the failure on PostgreSQL.
                .body(Body::from(
                    r#"{"input": "\ud8f6\udd3fc\ud999\udc4d\ud83d\ude0d\u0000\u001f\u00f1\uda53\udcf5M\u00a6\udafa\udd97tg\ud8e2\ude09\u00d4\u00a8\u00d29b\u0004 nul\u0000word nul\u0000word"}"#,
                ))
                .unwrap();
            let response = app.router.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
            let run: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(status, StatusCode::CREATED, "{backend} {slug}: {run}");
            let id = run["id"].as_str().unwrap();
            let (status, _, stored) = api_get(&app, &format!("/api/v1/runs/{id}"), &key).await;
            assert_eq!(status, StatusCode::OK, "{backend} {slug}");
            assert_eq!(stored["status"], run["status"], "{backend} {slug}");
            assert!(
                !stored.to_string().contains("\\u0000"),
                "{backend} {slug}: {stored}"
            );
        }
    }
}
