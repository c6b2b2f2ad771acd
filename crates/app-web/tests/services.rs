//! The marketplace, file and JSON services over HTTP, usage history and admin service settings.

mod support;

use axum::http::StatusCode;
use support::TestApp;

const PASSWORD: &str = "a long enough password";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../service-sdk/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[tokio::test]
async fn the_marketplace_lists_every_service_by_category_with_its_cost() {
    let app = TestApp::new().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let page = ada.get("/services").await;
    for slug in [
        "demo_free_service",
        "text_sentiment_analysis",
        "text_keyword_extractor",
        "image_metadata_extractor",
        "data_validator",
    ] {
        assert!(
            page.contains(&format!("data-service=\"{slug}\"")),
            "{slug} missing"
        );
    }
    for category in ["Text", "Images", "Data"] {
        assert!(
            page.contains(&format!("<h2 class=\"title is-5 mt-5\">{category}</h2>")),
            "{category}"
        );
    }
    assert!(page.contains("2 credits"));
}

#[tokio::test]
async fn an_uploaded_image_is_read_and_a_non_image_is_refused_without_charge() {
    let app = TestApp::new().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let page = ada.get("/services/image_metadata_extractor").await;
    assert!(page.contains("enctype=\"multipart/form-data\""));
    let key = page.input_value("run_key").unwrap();
    let jpeg = fixture("photo-with-exif.jpg");
    let result = ada
        .post_file(
            "/services/image_metadata_extractor",
            &[("run_key", &key)],
            ("photo.jpg", "image/jpeg", &jpeg),
        )
        .await;
    assert_eq!(result.status, StatusCode::OK, "{}", result.body);
    assert!(
        result.contains("JPEG image, 64 × 48 pixels, RGB"),
        "{}",
        result.body
    );
    assert!(result.contains("QuickScale Test Camera Co"));
    assert!(result.contains("98</span> credits remaining"));
    let key = result.input_value("run_key").unwrap();
    let text = fixture("not-an-image.jpg");
    let refused = ada
        .post_file(
            "/services/image_metadata_extractor",
            &[("run_key", &key)],
            ("fake.jpg", "image/jpeg", &text),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.contains("not a JPEG, PNG, GIF or WebP image"),
        "{}",
        refused.body
    );
    let dashboard = ada.get("/dashboard").await;
    assert!(
        dashboard.contains("<span id=\"nav-balance\">98</span>"),
        "{}",
        dashboard.body
    );
}

#[tokio::test]
async fn json_services_validate_their_input_before_charging() {
    let app = TestApp::new().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let key = ada
        .get("/services/data_validator")
        .await
        .input_value("run_key")
        .unwrap();
    let bad = ada
        .post(
            "/services/data_validator",
            &[("input", "{not json"), ("run_key", &key)],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("That is not valid JSON"));
    let request = r#"{"schema": {"type": "object", "required": ["age"], "properties": {"age": {"type": "integer"}}}, "csv": "age\n5\nold\n"}"#;
    let ok = ada
        .post(
            "/services/data_validator",
            &[("input", request), ("run_key", &key)],
        )
        .await;
    assert!(ok.contains("1 of 2 records are invalid"), "{}", ok.body);
    assert!(ok.contains("/age"));
}

#[tokio::test]
async fn usage_history_filters_and_exports_csv() {
    let app = TestApp::new().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    for (slug, input) in [
        ("text_sentiment_analysis", "Lovely day"),
        ("demo_free_service", "One. Two."),
        ("text_sentiment_analysis", "Awful"),
    ] {
        let key = ada
            .get(&format!("/services/{slug}"))
            .await
            .input_value("run_key")
            .unwrap();
        ada.post(
            &format!("/services/{slug}"),
            &[("input", input), ("run_key", &key)],
        )
        .await;
    }
    let all = ada.get("/usage").await;
    assert_eq!(all.body.matches("status-succeeded").count(), 3);
    let filtered = ada.get("/usage?service=demo_free_service").await;
    assert_eq!(filtered.body.matches("status-succeeded").count(), 1);
    let csv = ada.get("/usage.csv?service=text_sentiment_analysis").await;
    assert_eq!(
        csv.headers.get("content-type").unwrap(),
        "text/csv; charset=utf-8"
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 3, "{}", csv.body);
    assert!(lines[0].starts_with("started_at,service,status,cost"));
    assert!(lines[1].contains(",text_sentiment_analysis,succeeded,1,0,"));
    // Another user's history stays private.
    let mut bob = app.browser();
    bob.register("bob@example.com", PASSWORD).await;
    assert!(bob.get("/usage").await.contains(
        "You have not run a service yet. <a href=\"/services\">Browse the services</a>."
    ));
}

