//! Credit amounts read as English wherever they are shown: "1 credit", "0 credits",
//! "2.50 credits", on pages and in problem documents alike; other counts too ("1 device",
//! "2 users"); form errors are sentences, and refusals say what to do next.

mod support;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use quickscale_domain_credits::{
    AccountId, Actor, CreditCommand, Credits, IdempotencyKey, Operation, Reason,
};
use support::TestApp;
use tower::ServiceExt;

const PASSWORD: &str = "a long enough password";

/// Spends all but `left` of the user's credits (once per test).
async fn leave(app: &TestApp, email: &str, left: Credits) {
    let user = app.user(email).await;
    let balance = support::balance(&app.state, email).await;
    app.state
        .credits()
        .execute(
            AccountId::new(user.id.as_uuid()),
            Operation {
                key: IdempotencyKey::parse(format!("test:leave:{left}")).unwrap(),
                actor: Actor::System,
                reason: Reason::parse("Test: spend the balance").unwrap(),
                command: CreditCommand::Consume {
                    amount: balance.saturating_sub(left),
                },
            },
            app.state.clock().now(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn one_credit_is_singular_on_pages_and_in_problem_documents() {
    let app = TestApp::with(&[("ENABLE_API", "true")]).await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    leave(&app, "ada@example.com", Credits::ZERO).await;

    let page = ada.get("/services/text_sentiment_analysis").await;
    assert!(
        page.contains("This service costs 1 credit and you have 0 credits."),
        "{}",
        page.body
    );
    let list = ada.get("/services").await;
    assert!(list.contains("You have 0 credits."), "{}", list.body);
    assert!(
        list.contains("You need 1 credit to run this; you have 0 credits."),
        "{}",
        list.body
    );

    // The same words in the API's refusal.
    let form = ada.get("/settings/api-keys").await;
    let token = form.input_value("form_token").unwrap();
    let made = ada
        .post(
            "/settings/api-keys",
            &[
                ("name", "Wording"),
                ("current_password", PASSWORD),
                ("form_token", &token),
            ],
        )
        .await;
    let key = made.input_value("new_key").unwrap();
    let request = Request::builder()
        .method("POST")
        .uri("/api/v1/services/text_sentiment_analysis/runs")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"input": "fine"}"#))
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    let problem: serde_json::Value =
        serde_json::from_slice(&to_bytes(response.into_body(), 1 << 16).await.unwrap()).unwrap();
    assert_eq!(
        problem["detail"],
        "This service costs 1 credit and the account has 0 credits. Nothing was charged: add credits to the account, then retry."
    );

    // One credit: singular in the list and on the admin's page of the user.
    let ada_id = app.user("ada@example.com").await.id;
    app.state
        .credits()
        .execute(
            AccountId::new(ada_id.as_uuid()),
            Operation {
                key: IdempotencyKey::parse("test:one-back").unwrap(),
                actor: Actor::System,
                reason: Reason::parse("Test: one credit back").unwrap(),
                command: CreditCommand::Grant {
                    kind: quickscale_domain_credits::GrantKind::Admin,
                    amount: Credits::whole(1),
                    expires_at: None,
                    source: quickscale_domain_credits::SourceRef::parse("test:one").unwrap(),
                },
            },
            app.state.clock().now(),
        )
        .await
        .unwrap();
    assert!(ada.get("/services").await.contains("You have 1 credit."));
    let mut admin = app.browser();
    admin.login("admin@example.com", "admin-password-1").await;
    let user_page = admin.get(&format!("/admin/users/{ada_id}")).await;
    assert!(user_page.contains(">1 credit</p>"), "{}", user_page.body);
}

/// The navbar's balance and a run's "credits remaining" read "1 credit" too, on the page and in
/// the fragment an HTMX run swaps in (which updates the navbar's word with its number).
#[tokio::test]
async fn one_credit_left_is_singular_in_the_navbar_and_after_a_run() {
    let app = TestApp::new().await;
    let mut bea = app.browser();
    bea.register("bea@example.com", PASSWORD).await;
    leave(&app, "bea@example.com", Credits::whole(2)).await;

    let page = bea.get("/services/text_sentiment_analysis").await;
    assert_eq!(page.text_of("nav-balance-unit").as_deref(), Some("credits"));
    let run_key = page.input_value("run_key").unwrap();
    let fragment = bea
        .post_raw(
            "/services/text_sentiment_analysis",
            &[("input", "This is fine."), ("run_key", &run_key)],
            true,
        )
        .await;
    assert_eq!(fragment.status, StatusCode::OK);
    assert!(
        fragment.contains("1</span> credit remaining"),
        "{}",
        fragment.body
    );
    assert_eq!(fragment.text_of("nav-balance").as_deref(), Some("1"));
    assert_eq!(
        fragment.text_of("nav-balance-unit").as_deref(),
        Some("credit")
    );
    let dashboard = bea.get("/dashboard").await;
    assert_eq!(
        dashboard.text_of("nav-balance-unit").as_deref(),
        Some("credit")
    );
}

/// Counts other than credits take the same plural rule: one device, two devices; one user in a
/// search, two in all; the dashboard's "1 credit available".
#[tokio::test]
async fn counts_read_one_and_many_on_every_page() {
    let app = TestApp::new().await;
    let mut laptop = app.browser();
    laptop.register("cy@example.com", PASSWORD).await;
    let settings = laptop.get("/settings").await;
    assert!(
        settings.contains("You are signed in on 1 device."),
        "{}",
        settings.body
    );
    let mut phone = app.browser();
    phone.login("cy@example.com", PASSWORD).await;
    let settings = laptop.get("/settings").await;
    assert!(
        settings.contains("You are signed in on 2 devices."),
        "{}",
        settings.body
    );

    leave(&app, "cy@example.com", Credits::whole(1)).await;
    let dashboard = laptop.get("/dashboard").await;
    assert_eq!(
        dashboard.text_of("balance-total").as_deref(),
        Some("1 credit available")
    );
    assert_eq!(
        dashboard.text_of("nav-balance-unit").as_deref(),
        Some("credit")
    );

    let mut admin = app.browser();
    admin.login("admin@example.com", "admin-password-1").await;
    let all = admin.get("/admin/users").await;
    assert!(all.contains(">2 users</p>"), "{}", all.body);
    let one = admin.get("/admin/users?q=cy%40example.com").await;
    assert!(one.contains(">1 user</p>"), "{}", one.body);
}

/// Field errors are sentences (a capital, a full stop) whichever form shows them, and a refused
/// run says what to do next.
#[tokio::test]
async fn field_errors_are_sentences_and_refusals_say_what_to_do() {
    let app = TestApp::new().await;
    let mut dee = app.browser();
    dee.get("/register").await;
    let refused = dee
        .post(
            "/register",
            &[
                ("email", "dee@"),
                ("password", "short"),
                ("password_confirmation", "short"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refused.text_of("email-error").as_deref(),
        Some("The part after the @ must be a domain such as example.com.")
    );
    assert!(
        refused
            .text_of("password-error")
            .is_some_and(|e| e.starts_with("Use at least ") && e.ends_with(" characters.")),
        "{}",
        refused.body
    );

    dee.get("/contact").await;
    let contact = dee
        .post("/contact", &[("name", ""), ("email", "x"), ("message", "")])
        .await;
    for id in ["name-error", "email-error", "message-error"] {
        let error = contact.text_of(id).unwrap_or_default();
        assert!(
            error.chars().next().is_some_and(char::is_uppercase) && error.ends_with('.'),
            "{id}: {error:?}"
        );
    }

    dee.register("dee@example.com", PASSWORD).await;
    let profile = dee
        .post("/settings/profile", &[("display_name", "x\u{7}y")])
        .await;
    let error = profile.text_of("display_name-error").unwrap_or_default();
    assert!(
        error.starts_with('A') && error.ends_with('.'),
        "{error:?}: {}",
        profile.body
    );

    leave(&app, "dee@example.com", Credits::ZERO).await;
    let page = dee.get("/services/text_sentiment_analysis").await;
    let run_key = page.input_value("run_key").unwrap();
    let run = dee
        .post(
            "/services/text_sentiment_analysis",
            &[("input", "Fine."), ("run_key", &run_key)],
        )
        .await;
    assert!(
        run.contains("Nothing was charged: ask an administrator for more credits."),
        "{}",
        run.body
    );
}
