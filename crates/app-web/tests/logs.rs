//! `LOG_FORMAT=json`: every line one JSON object, with the request id, the user id and the run id
//! where they are known. One test in its own binary: the log subscriber is one per process
//! (tests/traces.rs checks the same lines with traces on).

mod support;

use quickscale_app_web::config::LogFormat;
use support::TestApp;
use support::json_logs::{Capture, a_paid_run_is_logged_with_its_ids};

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
    a_paid_run_is_logged_with_its_ids(&app, &capture, "ada@example.com").await;
}