#[tokio::test]
async fn admins_disable_services_and_override_costs() {
    let app = TestApp::new().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let mut admin = app.browser();
    admin.login("admin@example.com", "admin-password-1").await;
    let page = admin.get("/admin/services").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let saved = admin
        .post(
            "/admin/services/text_keyword_extractor",
            &[("cost_override", ""), ("display_order", "9")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    admin.get("/admin/services").await;
    admin
        .post(
            "/admin/services/text_sentiment_analysis",
            &[
                ("enabled", "on"),
                ("cost_override", "3"),
                ("display_order", "1"),
            ],
        )
        .await;

    let services = ada.get("/services").await;
    assert!(
        !services.contains("data-service=\"text_keyword_extractor\""),
        "disabled services are hidden"
    );
    assert_eq!(
        ada.get("/services/text_keyword_extractor").await.status,
        StatusCode::NOT_FOUND
    );
    let key = ada
        .get("/services/text_sentiment_analysis")
        .await
        .input_value("run_key")
        .unwrap();
    let result = ada
        .post(
            "/services/text_sentiment_analysis",
            &[("input", "Great"), ("run_key", &key)],
        )
        .await;
    assert!(
        result.contains("97</span> credits remaining"),
        "the override is charged: {}",
        result.body
    );

    let stats = admin.get("/admin/services").await;
    assert!(
        stats.contains("<p class=\"title is-5\" data-testid=\"runs\">1</p>"),
        "{}",
        stats.body
    );
    assert!(stats.contains("<rect"), "a chart is drawn");
    let bad = admin
        .post(
            "/admin/services/text_sentiment_analysis",
            &[
                ("enabled", "on"),
                ("cost_override", "-1"),
                ("display_order", "1"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

/// Takes a while, like a model call.
struct Slow;

#[async_trait::async_trait]
impl quickscale_service_sdk::Service for Slow {
    fn descriptor(&self) -> quickscale_service_sdk::ServiceDescriptor {
        quickscale_service_sdk::ServiceDescriptor::new("slow", "Slow")
            .description("Takes half a second.")
            .category("Text")
            .cost("2".parse().unwrap())
            .example("x")
    }

    async fn execute(
        &self,
        _input: quickscale_service_sdk::ServiceInput,
    ) -> Result<quickscale_service_sdk::ServiceOutput, quickscale_service_sdk::ServiceError> {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        Ok(quickscale_service_sdk::ServiceOutput::new("done"))
    }
}

#[tokio::test]
async fn a_run_finishes_when_the_visitor_leaves_before_the_answer() {
    let app = TestApp::with_app(quickscale_app_web::App::new("Test App").service(Slow), &[]).await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let key = ada
        .get("/services/slow")
        .await
        .input_value("run_key")
        .unwrap();
    // The request is dropped after 100 ms, as when the tab is closed.
    let left = tokio::time::timeout(
        std::time::Duration::from_millis(100),
        ada.post("/services/slow", &[("input", "text"), ("run_key", &key)]),
    )
    .await;
    assert!(left.is_err(), "the run should still have been going");
    // The run goes on without the visitor: wait (up to 10 s on a busy machine) for its record.
    let mut usage = ada.get("/usage").await;
    for _ in 0..100 {
        if !usage.contains("status-running") && usage.contains("status-succeeded") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        usage = ada.get("/usage").await;
    }
    assert_eq!(
        usage.body.matches("status-succeeded").count(),
        1,
        "{}",
        usage.body
    );
    let dashboard = ada.get("/dashboard").await;
    assert!(
        dashboard.contains("<span id=\"nav-balance\">98</span>"),
        "{}",
        dashboard.body
    );
}

#[tokio::test]
async fn the_marketplace_searches_and_shows_examples() {
    let app = TestApp::new().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let all = ada.get("/services").await;
    assert!(all.contains("data-testid=\"example\""), "{}", all.body);
    let images = ada.get("/services?q=IMAGE+exif").await;
    assert!(images.contains("data-service=\"image_metadata_extractor\""));
    assert!(!images.contains("data-service=\"text_sentiment_analysis\""));
    assert!(images.contains("data-testid=\"search-summary\""));
    let sentiment = ada.get("/services?q=sentiment").await;
    assert!(sentiment.contains("data-service=\"text_sentiment_analysis\""));
    assert!(!sentiment.contains("data-service=\"data_validator\""));
    let none = ada.get("/services?q=%3Cscript%3E").await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(none.contains("data-testid=\"no-services\""));
    assert!(!none.contains("<script>"), "the query is escaped");
}
