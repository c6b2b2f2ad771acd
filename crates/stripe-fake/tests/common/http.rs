//! An HTTP client speaking Stripe's form encoding with a test key, and the hosted pages as a
//! browser gets them.

use std::time::Duration;

use quickscale_stripe_fake::Running;
use serde_json::Value;

/// The test key every call uses.
pub const KEY: &str = "sk_test_quickscale";

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// What an API call answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn ok(self) -> Value {
        assert_eq!(self.status, 200, "unexpected answer: {}", self.body);
        self.body
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn error_code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }

    /// Asserts a 400 `invalid_request_error` with this code about this parameter.
    pub fn assert_refused(&self, code: &str, param: &str) {
        assert_eq!(self.status, 400, "unexpected answer: {}", self.body);
        assert_eq!(self.body["error"]["type"], "invalid_request_error");
        assert_eq!(self.error_code(), Some(code), "{}", self.body);
        assert_eq!(self.body["error"]["param"], param, "{}", self.body);
    }
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        headers,
        body,
    }
}

pub async fn post(
    fake: &Running,
    path: &str,
    form: &[(&str, &str)],
    idempotency_key: Option<&str>,
) -> Answer {
    let mut request = client().post(fake.url(path)).bearer_auth(KEY).form(form);
    if let Some(key) = idempotency_key {
        request = request.header("Idempotency-Key", key);
    }
    answer(request.send().await.unwrap()).await
}

pub async fn get(fake: &Running, path_and_query: &str) -> Answer {
    call(fake, reqwest::Method::GET, path_and_query).await
}

pub async fn delete(fake: &Running, path: &str) -> Answer {
    call(fake, reqwest::Method::DELETE, path).await
}

/// A call without parameters in a body.
async fn call(fake: &Running, method: reqwest::Method, path_and_query: &str) -> Answer {
    answer(
        client()
            .request(method, fake.url(path_and_query))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A hosted page (checkout, portal, invoice), as a browser gets it: asserts a 200.
pub async fn page_html(url: &str) -> String {
    let page = client().get(url).send().await.unwrap();
    assert_eq!(page.status(), 200, "{url}");
    page.text().await.unwrap()
}

/// A form on a hosted page, submitted (redirects are not followed).
pub async fn submit_form(url: &str, form: &[(&str, &str)]) -> reqwest::Response {
    client().post(url).form(form).send().await.unwrap()
}
