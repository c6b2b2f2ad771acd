//! Builds the whole app on in-memory storage, with this project's template and static
//! overrides, and asks for a few pages as a browser would.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use quickscale_app_web::Config;
use tower::ServiceExt;

async fn get(router: &Router, path: &str) -> (StatusCode, String) {
    let request = Request::builder()
        .uri(path)
        .header(header::HOST, "localhost")
        .body(Body::empty())
        .expect("a request");
    let response = router.clone().oneshot(request).await.expect("a response");
    let status = response.status();
    let body = to_bytes(response.into_body(), 10 << 20)
        .await
        .expect("a body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn router() -> Router {
    let project_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = Config::from_pairs(
        project_dir,
        "{{display_name}}",
        &[
            ("SECRET_KEY", "smoke-test-secret-key-smoke-test-secret-key"),
            ("DATABASE_URL", "memory"),
        ],
    )
    .expect("a valid configuration");
    {{crate_name}}::app()
        .build(config)
        .await
        .expect("the app builds")
        .router
}

#[tokio::test]
async fn serves_the_home_page_and_the_health_check() {
    let router = router().await;
    let (status, body) = get(&router, "/").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("{{display_name}}"), "{body}");
    let (status, body) = get(&router, "/health").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("\"ok\""), "{body}");
}

#[tokio::test]
async fn lists_the_project_services_next_to_the_built_ins() {
    let router = router().await;
    let (status, body) = get(&router, "/services").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Title case"), "{body}");
    assert!(body.contains("Sentiment"), "{body}");
}

/// Every service `src/services/mod.rs` registers has its page, with its price, that invites a
/// visitor to sign in and run it (a new service is covered here as soon as it is registered).
#[tokio::test]
async fn every_project_service_has_its_page() {
    let router = router().await;
    let mut registry = quickscale_service_sdk::ServiceRegistry::new();
    {{crate_name}}::services::register(&mut registry).expect("the project's services register");
    assert!(!registry.is_empty());
    for registered in registry.iter() {
        let slug = &registered.descriptor.slug;
        let (status, body) = get(&router, &format!("/services/{slug}")).await;
        assert_eq!(status, StatusCode::OK, "{slug}: {body}");
        assert!(body.contains(" per run</span>"), "{slug}: {body}");
        assert!(
            body.contains(&format!("/login?next=/services/{slug}\"")),
            "{slug}: {body}"
        );
    }
}
