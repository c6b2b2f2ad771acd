//! An OpenAI-compatible chat-completions client for the `ChatModel` port.

use std::time::Duration;

use async_trait::async_trait;
use quickscale_service_sdk::ServiceError;
use quickscale_service_sdk::builtin::ChatModel;
use serde::Deserialize;
use serde_json::json;
use tracing::Instrument as _;

/// Calls `POST {base_url}/chat/completions` with a bearer key.
#[derive(Clone)]
pub struct OpenAiCompatibleChat {
    client: reqwest::Client,
    base_url: String,
    model: String,
    api_key: String,
}

impl std::fmt::Debug for OpenAiCompatibleChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiCompatibleChat")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .finish()
    }
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
}

impl OpenAiCompatibleChat {
    /// `timeout` bounds each request (the service's own timeout bounds the whole run).
    pub fn new(
        base_url: &str,
        model: &str,
        api_key: &str,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(OpenAiCompatibleChat {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            model: model.to_owned(),
            api_key: api_key.to_owned(),
        })
    }
}

#[async_trait]
impl ChatModel for OpenAiCompatibleChat {
    fn name(&self) -> &str {
        &self.model
    }

    async fn complete(&self, system: &str, user: &str) -> Result<String, ServiceError> {
        let body = json!({
            "model": self.model,
            "temperature": 0.2,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
        });
        // A span per call (an OpenTelemetry client span when traces are on).
        let span = tracing::info_span!(
            "llm",
            otel.name = "POST chat/completions",
            otel.kind = "client",
            http.request.method = "POST",
            gen_ai.request.model = %self.model,
        );
        let mut request = self
            .client
            .post(format!("{}/chat/completions", self.base_url))
            .bearer_auth(&self.api_key)
            .json(&body);
        for (name, value) in crate::trace_context::headers_for(&span) {
            request = request.header(name, value);
        }
        let response = request.send().instrument(span).await.map_err(|e| {
            tracing::warn!(error = %e, "language model request failed");
            ServiceError::Upstream(if e.is_timeout() {
                "the language model did not answer in time".into()
            } else {
                "the language model could not be reached".into()
            })
        })?;
        let status = response.status();
        if !status.is_success() {
            tracing::warn!(%status, "language model refused the request");
            return Err(ServiceError::Upstream(match status.as_u16() {
                401 | 403 => "the language model refused our credentials".into(),
                429 => "the language model is busy; try again in a minute".into(),
                _ => format!("the language model failed (HTTP {})", status.as_u16()),
            }));
        }
        let completion: Completion = response.json().await.map_err(|_| {
            ServiceError::Upstream("the language model sent an answer we could not read".into())
        })?;
        completion
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .ok_or_else(|| ServiceError::Upstream("the language model sent no answer".into()))
    }
}
