//! Credit amounts read as English wherever they are shown: "1 credit", "0 credits",
//! "2.50 credits", on pages and in problem documents alike.

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
        "This service costs 1 credit and the account has 0 credits. Nothing was charged."
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
