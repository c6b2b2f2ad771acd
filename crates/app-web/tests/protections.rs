//! Protections docs/security.md lists that no other test proved: the session cookie's flags, the
//! security headers, CSRF refusals through the router (a cross-site Origin, a wrong token in a
//! header or an upload's query string), a new session id at a password change, another user's
//! session, the body limits, admin-only billing pages, a deactivated user's API keys, and email
//! links that ignore a forged Host.

mod support;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use support::{Browser, Page, TestApp};
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery staple";

fn set_cookie(page: &Page) -> String {
    page.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("qs_session="))
        .unwrap_or_else(|| panic!("no session cookie in {:?}", page.headers))
}

#[tokio::test]
async fn the_session_cookie_is_http_only_same_site_and_secure_over_https() {
    let plain = TestApp::new().await;
    let mut ada = plain.browser();
    ada.get("/register").await;
    let registered = ada
        .post(
            "/register",
            &[
                ("email", "ada@example.com"),
                ("display_name", ""),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
        )
        .await;
    let cookie = set_cookie(&registered);
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");

    let tls = TestApp::with(&[("BASE_URL", "https://app.example.test")]).await;
    let mut bob = tls.browser();
    bob.get("/register").await;
    let registered = bob
        .post(
            "/register",
            &[
                ("email", "bob@example.com"),
                ("display_name", ""),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
        )
        .await;
    let cookie = set_cookie(&registered);
    assert!(cookie.contains("Secure"), "behind https: {cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_hsts_only_behind_https() {
    let plain = TestApp::new().await;
    let mut visitor = plain.browser();
    for path in ["/", "/login", "/no-such-page"] {
        let page = visitor.get(path).await;
        let header_of = |name: &str| {
            page.headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_else(|| panic!("{path}: no {name}"))
        };
        let policy = header_of("content-security-policy");
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "object-src 'none'",
            "form-action 'self'",
        ] {
            assert!(policy.contains(directive), "{path}: {policy}");
        }
        assert!(!policy.contains("unsafe-inline"), "{path}: {policy}");
        assert_eq!(header_of("x-frame-options"), "DENY", "{path}");
        assert_eq!(header_of("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header_of("referrer-policy"), "same-origin", "{path}");
        assert_eq!(header_of("cross-origin-opener-policy"), "same-origin");
        assert!(header_of("permissions-policy").contains("camera=()"));
        assert!(
            page.headers.get("strict-transport-security").is_none(),
            "{path}: no HSTS over plain http"
        );
    }
    let tls = TestApp::with(&[("BASE_URL", "https://app.example.test")]).await;
    let page = tls.browser().get("/").await;
    assert_eq!(
        page.headers["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
}

/// A signed-in browser on the settings page (its CSRF token read from it).
async fn signed_in(app: &TestApp, email: &str) -> Browser {
    let mut browser = app.browser();
    browser.register(email, PASSWORD).await;
    browser.get("/settings").await;
    browser
}

async fn send(app: &TestApp, request: Request<Body>) -> (StatusCode, String) {
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = to_bytes(response.into_body(), 30 << 20).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn profile_post(
    browser: &Browser,
    origin: Option<&str>,
    header_token: Option<&str>,
) -> Request<Body> {
    let token = browser.csrf.clone().unwrap();
    let mut request = Request::builder()
        .method("POST")
        .uri("/settings/profile")
        .header(header::HOST, "localhost")
        .header(header::COOKIE, browser.cookie.clone().unwrap())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    let body = match header_token {
        Some(token) => {
            request = request.header("x-csrf-token", token);
            "display_name=Mallory".to_owned()
        }
        None => format!("display_name=Mallory&csrf_token={token}"),
    };
    request.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn csrf_refuses_a_cross_site_origin_and_a_wrong_token_in_a_header_or_an_upload_query() {
    let app = TestApp::new().await;
    let ada = signed_in(&app, "ada@example.com").await;
    let token = ada.csrf.clone().unwrap();

    // The right token, but posted from another site.
    for origin in [
        "https://evil.example",
        "null",
        "http://localhost.evil.example",
    ] {
        let (status, body) = send(&app, profile_post(&ada, Some(origin), None)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "Origin {origin}: {body}");
    }
    // A wrong token in the header HTMX uses is refused even with the right one in the form.
    let (status, _) = send(&app, profile_post(&ada, None, Some("not-the-token"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The same requests with this site's Origin and the right token pass.
    let (status, _) = send(&app, profile_post(&ada, Some("http://localhost"), None)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = send(&app, profile_post(&ada, None, Some(&token))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.user("ada@example.com").await.display_name.as_str(),
        "Mallory",
        "the accepted posts took effect"
    );

    // An upload with a wrong token in its query string.
    let boundary = "b0undary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"input\"; filename=\"a.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n"
    );
    let request = Request::builder()
        .method("POST")
        .uri("/services/text_sentiment_analysis?csrf_token=wrong")
        .header(header::HOST, "localhost")
        .header(header::COOKIE, ada.cookie.clone().unwrap())
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    let (status, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_password_change_gives_this_device_a_new_session_and_ends_the_old_one() {
    let app = TestApp::new().await;
    let mut ada = signed_in(&app, "ada@example.com").await;
    let before = ada.cookie.clone().unwrap();
    let changed = ada
        .post(
            "/settings/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new long password"),
                ("new_password_confirmation", "a brand new long password"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    let after = ada.cookie.clone().unwrap();
    assert_ne!(before, after, "the session id changed");
    assert_eq!(ada.get("/dashboard").await.status, StatusCode::OK);
    let mut old = app.browser();
    old.cookie = Some(before);
    let page = old.get("/dashboard").await;
    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "the old id signs nobody in"
    );
    assert!(page.location().starts_with("/login"));
}

#[tokio::test]
async fn nobody_can_end_another_users_session() {
    let app = TestApp::new().await;
    let mut bob = signed_in(&app, "bob@example.com").await;
    let sessions = bob.get("/settings/sessions").await;
    let bobs = sessions.input_value("fingerprint").expect("bob's session");
    let mut ada = signed_in(&app, "ada@example.com").await;
    ada.get("/settings/sessions").await;
    let answer = ada
        .post("/settings/sessions", &[("fingerprint", &bobs)])
        .await;
    assert!(answer.status.is_success() || answer.status.is_redirection());
    assert_eq!(
        bob.get("/dashboard").await.status,
        StatusCode::OK,
        "bob is still signed in"
    );
}

#[tokio::test]
async fn forms_over_two_mebibytes_and_bodies_over_twenty_five_are_refused() {
    let app = TestApp::new().await;
    let ada = signed_in(&app, "ada@example.com").await;
    let token = ada.csrf.clone().unwrap();
    let form = format!(
        "csrf_token={token}&display_name={}",
        "a".repeat(2 * 1024 * 1024 + 1)
    );
    let request = Request::builder()
        .method("POST")
        .uri("/settings/profile")
        .header(header::HOST, "localhost")
        .header(header::COOKIE, ada.cookie.clone().unwrap())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    let (status, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("The form is too large: shorten what you entered and send it again."));
    assert_ne!(
        app.user("ada@example.com").await.display_name.as_str(),
        "a",
        "nothing was stored"
    );

    let boundary = "b0undary";
    let mut upload = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"input\"; filename=\"big.txt\"\r\n\
         Content-Type: text/plain\r\n\r\n"
    )
    .into_bytes();
    upload.extend(std::iter::repeat_n(b'a', 26 * 1024 * 1024));
    upload.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let request = Request::builder()
        .method("POST")
        .uri(format!(
            "/services/text_sentiment_analysis?csrf_token={token}"
        ))
        .header(header::HOST, "localhost")
        .header(header::COOKIE, ada.cookie.clone().unwrap())
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(upload))
        .unwrap();
    let (status, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("The file is too large: uploads are limited to 25 MiB."),
        "{body}"
    );
    let balance = support::balance(&app.state, "ada@example.com").await;
    assert_eq!(
        balance,
        quickscale_domain_credits::Credits::whole(100),
        "nothing was charged"
    );
}

#[tokio::test]
async fn the_billing_admin_pages_are_for_admins_only() {
    let app = TestApp::with_app(
        quickscale_app_web::App::new("Test App").with_gateway(
            std::sync::Arc::new(quickscale_adapters::testing::gateway::ScriptedGateway::default()),
            "whsec_test_in_process",
        ),
        &[("ENABLE_STRIPE", "true"), ("ENABLE_SUBSCRIPTIONS", "true")],
    )
    .await;
    let mut user = signed_in(&app, "user@example.com").await;
    let mut visitor = app.browser();
    visitor.get("/").await;
    let id = uuid::Uuid::new_v4();
    for path in [
        "/admin/plans",
        "/admin/packs",
        "/admin/payments",
        "/admin/webhooks",
    ] {
        assert_eq!(user.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
        let page = visitor.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert!(page.location().starts_with("/login"), "{path}");
    }
    for path in [
        "/admin/plans/sync".to_owned(),
        format!("/admin/plans/{id}"),
        format!("/admin/payments/reviews/{id}/resolve"),
        format!("/admin/payments/{id}/refund"),
        "/admin/packs/sync".to_owned(),
    ] {
        let page = user.post(&path, &[]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}: {}", page.body);
    }
}

#[tokio::test]
async fn a_deactivated_users_api_keys_stop_working() {
    let app = TestApp::with(&[("ENABLE_API", "true")]).await;
    let mut ada = signed_in(&app, "ada@example.com").await;
    ada.get("/settings/api-keys").await;
    let form_token = ada
        .get("/settings/api-keys")
        .await
        .input_value("form_token")
        .unwrap();
    let made = ada
        .post(
            "/settings/api-keys",
            &[
                ("name", "Script"),
                ("current_password", PASSWORD),
                ("form_token", &form_token),
            ],
        )
        .await;
    let key = made.input_value("new_key").expect("a key");
    let me = |key: String| {
        Request::builder()
            .uri("/api/v1/me")
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(&app, me(key.clone())).await.0, StatusCode::OK);

    let mut admin = app.browser();
    admin.login("admin@example.com", "admin-password-1").await;
    let ada_id = app.user("ada@example.com").await.id;
    admin.get(&format!("/admin/users/{ada_id}")).await;
    let changed = admin
        .post(
            &format!("/admin/users/{ada_id}/active"),
            &[("active", "false")],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    assert!(!app.user("ada@example.com").await.is_active);
    let (status, body) = send(&app, me(key)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

#[tokio::test]
async fn email_links_use_base_url_whatever_host_the_request_names() {
    let app = TestApp::with(&[("BASE_URL", "https://app.example.test")]).await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let mut stranger = app.browser();
    stranger.get("/password/forgot").await;
    let request = Request::builder()
        .method("POST")
        .uri("/password/forgot")
        .header(header::HOST, "evil.example")
        .header("x-forwarded-host", "evil.example")
        // A visitor: no session, only the CSRF cookie.
        .header(header::COOKIE, stranger.csrf_cookie.clone().unwrap())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "email=ada%40example.com&csrf_token={}",
            stranger.csrf.clone().unwrap()
        )))
        .unwrap();
    let (status, body) = send(&app, request).await;
    assert!(status.is_success() || status.is_redirection(), "{body}");
    // The reset email goes out just after the answer.
    let mut text = None;
    for _ in 0..300 {
        text = app
            .mailer
            .sent()
            .iter()
            .find(|m| m.to == "ada@example.com" && m.text.contains("/password/reset?token="))
            .map(|m| m.text.clone());
        if text.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let text = text.expect("a reset email");
    let at = text.find("/password/reset?token=").unwrap();
    assert!(
        text[..at].ends_with("https://app.example.test"),
        "the link is on BASE_URL: {text}"
    );
    assert!(!text.contains("evil.example"), "{text}");
}
