//! Bad input is refused with a clear message and changes nothing.

mod support;

use axum::http::StatusCode;
use quickscale_domain_credits::AccountId;
use support::TestApp;

const PASSWORD: &str = "a long enough password";

#[tokio::test]
async fn registration_refuses_bad_input_and_keeps_what_was_typed() {
    let app = TestApp::new().await;
    let mut visitor = app.browser();
    visitor.get("/register").await;
    let cases: [(&str, &str, &str, &str); 4] = [
        ("not-an-email", PASSWORD, PASSWORD, "needs exactly one @"),
        ("ada@example.com", "short", "short", "at least 8 characters"),
        (
            "ada@example.com",
            "password123",
            "password123",
            "most common",
        ),
        (
            "ada@example.com",
            PASSWORD,
            "something else",
            "do not match",
        ),
    ];
    for (email, password, confirmation, message) in cases {
        let page = visitor
            .post(
                "/register",
                &[
                    ("email", email),
                    ("display_name", "Ada"),
                    ("password", password),
                    ("password_confirmation", confirmation),
                ],
            )
            .await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{email}/{password}"
        );
        assert!(
            page.contains(message),
            "expected {message:?} in {}",
            page.body
        );
        assert_eq!(
            page.input_value("email").as_deref(),
            Some(email),
            "the email is kept"
        );
        assert!(
            !page.contains(password) || password == "short",
            "passwords are never echoed"
        );
    }
    assert_eq!(
        app.state.users().counts().await.unwrap().total,
        1,
        "only the seeded admin exists"
    );
}

