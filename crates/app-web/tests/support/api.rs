//! Calling the JSON API in process: one call, a run, a key made on the settings page, and the
//! shape of a problem document.

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

use super::{Browser, TestApp};

pub const PASSWORD: &str = "a long enough password";

/// One API call: the status, the headers and the JSON body (`Null` when empty).
pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    key: Option<&str>,
    headers: &[(&str, &str)],
    body: Body,
) -> (StatusCode, HeaderMap, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(key) = key {
        request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .router
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, json)
}

pub async fn get(app: &TestApp, path: &str, key: &str) -> (StatusCode, Value) {
    let (status, _, body) = call(app, Method::GET, path, Some(key), &[], Body::empty()).await;
    (status, body)
}

/// Runs a service with a JSON body and an optional idempotency key.
pub async fn run(
    app: &TestApp,
    key: &str,
    slug: &str,
    body: Value,
    idempotency: Option<&str>,
) -> (StatusCode, HeaderMap, Value) {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(idempotency) = idempotency {
        headers.push(("idempotency-key", idempotency));
    }
    call(
        app,
        Method::POST,
        &format!("/api/v1/services/{slug}/runs"),
        Some(key),
        &headers,
        Body::from(body.to_string()),
    )
    .await
}

/// Sends the make-a-key form as the page gave it (with its one-time token).
pub async fn post_key(browser: &mut Browser, name: &str, password: &str) -> super::Page {
    let page = browser.get("/settings/api-keys").await;
    let token = page
        .input_value("form_token")
        .expect("a one-time form token");
    browser
        .post(
            "/settings/api-keys",
            &[
                ("name", name),
                ("current_password", password),
                ("form_token", &token),
            ],
        )
        .await
}

/// Makes a key in settings and returns it (the page shows it once).
pub async fn make_key(browser: &mut Browser, name: &str) -> String {
    let made = post_key(browser, name, PASSWORD).await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert_eq!(
        made.headers[header::CACHE_CONTROL],
        "no-store",
        "the page with the key is not cached"
    );
    made.input_value("new_key").expect("the new key is shown")
}

pub fn assert_problem(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], expected.as_u16(), "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
}
