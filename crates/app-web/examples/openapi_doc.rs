//! Prints the API's OpenAPI document, as `GET /api/v1/openapi.json` serves it for an app with the
//! built-in services, for the SDK generators (`scripts/sdks.sh` writes it to sdks/openapi.json):
//!
//! ```text
//! cargo run -p quickscale-app-web --example openapi_doc > sdks/openapi.json
//! ```

use axum::body::{Body, to_bytes};
use axum::http::Request;
use tower::ServiceExt;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir()?;
    let config = quickscale_app_web::Config::from_pairs(
        dir.path(),
        "QuickScale",
        &[
            ("SECRET_KEY", "openapi-document-only-0123456789abcdef"),
            ("DATABASE_URL", "memory"),
            ("ENABLE_API", "true"),
            ("BASE_URL", "http://127.0.0.1:8000"),
        ],
    )?;
    let built = quickscale_app_web::App::new("QuickScale")
        .build(config)
        .await?;
    let response = built
        .router
        .oneshot(Request::get("/api/v1/openapi.json").body(Body::empty())?)
        .await?;
    if !response.status().is_success() {
        return Err(format!("the app answered {}", response.status()).into());
    }
    let document: serde_json::Value =
        serde_json::from_slice(&to_bytes(response.into_body(), 16 << 20).await?)?;
    println!("{}", serde_json::to_string_pretty(&document)?);
    Ok(())
}
