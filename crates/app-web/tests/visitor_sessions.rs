//! A visitor's pages store nothing: no session row until there is something to keep (a sign-in,
//! a flash message). Their forms are protected by a signed double-submit token (a random value
//! in the `qs_csrf` cookie, the page's token its HMAC under `SECRET_KEY`), which the visitor can
//! post the contact form, register and sign in with, and which nobody can forge.

mod support;

use axum::http::{StatusCode, header};
use hmac::{KeyInit, Mac};
use support::{Browser, SECRET, TestApp};

const PASSWORD: &str = "correct horse battery staple";

/// Every page a visitor reaches (the billing pages send them to sign in).
const VISITOR_PAGES: &[&str] = &[
    "/",
    "/services",
    "/about",
    "/contact",
    "/login",
    "/register",
    "/password/forgot",
    "/billing",
    "/billing/plans",
    "/no-such-page",
];

enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Db {
    async fn sessions(&self) -> i64 {
        let sql = "SELECT COUNT(*) FROM sessions";
        match self {
            Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
            Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        }
    }
}

/// The app on SQLite, and on PostgreSQL when there is one, with every visitor page on.
async fn apps() -> Vec<(&'static str, TestApp, Db, tempfile::TempDir)> {
    let data = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", data.path().join("app.db").display());
    let mut urls = vec![("sqlite", sqlite)];
    if let Some(url) = quickscale_adapters::testing::postgres::test_database_url().await {
        urls.push(("postgres", url));
    }
    let mut apps = Vec::new();
    for (backend, url) in urls {
        let app = TestApp::with(&[
            ("DATABASE_URL", url.as_str()),
            ("ENABLE_STRIPE", "true"),
            ("ENABLE_SUBSCRIPTIONS", "true"),
        ])
        .await;
        let db = match backend {
            "sqlite" => Db::Sqlite(sqlx::SqlitePool::connect(&url).await.unwrap()),
            _ => Db::Postgres(sqlx::PgPool::connect(&url).await.unwrap()),
        };
        apps.push((backend, app, db, tempfile::tempdir().unwrap()));
    }
    // The SQLite file lives as long as the first app.
    apps[0].3 = data;
    apps
}

fn cookie_named(page: &support::Page, name: &str) -> Option<String> {
    page.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(&format!("{name}=")))
}

#[tokio::test]
async fn a_thousand_anonymous_page_views_store_no_session() {
    for (backend, app, db, _data) in apps().await {
        let before = db.sessions().await;
        for view in 0..1000 {
            // A new visitor each time (a crawler keeps no cookies), then one who does.
            let path = VISITOR_PAGES[view % VISITOR_PAGES.len()];
            let page = app.browser().get(path).await;
            assert!(
                matches!(
                    page.status,
                    StatusCode::OK | StatusCode::SEE_OTHER | StatusCode::NOT_FOUND
                ),
                "{backend} {path}: {}",
                page.status
            );
            assert_eq!(
                cookie_named(&page, "qs_session"),
                None,
                "{backend} {path}: a visitor's page sets no session cookie"
            );
        }
        let mut returning = app.browser();
        for path in VISITOR_PAGES {
            returning.get(path).await;
        }
        assert_eq!(returning.cookie, None, "{backend}");
        assert!(returning.csrf_cookie.is_some(), "{backend}: a CSRF cookie");
        assert_eq!(db.sessions().await, before, "{backend}: no session row");
    }
}

