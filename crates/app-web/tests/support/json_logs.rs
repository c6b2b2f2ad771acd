//! `LOG_FORMAT=json` in tests: a writer that keeps the lines, and the check that a paid run's
//! lines carry the request, user and run ids (tests/logs.rs without traces, tests/traces.rs
//! with them: the subscriber is built differently in each case).

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;

use super::TestApp;

/// Where the logs go: a buffer the test reads.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Every line so far, each parsed as one JSON object.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}"))
            })
            .collect()
    }
}

/// The spans of a log line, by name.
fn span<'a>(line: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    line["spans"]
        .as_array()?
        .iter()
        .find(|span| span["name"] == name)
}

/// Registers `email`, runs the sentiment service once as that user, and checks the line that
/// ends the run: its run id, in the `run` span, inside the `request` span with the user's id
/// (recorded after the span started) and the request id the client got back, which it returns.
pub async fn a_paid_run_is_logged_with_its_ids(
    app: &TestApp,
    capture: &Capture,
    email: &str,
) -> String {
    let mut user = app.browser();
    user.register(email, "a long enough password").await;
    let user_id = super::user(&app.state, email).await.id;
    let key = user
        .get("/services/text_sentiment_analysis")
        .await
        .input_value("run_key")
        .unwrap();
    let page = user
        .post(
            "/services/text_sentiment_analysis",
            &[("input", "A fine day"), ("run_key", &key)],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let request_id = page.headers["x-request-id"].to_str().unwrap().to_owned();

    let lines = capture.lines();
    assert!(lines.iter().all(serde_json::Value::is_object));
    let ended = lines
        .iter()
        .find(|line| {
            line["fields"]["message"] == "service run ended"
                && span(line, "request").is_some_and(|r| r["request_id"] == request_id.as_str())
        })
        .unwrap_or_else(|| panic!("no end of the run of request {request_id} in {lines:?}"));
    let run_id = ended["fields"]["run_id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(run_id).is_ok(), "{ended}");
    assert_eq!(ended["fields"]["outcome"], "succeeded");
    let run = span(ended, "run").unwrap_or_else(|| panic!("no run span: {ended}"));
    assert_eq!(run["run_id"], run_id);
    assert_eq!(run["service"], "text_sentiment_analysis");
    let request = span(ended, "request").unwrap();
    assert_eq!(request["user_id"], user_id.to_string(), "{ended}");
    assert_eq!(request["method"], "POST");
    assert!(uuid::Uuid::parse_str(&request_id).is_ok(), "{request}");
    request_id
}