#[tokio::test]
async fn a_duplicate_email_is_refused_like_any_other_bad_email() {
    let app = TestApp::new().await;
    app.browser().register("ada@example.com", PASSWORD).await;
    let mut other = app.browser();
    other.get("/register").await;
    let page = other
        .post(
            "/register",
            &[
                ("email", "ADA@example.com"),
                ("display_name", ""),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("class=\"help is-danger\""));
    assert_eq!(app.state.users().counts().await.unwrap().total, 2);
}

#[tokio::test]
async fn service_input_that_is_empty_or_too_large_charges_nothing() {
    let app = TestApp::new().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let key = ada
        .get("/services/text_sentiment_analysis")
        .await
        .input_value("run_key")
        .unwrap();
    let empty = ada
        .post(
            "/services/text_sentiment_analysis",
            &[("input", "   "), ("run_key", &key)],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.contains("The input is empty."), "{}", empty.body);
    let big = "word ".repeat(30_000);
    let large = ada
        .post(
            "/services/text_sentiment_analysis",
            &[("input", &big), ("run_key", &key)],
        )
        .await;
    assert_eq!(large.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        large.contains("accepts at most"),
        "{}",
        &large.body[..200.min(large.body.len())]
    );
    assert_eq!(
        ada.get("/dashboard").await.balance().as_deref(),
        Some("100 credits available")
    );
}

#[tokio::test]
async fn an_admin_cannot_remove_more_than_the_balance() {
    let app = TestApp::new().await;
    app.browser().register("ada@example.com", PASSWORD).await;
    let ada_id = app.user("ada@example.com").await.id;
    let mut admin = app.browser();
    admin.login("admin@example.com", "admin-password-1").await;
    let key = admin
        .get(&format!("/admin/users/{ada_id}"))
        .await
        .input_value("key")
        .unwrap();
    let page = admin
        .post(
            &format!("/admin/users/{ada_id}/credits"),
            &[
                ("action", "remove"),
                ("amount", "150"),
                ("reason", "Too much"),
                ("key", &key),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("Only 100 credits can be removed; nothing was changed."),
        "{}",
        page.body
    );
    assert_eq!(page.input_value("reason").as_deref(), Some("Too much"));
    let key = page.input_value("key").unwrap();
    let no_reason = admin
        .post(
            &format!("/admin/users/{ada_id}/credits"),
            &[
                ("action", "add"),
                ("amount", "5"),
                ("reason", " "),
                ("key", &key),
            ],
        )
        .await;
    assert!(
        no_reason.contains("A reason is required."),
        "{}",
        no_reason.body
    );
    let balance = app
        .state
        .credits()
        .balance(AccountId::new(ada_id.as_uuid()), app.state.clock().now())
        .await
        .unwrap();
    assert_eq!(balance.total.to_string(), "100");
}

#[tokio::test]
async fn non_admins_get_403_on_every_admin_route_and_visitors_go_to_sign_in() {
    // Billing on, so its admin routes exist too.
    let app = TestApp::with(&[("ENABLE_STRIPE", "true")]).await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let ada_id = app.user("ada@example.com").await.id;
    let any = "0190a0b0-0000-7000-8000-000000000001";
    let user = |tail: &str| format!("/admin/users/{ada_id}{tail}");
    // Every admin route of the router, and a path no route serves.
    let routes: Vec<(&str, String)> = vec![
        ("GET", "/admin".into()),
        ("GET", "/admin/users".into()),
        ("GET", user("")),
        ("POST", user("/credits")),
        ("POST", user("/role")),
        ("POST", user("/active")),
        ("POST", user("/unlock")),
        ("POST", user("/verification")),
        ("GET", "/admin/audit".into()),
        ("GET", "/admin/emails".into()),
        ("GET", "/admin/services".into()),
        ("POST", "/admin/services/text_sentiment_analysis".into()),
        ("GET", "/admin/packs".into()),
        ("POST", "/admin/packs".into()),
        ("POST", "/admin/packs/sync".into()),
        ("POST", "/admin/packs/1".into()),
        ("GET", "/admin/payments".into()),
        ("GET", format!("/admin/payments/{any}")),
        ("POST", format!("/admin/payments/{any}/refund")),
        ("GET", "/admin/webhooks".into()),
        ("POST", "/admin/webhooks/evt_1/replay".into()),
        ("GET", "/admin/no-such-page".into()),
    ];
    let fields = [
        ("action", "add"),
        ("amount", "1000"),
        ("reason", "me"),
        ("role", "admin"),
        ("active", "true"),
        ("credits", "1000"),
    ];
    let mut visitor = app.browser();
    visitor.get("/login").await;
    for (method, path) in &routes {
        let (as_user, as_visitor) = if *method == "GET" {
            (ada.get(path).await, visitor.get(path).await)
        } else {
            (
                ada.post(path, &fields).await,
                visitor.post(path, &fields).await,
            )
        };
        assert_eq!(as_user.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(as_visitor.status, StatusCode::SEE_OTHER, "{method} {path}");
        assert!(
            as_visitor.location().starts_with("/login?next="),
            "{method} {path}"
        );
    }
    // Nothing changed: still a user, still 100 credits.
    let ada_now = app.state.users().by_id(ada_id).await.unwrap().unwrap();
    assert!(!ada_now.is_admin());
    assert_eq!(
        ada.get("/dashboard").await.balance().as_deref(),
        Some("100 credits available")
    );
    let forbidden_page = ada.get("/admin").await;
    assert!(
        forbidden_page.contains("Not allowed"),
        "an HTML error page: {}",
        forbidden_page.body
    );
}

#[tokio::test]
async fn posts_without_a_valid_csrf_token_are_refused() {
    let app = TestApp::new().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let key = ada
        .get("/services/text_sentiment_analysis")
        .await
        .input_value("run_key")
        .unwrap();
    let missing = ada
        .post_raw(
            "/services/text_sentiment_analysis",
            &[("input", "Great"), ("run_key", &key)],
            false,
        )
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.contains("This form has expired"));
    let wrong = ada
        .post_raw(
            "/services/text_sentiment_analysis",
            &[
                ("input", "Great"),
                ("run_key", &key),
                ("csrf_token", "forged"),
            ],
            false,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(
        ada.get("/dashboard").await.balance().as_deref(),
        Some("100 credits available")
    );
    let mut stranger = app.browser();
    let login = stranger
        .post_raw(
            "/login",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
            false,
        )
        .await;
    assert_eq!(login.status, StatusCode::FORBIDDEN, "no session, no token");
}

#[tokio::test]
async fn sign_in_rotates_the_session_and_sign_out_ends_it() {
    let app = TestApp::new().await;
    app.browser().register("ada@example.com", PASSWORD).await;
    let mut ada = app.browser();
    // A visitor's pages keep no session; a flash message does (the contact form's thanks).
    ada.get("/contact").await;
    ada.post(
        "/contact",
        &[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("subject", "Hello"),
            ("message", "Before signing in."),
        ],
    )
    .await;
    ada.get("/login").await;
    let before = ada.cookie.clone().expect("a session before signing in");
    let page = ada
        .post(
            "/login",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", "/services"),
            ],
        )
        .await;
    assert_eq!(page.location(), "/services");
    assert_ne!(
        ada.cookie.clone().unwrap(),
        before,
        "a new session id after sign-in"
    );
    let old_session = before.clone();
    let mut attacker = app.browser();
    attacker.cookie = Some(old_session);
    assert_eq!(
        attacker.get("/dashboard").await.status,
        StatusCode::SEE_OTHER,
        "the pre-login id is worthless"
    );
    ada.get("/dashboard").await;
    let signed_in_cookie = ada.cookie.clone().unwrap();
    ada.post("/logout", &[]).await;
    let mut replay = app.browser();
    replay.cookie = Some(signed_in_cookie);
    assert_eq!(
        replay.get("/dashboard").await.status,
        StatusCode::SEE_OTHER,
        "sign-out ends the session server-side"
    );
}

#[tokio::test]
async fn wrong_passwords_get_one_message_and_lock_the_account() {
    let app = TestApp::new().await;
    app.browser().register("ada@example.com", PASSWORD).await;
    let mut visitor = app.browser();
    let unknown = visitor.login("nobody@example.com", PASSWORD).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut messages = vec![];
    for _ in 0..5 {
        let page = visitor.login("ada@example.com", "wrong password!").await;
        messages.push(page.body.contains("The email or password is incorrect"));
    }
    assert!(messages.iter().all(|m| *m));
    let locked = visitor.login("ada@example.com", PASSWORD).await;
    assert_eq!(
        locked.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "locked after 5 failures"
    );
    assert!(locked.contains("The email or password is incorrect"));
}

#[tokio::test]
async fn unknown_pages_get_a_404_page_and_headers_are_set() {
    let app = TestApp::new().await;
    let mut visitor = app.browser();
    let page = visitor.get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.contains("Page not found"));
    let home = visitor.get("/").await;
    let csp = home
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'"));
    assert_eq!(home.headers.get("x-frame-options").unwrap(), "DENY");
    assert_eq!(
        home.headers.get("x-content-type-options").unwrap(),
        "nosniff"
    );
    assert!(home.headers.get("x-request-id").is_some());
    assert!(visitor.get("/services/no_such_service").await.status == StatusCode::NOT_FOUND);
    visitor.register("ada@example.com", PASSWORD).await;
    let signed_in = visitor.get("/no/such/page").await;
    assert_eq!(signed_in.status, StatusCode::NOT_FOUND);
    assert!(
        signed_in.contains("Sign out"),
        "error pages keep the signed-in navigation"
    );
}

#[tokio::test]
async fn the_contact_form_stores_and_mails_the_message() {
    let app = TestApp::new().await;
    let mut visitor = app.browser();
    visitor.get("/contact").await;
    let bad = visitor
        .post(
            "/contact",
            &[("name", ""), ("email", "x"), ("message", "short")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("Enter your name (at most 100 characters)."));
    let ok = visitor
        .post(
            "/contact",
            &[
                ("name", "Ada"),
                ("email", "ada@example.com"),
                ("subject", "Hi"),
                ("message", "Could you add a French lexicon?"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert!(
        visitor
            .get("/contact")
            .await
            .contains("Thanks for your message")
    );
    let stored = app.state.stores().contact.recent(5).await.unwrap();
    assert_eq!(stored.len(), 1);
    let sent: Vec<_> = app
        .mail(1)
        .await
        .into_iter()
        .filter(|m| m.to == "admin@example.com")
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "admin@example.com");
    assert_eq!(sent[0].reply_to.as_deref(), Some("ada@example.com"));
}

#[tokio::test]
async fn health_reports_the_database() {
    let app = TestApp::new().await;
    let page = app.browser().get("/health").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("\"database\":\"ok\""));
}

#[tokio::test]
async fn requests_that_send_email_share_one_budget_per_client() {
    let app = TestApp::with(&[("TRUST_PROXY", "true")]).await;
    let mut bot = app.browser();
    bot.forwarded_for = Some("203.0.113.9".into());
    bot.get("/password/forgot").await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        let email = format!("someone{i}@example.com");
        statuses.push(
            bot.post("/password/forgot", &[("email", email.as_str())])
                .await
                .status,
        );
    }
    assert!(
        statuses.iter().all(|s| *s != StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // The sixth, here through the contact form, is over the budget.
    bot.get("/contact").await;
    let page = bot
        .post(
            "/contact",
            &[
                ("name", "Bot"),
                ("email", "bot@example.com"),
                ("message", "Hello there, this is long enough."),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
    assert!(page.headers.contains_key("retry-after"));
    // Another client is not affected.
    let mut visitor = app.browser();
    visitor.forwarded_for = Some("198.51.100.7".into());
    visitor.get("/password/forgot").await;
    let page = visitor
        .post("/password/forgot", &[("email", "ada@example.com")])
        .await;
    assert_ne!(page.status, StatusCode::TOO_MANY_REQUESTS);
}

/// Signs in (wrongly) over a real socket from `source`, a loopback address of its own; returns
/// the status.
async fn failed_sign_in_from(base: &str, source: [u8; 4]) -> StatusCode {
    let client = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(source))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = client.get(format!("{base}/login")).send().await.unwrap();
    let cookie = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ");
    let body = form.text().await.unwrap();
    let token = body
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let answer = client
        .post(format!("{base}/login"))
        .header("cookie", cookie)
        .form(&[
            ("email", "x@example.com"),
            ("password", "whatever12"),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    StatusCode::from_u16(answer.status().as_u16()).unwrap()
}

/// Over a real socket, as `serve` runs the app: each client address has its own budget.
#[tokio::test]
async fn rate_limits_tell_clients_apart_by_their_address() {
    let app = TestApp::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = app.unlayered_router();
    tokio::spawn(quickscale_app_web::serve_router(
        listener,
        router,
        std::future::pending(),
    ));
    let mut first = Vec::new();
    for _ in 0..11 {
        first.push(failed_sign_in_from(&base, [127, 0, 0, 2]).await);
    }
    assert_eq!(first[10], StatusCode::TOO_MANY_REQUESTS, "{first:?}");
    assert_ne!(
        failed_sign_in_from(&base, [127, 0, 0, 3]).await,
        StatusCode::TOO_MANY_REQUESTS,
        "another client is not limited"
    );
}

#[tokio::test]
async fn the_dev_outbox_is_not_served_through_a_proxy() {
    let app = TestApp::new().await;
    let mut local = app.browser();
    assert_eq!(local.get("/dev/outbox").await.status, StatusCode::OK);
    let mut proxied = app.browser();
    proxied.forwarded_for = Some("198.51.100.7".into());
    assert_eq!(
        proxied.get("/dev/outbox").await.status,
        StatusCode::NOT_FOUND
    );
}