#[tokio::test]
async fn the_visitor_csrf_cookie_is_http_only_same_site_and_secure_over_https() {
    let plain = TestApp::new().await;
    let page = plain.browser().get("/login").await;
    let cookie = cookie_named(&page, "qs_csrf").expect("a CSRF cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let tls = TestApp::with(&[("BASE_URL", "https://app.example.test")]).await;
    let page = tls.browser().get("/login").await;
    let cookie = cookie_named(&page, "qs_csrf").expect("a CSRF cookie");
    assert!(cookie.contains("Secure"), "behind https: {cookie}");
    // A visitor who has the cookie is not sent it again.
    let mut visitor = plain.browser();
    visitor.get("/").await;
    let again = visitor.get("/contact").await;
    assert_eq!(cookie_named(&again, "qs_csrf"), None);
}

#[tokio::test]
async fn a_visitor_posts_the_contact_form_registers_and_signs_in_with_the_page_token() {
    for (backend, app, db, _data) in apps().await {
        let before = db.sessions().await;
        let mut visitor = app.browser();
        visitor.get("/contact").await;
        let sent = visitor
            .post(
                "/contact",
                &[
                    ("name", "Ada"),
                    ("email", "ada@example.com"),
                    ("subject", "Hello"),
                    ("message", "A question about credits."),
                ],
            )
            .await;
        assert_eq!(
            sent.status,
            StatusCode::SEE_OTHER,
            "{backend}: {}",
            sent.body
        );
        // The flash message is something to keep: now there is a session.
        let thanks = visitor.get("/contact").await;
        assert!(thanks.contains("Thanks for your message"), "{backend}");
        assert_eq!(db.sessions().await, before + 1, "{backend}");

        let mut newcomer = app.browser();
        let dashboard = newcomer.register("grace@example.com", PASSWORD).await;
        assert_eq!(dashboard.status, StatusCode::OK, "{backend}");
        newcomer.post("/logout", &[]).await;

        let mut returning = app.browser();
        let signed_in = returning.login("grace@example.com", PASSWORD).await;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{backend}");
        assert_eq!(signed_in.location(), "/dashboard", "{backend}");
        let dashboard = returning.get("/dashboard").await;
        assert_eq!(dashboard.status, StatusCode::OK, "{backend}");

        let mut forgetful = app.browser();
        forgetful.get("/password/forgot").await;
        let asked = forgetful
            .post("/password/forgot", &[("email", "grace@example.com")])
            .await;
        assert!(
            asked.status.is_success() || asked.status.is_redirection(),
            "{backend}: {} {}",
            asked.status,
            asked.body
        );
        let link = app.link_to("grace@example.com", "/password/reset").await;
        let mut resetting = app.browser();
        let form = resetting.get(&link).await;
        assert_eq!(form.status, StatusCode::OK, "{backend}: {}", form.body);
        let token = form.input_value("token").unwrap_or_default();
        let reset = resetting
            .post(
                "/password/reset",
                &[
                    ("token", token.as_str()),
                    ("password", "another horse battery staple"),
                    ("password_confirmation", "another horse battery staple"),
                ],
            )
            .await;
        assert!(
            reset.status.is_redirection(),
            "{backend}: {} {}",
            reset.status,
            reset.body
        );
        let mut again = app.browser();
        let signed_in = again
            .login("grace@example.com", "another horse battery staple")
            .await;
        assert_eq!(signed_in.location(), "/dashboard", "{backend}");
    }
}

/// Posts the sign-in form with `token` and the browser's cookies.
async fn sign_in_with(browser: &mut Browser, token: &str) -> StatusCode {
    browser
        .post_raw(
            "/login",
            &[
                ("email", "nobody@example.com"),
                ("password", PASSWORD),
                ("csrf_token", token),
            ],
            false,
        )
        .await
        .status
}

fn hmac_hex(key: &[u8], value: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(b"qs-csrf:");
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn a_forged_visitor_token_is_refused() {
    let app = TestApp::new().await;
    let mut visitor = app.browser();
    visitor.get("/login").await;
    let cookie = visitor.csrf_cookie.clone().expect("a CSRF cookie");
    let value = cookie.trim_start_matches("qs_csrf=").to_owned();
    let genuine = visitor.csrf.clone().expect("a token on the page");
    assert_eq!(genuine, hmac_hex(SECRET.as_bytes(), &value), "the scheme");

    let refused = |status: StatusCode| status == StatusCode::FORBIDDEN;
    // The HMAC under another key.
    let other_key = hmac_hex(b"another-secret-key-another-secret-key-0123", &value);
    assert!(refused(sign_in_with(&mut visitor, &other_key).await));
    // The cookie's value itself.
    assert!(refused(sign_in_with(&mut visitor, &value).await));
    // No token, an empty one.
    assert!(refused(sign_in_with(&mut visitor, "").await));
    // Another visitor's token, with this visitor's cookie.
    let mut other = app.browser();
    other.get("/login").await;
    let theirs = other.csrf.clone().unwrap();
    assert_ne!(theirs, genuine);
    assert!(refused(sign_in_with(&mut visitor, &theirs).await));
    // A genuine token without its cookie.
    let mut cookieless = app.browser();
    assert!(refused(sign_in_with(&mut cookieless, &genuine).await));
    // A cookie of our own making with its right token is fine only with the key: the
    // genuine pair passes the CSRF check (and the sign-in fails on the password).
    let status = sign_in_with(&mut visitor, &genuine).await;
    assert!(!refused(status), "{status}");
    let refusal = sign_in_with(&mut visitor, &other_key).await;
    assert_eq!(refusal, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_cross_site_origin_is_refused_even_with_the_visitor_token() {
    let app = TestApp::new().await;
    let mut visitor = app.browser();
    visitor.get("/login").await;
    let token = visitor.csrf.clone().unwrap();
    let body = serde_urlencoded::to_string([
        ("email", "nobody@example.com"),
        ("password", PASSWORD),
        ("csrf_token", token.as_str()),
    ])
    .unwrap();
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/login")
        .header(header::HOST, "localhost")
        .header(header::ORIGIN, "https://evil.example")
        .header(header::COOKIE, visitor.csrf_cookie.clone().unwrap())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(body))
        .unwrap();
    use tower::ServiceExt;
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

/// A visitor's page is rendered once and kept for the next visitor with the same page, yet each
/// visitor's page carries their own token, and what the page shows (a price an admin just
/// changed) is current.
#[tokio::test]
async fn visitors_share_a_rendered_page_but_not_its_token_or_an_old_price() {
    let app = TestApp::new().await;
    let mut first = app.browser();
    let mut second = app.browser();
    let one = first.get("/contact").await;
    let other = second.get("/contact").await;
    let token = |page: &support::Page| page.input_value("csrf_token").unwrap();
    let (one_token, other_token) = (token(&one), token(&other));
    assert_ne!(one_token, other_token, "each visitor their own token");
    assert_eq!(
        one.body.replace(&one_token, "TOKEN"),
        other.body.replace(&other_token, "TOKEN"),
        "otherwise the same page"
    );
    let sent = second
        .post(
            "/contact",
            &[
                ("name", "Ada"),
                ("email", "ada@example.com"),
                ("subject", "Hello"),
                ("message", "A question about credits."),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);

    let card = |page: &support::Page| page.contains("7 credits");
    assert!(!card(&app.browser().get("/services").await));
    assert!(!card(&app.browser().get("/").await));
    let mut admin = app.browser();
    admin.login("admin@example.com", "admin-password-1").await;
    admin.get("/admin/services").await;
    let saved = admin
        .post(
            "/admin/services/text_sentiment_analysis",
            &[
                ("cost_override", "7"),
                ("display_order", "1"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert!(card(&app.browser().get("/services").await), "the new price");
    assert!(card(&app.browser().get("/").await), "the new price");
}
