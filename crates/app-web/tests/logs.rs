//! `LOG_FORMAT=json`: every line one JSON object, with the request id, the user id and the run id
//! where they are known. One test in its own binary: the log subscriber is one per process.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use quickscale_app_web::config::LogFormat;
use support::TestApp;

/// Where the logs go: a buffer the test reads.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The spans of a log line, by name.
fn span<'a>(line: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    line["spans"]
        .as_array()?
        .iter()
        .find(|span| span["name"] == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_carry_the_request_user_and_run_ids() {
    let capture = Capture::default();
    let writer = capture.clone();
    assert!(
        quickscale_app_web::observability::install_logging(
            LogFormat::Json,
            move || writer.clone(),
            false
        ),
        "the first subscriber of this process"
    );
    let app = TestApp::new().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", "a long enough password")
        .await;
    let ada_id = support::user(&app.state, "ada@example.com").await.id;
    let key = ada
        .get("/services/text_sentiment_analysis")
        .await
        .input_value("run_key")
        .unwrap();
    let page = ada
        .post(
            "/services/text_sentiment_analysis",
            &[("input", "A fine day"), ("run_key", &key)],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}"))
        })
        .collect();
    assert!(lines.iter().all(serde_json::Value::is_object));

    let ended = lines
        .iter()
        .find(|line| line["fields"]["message"] == "service run ended")
        .unwrap_or_else(|| panic!("no run's end in {text}"));
    let run_id = ended["fields"]["run_id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(run_id).is_ok(), "{ended}");
    assert_eq!(ended["fields"]["outcome"], "succeeded");
    let run = span(ended, "run").unwrap_or_else(|| panic!("no run span: {ended}"));
    assert_eq!(run["run_id"], run_id);
    assert_eq!(run["service"], "text_sentiment_analysis");
    let request = span(ended, "request").unwrap_or_else(|| panic!("no request span: {ended}"));
    assert_eq!(request["user_id"], ada_id.to_string());
    assert_eq!(request["method"], "POST");
    let request_id = request["request_id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(request_id).is_ok(), "{request}");
    assert_eq!(
        page.headers["x-request-id"].to_str().unwrap(),
        request_id,
        "the id the client got is the one in the logs"
    );
}
