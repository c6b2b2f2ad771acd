//! The LLM service against a local fake of an OpenAI-compatible API.

mod support;

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use quickscale_app_web::App;
use quickscale_service_sdk::builtin::ChatModel;
use quickscale_service_sdk::{
    Service, ServiceDescriptor, ServiceError, ServiceInput, ServiceOutput,
};
use serde_json::{Value, json};
use support::TestApp;

const PASSWORD: &str = "a long enough password";

async fn completions(headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer test-key") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let user = body["messages"][1]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if user.contains("FAIL") {
        return (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response();
    }
    if user.contains("SLOW") {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let reply = if user.contains("Question:") {
        "The runner refunds the charge."
    } else {
        "A short summary."
    };
    Json(json!({"choices": [{"message": {"role": "assistant", "content": reply}}], "model": body["model"]})).into_response()
}

async fn fake_llm() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = axum::Router::new().route("/v1/chat/completions", post(completions));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}/v1")
}

async fn run(browser: &mut support::Browser, input: &str) -> support::Page {
    let key = browser
        .get("/services/llm_text_service")
        .await
        .input_value("run_key")
        .unwrap();
    browser
        .post(
            "/services/llm_text_service",
            &[("input", input), ("run_key", &key)],
        )
        .await
}

#[tokio::test]
async fn summaries_answers_and_refunds_on_upstream_errors_and_timeouts() {
    let base = fake_llm().await;
    let app = TestApp::with(&[
        ("LLM_BASE_URL", &base),
        ("LLM_API_KEY", "test-key"),
        ("LLM_MODEL", "tiny"),
        ("LLM_TIMEOUT_SECONDS", "1"),
    ])
    .await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    assert!(
        ada.get("/services")
            .await
            .contains("data-service=\"llm_text_service\"")
    );

    let summary = run(&mut ada, "A long text about credits and services.").await;
    assert!(summary.contains("A short summary."), "{}", summary.body);
    assert!(summary.contains("95</span> credits remaining"));
    let answer = run(&mut ada, "Q: What happens on failure?\nThe runner refunds.").await;
    assert!(answer.contains("The runner refunds the charge."));

    let failed = run(&mut ada, "Please FAIL now").await;
    assert!(
        failed.contains("The service did not complete."),
        "{}",
        failed.body
    );
    assert!(failed.contains("the language model failed (HTTP 500)"));
    assert!(failed.contains("Your 5 credits were refunded."));
    let slow = run(&mut ada, "Be SLOW please").await;
    assert!(
        slow.contains("did not answer in time") || slow.contains("took longer than"),
        "{}",
        slow.body
    );
    assert!(slow.contains("Your 5 credits were refunded."));
    assert_eq!(
        ada.get("/dashboard").await.balance().as_deref(),
        Some("90 credits available")
    );
}

#[tokio::test]
async fn a_wrong_key_is_a_clear_refunded_failure() {
    let base = fake_llm().await;
    let app = TestApp::with(&[("LLM_BASE_URL", &base), ("LLM_API_KEY", "wrong")]).await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let page = run(&mut ada, "Anything").await;
    assert!(page.contains("refused our credentials"), "{}", page.body);
    assert_eq!(
        ada.get("/dashboard").await.balance().as_deref(),
        Some("100 credits available")
    );
}

#[tokio::test]
async fn the_service_is_hidden_when_no_model_is_configured() {
    let app = TestApp::new().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    assert!(!ada.get("/services").await.contains("llm_text_service"));
    assert_eq!(
        ada.get("/services/llm_text_service").await.status,
        StatusCode::NOT_FOUND
    );
}

/// A project's own service that calls the model, registered through `App::llm_services`.
struct Headline(std::sync::Arc<dyn ChatModel>);

#[async_trait::async_trait]
impl Service for Headline {
    fn descriptor(&self) -> ServiceDescriptor {
        ServiceDescriptor::new("headline", "Headline")
            .description("Asks the model for a headline.")
            .category("Text")
            .cost("3".parse().unwrap())
            .example("A text")
    }

    async fn execute(&self, input: ServiceInput) -> Result<ServiceOutput, ServiceError> {
        let text = input.as_text().unwrap_or_default();
        let answer = self.0.complete("Write a headline.", text).await?;
        Ok(ServiceOutput::new(answer))
    }
}

fn with_headline() -> App {
    App::new("Test App").llm_services(|registry, model| {
        registry.register(Headline(model))?;
        Ok(())
    })
}

#[tokio::test]
async fn project_services_receive_the_model_and_are_offered_only_with_one() {
    let base = fake_llm().await;
    let app = TestApp::with_app(
        with_headline(),
        &[("LLM_BASE_URL", &base), ("LLM_API_KEY", "test-key")],
    )
    .await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    assert!(
        ada.get("/services")
            .await
            .contains("data-service=\"headline\"")
    );
    let key = ada
        .get("/services/headline")
        .await
        .input_value("run_key")
        .unwrap();
    let page = ada
        .post(
            "/services/headline",
            &[("input", "Credits"), ("run_key", &key)],
        )
        .await;
    assert!(page.contains("A short summary."), "{}", page.body);
    assert!(
        page.contains("97</span> credits remaining"),
        "{}",
        page.body
    );

    let without = TestApp::with_app(with_headline(), &[]).await;
    let mut bob = without.browser();
    bob.register("bob@example.com", PASSWORD).await;
    assert!(!bob.get("/services").await.contains("headline"));
    assert_eq!(
        bob.get("/services/headline").await.status,
        StatusCode::NOT_FOUND
    );
}
