//! Accounts complete: verification, password reset, email change, profile, sessions, deletion,
//! admin user management with the audit log, rate limits and the email outbox.

mod support;

use std::sync::Arc;

use axum::http::StatusCode;
use quickscale_app_web::App;
use quickscale_domain_credits::AccountId;
use quickscale_domain_identity::FixedClock;
use support::TestApp;
use time::Duration;

const PASSWORD: &str = "a long enough password";
const NEW_PASSWORD: &str = "another long password";

async fn app_with_clock(extra: &[(&str, &str)]) -> (TestApp, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::at(time::OffsetDateTime::now_utc()));
    (
        TestApp::with_app(App::new("Test App").with_clock(clock.clone()), extra).await,
        clock,
    )
}

#[tokio::test]
async fn the_welcome_email_verifies_the_address_once() {
    let app = TestApp::new().await;
    let mut ada = app.browser();
    let dashboard = ada.register("ada@example.com", PASSWORD).await;
    assert!(dashboard.contains("data-testid=\"verify-banner\""));
    let link = app.link_to("ada@example.com", "/verify?token=").await;
    let mail = app.mail(1).await;
    assert!(mail[0].subject.starts_with("Welcome to"));
    assert!(
        mail[0]
            .html
            .as_deref()
            .unwrap()
            .contains("Confirm my email address")
    );
    let followed = ada.get(&link).await;
    assert_eq!(followed.location(), "/dashboard");
    assert!(!ada.get("/dashboard").await.contains("verify-banner"));
    let again = ada.get(&link).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.contains("This link does not work"));
}

