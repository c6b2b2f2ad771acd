//! The five-minute journey and its refusals, in process against the in-memory stores.

mod support;

use axum::http::StatusCode;
use support::TestApp;

const PASSWORD: &str = "a long enough password";

#[tokio::test]
async fn register_run_a_service_and_an_admin_adjusts_credits() {
    let app = TestApp::new().await;
    let mut ada = app.browser();
    let dashboard = ada.register("ada@example.com", PASSWORD).await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert_eq!(
        dashboard.balance().as_deref(),
        Some("100 credits available"),
        "{}",
        dashboard.body
    );

    let page = ada.get("/services/text_sentiment_analysis").await;
    assert_eq!(page.status, StatusCode::OK);
    let run_key = page.input_value("run_key").expect("a run key");
    let result = ada
        .post(
            "/services/text_sentiment_analysis",
            &[
                ("input", "I love this, it is wonderful!"),
                ("run_key", &run_key),
            ],
        )
        .await;
    assert_eq!(result.status, StatusCode::OK, "{}", result.body);
    assert!(result.contains("Positive"), "{}", result.body);
    assert!(
        result.contains("99</span> credits remaining"),
        "{}",
        result.body
    );

    // Submitting the same form again shows the first run and charges nothing.
    let again = ada
        .post(
            "/services/text_sentiment_analysis",
            &[
                ("input", "I love this, it is wonderful!"),
                ("run_key", &run_key),
            ],
        )
        .await;
    assert!(again.contains("already submitted"), "{}", again.body);
    assert_eq!(
        ada.get("/dashboard").await.balance().as_deref(),
        Some("99 credits available")
    );

    let mut admin = app.browser();
    let signed_in = admin.login("admin@example.com", "admin-password-1").await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let users = admin.get("/admin/users?q=ada").await;
    assert!(users.contains("ada@example.com"));
    let ada_id = app.user("ada@example.com").await.id;
    let detail = admin.get(&format!("/admin/users/{ada_id}")).await;
    let key = detail.input_value("key").unwrap();
    let added = admin
        .post(
            &format!("/admin/users/{ada_id}/credits"),
            &[
                ("action", "add"),
                ("amount", "5"),
                ("reason", "Goodwill"),
                ("key", &key),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let detail = admin.get(&format!("/admin/users/{ada_id}")).await;
    assert!(detail.contains("Added 5 credits"), "{}", detail.body);
    let key = detail.input_value("key").unwrap();
    admin
        .post(
            &format!("/admin/users/{ada_id}/credits"),
            &[
                ("action", "remove"),
                ("amount", "2"),
                ("reason", "Correction"),
                ("key", &key),
            ],
        )
        .await;

    let dashboard = ada.get("/dashboard").await;
    assert_eq!(
        dashboard.balance().as_deref(),
        Some("102 credits available"),
        "{}",
        dashboard.body
    );
    assert!(dashboard.contains("Goodwill"));
    assert!(dashboard.contains("Correction"));
    assert!(dashboard.contains("Added by admin"));
    assert!(dashboard.contains("Removed by admin"));
}

#[tokio::test]
async fn htmx_runs_return_a_fragment_with_a_new_form_token_and_balance() {
    let app = TestApp::new().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let page = ada.get("/services/text_sentiment_analysis").await;
    let run_key = page.input_value("run_key").unwrap();
    let fragment = ada
        .post_raw(
            "/services/text_sentiment_analysis",
            &[("input", "This is awful."), ("run_key", &run_key)],
            true,
        )
        .await;
    assert_eq!(fragment.status, StatusCode::OK);
    assert!(!fragment.contains("<html"), "a fragment, not a page");
    assert!(fragment.contains("Negative"));
    assert!(fragment.contains("hx-swap-oob"));
    assert_ne!(
        fragment.input_value("run_key").unwrap(),
        run_key,
        "the next run gets a new key"
    );
    assert!(fragment.contains("<span id=\"nav-balance\" hx-swap-oob=\"true\">99</span>"));
}

#[tokio::test]
async fn free_services_run_without_credits() {
    let app = TestApp::with(&[("WELCOME_CREDITS", "0")]).await;
    let mut bob = app.browser();
    let dashboard = bob.register("bob@example.com", PASSWORD).await;
    assert_eq!(dashboard.balance().as_deref(), Some("0 credits available"));
    let page = bob.get("/services/demo_free_service").await;
    let run_key = page.input_value("run_key").unwrap();
    let result = bob
        .post(
            "/services/demo_free_service",
            &[
                ("input", "One sentence. Two sentences."),
                ("run_key", &run_key),
            ],
        )
        .await;
    assert!(result.contains("4 words in 2 sentences"), "{}", result.body);
    let page = bob.get("/services/text_sentiment_analysis").await;
    assert!(
        page.contains("This service costs 1 credit and you have 0 credits."),
        "{}",
        page.body
    );
    let run_key = page.input_value("run_key").unwrap();
    let refused = bob
        .post(
            "/services/text_sentiment_analysis",
            &[("input", "Nice."), ("run_key", &run_key)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.contains("costs 1 credit and you have 0 credits. Nothing was charged: ask an administrator for more credits."),
        "{}",
        refused.body
    );
}

#[tokio::test]
async fn a_project_overrides_templates_and_static_files() {
    let about = "{% extends \"base.html\" %}{% block content %}<p data-testid=\"ours\">Our own about page for {{ app_name }}</p>{% endblock content %}";
    let app = TestApp::with_files(
        quickscale_app_web::App::new("Test App"),
        &[
            ("templates/pages/about.html", about),
            ("static/css/app.css", "body { color: rebeccapurple; }"),
        ],
        &[],
    )
    .await;
    let mut visitor = app.browser();
    let page = visitor.get("/about").await;
    assert!(
        page.contains("Our own about page for Test App"),
        "{}",
        page.body
    );
    // The built-in layout around it is kept, and other pages are untouched.
    assert!(page.contains("/static/css/app.css"));
    assert!(visitor.get("/contact").await.status == StatusCode::OK);
    let css = visitor.get("/static/css/app.css").await;
    assert_eq!(css.body, "body { color: rebeccapurple; }");
    // A file the project does not override still comes from the binary.
    assert_eq!(
        visitor.get("/static/vendor/htmx/htmx.min.js").await.status,
        StatusCode::OK
    );
}