#[tokio::test]
async fn unverified_accounts_cannot_run_paid_services_when_verification_is_required() {
    // Signed in at registration, unconfirmed: the registration that says when an email is taken.
    let app = TestApp::with(&[
        ("REQUIRE_EMAIL_VERIFICATION", "true"),
        ("REGISTRATION_REVEALS_EXISTING_EMAILS", "true"),
    ])
    .await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let key = ada
        .get("/services/text_sentiment_analysis")
        .await
        .input_value("run_key")
        .unwrap();
    let refused = ada
        .post(
            "/services/text_sentiment_analysis",
            &[("input", "Great"), ("run_key", &key)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.contains("Confirm your email address to run paid services"));
    let key = ada
        .get("/services/demo_free_service")
        .await
        .input_value("run_key")
        .unwrap();
    let free = ada
        .post(
            "/services/demo_free_service",
            &[("input", "Free. Works."), ("run_key", &key)],
        )
        .await;
    assert!(
        free.contains("2 words in 2 sentences") || free.contains("words in"),
        "{}",
        free.body
    );
    ada.get(&app.link_to("ada@example.com", "/verify?token=").await)
        .await;
    let key = ada
        .get("/services/text_sentiment_analysis")
        .await
        .input_value("run_key")
        .unwrap();
    let ok = ada
        .post(
            "/services/text_sentiment_analysis",
            &[("input", "Great"), ("run_key", &key)],
        )
        .await;
    assert!(ok.contains("99</span> credits remaining"), "{}", ok.body);
}

#[tokio::test]
async fn verification_emails_are_rate_limited_per_account() {
    let app = TestApp::new().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    for _ in 0..2 {
        ada.get("/settings").await;
        ada.post("/verify/resend", &[]).await;
    }
    ada.get("/settings").await;
    ada.post("/verify/resend", &[]).await;
    let page = ada.get("/settings").await;
    assert!(
        page.contains("oo many emails were sent recently"),
        "{}",
        page.body
    );
    let verify_mails = app
        .mail(3)
        .await
        .into_iter()
        .filter(|m| m.to == "ada@example.com")
        .count();
    assert_eq!(verify_mails, 3, "the welcome email and two resends");
}

#[tokio::test]
async fn a_password_reset_answers_the_same_for_unknown_emails_and_ends_other_sessions() {
    let (app, clock) = app_with_clock(&[]).await;
    app.browser().register("ada@example.com", PASSWORD).await;
    let mut phone = app.browser();
    phone.login("ada@example.com", PASSWORD).await;
    assert_eq!(phone.get("/dashboard").await.status, StatusCode::OK);

    let mut visitor = app.browser();
    visitor.get("/password/forgot").await;
    let known = visitor
        .post("/password/forgot", &[("email", "ada@example.com")])
        .await;
    visitor.get("/password/forgot").await;
    let unknown = visitor
        .post("/password/forgot", &[("email", "nobody@example.com")])
        .await;
    assert_eq!(known.status, unknown.status);
    let strip = |body: &str, email: &str| {
        body.replace(email, "EMAIL")
            .split("csrf_token")
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        strip(&known.body, "ada@example.com"),
        strip(&unknown.body, "nobody@example.com"),
        "same page either way"
    );

    let link = app
        .link_to("ada@example.com", "/password/reset?token=")
        .await;
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let form = visitor.get(&link).await;
    assert_eq!(form.input_value("token").as_deref(), Some(token.as_str()));
    assert_eq!(
        form.input_value("username").as_deref(),
        Some("ada@example.com"),
        "the form names the account, for password managers"
    );
    let weak = visitor
        .post(
            "/password/reset",
            &[
                ("token", &token),
                ("password", "short"),
                ("password_confirmation", "short"),
            ],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        weak.input_value("username").as_deref(),
        Some("ada@example.com")
    );
    let done = visitor
        .post(
            "/password/reset",
            &[
                ("token", &token),
                ("password", NEW_PASSWORD),
                ("password_confirmation", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.location(), "/dashboard");
    assert_eq!(
        phone.get("/dashboard").await.status,
        StatusCode::SEE_OTHER,
        "the other session ended"
    );
    assert_eq!(
        visitor.get(&link).await.input_value("username"),
        None,
        "a used link names no account"
    );
    let reused = visitor
        .post(
            "/password/reset",
            &[
                ("token", &token),
                ("password", NEW_PASSWORD),
                ("password_confirmation", NEW_PASSWORD),
            ],
        )
        .await;
    assert!(
        reused.contains("this link is invalid") || reused.contains("This link is invalid"),
        "{}",
        reused.body
    );
    let mut fresh = app.browser();
    assert_eq!(
        fresh.login("ada@example.com", NEW_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    app.mail_matching(|m| m.subject == "Your password was changed")
        .await;

    // An expired link is refused.
    let mut other = app.browser();
    other.get("/password/forgot").await;
    other
        .post("/password/forgot", &[("email", "ada@example.com")])
        .await;
    let mut late = app
        .link_to("ada@example.com", "/password/reset?token=")
        .await;
    for _ in 0..100 {
        if !late.ends_with(&token) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        late = app
            .link_to("ada@example.com", "/password/reset?token=")
            .await;
    }
    let late_token = late.split("token=").nth(1).unwrap().to_owned();
    assert_ne!(late_token, token);
    clock.advance(Duration::minutes(61));
    other.get(&late).await;
    let expired = other
        .post(
            "/password/reset",
            &[
                ("token", &late_token),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
        )
        .await;
    assert_eq!(expired.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        expired.body.to_lowercase().contains("expired"),
        "{}",
        expired.body
    );
}

#[tokio::test]
async fn an_email_change_takes_effect_only_when_the_new_address_confirms() {
    let app = TestApp::new().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    app.browser().register("bob@example.com", PASSWORD).await;
    ada.get("/settings").await;
    ada.post(
        "/settings/email",
        &[
            ("new_email", "bob@example.com"),
            ("current_password", PASSWORD),
        ],
    )
    .await;
    assert!(
        ada.get("/settings")
            .await
            .contains("We sent a message to bob@example.com"),
        "the same answer as for a free address"
    );
    app.mail_matching(|m| {
        m.to == "bob@example.com"
            && m.subject == "Someone tried to move another account to your email address"
    })
    .await;
    ada.post(
        "/settings/email",
        &[
            ("new_email", "ada.new@example.com"),
            ("current_password", "wrong password"),
        ],
    )
    .await;
    assert!(
        ada.get("/settings")
            .await
            .contains("The password is incorrect")
    );
    ada.post(
        "/settings/email",
        &[
            ("new_email", "ada.new@example.com"),
            ("current_password", PASSWORD),
        ],
    )
    .await;
    assert!(
        app.state
            .users()
            .by_email(&"ada@example.com".parse().unwrap())
            .await
            .unwrap()
            .is_some(),
        "not changed yet"
    );
    let link = app
        .link_to("ada.new@example.com", "/settings/email/confirm?token=")
        .await;
    ada.get(&link).await;
    let user = app.user("ada.new@example.com").await;
    assert!(user.is_verified());
    app.mail_matching(|m| {
        m.to == "ada@example.com" && m.subject == "Your email address was changed"
    })
    .await;
    let mut again = app.browser();
    assert_eq!(
        again.login("ada.new@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn profiles_keep_what_was_typed_when_refused() {
    let app = TestApp::new().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    ada.get("/settings").await;
    let bad = ada
        .post(
            "/settings/profile",
            &[
                ("display_name", "Ada"),
                ("company", "Acme"),
                ("website", "acme.example"),
                ("bio", "Hi"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("must be a full address"));
    assert_eq!(bad.input_value("company").as_deref(), Some("Acme"));
    let good = ada
        .post(
            "/settings/profile",
            &[
                ("display_name", "Ada L."),
                ("company", "Acme"),
                ("job_title", "CTO"),
                ("website", "https://acme.example"),
                ("bio", "Hi"),
                ("product_updates", "on"),
            ],
        )
        .await;
    assert_eq!(good.status, StatusCode::SEE_OTHER);
    let user = app.user("ada@example.com").await;
    assert_eq!(
        (
            user.profile.job_title.as_str(),
            user.profile.product_updates
        ),
        ("CTO", true)
    );
}

#[tokio::test]
async fn a_password_change_checks_the_current_one_and_signs_out_other_devices() {
    let app = TestApp::new().await;
    let mut laptop = app.browser();
    laptop.register("ada@example.com", PASSWORD).await;
    let mut phone = app.browser();
    phone.login("ada@example.com", PASSWORD).await;
    let settings = laptop.get("/settings").await;
    assert_eq!(
        settings.input_value("username").as_deref(),
        Some("ada@example.com"),
        "password managers learn which account the new password is for"
    );
    const NEW: &str = "an even longer new password";
    let change = |current: &'static str, confirmation: &'static str| {
        [
            ("username", "ada@example.com"),
            ("current_password", current),
            ("new_password", NEW),
            ("new_password_confirmation", confirmation),
        ]
    };
    let wrong = laptop
        .post("/settings/password", &change("not my password", NEW))
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong.contains("The current password is incorrect."),
        "{}",
        wrong.body
    );
    laptop.get("/settings").await;
    let mismatch = laptop
        .post(
            "/settings/password",
            &change(PASSWORD, "something else entirely"),
        )
        .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        phone.get("/dashboard").await.status,
        StatusCode::OK,
        "nothing changed"
    );

    laptop.get("/settings").await;
    let done = laptop
        .post("/settings/password", &change(PASSWORD, NEW))
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(
        laptop
            .get("/settings")
            .await
            .contains("Your password was changed. Other devices were signed out.")
    );
    assert_eq!(phone.get("/dashboard").await.status, StatusCode::SEE_OTHER);
    assert_eq!(laptop.get("/dashboard").await.status, StatusCode::OK);
    let mut other = app.browser();
    assert_eq!(
        other.login("ada@example.com", PASSWORD).await.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the old password no longer signs in"
    );
    assert_eq!(
        other.login("ada@example.com", NEW).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn users_see_their_sessions_and_sign_out_the_others() {
    let app = TestApp::new().await;
    let mut laptop = app.browser();
    laptop.register("ada@example.com", PASSWORD).await;
    let mut phone = app.browser();
    phone.login("ada@example.com", PASSWORD).await;
    let page = laptop.get("/settings/sessions").await;
    assert_eq!(page.body.matches("data-testid=\"session\"").count(), 2);
    assert!(page.contains("this device"));
    laptop
        .post("/settings/sessions", &[("scope", "others")])
        .await;
    assert_eq!(phone.get("/dashboard").await.status, StatusCode::SEE_OTHER);
    assert_eq!(laptop.get("/dashboard").await.status, StatusCode::OK);
    laptop.get("/settings/sessions").await;
    laptop
        .post("/settings/sessions", &[("scope", "everywhere")])
        .await;
    assert_eq!(laptop.get("/dashboard").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn deleting_an_account_removes_personal_data_and_keeps_the_books() {
    let app = TestApp::new().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let id = app.user("ada@example.com").await.id;
    ada.get("/settings").await;
    ada.post(
        "/settings/delete",
        &[("current_password", PASSWORD), ("confirmation", "nope")],
    )
    .await;
    assert!(
        ada.get("/settings")
            .await
            .contains("Type DELETE to confirm")
    );
    ada.post(
        "/settings/delete",
        &[
            ("current_password", "wrong password"),
            ("confirmation", "DELETE"),
        ],
    )
    .await;
    assert!(
        ada.get("/settings")
            .await
            .contains("The password is incorrect")
    );
    let gone = ada
        .post(
            "/settings/delete",
            &[("current_password", PASSWORD), ("confirmation", "DELETE")],
        )
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert_eq!(ada.get("/dashboard").await.status, StatusCode::SEE_OTHER);
    let stored = app.state.users().by_id(id).await.unwrap().unwrap();
    assert!(stored.email.as_str().ends_with("@deleted.invalid"));
    assert!(stored.deleted_at.is_some());
    let ledger = app
        .state
        .credits()
        .snapshot(AccountId::new(id.as_uuid()))
        .await
        .unwrap();
    assert_eq!(
        ledger.entries.len(),
        1,
        "the welcome grant stays on the books"
    );
    let mut again = app.browser();
    assert_eq!(
        again.login("ada@example.com", PASSWORD).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // The address can be used again.
    app.browser().register("ada@example.com", PASSWORD).await;
}

#[tokio::test]
async fn admins_manage_users_and_every_action_is_audited() {
    let app = TestApp::new().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let id = app.user("ada@example.com").await.id;
    let mut admin = app.browser();
    admin.login("admin@example.com", "admin-password-1").await;
    let filtered = admin.get("/admin/users?verified=no&status=active").await;
    assert!(filtered.contains("ada@example.com"));
    admin.get(&format!("/admin/users/{id}")).await;
    admin
        .post(&format!("/admin/users/{id}/role"), &[("role", "admin")])
        .await;
    assert_eq!(
        ada.get("/dashboard").await.status,
        StatusCode::SEE_OTHER,
        "a privilege change ends the sessions"
    );
    ada.login("ada@example.com", PASSWORD).await;
    assert_eq!(ada.get("/admin").await.status, StatusCode::OK);
    admin.get(&format!("/admin/users/{id}")).await;
    admin
        .post(&format!("/admin/users/{id}/active"), &[("active", "false")])
        .await;
    assert_eq!(ada.get("/dashboard").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        ada.login("ada@example.com", PASSWORD).await.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "inactive accounts cannot sign in"
    );
    admin.get(&format!("/admin/users/{id}")).await;
    admin
        .post(&format!("/admin/users/{id}/active"), &[("active", "true")])
        .await;
    admin.get(&format!("/admin/users/{id}")).await;
    admin
        .post(&format!("/admin/users/{id}/verification"), &[])
        .await;
    let audit = admin.get("/admin/audit").await;
    for action in [
        "user.role_changed",
        "user.activity_changed",
        "user.verification_sent",
    ] {
        assert!(
            audit.contains(action),
            "{action} missing from the audit log"
        );
    }
    assert!(
        audit.contains("&quot;role&quot;:&quot;admin&quot;")
            || audit.contains("\"role\":\"admin\""),
        "{}",
        audit.body
    );
    let only_roles = admin.get("/admin/audit?action=user.role").await;
    assert!(!only_roles.contains("user.activity_changed"));
    // An admin cannot lock themselves out.
    let me = app.user("admin@example.com").await.id;
    admin.get(&format!("/admin/users/{me}")).await;
    admin
        .post(&format!("/admin/users/{me}/active"), &[("active", "false")])
        .await;
    assert!(
        app.state
            .users()
            .by_id(me)
            .await
            .unwrap()
            .unwrap()
            .is_active
    );
}

#[tokio::test]
async fn admins_unlock_locked_accounts() {
    let app = TestApp::new().await;
    app.browser().register("ada@example.com", PASSWORD).await;
    let mut attacker = app.browser();
    for _ in 0..5 {
        attacker.login("ada@example.com", "wrong password!").await;
    }
    let mut ada = app.browser();
    assert_eq!(
        ada.login("ada@example.com", PASSWORD).await.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "locked"
    );
    let mut admin = app.browser();
    admin.login("admin@example.com", "admin-password-1").await;
    assert!(
        admin
            .get("/admin/users?status=locked")
            .await
            .contains("ada@example.com")
    );
    let id = app.user("ada@example.com").await.id;
    admin.get(&format!("/admin/users/{id}")).await;
    admin.post(&format!("/admin/users/{id}/unlock"), &[]).await;
    assert_eq!(
        ada.login("ada@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert!(admin.get("/admin/audit").await.contains("user.unlocked"));
}

#[tokio::test]
async fn too_many_sign_in_attempts_from_one_client_get_a_429_page() {
    let app = TestApp::new().await;
    let mut bot = app.browser();
    bot.get("/login").await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let page = bot
            .post(
                "/login",
                &[("email", "x@example.com"), ("password", "whatever12")],
            )
            .await;
        statuses.push(page.status);
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(
                page.contains("Too many attempts"),
                "a readable page: {}",
                page.body
            );
            assert!(page.headers.contains_key("retry-after"));
        }
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        2,
        "{statuses:?}"
    );
}

/// Registers from six browsers, each claiming its own address through `X-Forwarded-For`;
/// returns the status of each registration.
async fn six_registrations(app: &TestApp) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for i in 1..=6 {
        let mut visitor = app.browser();
        visitor.forwarded_for = Some(format!("203.0.113.{i}"));
        visitor.get("/register").await;
        let email = format!("user{i}@example.com");
        let page = visitor
            .post(
                "/register",
                &[
                    ("email", email.as_str()),
                    ("password", PASSWORD),
                    ("password_confirmation", PASSWORD),
                ],
            )
            .await;
        statuses.push(page.status);
    }
    statuses
}

#[tokio::test]
async fn rate_limits_key_on_the_forwarded_address_only_behind_a_trusted_proxy() {
    // Without TRUST_PROXY the header is ignored (anyone can send it): one client, five at once.
    let direct = six_registrations(&TestApp::new().await).await;
    assert_eq!(direct[5], StatusCode::TOO_MANY_REQUESTS, "{direct:?}");
    // Behind a proxy, each forwarded address is a client of its own.
    let proxied = six_registrations(&TestApp::with(&[("TRUST_PROXY", "true")]).await).await;
    assert!(
        proxied.iter().all(|s| *s == StatusCode::SEE_OTHER),
        "{proxied:?}"
    );
}

#[tokio::test]
async fn emails_are_visible_in_the_dev_outbox_and_to_admins() {
    let app = TestApp::new().await;
    app.browser().register("ada@example.com", PASSWORD).await;
    app.mail(1).await;
    let outbox = app.browser().get("/dev/outbox").await;
    assert_eq!(outbox.status, StatusCode::OK);
    assert!(outbox.contains("data-testid=\"outbox-message\""));
    assert!(outbox.contains("/verify?token="));
    let mut admin = app.browser();
    admin.login("admin@example.com", "admin-password-1").await;
    let emails = admin.get("/admin/emails").await;
    assert!(emails.contains("ada@example.com"));
    assert!(emails.contains(">sent<"), "{}", emails.body);
    // Not on a public address.
    let public = TestApp::with(&[("BASE_URL", "https://app.example.com")]).await;
    assert_eq!(
        public.browser().get("/dev/outbox").await.status,
        StatusCode::NOT_FOUND
    );
}

/// The stored expiry of the browser's session.
async fn stored_expiry(app: &TestApp, browser: &support::Browser) -> time::OffsetDateTime {
    use tower_sessions::SessionStore;
    let cookie = browser.cookie.as_deref().unwrap();
    let id = cookie
        .split(';')
        .find_map(|c| c.trim().strip_prefix("qs_session="))
        .unwrap();
    app.state
        .stores()
        .sessions
        .load(&id.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .expiry_date
}

#[tokio::test]
async fn an_active_session_is_extended_once_a_day_not_on_every_request() {
    let (app, clock) = app_with_clock(&[]).await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    ada.get("/dashboard").await;
    let first = stored_expiry(&app, &ada).await;
    // The same day: pages are served without writing the session again.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    ada.get("/dashboard").await;
    ada.get("/services").await;
    assert_eq!(stored_expiry(&app, &ada).await, first);
    // The next day, the first request moves the expiry forward.
    clock.advance(time::Duration::days(1));
    ada.get("/dashboard").await;
    assert!(stored_expiry(&app, &ada).await > first);
}

/// The app on a SQLite file in `dir`, as after a restart with these settings.
async fn app_on_file(dir: &std::path::Path, extra: &[(&str, &str)]) -> TestApp {
    let url = format!("sqlite://{}", dir.join("app.db").display());
    let mut pairs = vec![("DATABASE_URL", url.as_str())];
    pairs.extend_from_slice(extra);
    TestApp::with(&pairs).await
}

#[tokio::test]
async fn changing_the_welcome_credits_affects_new_accounts_only() {
    let data = tempfile::tempdir().unwrap();
    let first = app_on_file(data.path(), &[]).await;
    first.browser().register("ada@example.com", PASSWORD).await;
    assert_eq!(
        support::balance(&first.state, "ada@example.com").await,
        quickscale_domain_credits::Credits::whole(100)
    );
    first.state.database().close().await;
    drop(first);

    for welcome in ["25", "100", "0"] {
        let app = app_on_file(data.path(), &[("WELCOME_CREDITS", welcome)]).await;
        for (email, password) in [
            ("ada@example.com", PASSWORD),
            ("admin@example.com", "admin-password-1"),
        ] {
            let mut browser = app.browser();
            let signed_in = browser.login(email, password).await;
            assert_eq!(
                signed_in.status,
                StatusCode::SEE_OTHER,
                "{email} signs in with WELCOME_CREDITS={welcome}: {}",
                signed_in.body
            );
            assert_eq!(browser.get("/dashboard").await.status, StatusCode::OK);
            assert_eq!(
                support::balance(&app.state, email).await,
                quickscale_domain_credits::Credits::whole(100),
                "{email}'s balance is what registration granted"
            );
        }
        let newcomer = format!("new{welcome}@example.com");
        app.browser().register(&newcomer, PASSWORD).await;
        assert_eq!(
            support::balance(&app.state, &newcomer).await,
            quickscale_domain_credits::Credits::whole(welcome.parse().unwrap()),
            "a new account gets the new amount"
        );
        app.state.database().close().await;
    }

    // An account registered while the welcome credits were off gets none when they come back.
    let app = app_on_file(data.path(), &[("WELCOME_CREDITS", "40")]).await;
    let mut browser = app.browser();
    assert_eq!(
        browser.login("new0@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        support::balance(&app.state, "new0@example.com").await,
        quickscale_domain_credits::Credits::ZERO
    );
    app.state.database().close().await;
}

#[tokio::test]
async fn an_interrupted_registration_is_finished_at_the_next_sign_in() {
    let app = TestApp::with(&[("WELCOME_CREDITS", "30")]).await;
    // The process stopped right after storing the user: no credit account, no welcome grant.
    let registration = quickscale_domain_identity::Registration::parse(
        "ada@example.com",
        PASSWORD,
        PASSWORD,
        "",
        app.state.accounts().password_policy(),
    )
    .unwrap();
    let ada = app
        .state
        .accounts()
        .register(registration, quickscale_domain_identity::Role::User)
        .await
        .unwrap();
    assert_eq!(ada.onboarded_at, None);
    let mut browser = app.browser();
    assert_eq!(
        browser.login("ada@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(browser.get("/dashboard").await.status, StatusCode::OK);
    assert_eq!(
        support::balance(&app.state, "ada@example.com").await,
        quickscale_domain_credits::Credits::whole(30)
    );
    assert!(app.user("ada@example.com").await.onboarded_at.is_some());
    // Once only.
    app.browser().login("ada@example.com", PASSWORD).await;
    assert_eq!(
        support::balance(&app.state, "ada@example.com").await,
        quickscale_domain_credits::Credits::whole(30)
    );
}
